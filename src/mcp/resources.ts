// Chats as MCP resources, with subscriptions: whatsapp://chats (the list) and whatsapp://chats/{chat_id} (recent
// messages). A subscribed client gets notifications/resources/updated when a message arrives in that chat, and every
// client gets notifications/resources/list_changed when a new chat appears. whatsapp://status is the connection
// state (what whatsapp_status returns), updated when it changes: how a client hears that linking finished or the
// account was unlinked without polling, in either era (2026-07-28 has no unsolicited log notifications).
//
// Keys (access.ts): every resource needs the read scope, and a key limited to some chats (--chats) sees only those:
// resources/list and whatsapp://chats are narrowed, reading another chat is the same "Resource not found" as a chat
// that does not exist (a limited key must not learn which chats exist), and subscriptions only ever notify of its
// own chats. The caller is the request's key (runAs in the HTTP door), checked on every request, not per session.
import { type McpServer, ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import { onAccountRoutes, parseId } from '../domain.js';
import { UNTRUSTED_CONTENT_NOTICE } from '../events/types.js';
import { callerOf, chatPredicate, eventAllowed } from '../operations/access.js';
import { allowedChatIds } from '../operations/chat-scope.js';
import { invokeOperation } from '../operations/invoke.js';
import type { Services } from '../operations/index.js';
import type { Transport } from '../service/media-intake.js';
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
/** What the calling key may read: nothing without the read scope; `allowed` null = every chat. */
export interface ResourceAccess {
  read: boolean;
  allowed: ((chatId: string | null) => boolean) | null;
}

export function resourceAccess(services: Services, transport: Transport): ResourceAccess {
  const p = callerOf({ transport });
  return { read: p.scopes.has('read'), allowed: chatPredicate(p, services) };
}

/** A key without the read scope reading a resource: its own limit, not the data's, so it may say so. */
export function lacksRead(uri: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, 'This key lacks the read scope, which every resource needs', { uri, code: 'forbidden', scope: 'read' });
}

const STATUS_META = { title: 'WhatsApp connection status', description: 'The linked account and connection state, as whatsapp_status returns it; subscribe to hear when it changes (linked, unlinked, disconnected).', mimeType: 'application/json' };
const CHATS_META = { title: 'WhatsApp chats', description: `Chats, newest activity first, from the local store. ${UNTRUSTED_CONTENT_NOTICE}`, mimeType: 'application/json' };
const CHAT_META = { title: 'A WhatsApp chat', description: `The chat and its ${RECENT_MESSAGES} most recent messages, oldest first. ${UNTRUSTED_CONTENT_NOTICE}`, mimeType: 'application/json' };

export function registerChatResources(mcp: McpServer, services: Services, live: boolean, transport: Transport = 'stdio'): () => void {
  const { store, events } = services;
  const access = () => resourceAccess(services, transport);
  /**
   * The chats a key may see, newest first: a limited key's own, narrowed in the query (as the chats list tool is,
   * chat-scope.ts) so they are not lost behind 100 newer chats of others; the predicate stays the rule.
   */
  const visibleChats = (a: ResourceAccess) => {
    if (!a.allowed) return store.listChats(LISTED_CHATS);
    return store.listChats(LISTED_CHATS, allowedChatIds({ transport }, services)).filter((c) => a.allowed!(c.id));
  };
  mcp.registerResource('status', STATUS_URI, STATUS_META, async (uri) => {
    if (!access().read) throw lacksRead(uri.href);
    // Through the operation, so the resource and the tool cannot disagree on the shape.
    const status = statusOp.output.parse(await invokeOperation(statusOp, {}, services, { transport }));
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(status) }] };
  });
  mcp.registerResource('chats', CHATS_URI, CHATS_META, (uri) => {
    const a = access();
    if (!a.read) throw lacksRead(uri.href);
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE, chats: visibleChats(a) }) }] };
  });
  const chatResources = (a: ResourceAccess) => visibleChats(a).map((c) => ({ uri: chatUri(c.id), name: c.name, mimeType: 'application/json' }));
  mcp.registerResource('chat', new ResourceTemplate(`${CHATS_URI}/{chat_id}`, { list: () => ({ resources: chatResources(access()) }) }), CHAT_META, (uri) => {
    const a = access();
    if (!a.read) throw lacksRead(uri.href);
    const id = chatIdOf(uri.href);
    // Another key's chat is answered exactly as a chat that does not exist.
    const chat = id && (!a.allowed || a.allowed(id)) ? store.getChat(id) : null;
    if (!id || !chat) throw new ResourceNotFoundError(uri.href);
    const messages = onAccountRoutes(store.lastMessages(id, RECENT_MESSAGES), services.account);
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE, chat, messages }) }] };
  });
  // The SDK's resources/list lists every static resource to everyone; ours, in the same shape and order, lists what
  // the calling key may read.
  mcp.server.setRequestHandler('resources/list', () => {
    const a = access();
    if (!a.read) return { resources: [] };
    return { resources: [{ uri: STATUS_URI, name: 'status', ...STATUS_META }, { uri: CHATS_URI, name: 'chats', ...CHATS_META }, ...chatResources(a).map((r) => ({ ...CHAT_META, ...r }))] };
  });

  if (!live) return () => undefined;
  // The key that opened the session decides which new chats it hears of (list_changed carries no URI to check).
  const opener = access();
  // McpServer does not implement resources/subscribe: the handlers are ours (the capability is declared in server.ts).
  // Each subscription keeps the subscribing key's chat test: a limited key's subscription to another chat (accepted,
  // as for a chat that does not exist yet) is never notified, nor is its whatsapp://chats for other chats' messages.
  const subscribed = new Map<string, ResourceAccess['allowed']>();
  mcp.server.setRequestHandler('resources/subscribe', (req) => {
    const a = access();
    if (!a.read) throw lacksRead(req.params.uri);
    const uri = canonicalUri(req.params.uri);
    if (uri === null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Cannot subscribe to ${req.params.uri}: use ${SUBSCRIBABLE}`);
    subscribed.set(uri, a.allowed);
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
    if (event.type === 'chat.created' && opener.read && (!opener.allowed || eventAllowed(event, opener.allowed))) notify(mcp.server.sendResourceListChanged());
    for (const uri of updatedUris(event)) {
      const allowed = subscribed.get(uri);
      if (allowed === undefined && !subscribed.has(uri)) continue;
      if (allowed && !eventAllowed(event, allowed)) continue;
      notify(mcp.server.sendResourceUpdated({ uri }));
    }
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
