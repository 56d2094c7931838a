// The per-account forms of the non-REST doors: the legacy HTTP+SSE MCP transport at /accounts/{id}/sse (a real SDK
// 1.x SSEClientTransport), the QR page and image at /accounts/{id}/qr and /qr.svg, and /health listing accounts.
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { rawMcp, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const KEY = 'accounts-doors-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

let srv: TestServer | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await srv?.close();
  srv = undefined;
});

async function legacyClient(path: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'legacy-client', version: '1.0.0' });
  await client.connect(new SSEClientTransport(new URL(path, srv!.url), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

/** The first event of a legacy SSE stream: the endpoint its messages go to. */
async function endpointEvent(path: string): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(`${srv!.url}${path}`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  while (!/\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  const m = /event: endpoint\ndata: (\S+)/.exec(text);
  expect(m, text).not.toBeNull();
  return m![1]!;
}

describe('legacy SSE MCP per account', () => {
  it('an SDK SSEClientTransport on /accounts/{id}/sse reaches that account only; /sse stays the default’s', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', { phone_number: '15550103333' });
    await srv.call('POST', '/api/accounts', { id: 'shop' });
    await srv.call('POST', '/api/accounts/shop/sandbox/link', { phone_number: '15550104444' });
    await waitFor(async () => (await srv!.call('GET', '/api/accounts/shop/status')).json.ready, 'shop linked');

    const shop = await legacyClient('/accounts/shop/sse');
    const main = await legacyClient('/sse');
    expect(structured(await shop.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550104444@c.us');
    expect(structured(await main.callTool({ name: 'whatsapp_status', arguments: {} })).account.wid).toBe('15550103333@c.us');
    // Its instructions send a person to the account's own QR page.
    expect(shop.getInstructions()).toContain(`${srv.url}/accounts/shop/qr `);
    expect(main.getInstructions()).toContain(`${srv.url}/qr `);

    // A send through the account's legacy session lands in that account's store, not the default's.
    const sent = await shop.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001007', message: 'from the shop over sse' } });
    expect(structured(sent).ok).toBe(true);
    expect(JSON.stringify((await srv.call('GET', '/api/accounts/shop/messages?phone_number=15550001007')).json)).toContain('from the shop over sse');
    expect(JSON.stringify((await srv.call('GET', '/api/messages?phone_number=15550001007')).json)).not.toContain('from the shop over sse');
  });

  it('announces the account’s message path; a session is not found through another account’s path', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/accounts', { id: 'shop' });
    const endpoint = await endpointEvent('/accounts/shop/sse');
    expect(endpoint).toMatch(/^\/accounts\/shop\/messages\?sessionId=[0-9a-f-]{36}$/);
    expect(await endpointEvent('/sse')).toMatch(/^\/messages\?sessionId=/);
    expect(await endpointEvent('/accounts/default/sse')).toMatch(/^\/messages\?sessionId=/);

    const sessionId = new URL(endpoint, srv.url).searchParams.get('sessionId');
    expect((await rawMcp(`${srv.url}/messages?sessionId=${sessionId}`, LIST)).status).toBe(404);
    await srv.call('POST', '/api/accounts', { id: 'other' });
    expect((await rawMcp(`${srv.url}/accounts/other/messages?sessionId=${sessionId}`, LIST)).status).toBe(404);
    expect((await rawMcp(`${srv.url}/accounts/shop/messages`, LIST)).status).toBe(400);
  });

  it('an unknown account → 404 naming it, on /sse and /messages; a deleted account’s session ends', async () => {
    srv = await startTestServer();
    const sse = await fetch(`${srv.url}/accounts/nope/sse`, { headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(404);
    expect((await sse.json()).error).toMatchObject({ code: 'not_found', details: { account: 'nope' } });
    const post = await rawMcp(`${srv.url}/accounts/nope/messages?sessionId=x`, LIST);
    expect(post.status).toBe(404);
    expect(JSON.stringify(post.messages[0])).toContain('"nope"');

    await srv.call('POST', '/api/accounts', { id: 'temp' });
    const temp = await legacyClient('/accounts/temp/sse');
    expect(structured(await temp.callTool({ name: 'whatsapp_status', arguments: {} })).state).toBe('stopped');
    expect((await srv.call('DELETE', '/api/accounts/temp')).status).toBe(200);
    await expect(temp.callTool({ name: 'whatsapp_status', arguments: {} })).rejects.toThrow();
  });

  it('needs the key like /sse does', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
    await srv.call('POST', '/api/accounts', { id: 'shop' }, auth);
    expect((await fetch(`${srv.url}/accounts/shop/sse`, { headers: { accept: 'text/event-stream' } })).status).toBe(401);
    // Who may not call learns nothing about which accounts exist: an unknown one is 401 too.
    expect((await fetch(`${srv.url}/accounts/nope/sse`, { headers: { accept: 'text/event-stream' } })).status).toBe(401);
    const shop = await legacyClient('/accounts/shop/sse', auth);
    expect((await shop.listTools()).tools.map((t) => t.name)).toContain('whatsapp_status');
  });
});

describe('QR per account', () => {
  it('/accounts/{id}/qr starts that account’s engine only, names the account, then shows its QR', async () => {
    // The simulated phone scans late: the QR stays up for the whole test.
    srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '60000' });
    await srv.call('POST', '/api/accounts', { id: 'shop' });
    const first = await srv.call('GET', '/accounts/shop/qr');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/html/);
    expect(first.json).toContain('Starting WhatsApp…');
    expect(first.json).toContain('Account: <b>shop</b>');
    await waitFor(async () => (await srv!.call('GET', '/api/accounts/shop/status')).json.state === 'qr', 'the shop QR');
    expect((await srv.call('GET', '/api/status')).json.state).toBe('stopped');
    expect((await srv.call('GET', '/accounts/shop/qr')).json).toContain('Scan to link');

    const svg = await fetch(`${srv.url}/accounts/shop/qr.svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(await svg.text()).toMatch(/^<svg/);
    // The default account has no QR: nothing to scan there, and the hint names its own route.
    const none = await srv.call('GET', '/qr.svg');
    expect(none.status).toBe(404);
    expect(none.json.error.hint).toContain('POST /api/auth/start');
    const shopNone = await srv.call('POST', '/api/accounts', { id: 'idle' }).then(() => srv!.call('GET', '/accounts/idle/qr.svg'));
    expect(shopNone.status).toBe(404);
    expect(shopNone.json.error.hint).toContain('POST /api/accounts/idle/auth/start');
  });

  it('an unknown account → 404 naming it (after the key check); the key is needed as for /qr', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
    await srv.call('POST', '/api/accounts', { id: 'shop' }, auth);
    const noKey = await srv.call('GET', '/accounts/shop/qr');
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toContain('Basic');
    expect((await srv.call('GET', '/accounts/nope/qr')).status).toBe(401);
    for (const path of ['/accounts/nope/qr', '/accounts/nope/qr.svg']) {
      const res = await srv.call('GET', path, undefined, auth);
      expect(res.status, path).toBe(404);
      expect(res.json.error.details).toEqual({ account: 'nope' });
    }
    expect((await srv.call('POST', '/accounts/shop/qr', undefined, auth)).status).toBe(405);
    // Only the pages that have an account form have one.
    expect((await srv.call('GET', '/accounts/shop/metrics', undefined, auth)).status).toBe(404);
    expect((await srv.call('GET', '/accounts/shop/qr', undefined, auth)).status).toBe(200);
  });
});

describe('/health', () => {
  it('lists every account’s state for an admin key, nothing of them without one', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
    await srv.call('POST', '/api/accounts', { id: 'shop' }, auth);
    await srv.call('POST', '/api/accounts/shop/sandbox/link', {}, auth);
    await waitFor(async () => (await srv!.call('GET', '/api/accounts/shop/status', undefined, auth)).json.ready, 'shop linked');
    const admin = await srv.call('GET', '/health', undefined, auth);
    expect(admin.json.accounts).toEqual([
      { id: 'default', engine: 'sandbox', state: 'stopped', ready: false },
      { id: 'shop', engine: 'sandbox', state: 'ready', ready: true },
    ]);
    const open = await srv.call('GET', '/health');
    expect(open.json.accounts).toBeUndefined();
  });
});
