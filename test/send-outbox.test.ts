// Sending with guarantees, end to end over HTTP on the sandbox: queue, idempotency, pacing, restarts.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newOutboxId } from '../src/store/outbox-store.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const deliveries = (s: TestServer) => {
  try {
    return fs.readFileSync(path.join(s.authDir, 'session-default', 'deliveries.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};

describe('queue', () => {
  it('answers 503 when not linked and the caller did not opt in, with a hint that fits the state', async () => {
    srv = await startTestServer();
    const r = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x' });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('not_ready');
    expect(r.json.error.hint).toMatch(/pairing-code/);
    await srv.call('POST', '/api/sandbox/link', {});
    await srv.call('POST', '/api/sandbox/disconnect', {});
    const reconnecting = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x' });
    expect(reconnecting.status).toBe(503);
    expect(reconnecting.json.error.hint).toMatch(/connecting by itself/);
    expect(reconnecting.json.error.hint).not.toMatch(/pairing-code/);
  });

  it('queues with "queue": true or Prefer: respond-async, then delivers in order once linked', async () => {
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' });
    const a = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'first', queue: true });
    const b = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'second' }, { prefer: 'respond-async' });
    for (const r of [a, b]) {
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ ok: true, status: 'queued', chat_id: '15550102030@c.us' });
      expect(r.json.outbox_id).toMatch(/^ob_/);
    }
    expect((await srv.call('GET', `/api/outbox/${a.json.outbox_id}`)).json.send.state).toBe('queued');
    await srv.call('POST', '/api/sandbox/link', {});
    const sent = await waitFor(async () => {
      const s = (await srv.call('GET', `/api/outbox/${b.json.outbox_id}`)).json.send;
      return s.state === 'sent' ? s : null;
    }, 'queued send delivered');
    expect(sent.message_id).toBeTruthy();
    expect(deliveries(srv).map((d) => d.body)).toEqual(['first', 'second']);
    const history = (await srv.call('GET', '/api/messages?phone_number=15550102030&limit=2')).json;
    expect(history.messages.map((m: { body: string }) => m.body)).toEqual(['first', 'second']);
  });

  it('delivers what was queued before a restart', async () => {
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' });
    await srv.call('POST', '/api/sandbox/link', {});
    const dir = srv.dir;
    await srv.call('POST', '/api/sandbox/disconnect', {});
    const q = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'while down', queue: true });
    expect(q.status).toBe(202);
    // Stop before the reconnect delivers it.
    await srv.close();
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' }, {}, dir);
    await waitFor(async () => (await srv.call('GET', `/api/outbox/${q.json.outbox_id}`)).json.send.state === 'sent', 'delivered after restart');
    expect(deliveries(srv).filter((d) => d.body === 'while down')).toHaveLength(1);
  });

  it('404 for an unknown outbox id', async () => {
    srv = await startTestServer();
    const r = await srv.call('GET', '/api/outbox/ob_nope');
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('not_found');
  });
});

describe('outbox ids', () => {
  it('sort by creation time (new ids land at the end of the index) and carry 80 random bits', () => {
    const t = 1_764_000_000_000;
    for (let i = 0; i < 50; i++) expect(newOutboxId(t + i) < newOutboxId(t + i + 1)).toBe(true);
    const ids = Array.from({ length: 1000 }, () => newOutboxId(t));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(/^ob_[0-9a-f]{32}$/);
  });
});

describe('idempotency', () => {
  it('a retry with the same key returns the first result and sends once, across a restart too', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    const body = { phone_number: '15550102030', message: 'deploy done' };
    const first = await srv.call('POST', '/api/send', body, { 'idempotency-key': 'deploy-7' });
    const again = await srv.call('POST', '/api/send', body, { 'idempotency-key': 'deploy-7' });
    expect(first.status).toBe(200);
    expect(first.json.replayed).toBeUndefined();
    // The first answer again, marked as a replay (nothing was sent this time).
    expect(again.json).toEqual({ ...first.json, replayed: true });
    const dir = srv.dir;
    await srv.close();
    srv = await startTestServer({}, {}, dir);
    await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'ready');
    const afterRestart = await srv.call('POST', '/api/send', body, { 'idempotency-key': 'deploy-7' });
    expect(afterRestart.json).toEqual({ ...first.json, replayed: true });
    expect(deliveries(srv).filter((d) => d.body === 'deploy done')).toHaveLength(1);
  });

  it('concurrent retries with one key send once', async () => {
    srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
    await srv.call('POST', '/api/sandbox/link', {});
    const body = { phone_number: '15550102030', message: 'once', idempotency_key: 'k1' };
    const rs = await Promise.all(Array.from({ length: 10 }, () => srv.call('POST', '/api/send', body)));
    expect(new Set(rs.map((r) => r.json.message_id)).size).toBe(1);
    expect(deliveries(srv).filter((d) => d.body === 'once')).toHaveLength(1);
  });

  it('the same key with a different message is a 409', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'a' }, { 'idempotency-key': 'k2' });
    const r = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'b' }, { 'idempotency-key': 'k2' });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('conflict');
  });
});

describe('pacing', () => {
  it('429 with Retry-After past the per-recipient pace; queued instead when opted in', async () => {
    srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '3', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
    await srv.call('POST', '/api/sandbox/link', {});
    expect((await srv.call('POST', '/api/send', { phone_number: '15550102030', message: '1' })).status).toBe(200);
    const limited = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: '2' });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(19);
    // Another recipient has its own budget.
    expect((await srv.call('POST', '/api/send', { phone_number: '15550102031', message: '3' })).status).toBe(200);
    const queued = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: '4', queue: true });
    expect(queued.status).toBe(202);
    expect((await srv.call('GET', `/api/outbox/${queued.json.outbox_id}`)).json.send.state).toBe('queued');
    expect(deliveries(srv).map((d) => d.body)).toEqual(['1', '3']);
  });
});
