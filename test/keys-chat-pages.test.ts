// A key limited to one quiet chat, on an account where another chat is busy: its list and search pages are full pages
// of its own chat, and its cursors walk only its own rows (the chats are narrowed in the store query, not after it).
// A key with every chat pages as before.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const QUIET = '447700900001';
const BUSY = '447700900002';
const QUIET_LID = '201234567890123@lid';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
type Row = { chat_id: string | null };

async function addKey(body: Record<string, unknown>, admin: Record<string, string> = {}): Promise<Record<string, string>> {
  const res = await srv.call('POST', '/api/keys', body, admin);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return bearer(res.json.key as string);
}

/** Linked; `quietFirst` messages from QUIET, then `busy` from BUSY, then `quietAfter` from QUIET again. */
async function accountWith(counts: { quietFirst: number; busy: number; quietAfter: number; lidFirst?: boolean }) {
  srv = await startTestServer();
  const admin = await addKey({ name: 'owner', scopes: ['read', 'send', 'admin'] });
  expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' }, admin)).status).toBe(200);
  const inbound = async (from: string, n: number, word: string) => {
    for (let i = 0; i < n; i++) expect((await srv.call('POST', '/api/sandbox/inbound', { from, body: `${word} ${i}` }, admin)).status).toBe(200);
  };
  if (counts.lidFirst) expect((await srv.call('POST', '/api/sandbox/inbound', { from: QUIET_LID, from_phone: QUIET, body: 'walrus under the lid' }, admin)).status).toBe(200);
  await inbound(QUIET, counts.quietFirst, 'walrus quiet');
  await inbound(BUSY, counts.busy, 'walrus busy');
  await inbound(QUIET, counts.quietAfter, 'walrus quiet later');
  const total = counts.quietFirst + counts.busy + counts.quietAfter + (counts.lidFirst ? 1 : 0);
  await waitFor(async () => (await srv.call('GET', `/api/search?q=walrus&limit=100`, undefined, admin)).json.count >= Math.min(100, total), 'messages stored');
  const limited = await addKey({ name: 'quiet-only', scopes: ['read', 'send'], chats: [`+${QUIET}`] }, admin);
  return { admin, limited };
}

describe('a key limited to a quiet chat', () => {
  it('search: a full page of its own chat, though another chat has 100 newer matches; every chat unchanged', async () => {
    const { admin, limited } = await accountWith({ quietFirst: 30, busy: 100, quietAfter: 0 });
    const page = await srv.call('GET', '/api/search?q=walrus&limit=20', undefined, limited);
    expect(page.status).toBe(200);
    expect(page.json.count).toBe(20);
    expect(new Set(page.json.results.map((r: { message: Row }) => r.message.chat_id))).toEqual(new Set([`${QUIET}@c.us`]));
    // Relevance ranks the same narrowed candidates.
    const ranked = await srv.call('GET', '/api/search?q=walrus&order=relevance&limit=20', undefined, limited);
    expect(ranked.json.count).toBe(20);
    expect(ranked.json.results.every((r: { message: Row }) => r.message.chat_id === `${QUIET}@c.us`)).toBe(true);
    const all = await srv.call('GET', '/api/search?q=walrus&limit=20', undefined, admin);
    expect(all.json.count).toBe(20);
    expect(all.json.results.every((r: { message: Row }) => r.message.chat_id === `${BUSY}@c.us`)).toBe(true);
  });

  it('search: raw FTS5 text cannot reach past the chat scope to count other chats\' messages', async () => {
    const { admin, limited } = await accountWith({ quietFirst: 2, busy: 3, quietAfter: 0 });
    // "busy" is only in the other chat. Closing our group and OR-ing would make the scope one branch of the OR.
    const escapes = ['busy)) OR ((body : quiet', 'busy OR quiet) OR (quiet', 'busy)\u0000', 'busy "', 'quiet) AND (busy'];
    for (const q of escapes) {
      const res = await srv.call('GET', `/api/search?mode=fts&limit=5&q=${encodeURIComponent(q)}`, undefined, limited);
      expect(res.status, q).toBe(400);
      expect(res.json.error.code).toBe('invalid_input');
    }
    // Balanced syntax still works, inside the key's chat only.
    const ok = await srv.call('GET', `/api/search?mode=fts&limit=5&q=${encodeURIComponent('(busy OR quiet) AND walrus')}`, undefined, limited);
    expect(ok.status).toBe(200);
    expect(ok.json.count).toBe(2);
    expect(ok.json.results.every((r: { message: Row }) => r.message.chat_id === `${QUIET}@c.us`)).toBe(true);
    expect((await srv.call('GET', `/api/search?mode=fts&q=busy`, undefined, admin)).json.count).toBe(3);
    expect((await srv.call('GET', `/api/search?mode=fts&q=busy`, undefined, limited)).json.count).toBe(0);
  });

  it('events: full pages of its own chat, and next_cursor walks only its rows to the end', async () => {
    const { admin, limited } = await accountWith({ quietFirst: 10, busy: 100, quietAfter: 30 });
    const received: string[] = [];
    let cursor = 0;
    const counts: number[] = [];
    for (let pages = 0; pages < 10; pages++) {
      const page = await srv.call('GET', `/api/events?types=message.received&limit=20&after=${cursor}`, undefined, limited);
      expect(page.status).toBe(200);
      for (const e of page.json.events) {
        expect(e.chat_id).toBe(`${QUIET}@c.us`);
        received.push(e.data.message.body);
      }
      counts.push(page.json.count);
      cursor = page.json.next_cursor;
      if (!page.json.has_more) break;
    }
    // 40 of QUIET's messages in pages of 20: no short page while BUSY's 100 sit between them.
    expect(counts.slice(0, 2)).toEqual([20, 20]);
    expect(received).toHaveLength(40);
    expect(received.at(-1)).toBe('walrus quiet later 29');
    // Without a type filter: only its own chat's events and the chatless connection states.
    const untyped = await srv.call('GET', '/api/events?limit=20', undefined, limited);
    expect(untyped.json.count).toBe(20);
    for (const e of untyped.json.events) expect(e.chat_id === `${QUIET}@c.us` || e.type === 'connection.state').toBe(true);
    // A key with every chat: the first 20 message.received are QUIET's 10 and then BUSY's.
    const every = await srv.call('GET', '/api/events?types=message.received&limit=20', undefined, admin);
    expect(every.json.events.map((e: Row) => e.chat_id)).toEqual([...Array(10).fill(`${QUIET}@c.us`), ...Array(10).fill(`${BUSY}@c.us`)]);
  });

  it('a cursor past the end stays where it is, and an event that comes later is the next page', async () => {
    const { admin, limited } = await accountWith({ quietFirst: 1, busy: 5, quietAfter: 0 });
    const first = await srv.call('GET', '/api/events?types=message.received&limit=20', undefined, limited);
    expect(first.json).toMatchObject({ count: 1, has_more: false });
    const later = first.json.next_cursor as number;
    expect((await srv.call('POST', '/api/sandbox/inbound', { from: BUSY, body: 'walrus busy again' }, admin)).status).toBe(200);
    expect((await srv.call('POST', '/api/sandbox/inbound', { from: QUIET, body: 'walrus quiet again' }, admin)).status).toBe(200);
    const next = await waitFor(async () => {
      const r = await srv.call('GET', `/api/events?types=message.received&limit=20&after=${later}`, undefined, limited);
      return r.json.count > 0 ? r : null;
    }, 'the new message');
    expect(next.json.events.map((e: { data: { message: { body: string } } }) => e.data.message.body)).toEqual(['walrus quiet again']);
    const future = await srv.call('GET', `/api/events?limit=20&after=${next.json.next_cursor + 1000}`, undefined, limited);
    expect(future.json).toMatchObject({ count: 0, has_more: false, next_cursor: next.json.next_cursor + 1000 });
  });

  it('chats: its own chats among 25 newer ones, live from the engine', async () => {
    srv = await startTestServer();
    const admin = await addKey({ name: 'owner', scopes: ['read', 'admin'] });
    expect((await srv.call('POST', '/api/sandbox/link', {}, admin)).status).toBe(200);
    // Bob's and Carla's seeded chats were last active 30 and 120 minutes before the link; 25 chats write to us now.
    for (let i = 0; i < 25; i++) expect((await srv.call('POST', '/api/sandbox/inbound', { from: `4477009002${String(i).padStart(2, '0')}`, body: 'new' }, admin)).status).toBe(200);
    const limited = await addKey({ name: 'two-chats', scopes: ['read'], chats: ['15550001002', '15550001003'] }, admin);
    const page = await srv.call('GET', '/api/chats?limit=20', undefined, limited);
    expect(page.json).toMatchObject({ source: 'engine', count: 2 });
    expect(page.json.chats.map((c: { id: string }) => c.id)).toEqual(['15550001002@c.us', '15550001003@c.us']);
    expect((await srv.call('GET', '/api/chats?limit=1', undefined, limited)).json.chats.map((c: { id: string }) => c.id)).toEqual(['15550001002@c.us']);
    const every = await srv.call('GET', '/api/chats?limit=20', undefined, admin);
    expect(every.json.chats.every((c: { id: string }) => c.id.startsWith('4477009002'))).toBe(true);
  });

  it('outbox: a full page of its own sends though 100 newer went elsewhere, and next_before walks only them', async () => {
    srv = await startTestServer();
    const admin = await addKey({ name: 'owner', scopes: ['read', 'send', 'admin'] });
    // Not linked: every send stays queued, in order.
    const mine: string[] = [];
    for (let i = 0; i < 25; i++) mine.push((await srv.call('POST', '/api/send', { phone_number: QUIET, message: `q${i}`, queue: true }, admin)).json.outbox_id);
    for (let i = 0; i < 100; i++) expect((await srv.call('POST', '/api/send', { phone_number: BUSY, message: `b${i}`, queue: true }, admin)).status).toBe(202);
    const limited = await addKey({ name: 'quiet-sender', scopes: ['send'], chats: [QUIET] }, admin);
    const seen: string[] = [];
    let before = '';
    for (let pages = 0; pages < 5; pages++) {
      const page = await srv.call('GET', `/api/outbox?limit=20${before}`, undefined, limited);
      expect(page.status).toBe(200);
      for (const s of page.json.sends) expect(s.chat_id).toBe(`${QUIET}@c.us`);
      seen.push(...page.json.sends.map((s: { outbox_id: string }) => s.outbox_id));
      if (page.json.next_before === null) break;
      before = `&before=${page.json.next_before}`;
    }
    expect(seen).toEqual([...mine].reverse());
    const every = await srv.call('GET', '/api/outbox?limit=20', undefined, admin);
    expect(every.json.sends.every((s: Row) => s.chat_id === `${BUSY}@c.us`)).toBe(true);
  });

  it('the person\'s linked id is the same chat: search and contacts find what was stored under the @lid', async () => {
    // The @lid message first, so 30 newer matches elsewhere would fill a page narrowed after the query.
    const { limited } = await accountWith({ quietFirst: 0, busy: 30, quietAfter: 0, lidFirst: true });
    const found = await srv.call('GET', '/api/search?q=walrus&limit=5', undefined, limited);
    expect(found.json.results.map((r: { message: Row }) => r.message.chat_id)).toEqual([QUIET_LID]);
  });

  it('contacts: the people of its own chats, by number or by linked id, though others sort first', async () => {
    srv = await startTestServer();
    const admin = await addKey({ name: 'owner', scopes: ['read', 'admin'] });
    expect((await srv.call('POST', '/api/sandbox/link', {}, admin)).status).toBe(200);
    // The sandbox's seeded address book: Alice Martin (15550001001) sorts before Dan (15550001004).
    await waitFor(async () => (await srv.call('GET', '/api/contacts?limit=100', undefined, admin)).json.count >= 4, 'the seeded contacts');
    const dan = await addKey({ name: 'dan-only', scopes: ['read'], chats: ['15550001004'] }, admin);
    const page = await srv.call('GET', '/api/contacts?limit=1', undefined, dan);
    expect(page.json.contacts.map((c: { id: string }) => c.id)).toEqual(['15550001004@c.us']);
    // Alice's linked id, once the number behind it is known, finds her saved contact.
    expect((await srv.call('POST', '/api/sandbox/inbound', { from: QUIET_LID, from_phone: '15550001001', body: 'hi' }, admin)).status).toBe(200);
    await waitFor(async () => (await srv.call('GET', `/api/contacts/${QUIET_LID}`, undefined, admin)).status === 200, 'the lid learnt');
    const byLid = await addKey({ name: 'alice-lid', scopes: ['read'], chats: [QUIET_LID] }, admin);
    const alice = await srv.call('GET', '/api/contacts?q=a&limit=20', undefined, byLid);
    expect(alice.json.contacts.map((c: { id: string }) => c.id)).toEqual(['15550001001@c.us']);
  });
});
