// MCP 2026-07-28 on /mcp beside the legacy sessions: the v2 SDK client pinned to the modern era, and raw requests
// for what a client hides (header rules, error codes and HTTP statuses).
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const MODERN = '2026-07-28';
let srv: TestServer;
let client: Client | undefined;
afterEach(async () => {
  await client?.close().catch(() => undefined);
  client = undefined;
  await srv?.close();
});

async function modernClient(mode: { pin: string } | 'auto' = { pin: MODERN }) {
  client = new Client({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', srv.url)));
  return client;
}

const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
async function raw(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const json = text.startsWith('{') ? JSON.parse(text) : text;
  return { status: res.status, json };
}
const modernHeaders = (method: string, name?: string) => ({ 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) });

describe('modern clients (2026-07-28)', () => {
  it('connect without initialize: discover lists every revision, tools list and call, errors are isError results', async () => {
    srv = await startTestServer();
    const c = await modernClient();
    expect(c.getProtocolEra()).toBe('modern');
    expect(c.getDiscoverResult()?.supportedVersions).toEqual([MODERN, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['whatsapp_status', 'whatsapp_send_message', 'whatsapp_get_qr']));
    const status = await c.callTool({ name: 'whatsapp_status', arguments: {} });
    expect(status.structuredContent).toMatchObject({ engine: 'sandbox', state: 'stopped' });
    const refused = await c.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'hi' } });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ ok: false, error: { code: 'not_ready' } });
    await srv.sandbox.linkNow();
    const sent = await c.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'hi from 2026' } });
    expect(sent.structuredContent).toMatchObject({ ok: true, status: 'sent' });
  });

  it('auto mode picks the modern era against this server', async () => {
    srv = await startTestServer();
    const c = await modernClient('auto');
    expect(c.getProtocolEra()).toBe('modern');
  });

  it('subscriptions/listen delivers resources/updated for a subscribed chat, whatever spelling of its id', async () => {
    srv = await startTestServer();
    await srv.sandbox.linkNow();
    const c = await modernClient();
    const updated: string[] = [];
    c.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    // "@s.whatsapp.net", percent-encoded: the same chat as whatsapp://chats/15550001001@c.us
    const sub = await c.listen({ resourceSubscriptions: ['whatsapp://chats/15550001001%40s.whatsapp.net'] });
    expect(sub.honoredFilter.resourceSubscriptions).toEqual(['whatsapp://chats/15550001001@c.us']);
    await srv.call('POST', '/api/sandbox/inbound', { from: '15550001002', body: 'other chat' });
    await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'this chat' });
    await waitFor(() => updated.includes('whatsapp://chats/15550001001@c.us'), 'the update');
    expect(updated.every((u) => u === 'whatsapp://chats/15550001001@c.us')).toBe(true);
    await sub.close();
  });

  it('serves over stdio too: a modern client opens with server/discover, not initialize', async () => {
    srv = await startTestServer(); // only for its temp dir
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli.ts', '--stdio'],
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH ?? '', WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: path.join(srv.dir, 'stdio-auth'), WHATSAPP_DATA_DIR: path.join(srv.dir, 'stdio-data'), LOG_LEVEL: 'silent' },
    });
    client = new Client({ name: 'modern-stdio', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await client.connect(transport);
    expect(client.getProtocolEra()).toBe('modern');
    const result = await client.callTool({ name: 'whatsapp_status', arguments: {} });
    expect(result.structuredContent).toMatchObject({ engine: 'sandbox' });
  });
});

describe('modern wire rules', () => {
  it('a header that disagrees with the body is 400 HeaderMismatch; an unsupported version 400 -32022 with the supported list', async () => {
    srv = await startTestServer();
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whatsapp_status', arguments: {}, _meta: meta } };
    const mismatch = await raw(call, modernHeaders('tools/call', 'whatsapp_logout'));
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.code).toBe(-32020);
    const missing = await raw(call, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call' });
    expect(missing.status).toBe(400);
    const future = { ...call, params: { ...call.params, _meta: { ...meta, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } };
    const unsupported = await raw(future, { ...modernHeaders('tools/call', 'whatsapp_status'), 'mcp-protocol-version': '2099-01-01' });
    expect(unsupported.status).toBe(400);
    expect(unsupported.json.error).toMatchObject({ code: -32022, data: { supported: expect.arrayContaining([MODERN]) } });
    const ok = await raw(call, modernHeaders('tools/call', 'whatsapp_status'));
    expect(ok.status).toBe(200);
    expect(ok.json.result.structuredContent).toMatchObject({ engine: 'sandbox' });
  });

  it('an unknown method is 404 -32601; a listen with an unknown filter key or URI is 400 -32602', async () => {
    srv = await startTestServer();
    const unknown = await raw({ jsonrpc: '2.0', id: 2, method: 'no/such', params: { _meta: meta } }, modernHeaders('no/such'));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe(-32601);
    for (const notifications of [{ toolsListChanged: true, everything: true }, { resourceSubscriptions: ['whatsapp://nope'] }]) {
      const r = await raw({ jsonrpc: '2.0', id: 3, method: 'subscriptions/listen', params: { notifications, _meta: meta } }, modernHeaders('subscriptions/listen'));
      expect(r.status, JSON.stringify(notifications)).toBe(400);
      expect(r.json.error.code).toBe(-32602);
    }
  });

  it('a batch or a request without the envelope and without a session is a JSON-RPC error, not a 500', async () => {
    srv = await startTestServer();
    const batch = await raw([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }]);
    expect(batch.status).toBe(400);
    expect(batch.json.error.code).toBe(-32600);
    const bare = await raw({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: {} });
    expect(bare.status).toBe(400);
    expect(bare.json).toMatchObject({ id: 4, error: { code: expect.any(Number) } });
  });
});
