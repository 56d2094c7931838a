// Older history on demand, over real HTTP against the Baileys engine on a fake socket: paging back past the oldest
// stored message asks the phone (fetchMessageHistory), which answers later with an ON_DEMAND history set; the page
// is answered from the store once that batch is in, and says so honestly when the phone is silent.
import type { WAMessage } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaileysEngineOptions } from '../src/engine/baileys.js';
import { baileysSetup, link, PEERS } from './fakes/fake-baileys-engine.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const JID = '15550100001@s.whatsapp.net';
const T0 = 1_700_000_000;

/** Messages `from`..`to` of the chat with PEERS[0], oldest first, a minute apart. */
function messages(from: number, to: number): WAMessage[] {
  return Array.from({ length: to - from + 1 }, (_, k) => {
    const i = from + k;
    return { key: { remoteJid: JID, fromMe: i % 2 === 0, id: `M${i}` }, message: { conversation: `message ${i}` }, messageTimestamp: T0 + i * 60 };
  });
}

async function setup(opts: Partial<BaileysEngineOptions> = {}) {
  const ctx = baileysSetup(opts);
  cleanups.push(ctx.close);
  const srv = await startTestServer({}, { engine: ctx.engine });
  cleanups.push(() => srv.close());
  await link(ctx.engine, ctx.world);
  // The phone synced messages 31..35 and holds 1..30 besides.
  ctx.world.last.ev.emit('messaging-history.set', { chats: [{ id: JID, name: 'Alice' }], contacts: [], messages: messages(31, 35).reverse(), isLatest: true, progress: 100, syncType: 3 });
  ctx.world.phoneHistory.set(JID, messages(1, 30));
  await waitFor(async () => (await srv.call('GET', `/api/chats/${PEERS[0]}`)).json.stored_messages === 5, 'the synced messages');
  return { ...ctx, srv };
}

const ids = (page: { messages: Array<{ id: string }> }) => page.messages.map((m) => m.id);
const page = async (srv: TestServer, query: string) => (await srv.call('GET', `/api/chats/${PEERS[0]}/messages?${query}`)).json;

describe('older history on demand (Baileys)', () => {
  it('pages back through the store, then through the phone, until the phone has no more', async () => {
    const { srv, world } = await setup();
    const newest = await page(srv, 'limit=5');
    expect(ids(newest)).toEqual(['M31', 'M32', 'M33', 'M34', 'M35']);
    // The store holds nothing older, but the phone may: the cursor is there to ask with.
    expect(newest).toMatchObject({ has_older: false, source: 'store', older_pending: false });
    expect(newest.next_before).not.toBeNull();

    const older = await page(srv, `limit=10&before=${newest.next_before}`);
    expect(world.last.callsTo('fetchMessageHistory')).toEqual([[10, { remoteJid: JID, fromMe: false, id: 'M31' }, (T0 + 31 * 60) * 1000]]);
    expect(ids(older)).toEqual(['M21', 'M22', 'M23', 'M24', 'M25', 'M26', 'M27', 'M28', 'M29', 'M30']);
    expect(older).toMatchObject({ count: 10, source: 'engine', older_pending: false });
    // Stored now: the same page again comes from the store without asking.
    expect(await page(srv, `limit=10&before=${newest.next_before}`)).toMatchObject({ count: 10, source: 'store', has_older: false });
    expect(world.last.callsTo('fetchMessageHistory')).toHaveLength(1);

    // A page the store can only half fill asks for the rest.
    const mixed = await page(srv, `limit=25&before=${newest.next_before}`);
    expect(ids(mixed)).toEqual(messages(6, 30).map((m) => m.key.id));
    expect(world.last.callsTo('fetchMessageHistory').at(-1)![0]).toBe(15);

    const rest = await page(srv, `limit=10&before=${mixed.next_before}`);
    expect(ids(rest)).toEqual(['M1', 'M2', 'M3', 'M4', 'M5']);
    // The phone answered with nothing older: the start of the chat; asked again, nobody bothers the phone.
    const end = await page(srv, `limit=10&before=${rest.next_before}`);
    expect(end).toMatchObject({ count: 0, next_before: null, older_pending: false, source: 'store' });
    const asked = world.last.callsTo('fetchMessageHistory').length;
    expect(await page(srv, `limit=10&before=${rest.next_before}`)).toMatchObject({ count: 0, next_before: null });
    expect(world.last.callsTo('fetchMessageHistory')).toHaveLength(asked);

    // Each answer was one history.synced, none of its messages a message event.
    const { events } = (await srv.call('GET', '/api/events?types=history.synced,message.*&limit=500')).json;
    expect(events.map((e: { type: string; data: { sync_type: string; count: number } }) => [e.type, e.data.sync_type, e.data.count])).toEqual([
      ['history.synced', 'RECENT', 5],
      ['history.synced', 'ON_DEMAND', 10],
      ['history.synced', 'ON_DEMAND', 15],
      ['history.synced', 'ON_DEMAND', 5],
      ['history.synced', 'ON_DEMAND', 0],
    ]);
  });

  it('a phone that does not answer in time: the store page, older_pending, and the same cursor to ask again', async () => {
    const { srv, world } = await setup({ olderHistoryWaitMs: 100 });
    world.historyAnswers = 'never';
    const newest = await page(srv, 'limit=5');
    const silent = await page(srv, `limit=10&before=${newest.next_before}`);
    expect(silent).toMatchObject({ count: 0, source: 'store', older_pending: true, next_before: newest.next_before });
    // Back online: the same request now gets the messages.
    world.historyAnswers = 'yes';
    const answered = await page(srv, `limit=10&before=${silent.next_before}`);
    expect(answered).toMatchObject({ count: 10, source: 'engine', older_pending: false });
  });

  it('a caller that goes away stops the wait (the request signal), the phone still asked once', async () => {
    const { engine, world } = await setup({ olderHistoryWaitMs: 60_000 });
    world.historyAnswers = 'never';
    const gone = new AbortController();
    const asked = engine.history!.fetchOlder({ id: 'M31', chat_id: PEERS[0], from_me: false, timestamp: T0 + 31 * 60 }, 10, { signal: gone.signal });
    await waitFor(() => world.last.callsTo('fetchMessageHistory').length === 1, 'the request');
    gone.abort();
    expect(await asked).toEqual({ received: 0, answered: false });
  });

  it('not connected: the store page at once, the phone not asked', async () => {
    const { srv, world, engine } = await setup();
    const newest = await page(srv, 'limit=5');
    world.network = 'offline';
    world.last.close(408);
    await waitFor(() => engine.status().state === 'disconnected', 'the disconnect');
    const offline = await page(srv, `limit=10&before=${newest.next_before}`);
    expect(offline).toMatchObject({ count: 0, source: 'store', older_pending: false });
    expect(world.sockets.flatMap((s) => s.callsTo('fetchMessageHistory'))).toEqual([]);
  });

  it('an engine that cannot ask the phone (sandbox): the start of the stored chat is the start', async () => {
    const srv = await startTestServer();
    cleanups.push(() => srv.close());
    await srv.call('POST', '/api/sandbox/link', {});
    await srv.call('POST', '/api/sandbox/inbound', { from: '15550009001', body: 'only one' });
    const only = (await srv.call('GET', '/api/chats/15550009001@c.us/messages')).json;
    expect(only).toMatchObject({ count: 1, next_before: null, has_older: false, source: 'store', older_pending: false });
  });
});
