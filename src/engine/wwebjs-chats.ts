// Chat and message operations against a ready whatsapp-web.js client, returning domain types.
import type { Chat, Message } from '../domain.js';
import { AppError } from '../errors.js';
import type { WwebjsChatLike, WwebjsClientLike } from './wwebjs-client.js';
import { describeError } from './wwebjs-events.js';
import { toChat, toMessage } from './wwebjs-map.js';

/** Library failures (a closed page, a WhatsApp Web exception) become engine_error; our own AppErrors pass through. */
export async function callLibrary<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('engine_error', `WhatsApp Web could not ${what}: ${describeError(err)}`, { cause: err });
  }
}

/** For phone chats, WhatsApp's canonical id for the number (null: not on WhatsApp); other ids pass through. */
async function resolveChatId(client: WwebjsClientLike, chatId: string): Promise<string | null> {
  if (!chatId.endsWith('@c.us')) return chatId;
  const wid = await callLibrary('look up the number', () => client.getNumberId(chatId.slice(0, -'@c.us'.length)));
  return wid ? wid._serialized : null;
}

// getChatById creates an empty chat for any number, so a number that is not on WhatsApp counts as no chat.
async function findChat(client: WwebjsClientLike, chatId: string): Promise<WwebjsChatLike | null> {
  const target = await resolveChatId(client, chatId);
  if (!target) return null;
  return (await callLibrary('open the chat', () => client.getChatById(target))) ?? null;
}

export async function sendTextVia(client: WwebjsClientLike, chatId: string, text: string, markSeen: boolean): Promise<Message> {
  const target = await resolveChatId(client, chatId);
  if (!target) {
    const phone = chatId.replace(/@c\.us$/, '');
    throw new AppError('not_on_whatsapp', `${phone} is not on WhatsApp`, { details: { phone_number: phone } });
  }
  // The library marks the chat as seen by default (sendSeen: true); we only do so when asked.
  const sent = await callLibrary('send the message', () => client.sendMessage(target, text, { sendSeen: markSeen }));
  const msg = toMessage(sent);
  if (!msg) throw new AppError('engine_error', 'WhatsApp Web did not confirm the message');
  return { ...msg, chat_id: msg.chat_id || target, timestamp: msg.timestamp || Math.floor(Date.now() / 1000) };
}

export async function listChatsVia(client: WwebjsClientLike, limit: number): Promise<Chat[]> {
  const raw = await callLibrary('list chats', () => client.getChats());
  return raw
    .map(toChat)
    .filter((c): c is Chat => c !== null)
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, limit);
}

export async function getChatVia(client: WwebjsClientLike, chatId: string): Promise<Chat | null> {
  const raw = await findChat(client, chatId);
  return raw ? toChat(raw) : null;
}

export async function fetchMessagesVia(client: WwebjsClientLike, chatId: string, limit: number): Promise<Message[]> {
  const chat = await findChat(client, chatId);
  if (!chat) {
    if (chatId.endsWith('@c.us')) throw new AppError('not_on_whatsapp', `${chatId.replace(/@c\.us$/, '')} is not on WhatsApp`);
    throw new AppError('not_found', `No chat ${chatId}`);
  }
  const raw = await callLibrary('fetch messages', () => chat.fetchMessages({ limit }));
  // The library returns the loaded window as it is when it holds no more than `limit`; sort to be sure.
  const messages = raw
    .map(toMessage)
    .filter((m): m is Message => m !== null)
    .sort((a, b) => a.timestamp - b.timestamp);
  return messages.slice(Math.max(0, messages.length - limit));
}

/** "typing…" for about `ms`; WhatsApp shows it for ~25 s unless cleared, so clear it ourselves. */
export async function sendTypingVia(client: WwebjsClientLike, chatId: string, ms: number): Promise<void> {
  const chat = await findChat(client, chatId);
  if (!chat) return; // the send that follows reports not_on_whatsapp
  await callLibrary('show typing', () => chat.sendStateTyping());
  await new Promise((r) => setTimeout(r, ms));
  await callLibrary('clear typing', () => chat.clearState());
}
