// The legacy-session fast path for tools/call (src/mcp/legacy-fast.ts) against the session transport it stands in
// for: a session on the production door and one on a door over the same services with the fast path off get the same
// requests; status, headers that matter and body bytes must agree.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createMcpDoor, type McpHttpDoor } from '../src/mcp/http.js';
import { observeToolCalls } from '../src/mcp/tools.js';
import { MCP_ACCEPT, openRawSession } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const VERSION = '2025-11-25';
let srv: TestServer;
let door: McpHttpDoor;
let sdkOnly: { url: string; door: McpHttpDoor; server: http.Server } | undefined;
afterEach(async () => {
  if (sdkOnly) {
    await sdkOnly.door.close();
    await new Promise((r) => sdkOnly!.server.close(r));
    sdkOnly = undefined;
  }
  await srv?.close();
});

async function startBoth(): Promise<{ ours: string; sdk: string }> {
  srv = await startTestServer({}, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
  const sdkDoor = createMcpDoor(srv.app.services, silentLogger(), { fastPath: false });
  const server = http.createServer((req, res) => void sdkDoor.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sdkOnly = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, door: sdkDoor, server };
  return { ours: await openRawSession(srv.url, VERSION), sdk: await openRawSession(sdkOnly.url, VERSION) };
}

const call = (id: number | string, name: string, args?: unknown, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, ...(args === undefined ? {} : { arguments: args }), ...extra },
});

async function post(base: string, session: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-session-id': session, 'mcp-protocol-version': VERSION, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), session: res.headers.get('mcp-session-id'), text };
}

async function both(sessions: { ours: string; sdk: string }, body: unknown, headers: Record<string, string> = {}) {
  const before = door.fastAnswered;
  const ours = { ...(await post(srv.url, sessions.ours, body, headers)), fast: false };
  ours.fast = door.fastAnswered > before;
  const sdk = await post(sdkOnly!.url, sessions.sdk, body, headers);
  const shape = (r: Omit<typeof ours, 'fast'>, session: string) => ({ status: r.status, type: r.type, sessionEchoed: r.session === session || r.session === null && 'none', text: r.text });
  expect(shape(ours, sessions.ours), JSON.stringify(body).slice(0, 200)).toEqual(shape(sdk, sessions.sdk));
  return ours;
}

describe('legacy session fast path', () => {
  it('answers tools/call byte for byte as the session transport does (JSON response mode)', async () => {
    const sessions = await startBoth();
    const answered = [
      await both(sessions, call(1, 'whatsapp_status', {})),
      await both(sessions, call('s-2', 'whatsapp_status')),
      await both(sessions, call(3, 'whatsapp_list_chats', { lmit: 3 })), // SEP-1303 isError with our code
      await both(sessions, call(4, 'whatsapp_send_message', { phone_number: '15550001001', message: 'hi' })), // not_ready
    ];
    expect(answered.map((a) => a.fast)).toEqual([true, true, true, true]);
    expect(answered[0]!.session).toBe(sessions.ours);
    expect(JSON.parse(answered[0]!.text)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { structuredContent: { engine: 'sandbox' } } });
    expect(JSON.parse(answered[2]!.text).result).toMatchObject({ isError: true, structuredContent: { error: { code: 'invalid_input' } } });
  });

  it('leaves the rest to the session transport', async () => {
    const sessions = await startBoth();
    const declined: Array<[unknown, Record<string, string>?]> = [
      [call(10, 'no_such_tool', {})],
      [call(11, 'whatsapp_status', null)],
      [call(12, 'whatsapp_status', {}, { _meta: { progressToken: 'p' } })],
      [{ ...call(13, 'whatsapp_status', {}), extra: 1 }],
      [{ ...call(14, 'whatsapp_status', {}), id: 1.5 }],
      [call(15, 'whatsapp_status', {}), { accept: 'application/json' }], // 406
      [call(16, 'whatsapp_status', {}), { 'content-type': 'application/vnd.api+json' }], // 415
      [{ jsonrpc: '2.0', id: 17, method: 'tools/list', params: {} }],
    ];
    for (const [body, headers] of declined) {
      const r = await both(sessions, body, headers);
      expect(r.fast, JSON.stringify(body)).toBe(false);
    }
  });

  it('notifications/cancelled aborts a call it took: the wait ends and no answer is sent', async () => {
    srv = await startTestServer();
    const session = await openRawSession(srv.url, VERSION);
    const finished: string[] = [];
    observeToolCalls(srv.app.services, (tool) => void finished.push(tool));
    const bus = srv.app.services.events.bus as unknown as { emitter: { listenerCount(e: string): number } };
    const before = bus.emitter.listenerCount('close'); // one per open wait (each long-poll gives up on shutdown)
    const pending = post(srv.url, session, call(40, 'whatsapp_wait_for_message', { timeout_s: 120 }));
    await waitFor(() => bus.emitter.listenerCount('close') > before, 'the wait to start');
    const cancel = await post(srv.url, session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 40, reason: 'test' } });
    expect(cancel.status).toBe(202);
    const answer = await pending;
    expect(answer).toMatchObject({ status: 204, text: '' });
    await waitFor(() => finished.includes('whatsapp_wait_for_message'), 'the wait to end');
    expect(bus.emitter.listenerCount('close')).toBe(before);
  });
});
