// GET /metrics: Prometheus text; scrape, use the server (REST, MCP, sends, a failing webhook), scrape again.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectHttpClient } from './helpers/mcp.js';
import { startReceiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const KEY = 'metrics-test-key-0123456789';
const SECRET = 'test-webhook-secret-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Prometheus text → value of the series with this name whose labels include `labels`. */
class Scrape {
  constructor(readonly text: string) {}

  value(name: string, labels: Record<string, string> = {}): number {
    let sum: number | undefined;
    for (const line of this.text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
    }
    return sum ?? 0;
  }

  has(name: string): boolean {
    return new RegExp(`^${name}[{ ]`, 'm').test(this.text);
  }
}

async function scrape(s: TestServer): Promise<Scrape> {
  const res = await fetch(`${s.url}/metrics`, { headers: auth });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(await res.text());
}

describe('GET /metrics', () => {
  it('needs the API key when one is set', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
    const denied = await fetch(`${srv.url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${srv.url}/metrics`, { headers: { 'x-api-key': KEY } })).status).toBe(200);
    expect((await fetch(`${srv.url}/metrics`, { method: 'POST', headers: auth })).status).toBe(405);
  });

  it('counters move: HTTP by route template, MCP tools by outcome, sends by outcome, outbox depth, engine state', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY, WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
    const s = srv;
    const before = await scrape(s);
    expect(before.value('whatsapp_engine_state', { state: 'stopped', engine: 'sandbox' })).toBe(1);
    expect(before.value('whatsapp_sends_total', { outcome: 'sent' })).toBe(0);
    for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'whatsapp_store_index_lag_messages', 'whatsapp_store_bytes']) expect(before.has(name), name).toBe(true);

    // Queued while not linked: the outbox holds it.
    expect((await s.call('POST', '/api/send', { phone_number: '15550102030', message: 'later', queue: true }, auth)).status).toBe(202);
    expect((await scrape(s)).value('whatsapp_outbox_depth', { state: 'queued' })).toBe(1);

    await s.call('POST', '/api/sandbox/link', {}, auth);
    await waitFor(async () => (await s.call('GET', '/api/status', undefined, auth)).json.ready, 'linked');
    await waitFor(async () => (await scrape(s)).value('whatsapp_outbox_depth', { state: 'queued' }) === 0, 'the queue drained');
    expect((await s.call('POST', '/api/send', { phone_number: '15550102030', message: 'now' }, auth)).status).toBe(200);
    // Numbers ending in 0000 are not on WhatsApp in the sandbox: a failed send.
    expect((await s.call('POST', '/api/send', { phone_number: '15550100000', message: 'nobody' }, auth)).status).toBe(404);
    for (let i = 0; i < 3; i++) await s.call('GET', '/api/chats/15550102030%40c.us', undefined, auth);
    expect((await s.call('GET', '/api/no-such-route-xyz', undefined, auth)).status).toBe(404);
    expect((await s.call('GET', '/api/status')).status).toBe(401);

    const { client } = await connectHttpClient(s.url, { headers: auth });
    await client.callTool({ name: 'whatsapp_status', arguments: {} });
    await client.callTool({ name: 'whatsapp_list_chats', arguments: { limit: 5 } });
    await client.callTool({ name: 'whatsapp_read_messages', arguments: { phone_number: 'not a number' } });
    await client.close();

    const after = await waitFor(async () => {
      const m = await scrape(s);
      return m.value('whatsapp_sends_total', { outcome: 'failed' }) >= 1 ? m : null;
    }, 'the failed send counted');
    expect(after.value('whatsapp_sends_total', { outcome: 'queued' })).toBe(1);
    expect(after.value('whatsapp_sends_total', { outcome: 'sent' })).toBe(2);
    expect(after.value('whatsapp_engine_state', { state: 'ready' })).toBe(1);
    expect(after.value('whatsapp_engine_state', { state: 'stopped' })).toBe(0);
    expect(after.value('whatsapp_outbox_depth', { state: 'sending' })).toBe(0);
    expect(after.value('whatsapp_http_requests_total', { route: '/api/chats/{chat_id}', method: 'GET', status: '200' })).toBe(3);
    expect(after.value('whatsapp_http_requests_total', { route: '/api/send', method: 'POST', status: '202' })).toBe(1);
    expect(after.value('whatsapp_http_requests_total', { route: '/api/send', method: 'POST', status: '404' })).toBe(1);
    expect(after.value('whatsapp_http_requests_total', { route: '/api/status', method: 'GET', status: '401' })).toBe(1);
    expect(after.value('whatsapp_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(after.value('whatsapp_http_requests_total', { route: '/metrics', status: '200' })).toBeGreaterThanOrEqual(3);
    expect(after.value('whatsapp_http_request_duration_seconds_count', { route: '/api/chats/{chat_id}' })).toBe(3);
    expect(after.value('whatsapp_http_requests_total', { route: '/mcp', method: 'POST' })).toBeGreaterThan(0);
    expect(after.value('whatsapp_mcp_tool_calls_total', { tool: 'whatsapp_status', outcome: 'ok' })).toBe(1);
    expect(after.value('whatsapp_mcp_tool_calls_total', { tool: 'whatsapp_list_chats', outcome: 'ok' })).toBe(1);
    expect(after.value('whatsapp_mcp_tool_calls_total', { tool: 'whatsapp_read_messages', outcome: 'error' })).toBe(1);
    expect(after.value('whatsapp_events_total', { type: 'message.sent' })).toBeGreaterThanOrEqual(2);
    // Templates and page paths only: no raw path, no chat id.
    expect(after.text).not.toMatch(/no-such-route-xyz|15550102030/);
  });

  it('webhook dead letters and lag per receiver, labelled by host and a hash: never the path (often a token) or query', async () => {
    const closed = await startReceiver();
    const { origin } = new URL(closed.url);
    const url = `${origin}/services/T000/B000/path-secret?token=very-secret`;
    await closed.close(); // nothing listens there now: every delivery fails
    srv = await startTestServer(
      { WHATSAPP_WEBHOOK_URL: url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '1' },
      { events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } },
    );
    const s = srv;
    const label = { url: `${origin}#${createHash('sha256').update(url).digest('hex').slice(0, 8)}` };
    expect((await scrape(s)).value('whatsapp_webhook_dead_letters', label)).toBe(0);
    await s.call('POST', '/api/sandbox/link', {});
    await waitFor(async () => (await s.call('GET', '/api/status')).json.ready, 'linked');
    await s.call('POST', '/api/sandbox/inbound', { from: '15550109001', body: 'to a receiver that is down' });
    const m = await waitFor(async () => {
      const scraped = await scrape(s);
      return scraped.value('whatsapp_webhook_dead_letters', label) === 1 ? scraped : null;
    }, 'a dead letter counted');
    expect(m.text).toMatch(new RegExp(`whatsapp_webhook_lag_events\\{[^}]*url="${label.url}"`));
    expect(m.text).not.toMatch(/very-secret|path-secret|T000/);
  });
});
