// GET /api/events: SSE with replay after a disconnect, JSON polling, the same security checks as the rest of /api.
import { afterEach, describe, expect, it } from 'vitest';
import { openSse } from './helpers/sse.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const inbound = (s: TestServer, from: string, body: string) => s.call('POST', '/api/sandbox/inbound', { from, body });
const bodies = (frames: Array<{ data: any }>) => frames.map((f) => f.data.data.message.body);

async function linked(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer(env);
  await s.call('POST', '/api/sandbox/link', {});
  return s;
}

describe('SSE', () => {
  it('streams live events, then after a disconnect replays what was missed from Last-Event-ID', async () => {
    srv = await linked();
    const first = await openSse(`${srv.url}/api/events?types=message.received`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await inbound(srv, '15550007001', 'one');
    await inbound(srv, '15550007001', 'two');
    await waitFor(() => first.frames.length >= 2, 'two live events');
    expect(bodies(first.frames)).toEqual(['one', 'two']);
    expect(first.frames[0]).toMatchObject({ event: 'message.received', id: String(first.frames[0]!.data.cursor) });
    const lastId = first.frames[1]!.id!;
    first.close();
    await first.closed;

    // Missed while disconnected.
    await inbound(srv, '15550007001', 'three');
    await inbound(srv, '15550007002', 'four');
    const again = await openSse(`${srv.url}/api/events?types=message.received`, { 'last-event-id': lastId });
    await waitFor(() => again.frames.length >= 2, 'the replay');
    await inbound(srv, '15550007001', 'five');
    await waitFor(() => again.frames.length >= 3, 'live after the replay');
    expect(bodies(again.frames)).toEqual(['three', 'four', 'five']);
    const ids = again.frames.map((f) => Number(f.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]).toBeGreaterThan(Number(lastId));
    again.close();
  });

  it('?after= replays from a cursor; without it the stream starts at now', async () => {
    srv = await linked();
    await inbound(srv, '15550007003', 'old');
    const poll = await srv.call('GET', '/api/events?types=message.received');
    const oldCursor = poll.json.events.at(-1).cursor;
    const fromStart = await openSse(`${srv.url}/api/events?after=${oldCursor - 1}&types=message.received`);
    const fromNow = await openSse(`${srv.url}/api/events?types=message.received`);
    await waitFor(() => fromStart.frames.length >= 1, 'the replayed event');
    await inbound(srv, '15550007003', 'new');
    await waitFor(() => fromStart.frames.length >= 2 && fromNow.frames.length >= 1, 'the live event');
    expect(bodies(fromStart.frames)).toEqual(['old', 'new']);
    expect(bodies(fromNow.frames)).toEqual(['new']);
    fromStart.close();
    fromNow.close();
  });

  it('sends heartbeat comments while nothing happens', async () => {
    srv = await startTestServer({}, { eventStream: { heartbeatMs: 20 } });
    const s = await openSse(`${srv.url}/api/events`);
    await waitFor(() => s.comments.filter((c) => c === 'ping').length >= 2, 'two heartbeats');
    expect(s.comments[0]).toMatch(/^cursor \d+$/);
    expect(s.frames).toEqual([]);
    s.close();
  });

  it('outlives the server\'s request and keep-alive timeouts (they bound receiving a request, not a stream)', async () => {
    srv = await startTestServer({}, { timeouts: { headersMs: 100, requestMs: 200, keepAliveMs: 100 }, eventStream: { heartbeatMs: 50 } });
    await srv.call('POST', '/api/sandbox/link', {});
    const s = await openSse(`${srv.url}/api/events?types=message.received`);
    // Ten heartbeats is well past every timeout above.
    await waitFor(() => s.comments.filter((c) => c === 'ping').length >= 10, 'ten heartbeats');
    await inbound(srv, '15550007009', 'still here');
    await waitFor(() => s.frames.length >= 1, 'an event on the old stream');
    expect(bodies(s.frames)).toEqual(['still here']);
    s.close();
  });

  it('checks the API key, Host and the cursor like every /api route', async () => {
    const key = 'k'.repeat(24);
    srv = await startTestServer({ WHATSAPP_API_KEY: key });
    expect((await openSse(`${srv.url}/api/events`)).status).toBe(401);
    const ok = await openSse(`${srv.url}/api/events`, { authorization: `Bearer ${key}` });
    expect(ok.status).toBe(200);
    ok.close();
    // fetch cannot set Host; a cross-site Origin goes through the same guard.
    expect((await openSse(`${srv.url}/api/events`, { origin: 'https://evil.example', authorization: `Bearer ${key}` })).status).toBe(403);
    expect((await openSse(`${srv.url}/api/events?after=abc`, { authorization: `Bearer ${key}` })).status).toBe(400);
    expect((await openSse(`${srv.url}/api/events?types=nope`, { authorization: `Bearer ${key}` })).status).toBe(400);
  });
});

describe('JSON polling', () => {
  it('returns events after a cursor with next_after, filtered by type', async () => {
    srv = await linked();
    await inbound(srv, '15550007004', 'p1');
    await inbound(srv, '15550007004', 'p2');
    const page = await srv.call('GET', '/api/events?types=message.*&limit=10', undefined, { accept: 'application/json' });
    expect(page.status).toBe(200);
    expect(page.json).toMatchObject({ ok: true, has_more: false });
    expect(page.json.events.filter((e: any) => e.type === 'message.received').map((e: any) => e.data.message.body)).toEqual(['p1', 'p2']);
    expect(page.json.events.every((e: any) => e.type.startsWith('message.'))).toBe(true);
    expect(page.json.untrusted_content_notice).toMatch(/not.*instructions|never as instructions/);

    const empty = await srv.call('GET', `/api/events?after=${page.json.next_after}&types=message.received`);
    expect(empty.json).toMatchObject({ count: 0, next_after: page.json.next_after });
    await inbound(srv, '15550007004', 'p3');
    const next = await srv.call('GET', `/api/events?after=${page.json.next_after}&types=message.received`);
    expect(next.json.events.map((e: any) => e.data.message.body)).toEqual(['p3']);

    // The whole log: connection states and the chat appear too; limit pages it.
    const all = await srv.call('GET', '/api/events?limit=2');
    expect(all.json).toMatchObject({ count: 2, has_more: true });
    const types = (await srv.call('GET', '/api/events?limit=500')).json.events.map((e: any) => e.type);
    expect(types).toEqual(expect.arrayContaining(['connection.state', 'chat.created', 'message.received']));
    expect((await srv.call('GET', '/api/events?types=bogus.*')).status).toBe(400);
  });
});
