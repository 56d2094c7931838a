// The HTTP door: node:http, one request pipeline. Security checks first, then the page table (pages.ts), MCP, the
// event stream, or the REST table.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseId } from '../domain.js';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { DEFAULT_ACCOUNT } from '../accounts/layout.js';
import { admitToAccount, chatPredicate } from '../operations/access.js';
import { invokeOperation } from '../operations/invoke.js';
import { OPERATIONS, availableOperations, type Operation, type Services } from '../operations/index.js';
import type { Upload } from '../service/media-intake.js';
import { BODY_IDLE_MS, readJsonBody } from './body.js';
import { EVENTS_PATH, type EventStreamOptions, serveEventStream, wantsEventStream } from './events-stream.js';
import { sendFile } from './file-reply.js';
import { Metrics, UNMATCHED_ROUTE } from './metrics.js';
import { isMultipart, readMultipart } from './multipart.js';
import { prefersHtml, sendNotFoundPage } from './dashboard-page.js';
import { PageTable, buildPages } from './pages.js';
import { sendError, sendJson } from './respond.js';
import { RouteTable, coerceQuery, splitAccountPath } from './routes.js';
import { RequestGuard } from './security.js';

/** What an MCP door is given of the request URL (a URL, or the path and a query parsed when read). */
export type McpRequestUrl = Pick<URL, 'pathname' | 'searchParams'>;

/** The MCP transports plug in here; they get requests that already passed the Host/Origin/API-key checks. */
export interface McpDoor {
  handles(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: McpRequestUrl): Promise<void>;
  close(): Promise<void>;
  /** The metrics label of a path it handles (a template for per-account paths); default: the path. */
  routeOf?(pathname: string): string;
}

export interface HttpServerOptions {
  services: Services;
  logger: Logger;
  mcp?: McpDoor;
  timeouts?: Partial<HttpTimeouts>;
  eventStream?: EventStreamOptions;
  /** Shared with the MCP door (app.ts counts tool calls into it); made here when absent. */
  metrics?: Metrics;
}

/** Slow or idle sockets must not pin the server: bound headers, whole requests and idle keep-alives. */
export interface HttpTimeouts {
  headersMs: number;
  /** A request body with no byte for this long is answered 408 (Node's own request timeout answers nothing). */
  bodyIdleMs: number;
  requestMs: number;
  keepAliveMs: number;
}
const DEFAULT_TIMEOUTS: HttpTimeouts = { headersMs: 15_000, bodyIdleMs: BODY_IDLE_MS, requestMs: 60_000, keepAliveMs: 5_000 };

export function createHttpServer({ services, logger, mcp, timeouts, eventStream, metrics: given }: HttpServerOptions): http.Server {
  const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
  const { config } = services;
  const guard = new RequestGuard(config, services.keys);
  // Every operation is routed (accounts may run other engines than the default); whether one is offered is asked of
  // the account a request is for. The document shows what the default account offers.
  const routes = new RouteTable(OPERATIONS);
  const documented = new RouteTable(availableOperations(services));
  const metrics = given ?? new Metrics(services);
  const pages = new PageTable(
    buildPages({
      services,
      guard,
      routes: documented,
      metrics,
      config,
      mcpUrl: () => {
        const port = (server.address() as AddressInfo | null)?.port ?? config.port;
        const host = config.host.includes(':') ? `[${config.host}]` : config.host;
        return `http://${host}:${port}/mcp`;
      },
    }),
  );

  const server = http.createServer(
    {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      keepAliveTimeout: t.keepAliveMs,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1000, t.headersMs),
    },
    async (req, res) => {
      if (logger.isLevelEnabled('debug')) {
        const started = process.hrtime.bigint();
        res.on('finish', () => {
          logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
        });
      }
      // One 'close' listener per request: it records the request's metrics and aborts a long-poll whose client left.
      // The route label is a template or page path, set once the request is matched; never the raw URL.
      const started = performance.now();
      let route = UNMATCHED_ROUTE;
      let gone: AbortController | null = null;
      // on, not once: a response closes once, and once's wrapper is one more closure per request.
      res.on('close', () => {
        if (gone && !res.writableFinished) gone.abort();
        metrics.observeRequest(route, req.method, res.statusCode, (performance.now() - started) / 1000);
      });
      try {
        const target = req.url ?? '/';
        // The URL object only where it is read (query strings, pages, REST): MCP needs the path, and new URL() was
        // ~1.5% of an MCP call (bench:mcp profile).
        let parsed: URL | undefined;
        const path = plainPath(target) ?? (parsed = requestUrl(target)).pathname;
        guard.checkHostAndOrigin(req);
        // No Origin, no CORS headers (corsHeaders answers {} then): the common case skips the object and its walk.
        if (req.headers.origin !== undefined) for (const [k, v] of Object.entries(guard.corsHeaders(req))) res.setHeader(k, v);
        if (req.method === 'OPTIONS') return guard.preflight(req, res);

        const hit = pages.get(path);
        if (hit) {
          const { page } = hit;
          route = hit.route;
          if (!page.methods.includes(req.method ?? '')) throw methodNotAllowed([...page.methods]);
          const url = parsed ?? requestUrl(target);
          if (page.auth !== 'open') withScopeHint(`${req.method} ${path}`, page.scope ?? 'admin', () => guard.authorize(req, page.scope ?? 'admin', 'rest', page.auth === 'key-or-basic'));
          return await page.handle(req, res, url, hit.account);
        }

        // The MCP transports keep their own routing (Streamable HTTP, legacy SSE and its message endpoint).
        if (mcp?.handles(path)) {
          route = mcp.routeOf?.(path) ?? path;
          // The door runs the SDK inside runAs(principal), and passes its fast paths the principal itself (principalOf).
          guard.authenticate(req, 'mcp');
          return await mcp.handle(req, res, parsed ?? new McpTarget(path, target));
        }
        const url = parsed ?? requestUrl(target);
        // A streaming response the operation pipeline cannot give; same checks, before the route table.
        const inAccount = splitAccountPath(path);
        if (wantsEventStream(req, inAccount?.path ?? path)) {
          route = inAccount ? `/api/accounts/{account}${EVENTS_PATH.slice(4)}` : EVENTS_PATH;
          const principal = withScopeHint(`GET ${EVENTS_PATH} (event stream)`, 'read', () => guard.authorize(req, 'read', 'rest', false, true));
          admitToAccount(principal, inAccount?.account ?? DEFAULT_ACCOUNT, 'events_stream', services.audit);
          const runtime = inAccount ? services.accounts.require(inAccount.account) : services;
          const chatAllowed = chatPredicate(principal, runtime);
          return serveEventStream(req, res, url, runtime.events, { ...eventStream, keys: services.keys, ...(chatAllowed ? { chatAllowed } : {}) });
        }

        // HEAD is GET without the body (node:http leaves the body out of a HEAD response by itself).
        const match = routes.match(req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'), path);
        if (match.kind === 'not_found' && prefersHtml(req)) return sendNotFoundPage(res, path);
        if (match.kind === 'not_found') throw new AppError('not_found', `No route ${req.method} ${path}`, { hint: 'See README for the list of endpoints.' });
        if (match.kind === 'method_not_allowed') throw methodNotAllowed(match.allow);
        route = match.route.path;
        const principal = guard.authenticate(req);
        // After the key check: who may not call learns nothing about which accounts exist.
        const { account, ...params } = match.params;
        // Before the account is looked up or its media dir takes an upload; the server's operations: invokeOperation.
        if (!match.op.serverWide) admitToAccount(principal, account ?? DEFAULT_ACCOUNT, match.op.name, services.audit);
        const runtime = account === undefined ? services : services.accounts.require(account);
        const op = match.op;
        if (op.available && !op.available(runtime)) {
          throw new AppError('not_found', `No route ${req.method} ${path}${account === undefined ? '' : ` on account ${account}`} (${runtime.config.engine} engine)`, { hint: 'See README for the list of endpoints.' });
        }
        let body: unknown;
        let upload: Upload | undefined;
        if (req.method === 'GET' || req.method === 'HEAD') body = undefined;
        else if (op.acceptsMedia && isMultipart(req)) {
          const form = await readMultipart(req, runtime.media.files, { maxFileBytes: config.maxMediaBytes, maxFieldBytes: 256 * 1024, idleMs: t.bodyIdleMs });
          upload = form.upload;
          try {
            body = formFields(op, form.fields);
          } catch (err) {
            if (upload) runtime.media.files.discard(upload.staged);
            throw err;
          }
        } else {
          const read = { bytes: 0 };
          body = await readJsonBody(req, op.acceptsMedia ? mediaJsonCap(config) : config.maxBodyBytes, t.bodyIdleMs, read);
          // Only a body carrying a file may be larger than WHATSAPP_MAX_BODY_BYTES.
          if (op.acceptsMedia && read.bytes > config.maxBodyBytes && typeof (body as { media?: { data?: unknown } })?.media?.data !== 'string') {
            throw new AppError('payload_too_large', `Request body exceeds ${config.maxBodyBytes} bytes`, { details: { max_bytes: config.maxBodyBytes } });
          }
        }
        if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
          throw new AppError('invalid_input', 'Body must be a JSON object');
        }
        // Path params are text like the query string: "7" becomes 7 where the schema wants a number.
        // The path names the thing; a body or query field that names another is a contradiction, not a choice.
        for (const [name, value] of Object.entries(params)) {
          const given = (body as Record<string, unknown> | undefined)?.[name] ?? url.searchParams.get(name) ?? undefined;
          if (given !== undefined && String(given) !== value && (parseId(String(given))?.id ?? String(given)) !== (parseId(value)?.id ?? value)) {
            if (upload) runtime.media.files.discard(upload.staged);
            throw new AppError('invalid_input', `${name}: given in the path as ${value} and in the request as ${String(given)}; leave it out of the body`, { details: { field: name } });
          }
        }
        const input = { ...coerceQuery(op, url.searchParams), ...(body as object | undefined), ...coerceQuery(op, new URLSearchParams(params)) };
        const idempotencyKey = header(req, 'idempotency-key');
        const preferAsync = /(^|[,\s])respond-async\b/i.test(header(req, 'prefer') ?? '');
        // A long-poll whose client hung up should stop waiting. The controller is made only for operations that
        // look at the signal, and aborted only on a real hang-up (the 'close' listener above): both cost measurable
        // time on every request.
        const call = {
          principal,
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(upload ? { upload } : {}),
          preferAsync,
          get signal() {
            // HEAD wants the headers, not the wait: a long-poll answers at once, as for a caller that left (an empty
            // wait, 200 timed_out), so HEAD stays "GET without the body" on every GET route.
            if (req.method === 'HEAD') return AbortSignal.abort();
            if (!gone) {
              gone = new AbortController();
              if (res.destroyed && !res.writableFinished) gone.abort(); // hung up before anyone asked
            }
            return gone.signal;
          },
        };
        let result: unknown;
        try {
          result = await invokeOperation(op, input, runtime, call);
        } finally {
          if (upload) runtime.media.files.discard(upload.staged); // unless the send took it in
        }
        if (op.file) return await sendFile(req, res, op.file(result as never));
        sendJson(res, op.httpStatus?.(result as never) ?? 200, result);
      } catch (err) {
        sendError(res, err, logger);
      }
    },
  );
  server.on('clientError', answerClientError);
  // Node answers an Expect it does not know with an empty 417; the same answer in our JSON error shape.
  server.on('checkExpectation', (req, res) => {
    const expect = String(req.headers.expect ?? '');
    sendError(res, new AppError('expectation_failed', `Expect: ${expect.slice(0, 100)} is not supported (only 100-continue)`, { hint: 'Leave the Expect header out.' }), logger);
  });
  return server;
}

/**
 * The path of a target made only of letters, digits, `_`, `-` and `/` (every route, page and MCP path is), without
 * parsing: for such a path new URL() gives the same pathname (nothing to resolve, decode or escape). Anything else
 * (dots, `%`, `\\`, other characters): undefined, and requestUrl decides.
 */
function plainPath(target: string): string | undefined {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return PLAIN_PATH.test(path) ? path : undefined;
}
const PLAIN_PATH = /^\/[A-Za-z0-9_\-/]*$/;

/** What an MCP door reads of the URL: the path, and the query string (legacy /messages?sessionId=) when asked. */
class McpTarget {
  private url: URL | undefined;

  constructor(
    readonly pathname: string,
    private readonly target: string,
  ) {}

  get searchParams(): URLSearchParams {
    return (this.url ??= requestUrl(this.target)).searchParams;
  }
}

/**
 * Origin-form targets only ("/api/status?x=1"). "//api/status" must not become host "api", and an absolute-form
 * target ("http://evil.example/api") would dodge the Host check, which reads the Host header.
 */
function requestUrl(target: string): URL {
  if (!target.startsWith('/')) throw new AppError('invalid_input', 'Request target must be a path such as /api/status');
  return new URL(`http://localhost${target}`);
}

/**
 * Node answers some malformed requests itself (431 headers too large, 408 request timeout, 400 bad framing) with an
 * empty body; give them the same JSON error shape as everything else.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) return void socket.destroy();
  const [code, text, reason]: [ErrorCode, string, string] =
    err.code === 'HPE_HEADER_OVERFLOW' ? ['headers_too_large', 'Request line or headers are too large (the URL and headers together must stay under 16 KB)', 'Request Header Fields Too Large'] :
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['request_timeout', 'The request took too long to arrive', 'Request Timeout'] :
    ['invalid_input', 'Malformed HTTP request', 'Bad Request'];
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ ok: false, error: { code, message: text } });
  // Write, then destroy (as Node does): a slowloris client that never reads must not keep a half-open socket.
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/** base64 is 4/3 of the file, plus room for the other fields. */
function mediaJsonCap(config: Services['config']): number {
  return Math.ceil((config.maxMediaBytes * 4) / 3) + 256 * 1024;
}

/**
 * Form fields → the JSON body they stand for: `media.kind` (or `kind`, `mimetype`, `filename`) go into media,
 * `location` and `poll` may be JSON text, the rest are coerced like a query string (numbers, booleans).
 */
function formFields(op: Operation, fields: Record<string, string>): Record<string, unknown> {
  const media: Record<string, string> = {};
  const flat = new URLSearchParams();
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const m = /^media(?:\.|\[)(\w+)\]?$/.exec(name);
    if (m) media[m[1]!] = value;
    else if (name === 'kind' || name === 'mimetype' || name === 'filename') media[name] = value;
    else if ((name === 'location' || name === 'poll') && value.trim().startsWith('{')) {
      try {
        out[name] = JSON.parse(value);
      } catch {
        throw new AppError('invalid_input', `${name}: not valid JSON`, { details: { field: name } });
      }
    } else flat.append(name, value);
  }
  Object.assign(out, coerceQuery(op, flat));
  if (Object.keys(media).length > 0) out.media = media;
  return out;
}

/** guard.authorize's 403 says which scope is missing; add what the operations' refusals say: what needs it and how. */
function withScopeHint<T>(what: string, scope: string, authorize: () => T): T {
  try {
    return authorize();
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'forbidden' || err.hint) throw err;
    throw new AppError('forbidden', err.message, { hint: `${what} needs a key with the ${scope} scope (whatsapp-mcp-api keys add --scopes ...).`, details: err.details, headers: err.headers });
  }
}

function methodNotAllowed(allow: string[]): AppError {
  return new AppError('method_not_allowed', `Method not allowed; use ${allow.join(', ')}`, { headers: { allow: allow.join(', ') } });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
