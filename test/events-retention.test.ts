// Retention and webhooks together: the log is not pruned past what a webhook still owes, a lane that fell behind
// the retention dead-letters the expired events without trying them, and old dead letters go.
import { afterEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_RETENTION_MS, EventService } from '../src/events/event-service.js';
import type { PostResult } from '../src/events/http-post.js';
import { silentLogger } from '../src/logger.js';
import { openDatabase } from '../src/store/db.js';
import { waitFor } from './helpers/server.js';

const HOUR = 3_600_000;
const URL_A = 'http://127.0.0.1:9/hook';
let service: EventService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

interface Harness {
  db: ReturnType<typeof openDatabase>;
  posted: number[];
  advance(ms: number): void;
  events(): number[];
  /** A new EventService on the same database, as after a restart. */
  restart(): Promise<void>;
}

function setup(answer: () => number, backoffMs = 1, o: { delayMs?: number; concurrency?: number } = {}): Harness {
  let now = 1_800_000_000_000;
  const posted: number[] = [];
  const db = openDatabase(':memory:');
  const make = () => {
    const s = new EventService(
      db,
      {
        eventRetentionHours: 1,
        webhookUrls: [URL_A],
        webhookEvents: [],
        webhookSecret: 'retention-test-secret-0123',
        webhookAllowUnsigned: false,
        webhookMaxAttempts: 3,
        webhookTimeoutSeconds: 1,
        webhookConcurrency: o.concurrency ?? 1,
        webhookStart: 'now',
      },
      silentLogger(),
      {
        now: () => now,
        webhook: {
          backoff: { baseMs: backoffMs, maxMs: backoffMs },
          post: async (_url, headers): Promise<PostResult> => {
            posted.push(Number(headers['x-webhook-id']!.slice(4)));
            if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
            return { status: answer(), retryAfter: null };
          },
        },
      },
    );
    s.webhooks.start();
    return s;
  };
  service = make();
  return {
    db,
    posted,
    advance: (ms) => void (now += ms),
    events: () => db.prepare('SELECT cursor FROM events ORDER BY cursor').pluck().all() as number[],
    restart: async () => {
      await service!.stop();
      service = make();
    },
  };
}

describe('event retention with webhooks', () => {
  it('keeps what a webhook still owes; a lane behind the retention dead-letters it untried, then the log is pruned', async () => {
    let up = false;
    // A long backoff (in the injected clock too): the lane sits on the first event while more arrive.
    const h = setup(() => (up ? 200 : 503), 3_600_000);
    const first = (await service!.log.append('message.received', 'a@c.us', { n: 1 }))!;
    await waitFor(() => h.posted.length === 1 || null, 'the first try');
    const rest = [(await service!.log.append('message.received', 'a@c.us', { n: 2 }))!, (await service!.log.append('message.received', 'a@c.us', { n: 3 }))!];
    h.advance(2 * HOUR);
    service!.prune();
    expect(h.events()).toEqual([first.cursor, ...rest.map((e) => e.cursor)]);
    // Restarted two hours later with the receiver back: all three are past the 1 h retention. They become dead
    // letters (redeliverable) without a POST, and then the log lets them go.
    up = true;
    await h.restart();
    await waitFor(() => service!.webhooks.store.deadLetters(0, 10).length === 3 || null, 'three expired dead letters');
    expect(h.posted).toEqual([first.cursor]);
    const dead = service!.webhooks.store.deadLetters(0, 10);
    expect(dead.map((d) => d.event_cursor)).toEqual([first.cursor, ...rest.map((e) => e.cursor)]);
    for (const d of dead) expect(d).toMatchObject({ last_status: null, last_error: expect.stringMatching(/^expired/) });
    await waitFor(() => (service!.webhooks.deliveredFloor() === rest[1]!.cursor ? true : null), 'the lane past the third event');
    service!.prune();
    expect(h.events()).toEqual([]);
    // A fresh event is delivered as usual.
    const fresh = (await service!.log.append('message.received', 'a@c.us', { n: 4 }))!;
    await waitFor(() => h.posted.includes(fresh.cursor) || null, 'the fresh event delivered');
  });

  it('does not prune past a lane that is behind, even when the events are old', async () => {
    const { advance, events, posted } = setup(() => 503, 3_600_000);
    const a = (await service!.log.append('message.received', 'a@c.us', { n: 1 }))!;
    await waitFor(() => posted.length === 1 || null, 'the first try');
    advance(2 * HOUR);
    // The lane is retrying `a` (backoff): the stored floor is below it, so it must stay.
    expect(service!.webhooks.deliveredFloor()).toBeLessThan(a.cursor);
    service!.prune();
    expect(events()).toEqual([a.cursor]);
  });

  it('a lane whose store write fails starts again instead of stopping delivery and pinning retention', async () => {
    const h = setup(() => 400);
    let failed = false;
    h.db.function('fail_once', () => (failed ? 0 : ((failed = true), 1)));
    h.db.exec(`CREATE TEMP TRIGGER dead_letter_fails BEFORE INSERT ON webhook_dead_letters WHEN fail_once() = 1 BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const a = (await service!.log.append('message.received', 'a@c.us', { n: 1 }))!;
    // The first dead-letter write fails; the lane restarts from its stored state and tries `a` again.
    await waitFor(() => service!.webhooks.store.deadLetters(0, 10).length === 1 || null, 'a dead letter after the restart');
    expect(failed).toBe(true);
    expect(h.posted).toEqual([a.cursor, a.cursor]);
    const b = (await service!.log.append('message.received', 'a@c.us', { n: 2 }))!;
    await waitFor(() => (service!.webhooks.deliveredFloor() === b.cursor ? true : null), 'the lane past b');
    h.advance(2 * HOUR);
    service!.prune();
    expect(h.events()).toEqual([]);
  });

  it('a failing log read ends the run and its deliveries before the lane starts again: each event once', async () => {
    const h = setup(() => 200, 1, { delayMs: 20, concurrency: 2 });
    const after = service!.log.after.bind(service!.log);
    let reads = 0;
    service!.log.after = (...args: Parameters<typeof after>) => {
      if (++reads === 2) throw new Error('SQLITE_IOERR (test)');
      return after(...args);
    };
    const sent: number[] = [];
    for (let i = 0; i < 4; i++) sent.push((await service!.log.append('message.received', 'a@c.us', { n: i }))!.cursor);
    await waitFor(() => (service!.webhooks.deliveredFloor() === sent[3] ? true : null), 'all four delivered');
    await new Promise((r) => setTimeout(r, 100));
    expect([...h.posted].sort((x, y) => x - y)).toEqual(sent);
  });

  it('stop does not wait out a backoff that began after it was called', async () => {
    setup(() => 503, 60_000, { delayMs: 50 });
    await service!.log.append('message.received', 'a@c.us', { n: 1 });
    await new Promise((r) => setTimeout(r, 10)); // the first POST is in flight; it will fail and back off for 60 s
    const t = Date.now();
    await service!.stop();
    service = undefined;
    expect(Date.now() - t).toBeLessThan(2_000);
  });

  it('a progress write that fails is logged, not a crash', async () => {
    const h = setup(() => 200);
    h.db.exec(`CREATE TEMP TRIGGER lanes_fail BEFORE UPDATE ON webhook_lanes BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const a = (await service!.log.append('message.received', 'a@c.us', { n: 1 }))!;
    await waitFor(() => h.posted.includes(a.cursor) || null, 'delivered');
    await new Promise((r) => setTimeout(r, 400)); // past the 250 ms progress write
    h.db.exec('DROP TRIGGER lanes_fail');
  });

  it('prunes dead letters after 30 days', async () => {
    const { advance } = setup(() => 400);
    await service!.log.append('message.received', 'a@c.us', { n: 1 });
    await waitFor(() => service!.webhooks.store.deadLetters(0, 10).length === 1 || null, 'a dead letter');
    advance(DEAD_LETTER_RETENTION_MS - HOUR);
    service!.prune();
    expect(service!.webhooks.store.deadLetters(0, 10)).toHaveLength(1);
    advance(2 * HOUR);
    service!.prune();
    expect(service!.webhooks.store.deadLetters(0, 10)).toHaveLength(0);
  });
});
