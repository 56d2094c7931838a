// The streaming doors per account: MCP at /accounts/{id}/mcp (a real SDK client; /mcp stays the default's), and the
// SSE event stream at /api/accounts/{id}/events.
import { afterEach, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';
import { openSse } from './helpers/sse.js';

let srv: TestServer;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await srv?.close();
});

async function connectTo(path: string): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(path, srv.url)));
  clients.push(client);
  return client;
}

it('serves each account its own tools: status, chats and messages of that account only', async () => {
  srv = await startTestServer();
  await srv.call('POST', '/api/sandbox/link', { phone_number: '15550101111' });
  await srv.call('POST', '/api/accounts', { id: 'work' });
  await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550102222' });
  await srv.call('POST', '/api/accounts/work/sandbox/inbound', { from: '15550001003', body: 'work only, over mcp' });
  await waitFor(async () => (await srv.call('GET', '/api/accounts/work/search?q=mcp')).json.count === 1, 'the message stored');

  const work = await connectTo('/accounts/work/mcp');
  const main = (await connectHttpClient(srv.url)).client;
  clients.push(main);
  expect(structured(await work.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550102222@c.us');
  expect(structured(await main.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550101111@c.us');
  const read = (c: Client) => c.callTool({ name: 'whatsapp_read_messages', arguments: { phone_number: '15550001003' } });
  expect(JSON.stringify(structured(await read(work)).messages)).toContain('work only, over mcp');
  expect(JSON.stringify((await read(main)).content)).not.toContain('work only, over mcp');
  // /accounts/default/mcp is /mcp.
  const viaDefault = await connectTo('/accounts/default/mcp');
  expect(structured(await viaDefault.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550101111@c.us');
});

it('answers an unknown account with 404 naming it, and ends an account’s sessions when it is deleted', async () => {
  srv = await startTestServer();
  const res = await fetch(`${srv.url}/accounts/nope/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
  expect(res.status).toBe(404);
  expect((await res.json()).error.message).toContain('"nope"');

  await srv.call('POST', '/api/accounts', { id: 'temp' });
  const temp = await connectTo('/accounts/temp/mcp');
  expect(structured(await temp.callTool({ name: 'whatsapp_status', arguments: {} })).state).toBe('stopped');
  expect((await srv.call('DELETE', '/api/accounts/temp')).status).toBe(200);
  await expect(temp.callTool({ name: 'whatsapp_status', arguments: {} })).rejects.toThrow();
});

it('streams an account its own events over SSE, each saying whose it is', async () => {
  srv = await startTestServer();
  await srv.call('POST', '/api/accounts', { id: 'work' });
  const work = await openSse(`${srv.url}/api/accounts/work/events`);
  const main = await openSse(`${srv.url}/api/events`);
  try {
    expect(work.status).toBe(200);
    await srv.call('POST', '/api/accounts/work/sandbox/link');
    await srv.call('POST', '/api/accounts/work/sandbox/inbound', { from: '15550001001', body: 'streamed to work' });
    await srv.call('POST', '/api/sandbox/link');
    await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'streamed to default' });
    const bodyOf = (f: { data: any }) => f.data?.data?.message?.body;
    await waitFor(() => work.frames.some((f) => bodyOf(f) === 'streamed to work'), 'the work event');
    await waitFor(() => main.frames.some((f) => bodyOf(f) === 'streamed to default'), 'the default event');
    expect(work.frames.every((f) => f.data?.account === 'work')).toBe(true);
    expect(work.frames.some((f) => bodyOf(f) === 'streamed to default')).toBe(false);
    expect(main.frames.some((f) => bodyOf(f) === 'streamed to work')).toBe(false);
  } finally {
    work.close();
    main.close();
  }
});
