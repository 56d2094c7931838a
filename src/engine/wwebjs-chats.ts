// Chat and message operations against a ready whatsapp-web.js client, returning domain types.
import type { Chat, Message } from '../domain.js';
import { AppError } from '../errors.js';
import type { WwebjsChatLike, WwebjsClientLike, WwebjsContent, WwebjsMessageLike, WwebjsSendOptions } from './wwebjs-client.js';
import { describeError } from './wwebjs-events.js';
import { toAccount, toChat, toMessage } from './wwebjs-map.js';

/** Library failures (a closed page, a WhatsApp Web exception) become engine_error; our own AppErrors pass through. */
export async function callLibrary<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('engine_error', `WhatsApp Web could not ${what}: ${describeError(err)}`, { cause: err });
  }
}

/** Our own wid once ready (ClientInfo), so quotes of our messages map to the right id. */
export function selfOf(client: WwebjsClientLike): string | null {
  return toAccount(client.info)?.wid ?? null;
}

/** For phone chats, WhatsApp's canonical id for the number (null: not on WhatsApp); other ids pass through. */
async function resolveChatId(client: WwebjsClientLike, chatId: string): Promise<string | null> {
  if (!chatId.endsWith('@c.us')) return chatId;
  const wid = await callLibrary('look up the number', () => client.getNumberId(chatId.slice(0, -'@c.us'.length)));
  return wid ? wid._serialized : null;
}

// getChatById creates an empty chat for any number, so a number that is not on WhatsApp counts as no chat.
export async function findChat(client: WwebjsClientLike, chatId: string): Promise<WwebjsChatLike | null> {
  const target = await resolveChatId(client, chatId);
  if (!target) return null;
  return (await callLibrary('open the chat', () => client.getChatById(target))) ?? null;
}

/**
 * A message by its serialized id, or null. The library throws for an id that does not split into 3 or 4 parts
 * (when it is not in the page's cache, which only holds well-formed ids), so such an id is simply unknown.
 */
export async function findMessage(client: WwebjsClientLike, id: string): Promise<WwebjsMessageLike | null> {
  const parts = id.split('_').length;
  if (parts !== 3 && parts !== 4) return null;
  return (await callLibrary('look up the message', () => client.getMessageById(id))) ?? null;
}

/**
 * Whether two ids name the same chat. An @lid id names a person under another form than their phone id, and
 * which one a message carries is WhatsApp's choice, so it matches any chat.
 */
export function sameChat(a: string, b: string): boolean {
  if (a.endsWith('@lid') || b.endsWith('@lid')) return true;
  const phone = (id: string) => id.replace(/@s\.whatsapp\.net$/, '@c.us');
  return phone(a) === phone(b);
}

/** The library sends a reply without its quote, and says nothing, when it cannot find the quoted message. */
async function checkQuote(client: WwebjsClientLike, chatId: string, quotedId: string): Promise<void> {
  const raw = await findMessage(client, quotedId);
  const quoted = raw ? toMessage(raw) : null;
  if (!quoted || !sameChat(quoted.chat_id, chatId)) {
    throw new AppError('invalid_input', `reply_to: no message ${quotedId} in ${chatId}`, { details: { field: 'reply_to' } });
  }
}

export interface SendContentOptions {
  /** Mark the chat as seen after sending (the library's default is yes; ours is no). */
  markSeen?: boolean;
  quotedId?: string;
  /** sendMessage options beyond sendSeen and the quote (caption, media flags). */
  extra?: Omit<WwebjsSendOptions, 'sendSeen' | 'quotedMessageId'>;
  /** Wall clock in ms, for a sent message WhatsApp Web gave no timestamp. */
  now?: () => number;
}

/** Send text, media, a location or a poll; the library's silent failures (undefined, null) become errors. */
export async function sendContentVia(client: WwebjsClientLike, chatId: string, content: WwebjsContent, opts: SendContentOptions = {}): Promise<Message> {
  const target = await resolveChatId(client, chatId);
  if (!target) {
    const phone = chatId.replace(/@c\.us$/, '');
    throw new AppError('not_on_whatsapp', `${phone} is not on WhatsApp`, { details: { phone_number: phone } });
  }
  if (opts.quotedId !== undefined) await checkQuote(client, target, opts.quotedId);
  const options: WwebjsSendOptions = { sendSeen: opts.markSeen ?? false, ...opts.extra };
  if (opts.quotedId !== undefined) options.quotedMessageId = opts.quotedId;
  const sent = await callLibrary('send the message', () => client.sendMessage(target, content, options));
  // undefined: the chat could not be resolved or the message never reached the store; null: a type this kind of
  // chat (channel, status) refuses. Either way nothing was sent.
  const msg = toMessage(sent, selfOf(client));
  if (!msg) throw new AppError('engine_error', 'WhatsApp Web did not confirm the message');
  return { ...msg, chat_id: msg.chat_id || target, timestamp: msg.timestamp || Math.floor((opts.now ?? Date.now)() / 1000) };
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
  const self = selfOf(client);
  // The library returns the loaded window as it is when it holds no more than `limit`; sort to be sure.
  const messages = raw
    .map((m) => toMessage(m, self))
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
