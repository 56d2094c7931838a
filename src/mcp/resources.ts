// Chats as MCP resources, with subscriptions: whatsapp://chats (the list) and whatsapp://chats/{chat_id} (recent
// messages). A subscribed client gets notifications/resources/updated when a message arrives in that chat, and every
// client gets notifications/resources/list_changed when a new chat appears.
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { CHAT_ID_PATTERN } from '../domain.js';
import { UNTRUSTED_CONTENT_NOTICE } from '../events/types.js';
import type { Services } from '../operations/index.js';

export const CHATS_URI = 'whatsapp://chats';
const CHAT_PREFIX = `${CHATS_URI}/`;
const RECENT_MESSAGES = 50;
const LISTED_CHATS = 100;
// -32002 is the spec's "resource not found" code.
const RESOURCE_NOT_FOUND = -32002;

export function chatUri(chatId: string): string {
  return CHAT_PREFIX + chatId;
}

/** The chat id a whatsapp://chats/<id> URI names (percent-decoded), or null when it names no chat. */
function chatIdOf(uri: string): string | null {
  if (!uri.startsWith(CHAT_PREFIX)) return null;
  let id: string;
  try {
    id = decodeURIComponent(uri.slice(CHAT_PREFIX.length));
  } catch {
    return null;
  }
  return CHAT_ID_PATTERN.test(id) ? id : null;
}

/** Register the resources on one session's server. Returns the cleanup to run when that session closes. */
export function registerChatResources(mcp: McpServer, { store, events }: Services): () => void {
  mcp.registerResource(
    'chats',
    CHATS_URI,
    { title: 'WhatsApp chats', description: `Chats, newest activity first, from the local store. ${UNTRUSTED_CONTENT_NOTICE}`, mimeType: 'application/json' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE, chats: store.listChats(LISTED_CHATS) }) }] }),
  );
  mcp.registerResource(
    'chat',
    new ResourceTemplate(`${CHATS_URI}/{chat_id}`, {
      list: () => ({ resources: store.listChats(LISTED_CHATS).map((c) => ({ uri: chatUri(c.id), name: c.name, mimeType: 'application/json' })) }),
    }),
    { title: 'A WhatsApp chat', description: `The chat and its ${RECENT_MESSAGES} most recent messages, oldest first. ${UNTRUSTED_CONTENT_NOTICE}`, mimeType: 'application/json' },
    (uri) => {
      const id = chatIdOf(uri.href);
      const chat = id ? store.getChat(id) : null;
      if (!id || !chat) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri.href}`, { uri: uri.href });
      const messages = store.lastMessages(id, RECENT_MESSAGES);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE, chat, messages }) }] };
    },
  );

  // McpServer does not implement resources/subscribe: the handlers and the capability are ours.
  mcp.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  const subscribed = new Set<string>();
  mcp.server.setRequestHandler(SubscribeRequestSchema, (req) => {
    const uri = req.params.uri;
    if (uri !== CHATS_URI && chatIdOf(uri) === null) throw new McpError(ErrorCode.InvalidParams, `Cannot subscribe to ${uri}: use ${CHATS_URI} or ${CHATS_URI}/<chat_id>`);
    subscribed.add(uri === CHATS_URI ? uri : chatUri(chatIdOf(uri)!));
    return {};
  });
  mcp.server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    const id = chatIdOf(req.params.uri);
    subscribed.delete(id ? chatUri(id) : req.params.uri);
    return {};
  });

  const notify = (p: Promise<void>) => p.catch(() => undefined); // a session whose transport went away just misses it
  const off = events.bus.onEvent((event) => {
    if (!mcp.isConnected()) return;
    if (event.type === 'chat.created') notify(mcp.server.sendResourceListChanged());
    if (!event.type.startsWith('message.') || event.chat_id === null) return;
    const uri = chatUri(event.chat_id);
    if (subscribed.has(uri)) notify(mcp.server.sendResourceUpdated({ uri }));
    if (subscribed.has(CHATS_URI) && (event.type === 'message.received' || event.type === 'message.sent')) notify(mcp.server.sendResourceUpdated({ uri: CHATS_URI }));
  });
  return off;
}
