// /metrics with several accounts: each account's gauges and counters under an `account` label, accounts added and
// deleted at run time appearing and going, and request labels that are route templates, never an account id.
import { afterEach, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Prometheus text → the sum of the series named `name` whose labels include `labels`; null when none matches. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** Every label value of `label` on lines of metrics named whatsapp_*. */
function labelValues(text: string, label: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(new RegExp(`^whatsapp_\\w+\\{[^}]*\\b${label}="([^"]*)"`, 'gm'))) out.add(m[1]!);
  return out;
}

async function scrape(s: TestServer): Promise<string> {
  const res = await fetch(`${s.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

it('per account: engine state, sends, events, outbox depth, store, MCP tool calls; added and deleted at run time', async () => {
  srv = await startTestServer({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
  const s = srv;
  const before = await scrape(s);
  expect(value(before, 'whatsapp_engine_state', { account: 'default', state: 'stopped' })).toBe(1);
  expect(value(before, 'whatsapp_engine_state', { account: 'shop' })).toBeNull();

  // Added at run time: its series exist from the next scrape on, and its counters count from its creation.
  expect((await s.call('POST', '/api/accounts', { id: 'shop' })).status).toBe(201);
  expect((await s.call('POST', '/api/accounts/shop/send', { phone_number: '15550102031', message: 'later', queue: true })).status).toBe(202);
  const queued = await scrape(s);
  expect(value(queued, 'whatsapp_outbox_depth', { account: 'shop', state: 'queued' })).toBe(1);
  expect(value(queued, 'whatsapp_outbox_depth', { account: 'default', state: 'queued' })).toBe(0);
  expect(value(queued, 'whatsapp_sends_total', { account: 'shop', outcome: 'queued' })).toBe(1);
  expect(value(queued, 'whatsapp_sends_total', { account: 'default', outcome: 'queued' })).toBe(0);
  for (const name of ['whatsapp_store_index_lag_messages', 'whatsapp_store_bytes']) {
    expect(value(queued, name, { account: 'shop' }), name).not.toBeNull();
    expect(value(queued, name, { account: 'default' }), name).not.toBeNull();
  }

  await s.call('POST', '/api/accounts/shop/sandbox/link', {});
  await waitFor(async () => value(await scrape(s), 'whatsapp_sends_total', { account: 'shop', outcome: 'sent' }) === 1, 'the shop queue drained');
  expect((await s.call('POST', '/api/accounts/shop/send', { phone_number: '15550102031', message: 'now' })).status).toBe(200);

  const mcp = new Client({ name: 'metrics-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL('/accounts/shop/mcp', s.url)));
  await mcp.callTool({ name: 'whatsapp_status', arguments: {} });
  await mcp.callTool({ name: 'whatsapp_read_messages', arguments: { phone_number: 'not a number' } });
  await mcp.close();
  await s.call('GET', '/accounts/shop/qr');
  await s.call('GET', '/api/accounts/shop/chats');

  const after = await waitFor(async () => {
    const text = await scrape(s);
    return value(text, 'whatsapp_sends_total', { account: 'shop', outcome: 'sent' }) === 2 ? text : null;
  }, 'both shop sends counted');
  expect(value(after, 'whatsapp_engine_state', { account: 'shop', state: 'ready' })).toBe(1);
  expect(value(after, 'whatsapp_engine_state', { account: 'default', state: 'stopped' })).toBe(1);
  expect(value(after, 'whatsapp_sends_total', { account: 'default', outcome: 'sent' })).toBe(0);
  expect(value(after, 'whatsapp_events_total', { account: 'shop', type: 'message.sent' })).toBe(2);
  expect(value(after, 'whatsapp_events_total', { account: 'default', type: 'message.sent' })).toBeNull();
  expect(value(after, 'whatsapp_mcp_tool_calls_total', { account: 'shop', tool: 'whatsapp_status', outcome: 'ok' })).toBe(1);
  expect(value(after, 'whatsapp_mcp_tool_calls_total', { account: 'shop', tool: 'whatsapp_read_messages', outcome: 'error' })).toBe(1);
  expect(value(after, 'whatsapp_mcp_tool_calls_total', { account: 'default' })).toBeNull();

  // Requests are labelled by template: the account id is in the `account` label and nowhere else.
  expect(value(after, 'whatsapp_http_requests_total', { route: '/api/accounts/{account}/send', method: 'POST', status: '202' })).toBe(1);
  expect(value(after, 'whatsapp_http_requests_total', { route: '/api/accounts/{account}/chats', method: 'GET' })).toBe(1);
  expect(value(after, 'whatsapp_http_requests_total', { route: '/accounts/{account}/mcp', method: 'POST' })).toBeGreaterThan(0);
  expect(value(after, 'whatsapp_http_requests_total', { route: '/accounts/{account}/qr', method: 'GET', status: '200' })).toBe(1);
  const withoutAccountLabel = after.replace(/\baccount="[^"]*"/g, '');
  expect(withoutAccountLabel).not.toMatch(/shop/);
  expect(labelValues(after, 'account')).toEqual(new Set(['default', 'shop']));

  // Deleted: its series go.
  expect((await s.call('DELETE', '/api/accounts/shop')).status).toBe(200);
  const gone = await scrape(s);
  expect(labelValues(gone, 'account')).toEqual(new Set(['default']));
  expect(value(gone, 'whatsapp_engine_state', { account: 'default', state: 'stopped' })).toBe(1);
});

it('unknown accounts leave no series: a 404 is counted under the template', async () => {
  srv = await startTestServer();
  for (const path of ['/api/accounts/ghost-1/status', '/api/accounts/ghost-2/status', '/accounts/ghost-3/qr', '/accounts/ghost-4/mcp']) {
    expect((await srv.call('GET', path)).status, path).toBe(404);
  }
  const text = await scrape(srv);
  expect(text).not.toMatch(/ghost/);
  expect(value(text, 'whatsapp_http_requests_total', { route: '/api/accounts/{account}/status', status: '404' })).toBe(2);
  expect(labelValues(text, 'account')).toEqual(new Set(['default']));
});
