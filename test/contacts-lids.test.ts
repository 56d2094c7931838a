// Contacts and linked ids end to end over real HTTP on the sandbox: one person under every id form, which numbers
// have WhatsApp, and from_phone on messages from an "@lid" sender (reads, search, events, after a restart).
import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer, waitFor } from './helpers/server.js';

const RATES = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' };
const ALICE = '15550001001';
const BOB = '15550001002';
const ALICE_LID = '201234567890123@lid';
const BOB_LID = '209876543210987@lid';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(dir?: string): Promise<TestServer> {
  srv = await startTestServer(RATES, {}, dir);
  expect((await srv.call('POST', '/api/sandbox/link', {})).status).toBe(200);
  return srv;
}

const get = (path: string) => srv.call('GET', path);
const enc = encodeURIComponent;

async function inbound(from: string, body: string, from_phone?: string) {
  const r = await srv.call('POST', '/api/sandbox/inbound', { from, body, ...(from_phone ? { from_phone } : {}) });
  expect(r.status).toBe(200);
  return r.json.message;
}

/** Search results' bodies once the index has caught up with `expected` hits (the indexer runs in batches). */
async function searchBodies(query: string, expected: number): Promise<string[]> {
  return waitFor(async () => {
    const r = await get(`/api/search?${query}`);
    expect(r.status).toBe(200);
    return r.json.count >= expected ? (r.json.results as Array<{ message: { body: string } }>).map((h) => h.message.body).sort() : null;
  }, `search ${query}`);
}

describe('contacts', () => {
  it('GET /api/contacts lists the seeded people as saved contacts with the push names they chose', async () => {
    await linked();
    const contacts = await waitFor(async () => {
      const r = await get('/api/contacts?limit=100');
      const c = r.json.contacts as Array<{ id: string; is_my_contact: boolean }>;
      return c.filter((x) => x.is_my_contact).length >= 4 ? c : null;
    }, 'the seeded contacts synced');
    const alice = contacts.find((c) => c.id === `${ALICE}@c.us`);
    expect(alice).toMatchObject({ id: `${ALICE}@c.us`, phone: ALICE, name: 'Alice Martin', push_name: 'Alice', is_my_contact: true, is_business: false });
    for (const [digits, push] of [[BOB, 'Bob'], ['15550001003', 'Carla'], ['15550001004', 'Dan']]) {
      expect(contacts.find((c) => c.id === `${digits}@c.us`), digits).toMatchObject({ phone: digits, push_name: push, is_my_contact: true });
    }
    const search = (await get('/api/contacts?q=carla')).json.contacts;
    expect(search.map((c: { id: string }) => c.id)).toEqual(['15550001003@c.us']);
  });

  it('GET /api/contacts/{id} finds the same person by phone number, "@c.us" and "@s.whatsapp.net"', async () => {
    await linked();
    const forms = [ALICE, '+1 555 000 1001', `${ALICE}@c.us`, `${ALICE}@s.whatsapp.net`, `${ALICE}:7@s.whatsapp.net`];
    const seen = [];
    for (const id of forms) {
      const r = await get(`/api/contacts/${enc(id)}`);
      expect(r.status, id).toBe(200);
      seen.push(r.json.contact);
    }
    expect(seen[0]).toMatchObject({ id: `${ALICE}@c.us`, phone: ALICE, name: 'Alice Martin', push_name: 'Alice', is_my_contact: true });
    for (const c of seen) expect(c).toEqual(seen[0]);
  });

  it('once the number behind a linked id is learnt, "@lid" finds the same person, and both sides show the lid', async () => {
    await linked();
    await inbound(ALICE_LID, 'hello from my linked id', ALICE);
    const byLid = await get(`/api/contacts/${ALICE_LID}`);
    expect(byLid.status).toBe(200);
    expect(byLid.json.contact).toMatchObject({ id: `${ALICE}@c.us`, phone: ALICE, lid: ALICE_LID, name: 'Alice Martin', push_name: 'Alice', is_my_contact: true });
    for (const id of [ALICE, `${ALICE}@c.us`, `${ALICE}@s.whatsapp.net`]) {
      expect((await get(`/api/contacts/${id}`)).json.contact, id).toEqual(byLid.json.contact);
    }
    const updates = await waitFor(async () => {
      const evs = (await get('/api/events?types=contact.updated')).json.events as Array<{ data: any }>;
      return evs.find((e) => e.data.contact.id === `${ALICE}@c.us`) ?? null;
    }, 'contact.updated for Alice');
    expect(updates.data.contact).toMatchObject({ phone: ALICE, lid: ALICE_LID });
  });

  it('a linked id whose number is not known has phone null; a number not on WhatsApp is 404', async () => {
    await linked();
    const lid = await get('/api/contacts/301111111111111@lid');
    expect(lid.status).toBe(200);
    expect(lid.json.contact).toMatchObject({ id: '301111111111111@lid', phone: null, lid: '301111111111111@lid', is_my_contact: false });
    const absent = await get('/api/contacts/15550070000');
    expect(absent.status).toBe(404);
    expect(absent.json.error.code).toBe('not_found');
  });

  it('a group id where a person is expected is 400 naming the field', async () => {
    await linked();
    const r = await get('/api/contacts/120363000000000001@g.us');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_input' });
    expect(r.json.error.message).toMatch(/^id: is a group id; a person is expected/);
    const junk = await get('/api/contacts/hello');
    expect(junk.status).toBe(400);
    expect(junk.json.error.message).toMatch(/^id:/);
  });

  it('POST /api/contacts/check answers per number: on WhatsApp, not on it (0000), not a phone number', async () => {
    await linked();
    const r = await srv.call('POST', '/api/contacts/check', { phone_numbers: ['+1 555 000 1001', '15550010000', `${BOB}@s.whatsapp.net`, '12345', 'call me'] });
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([
      { phone_number: ALICE, on_whatsapp: true, chat_id: `${ALICE}@c.us` },
      { phone_number: '15550010000', on_whatsapp: false, chat_id: null },
      { phone_number: BOB, on_whatsapp: true, chat_id: `${BOB}@c.us` },
      expect.objectContaining({ phone_number: '12345', on_whatsapp: false, chat_id: null, error: expect.stringMatching(/not a phone number/) }),
      expect.objectContaining({ phone_number: 'call me', on_whatsapp: false, chat_id: null, error: expect.any(String) }),
    ]);
  });

  it('checks up to 50 numbers; 51 or none is 400 naming phone_numbers; 503 before linking', async () => {
    srv = await startTestServer(RATES);
    const numbers = (n: number) => Array.from({ length: n }, (_, i) => `1555002${String(i).padStart(4, '0')}`);
    const early = await srv.call('POST', '/api/contacts/check', { phone_numbers: numbers(1) });
    expect(early.status).toBe(503);
    await srv.call('POST', '/api/sandbox/link', {});
    const fifty = await srv.call('POST', '/api/contacts/check', { phone_numbers: numbers(50) });
    expect(fifty.status).toBe(200);
    expect(fifty.json.results).toHaveLength(50);
    expect(fifty.json.results[0]).toEqual({ phone_number: '15550020000', on_whatsapp: false, chat_id: null });
    expect(fifty.json.results[1]).toEqual({ phone_number: '15550020001', on_whatsapp: true, chat_id: '15550020001@c.us' });
    for (const n of [51, 0]) {
      const r = await srv.call('POST', '/api/contacts/check', { phone_numbers: numbers(n) });
      expect(r.status, String(n)).toBe(400);
      expect(r.json.error.message).toMatch(/^phone_numbers: /);
    }
  });
});

describe('linked ids (@lid) and from_phone', () => {
  it('a message from an @lid sender with from_phone carries it in the answer, the chat page, search and the event', async () => {
    await linked();
    const sent = await inbound(ALICE_LID, 'quokka sighting at the harbour', ALICE);
    expect(sent).toMatchObject({ from: ALICE_LID, chat_id: ALICE_LID, from_phone: ALICE, from_me: false });

    const page = await waitFor(async () => {
      const r = await get(`/api/chats/${ALICE_LID}/messages`);
      return r.status === 200 && r.json.count > 0 ? r.json.messages : null;
    }, 'the lid chat stored');
    expect(page.at(-1)).toMatchObject({ id: sent.id, from: ALICE_LID, from_phone: ALICE, body: 'quokka sighting at the harbour' });

    await searchBodies('q=quokka', 1);
    const hit = (await get('/api/search?q=quokka')).json.results[0];
    expect(hit.message).toMatchObject({ id: sent.id, from: ALICE_LID, from_phone: ALICE });
    expect(hit.snippet).toContain('[quokka]');

    const ev = await waitFor(async () => {
      const evs = (await get('/api/events?types=message.received')).json.events as Array<{ data: any }>;
      return evs.find((e) => e.data.message.id === sent.id) ?? null;
    }, 'message.received for the lid message');
    expect(ev.data.message).toMatchObject({ from: ALICE_LID, from_phone: ALICE });
  });

  it('an @lid sender whose number is unknown has from_phone null everywhere', async () => {
    await linked();
    const sent = await inbound('401234567890123@lid', 'pangolin report');
    expect(sent.from_phone).toBeNull();
    const page = await waitFor(async () => {
      const r = await get('/api/chats/401234567890123@lid/messages');
      return r.status === 200 && r.json.count > 0 ? r.json.messages : null;
    }, 'the lid chat stored');
    expect(page.at(-1)).toMatchObject({ id: sent.id, from_phone: null, author_phone: null });
    await searchBodies('q=pangolin', 1);
    expect((await get('/api/search?q=pangolin')).json.results[0].message.from_phone).toBeNull();
    const ev = await waitFor(async () => {
      const evs = (await get('/api/events?types=message.received')).json.events as Array<{ data: any }>;
      return evs.find((e) => e.data.message.id === sent.id) ?? null;
    }, 'message.received');
    expect(ev.data.message.from_phone).toBeNull();
  });

  it('from_phone only goes with an @lid sender', async () => {
    await linked();
    const r = await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, from_phone: ALICE, body: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/^from_phone:/);
  });

  it('search by sender in every id form finds what the person wrote under the lid and under the phone chat', async () => {
    await linked();
    await inbound(BOB_LID, 'walrus under the linked id', BOB);
    await inbound(BOB, 'walrus from the phone chat');
    await inbound('15550001003', 'walrus from someone else');
    expect(await searchBodies('q=walrus', 3)).toHaveLength(3);
    for (const sender of [BOB, '+1 555 000 1002', `${BOB}@c.us`, `${BOB}@s.whatsapp.net`, BOB_LID]) {
      const r = await get(`/api/search?q=walrus&sender=${enc(sender)}`);
      expect(r.status, sender).toBe(200);
      expect(r.json.results.map((h: { message: { body: string } }) => h.message.body).sort(), sender).toEqual(['walrus from the phone chat', 'walrus under the linked id']);
    }
    const group = await get('/api/search?q=walrus&sender=120363000000000001@g.us');
    expect(group.status).toBe(400);
    expect(group.json.error.message).toMatch(/^sender: is a group id/);
  });

  it('sender=…@s.whatsapp.net finds the messages of a phone-chat sender (no linked id involved)', async () => {
    await linked();
    await inbound('15550001003', 'otter census results');
    expect(await searchBodies('q=otter', 1)).toEqual(['otter census results']);
    for (const sender of ['15550001003@s.whatsapp.net', '15550001003:3@s.whatsapp.net', '15550001003@C.US']) {
      const r = await get(`/api/search?q=otter&sender=${enc(sender)}`);
      expect(r.status, sender).toBe(200);
      expect(r.json.results.map((h: { message: { body: string } }) => h.message.body), sender).toEqual(['otter census results']);
    }
    expect((await get(`/api/search?q=otter&sender=${BOB}@s.whatsapp.net`)).json.count).toBe(0);
  });

  it('the lid map survives a restart: stored messages keep from_phone, the lid still resolves, search by phone still finds them', async () => {
    await linked();
    const sent = await inbound(ALICE_LID, 'narwhal migration notes', ALICE);
    await searchBodies('q=narwhal', 1);
    const dir = srv.dir;
    await srv.close();

    srv = await startTestServer(RATES, {}, dir);
    await waitFor(async () => (await get('/api/status')).json.ready, 'reconnected on the saved session');
    const page = (await get(`/api/chats/${ALICE_LID}/messages`)).json.messages;
    expect(page.find((m: { id: string }) => m.id === sent.id)).toMatchObject({ from: ALICE_LID, from_phone: ALICE });
    const contact = await get(`/api/contacts/${ALICE_LID}`);
    expect(contact.status).toBe(200);
    expect(contact.json.contact).toMatchObject({ id: `${ALICE}@c.us`, phone: ALICE, lid: ALICE_LID, name: 'Alice Martin' });
    expect((await get(`/api/contacts/${ALICE}`)).json.contact).toMatchObject({ phone: ALICE, lid: ALICE_LID });
    // One person, one entry in the list, however they were looked up.
    const listed = (await get('/api/contacts?limit=100')).json.contacts as Array<{ phone: string | null }>;
    expect(listed.filter((c) => c.phone === ALICE)).toHaveLength(1);
    const byPhone = await get(`/api/search?q=narwhal&sender=${ALICE}`);
    expect(byPhone.json.results.map((h: { message: { id: string; from_phone: string } }) => [h.message.id, h.message.from_phone])).toEqual([[sent.id, ALICE]]);
  });

  it('offline, the store alone resolves a learnt lid', async () => {
    await linked();
    await inbound(BOB_LID, 'seal watch', BOB);
    await srv.call('POST', '/api/logout');
    const r = await get(`/api/contacts/${BOB_LID}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ source: 'store', contact: { id: `${BOB}@c.us`, phone: BOB, lid: BOB_LID } });
  });
});
