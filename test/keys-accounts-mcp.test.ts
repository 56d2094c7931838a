// A key limited to accounts over MCP: a real SDK client on its account's door (/accounts/{id}/mcp) reads and sends
// there; every other door (/mcp is the default account's, the legacy /sse too, another account's, one that does not
// exist) refuses it at the HTTP level with a JSON 403 before any session is made.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, expect, it } from 'vitest';
import { MCP_ACCEPT, initializeRequest, rawMcp, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await srv?.close();
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function connectTo(path: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(path, srv.url), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

async function serverWithWorkKey(): Promise<{ owner: Record<string, string>; bot: Record<string, string> }> {
  srv = await startTestServer();
  const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'send', 'admin'] })).json.key as string);
  for (const id of ['work', 'other']) expect((await srv.call('POST', '/api/accounts', { id }, owner)).status).toBe(201);
  await srv.call('POST', '/api/sandbox/link', { phone_number: '15550101111' }, owner);
  await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550102222' }, owner);
  await waitFor(async () => (await srv.call('GET', '/api/accounts/work/status', undefined, owner)).json.ready, 'work linked');
  const bot = bearer((await srv.call('POST', '/api/keys', { name: 'work-bot', scopes: ['read', 'send'], accounts: ['work'] }, owner)).json.key as string);
  return { owner, bot };
}

it('reads and sends on its account’s MCP door, offered only the tools it may call', async () => {
  const { owner, bot } = await serverWithWorkKey();
  const work = await connectTo('/accounts/work/mcp', bot);
  const tools = (await work.listTools()).tools.map((t) => t.name);
  expect(tools).toContain('whatsapp_send_message');
  expect(tools).not.toContain('whatsapp_logout');
  expect(structured(await work.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550102222@c.us');
  const sent = await work.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'over mcp, from work' } });
  expect(sent.isError, JSON.stringify(sent.content)).toBeFalsy();
  const read = (prefix: string) => srv.call('GET', `${prefix}/messages?phone_number=15550001001`, undefined, owner);
  expect(JSON.stringify((await read('/api/accounts/work')).json)).toContain('over mcp, from work');
  expect(JSON.stringify((await read('/api')).json)).not.toContain('over mcp, from work');
});

it('is refused every other MCP door with a JSON 403 naming the account, existing or not, before a session', async () => {
  const { owner, bot } = await serverWithWorkKey();
  for (const [path, account] of [
    ['/mcp', 'default'],
    ['/accounts/default/mcp', 'default'],
    ['/accounts/other/mcp', 'other'],
    ['/accounts/nonexistent/mcp', 'nonexistent'],
  ] as const) {
    const res = await rawMcp(`${srv.url}${path}`, initializeRequest('2025-11-25'), bot);
    expect(res.status, path).toBe(403);
    expect(res.headers.get('mcp-session-id'), path).toBeNull();
    expect(res.messages[0]?.error, path).toMatchObject({ code: 'forbidden', details: { account, accounts: ['work'] } });
  }
  // The legacy HTTP+SSE transport is the default account's too.
  const sse = await fetch(`${srv.url}/sse`, { headers: { accept: 'text/event-stream', ...bot } });
  expect(sse.status).toBe(403);
  await sse.body?.cancel();
  // The SDK client sees the refusal as a failed connect, with our message.
  await expect(connectTo('/mcp', bot)).rejects.toThrow(/may not use account/);
  // For the owner the unknown account is a 404, as before.
  expect((await rawMcp(`${srv.url}/accounts/nonexistent/mcp`, initializeRequest('2025-11-25'), owner)).status).toBe(404);
});

it('audits a refused MCP door under the account it asked for', async () => {
  const { owner, bot } = await serverWithWorkKey();
  await fetch(`${srv.url}/accounts/other/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...bot }, body: JSON.stringify(initializeRequest('2025-11-25')) });
  const entries = await waitFor(async () => {
    const got = (await srv.call('GET', '/api/audit?key=work-bot', undefined, owner)).json.entries as Array<Record<string, unknown>>;
    return got.length > 0 ? got : null;
  }, 'an audit row');
  expect(entries).toMatchObject([{ account: 'other', door: 'mcp', operation: 'mcp', outcome: 'forbidden' }]);
});
