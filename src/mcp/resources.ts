// Chats as MCP resources, with subscriptions: whatsapp://chats (the list) and whatsapp://chats/{chat_id} (recent
// messages). A subscribed client gets notifications/resources/updated when a message arrives in that chat, and every
// client gets notifications/resources/list_changed when a new chat appears. whatsapp://status is the connection
// state (what whatsapp_status returns), updated when it changes: how a client hears that linking finished or the
// account was unlinked without polling, in either era (2026-07-28 has no unsolicited log notifications).
import { type McpServer, ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import { parseId } from '../domain.js';
import { UNTRUSTED_CONTENT_NOTICE } from '../events/types.js';
import { invokeOperation } from '../operations/invoke.js';
import type { Services } from '../operations/index.js';
import { statusOp } from '../operations/session.js';

export const CHATS_URI = 'whatsapp://chats';
export const STATUS_URI = 'whatsapp://status';
/** What a subscription may name, for error messages. */
export const SUBSCRIBABLE = `${STATUS_URI}, ${CHATS_URI} or ${CHATS_URI}/<chat_id>`;
const CHAT_PREFIX = `${CHATS_URI}/`;
const RECENT_MESSAGES = 50;
const LISTED_CHATS = 100;

export function chatUri(chatId: string): string {
  return CHAT_PREFIX + chatId;
}

/** The chat id a whatsapp://chats/<id> URI names (percent-decoded), or null when it names no chat. */
export function chatIdOf(uri: string): string | null {
  if (!uri.startsWith(CHAT_PREFIX)) return null;
  let id: string;
  try {
    id = decodeURIComponent(uri.slice(CHAT_PREFIX.length));
  } catch {
    return null;
  }
  // The one id rule: "@s.whatsapp.net", a bare number or any case name the same chat as its "@c.us" id.
  return parseId(id)?.id ?? null;
}

/**
 * Register the resources on one server. With `live` (a legacy session) also resources/subscribe and the bus listener
 * that notifies it; a modern request's subscriptions are the shared subscriptions/listen streams (http.ts).
 * Returns the cleanup to run when that server closes.
 */
export function registerChatResources(mcp: McpServer, services: Services, live: boolean): () => void {
  const { store, events } = services;
  mcp.registerResource(
    'status',
    STATUS_URI,
    { title: 'WhatsApp connection status', description: 'The linked account and connection state, as whatsapp_status returns it; subscribe to hear when it changes (linked, unlinked, disconnected).', mimeType: 'application/json' },
    async (uri) => {
      // Through the operation, so the resource and the tool cannot disagree on the shape.
      const status = statusOp.output.parse(await invokeOperation(statusOp, {}, services));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(status) }] };
    },
  );
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
      if (!id || !chat) throw new ResourceNotFoundError(uri.href);
      const messages = store.lastMessages(id, RECENT_MESSAGES);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE, chat, messages }) }] };
    },
  );

  if (!live) return () => undefined;
  // McpServer does not implement resources/subscribe: the handlers are ours (the capability is declared in server.ts).
  const subscribed = new Set<string>();
  mcp.server.setRequestHandler('resources/subscribe', (req) => {
    const uri = canonicalUri(req.params.uri);
    if (uri === null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Cannot subscribe to ${req.params.uri}: use ${SUBSCRIBABLE}`);
    subscribed.add(uri);
    return {};
  });
  mcp.server.setRequestHandler('resources/unsubscribe', (req) => {
    const id = chatIdOf(req.params.uri);
    subscribed.delete(id ? chatUri(id) : req.params.uri);
    return {};
  });

  const notify = (p: Promise<void>) => p.catch(() => undefined); // a session whose transport went away just misses it
  const off = events.bus.onEvent((event) => {
    if (!mcp.isConnected()) return;
    if (event.type === 'chat.created') notify(mcp.server.sendResourceListChanged());
    for (const uri of updatedUris(event)) if (subscribed.has(uri)) notify(mcp.server.sendResourceUpdated({ uri }));
  });
  return off;
}

/** The one spelling of a subscribable URI (chat ids percent-decoded and normalised), or null when it names none. */
export function canonicalUri(uri: string): string | null {
  if (uri === CHATS_URI || uri === STATUS_URI) return uri;
  const id = chatIdOf(uri);
  return id === null ? null : chatUri(id);
}

/** The resource URIs an event changes: its chat, and the chat list for new messages; the status for a state change. */
export function updatedUris(event: { type: string; chat_id: string | null }): string[] {
  // connection.state is logged on transitions only (not QR rotations); a new pairing code changes status too.
  if (event.type === 'connection.state' || event.type === 'auth.pairing_code') return [STATUS_URI];
  if (!event.type.startsWith('message.') || event.chat_id === null) return [];
  const uris = [chatUri(event.chat_id)];
  if (event.type === 'message.received' || event.type === 'message.sent') uris.push(CHATS_URI);
  return uris;
}
