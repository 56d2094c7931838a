// The MCP fast paths run outside runAs (src/mcp/http.ts gives them the guard's principal instead), and the HTTP
// pipeline reads plain request paths without new URL(): a key's limits must still hold on every fast call, and odd
// paths must still route as the URL parser would.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createMcpDoor, type McpHttpDoor } from '../src/mcp/http.js';
import { MCP_ACCEPT, openRawSession } from './helpers/mcp.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ADMIN = 'fast-caller-admin-key-0123456789';
const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'caller-test', version: '1' } };
const send = { phone_number: '15550001001', message: 'hi' };

let srv: TestServer;
let door: McpHttpDoor;
afterEach(async () => {
  await srv?.close();
});

async function start(): Promise<string> {
  srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN }, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
  await srv.sandbox.linkNow();
  const made = await srv.call('POST', '/api/keys', { name: 'reader', scopes: ['read'] }, { authorization: `Bearer ${ADMIN}` });
  expect(made.status).toBe(201);
  return made.json.key as string;
}

async function post(headers: Record<string, string>, body: unknown) {
  const before = door.fastAnswered;
  const res = await fetch(`${srv.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: JSON.parse(await res.text()), fast: door.fastAnswered > before };
}

const modernCall = (key: string, id: number, name: string, args: unknown) =>
  post(
    { authorization: `Bearer ${key}`, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name },
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta } },
  );

/** GET with a request target sent as is (fetch would resolve "/./mcp" itself). */
function rawGet(target: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: target, method: 'GET', headers: { authorization: `Bearer ${ADMIN}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MCP fast paths and the caller', () => {
  it('a 2026-07-28 call on the fast path is the presented key’s: a read key may read, not send', async () => {
    const reader = await start();
    const status = await modernCall(reader, 1, 'whatsapp_status', {});
    expect(status).toMatchObject({ status: 200, fast: true, json: { result: { structuredContent: { state: 'ready' } } } });
    const refused = await modernCall(reader, 2, 'whatsapp_send_message', send);
    expect(refused.fast).toBe(true);
    expect(refused.json.result).toMatchObject({ isError: true, structuredContent: { error: { code: 'forbidden', message: expect.stringContaining('send') } } });
    // The admin key, next on the same server, is not refused: nothing of the reader's stays behind.
    const sent = await modernCall(ADMIN, 3, 'whatsapp_send_message', send);
    expect(sent.fast).toBe(true);
    expect(sent.json.result.isError).toBeUndefined();
    // The refusal is audited under the reader's name, as on the SDK path.
    const audit = await srv.call('GET', '/api/audit?limit=10', undefined, { authorization: `Bearer ${ADMIN}` });
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.json)).toContain('"reader"');
  });

  it('a session’s tools/call on the fast path is checked against the key it is sent with', async () => {
    const reader = await start();
    const headers = (key: string, session: string) => ({ authorization: `Bearer ${key}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' });
    const session = await openRawSession(srv.url, '2025-11-25', { authorization: `Bearer ${reader}` });
    const body = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whatsapp_send_message', arguments: send } });
    const refused = await post(headers(reader, session), body(1));
    expect(refused.fast).toBe(true);
    expect(refused.json.result).toMatchObject({ isError: true, structuredContent: { error: { code: 'forbidden' } } });
    const status = await post(headers(reader, session), { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whatsapp_status', arguments: {} } });
    expect(status).toMatchObject({ fast: true, json: { result: { structuredContent: { state: 'ready' } } } });
  });

  it('routes odd request paths as the URL parser resolves them', async () => {
    await start();
    // "/./mcp" is /mcp to the URL parser: the MCP door answers (a GET without a session: its 400), not the 404 route.
    const dotted = await rawGet('/./mcp');
    const plain = await rawGet('/mcp');
    expect(plain.status).toBe(400);
    expect(dotted).toEqual(plain);
    // An escaped letter is not decoded in a path: no such route.
    expect((await rawGet('/%6Dcp')).status).toBe(404);
    expect((await rawGet('/api/../api/status')).status).toBe(200);
    expect((await rawGet('/api/chats?limit=1')).status).toBe(200);
    // Not a path at all: refused before any routing.
    expect((await rawGet('*')).status).toBe(400);
  });
});
