// The MCP door over HTTP, dual-era on one endpoint. /mcp serves protocol 2026-07-28 statelessly (a request that carries
// its version in _meta and headers: SDK v2's createMcpHandler, one McpServer per request) and the 2024-11-05 …
// 2025-11-25 revisions as initialize sessions (Streamable HTTP, our session map); /sse + /messages is the legacy
// HTTP+SSE transport. Requests arrive here after the Host/Origin/API-key checks in src/http/server.ts.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { type McpServer, classifyInboundRequest, isInitializeRequest } from '@modelcontextprotocol/server';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';
import { AppError, toAppError } from '../errors.js';
import type { McpDoor, McpRequestUrl } from '../http/server.js';
import { readJsonBody } from '../http/body.js';
import { principalOf } from '../http/security.js';
import { sendError } from '../http/respond.js';
import type { Logger } from '../logger.js';
import { runAs } from '../operations/access.js';
import type { Services } from '../operations/index.js';
import type { Principal } from '../service/keys.js';
import { accountBasePath } from '../accounts/mcp-doors.js';
import { elicitsForms } from './confirm.js';
import { legacyFastPath } from './legacy-fast.js';
import { modernFastPath } from './modern-fast.js';
import { modernDoor } from './modern.js';
import { createMcpServer } from './server.js';

/** The revisions served as initialize sessions; 2026-07-28 is served statelessly. */
export const LEGACY_PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;

export const MCP_PATH = '/mcp';
export const LEGACY_SSE_PATH = '/sse';
export const LEGACY_MESSAGES_PATH = '/messages';
/** Sessions kept at once; each holds an McpServer (~tens of KB). */
export const MAX_SESSIONS = 1000;

interface Session {
  kind: 'streamable' | 'sse';
  server: McpServer;
  transport: NodeStreamableHTTPServerTransport | SSEServerTransport;
  lastSeen: number;
  /** Requests and streams still open; a session with an open stream is in use, however long ago it last posted. */
  open: number;
  /** Its client declared form elicitation and first contacts need confirming: sends may ask it (confirm.ts). */
  elicits: boolean;
  /** The keys its notifications reach: the one that opened it and those of its open GET streams (keyGuard). */
  opener: Principal | undefined;
  streams: Set<Principal>;
}

export interface McpHttpDoorOptions {
  /** Injected so tests can expire sessions without waiting. */
  now?: () => number;
  /** Default MAX_SESSIONS. */
  maxSessions?: number;
  /** false: every request goes through the SDK, no fast path for tools/call (tests compare the answers). Default true. */
  fastPath?: boolean;
  /** Prefix of the paths this door announces (the legacy SSE endpoint event, the QR page); default: its account's. */
  basePath?: string;
}

export interface McpHttpDoor extends McpDoor {
  /** Close sessions idle longer than mcpSessionIdleSeconds; runs on a timer, exposed for tests. */
  sweepIdle(): Promise<void>;
  readonly sessionCount: number;
  /** Requests answered by a fast path (modern-fast.ts, legacy-fast.ts) rather than the SDK; for tests and benches. */
  readonly fastAnswered: number;
}

export function createMcpDoor(services: Services, logger: Logger, opts: McpHttpDoorOptions = {}): McpHttpDoor {
  const { config } = services;
  const now = opts.now ?? Date.now;
  const idleMs = config.mcpSessionIdleSeconds * 1000;
  const sessions = new Map<string, Session>();
  const maxSessions = opts.maxSessions ?? MAX_SESSIONS;
  const base = opts.basePath ?? accountBasePath(services.account);
  let closed = false;
  let fastAnswered = 0;

  const sweepTimer = setInterval(() => void sweepIdle(), Math.min(idleMs / 2, 60_000));
  sweepTimer.unref();

  async function sweepIdle(): Promise<void> {
    const cutoff = now() - idleMs;
    const idle = [...sessions.entries()].filter(([, s]) => s.open === 0 && s.lastSeen < cutoff);
    for (const [id, s] of idle) {
      logger.debug({ session: id, kind: s.kind }, 'mcp session expired');
      sessions.delete(id);
      await s.server.close().catch((err: unknown) => logger.warn({ err }, 'closing an idle mcp session failed'));
    }
  }

  /**
   * Bound memory whatever clients do: at the cap, the least recently used session with nothing open is closed to
   * make room; when every session is in use, the new one is refused.
   */
  async function makeRoom(): Promise<boolean> {
    if (sessions.size < maxSessions) return true;
    await sweepIdle();
    if (sessions.size < maxSessions) return true;
    let victim: [string, Session] | null = null;
    for (const entry of sessions) if (entry[1].open === 0 && (!victim || entry[1].lastSeen < victim[1].lastSeen)) victim = entry;
    if (!victim) return false;
    sessions.delete(victim[0]);
    logger.info({ session: victim[0] }, 'mcp session closed to make room for a new one');
    await victim[1].server.close().catch(() => undefined);
    return true;
  }

  /** Count the request as activity for as long as its response stays open (SSE streams can last hours). */
  function track(session: Session, res: ServerResponse): void {
    session.open++;
    session.lastSeen = now();
    res.on('close', () => {
      session.open--;
      session.lastSeen = now();
    });
  }

  /**
   * A session outlives the request that opened it, and its GET stream the key check of that GET: before the session
   * sends anything unasked (resource updates, list changes, log lines; answers go to requests checked as they came),
   * the keys it was opened and is listened to with are checked again (KeyService.stillValid, exact). One revoked or
   * changed closes the session: the stream ends, the notification is not sent, and later requests get 404.
   */
  function keyGuard(id: string, session: Session): void {
    const transport = session.transport as { send(message: unknown, options?: unknown): Promise<void> };
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      const m = message as { method?: unknown; result?: unknown; error?: unknown };
      const unasked = typeof m.method === 'string' && m.result === undefined && m.error === undefined;
      if (unasked && !sessionKeysValid(session)) {
        logger.info({ session: id, key: session.opener?.name }, 'mcp session closed: its key was revoked or changed');
        sessions.delete(id);
        void session.server.close().catch(() => undefined);
        return;
      }
      return send(message, options);
    };
  }

  function sessionKeysValid(session: Session): boolean {
    if (session.opener && !services.keys.stillValid(session.opener)) return false;
    for (const p of session.streams) if (!services.keys.stillValid(p)) return false;
    return true;
  }

  /** A GET stream's key joins the session's keys while the stream is open. */
  function trackStreamKey(session: Session, req: IncomingMessage, res: ServerResponse): void {
    const p = principalOf(req);
    if (!p?.keyId) return;
    session.streams.add(p);
    res.once('close', () => session.streams.delete(p));
  }

  // The QR page URL in the instructions uses the Host the client reached us by (already checked by the guard).
  function newServer(host: string | null | undefined, era: 'legacy' | 'modern'): McpServer {
    return createMcpServer(services, { qrPageUrl: `http://${host ?? `${config.host}:${config.port}`}${base}/qr`, transport: 'mcp-http', era });
  }
  const modern = modernDoor(services, logger, (host) => newServer(host, 'modern'));
  const fast = opts.fastPath === false ? undefined : modernFastPath(services);
  const legacyFast = opts.fastPath === false ? undefined : legacyFastPath(services);

  /** GET and DELETE on /mcp (POST: handle reads the body, then streamable). */
  async function handleStreamable(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'DELETE') {
      return sendError(res, new AppError('method_not_allowed', 'Use POST, GET or DELETE on /mcp', { headers: { allow: 'GET, POST, DELETE' } }), logger);
    }
    return streamable(req, res, method, undefined);
  }

  /** A request on /mcp, its body read; the fast paths' promise or the SDK's, or nothing when answered here. */
  function streamable(req: IncomingMessage, res: ServerResponse, method: string, body: unknown): Promise<void> | undefined {
    const id = requestIdOf(body);
    const sessionId = req.headers['mcp-session-id'];

    if (typeof sessionId !== 'string' || sessionId === '') {
      const answered = method === 'POST' ? fast?.tryHandle(req, res, body, principalOf(req)) : undefined;
      if (answered) {
        fastAnswered++;
        return answered;
      }
      if (method === 'POST' && isInitialize(body)) return asCaller(req, () => startStreamableSession(req, res, body));
      // A single request that claims 2026-07-28 (its _meta envelope) is served statelessly; anything else here is a
      // legacy request that forgot its session.
      if (method === 'POST' && !Array.isArray(body) && !isLegacy(req, body)) return asCaller(req, () => modern.handle(req, res, body));
      // Batches went in 2025-06-18; a session of an earlier revision may still send them, but never as its first word.
      if (Array.isArray(body)) return void sendJsonRpcError(res, 400, -32600, 'Invalid Request: a JSON-RPC batch is only accepted inside a 2025-03-26 session (initialize first); send one request per POST', null);
      // Same status, code and message as the SDK transport uses for this case, but with the request id.
      return void sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required', id);
    }
    const session = sessions.get(sessionId);
    if (!session || session.kind !== 'streamable') return void sendJsonRpcError(res, 404, -32001, 'Session not found', id);

    // The transport checks this too, but answers with id null; checked here so the client learns which request failed.
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !(LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
      return void sendJsonRpcError(res, 400, -32000, `Bad Request: Unsupported protocol version for a session: ${version} (sessions speak ${LEGACY_PROTOCOL_VERSIONS.join(', ')}; 2026-07-28 needs no session)`, id);
    }
    track(session, res);
    if (method === 'GET') trackStreamKey(session, req, res);
    if (method === 'POST') {
      const answered = legacyFast?.tryHandle(req, res, body, sessionId, session.elicits, principalOf(req));
      if (answered) {
        fastAnswered++;
        return answered;
      }
      legacyFast?.cancel(sessionId, body);
    }
    return asCaller(req, () => (session.transport as NodeStreamableHTTPServerTransport).handleRequest(req, res, body));
  }

  async function startStreamableSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (closed) return sendJsonRpcError(res, 503, -32000, 'Server is shutting down', requestIdOf(body));
    if (!(await makeRoom())) return sendJsonRpcError(res, 503, -32000, `Too many open MCP sessions (${maxSessions}); close one with DELETE /mcp`, requestIdOf(body));
    const server = newServer(req.headers.host, 'legacy');
    // A client that can show forms, when first contacts need confirming, gets SSE answers: the SDK's legacy shim asks
    // it with an elicitation/create on the tools/call's own stream, and a JSON answer has no stream to carry it.
    const elicits = config.confirmNewRecipients && elicitsForms(initializeCapabilities(body));
    // POSTs are answered as JSON, one write, instead of an SSE stream per request (headers flushed, then the frame:
    // two writes, a quarter of a call's CPU in bench:mcp). Nothing is lost: no tool sends notifications during a call
    // (state changes and resource updates go on the session's GET stream), and SDK 2.4 no longer leaks a stream-map
    // entry per JSON POST as 1.x did (typescript-sdk #2559; bench:mcp's memory run checks it). A tool that one day
    // sends progress would need SSE answers back. Figures in bench/README.md (MCP).
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: !elicits,
      onsessioninitialized: (id) => {
        const session: Session = { kind: 'streamable', server, transport, lastSeen: now(), open: 0, elicits, opener: principalOf(req), streams: new Set() };
        sessions.set(id, session);
        keyGuard(id, session);
        track(session, res);
        logger.debug({ session: id }, 'mcp session started');
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    transport.onerror = (err) => logger.debug({ err: err.message }, 'mcp transport rejected a request');
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    // A rejected initialize (wrong Accept, bad version...) creates no session; its server still listens to the
    // engine and the event bus, and nothing else would ever close it.
    if (!transport.sessionId || !sessions.has(transport.sessionId)) await server.close().catch(() => undefined);
  }

  async function handleLegacySse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      // POST /sse is what a Streamable HTTP client tries on the wrong URL: say where to go instead of hanging.
      const err = new AppError('method_not_allowed', `GET ${LEGACY_SSE_PATH} opens a legacy SSE stream; POST to ${MCP_PATH} for Streamable HTTP`, { headers: { allow: 'GET' } });
      return sendError(res, err, logger);
    }
    if (closed) return sendError(res, new AppError('not_ready', 'Server is shutting down'), logger);
    if (!(await makeRoom())) return sendError(res, new AppError('rate_limited', `Too many open MCP sessions (${maxSessions})`), logger);
    const server = newServer(req.headers.host, 'legacy');
    const transport = new SSEServerTransport(`${base}${LEGACY_MESSAGES_PATH}`, res);
    const session: Session = { kind: 'sse', server, transport, lastSeen: now(), open: 0, elicits: false, opener: principalOf(req), streams: new Set() };
    sessions.set(transport.sessionId, session);
    keyGuard(transport.sessionId, session);
    track(session, res);
    transport.onclose = () => sessions.delete(transport.sessionId);
    transport.onerror = (err: Error) => logger.debug({ err: err.message }, 'mcp sse transport rejected a message');
    // The frozen v1 SSE transport (server-legacy) speaks the same Transport interface as v2's own.
    await server.connect(transport as unknown as Parameters<McpServer['connect']>[0]); // writes the SSE headers and the `endpoint` event
  }

  async function handleLegacyMessage(req: IncomingMessage, res: ServerResponse, url: McpRequestUrl): Promise<void> {
    if (req.method !== 'POST') {
      return sendError(res, new AppError('method_not_allowed', `Use POST on ${LEGACY_MESSAGES_PATH}`, { headers: { allow: 'POST' } }), logger);
    }
    return readMcpBody(req, res, (body) => legacyMessage(req, res, url, body));
  }

  function legacyMessage(req: IncomingMessage, res: ServerResponse, url: McpRequestUrl, body: unknown): Promise<void> | undefined {
    const id = requestIdOf(body);
    const sessionId = url.searchParams.get('sessionId');
    if (!sessionId) return void sendJsonRpcError(res, 400, -32000, 'Bad Request: sessionId query parameter is required', id);
    const session = sessions.get(sessionId);
    if (!session || session.kind !== 'sse') return void sendJsonRpcError(res, 404, -32001, 'Session not found', id);
    session.lastSeen = now();
    return (session.transport as SSEServerTransport).handlePostMessage(req, res, body);
  }

  /**
   * The body under the server-wide size cap, handed to `next`; a body error is answered here as JSON-RPC (id unknown).
   * A continuation, not an async function awaiting the body: promises (and with runAs in the process, the promise
   * hooks on each) are a measurable part of a fast call (bench:mcp).
   */
  function readMcpBody(req: IncomingMessage, res: ServerResponse, next: (body: unknown) => Promise<void> | undefined): Promise<void> {
    return readJsonBody(req, config.maxBodyBytes).then(
      (body) => (body === undefined ? sendJsonRpcError(res, 400, -32700, 'Parse error: empty body', null) : next(body)),
      (err: unknown) => {
        const appErr = toAppError(err);
        if (appErr.code === 'invalid_input') sendJsonRpcError(res, 400, -32700, `Parse error: ${appErr.message}`, null);
        else sendJsonRpcError(res, appErr.httpStatus, -32000, appErr.message, null, appErr.headers);
      },
    );
  }

  function failed(err: unknown, path: string, res: ServerResponse): void {
    // Client mistakes never get here (they are answered above); what does is a bug or a dropped connection.
    logger.error({ err, path }, 'mcp request failed');
    sendJsonRpcError(res, 500, -32603, 'Internal error', null);
  }

  async function other(req: IncomingMessage, res: ServerResponse, url: McpRequestUrl): Promise<void> {
    try {
      if (url.pathname === MCP_PATH) return await handleStreamable(req, res);
      if (url.pathname === LEGACY_SSE_PATH) return await asCaller(req, () => handleLegacySse(req, res));
      return await asCaller(req, () => handleLegacyMessage(req, res, url));
    } catch (err) {
      failed(err, url.pathname, res);
    }
  }

  return {
    handles(pathname) {
      return pathname === MCP_PATH || pathname === LEGACY_SSE_PATH || pathname === LEGACY_MESSAGES_PATH;
    },
    handle(req, res, url: McpRequestUrl) {
      // POST /mcp, the calls: two then() on the body's promise, no async function layers.
      if (url.pathname === MCP_PATH && req.method === 'POST') {
        return readMcpBody(req, res, (body) => streamable(req, res, 'POST', body)).then(undefined, (err: unknown) => failed(err, MCP_PATH, res));
      }
      return other(req, res, url);
    },
    sweepIdle,
    get sessionCount() {
      return sessions.size;
    },
    get fastAnswered() {
      return fastAnswered;
    },
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      await modern.close();
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(all.map((s) => s.server.close()));
    },
  };
}

type JsonRpcId = string | number | null;

/**
 * The SDK's handlers (tools/list, resources, a tools/call the fast paths decline) find the caller through runAs
 * (callerOf in access.ts), so everything handed to the SDK runs inside it. The fast paths are given the principal
 * instead (FastCall.principal): no run() and its executionAsyncResource per call, and in a process that never needs
 * the SDK no AsyncLocalStorage promise hooks at all (on Node 20 they stay on for every promise once run() was called).
 * No principal (a door called without the HTTP server's guard, as tests do): as before, none.
 */
function asCaller<T>(req: IncomingMessage, fn: () => T): T {
  const p = principalOf(req);
  return p ? runAs(p, fn) : fn();
}

/** The id of a single JSON-RPC request, so an error answers the request that caused it; null when unknown. */
function requestIdOf(body: unknown): JsonRpcId {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const id = (body as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') return id;
  }
  return null;
}

/**
 * The SDK's own era decision (what isLegacyRequest runs), on the body we already parsed: isLegacyRequest would first
 * need an undici Request (~50 µs), and createMcpHandler builds another one anyway.
 */
function isLegacy(req: IncomingMessage, body: unknown): boolean {
  const h = req.headers;
  const header = (name: string) => (typeof h[name] === 'string' ? (h[name] as string) : undefined);
  const outcome = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: header('mcp-protocol-version'), mcpMethodHeader: header('mcp-method'), mcpNameHeader: header('mcp-name'), body });
  return outcome.kind === 'legacy';
}

/** The capabilities an initialize request declares (the first one of a batch). */
function initializeCapabilities(body: unknown): { elicitation?: { form?: unknown; url?: unknown } } | undefined {
  const init = (Array.isArray(body) ? body.find((m) => isInitializeRequest(m)) : body) as { params?: { capabilities?: unknown } } | undefined;
  const caps = init?.params?.capabilities;
  return caps && typeof caps === 'object' ? (caps as { elicitation?: { form?: unknown; url?: unknown } }) : undefined;
}

function isInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

/** A JSON-RPC error in the shape the SDK transport itself produces, so clients see one format from this endpoint. */
function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, id: JsonRpcId, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const payload = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
