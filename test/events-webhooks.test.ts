// Webhooks end to end: a real server (sandbox engine) POSTing to a local receiver that fails, recovers, refuses.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { httpPost } from '../src/events/http-post.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const SECRET = 'test-webhook-secret-0123456789';
const fast = { events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } };
let srv: TestServer | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await srv?.close();
  await receiver?.close();
  srv = receiver = undefined;
});

async function serverFor(r: Receiver, env: Record<string, string> = {}, dir?: string): Promise<TestServer> {
  const s = await startTestServer({ WHATSAPP_WEBHOOK_URL: r.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', ...env }, fast, dir);
  await s.call('POST', '/api/sandbox/link', {});
  return s;
}

const inbound = (s: TestServer, from: string, body: string) => s.call('POST', '/api/sandbox/inbound', { from, body });

describe('webhooks', () => {
  it('signs each POST with HMAC-SHA256 over "<timestamp>.<body>" and a cursor-based id', async () => {
    receiver = await startReceiver();
    srv = await serverFor(receiver);
    expect((await inbound(srv, '15550009001', 'hello hook')).status).toBe(200);
    const [hook] = await waitFor(() => (receiver!.requests.length ? receiver!.requests : null), 'a webhook');
    const expected = createHmac('sha256', SECRET).update(`${hook!.timestamp}.${hook!.rawBody}`).digest('hex');
    expect(hook!.signature).toBe(`sha256=${expected}`);
    expect(Math.abs(Number(hook!.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(hook!.event).toMatchObject({ type: 'message.received', chat_id: '15550009001@c.us', data: { message: { body: 'hello hook', from_me: false } } });
    expect(hook!.id).toBe(`evt_${hook!.event.cursor}`);
    // A forged body does not verify.
    const forged = createHmac('sha256', SECRET).update(`${hook!.timestamp}.${hook!.rawBody.replace('hello', 'HELLO')}`).digest('hex');
    expect(hook!.signature).not.toBe(`sha256=${forged}`);
  });

  it('retries through 500s: every event arrives once, in order per chat', async () => {
    // The first five requests fail; after that the receiver is healthy.
    receiver = await startReceiver((_h, n) => (n < 5 ? 500 : 200));
    srv = await serverFor(receiver);
    const sent: Record<string, string[]> = { '15550009001@c.us': [], '15550009002@c.us': [] };
    for (let i = 0; i < 6; i++) {
      for (const from of ['15550009001', '15550009002']) {
        const body = `m${i} from ${from}`;
        await inbound(srv, from, body);
        sent[`${from}@c.us`]!.push(body);
      }
    }
    await waitFor(() => receiver!.accepted().length >= 12, '12 accepted deliveries');
    const accepted = receiver.accepted();
    expect(receiver.requests.filter((h) => h.status === 500)).toHaveLength(5);
    expect(new Set(accepted.map((h) => h.id)).size).toBe(accepted.length);
    for (const [chat, bodies] of Object.entries(sent)) {
      expect(accepted.filter((h) => h.event.chat_id === chat).map((h) => h.event.data.message.body)).toEqual(bodies);
    }
    const cursors = accepted.map((h) => h.event.cursor);
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
  });

  it('dead-letters after the last try, and redelivers through REST with the same id', async () => {
    let healthy = false;
    receiver = await startReceiver(() => (healthy ? 200 : 503));
    srv = await serverFor(receiver, { WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '3' });
    await inbound(srv, '15550009003', 'doomed');
    const dead = await waitFor(async () => (await srv!.call('GET', '/api/webhooks/dead-letters')).json.dead_letters[0], 'a dead letter');
    expect(dead).toMatchObject({ attempts: 3, last_status: 503, event: { type: 'message.received', data: { message: { body: 'doomed' } } } });
    expect(dead.url).toBe(receiver.url.replace(/\?.*$/, '?***')); // shown without its query token
    expect(receiver.requests.map((h) => h.id)).toEqual([`evt_${dead.event_cursor}`, `evt_${dead.event_cursor}`, `evt_${dead.event_cursor}`]);

    // The lane moved on: the next event is delivered once the receiver is back.
    healthy = true;
    await inbound(srv, '15550009003', 'after');
    await waitFor(() => receiver!.accepted().some((h) => h.event.data.message.body === 'after'), 'the next event');

    const redo = await srv.call('POST', `/api/webhooks/dead-letters/${dead.id}/redeliver`);
    expect(redo.status).toBe(200);
    expect(redo.json).toMatchObject({ ok: true, id: dead.id, delivered: true, status: 200 });
    expect(receiver.accepted().filter((h) => h.id === `evt_${dead.event_cursor}`)).toHaveLength(1);
    expect((await srv.call('GET', '/api/webhooks/dead-letters')).json.count).toBe(0);
    expect((await srv.call('POST', `/api/webhooks/dead-letters/${dead.id}/redeliver`)).status).toBe(404);
  });

  it('a 4xx other than 408/429 is a permanent failure: dead-lettered at the first try', async () => {
    receiver = await startReceiver(() => 410);
    srv = await serverFor(receiver);
    await inbound(srv, '15550009004', 'gone');
    const dead = await waitFor(async () => (await srv!.call('GET', '/api/webhooks/dead-letters')).json.dead_letters[0], 'a dead letter');
    expect(dead).toMatchObject({ attempts: 1, last_status: 410 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('a refused connection is retried, then dead-lettered with no status', async () => {
    // A port that was just free: nothing listens there.
    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '2' }, fast);
    await srv.call('POST', '/api/sandbox/link', {});
    await inbound(srv, '15550009006', 'nobody home');
    const dead = await waitFor(async () => (await srv!.call('GET', '/api/webhooks/dead-letters')).json.dead_letters[0], 'a dead letter');
    expect(dead).toMatchObject({ attempts: 2, last_status: null, last_error: 'ECONNREFUSED' });
  });

  it('a URL configured later starts at the current event; WHATSAPP_WEBHOOK_START=oldest backfills from the kept log', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    await inbound(srv, '15550009007', 'before any webhook');
    const dir = srv.dir;
    await srv.close();

    const late = await startReceiver();
    const backfill = await startReceiver();
    try {
      srv = await startTestServer(
        { WHATSAPP_WEBHOOK_URL: late.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' },
        fast,
        dir,
      );
      await waitFor(async () => (await srv!.call('GET', '/api/status')).json.ready, 'ready');
      await inbound(srv, '15550009007', 'after the webhook');
      await waitFor(() => late.accepted().length >= 1, 'the new event');
      await srv.close();
      expect(late.accepted().map((h) => h.event.data.message.body)).toEqual(['after the webhook']);

      srv = await startTestServer(
        { WHATSAPP_WEBHOOK_URL: backfill.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_START: 'oldest' },
        fast,
        dir,
      );
      await waitFor(() => backfill.accepted().length >= 2, 'the kept events');
      expect(backfill.accepted().map((h) => h.event.data.message.body)).toEqual(['before any webhook', 'after the webhook']);
    } finally {
      await srv?.close();
      srv = undefined;
      await late.close();
      await backfill.close();
    }
  });

  it('keeps pending deliveries across a restart', async () => {
    let up = false;
    receiver = await startReceiver(() => (up ? 200 : 503));
    srv = await serverFor(receiver, { WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '50' });
    await inbound(srv, '15550009005', 'before restart 1');
    await inbound(srv, '15550009005', 'before restart 2');
    await waitFor(() => receiver!.requests.length >= 2, 'failed tries');
    const dir = srv.dir;
    await srv.close();
    const triedBefore = receiver.requests.length;

    up = true;
    srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: receiver.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '50' }, fast, dir);
    await waitFor(() => receiver!.accepted().length >= 2, 'both events after the restart');
    expect(receiver.accepted().map((h) => h.event.data.message.body)).toEqual(['before restart 1', 'before restart 2']);
    expect(receiver.requests.length).toBeGreaterThan(triedBefore);
    expect(new Set(receiver.requests.map((h) => h.id)).size).toBe(2);

    // A clean restart after success saves the progress: nothing is delivered twice.
    await srv.close();
    srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: receiver.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' }, fast, dir);
    await waitFor(async () => (await srv!.call('GET', '/api/status')).json.ready, 'ready again');
    await inbound(srv, '15550009005', 'after the second restart');
    await waitFor(() => receiver!.accepted().length >= 3, 'the third event');
    expect(receiver.accepted().map((h) => h.event.data.message.body)).toEqual(['before restart 1', 'before restart 2', 'after the second restart']);
  });
});

/** A receiver that answers after `delayMs`, recording how many requests (and which chats) overlap. */
async function slowReceiver(delayMs: number, status: (event: ReceivedEvent) => number = () => 200) {
  const inFlight = new Set<string>();
  const log = { maxInFlight: 0, sameChatOverlap: 0, accepted: [] as ReceivedEvent[], tries: [] as ReceivedEvent[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedEvent;
      const key = String(event.chat_id);
      if (inFlight.has(key)) log.sameChatOverlap++;
      inFlight.add(key);
      log.maxInFlight = Math.max(log.maxInFlight, inFlight.size);
      log.tries.push(event);
      setTimeout(() => {
        inFlight.delete(key);
        const code = status(event);
        if (code < 300) log.accepted.push(event);
        res.writeHead(code).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, log, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}
type ReceivedEvent = { cursor: number; chat_id: string | null; data: { message: { body: string } } };

describe('webhook concurrency', () => {
  it('keeps several requests in flight, never two for one chat, each chat in order', async () => {
    const slow = await slowReceiver(40);
    try {
      srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: slow.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_CONCURRENCY: '4' }, fast);
      await srv.call('POST', '/api/sandbox/link', {});
      const chats = ['15550009101', '15550009102', '15550009103', '15550009104', '15550009105'];
      for (let i = 0; i < 4; i++) for (const from of chats) await inbound(srv, from, `m${i} from ${from}`);
      await waitFor(() => slow.log.accepted.length >= 20 || null, '20 deliveries');
      expect(slow.log.maxInFlight).toBeGreaterThan(1);
      expect(slow.log.maxInFlight).toBeLessThanOrEqual(4);
      expect(slow.log.sameChatOverlap).toBe(0);
      for (const from of chats) {
        expect(slow.log.accepted.filter((e) => e.chat_id === `${from}@c.us`).map((e) => e.data.message.body)).toEqual([0, 1, 2, 3].map((i) => `m${i} from ${from}`));
      }
    } finally {
      await srv?.close();
      srv = undefined;
      await slow.close();
    }
  });

  it('with the default of one, a burst is delivered in cursor order across chats', async () => {
    const slow = await slowReceiver(30);
    try {
      srv = await startTestServer({ WHATSAPP_WEBHOOK_URL: slow.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' }, fast);
      await srv.call('POST', '/api/sandbox/link', {});
      // While the first request is in flight the rest are read together: A2 must not fall behind B and C.
      for (const from of ['15550009301', '15550009301', '15550009302', '15550009303', '15550009301']) await inbound(srv, from, `from ${from}`);
      await waitFor(() => slow.log.accepted.length >= 5 || null, '5 deliveries');
      const cursors = slow.log.accepted.map((e) => e.cursor);
      expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
      expect(slow.log.maxInFlight).toBe(1);
    } finally {
      await srv?.close();
      srv = undefined;
      await slow.close();
    }
  });

  it('a chat whose events keep failing does not hold the other chats back', async () => {
    let healthy = false;
    const slow = await slowReceiver(5, (e) => (e.chat_id === '15550009201@c.us' && !healthy ? 503 : 200));
    try {
      srv = await startTestServer(
        { WHATSAPP_WEBHOOK_URL: slow.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', WHATSAPP_WEBHOOK_CONCURRENCY: '2', WHATSAPP_WEBHOOK_MAX_ATTEMPTS: '50' },
        { events: { webhook: { backoff: { baseMs: 50, maxMs: 100 } } } },
      );
      await srv.call('POST', '/api/sandbox/link', {});
      await inbound(srv, '15550009201', 'stuck 1');
      await inbound(srv, '15550009201', 'stuck 2');
      for (let i = 0; i < 5; i++) await inbound(srv, '15550009202', `free ${i}`);
      await waitFor(() => slow.log.accepted.length >= 5 || null, 'the other chat delivered');
      expect(slow.log.accepted.map((e) => e.data.message.body)).toEqual([0, 1, 2, 3, 4].map((i) => `free ${i}`));
      healthy = true;
      await waitFor(() => slow.log.accepted.length >= 7 || null, 'the stuck chat delivered once healthy');
      expect(slow.log.accepted.slice(5).map((e) => e.data.message.body)).toEqual(['stuck 1', 'stuck 2']);
      expect(slow.log.sameChatOverlap).toBe(0);
    } finally {
      await srv?.close();
      srv = undefined;
      await slow.close();
    }
  });
});

describe('webhook HTTP client', () => {
  it('gives up on a receiver that does not answer within the timeout', async () => {
    const silent = http.createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      await expect(httpPost(url, {}, '{}', 50)).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('webhook config', () => {
  it('refuses webhook URLs without a secret, naming the variable, unless unsigned is allowed', () => {
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: 'http://127.0.0.1:9/hook' })).toThrow(ConfigError);
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: 'http://127.0.0.1:9/hook' })).toThrow(/WHATSAPP_WEBHOOK_SECRET/);
    expect(loadConfig({ WHATSAPP_WEBHOOK_URL: 'http://127.0.0.1:9/hook', WHATSAPP_WEBHOOK_ALLOW_UNSIGNED: 'true' }).webhookUrls).toEqual(['http://127.0.0.1:9/hook']);
    expect(loadConfig({ WHATSAPP_WEBHOOK_URL: 'http://a.test/1, https://b.test/2', WHATSAPP_WEBHOOK_SECRET: SECRET }).webhookUrls).toHaveLength(2);
  });

  it('names the variable for a bad URL, event type or short secret, and never echoes the secret', () => {
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: 'ftp://x.test/', WHATSAPP_WEBHOOK_SECRET: SECRET })).toThrow(/^Invalid WHATSAPP_WEBHOOK_URL=/);
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_EVENTS: 'message.*,mesage.sent' })).toThrow(/^Invalid WHATSAPP_WEBHOOK_EVENTS=.*mesage\.sent/);
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_SECRET: 'short-secret' })).toThrow(/^Invalid WHATSAPP_WEBHOOK_SECRET="\*\*\*"/);
  });
});
