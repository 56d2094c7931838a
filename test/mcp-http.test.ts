// The MCP HTTP door: protocol versions, sessions, legacy SSE, and the security checks in front of it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type McpHttpDoor, createMcpDoor } from '../src/mcp/http.js';
import { silentLogger } from '../src/logger.js';
import { MCP_TOOLS, PROTOCOL_VERSIONS, connectHttpClient, initializeRequest, openRawSession, rawMcp, structured } from './helpers/mcp.js';
import { type TestServer, startTestServer } from './helpers/server.js';

const API_KEY = 'test-key-0123456789abcdef';
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(env: Record<string, string> = {}) {
  server = await startTestServer(env);
  return server;
}

describe('protocol versions', () => {
  it.each(PROTOCOL_VERSIONS)('initialize at %s echoes the version and issues a session id', async (version) => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, initializeRequest(version, 'init-1'));
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.messages[0]).toMatchObject({ id: 'init-1', result: { protocolVersion: version, serverInfo: { name: 'whatsapp-mcp-api' }, capabilities: { tools: {} } } });
  });

  it.each(PROTOCOL_VERSIONS)('an SDK client speaking %s lists tools and calls one', async (version) => {
    const { url } = await start();
    const { client, transport } = await connectHttpClient(url, { version });
    expect(transport.protocolVersion).toBe(version);
    expect((await client.listTools()).tools).toHaveLength(MCP_TOOLS.length);
    expect(structured(await client.callTool({ name: 'whatsapp_status', arguments: {} }))).toMatchObject({ engine: 'sandbox' });
    await client.close();
  });

  it('a client asking for an unknown version is offered the latest (the spec negotiation)', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, initializeRequest('1999-01-01'));
    expect(res.messages[0].result.protocolVersion).toBe('2025-11-25');
  });

  it('an unsupported MCP-Protocol-Version header → 400 naming the request, with a code outside -32020..-32099', async () => {
    const { url } = await start();
    const sessionId = await openRawSession(url);
    const res = await rawMcp(`${url}/mcp`, { ...LIST, id: 'v-1' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2099-01-01' });
    expect(res.status).toBe(400);
    expect(res.messages[0]).toMatchObject({ id: 'v-1', error: { code: -32000 } });
    expect(res.messages[0].error.message).toContain('2099-01-01');
  });
});

describe('sessions', () => {
  it('a request without a session id → 400 with the request id', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, LIST);
    expect(res.status).toBe(400);
    expect(res.messages[0]).toMatchObject({ jsonrpc: '2.0', id: 2, error: { code: -32000 } });
  });

  it('an unknown session id → 404', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': '00000000-0000-4000-8000-000000000000' });
    expect(res.status).toBe(404);
    expect(res.messages[0]).toMatchObject({ id: 2, error: { code: -32001 } });
  });

  it('DELETE ends the session; the id is then unknown', async () => {
    const { url } = await start();
    const sessionId = await openRawSession(url);
    expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': sessionId })).status).toBe(200);
    expect((await rawMcp(`${url}/mcp`, undefined, { 'mcp-session-id': sessionId }, 'DELETE')).status).toBe(200);
    expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': sessionId })).status).toBe(404);
    expect((await rawMcp(`${url}/mcp`, undefined, { 'mcp-session-id': sessionId }, 'DELETE')).status).toBe(404);
  });

  it('GET opens the session SSE stream; without a session it is a 400; a second stream is a 409', async () => {
    const { url } = await start();
    expect((await rawMcp(`${url}/mcp`, undefined, { accept: 'text/event-stream' }, 'GET')).status).toBe(400);
    const sessionId = await openRawSession(url);
    const abort = new AbortController();
    const stream = await fetch(`${url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId }, signal: abort.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const second = await rawMcp(`${url}/mcp`, undefined, { accept: 'text/event-stream', 'mcp-session-id': sessionId }, 'GET');
    expect(second.status).toBe(409);
    abort.abort();
  });

  it('other methods → 405 with Allow', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, undefined, {}, 'PUT');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('a rejected initialize leaves no server behind listening to the engine', async () => {
    server = await startTestServer();
    const before = server.app.services.engine.events.listenerCount('status');
    for (let i = 0; i < 20; i++) {
      const r = await rawMcp(`${server.url}/mcp`, initializeRequest('2025-11-25'), { accept: 'application/json' });
      expect(r.status).toBe(406);
    }
    expect(server.app.services.engine.events.listenerCount('status')).toBe(before);
  });

  describe('idle expiry', () => {
    let clock = 0;
    let door: McpHttpDoor;
    async function startWithClock() {
      clock = 1_000_000;
      server = await startTestServer(
        { WHATSAPP_MCP_SESSION_IDLE_SECONDS: '5' },
        { mcp: (services) => (door = createMcpDoor(services, silentLogger(), { now: () => clock })) },
      );
      return server.url;
    }

    it('a session idle longer than WHATSAPP_MCP_SESSION_IDLE_SECONDS is closed; an active one is kept', async () => {
      const url = await startWithClock();
      const idle = await openRawSession(url);
      const active = await openRawSession(url);
      expect(door.sessionCount).toBe(2);

      clock += 4_000;
      expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': active })).status).toBe(200);
      clock += 2_000; // idle: 6 s since its last request; active: 2 s
      await door.sweepIdle();

      expect(door.sessionCount).toBe(1);
      expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': idle })).status).toBe(404);
      expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': active })).status).toBe(200);
    });

    it('a session with an open SSE stream is in use, not idle', async () => {
      const url = await startWithClock();
      const sessionId = await openRawSession(url);
      const abort = new AbortController();
      const stream = await fetch(`${url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId }, signal: abort.signal });
      expect(stream.status).toBe(200);
      clock += 60_000;
      await door.sweepIdle();
      expect((await rawMcp(`${url}/mcp`, LIST, { 'mcp-session-id': sessionId })).status).toBe(200);
      abort.abort();
    });

    it('at the session cap, the least recently used session without an open stream makes room', async () => {
      clock = 1_000_000;
      server = await startTestServer({}, { mcp: (services) => (door = createMcpDoor(services, silentLogger(), { now: () => clock, maxSessions: 2 })) });
      const oldest = await openRawSession(server.url);
      clock += 1_000;
      const newer = await openRawSession(server.url);
      clock += 1_000;
      const newest = await openRawSession(server.url);
      expect(door.sessionCount).toBe(2);
      expect((await rawMcp(`${server.url}/mcp`, LIST, { 'mcp-session-id': oldest })).status).toBe(404);
      for (const id of [newer, newest]) expect((await rawMcp(`${server.url}/mcp`, LIST, { 'mcp-session-id': id })).status).toBe(200);
    });

    it('close() ends every session', async () => {
      const url = await startWithClock();
      await openRawSession(url);
      await door.close();
      expect(door.sessionCount).toBe(0);
    });
  });
});

describe('bodies and headers', () => {
  it('invalid JSON → 400 parse error (-32700, id null)', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, '{"jsonrpc": "2.0", "id": 1,');
    expect(res.status).toBe(400);
    expect(res.messages[0]).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('not JSON-RPC → 400 parse error', async () => {
    const { url } = await start();
    const sessionId = await openRawSession(url);
    const res = await rawMcp(`${url}/mcp`, { hello: 'world' }, { 'mcp-session-id': sessionId });
    expect(res.status).toBe(400);
    expect(res.messages[0].error.code).toBe(-32700);
  });

  it('a body over WHATSAPP_MAX_BODY_BYTES → 413; a non-JSON content type → 415; no SSE in Accept → 406', async () => {
    const { url } = await start({ WHATSAPP_MAX_BODY_BYTES: '1024' });
    const big = await rawMcp(`${url}/mcp`, { ...initializeRequest('2025-11-25'), pad: 'x'.repeat(2000) });
    expect(big.status).toBe(413);
    const text = await rawMcp(`${url}/mcp`, JSON.stringify(initializeRequest('2025-11-25')), { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const accept = await rawMcp(`${url}/mcp`, initializeRequest('2025-11-25'), { accept: 'application/json' });
    expect(accept.status).toBe(406);
  });
});

describe('legacy HTTP+SSE transport', () => {
  it('an SDK SSEClientTransport round trip: list tools and call one', async () => {
    const { url } = await start();
    const client = new Client({ name: 'legacy-client', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL('/sse', url)));
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('whatsapp_send_message');
    const result = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'hi' } });
    expect(result.isError).toBe(true);
    expect(structured(result).error.code).toBe('not_ready');
    await client.close();
  });

  it('POST /sse → 405 with Allow: GET and a JSON error body', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/sse`, initializeRequest('2024-11-05'));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(res.messages[0]).toMatchObject({ ok: false, error: { code: 'method_not_allowed' } });
  });

  it('POST /messages without or with an unknown sessionId → 400 / 404', async () => {
    const { url } = await start();
    expect((await rawMcp(`${url}/messages`, LIST)).status).toBe(400);
    expect((await rawMcp(`${url}/messages?sessionId=nope`, LIST)).status).toBe(404);
  });
});

describe('security in front of the door', () => {
  it('a foreign Origin → 403', async () => {
    const { url } = await start();
    const res = await rawMcp(`${url}/mcp`, initializeRequest('2025-11-25'), { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(res.messages[0]).toMatchObject({ ok: false, error: { code: 'forbidden_origin' } });
  });

  it('with WHATSAPP_API_KEY: no key → 401 + WWW-Authenticate: Bearer; the key (Bearer or X-Api-Key) → works', async () => {
    const { url } = await start({ WHATSAPP_API_KEY: API_KEY });
    const denied = await rawMcp(`${url}/mcp`, initializeRequest('2025-11-25'));
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await expect(connectHttpClient(url)).rejects.toThrow();

    const { client } = await connectHttpClient(url, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(structured(await client.callTool({ name: 'whatsapp_status', arguments: {} })).engine).toBe('sandbox');
    await client.close();
    const viaHeader = await rawMcp(`${url}/mcp`, initializeRequest('2025-11-25'), { 'x-api-key': API_KEY });
    expect(viaHeader.status).toBe(200);
  });

  it.each(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server'])(
    '%s → 404 with or without a key, so OAuth-capable clients stop looking for an authorization server',
    async (path) => {
      const { url } = await start({ WHATSAPP_API_KEY: API_KEY });
      expect((await fetch(`${url}${path}`)).status).toBe(404);
      expect((await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(404);
    },
  );

  it('GET /mcp needs the SSE Accept header (406 otherwise)', async () => {
    const { url } = await start();
    const sessionId = await openRawSession(url);
    const res = await fetch(`${url}/mcp`, { headers: { accept: 'application/json', 'mcp-session-id': sessionId } });
    expect(res.status).toBe(406);
  });
});
