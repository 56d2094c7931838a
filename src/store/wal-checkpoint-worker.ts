// The one checkpointer thread's program (wal-checkpointer.ts starts it and registers stores with it). It is source text
// evaluated as CommonJS, not a file: the same text runs under tsx, vitest and the built dist/ (a worker entry file
// would need its own loader in each). It gets the driver's resolved path, not a package name, so it does not depend on
// the process's working directory.
//
// The thread sleeps on WAKE[SIGNAL] until the earliest store is due or the main thread signals (a store registered or
// wants to close). Registrations arrive on a MessagePort read synchronously (receiveMessageOnPort), because the thread
// never returns to an event loop. Each store has its own connection, cadence and two shared words: STATE, which the
// main thread and this thread move on with compare-and-swap so a store closed before it was opened is never opened,
// and STOP; plus its statistics.

/** Words of the thread-wide control array. */
export const SIGNAL = 0;
export const QUIT = 1;
/** Set by the thread as it ends (its own error included): nobody waits on a store's STATE after that. */
export const DEAD = 2;
export const WAKE_WORDS = 3;

/** Words of a store's control array. */
export const STATE = 0;
export const STOP = 1;
export const CONTROL_WORDS = 2;
/** STATE values. PENDING → OPEN (this thread took it) → CLOSED; PENDING → CANCELLED (closed before it was taken). */
export const PENDING = 0;
export const OPEN = 1;
export const CLOSED = 2;
export const CANCELLED = 3;

/** A store's statistics (plain numbers this thread writes, read for benchmarks and metrics). */
export const RUNS = 0;
export const TOTAL_MS = 1;
export const MAX_MS = 2;
export const MAX_WAL_PAGES = 3;
export const ERRORS = 4;
export const STAT_WORDS = 5;

/** What the main thread posts for each store. */
export interface Registration {
  file: string;
  control: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  everyMs: number;
}

export const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const wake = new Int32Array(workerData.wake);
const port = workerData.port;
const { againMs, idleMaxMs } = workerData;
const stores = [];

function finish(s) {
  try { if (s.db) s.db.close(); } catch {}
  s.db = null;
  Atomics.store(s.ctl, ${STATE}, ${CLOSED});
  Atomics.notify(s.ctl, ${STATE});
}

function take() {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const r = m.message;
    const s = { ctl: new Int32Array(r.control), st: new Float64Array(r.stats), everyMs: r.everyMs, wait: r.everyMs, due: performance.now() + r.everyMs, last: '', db: null, checkpoint: null };
    if (Atomics.compareExchange(s.ctl, ${STATE}, ${PENDING}, ${OPEN}) !== ${PENDING}) continue;
    try {
      s.db = new Database(r.file, { fileMustExist: true });
      s.db.pragma('busy_timeout = 1000');
      s.checkpoint = s.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
      stores.push(s);
    } catch {
      s.st[${ERRORS}] += 1;
      finish(s);
    }
  }
}

// New frames since the last pass: again soon, so what is not yet in the database file stays a few ms of writes.
// None: the store's own cadence, then twice as long each time up to idleMaxMs, so an idle store costs ~nothing.
function run(s) {
  const t = performance.now();
  try {
    const r = s.checkpoint.get();
    if (r.log > s.st[${MAX_WAL_PAGES}]) s.st[${MAX_WAL_PAGES}] = r.log;
    const now = r.log + '/' + r.checkpointed;
    s.wait = now !== s.last ? againMs : s.wait < s.everyMs ? s.everyMs : Math.min(2 * s.wait, Math.max(s.everyMs, idleMaxMs));
    s.last = now;
  } catch {
    s.st[${ERRORS}] += 1;
    s.wait = s.everyMs;
  }
  const d = performance.now() - t;
  s.st[${RUNS}] += 1;
  s.st[${TOTAL_MS}] += d;
  if (d > s.st[${MAX_MS}]) s.st[${MAX_MS}] = d;
  s.due = performance.now() + s.wait;
}

try {
  while (Atomics.load(wake, ${QUIT}) === 0) {
    const seen = Atomics.load(wake, ${SIGNAL});
    take();
    for (let i = stores.length - 1; i >= 0; i--) {
      if (Atomics.load(stores[i].ctl, ${STOP}) !== 0) finish(stores.splice(i, 1)[0]);
    }
    let next = Infinity;
    for (const s of stores) {
      // A store due within a quarter of its wait goes now: idle stores drift into step and share one wakeup.
      if (s.due - performance.now() <= s.wait / 4) run(s);
      if (s.due < next) next = s.due;
      // A store waiting to close is served before the next checkpoint.
      if (Atomics.load(wake, ${SIGNAL}) !== seen) break;
    }
    Atomics.wait(wake, ${SIGNAL}, seen, next === Infinity ? undefined : Math.max(0, next - performance.now()));
  }
} finally {
  for (const s of stores) finish(s);
  Atomics.store(wake, ${DEAD}, 1);
}
`;
