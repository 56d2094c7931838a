// The event log on its own: cursors, batching, retention, filtered reads, and the follower's replay-to-live switch.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../src/events/event-bus.js';
import { EventLog } from '../src/events/event-log.js';
import { EventFollower } from '../src/events/follow.js';
import { parseTypeFilter } from '../src/events/types.js';
import { openDatabase } from '../src/store/db.js';

function fixture() {
  let now = 1_000_000;
  const bus = new EventBus();
  const log = new EventLog(openDatabase(':memory:'), bus, () => now);
  return { log, bus, advance: (ms: number) => (now += ms) };
}

describe('event log', () => {
  it('batches appends of one turn and publishes them after the commit, in cursor order', async () => {
    const { log, bus } = fixture();
    const published: number[] = [];
    bus.onEvent((e) => published.push(e.cursor));
    const records = await Promise.all([1, 2, 3].map((i) => log.append('message.ack', `c${i}@c.us`, { i })));
    expect(records.map((r) => r!.cursor)).toEqual([1, 2, 3]);
    expect(published).toEqual([1, 2, 3]);
    expect(log.after(0, 10).events.map((e) => e.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
  });

  it('a burst larger than one multi-row insert keeps every cursor matched to its own event', async () => {
    const { log, bus } = fixture();
    await log.append('auth.qr', null, { qr: 'first' });
    const published: Array<[number, unknown]> = [];
    bus.onEvent((e) => published.push([e.cursor, e.data.i]));
    // 16 rows per statement: two full chunks and a remainder, in one turn.
    const records = await Promise.all(Array.from({ length: 37 }, (_, i) => log.append('message.ack', 'x@c.us', { i })));
    expect(records.map((r) => [r!.cursor, r!.data.i])).toEqual(Array.from({ length: 37 }, (_, i) => [i + 2, i]));
    expect(published).toEqual(records.map((r) => [r!.cursor, r!.data.i]));
    expect(log.after(1, 100).events.map((e) => [e.cursor, e.data.i])).toEqual(published);
  });

  it('a batch that fails part-way commits none of it, and the next append works', async () => {
    const db = openDatabase(':memory:');
    const bus = new EventBus();
    const errors: unknown[] = [];
    const log = new EventLog(db, bus, () => 1_000_000, (e) => errors.push(e));
    let rows = 0;
    db.function('nth_row', () => ++rows);
    db.exec(`CREATE TEMP TRIGGER fail_20th BEFORE INSERT ON events WHEN nth_row() = 20 BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const published: number[] = [];
    bus.onEvent((e) => published.push(e.cursor));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append('message.ack', 'x@c.us', { i })));
    expect(results.every((r) => r === null)).toBe(true);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0);
    expect(published).toEqual([]);
    expect(errors).toHaveLength(1);
    const next = await log.append('message.ack', 'x@c.us', { i: 'after' });
    expect(next).not.toBeNull();
    expect(published).toEqual([next!.cursor]);
  });

  it('prunes by age and never hands out a cursor twice, even after pruning everything', async () => {
    const { log, advance } = fixture();
    await log.append('auth.qr', null, { qr: 'a' });
    await log.append('auth.qr', null, { qr: 'b' });
    advance(10 * 3_600_000);
    await log.append('auth.qr', null, { qr: 'c' });
    expect(log.prune(1_000_000 + 3_600_000)).toBe(2);
    expect(log.after(0, 10).events.map((e) => e.cursor)).toEqual([3]);
    advance(10 * 3_600_000);
    expect(log.prune(1_000_000 + 15 * 3_600_000)).toBe(1);
    expect(log.latestCursor()).toBe(3);
    expect((await log.append('auth.qr', null, { qr: 'd' }))!.cursor).toBe(4);
  });

  it('a filtered read reports how far it scanned, past events it skipped', async () => {
    const { log } = fixture();
    for (let i = 0; i < 5; i++) await log.append('message.ack', 'x@c.us', {});
    await log.append('outbox.failed', 'x@c.us', {});
    for (let i = 0; i < 3; i++) await log.append('message.ack', 'x@c.us', {});
    const page = log.after(0, 10, parseTypeFilter(['outbox.*']));
    expect(page.events.map((e) => e.cursor)).toEqual([6]);
    expect(page).toMatchObject({ scanned: 9, more: false });
  });

  it('the follower replays, goes live without a gap or a duplicate, and catches up from the log after backpressure', async () => {
    const { log, bus } = fixture();
    for (let i = 0; i < 3; i++) await log.append('message.ack', 'x@c.us', { i });
    const got: number[] = [];
    let room = true;
    const f = new EventFollower(log, bus, { after: 1, pageSize: 1 }, (e) => {
      got.push(e.cursor);
      return room;
    });
    f.start();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([2, 3]);
    room = false;
    await log.append('message.ack', 'x@c.us', { i: 3 }); // delivered, then the consumer reports it is full
    await log.append('message.ack', 'x@c.us', { i: 4 }); // not offered while full
    expect(got).toEqual([2, 3, 4]);
    room = true;
    f.resume();
    await log.append('message.ack', 'x@c.us', { i: 5 });
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([2, 3, 4, 5, 6]);
    f.stop();
  });
});
