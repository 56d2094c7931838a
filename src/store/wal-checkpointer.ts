// WAL checkpoints off the event loop. SQLite's auto-checkpoint runs inside the commit that crosses its threshold, on
// the writer's thread: with ~40 MB of WAL that one commit took 350–900 ms in bench:history, and every HTTP request
// waited for it. Here a worker thread with its own connection to each store runs `wal_checkpoint(PASSIVE)`: a passive
// checkpoint never waits for nor blocks the writer or readers, so it costs the event loop nothing. While there is
// something to copy it runs again after AGAIN_MS, so the part of the WAL not yet in the database file stays a few ms
// of writes; while the WAL does not change it backs off from CHECKPOINT_EVERY_MS to IDLE_MAX_MS. The WAL only starts
// over when a write transaction begins with every frame copied, which a writer busy every few ms rarely sees: SQLite's
// auto-checkpoint (db.ts) does that in the writer, at a threshold high enough to fire rarely, and it then finds only
// those last few ms left to copy (yet an A/B under load still showed its resets as the longest writes, 90–140 ms
// against 60 ms without: hence not lower). The worker must never write: a commit from a second connection makes the
// writer's deferred transactions fail with SQLITE_BUSY (their read snapshot goes stale), so starting the WAL over from
// here is out.
//
// One thread for the whole process, whatever the number of stores (accounts): a worker each cost ~8 MB (its own V8
// isolate) and ~65 ms of CPU to start, most of an idle account's cost in bench:accounts. It starts with the first
// store and ends with the last one.
//
// Crash safety is SQLite's: a checkpoint only copies committed frames into the database file and the WAL is reused
// only after all of them are there, so kill -9 at any point (mid-copy included) loses nothing that committed
// (test/store-crash.test.ts). The WAL stays bounded even if this worker cannot keep up or never starts: db.ts keeps
// SQLite's auto-checkpoint as a safety net at a larger threshold, and it finds little left to copy when the worker
// is doing its job.
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import * as W from './wal-checkpoint-worker.js';

/** After a pass that found the WAL unchanged; then twice as long each time, up to IDLE_MAX_MS. */
export const CHECKPOINT_EVERY_MS = 100;
/** While the WAL changes between passes. */
const AGAIN_MS = 5;
/** An idle store's longest wait: how late the first checkpoint of a burst after a quiet spell can come. */
export const IDLE_MAX_MS = 1_000;
/** How long stop() waits for the worker to close the store's connection (it may be mid-checkpoint, on any store). */
const CLOSE_WAIT_MS = 5_000;

/** The running thread and the stores registered with it. */
interface SharedWorker {
  worker: Worker;
  wake: Int32Array;
  port: MessagePort;
  users: Set<WalCheckpointer>;
}

let current: SharedWorker | null = null;
const running = new Set<SharedWorker>();

function signal(shared: SharedWorker): void {
  Atomics.add(shared.wake, W.SIGNAL, 1);
  Atomics.notify(shared.wake, W.SIGNAL);
}

function startWorker(): SharedWorker {
  const wake = new Int32Array(new SharedArrayBuffer(W.WAKE_WORDS * Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(W.WORKER_SOURCE, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), wake: wake.buffer, port: port2, againMs: AGAIN_MS, idleMaxMs: IDLE_MAX_MS },
    transferList: [port2],
  });
  const shared: SharedWorker = { worker, wake, port: port1, users: new Set() };
  // A stray error in the worker must not take the server down: the auto-checkpoint safety net still runs, and the
  // next store to open starts a new thread.
  const gone = () => {
    Atomics.store(wake, W.DEAD, 1);
    if (current === shared) current = null;
    running.delete(shared);
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  worker.unref();
  port1.unref();
  running.add(shared);
  return shared;
}

/** Checkpointer threads running in this process (one while any file store is open; tests, benchmarks). */
export function checkpointerThreads(): number {
  return running.size;
}

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

/** One store's place in the shared checkpointer thread. */
export class WalCheckpointer {
  private readonly control = new Int32Array(new SharedArrayBuffer(W.CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT));
  private readonly st = new Float64Array(new SharedArrayBuffer(W.STAT_WORDS * Float64Array.BYTES_PER_ELEMENT));
  private shared: SharedWorker | null = null;

  /** Start checkpointing `db`'s file; an in-memory database has no WAL and gets an idle checkpointer. */
  constructor(db: Db, everyMs: number = CHECKPOINT_EVERY_MS) {
    if (db.memory) return;
    try {
      if (current && Atomics.load(current.wake, W.DEAD) !== 0) current = null;
      current ??= startWorker();
      const registration: W.Registration = { file: db.name, control: this.control.buffer as SharedArrayBuffer, stats: this.st.buffer as SharedArrayBuffer, everyMs };
      current.port.postMessage(registration);
      current.users.add(this);
      this.shared = current;
      signal(current);
    } catch {
      this.shared = null;
    }
  }

  /** Whether the worker checkpoints this store (false for in-memory stores, after stop(), or if it could not start). */
  get active(): boolean {
    const state = Atomics.load(this.control, W.STATE);
    return this.shared !== null && Atomics.load(this.shared.wake, W.DEAD) === 0 && (state === W.PENDING || state === W.OPEN);
  }

  /** The checkpointer thread's id (one for every store of the process), or null. */
  get threadId(): number | null {
    return this.shared?.worker.threadId ?? null;
  }

  stats(): CheckpointStats {
    const s = this.st;
    return { runs: s[W.RUNS]!, maxMs: s[W.MAX_MS]!, totalMs: s[W.TOTAL_MS]!, maxWalPages: s[W.MAX_WAL_PAGES]!, errors: s[W.ERRORS]! };
  }

  /**
   * Stop, synchronously: returns once the worker's connection to this file is closed (bounded), so the caller's
   * db.close() is the last connection, which checkpoints what is left and removes the WAL as a clean shutdown always
   * did, and a deleted account's directory goes with no connection left on it.
   */
  stop(): void {
    const shared = this.shared;
    if (!shared) return;
    this.shared = null;
    Atomics.store(this.control, W.STOP, 1);
    // Not taken by the worker yet: it never will be, nothing to wait for.
    if (Atomics.compareExchange(this.control, W.STATE, W.PENDING, W.CANCELLED) !== W.PENDING) {
      signal(shared);
      const deadline = performance.now() + CLOSE_WAIT_MS;
      for (let left = CLOSE_WAIT_MS; left > 0 && Atomics.load(shared.wake, W.DEAD) === 0; left = deadline - performance.now()) {
        if (Atomics.wait(this.control, W.STATE, W.OPEN, Math.min(left, 100)) === 'not-equal') break;
      }
    }
    shared.users.delete(this);
    if (shared.users.size > 0) return;
    // The last store: the thread ends (a store opened later starts a new one).
    if (current === shared) current = null;
    running.delete(shared);
    Atomics.store(shared.wake, W.QUIT, 1);
    signal(shared);
    void shared.worker.terminate();
  }
}
