// The message store: a write queue in front of MessageWriter and the search indexer, on top of the reads
// (message-reads.ts), which it flushes and indexes before. An in-memory database (':memory:') is its fake in tests;
// production opens <dataDir>/whatsapp.db.
import type { Db } from './db.js';
import { MessageReads } from './message-reads.js';
import { MessageWriter, type StoreEvent } from './message-writer.js';
import { threadCpuMs } from './thread-cpu.js';
import { type CheckpointStats, WalCheckpointer } from './wal-checkpointer.js';

export type { ChatPage, MessageContext } from './message-reads.js';
export type { StoreEvent } from './message-writer.js';

/**
 * The background indexer takes about INDEX_SLICE_MS of the event loop per turn: a chunk sized from the rate it
 * measured on its last chunks, one transaction each, then it yields. Catch-up chunks of up to 50k rows blocked a
 * concurrent request for 330–1,260 ms in bench:history. Bigger chunks index faster (each transaction writes one FTS
 * segment that must later be merged), so the chunk is only as small as the slice needs.
 */
export const INDEX_SLICE_MS = 6;
const SLICE_MIN_ROWS = 50;
export const SLICE_MAX_ROWS = 5_000;
/** sync() (tests, shutdown, benchmarks), where nobody waits on the loop: big chunks. */
export const INDEX_CHUNK_MAX = 50_000;
/**
 * Index lag bound: when more rows than this wait (a bulk writer outran the slices), a bulk write() indexes as many
 * rows as it wrote before it returns, so its caller, which chose the batch size, pays for its own rows.
 */
export const INDEX_LAG_MAX = 20_000;
/**
 * Live traffic: events are written FLUSH_DELAY_MS after the first one queued and indexed INDEX_DELAY_MS after a
 * write, so a steady trickle shares commits instead of paying two per message (measured: ~500 µs of event-loop time
 * per message with a commit each). Reads flush first, so nobody reads around the delay.
 */
export const FLUSH_DELAY_MS = 5;
export const INDEX_DELAY_MS = 50;
/** Reads first index this many pending rows synchronously, so a search right after a write sees it. */
const INDEX_ON_READ = 5_000;

export class MessageStore extends MessageReads {
  private queue: StoreEvent[] = [];
  private flushScheduled = false;
  private indexScheduled = false;
  /** About how many rows wait for the indexer (written minus indexed; exact again whenever it finds none). */
  private unindexed = 0;
  /** The indexer's measured speed, rows per ms of event loop: sizes the next slice's chunk. */
  private indexRowsPerMs = 20;
  private closed = false;
  private readonly fts: ReturnType<typeof prepare>;
  private readonly checkpointer: WalCheckpointer;

  constructor(db: Db, private readonly onError: (err: unknown) => void = () => {}) {
    super(db, new MessageWriter(db));
    this.fts = prepare(db);
    this.checkpointer = new WalCheckpointer(db);
    this.unindexed = this.pendingIndexCount();
    this.scheduleIndex();
  }

  // ---- writes ----

  /** Queue an event; everything queued within FLUSH_DELAY_MS is written together in one transaction. */
  enqueue(ev: StoreEvent): void {
    if (this.closed) return;
    this.queue.push(ev);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), FLUSH_DELAY_MS).unref();
    }
  }

  /** Write everything queued now. Returns the number of new messages. */
  flush(): number {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.closed) return 0;
    const batch = this.queue;
    this.queue = [];
    try {
      return this.written(this.writer.applyBatch(batch));
    } catch (err) {
      this.onError(err);
      return 0;
    } finally {
      this.scheduleIndex();
    }
  }

  /**
   * A linked id's phone number, written at once rather than queued: the message events that follow it (and the event
   * log, which annotates them) must already see it. Rare: once per person.
   */
  learnLid(lid: string, phone: string): void {
    if (this.closed || this.lids.phoneOf(lid) === phone) return;
    try {
      this.writer.applyBatch([{ kind: 'lid', lid, phone }]);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Write events at once, in one transaction (bulk paths: list results, benchmarks). */
  write(events: readonly StoreEvent[]): number {
    this.flush();
    const n = this.written(this.writer.applyBatch(events));
    if (this.unindexed > INDEX_LAG_MAX) this.indexed(this.indexPending(Math.max(n, SLICE_MIN_ROWS)));
    this.scheduleIndex();
    return n;
  }

  /**
   * Index up to `max` listed rows (history below the newest row, edits) and up to `max` rows above the high-water
   * mark, in one transaction; returns how many rows it got through (0: nothing waits).
   */
  indexPending(max: number = SLICE_MAX_ROWS): number {
    let committed = false;
    try {
      const done = this.db.transaction(() => {
        let n = 0;
        // First the walk above the mark; it also covers rows listed there (history that landed above a lagging mark).
        const from = this.fts.indexedTo.get() as number;
        const walk = this.fts.walkBound.get(from, max) as { n: number; hi: number | null };
        if (walk.hi !== null) {
          this.fts.indexRange.run(from, walk.hi);
          this.writer.ids.merge(null, from, walk.hi);
          this.fts.unpendRange.run(from, walk.hi);
          this.fts.setIndexedTo.run(walk.hi);
          n += walk.n;
        }
        // Then listed rows below the mark, oldest first.
        const mark = walk.hi ?? from;
        const hi = (this.fts.pendingBound.get(mark, Math.max(0, max - 1)) ?? this.fts.pendingMax.get(mark)) as number | null | undefined;
        if (hi !== null && hi !== undefined) {
          this.fts.indexUpTo.run(hi);
          this.writer.ids.merge(hi, 0, null);
          n += this.fts.unpendUpTo.run(hi).changes;
        }
        return n;
      })();
      committed = true;
      return done;
    } finally {
      this.writer.ids.merged(committed);
    }
  }

  pendingIndexCount(): number {
    return (this.fts.pendingCount.get() as number) + (this.fts.aboveMarkCount.get() as number);
  }

  /** Flush the queue and index everything (tests, shutdown, benchmarks). */
  sync(): void {
    this.flush();
    while (this.indexed(this.indexPending(INDEX_CHUNK_MAX)) > 0);
  }

  /** The WAL checkpoints done off the event loop (benchmarks, metrics). */
  checkpoints(): CheckpointStats {
    return this.checkpointer.stats();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // First, so this connection is the last one and its close checkpoints the rest and removes the WAL.
    this.checkpointer.stop();
    this.db.close();
  }

  private written(n: number): number {
    this.unindexed += n;
    return n;
  }

  private indexed(n: number): number {
    this.unindexed = n === 0 ? 0 : Math.max(0, this.unindexed - n);
    return n;
  }

  /**
   * The indexer runs on its own event-loop turns, after the writes, one slice per turn. The first slice waits
   * INDEX_DELAY_MS after a write, so a live trickle or a history burst shares one FTS segment per window; while a
   * slice comes back full (more rows wait than it took), the next one runs on the next turn (setImmediate), so the
   * lag shrinks whenever the indexer is faster than the writer, which it is for every engine's history path.
   */
  private scheduleIndex(soon = false): void {
    if (this.indexScheduled || this.closed) return;
    this.indexScheduled = true;
    const run = () => {
      this.indexScheduled = false;
      if (this.closed) return;
      try {
        const chunk = Math.round(Math.min(SLICE_MAX_ROWS, Math.max(SLICE_MIN_ROWS, this.indexRowsPerMs * INDEX_SLICE_MS)));
        const cpu = threadCpuMs();
        const started = performance.now();
        const n = this.indexed(this.indexPending(chunk));
        const cpuAfter = cpu === null ? null : threadCpuMs();
        // On-CPU time where the platform says it: the slice's cost to the loop, not the machine's load.
        this.learnIndexRate(n, cpu !== null && cpuAfter !== null ? cpuAfter - cpu : performance.now() - started);
        if (n >= chunk) this.scheduleIndex(true);
      } catch (err) {
        this.onError(err);
      }
    };
    if (soon) setImmediate(run).unref();
    else setTimeout(run, INDEX_DELAY_MS).unref();
  }

  /** A slow slice lowers the estimate at once; a fast one raises it gradually (one cheap chunk proves little). */
  private learnIndexRate(rows: number, ms: number): void {
    if (rows < SLICE_MIN_ROWS || ms <= 0) return;
    const rate = rows / ms;
    this.indexRowsPerMs = rate < this.indexRowsPerMs ? rate : 0.7 * this.indexRowsPerMs + 0.3 * rate;
  }

  protected beforeRead(index: boolean): void {
    this.flush();
    if (index) this.indexed(this.indexPending(INDEX_ON_READ));
  }
}

function prepare(db: Db) {
  return {
    // Listed rows above the mark are the walk's (it unlists them as it passes): these count and bound the rest.
    pendingBound: db.prepare('SELECT seq FROM fts_pending WHERE seq <= ? ORDER BY seq LIMIT 1 OFFSET ?').pluck(),
    pendingMax: db.prepare('SELECT max(seq) FROM fts_pending WHERE seq <= ?').pluck(),
    pendingCount: db.prepare('SELECT count(*) FROM fts_pending WHERE seq <= (SELECT indexed_to FROM fts_state)').pluck(),
    // CROSS JOIN keeps fts_pending the outer loop. With a plain JOIN SQLite walked every message below the bound and
    // probed fts_pending: 128 ms to index one row at 1M messages (found by bench/store.ts's live-traffic row).
    indexUpTo: db.prepare(`INSERT INTO messages_fts (rowid, body, scope)
      SELECT s.seq, s.body, s.scope FROM fts_pending p CROSS JOIN messages_fts_source s ON s.seq = p.seq WHERE p.seq <= ? AND s.body != ''`),
    unpendUpTo: db.prepare('DELETE FROM fts_pending WHERE seq <= ?'),
    unpendRange: db.prepare('DELETE FROM fts_pending WHERE seq > ? AND seq <= ?'),
    indexedTo: db.prepare('SELECT indexed_to FROM fts_state').pluck(),
    setIndexedTo: db.prepare('UPDATE fts_state SET indexed_to = ?'),
    // The next `limit` rows above the mark: a rowid walk, as is the indexing of the range (body '' is never indexed).
    walkBound: db.prepare('SELECT count(*) AS n, max(seq) AS hi FROM (SELECT seq FROM messages WHERE seq > ? ORDER BY seq LIMIT ?)'),
    indexRange: db.prepare(`INSERT INTO messages_fts (rowid, body, scope)
      SELECT seq, body, scope FROM messages_fts_source WHERE seq > ? AND seq <= ? AND body != ''`),
    aboveMarkCount: db.prepare('SELECT count(*) FROM messages WHERE seq > (SELECT indexed_to FROM fts_state)').pluck(),
  };
}
