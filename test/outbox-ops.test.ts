// GET /api/outbox (whatsapp_list_outbox) and POST /api/outbox/{id}/retry (whatsapp_retry_send): a failed send,
// retried, goes out through the normal queue and ends in the chat; anything else is refused with the reason.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(() => srv?.close());

const link = async () => {
  await srv.call('POST', '/api/sandbox/link', {});
  await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'linked');
};
const sendState = async (id: string) => (await srv.call('GET', `/api/outbox/${id}`)).json.send.state as string;

describe('the outbox list', () => {
  it('newest first, by state, paged with next_before; a bad state or cursor is a 400 naming the field', async () => {
    srv = await startTestServer();
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three']) ids.push((await srv.call('POST', '/api/send', { phone_number: '15550102030', message: text, queue: true })).json.outbox_id);
    const all = await srv.call('GET', '/api/outbox?limit=2');
    expect(all.status).toBe(200);
    expect(all.json.sends.map((s: { outbox_id: string }) => s.outbox_id)).toEqual([ids[2], ids[1]]);
    expect(all.json.sends[0]).not.toHaveProperty('body'); // the text stays internal, as in GET /api/outbox/{id}
    expect(all.json.next_before).toBe(ids[1]);
    const rest = await srv.call('GET', `/api/outbox?limit=2&before=${all.json.next_before}`);
    expect(rest.json.sends.map((s: { outbox_id: string }) => s.outbox_id)).toEqual([ids[0]]);
    expect(rest.json.next_before).toBeNull();

    expect((await srv.call('GET', '/api/outbox?state=queued')).json.count).toBe(3);
    expect((await srv.call('GET', '/api/outbox?state=failed')).json.count).toBe(0);

    const bad = await srv.call('GET', '/api/outbox?state=lost');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^state: /);
    const cursor = await srv.call('GET', '/api/outbox?before=ob_nothing');
    expect(cursor.status).toBe(400);
    expect(cursor.json.error.details.field).toBe('before');
  });
});

describe('retry', () => {
  it('a send that expired in the queue is queued again, delivered on link, and lands in the chat', async () => {
    srv = await startTestServer();
    const queued = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'sent at last', queue: true, expires_in: 1 });
    const id = queued.json.outbox_id;
    await waitFor(async () => (await sendState(id)) === 'failed', 'the send to expire', 5000);
    expect((await srv.call('GET', '/api/outbox?state=failed')).json.sends[0]).toMatchObject({ outbox_id: id, error: { code: 'expired' } });

    const retried = await srv.call('POST', `/api/outbox/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.json.send).toMatchObject({ outbox_id: id, state: 'queued', error: null, attempts: 0 });
    expect(retried.json.send.expires_at).toBeGreaterThan(Date.now() + 60_000); // a fresh deadline, not the spent one

    await link();
    await waitFor(async () => (await sendState(id)) === 'sent', 'the retried send to go out');
    const { json } = await srv.call('GET', '/api/outbox/' + id);
    const history = await srv.call('GET', '/api/chats/15550102030@c.us/messages');
    expect(history.json.messages.filter((m: { body: string }) => m.body === 'sent at last').map((m: { id: string }) => m.id)).toEqual([json.send.message_id]);
    const events = await srv.call('GET', '/api/events?after=0&types=outbox.queued');
    expect(events.json.events.filter((e: { data: { outbox_id: string } }) => e.data.outbox_id === id)).toHaveLength(2); // accepted, then retried
  });

  it('409 for a send that is not failed (queued, sent), 404 for an unknown outbox_id', async () => {
    srv = await startTestServer();
    const queued = (await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'waiting', queue: true })).json.outbox_id;
    const q = await srv.call('POST', `/api/outbox/${queued}/retry`);
    expect(q.status).toBe(409);
    expect(q.json.error).toMatchObject({ code: 'conflict', details: { outbox_id: queued, state: 'queued' } });
    await link();
    await waitFor(async () => (await sendState(queued)) === 'sent', 'sent');
    const s = await srv.call('POST', `/api/outbox/${queued}/retry`);
    expect(s.status).toBe(409);
    expect(s.json.error.message).toContain('is sent');
    const unknown = await srv.call('POST', '/api/outbox/ob_0000unknown/retry');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('not_found');
  });

  it('a send that fails again on retry is failed again, with the same error', async () => {
    srv = await startTestServer();
    await link();
    // In the sandbox, numbers ending in 0000 are not on WhatsApp.
    const refused = await srv.call('POST', '/api/send', { phone_number: '15550100000', message: 'nobody', queue: true });
    expect(refused.json.error.code).toBe('not_on_whatsapp');
    const id = refused.json.error.details.outbox_id;
    expect((await srv.call('POST', `/api/outbox/${id}/retry`)).status).toBe(200);
    await waitFor(async () => (await sendState(id)) === 'failed', 'failed again');
    expect((await srv.call('GET', `/api/outbox/${id}`)).json.send).toMatchObject({ attempts: 1, error: { code: 'not_on_whatsapp' } });
  });
});
