// MCP 2026-07-28 over HTTP: stateless requests, each carrying its version and client in _meta and headers, served by
// SDK v2's createMcpHandler (one McpServer per request, closed after). What the SDK leaves to us, and why:
// - server/discover: the SDK lists only 2026-07-28; a dual-era server also speaks 2024-11-05 … 2025-11-25 (through
//   initialize), so the answer is patched to list them (the spec's Backward Compatibility section).
// - subscriptions/listen: the SDK acknowledges any URI and matches by exact string; ours are checked and spelt one way
//   (a chat id percent-encoded or not, "@s.whatsapp.net" or "@c.us" is the same chat), and unknown filter keys refused.
// - notifications: one bus listener for the whole process feeds every open listen stream; before it does, a stream
//   opened with a stored key since revoked or changed (KeyService.stillValid) is cut, so the SDK has no one to tell.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { type McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { principalOf } from '../http/security.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/index.js';
import type { Principal } from '../service/keys.js';
import { CHATS_URI, STATUS_URI, SUBSCRIBABLE, canonicalUri, chatIdOf, resourceAccess, updatedUris } from './resources.js';

export const MODERN_PROTOCOL_VERSION = '2026-07-28';
const ALL_VERSIONS = [MODERN_PROTOCOL_VERSION, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const LISTEN_FILTER_KEYS = new Set(['toolsListChanged', 'promptsListChanged', 'resourcesListChanged', 'resourceSubscriptions']);

export interface ModernDoor {
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  close(): Promise<void>;
}

export function modernDoor(services: Services, logger: Logger, factory: (host: string | null) => McpServer): ModernDoor {
  const handler = createMcpHandler((ctx) => factory(ctx.requestInfo?.headers.get('host') ?? null), {
    legacy: 'reject',
    onerror: (err) => logger.debug({ err: err.message }, 'mcp modern request rejected'),
  });
  const node = toNodeHandler(handler);
  /** Open listen streams opened with a stored key, by their response. */
  const keyed = new Map<ServerResponse, Principal>();
  const off = services.events.bus.onEvent((event) => {
    for (const [res, p] of keyed) {
      if (services.keys.stillValid(p)) continue;
      keyed.delete(res);
      logger.info({ key: p.name }, 'mcp listen stream closed: its key was revoked or changed');
      // destroy, not end: the SDK's pipe still owns the body, and a write after end() would be an unhandled 'error'.
      res.destroy();
    }
    if (event.type === 'chat.created') handler.notify.resourcesChanged();
    for (const uri of updatedUris(event)) handler.notify.resourceUpdated(uri);
  });

  async function discover(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const answer = await handler.fetch(await toWebRequest(req, body), { parsedBody: body });
    const text = await answer.text();
    let payload = text;
    try {
      const json = JSON.parse(text) as { result?: { supportedVersions?: string[] } };
      if (json.result?.supportedVersions) {
        json.result.supportedVersions = ALL_VERSIONS;
        payload = JSON.stringify(json);
      }
    } catch {
      // not JSON (an SSE answer or an error page): passed on as it is
    }
    const headers: Record<string, string> = {};
    answer.headers.forEach((v, k) => (headers[k] = v));
    headers['content-length'] = String(Buffer.byteLength(payload));
    res.writeHead(answer.status, headers);
    res.end(payload);
  }

  return {
    async handle(req, res, body) {
      const msg = body as { id?: unknown; method?: unknown; params?: { notifications?: Record<string, unknown> } };
      if (msg.method === 'server/discover') return discover(req, res, body);
      if (msg.method === 'subscriptions/listen') {
        const problem = checkListen(msg.params?.notifications);
        if (problem) return rpcError(res, 400, -32602, problem, msg.id);
        narrowListen(msg.params?.notifications, resourceAccess(services, 'mcp-http'));
        const p = principalOf(req);
        if (p?.keyId) {
          keyed.set(res, p);
          res.once('close', () => keyed.delete(res));
        }
      }
      await node(req, res, body);
    },
    async close() {
      off();
      await handler.close();
    },
  };
}

/** Check a listen filter and rewrite its URIs in our one spelling; a message when it cannot be honoured as asked. */
function checkListen(filter: Record<string, unknown> | undefined): string | null {
  if (!filter || typeof filter !== 'object') return null; // the SDK answers a missing filter itself
  const unknown = Object.keys(filter).filter((k) => !LISTEN_FILTER_KEYS.has(k));
  if (unknown.length > 0) return `Invalid params: unknown notifications filter key ${unknown.join(', ')} (known: ${[...LISTEN_FILTER_KEYS].join(', ')})`;
  const uris = filter.resourceSubscriptions;
  if (uris === undefined) return null;
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string')) return 'Invalid params: resourceSubscriptions must be an array of URIs';
  const canonical = uris.map((u) => canonicalUri(u as string));
  const bad = uris.filter((_u, i) => canonical[i] === null);
  if (bad.length > 0) return `Invalid params: cannot subscribe to ${bad.join(', ')}: use ${SUBSCRIBABLE}`;
  filter.resourceSubscriptions = [...new Set(canonical)];
  return null;
}

/**
 * Every listen stream hears the same notifications (one bus, matched by URI), so a key's filter is narrowed before
 * the SDK sees it: without the read scope, no resource notifications; limited to some chats, only those chats and the
 * status (whatsapp://chats and resourcesListChanged change with every chat's messages, so they are not honoured). The
 * acknowledgement lists what is honoured, so the client sees what was left out.
 */
function narrowListen(filter: Record<string, unknown> | undefined, access: ReturnType<typeof resourceAccess>): void {
  if (!filter || typeof filter !== 'object' || (access.read && !access.allowed)) return;
  delete filter.resourcesListChanged;
  const uris = filter.resourceSubscriptions as string[] | undefined;
  if (uris === undefined) return;
  const allowed = access.allowed;
  if (!access.read || !allowed) delete filter.resourceSubscriptions;
  else filter.resourceSubscriptions = uris.filter((u) => u === STATUS_URI || (u !== CHATS_URI && allowed(chatIdOf(u))));
}

function rpcError(res: ServerResponse, status: number, code: number, message: string, id: unknown): void {
  const payload = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: typeof id === 'string' || typeof id === 'number' ? id : null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
