// The fast path for `tools/call` inside a legacy (2024-11-05 … 2025-11-25) Streamable HTTP session: answered here
// instead of through the session's SDK transport and McpServer, for the same reason as modern-fast.ts: the SDK builds
// an undici Request and Response per POST and parses the message with zod three times (transport, protocol, the
// request schema), ~370-430 µs of CPU per call against ~40 µs for a bare node:http answer (bench:mcp, 0.14x raw).
//
// Only plainly valid calls are taken (http.ts has found the session and checked the version header): the transport's
// own Accept and Content-Type rules, a JSON-RPC request with nothing but a known tool's name and arguments (a progress
// token or any other _meta goes to the SDK, which may stream). Everything else is left, untouched, to the session's
// transport. The answer is the JSON the transport gives in JSON response mode (http.ts), byte for byte
// (test/mcp-legacy-fast.test.ts). notifications/cancelled for a call taken here aborts it, as the SDK would.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType } from '@modelcontextprotocol/server';
import type { Services } from '../operations/index.js';
import type { Principal } from '../service/keys.js';
import { mayNeedConfirmation } from './confirm.js';
import { FastCall, isPlain, sendJson } from './modern-fast.js';
import { callOperation, toolResultJson, toolSet } from './tools.js';

export interface LegacyFastPath {
  /**
   * Answers a plain tools/call of session `sessionId` and returns its promise; undefined: not ours, untouched.
   * `canElicit`: the session's client can show a form, so a send that needs a person's yes goes to the SDK, whose
   * legacy shim asks it (confirm.ts); the fast path has no way to send a request to the client. `principal`: who
   * calls (the guard's, principalOf); the fast path runs outside runAs.
   */
  tryHandle(req: IncomingMessage, res: ServerResponse, body: unknown, sessionId: string, canElicit?: boolean, principal?: Principal): Promise<void> | undefined;
  /** A notifications/cancelled the session received: abort the call it names, if it runs here. */
  cancel(sessionId: string, body: unknown): void;
}

export function legacyFastPath(services: Services): LegacyFastPath {
  const { byName } = toolSet(services);
  /** Calls in flight, by session and request id: what notifications/cancelled can name. */
  const inflight = new Map<string, FastCall>();
  const keyOf = (sessionId: string, id: string | number) => `${sessionId} ${typeof id}:${id}`;

  return {
    tryHandle(req, res, body, sessionId, canElicit = false, principal) {
      if (!isPlain(body) || body.method !== 'tools/call') return undefined;
      const id = body.id;
      if (body.jsonrpc !== '2.0' || !(typeof id === 'string' || Number.isSafeInteger(id))) return undefined;
      for (const k in body) if (k !== 'jsonrpc' && k !== 'id' && k !== 'method' && k !== 'params') return undefined;
      const params = body.params;
      if (!isPlain(params)) return undefined;
      for (const k in params) if (k !== 'name' && k !== 'arguments') return undefined;
      const op = typeof params.name === 'string' ? byName.get(params.name) : undefined;
      const args = params.arguments;
      if (!op || (args !== undefined && !isPlain(args))) return undefined;
      if (canElicit && mayNeedConfirmation(op, services)) return undefined;
      // The transport's rules for every POST (406, 415), as it words them: its substring test, not a media-type parse.
      const accept = req.headers.accept;
      if (!accept?.includes('application/json') || !accept.includes('text/event-stream') || !isJsonContentType(req.headers['content-type'])) return undefined;

      const key = keyOf(sessionId, id as string | number);
      if (inflight.has(key)) return undefined; // a reused id: the SDK's bookkeeping decides
      const running = new FastCall(res, principal);
      inflight.set(key, running);
      // then(ok, failed) rather than a .finally: one promise fewer per call.
      return callOperation(op, args, services, running).then(
        (result) => {
          inflight.delete(key);
          // A cancelled request gets no JSON-RPC answer (the spec; the SDK sends none either). The SDK then leaves the
          // POST open until the client goes; here the exchange ends, empty.
          if (running.cancelled) return void (res.destroyed || res.writeHead(204).end());
          sendJson(res, `{"result":${toolResultJson(result)},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`, sessionId);
        },
        (err: unknown) => {
          inflight.delete(key);
          throw err;
        },
      );
    },
    cancel(sessionId, body) {
      if (!isPlain(body) || body.method !== 'notifications/cancelled' || !isPlain(body.params)) return;
      const id = body.params.requestId;
      if (typeof id === 'string' || typeof id === 'number') inflight.get(keyOf(sessionId, id))?.cancel();
    },
  };
}
