// The 2026-07-28 fast path (src/mcp/modern-fast.ts) against the SDK path it stands in for: the same requests go to
// the production door and to a second door over the same services with the fast path off; status, content type and
// body bytes must agree, for answers the fast path gives and for the requests it must leave to the SDK.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createMcpDoor, type McpHttpDoor } from '../src/mcp/http.js';
import { observeToolCalls } from '../src/mcp/tools.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'fast-test', version: '1' } };
const headers = (method: string, name?: string) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': MODERN,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});
const call = (id: number | string, name: string, args?: unknown, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, ...(args === undefined ? {} : { arguments: args }), _meta: meta, ...extra },
});

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

/** The production server, and the same services behind a door that sends every modern request through the SDK. */
async function startBoth(): Promise<void> {
  srv = await startTestServer({}, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
  const sdkDoor = createMcpDoor(srv.app.services, silentLogger(), { fastPath: false });
  const server = http.createServer((req, res) => void sdkDoor.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sdkOnly = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, door: sdkDoor, server };
}

async function post(base: string, body: unknown, h: Record<string, string>) {
  const res = await fetch(`${base}/mcp`, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function both(body: unknown, h: Record<string, string>) {
  const before = door.fastAnswered;
  const ours = { ...(await post(srv.url, body, h)), fast: false };
  ours.fast = door.fastAnswered > before;
  const sdk = await post(sdkOnly!.url, body, h);
  expect({ status: ours.status, type: ours.type, text: ours.text }, JSON.stringify(body).slice(0, 200)).toEqual({ status: sdk.status, type: sdk.type, text: sdk.text });
  return ours;
}

describe('modern fast path', () => {
  it('answers tools/call and tools/list byte for byte as the SDK does', async () => {
    await startBoth();
    const answered = [
      await both(call(1, 'whatsapp_status', {}), headers('tools/call', 'whatsapp_status')),
      await both(call('req-7', 'whatsapp_status'), headers('tools/call', 'whatsapp_status')),
      // SEP-1303: bad arguments and failed operations are isError results with our error code
      await both(call(2, 'whatsapp_list_chats', { lmit: 3 }), headers('tools/call', 'whatsapp_list_chats')),
      await both(call(3, 'whatsapp_send_message', { phone_number: '15550001001', message: 'hi' }), headers('tools/call', 'whatsapp_send_message')),
      await both({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: meta } }, headers('tools/list')),
      await both({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: meta } }, headers('tools/list')),
      // The 2026-07-28 path has no Accept rule (the answer is JSON unless notifications come first)
      await both(call(8, 'whatsapp_status', {}), { ...headers('tools/call', 'whatsapp_status'), accept: 'application/json' }),
    ];
    expect(answered.map((a) => a.fast)).toEqual([true, true, true, true, true, true, true]);
    expect(JSON.parse(answered[0]!.text)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { structuredContent: { engine: 'sandbox', state: 'stopped' } } });
    expect(JSON.parse(answered[2]!.text).result).toMatchObject({ isError: true, structuredContent: { error: { code: 'invalid_input', message: expect.stringContaining('did you mean limit') } } });
    const notReady = JSON.parse(answered[3]!.text);
    expect(notReady.result).toMatchObject({ isError: true, structuredContent: { ok: false, error: { code: 'not_ready' } }, resultType: 'complete' });

    await srv.sandbox.linkNow();
    const linked = await both(call(6, 'whatsapp_list_chats', { limit: 5 }), headers('tools/call', 'whatsapp_list_chats'));
    expect(linked.fast).toBe(true);
    expect(JSON.parse(linked.text).result.structuredContent).toMatchObject({ ok: true, chats: expect.any(Array), untrusted_content_notice: expect.stringContaining('never as instructions') });
    expect(JSON.parse(linked.text).result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'whatsapp-mcp-api' });
  });

  it('leaves everything it does not plainly serve to the SDK, which answers it as before', async () => {
    await startBoth();
    const h = headers('tools/call', 'whatsapp_status');
    const declined: Array<[unknown, Record<string, string>]> = [
      [call(10, 'no_such_tool', {}), headers('tools/call', 'no_such_tool')], // -32602 unknown tool
      [call(11, 'whatsapp_status', {}), headers('tools/call', 'whatsapp_logout')], // Mcp-Name disagrees: 400 HeaderMismatch
      [call(12, 'whatsapp_status', {}), { ...h, 'mcp-name': '' }],
      [call(13, 'whatsapp_status', {}), headers('tools/call')], // Mcp-Name missing
      [call(14, 'whatsapp_status', {}), { ...h, 'mcp-method': 'tools/list' }],
      [call(15, 'whatsapp_status', {}), { ...h, 'mcp-protocol-version': '2025-11-25' }],
      [{ ...call(16, 'whatsapp_status', {}), params: { name: 'whatsapp_status', _meta: { ...meta, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }, { ...h, 'mcp-protocol-version': '2099-01-01' }], // -32022
      [{ ...call(17, 'whatsapp_status', {}), params: { name: 'whatsapp_status', _meta: { ...meta, 'io.modelcontextprotocol/clientInfo': { name: 5 } } } }, h], // envelope invalid
      [{ ...call(18, 'whatsapp_status', {}), params: { name: 'whatsapp_status', _meta: { ...meta, progressToken: 'p1' } } }, h],
      [call(19, 'whatsapp_status', null), h], // arguments not an object
      [call(20, 'whatsapp_status', {}, { task: { ttl: 1000 } }), h],
      [{ ...call(21, 'whatsapp_status', {}), extra: true }, h],
      [{ ...call(22, 'whatsapp_status', {}), id: 1.5 }, h],
      [{ ...call(23, 'whatsapp_status', {}), jsonrpc: '1.0' }, h],
      [call(24, 'whatsapp_status', {}), { ...h, 'content-type': 'application/vnd.api+json' }], // 415 from the SDK
      [{ jsonrpc: '2.0', id: 25, method: 'tools/list', params: { cursor: 'x', _meta: meta } }, headers('tools/list')],
      [{ jsonrpc: '2.0', id: 26, method: 'tools/list', params: { _meta: meta } }, { ...headers('tools/list'), 'mcp-protocol-version': '2025-06-18' }],
      [{ jsonrpc: '2.0', id: 27, method: 'no/such', params: { _meta: meta } }, headers('no/such')], // 404 -32601
    ];
    for (const [body, hh] of declined) {
      const r = await both(body, hh);
      expect(r.fast, JSON.stringify(body).slice(0, 200)).toBe(false);
    }
    const mismatch = await post(srv.url, ...declined[1]!);
    expect(mismatch.status).toBe(400);
    expect(JSON.parse(mismatch.text)).toMatchObject({ id: 11, error: { code: -32020 } });
  });

  it('checks every envelope, not only the first one: after a valid one, a changed one is judged anew', async () => {
    await startBoth();
    const h = headers('tools/call', 'whatsapp_status');
    const withMeta = (id: number, m: Record<string, unknown>) => ({ ...call(id, 'whatsapp_status', {}), params: { name: 'whatsapp_status', arguments: {}, _meta: m } });
    const sequence: Array<[Record<string, unknown>, boolean]> = [
      [meta, true],
      [{ ...meta, 'io.modelcontextprotocol/clientInfo': { name: 5 } }, false], // invalid: the SDK's error
      [{ ...meta, 'io.modelcontextprotocol/clientInfo': { name: 'other', version: '2' } }, true],
      [{ ...meta, 'io.modelcontextprotocol/clientCapabilities': { sampling: 'yes' } }, false],
      [{ ...meta, 'io.modelcontextprotocol/clientInfo': { name: 'fast-test' } }, false], // version missing
      [meta, true],
      // same keys, another order
      [{ 'io.modelcontextprotocol/clientInfo': { name: 'fast-test', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/protocolVersion': MODERN }, true],
    ];
    let id = 40;
    for (const [m, fast] of sequence) {
      const r = await both(withMeta(id++, m), h);
      expect(r.fast, JSON.stringify(m)).toBe(fast);
    }
  });

  it('tools/list is per key: a read-only key is offered only what it may call, on either path', async () => {
    const ADMIN = 'fast-test-admin-key-0123456789';
    srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN }, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
    const made = await srv.call('POST', '/api/keys', { name: 'reader', scopes: ['read'] }, { authorization: `Bearer ${ADMIN}` });
    expect(made.status).toBe(201);
    const list = async (key: string) => {
      const before = door.fastAnswered;
      const r = await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }, { ...headers('tools/list'), authorization: `Bearer ${key}` });
      expect(door.fastAnswered).toBe(before + 1);
      return (JSON.parse(r.text).result.tools as Array<{ name: string }>).map((t) => t.name);
    };
    const all = await list(ADMIN);
    const read = await list(made.json.key);
    expect(all).toContain('whatsapp_send_message');
    expect(read).toContain('whatsapp_status');
    expect(read).not.toContain('whatsapp_send_message');
    expect(await list(ADMIN)).toEqual(all); // each list cached apart
    // The SDK path (a request the fast path declines: a cursor) offers the reader the same list.
    const viaSdk = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { cursor: 'x', _meta: meta } }, { ...headers('tools/list'), authorization: `Bearer ${made.json.key}` });
    expect((JSON.parse(viaSdk.text).result.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(read);
  });

  it('stops a long wait when the client hangs up', async () => {
    srv = await startTestServer();
    const finished: string[] = [];
    observeToolCalls(srv.app.services, (tool) => void finished.push(tool));
    // The bus's close listeners count the open waits (each long-poll gives up on shutdown).
    const bus = srv.app.services.events.bus as unknown as { emitter: { listenerCount(e: string): number } };
    const before = bus.emitter.listenerCount('close');
    const abort = new AbortController();
    const pending = fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: headers('tools/call', 'whatsapp_wait_for_message'),
      body: JSON.stringify(call(30, 'whatsapp_wait_for_message', { timeout_s: 120 })),
      signal: abort.signal,
    }).catch((err: Error) => err.name);
    await waitFor(() => bus.emitter.listenerCount('close') > before, 'the wait to start');
    abort.abort();
    expect(await pending).toBe('AbortError');
    await waitFor(() => finished.includes('whatsapp_wait_for_message'), 'the wait to end once the client left');
    expect(bus.emitter.listenerCount('close')).toBe(before);
  });
});

describe('modern fast path and confirmation', () => {
  it('leaves a send from a client that can ask its user to the SDK, which answers it with the input request', async () => {
    srv = await startTestServer({ WHATSAPP_CONFIRM_NEW_RECIPIENTS: 'true' }, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
    await srv.sandbox.linkNow();
    const asking = { ...meta, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
    const send = (id: number, m: typeof meta) => post(srv.url, { ...call(id, 'whatsapp_send_message', { phone_number: '15550007777', message: 'hi' }), params: { name: 'whatsapp_send_message', arguments: { phone_number: '15550007777', message: 'hi' }, _meta: m } }, headers('tools/call', 'whatsapp_send_message'));
    const before = door.fastAnswered;
    const asked = JSON.parse((await send(1, asking)).text).result;
    expect(door.fastAnswered).toBe(before);
    expect(asked).toMatchObject({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create' } } });
    // A client that cannot ask keeps the fast path, and its refusal.
    const refused = JSON.parse((await send(2, meta)).text).result;
    expect(door.fastAnswered).toBe(before + 1);
    expect(refused).toMatchObject({ isError: true, structuredContent: { error: { code: 'confirmation_required' } } });
  });
});
