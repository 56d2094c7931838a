// History sync end to end, over real HTTP against the Baileys engine on a fake socket: a batch of history the phone
// sends lands in the store (every message, searchable) and tells the outside world once (history.synced), never
// message by message; live messages after it are still announced.
import type { WAMessage } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { baileysSetup, link, PEERS } from './fakes/fake-baileys-engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const GROUP = '120363000000000099@g.us';

/** n history messages across two chats, newest first (as Baileys hands them over); number 777 says "needle". */
function history(n: number, base = 1_700_000_000): WAMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 2 ? { remoteJid: '15550100001@s.whatsapp.net', fromMe: i % 3 === 0, id: `HIST${i}` } : { remoteJid: GROUP, fromMe: false, id: `HIST${i}`, participant: '15550100002@s.whatsapp.net' },
    message: { conversation: i === 777 ? 'the needle in the history' : `old message ${i}` },
    messageTimestamp: base + i,
    pushName: 'Peer',
  })).reverse();
}

async function baileysServer(): Promise<{ srv: TestServer; receiver: Receiver; ctx: ReturnType<typeof baileysSetup> }> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const ctx = baileysSetup();
  cleanups.push(ctx.close);
  const srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: receiver.url, WHATSAPP_WEBHOOK_SECRET: 'history-test-secret-0123456789' }, { engine: ctx.engine, events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } });
  cleanups.push(() => srv.close());
  await link(ctx.engine, ctx.world);
  return { srv, receiver, ctx };
}

describe('history sync', () => {
  it('a batch of 2,000 messages: all stored and searchable, one history.synced event, no message webhooks', async () => {
    const { srv, receiver, ctx } = await baileysServer();
    const n = 2_000;
    ctx.world.last.ev.emit('messaging-history.set', {
      chats: [{ id: '15550100001@s.whatsapp.net', name: 'Alice' }, { id: GROUP, name: 'History group' }],
      contacts: [],
      messages: history(n),
      isLatest: true,
      progress: 100,
      syncType: 2,
    });
    // A live message after the sync: announced as usual, and proof the webhooks before it were all delivered.
    await waitFor(async () => (await srv.call('GET', `/api/events?types=history.synced`)).json.count === 1, 'the history summary');
    ctx.world.last.inbound(PEERS[1], 'live after the sync');
    await waitFor(() => receiver.accepted().some((h) => h.event.type === 'message.received'), 'the live message webhook');

    const person = (await srv.call('GET', `/api/chats/${PEERS[0]}`)).json;
    const group = (await srv.call('GET', `/api/chats/${GROUP}`)).json;
    expect(person.stored_messages + group.stored_messages).toBe(n);
    expect(group.chat).toMatchObject({ name: 'History group', is_group: true });
    const found = (await srv.call('GET', '/api/search?q=needle')).json;
    expect(found.results.map((r: { message: { id: string } }) => r.message.id)).toEqual(['HIST777']);
    const page = (await srv.call('GET', `/api/chats/${GROUP}/messages?limit=3`)).json;
    expect(page.messages.map((m: { id: string }) => m.id)).toEqual(['HIST1994', 'HIST1996', 'HIST1998']);

    const types = receiver.accepted().map((h) => h.event.type);
    expect(types.filter((t) => t.startsWith('message.'))).toEqual(['message.received']);
    const summaries = receiver.accepted().filter((h) => h.event.type === 'history.synced');
    expect(summaries.map((h) => h.event.data)).toEqual([{ count: n, chats: 2, progress: 100, is_latest: true, sync_type: 'FULL' }]);
    // In the log too: every event type a reader can ask for, the history's messages not among them.
    const log = (await srv.call('GET', '/api/events?limit=500&types=message.*')).json;
    expect(log.events.map((e: { data: { message: { body: string } } }) => e.data.message.body)).toEqual(['live after the sync']);
  });

  it('several batches (progress rising) give one summary each, and a message repeated across them is stored once', async () => {
    const { srv, ctx } = await baileysServer();
    const all = history(300);
    const batches = [all.slice(0, 150), all.slice(140, 300)];
    batches.forEach((messages, i) => ctx.world.last.ev.emit('messaging-history.set', { chats: [], contacts: [], messages, isLatest: i === 1, progress: (i + 1) * 50, syncType: 0 }));
    const summaries = await waitFor(async () => {
      const { events } = (await srv.call('GET', '/api/events?types=history.synced')).json;
      return events.length === 2 ? events : null;
    }, 'two summaries');
    expect(summaries.map((e: { data: unknown }) => e.data)).toEqual([
      { count: 150, chats: 0, progress: 50, is_latest: false, sync_type: 'INITIAL_BOOTSTRAP' },
      { count: 160, chats: 0, progress: 100, is_latest: true, sync_type: 'INITIAL_BOOTSTRAP' },
    ]);
    const person = (await srv.call('GET', `/api/chats/${PEERS[0]}`)).json;
    const group = (await srv.call('GET', `/api/chats/${GROUP}`)).json;
    expect(person.stored_messages + group.stored_messages).toBe(300);
  });

  it('the sandbox simulates one: POST /api/sandbox/history stores the batch and announces it once', async () => {
    const srv = await startTestServer();
    cleanups.push(() => srv.close());
    await srv.call('POST', '/api/sandbox/link', {});
    const { status, json } = await srv.call('POST', '/api/sandbox/history', { messages: 1_200, chats: 3 });
    expect(status).toBe(200);
    expect(json.synced).toEqual({ count: 1_200, chats: 3, progress: 100, is_latest: true, sync_type: 'FULL' });
    const chat = (await srv.call('GET', '/api/chats/15550020001@c.us')).json;
    expect(chat.stored_messages).toBe(400);
    const found = (await srv.call('GET', '/api/search?q=600')).json;
    expect(found.results.map((r: { message: { body: string } }) => r.message.body)).toEqual(['Old message 600 of 1200']);
    const messageEvents = (await srv.call('GET', '/api/events?types=message.*')).json;
    expect(messageEvents.count).toBe(0);
    const summaries = (await srv.call('GET', '/api/events?types=history.synced')).json;
    expect(summaries.events.map((e: { data: unknown }) => e.data)).toEqual([json.synced]);
    expect((await srv.call('POST', '/api/sandbox/history', { messages: 0 })).status).toBe(400);
    // The people the sync made chats with are on WhatsApp by the sandbox's own contacts rule.
    const people = (await srv.call('GET', '/api/chats?limit=100')).json.chats.map((c: { id: string }) => c.id).filter((id: string) => id.startsWith('1555002'));
    expect(people).toHaveLength(3);
    const checked = await srv.call('POST', '/api/contacts/check', { phone_numbers: people.map((id: string) => id.replace('@c.us', '')) });
    expect(checked.json.results.map((r: { on_whatsapp: boolean }) => r.on_whatsapp)).toEqual([true, true, true]);
  });
});
