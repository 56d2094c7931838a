// Two sandbox accounts in one server: nothing of one is readable, searchable or sendable through the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
const SECRET = 'isolation-secret-words';
const CONTACT = '15550001001';
const CHAT = `${CONTACT}@c.us`;
/** On each account: the id of the inbound message, the outbox id of a queued send. */
interface Ids {
  message: string;
  outbox: string;
}
const ids: Record<string, Ids> = {};
const base = (account: string) => (account === 'default' ? '/api' : `/api/accounts/${account}`);

beforeAll(async () => {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '1' });
  await srv.call('POST', '/api/accounts', { id: 'work' });
  for (const account of ['default', 'work']) {
    await srv.call('POST', `${base(account)}/sandbox/link`, { phone_number: account === 'default' ? '15550101111' : '15550102222' });
    const inbound = await srv.call('POST', `${base(account)}/sandbox/inbound`, { from: CONTACT, body: `${SECRET} ${account}` });
    expect(inbound.status).toBe(200);
    // The second send to one chat in a minute is paced: queued, so there is an outbox row to look for.
    await srv.call('POST', `${base(account)}/send`, { phone_number: CONTACT, message: `first ${account}` });
    const queued = await srv.call('POST', `${base(account)}/send`, { phone_number: CONTACT, message: `${SECRET} queued ${account}`, queue: true });
    expect(queued.json.status).toBe('queued');
    ids[account] = { message: inbound.json.message.id, outbox: queued.json.outbox_id };
  }
  for (const account of ['default', 'work']) {
    await waitFor(async () => (await srv.call('GET', `${base(account)}/search?q=${SECRET}`)).json.count === 1, `${account} to store its message`);
  }
});
afterAll(() => srv?.close());

const pairs = [['default', 'work'], ['work', 'default']] as const;

describe.each(pairs)('%s through %s', (owner, other) => {
  // Reads that list or search: the other account answers, without a word of the owner's.
  it.each([
    ['GET', '/chats'],
    ['GET', `/messages?phone_number=${CONTACT}`],
    ['GET', `/chats/${CHAT}/messages`],
    ['GET', `/search?q=${SECRET}`],
    ['GET', '/contacts'],
    ['GET', '/events'],
    ['GET', '/outbox'],
  ])('%s %s shows only its own', async (method, route) => {
    const { status, json } = await srv.call(method, `${base(other)}${route}`);
    expect(status).toBeLessThan(500);
    const text = JSON.stringify(json);
    expect(text).not.toContain(`${SECRET} ${owner}`);
    expect(text).not.toContain(`queued ${owner}`);
    expect(text).not.toContain(ids[owner]!.message);
  });

  // Reads and acts by the owner's ids: not found through the other (a reply to an unknown message is a 400 naming it).
  const byId: Array<[string, (i: Ids) => [string, unknown, number?]]> = [
    ['GET context', (i) => [`GET /messages/${i.message}/context`, undefined]],
    ['GET media', (i) => [`GET /messages/${i.message}/media`, undefined]],
    ['POST reaction', (i) => [`POST /messages/${i.message}/reaction`, { emoji: '👍' }]],
    ['PATCH (edit)', (i) => [`PATCH /messages/${i.message}`, { message: 'edited' }]],
    ['DELETE message', (i) => [`DELETE /messages/${i.message}?for=everyone`, undefined]],
    ['POST a reply to it', (i) => [`POST /chats/${CHAT}/messages`, { message: 'a reply', reply_to: i.message }, 400]],
    ['GET outbox row', (i) => [`GET /outbox/${i.outbox}`, undefined]],
    ['POST outbox retry', (i) => [`POST /outbox/${i.outbox}/retry`, undefined]],
  ];
  it.each(byId)('%s by the owner’s id is not found', async (_name, make) => {
    const [line, body, expected = 404] = make(ids[owner]!);
    const [method, route] = line.split(' ') as [string, string];
    const { status, json } = await srv.call(method, `${base(other)}${route}`, body);
    expect(status, JSON.stringify(json)).toBe(expected);
    expect(json.error.message).toMatch(/no |not found|unknown/i);
  });

  it('the events of each carry its own account', async () => {
    const { json } = await srv.call('GET', `${base(other)}/events`);
    expect(json.events.length).toBeGreaterThan(0);
    expect(new Set(json.events.map((e: { account: string }) => e.account))).toEqual(new Set([other]));
  });
});

it('a send through one account goes out from it and is stored in it alone', async () => {
  const sent = await srv.call('POST', '/api/accounts/work/send', { phone_number: '15550001002', message: 'only from work' });
  expect(sent.status).toBe(200);
  await waitFor(async () => (await srv.call('GET', '/api/accounts/work/search?q=only%20from%20work')).json.count === 1, 'work to store its send');
  expect((await srv.call('GET', '/api/search?q=only%20from%20work')).json.count).toBe(0);
  expect(srv.sandbox.status().account?.wid).toBe('15550101111@c.us');
});
