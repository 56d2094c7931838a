// Queued sends expire: a send still queued at its deadline fails with `expired` and is never sent, over HTTP on the
// sandbox, across restarts, and for rows written before the outbox had deadlines (migration 8).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, openDatabase } from '../src/store/db.js';
import { newOutboxId } from '../src/store/outbox-store.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';
import { connectHttpClient, structured } from './helpers/mcp.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const deliveries = (s: TestServer): Array<{ body: string }> => {
  try {
    return fs.readFileSync(path.join(s.authDir, 'session-default', 'deliveries.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};
const sendState = async (s: TestServer, id: string) => (await s.call('GET', `/api/outbox/${id}`)).json.send;
const failedEvents = async (s: TestServer) => (await s.call('GET', '/api/events?after=0&types=outbox.failed')).json.events;

describe('queued sends expire', () => {
  it('a send still queued after its expires_in fails as expired, with an outbox.failed event, while not linked', async () => {
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' });
    const q = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'Build 42 passed', queue: true, expires_in: 2 });
    expect(q.status).toBe(202);
    const queued = await sendState(srv, q.json.outbox_id);
    expect(queued.expires_at - queued.created_at).toBe(2000);
    const s = srv;
    const failed = await waitFor(async () => {
      const send = await sendState(s, q.json.outbox_id);
      return send.state === 'failed' ? send : null;
    }, 'the send to expire', 10_000);
    expect(failed.error).toMatchObject({ code: 'expired', message: expect.stringMatching(/never be sent/) });
    expect(await failedEvents(srv)).toEqual([
      expect.objectContaining({ type: 'outbox.failed', chat_id: '15550102030@c.us', data: expect.objectContaining({ state: 'failed', outbox_id: q.json.outbox_id, error: expect.objectContaining({ code: 'expired' }) }) }),
    ]);
    // Linking later does not send it: a send queued after it goes out, alone (the queue is drained in order).
    const later = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'on time', queue: true });
    await srv.call('POST', '/api/sandbox/link', {});
    await waitFor(async () => (await sendState(s, later.json.outbox_id)).state === 'sent', 'the later send', 10_000);
    expect(deliveries(srv).map((d: { body: string }) => d.body)).toEqual(['on time']);
  });

  it('WHATSAPP_QUEUE_MAX_AGE_SECONDS is the deadline of a send that names none', async () => {
    srv = await startTestServer({ WHATSAPP_QUEUE_MAX_AGE_SECONDS: '1' });
    const q = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x', queue: true });
    const s = srv;
    await waitFor(async () => (await sendState(s, q.json.outbox_id)).state === 'failed', 'the default deadline', 4000);
    expect((await sendState(srv, q.json.outbox_id)).error.code).toBe('expired');
  });

  it('refuses an expires_in above WHATSAPP_QUEUE_MAX_AGE_SECONDS, naming it', async () => {
    srv = await startTestServer({ WHATSAPP_QUEUE_MAX_AGE_SECONDS: '60' });
    const r = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x', queue: true, expires_in: 61 });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^expires_in: at most 60 seconds/) });
    expect((await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x', queue: true, expires_in: 0 })).status).toBe(400);
  });

  it('a send that expired while the server was down fails at the next start and is never sent', async () => {
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' });
    await srv.call('POST', '/api/sandbox/link', {});
    await srv.call('POST', '/api/sandbox/disconnect', {});
    const q = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'stale', queue: true, expires_in: 1 });
    expect(q.status).toBe(202);
    const dir = srv.dir;
    await srv.close();
    await new Promise((r) => setTimeout(r, 1100));
    // The session is saved: the restart reconnects by itself, and must not send the stale message.
    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' }, {}, dir);
    const s = srv;
    await waitFor(async () => (await sendState(s, q.json.outbox_id)).state === 'failed', 'expired after restart');
    await waitFor(async () => (await s.call('GET', '/api/status')).json.ready, 'ready');
    await new Promise((r) => setTimeout(r, 200));
    expect(deliveries(srv).filter((d) => d.body === 'stale')).toEqual([]);
    expect((await sendState(srv, q.json.outbox_id)).error.code).toBe('expired');
  });

  it('a retry with the idempotency key of an expired send answers 410 expired', async () => {
    srv = await startTestServer();
    const body = { phone_number: '15550102030', message: 'once', queue: true, expires_in: 1 };
    const q = await srv.call('POST', '/api/send', body, { 'idempotency-key': 'exp-1' });
    const s = srv;
    await waitFor(async () => (await sendState(s, q.json.outbox_id)).state === 'failed', 'expired', 4000);
    const again = await srv.call('POST', '/api/send', body, { 'idempotency-key': 'exp-1' });
    expect(again.status).toBe(410);
    expect(again.json.error).toMatchObject({ code: 'expired', details: { outbox_id: q.json.outbox_id } });
  });

  it('MCP sends take expires_in too', async () => {
    srv = await startTestServer();
    const { client } = await connectHttpClient(srv.url);
    const r = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550102030', message: 'x', queue: true, expires_in: 30 } });
    expect(r.isError).toBeFalsy();
    const send = await sendState(srv, structured(r).outbox_id);
    expect(send.expires_at - send.created_at).toBe(30_000);
    await client.close();
  });
});

describe('migration 8: deadlines for rows queued before', () => {
  it('a row queued two days before the upgrade fails as expired at start; one queued just now is delivered', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-expiry-v7-'));
    const v7 = openDatabase(path.join(root, 'data', DB_FILE_NAME), { targetVersion: 7 });
    const insert = v7.prepare(`INSERT INTO outbox (id, chat_id, body, state, attempts, created_at, updated_at) VALUES (?, '15550102030@c.us', ?, 'queued', 0, ?, ?)`);
    const old = newOutboxId();
    const fresh = newOutboxId();
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    insert.run(old, 'three days late', twoDaysAgo, twoDaysAgo);
    insert.run(fresh, 'on time', Date.now(), Date.now());
    v7.close();

    srv = await startTestServer({ WHATSAPP_SEND_JITTER_MS: '0' }, {}, root);
    const s = srv;
    await waitFor(async () => (await sendState(s, old)).state === 'failed', 'the old row to expire');
    expect((await sendState(srv, old)).error.code).toBe('expired');
    expect((await sendState(srv, fresh)).expires_at).toBeGreaterThan(Date.now());
    await srv.call('POST', '/api/sandbox/link', {});
    await waitFor(async () => (await sendState(s, fresh)).state === 'sent', 'the fresh row to go out');
    expect(deliveries(srv).map((d) => d.body)).toEqual(['on time']);
  });
});
