// WAL checkpoints off the event loop. SQLite's auto-checkpoint runs inside the commit that crosses its threshold, on
// the writer's thread: with ~40 MB of WAL that one commit took 350–900 ms in bench:history, and every HTTP request
// waited for it. Here a worker thread with its own connection runs `wal_checkpoint(PASSIVE)` every CHECKPOINT_EVERY_MS:
// a passive checkpoint never waits for nor blocks the writer or readers, so it costs the event loop nothing. While
// there is something to copy it runs again after AGAIN_MS, so the part of the WAL not yet in the database file stays
// a few ms of writes. The WAL only starts over when a write transaction begins with every frame copied, which a
// writer busy every few ms rarely sees: SQLite's auto-checkpoint (db.ts) does that in the writer, at a threshold high
// enough to fire rarely, and it then finds only those last few ms left to copy (yet an A/B under load still showed
// its resets as the longest writes, 90–140 ms against 60 ms without: hence not lower). The worker must never write: a commit from a second connection makes the writer's deferred
// transactions fail with SQLITE_BUSY (their read snapshot goes stale), so starting the WAL over from here is out.
//
// Crash safety is SQLite's: a checkpoint only copies committed frames into the database file and the WAL is reused
// only after all of them are there, so kill -9 at any point (mid-copy included) loses nothing that committed
// (test/store-crash.test.ts). The WAL stays bounded even if this worker cannot keep up or never starts: db.ts keeps
// SQLite's auto-checkpoint as a safety net at a larger threshold, and it finds little left to copy when the worker
// is doing its job.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';

/** Idle: look for new frames this often. Busy (the last pass found new frames): go again after AGAIN_MS. */
export const CHECKPOINT_EVERY_MS = 100;
const AGAIN_MS = 5;
/** How long close() waits for a checkpoint in progress to finish, so the store's own close is the last connection. */
const CLOSE_WAIT_MS = 5_000;

// Control words shared with the worker: [STOP] set by close(), [STARTED] once its connection is open, [CLOSED] once
// its connection is closed.
const STOP = 0;
const STARTED = 1;
const CLOSED = 2;
// Statistics the worker writes (plain numbers, read for benchmarks and metrics).
const RUNS = 0;
const TOTAL_MS = 1;
const MAX_MS = 2;
const MAX_WAL_PAGES = 3;
const ERRORS = 4;

// The worker is source text evaluated as CommonJS, not a file: the same text runs under tsx, vitest and the built
// dist/ (a worker entry file would need its own loader in each). It gets the driver's resolved path, not a package
// name, so it does not depend on the process's working directory.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const ctl = new Int32Array(workerData.control);
const st = new Float64Array(workerData.stats);
let db = null;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 1000');
  Atomics.store(ctl, ${STARTED}, 1);
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let last = '';
  let wait = workerData.everyMs;
  while (Atomics.load(ctl, ${STOP}) === 0) {
    Atomics.wait(ctl, ${STOP}, 0, wait);
    if (Atomics.load(ctl, ${STOP}) !== 0) break;
    const t = performance.now();
    try {
      const r = checkpoint.get();
      if (r.log > st[${MAX_WAL_PAGES}]) st[${MAX_WAL_PAGES}] = r.log;
      const now = r.log + '/' + r.checkpointed;
      wait = now === last ? workerData.everyMs : workerData.againMs;
      last = now;

    } catch {
      st[${ERRORS}] += 1;
      wait = workerData.everyMs;
    }
    const d = performance.now() - t;
    st[${RUNS}] += 1;
    st[${TOTAL_MS}] += d;
    if (d > st[${MAX_MS}]) st[${MAX_MS}] = d;
  }
} catch {
  st[${ERRORS}] += 1;
} finally {
  try { if (db) db.close(); } catch {}
  Atomics.store(ctl, ${CLOSED}, 1);
  Atomics.notify(ctl, ${CLOSED});
}
`;

export interface CheckpointStats {
  /** Checkpoints run (most find nothing or little to copy). */
  runs: number;
  /** Longest single checkpoint, on the worker's thread, ms. */
  maxMs: number;
  totalMs: number;
  /** The most WAL pages seen at a checkpoint: how far the WAL grew between resets. */
  maxWalPages: number;
  errors: number;
}

export class WalCheckpointer {
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly st = new Float64Array(new SharedArrayBuffer(5 * Float64Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker | null = null;

  /** Start checkpointing `db`'s file; an in-memory database has no WAL and gets an idle checkpointer. */
  constructor(db: Db, everyMs: number = CHECKPOINT_EVERY_MS) {
    if (db.memory) return;
    try {
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { file: db.name, driver: createRequire(import.meta.url).resolve('better-sqlite3'), control: this.control.buffer, stats: this.st.buffer, everyMs, againMs: AGAIN_MS },
      });
      // A stray error in the worker must not take the server down: the auto-checkpoint safety net still runs.
      this.worker.on('error', () => {});
      this.worker.unref();
    } catch {
      this.worker = null;
    }
  }

  /** Whether a worker is running (false for in-memory stores, or if it could not be started). */
  get active(): boolean {
    return this.worker !== null && Atomics.load(this.control, CLOSED) === 0;
  }

  stats(): CheckpointStats {
    const s = this.st;
    return { runs: s[RUNS]!, maxMs: s[MAX_MS]!, totalMs: s[TOTAL_MS]!, maxWalPages: s[MAX_WAL_PAGES]!, errors: s[ERRORS]! };
  }

  /**
   * Stop, synchronously: waits for a checkpoint in progress (bounded) so the caller's db.close() is the last
   * connection, which checkpoints what is left and removes the WAL as a clean shutdown always did.
   */
  stop(): void {
    if (!this.worker) return;
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, STOP);
    if (Atomics.load(this.control, STARTED) === 1) Atomics.wait(this.control, CLOSED, 0, CLOSE_WAIT_MS);
    void this.worker.terminate();
  }
}
