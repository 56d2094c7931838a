// X-Webhook-Id is what receivers dedupe on: one URL hears every account (WHATSAPP_WEBHOOK_URL), each account's log
// counts its cursors from 1, and an account deleted and made again under the same id starts its log afresh. No two
// events may share an id, and the default account keeps the `evt_<cursor>` its receivers already store.
import { afterEach, expect, it } from 'vitest';
import { startReceiver, type Receiver, type ReceivedHook } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const SECRET = 'webhook-id-secret-0123456789';
const fast = { events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } };

let srv: TestServer | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await srv?.close();
  await receiver?.close();
  srv = receiver = undefined;
});

const prefix = (account: string) => (account === 'default' ? '/api' : `/api/accounts/${account}`);
const said = (r: Receiver, body: string) => () => r.accepted().find((h) => h.event.type === 'message.received' && h.event.data.message.body === body);

it('gives every event of every account, and of an account made again, its own id; the default keeps evt_<cursor>', async () => {
  receiver = await startReceiver();
  srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: receiver.url, WHATSAPP_WEBHOOK_SECRET: SECRET }, fast);
  for (const id of ['a', 'b']) expect((await srv.call('POST', '/api/accounts', { id })).status).toBe(201);
  for (const id of ['default', 'a', 'b']) {
    await srv.call('POST', `${prefix(id)}/sandbox/link`, {});
    await srv.call('POST', `${prefix(id)}/sandbox/inbound`, { from: '15550007001', body: `hello ${id}` });
  }
  const first = { default: await waitFor(said(receiver, 'hello default'), 'default’s'), a: await waitFor(said(receiver, 'hello a'), 'a’s'), b: await waitFor(said(receiver, 'hello b'), 'b’s') };
  expect(first.default.id).toBe(`evt_${first.default.event.cursor}`);
  expect(first.a.id).toMatch(new RegExp(`^evt_a_[0-9a-f]{12}_${first.a.event.cursor}$`));
  expect(first.b.id).toMatch(new RegExp(`^evt_b_[0-9a-f]{12}_${first.b.event.cursor}$`));
  // The same moment in each log: the same cursors, yet other ids.
  expect(first.a.event.cursor).toBe(first.b.event.cursor);

  // a goes, data and all, and comes back: its new log counts from 1 again.
  expect((await srv.call('DELETE', '/api/accounts/a')).status).toBe(200);
  expect((await srv.call('POST', '/api/accounts', { id: 'a' })).status).toBe(201);
  await srv.call('POST', '/api/accounts/a/sandbox/link', {});
  await srv.call('POST', '/api/accounts/a/sandbox/inbound', { from: '15550007001', body: 'hello again a' });
  const again = await waitFor(said(receiver, 'hello again a'), 'the new a’s');
  expect(again.event.cursor).toBe(first.a.event.cursor);
  expect(again.id).not.toBe(first.a.id);

  const ids = receiver.accepted().map((h: ReceivedHook) => h.id);
  expect(new Set(ids).size).toBe(ids.length);
});

it('redelivers a dead letter of another account under the id it first had', async () => {
  receiver = await startReceiver(() => 400);
  srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: receiver.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' }, fast);
  expect((await srv.call('POST', '/api/accounts', { id: 'a' })).status).toBe(201);
  await srv.call('POST', '/api/accounts/a/sandbox/link', {});
  await srv.call('POST', '/api/accounts/a/sandbox/inbound', { from: '15550007001', body: 'refused once' });
  const dead = await waitFor(async () => (await srv!.call('GET', '/api/accounts/a/webhooks/dead-letters')).json.dead_letters?.[0], 'the dead letter');
  const firstId = receiver.requests[0]!.id;
  expect(firstId).toMatch(/^evt_a_[0-9a-f]{12}_\d+$/);
  receiver.respond = () => 200;
  expect((await srv.call('POST', `/api/accounts/a/webhooks/dead-letters/${dead.id}/redeliver`)).json).toMatchObject({ delivered: true });
  expect(receiver.requests.at(-1)!.id).toBe(firstId);
});
