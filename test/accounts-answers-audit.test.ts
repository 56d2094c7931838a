// What the accounts API tells and records: webhook URLs in answers without their credentials or query (the stored
// ones and what is posted to stay whole), URLs of at most 2,048 characters, and audit rows naming the account.
import { afterEach, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const SECRET = 'answers-secret-0123456789';
const ADMIN = 'answers-admin-key-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

let srv: TestServer | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await srv?.close();
  await receiver?.close();
  srv = receiver = undefined;
});

it('shows webhook URLs with credentials and query masked, the env’s too, and still posts to the whole URL', async () => {
  receiver = await startReceiver();
  const { host } = new URL(receiver.url);
  const envUrl = `http://ops:env-password@${host}/all?token=env-token`;
  const ownUrl = `http://user:own-password@${host}/n8n/webhook/abc?sig=own-token#frag-token`;
  srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: envUrl, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' });
  const s = srv;
  const created = await s.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: [ownUrl], events: ['message.received'] } });
  expect(created.status).toBe(201);
  const shown = [
    { url: `http://***@${host}/all?***`, for: 'all', events: ['message.received'] },
    { url: `http://***@${host}/n8n/webhook/abc?***#***`, for: 'account', events: ['message.received'] },
  ];
  expect(created.json.account.webhooks).toEqual(shown);
  for (const answer of [await s.call('GET', '/api/accounts/a'), await s.call('GET', '/api/accounts'), await s.call('PATCH', '/api/accounts/a', { webhooks: { urls: [ownUrl], events: ['message.received'] } })]) {
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.json)).not.toMatch(/password|token/);
  }
  expect((await s.call('GET', '/api/accounts/a')).json.account.webhooks).toEqual(shown);

  // The receiver still gets the request on the path and query it was given (credentials go in the Authorization header).
  await s.call('POST', '/api/accounts/a/sandbox/link', {});
  await s.call('POST', '/api/accounts/a/sandbox/inbound', { from: '15550006001', body: 'whole url' });
  await waitFor(() => receiver!.requests.length >= 2, 'both deliveries');
  expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/all?token=env-token', '/n8n/webhook/abc?sig=own-token']);
});

it('lists dead letters with the URL masked the same way', async () => {
  const closed = await startReceiver();
  const url = `http://user:dl-password@${new URL(closed.url).host}/hook?token=dl-token`;
  await closed.close(); // nothing listens there: the one try fails
  srv = await startTestServer(
    { WHATSAPP_WEBHOOK_URL: url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '1' },
    { events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } },
  );
  const s = srv;
  await s.call('POST', '/api/sandbox/link', {});
  await s.call('POST', '/api/sandbox/inbound', { from: '15550006002', body: 'to nobody' });
  const list = await waitFor(async () => {
    const r = await s.call('GET', '/api/webhooks/dead-letters');
    return r.json.count === 1 ? r.json : null;
  }, 'the dead letter');
  expect(list.dead_letters[0].url).toBe(`http://***@${new URL(closed.url).host}/hook?***`);
  expect(JSON.stringify(list)).not.toMatch(/dl-password|dl-token/);
});

it('refuses a webhook URL over 2,048 characters, from the API and from the env', async () => {
  srv = await startTestServer({ WHATSAPP_WEBHOOK_SECRET: SECRET });
  const long = `https://hooks.example.com/${'x'.repeat(2048)}`;
  const r = await srv.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: [long] } });
  expect(r.status).toBe(400);
  expect(r.json.error.message).toMatch(/webhooks\.urls\.0: a URL may be at most 2048 characters/);
  expect((await srv.call('PATCH', '/api/accounts/default', { webhooks: { urls: [long] } })).status).toBe(400);
  expect((await srv.call('PATCH', '/api/accounts/default', { webhooks: { urls: [long.slice(0, 2048)] } })).status).toBe(200);
  expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: long, WHATSAPP_WEBHOOK_SECRET: SECRET })).toThrow(ConfigError);
  expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: long, WHATSAPP_WEBHOOK_SECRET: SECRET })).toThrow(/WHATSAPP_WEBHOOK_URL.*2048/);
});

it('records which account an accounts_create, _update or _delete row was about, refused ones too', async () => {
  srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN });
  const s = srv;
  expect((await s.call('POST', '/api/accounts', { id: 'shop' }, admin)).status).toBe(201);
  expect((await s.call('POST', '/api/accounts', { id: 'shop' }, admin)).status).toBe(409);
  expect((await s.call('PATCH', '/api/accounts/shop', { webhooks: { urls: [] } }, admin)).status).toBe(200);
  expect((await s.call('DELETE', '/api/accounts/shop', undefined, admin)).status).toBe(200);
  expect((await s.call('DELETE', '/api/accounts/nobody', undefined, admin)).status).toBe(404);
  const rows = (await s.call('GET', '/api/audit?key=env', undefined, admin)).json.entries as Array<{ operation: string; outcome: string; target: string | null }>;
  expect(rows.filter((r) => r.operation.startsWith('accounts_')).map((r) => [r.operation, r.outcome, r.target])).toEqual([
    ['accounts_create', 'ok', 'shop'],
    ['accounts_create', 'conflict', 'shop'],
    ['accounts_update', 'ok', 'shop'],
    ['accounts_delete', 'ok', 'shop'],
    ['accounts_delete', 'not_found', 'nobody'],
  ]);
});
