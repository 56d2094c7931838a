// The fast path for the two requests agents send most, 2026-07-28 `tools/call` and `tools/list`, answered here on
// node:http instead of through SDK v2's createMcpHandler. Why: the SDK builds an undici Request, an McpServer, a
// per-request transport and a Response for every stateless request, and parses the message with zod several times:
// ~600-700 µs of CPU per call against ~40 µs for a bare node:http JSON answer (bench:mcp, 0.09x raw; bench/README.md).
//
// It only takes requests that are plainly valid: every check below is one the SDK's ladder makes, and a request that
// fails any of them (or carries anything we do not look at: a progress token, a cursor, an extra _meta key, a
// base64-encoded Mcp-Name, an unknown tool) is declined, untouched, and the SDK path answers it with its own errors.
// So error answers stay the SDK's, and the success answers are byte-for-byte what it gives (test/mcp-modern-fast.test.ts
// sends the same requests down both paths). The envelope (_meta clientInfo/clientCapabilities) is checked by the SDK's
// own classifier, once per distinct envelope: a client sends the same one on every request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classifyInboundRequest, isJsonContentType } from '@modelcontextprotocol/server';
import type { Operation, Services } from '../operations/index.js';
import type { CallOptions } from '../operations/operation.js';
import type { Principal } from '../service/keys.js';
import { elicitsForms, mayNeedConfirmation } from './confirm.js';
import { SERVER_INFO } from './server.js';
import { callOperation, listedTools, toolDefinition, toolResultJson, toolSet } from './tools.js';

const MODERN = '2026-07-28';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
const ENVELOPE_KEYS = new Set([PROTOCOL_VERSION_KEY, 'io.modelcontextprotocol/clientInfo', CAPABILITIES_KEY]);
const RESULT_META = { 'io.modelcontextprotocol/serverInfo': SERVER_INFO };
/** Distinct envelopes remembered; past this the memory is cleared (a client varying its envelope only costs time). */
const ENVELOPE_CACHE_MAX = 256;

type JsonRpcId = string | number;
type Plain = Record<string, unknown>;

export interface ModernFastPath {
  /**
   * Answers a plain 2026-07-28 tools/call or tools/list and returns its promise; undefined: not ours, untouched.
   * `principal`: who calls (the guard's, principalOf); the fast path runs outside runAs.
   */
  tryHandle(req: IncomingMessage, res: ServerResponse, body: unknown, principal?: Principal): Promise<void> | undefined;
}

export function modernFastPath(services: Services): ModernFastPath {
  const { byName } = toolSet(services);
  const envelopes = new Map<string, boolean>();
  // Serialized tools/list answers up to the id, one per set of tools a caller may see (listedTools decides; each
  // distinct set is serialized once).
  const listings = new Map<string, string>();

  function listingPrefix(principal: Principal | undefined): string {
    const { key, ops: visible } = listedTools(services, principal ? { transport: 'mcp-http', principal } : { transport: 'mcp-http' });
    let prefix = listings.get(key);
    if (prefix === undefined) {
      // The fields and their order the SDK's 2026-07-28 encoder gives a cacheable result with no cache hint.
      const result = { tools: visible.map(toolDefinition), resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: RESULT_META };
      prefix = `{"result":${JSON.stringify(result)},"jsonrpc":"2.0","id":`;
      listings.set(key, prefix);
    }
    return prefix;
  }

  // The envelope last found valid: a client sends the same one every time, and comparing with it costs less than
  // serializing it for the cache key (JSON.stringify + Map lookup was ~3% of a call, bench:mcp profile).
  let lastValid: Plain | undefined;

  function envelopeValid(meta: Plain): boolean {
    if (lastValid !== undefined && sameJson(meta, lastValid)) return true;
    const key = JSON.stringify(meta);
    let ok = envelopes.get(key);
    if (ok === undefined) {
      const probe = { jsonrpc: '2.0', id: 0, method: 'tools/list', params: { _meta: meta } };
      ok = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: MODERN, mcpMethodHeader: 'tools/list', body: probe }).kind === 'modern';
      if (envelopes.size >= ENVELOPE_CACHE_MAX) envelopes.clear();
      envelopes.set(key, ok);
    }
    if (ok) lastValid = meta;
    return ok;
  }

  return {
    tryHandle(req, res, body, principal) {
      if (!isPlain(body)) return undefined;
      const method = body.method;
      if (method !== 'tools/call' && method !== 'tools/list') return undefined;
      const id = body.id;
      if (body.jsonrpc !== '2.0' || !(typeof id === 'string' || Number.isSafeInteger(id))) return undefined;
      for (const k in body) if (k !== 'jsonrpc' && k !== 'id' && k !== 'method' && k !== 'params') return undefined;
      const params = body.params;
      if (!isPlain(params)) return undefined;
      const meta = params._meta;
      if (!isPlain(meta) || meta[PROTOCOL_VERSION_KEY] !== MODERN) return undefined;
      for (const k in meta) if (!ENVELOPE_KEYS.has(k)) return undefined;
      // Header values arrive with their surrounding whitespace already stripped by node's parser.
      const h = req.headers;
      if (h['mcp-protocol-version'] !== MODERN || h['mcp-method'] !== method || !isJsonContentType(h['content-type'])) return undefined;

      if (method === 'tools/list') {
        for (const k in params) if (k !== '_meta') return undefined;
        if (!envelopeValid(meta)) return undefined;
        sendJson(res, `${listingPrefix(principal)}${JSON.stringify(id)}}`);
        return Promise.resolve();
      }
      for (const k in params) if (k !== 'name' && k !== 'arguments' && k !== '_meta') return undefined;
      const name = params.name;
      const op = typeof name === 'string' ? byName.get(name) : undefined;
      if (!op || h['mcp-name'] !== name) return undefined;
      const args = params.arguments;
      if (args !== undefined && !isPlain(args)) return undefined;
      // A send that may need a person's yes, from a client that can ask: the SDK path answers it, input request and
      // all (confirm.ts), and its retry (inputResponses, requestState) is not plain anyway.
      if (mayNeedConfirmation(op, services) && elicitsForms(meta[CAPABILITIES_KEY] as never)) return undefined;
      if (!envelopeValid(meta)) return undefined;
      return answerCall(res, op, args, id as JsonRpcId, principal);
    },
  };

  function answerCall(res: ServerResponse, op: Operation, args: Plain | undefined, id: JsonRpcId, principal: Principal | undefined): Promise<void> {
    // What the SDK's 2026-07-28 encoder adds to a tool result: resultType, then our identity in _meta (callOperation's
    // results carry neither of their own).
    return callOperation(op, args, services, new FastCall(res, principal)).then((result) => {
      sendJson(res, `{"result":${toolResultJson(result, RESULT_STAMP)},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`);
    });
  }
}

const RESULT_STAMP = { resultType: 'complete', _meta: RESULT_META };

/**
 * CallOptions for a call answered on `res`, and a way to cancel it. The signal aborts when the client hangs up (a long
 * wait, whatsapp_wait_for_message, ends early) or on cancel(); its controller is made only when an operation reads it:
 * one per call is measurable here. A class, not an object literal with a getter and closures: that literal cost ~1 µs
 * a call (bench:mcp). Its `signal` lives on the prototype, so a spread copy of it has none: a caller that copies the
 * options (confirm.ts does, for the SDK's calls only) must pass `signal` on by name.
 */
export class FastCall implements CallOptions {
  readonly transport = 'mcp-http' as const;
  cancelled = false;
  private gone: AbortController | undefined = undefined;

  constructor(
    private readonly res: ServerResponse,
    /** Who calls (callerOf reads it first); undefined: the ambient runAs, as for any call. */
    readonly principal?: Principal,
  ) {}

  get signal(): AbortSignal {
    if (!this.gone) {
      const ac = (this.gone = new AbortController());
      const res = this.res;
      if (this.cancelled || (res.destroyed && !res.writableFinished)) ac.abort();
      else res.once('close', () => res.writableFinished || ac.abort());
    }
    return this.gone.signal;
  }

  cancel(): void {
    this.cancelled = true;
    this.gone?.abort();
  }
}

/** The headers every fast answer carries, as writeHead's flat list (no header object built and walked per call). */
export function sendJson(res: ServerResponse, payload: string, sessionId?: string): void {
  if (res.destroyed) return; // the client left; nothing to answer
  const length = Buffer.byteLength(payload);
  res.writeHead(200, sessionId === undefined ? ['content-type', 'application/json', 'content-length', length] : ['content-type', 'application/json', 'content-length', length, 'mcp-session-id', sessionId]);
  res.end(payload);
}

/**
 * Would JSON.stringify give both the same text? For values JSON.parse made (no undefined, functions or NaN): the same
 * keys in the same order and the same values, so an envelope equal to a checked one is that envelope.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Plain)[k], (b as Plain)[k])) return false;
  }
  return true;
}

export function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
