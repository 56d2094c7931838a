// MCP resources under stored keys, with real v2 SDK clients in both eras: every resource needs the read scope; a key
// limited to some chats lists and reads only those (another chat reads exactly like one that does not exist), and its
// subscriptions (legacy resources/subscribe, 2026-07-28 subscriptions/listen) never hear of other chats.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ADMIN = 'resources-admin-key-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const ALICE = '15550001001'; // seeded sandbox chats
const BOB = '15550001002';
const aliceUri = `whatsapp://chats/${ALICE}@c.us`;
const bobUri = `whatsapp://chats/${BOB}@c.us`;

let srv: TestServer;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await srv?.close();
});

async function start(): Promise<void> {
  srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN });
  await srv.sandbox.linkNow();
  await waitFor(() => srv.app.services.store.getChat(`${BOB}@c.us`), 'seeded chats');
}

async function key(name: string, scopes: string[], chats?: string[]): Promise<Record<string, string>> {
  const res = await srv.call('POST', '/api/keys', { name, scopes, ...(chats ? { chats } : {}) }, admin);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return { authorization: `Bearer ${res.json.key}` };
}

async function client(era: 'legacy' | 'modern', headers: Record<string, string>): Promise<Client> {
  const c = new Client({ name: 'resources-test', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
  await c.connect(new StreamableHTTPClientTransport(new URL('/mcp', srv.url), { requestInit: { headers } }));
  clients.push(c);
  return c;
}

const textOf = (r: { contents: unknown[] }) => JSON.parse((r.contents[0] as { text: string }).text);

async function readError(c: Client, uri: string): Promise<{ code: number; message: string }> {
  const err = await c.readResource({ uri }).then(
    () => null,
    (e: { code: number; message: string }) => e,
  );
  expect(err, `${uri} should not be readable`).not.toBeNull();
  return { code: err!.code, message: err!.message };
}

describe.each(['legacy', 'modern'] as const)('%s era', (era) => {
  it('a chat-limited key lists and reads its chats only; another chat is answered like a missing one', async () => {
    await start();
    const c = await client(era, await key('alice-reader', ['read'], [`+${ALICE}`]));
    const uris = (await c.listResources()).resources.map((r) => r.uri);
    expect(uris).toEqual(['whatsapp://status', 'whatsapp://chats', aliceUri]);
    const chats = textOf(await c.readResource({ uri: 'whatsapp://chats' }));
    expect(chats.chats.map((x: { id: string }) => x.id)).toEqual([`${ALICE}@c.us`]);
    expect(textOf(await c.readResource({ uri: aliceUri })).chat.id).toBe(`${ALICE}@c.us`);
    const other = await readError(c, bobUri);
    const missing = await readError(c, 'whatsapp://chats/15559999999@c.us');
    expect(other.code).toBe(missing.code);
    expect(other.message.replace(BOB, '#')).toBe(missing.message.replace('15559999999', '#'));
    // Media of a message in another chat: the same not-found as a message that does not exist.
    const bobMessage = srv.app.services.store.lastMessages(`${BOB}@c.us`, 1)[0]!;
    const media = await readError(c, `whatsapp://media/${encodeURIComponent(bobMessage.id)}`);
    const noMessage = await readError(c, 'whatsapp://media/nope');
    expect(media.code).toBe(noMessage.code);
    expect(media.message.replace(bobMessage.id, '#')).toBe(noMessage.message.replace('nope', '#'));
    expect(await c.readResource({ uri: 'whatsapp://status' })).toMatchObject({ contents: [{ uri: 'whatsapp://status' }] });
    // A key with every chat still sees them all.
    const all = await client(era, admin);
    expect((await all.listResources()).resources.map((r) => r.uri)).toEqual(expect.arrayContaining([aliceUri, bobUri]));
  });

  it('a key without the read scope lists no resources and reads none, status included', async () => {
    await start();
    const c = await client(era, await key('sender-only', ['send']));
    expect((await c.listResources()).resources).toEqual([]);
    const err = await readError(c, 'whatsapp://status');
    expect(err.message).toMatch(/read scope/);
    expect((await readError(c, aliceUri)).message).toMatch(/read scope/);
  });
});

describe('subscriptions of a chat-limited key', () => {
  it('legacy: subscribed to two chats and the list, it is told only of its own chat', async () => {
    await start();
    const c = await client('legacy', await key('alice-watcher', ['read'], [`+${ALICE}`]));
    const updates: string[] = [];
    c.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    for (const uri of [aliceUri, bobUri, 'whatsapp://chats']) await c.subscribeResource({ uri });
    // Bob's message first: had it been notified, it would arrive before Alice's on the same stream.
    await srv.call('POST', '/api/sandbox/inbound', { from: BOB, body: 'for bob only' }, admin);
    await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, body: 'for alice' }, admin);
    await waitFor(() => updates.includes(aliceUri) && updates.includes('whatsapp://chats'), 'alice updates');
    expect(updates.sort()).toEqual([aliceUri, 'whatsapp://chats'].sort());
  });

  it('modern: the listen filter is narrowed to its chats and the status, and only they are notified', async () => {
    await start();
    const c = await client('modern', await key('alice-listener', ['read'], [`+${ALICE}`]));
    const updates: string[] = [];
    c.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const sub = await c.listen({ resourceSubscriptions: [aliceUri, bobUri, 'whatsapp://chats', 'whatsapp://status'], resourcesListChanged: true });
    expect(sub.honoredFilter).toEqual({ resourceSubscriptions: [aliceUri, 'whatsapp://status'] });
    await srv.call('POST', '/api/sandbox/inbound', { from: BOB, body: 'for bob only' }, admin);
    await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, body: 'for alice' }, admin);
    await waitFor(() => updates.includes(aliceUri), 'alice update');
    expect(updates).toEqual([aliceUri]);
    await sub.close();
  });
});

it('a chat-limited key lists its chat though 100 other chats have newer messages (narrowed in the query)', async () => {
  await start();
  for (let i = 0; i < 101; i++) {
    const from = `15552${String(i + 1).padStart(3, '0')}777`;
    const sent = await srv.call('POST', '/api/sandbox/inbound', { from, body: `newer ${i}` }, admin);
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
  }
  await waitFor(() => srv.app.services.store.getChat('15552101777@c.us'), 'the newer chats stored');
  const c = await client('modern', await key('alice-only', ['read'], [`+${ALICE}`]));
  const chats = textOf(await c.readResource({ uri: 'whatsapp://chats' }));
  expect(chats.chats.map((x: { id: string }) => x.id)).toEqual([`${ALICE}@c.us`]);
  expect((await c.listResources()).resources.map((r) => r.uri)).toContain(aliceUri);
});
