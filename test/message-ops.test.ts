// Acting on messages and chats over HTTP on the sandbox: reactions (yours and a contact's), edits, deletes, read
// receipts, presence, locations and polls; what reads and events show afterwards, and what is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { b64, deliveries, download, png, sha256 } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ENV = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };
const PHONE = '15550102030';
const CHAT = `${PHONE}@c.us`;
const ALICE = '15550001001';
const ALICE_CHAT = `${ALICE}@c.us`;
const ME = '15550009999@c.us';
// Seeded by the sandbox: Alice's "Hi! Are we still on for lunch tomorrow?" and my answer, both five hours old.
const SEED_ALICE_MSG = `false_${ALICE_CHAT}_SEED0000`;
const SEED_MY_OLD_MSG = `true_${ALICE_CHAT}_SEED0001`;
const FAMILY = '120363000000000001@g.us';
const SEED_FAMILY_OTHERS = `false_${FAMILY}_SEED3000`;

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(): Promise<TestServer> {
  const s = await startTestServer(ENV);
  expect((await s.call('POST', '/api/sandbox/link', {})).status).toBe(200);
  return s;
}

async function stored(s: TestServer, chatId: string, id: string) {
  const page = await s.call('GET', `/api/chats/${encodeURIComponent(chatId)}/messages?limit=200`);
  expect(page.status).toBe(200);
  return page.json.messages.find((m: { id: string }) => m.id === id);
}

async function events(s: TestServer, type: string) {
  const r = await s.call('GET', `/api/events?types=${type}&limit=500`);
  expect(r.status).toBe(200);
  return r.json.events as Array<{ type: string; chat_id: string; data: Record<string, any> }>;
}

/** Wait for the sandbox's sync after linking to copy the seeded history into the store. */
async function seeded(s: TestServer, chatId: string, id: string) {
  return waitFor(() => stored(s, chatId, id), `seeded message ${id} in the store`);
}

const m = (path: string) => `/api/messages/${encodeURIComponent(path)}`;

describe('reactions', () => {
  it('reacting to a received message shows in reads and is announced as message.reaction', async () => {
    srv = await linked();
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'we shipped!' });
    const id = inbound.json.message.id;
    const r = await srv.call('POST', `${m(id)}/reaction`, { emoji: '🎉' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, status: 'sent', message_id: id, chat_id: CHAT });
    expect(r.json.outbox_id).toMatch(/^ob_/);
    const msg = await waitFor(async () => {
      const x = await stored(srv, CHAT, id);
      return x?.reactions.length ? x : null;
    }, 'the reaction in the store');
    expect(msg.reactions).toEqual([{ emoji: '🎉', from: ME, timestamp: expect.any(Number) }]);
    const ev = await waitFor(async () => (await events(srv, 'message.reaction')).find((e) => e.data.id === id), 'message.reaction');
    expect(ev.chat_id).toBe(CHAT);
    expect(ev.data).toMatchObject({ id, chat_id: CHAT, emoji: '🎉', from: ME });
  });

  it('"" takes your reaction back; a new emoji replaces the old one', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'vote with emoji' });
    const id = sent.json.message_id;
    expect((await srv.call('POST', `${m(id)}/reaction`, { emoji: '👍' })).status).toBe(200);
    expect((await srv.call('POST', `${m(id)}/reaction`, { emoji: '❤️' })).status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, id))?.reactions[0]?.emoji === '❤️', 'replaced reaction');
    expect((await stored(srv, CHAT, id)).reactions).toHaveLength(1);
    const gone = await srv.call('POST', `${m(id)}/reaction`, { emoji: '' });
    expect(gone.status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, id))?.reactions.length === 0, 'reaction removed');
    const evs = (await waitFor(async () => {
      const all = (await events(srv, 'message.reaction')).filter((e) => e.data.id === id);
      return all.length === 3 ? all : null;
    }, 'three reaction events')).map((e) => e.data.emoji);
    expect(evs).toEqual(['👍', '❤️', '']);
  });

  it('a contact\'s reaction (sandbox/react) sits beside yours, and theirs replaces theirs', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'lunch at noon?' });
    const id = sent.json.message_id;
    expect((await srv.call('POST', '/api/sandbox/react', { from: PHONE, message_id: id, emoji: '👍' })).status).toBe(200);
    expect((await srv.call('POST', `${m(id)}/reaction`, { emoji: '🙏' })).status).toBe(200);
    expect((await srv.call('POST', '/api/sandbox/react', { from: PHONE, message_id: id, emoji: '😂' })).status).toBe(200);
    const msg = await waitFor(async () => {
      const x = await stored(srv, CHAT, id);
      return x?.reactions.length === 2 && x.reactions.some((r: { emoji: string }) => r.emoji === '😂') ? x : null;
    }, 'both reactions');
    expect(msg.reactions.map((r: { emoji: string; from: string }) => [r.from, r.emoji]).sort()).toEqual([[CHAT, '😂'], [ME, '🙏']].sort());
    const theirs = (await events(srv, 'message.reaction')).filter((e) => e.data.from === CHAT);
    expect(theirs.map((e) => e.data)).toEqual([
      expect.objectContaining({ id, chat_id: CHAT, emoji: '👍', from: CHAT }),
      expect.objectContaining({ id, chat_id: CHAT, emoji: '😂', from: CHAT }),
    ]);
    // The live read agrees with the store.
    const live = await srv.call('GET', `/api/messages?phone_number=${PHONE}`);
    expect(live.json.messages.find((x: { id: string }) => x.id === id).reactions).toHaveLength(2);
  });

  it('refuses what is not one emoji (400 naming emoji) and an unknown message (404)', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'x' });
    const before = deliveries(srv).length;
    for (const emoji of ['ok', '👍👍', 'a']) {
      const r = await srv.call('POST', `${m(sent.json.message_id)}/reaction`, { emoji });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_input');
      expect(r.json.error.message).toMatch(/^emoji:/);
    }
    const unknown = await srv.call('POST', `${m('true_15550102030@c.us_NOPE')}/reaction`, { emoji: '👍' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('not_found');
    expect(deliveries(srv)).toHaveLength(before);
    expect(await events(srv, 'message.reaction')).toEqual([]);
  });
});

describe('edits', () => {
  it('PATCH changes your message: reads show the new text and edited, search finds it, message.edited is announced', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'meeting at 3 in room walrus' });
    const id = sent.json.message_id;
    const r = await srv.call('PATCH', m(id), { message: 'meeting at 4 in room narwhal' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, status: 'sent', message_id: id, chat_id: CHAT });
    const msg = await waitFor(async () => {
      const x = await stored(srv, CHAT, id);
      return x?.edited ? x : null;
    }, 'the edit in the store');
    expect(msg.body).toBe('meeting at 4 in room narwhal');
    const ev = await waitFor(async () => (await events(srv, 'message.edited')).find((e) => e.data.id === id), 'message.edited');
    expect(ev.data).toEqual({ id, chat_id: CHAT, body: 'meeting at 4 in room narwhal' });
    expect((await srv.call('GET', '/api/search?q=narwhal')).json.results.map((x: { message: { id: string } }) => x.message.id)).toEqual([id]);
    expect((await srv.call('GET', '/api/search?q=walrus')).json.results).toEqual([]);
    const live = await srv.call('GET', `/api/messages?phone_number=${PHONE}`);
    expect(live.json.messages.find((x: { id: string }) => x.id === id)).toMatchObject({ body: 'meeting at 4 in room narwhal', edited: true });
  });

  it('edits the caption of a file you sent; the file stays', async () => {
    srv = await linked();
    const file = png();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'old caption', media: { data: b64(file) } });
    expect((await srv.call('PATCH', m(sent.json.message_id), { message: 'new caption' })).status).toBe(200);
    const msg = await waitFor(async () => {
      const x = await stored(srv, CHAT, sent.json.message_id);
      return x?.edited ? x : null;
    }, 'edited caption');
    expect(msg).toMatchObject({ body: 'new caption', media: { kind: 'image', sha256: sha256(file) } });
  });

  it('a retry with the same Idempotency-Key edits once and replays the answer', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'v1' });
    const first = await srv.call('PATCH', m(sent.json.message_id), { message: 'v2' }, { 'idempotency-key': 'edit-1' });
    const again = await srv.call('PATCH', m(sent.json.message_id), { message: 'v2' }, { 'idempotency-key': 'edit-1' });
    expect(first.status).toBe(200);
    expect(again.json).toEqual({ ...first.json, replayed: true });
    await waitFor(async () => (await events(srv, 'message.edited')).length > 0, 'the edit event');
    expect(await events(srv, 'message.edited')).toHaveLength(1);
  });

  it('refuses to edit someone else\'s message, an old one (seeded five hours ago), a location, and an empty text', async () => {
    srv = await linked();
    await seeded(srv, ALICE_CHAT, SEED_MY_OLD_MSG);
    const loc = await srv.call('POST', '/api/send', { phone_number: PHONE, location: { latitude: 1, longitude: 2 } });
    const before = deliveries(srv).length;
    const cases: Array<[string, string, RegExp]> = [
      [SEED_ALICE_MSG, 'sure', /only your own messages/],
      [SEED_MY_OLD_MSG, 'too late', /15 minutes/],
      [loc.json.message_id, 'moved', /locations and polls/],
    ];
    for (const [id, message, why] of cases) {
      const r = await srv.call('PATCH', m(id), { message });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_input');
      expect(r.json.error.details.field).toBe('message_id');
      expect(r.json.error.message).toMatch(why);
    }
    const empty = await srv.call('PATCH', m(loc.json.message_id), { message: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toMatch(/^message:/);
    expect(deliveries(srv)).toHaveLength(before);
    expect((await stored(srv, ALICE_CHAT, SEED_ALICE_MSG)).edited).toBe(false);
    expect((await stored(srv, ALICE_CHAT, SEED_MY_OLD_MSG)).body).toBe('Yes, 12:30 at the usual place');
    expect(await events(srv, 'message.edited')).toEqual([]);
  });
});

describe('deletes', () => {
  it('for=everyone takes your file back: revoked, body and file gone from reads, the download is 404, message.revoked is announced', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'wrong photo', media: { data: b64(png()) } });
    const id = sent.json.message_id;
    expect((await download(srv, id)).status).toBe(200);
    const r = await srv.call('DELETE', `${m(id)}?for=everyone`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, status: 'sent', message_id: id, chat_id: CHAT });
    const msg = await waitFor(async () => {
      const x = await stored(srv, CHAT, id);
      return x?.revoked ? x : null;
    }, 'the revoke in the store');
    expect(msg).toMatchObject({ revoked: true, body: '', type: 'revoked', media: null });
    const ev = await waitFor(async () => (await events(srv, 'message.revoked')).find((e) => e.data.id === id), 'message.revoked');
    expect(ev.data).toEqual({ id, chat_id: CHAT });
    const gone = await download(srv, id);
    expect(gone.status).toBe(404);
    expect((await srv.call('GET', '/api/search?q=wrong')).json.results).toEqual([]);
  });

  it('a revoked message reads the same live (/api/messages) as from the store: no body, no file, no has_media', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'oops', media: { data: b64(png()) } });
    const id = sent.json.message_id;
    expect((await srv.call('DELETE', `${m(id)}?for=everyone`)).status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, id))?.revoked, 'revoked in the store');
    const fromStore = await stored(srv, CHAT, id);
    const live = (await srv.call('GET', `/api/messages?phone_number=${PHONE}`)).json.messages.find((x: { id: string }) => x.id === id);
    const gone = { revoked: true, body: '', type: 'revoked', media: null, location: null, poll: null, has_media: false };
    expect({ store: fromStore, live }).toMatchObject({ store: gone, live: gone });
  });

  it('for=me removes someone else\'s message from this account; for=everyone of it in a one-to-one chat is refused', async () => {
    srv = await linked();
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'spam spam' });
    const id = inbound.json.message.id;
    const before = deliveries(srv).length;
    const refused = await srv.call('DELETE', `${m(id)}?for=everyone`);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: 'invalid_input', details: { field: 'for' } });
    expect((await stored(srv, CHAT, id)).body).toBe('spam spam');
    const ok = await srv.call('DELETE', `${m(id)}?for=me`);
    expect(ok.status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, id))?.body === '', 'gone for me');
    expect(deliveries(srv)).toHaveLength(before);
  });

  it('DELETE without for (or with another value) is a 400 naming for; an unknown message is a 404', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'keep me' });
    for (const q of ['', '?for=all']) {
      const r = await srv.call('DELETE', `${m(sent.json.message_id)}${q}`);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_input');
      expect(r.json.error.message).toMatch(/^for:/);
    }
    expect((await stored(srv, CHAT, sent.json.message_id))).toMatchObject({ body: 'keep me', revoked: false });
    const unknown = await srv.call('DELETE', `${m('true_15550102030@c.us_NOPE')}?for=me`);
    expect(unknown.status).toBe(404);
  });

  it('a deleted message takes no reaction, no edit and no second delete', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'short-lived' });
    const id = sent.json.message_id;
    expect((await srv.call('DELETE', `${m(id)}?for=everyone`)).status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, id))?.revoked, 'revoked');
    for (const [method, path, body] of [['POST', `${m(id)}/reaction`, { emoji: '👍' }], ['PATCH', m(id), { message: 'back' }], ['DELETE', `${m(id)}?for=everyone`, undefined]] as const) {
      const r = await srv.call(method, path, body);
      expect(r.status).toBe(400);
      expect(r.json.error.details.field).toBe('message_id');
    }
    expect(await events(srv, 'message.revoked')).toHaveLength(1);
  });

  it('in a group, for=everyone of another member\'s message is not refused by the one-to-one rule', async () => {
    srv = await linked();
    await seeded(srv, FAMILY, SEED_FAMILY_OTHERS);
    const r = await srv.call('DELETE', `${m(SEED_FAMILY_OTHERS)}?for=everyone`);
    // The sandbox, like our wwebjs engine, does not act as a group admin: the engine refuses it, not the 1:1 rule.
    expect(r.status).toBe(400);
    expect(r.json.error.message).not.toMatch(/one-to-one/);
    expect((await stored(srv, FAMILY, SEED_FAMILY_OTHERS)).revoked).toBe(false);
  });
});

describe('after a restart', () => {
  it('an edit and a delete still show, live from the engine as well as from the store', async () => {
    srv = await linked();
    const edited = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'draft text' });
    const deleted = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'regrettable text' });
    expect((await srv.call('PATCH', m(edited.json.message_id), { message: 'final text' })).status).toBe(200);
    expect((await srv.call('DELETE', `${m(deleted.json.message_id)}?for=everyone`)).status).toBe(200);
    await waitFor(async () => (await stored(srv, CHAT, deleted.json.message_id))?.revoked, 'revoked before the restart');
    const dir = srv.dir;
    await srv.close();
    srv = await startTestServer(ENV, {}, dir);
    await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'ready again');
    const live = (await srv.call('GET', `/api/messages?phone_number=${PHONE}`)).json.messages;
    const fromStore = (await srv.call('GET', `/api/chats/${CHAT}/messages`)).json.messages;
    const pick = (list: Array<{ id: string }>) => ({
      edited: list.find((x) => x.id === edited.json.message_id),
      deleted: list.find((x) => x.id === deleted.json.message_id),
    });
    const want = { edited: { body: 'final text', edited: true }, deleted: { body: '', revoked: true } };
    expect({ store: pick(fromStore), live: pick(live) }).toMatchObject({ store: want, live: want });
  });
});

describe('read receipts and presence', () => {
  it('POST /api/chats/{chat_id}/read brings unread_count to 0 in /api/chats', async () => {
    srv = await linked();
    await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'one' });
    await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'two' });
    const unread = async () => (await srv.call('GET', '/api/chats?limit=100')).json.chats.find((c: { id: string }) => c.id === CHAT)?.unread_count;
    expect(await unread()).toBe(2);
    const r = await srv.call('POST', `/api/chats/${CHAT}/read`, {});
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, chat_id: CHAT });
    expect(await unread()).toBe(0);
    // A phone number names the same chat.
    await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'three' });
    expect((await srv.call('POST', `/api/chats/${PHONE}/read`)).status).toBe(200);
    expect(await unread()).toBe(0);
  });

  it('presence typing, recording and paused answer ok; another state is a 400, an unknown chat a 404', async () => {
    srv = await linked();
    await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'hello?' });
    for (const state of ['typing', 'recording', 'paused']) {
      const r = await srv.call('POST', `/api/chats/${CHAT}/presence`, { state });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ ok: true, chat_id: CHAT });
    }
    const bad = await srv.call('POST', `/api/chats/${CHAT}/presence`, { state: 'online' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^state:/);
    const unknown = await srv.call('POST', '/api/chats/15559990000@c.us/presence', { state: 'typing' });
    expect(unknown.status).toBe(404);
    expect(deliveries(srv)).toHaveLength(0);
  });

  it('read and presence while not linked are 503 not_ready', async () => {
    srv = await startTestServer(ENV);
    expect((await srv.call('POST', `/api/chats/${CHAT}/read`)).json.error.code).toBe('not_ready');
    expect((await srv.call('POST', `/api/chats/${CHAT}/presence`, { state: 'typing' })).status).toBe(503);
  });
});

describe('locations and polls', () => {
  it('sends a location pin: reads and the delivery carry it, type location, no text', async () => {
    srv = await linked();
    const location = { latitude: 52.3676, longitude: 4.9041, name: 'Dam Square', address: 'Dam, Amsterdam' };
    const r = await srv.call('POST', '/api/send', { phone_number: PHONE, location });
    expect(r.status).toBe(200);
    expect(await stored(srv, CHAT, r.json.message_id)).toMatchObject({ type: 'location', body: '', location, media: null, poll: null });
    expect(deliveries(srv).at(-1)).toMatchObject({ id: r.json.message_id, location });
    const bare = await srv.call('POST', `/api/chats/${CHAT}/messages`, { location: { latitude: -33.86, longitude: 151.2 } });
    expect((await stored(srv, CHAT, bare.json.message_id)).location).toEqual({ latitude: -33.86, longitude: 151.2, name: null, address: null });
  });

  it('sends a poll: reads show question, options with votes, multiple; a reply_to poll quotes', async () => {
    srv = await linked();
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'where shall we eat?' });
    const r = await srv.call('POST', `/api/chats/${CHAT}/messages`, { poll: { question: 'Lunch?', options: ['Pizza', 'Sushi', 'Tacos'], multiple: true }, reply_to: inbound.json.message.id });
    expect(r.status).toBe(200);
    const msg = await stored(srv, CHAT, r.json.message_id);
    expect(msg).toMatchObject({ type: 'poll_creation', body: '' });
    expect(msg.poll).toEqual({ question: 'Lunch?', options: [{ name: 'Pizza', votes: 0 }, { name: 'Sushi', votes: 0 }, { name: 'Tacos', votes: 0 }], multiple: true });
    expect(msg.quoted).toMatchObject({ id: inbound.json.message.id, body: 'where shall we eat?' });
    const single = await srv.call('POST', '/api/send', { phone_number: PHONE, poll: { question: 'Yes or no?', options: ['Yes', 'No'] } });
    expect((await stored(srv, CHAT, single.json.message_id)).poll.multiple).toBe(false);
  });

  it('a text reply quotes the message it answers', async () => {
    srv = await linked();
    await seeded(srv, ALICE_CHAT, SEED_ALICE_MSG);
    const r = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'yes!', reply_to: SEED_ALICE_MSG });
    expect(r.status).toBe(200);
    expect((await stored(srv, ALICE_CHAT, r.json.message_id)).quoted).toEqual({ id: SEED_ALICE_MSG, from: ALICE_CHAT, body: 'Hi! Are we still on for lunch tomorrow?' });
  });
});
