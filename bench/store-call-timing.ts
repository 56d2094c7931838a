// Per-call timing of the store during bench:history: what one call of `write()` / `indexPending()` costs the loop,
// split into what explains it. On a machine at load 10–18 a long wall time is often not ours: the main thread's
// /proc schedstat says how long it ran on a CPU and how long it sat in the run queue during the call, and the GC
// observer says how much of it was a pause. Inside indexPending the prepared statements and the id index are timed
// too; what is left of the wall time is BEGIN/COMMIT, where FTS5 writes its segment and does its merge work.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { threadCpuMs } from '../src/store/thread-cpu.js';

/**
 * While a timed call runs, a worker samples the main thread's state every ms from /proc (R running, S sleeping on a
 * futex or lock, D in the kernel waiting for I/O) and, when it is not running, its kernel stack (needs root): what a
 * call that is neither on a CPU nor in the run queue waits for.
 */
const SAMPLER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const flag = new Int32Array(workerData.flag);
const base = '/proc/' + workerData.pid + '/task/' + workerData.pid + '/';
const states = {};
const stacks = {};
for (;;) {
  if (Atomics.load(flag, 1) === 1) break;
  if (Atomics.load(flag, 0) === 0) { Atomics.wait(flag, 0, 0, 50); continue; }
  try {
    const stat = fs.readFileSync(base + 'stat', 'utf8');
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    states[st] = (states[st] || 0) + 1;
    if (st !== 'R') {
      const frames = fs.readFileSync(base + 'stack', 'utf8').split('\\n').map((l) => l.replace(/^\\[<0>\\] /, '').replace(/\\+0x.*/, '')).filter(Boolean).slice(0, 6).join(' < ');
      const key = st + ' ' + frames;
      stacks[key] = (stacks[key] || 0) + 1;
    }
  } catch {}
  Atomics.wait(flag, 1, 0, 1);
}
parentPort.postMessage({ states, stacks });
`;

/** ns on a CPU and ns waiting for one, for this (the main) thread. Linux only; zeros elsewhere. */
function schedstat(): [number, number] {
  try {
    const [run, wait] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return [Number(run), Number(wait)];
  } catch {
    return [0, 0];
  }
}

export interface CallRecord {
  name: string;
  /** performance.now() at the start, ms. */
  at: number;
  wall: number;
  cpu: number;
  runQueue: number;
  gc: number;
  /** The call's first argument (rows asked for) and, for write, rows written. */
  arg: number | null;
  result: number | null;
  /** Called from inside write() (the lag bound) rather than a slice or a read. */
  nested: boolean;
  phases: Record<string, number>;
}

export interface CallSummary {
  calls: number;
  total: number;
  p99: number;
  max: number;
  over20: number;
  cpuP99: number;
  cpuMax: number;
  cpuTotal: number;
  /** Off CPU and not runnable (sleeping: I/O, a lock): wall − on CPU − run queue. */
  blockedMax: number;
  blockedOver10: number;
  /** Summed phases over all the calls, ms. */
  phases: Record<string, number>;
}

const blocked = (r: CallRecord) => Math.max(0, r.wall - r.cpu - r.runQueue);

export class StoreCallTiming {
  readonly records: CallRecord[] = [];
  private readonly gcs: Array<[number, number]> = [];
  private current: CallRecord[] = [];
  private readonly flag = new Int32Array(new SharedArrayBuffer(8));
  private sampler: Worker | null = null;

  /** Sample the main thread's state and kernel stack during timed calls (Linux, root for the stacks). */
  sample(): void {
    this.sampler = new Worker(SAMPLER, { eval: true, workerData: { flag: this.flag.buffer, pid: process.pid } });
    this.sampler.unref();
  }

  /** Stop sampling: thread states seen during calls (samples), and the most frequent kernel stacks when not running. */
  async samples(): Promise<{ states: Record<string, number>; stacks: Array<[string, number]> } | null> {
    if (!this.sampler) return null;
    const got = new Promise<{ states: Record<string, number>; stacks: Record<string, number> }>((r) => this.sampler!.once('message', r));
    Atomics.store(this.flag, 1, 1);
    Atomics.notify(this.flag, 0);
    Atomics.notify(this.flag, 1);
    const { states, stacks } = await got;
    return { states, stacks: Object.entries(stacks).sort((a, b) => b[1] - a[1]).slice(0, 8) };
  }

  /** Replace obj[name] with a timed wrapper. */
  wrap(obj: object, name: string): void {
    const o = obj as Record<string, (...a: unknown[]) => unknown>;
    const orig = o[name]!;
    o[name] = (...a: unknown[]) => {
      const rec: CallRecord = { name, at: performance.now(), wall: 0, cpu: 0, runQueue: 0, gc: 0, arg: typeof a[0] === 'number' ? a[0] : Array.isArray(a[0]) ? a[0].length : null, result: null, nested: this.current.length > 0, phases: {} };
      this.current.push(rec);
      Atomics.store(this.flag, 0, 1);
      Atomics.notify(this.flag, 0);
      const [r0, w0] = schedstat();
      try {
        const out = orig.apply(obj, a);
        if (typeof out === 'number') rec.result = out;
        return out;
      } finally {
        const [r1, w1] = schedstat();
        rec.wall = performance.now() - rec.at;
        rec.cpu = (r1 - r0) / 1e6;
        rec.runQueue = (w1 - w0) / 1e6;
        this.current.pop();
        if (this.current.length === 0) Atomics.store(this.flag, 0, 0);
        this.records.push(rec);
      }
    };
  }

  /**
   * Time calls of obj[name] as a phase of whichever timed call is running: on-CPU time (a ~3 µs read), or wall time
   * for what is called per message (ids.find). A method the object does not have (the other side of an A/B) is skipped.
   */
  phase(obj: object, name: string, label = name, clock: 'cpu' | 'wall' = 'cpu'): void {
    const o = obj as Record<string, (...a: unknown[]) => unknown>;
    const orig = o[name];
    if (typeof orig !== 'function') return;
    const now = clock === 'cpu' ? () => threadCpuMs() ?? performance.now() : () => performance.now();
    o[name] = (...a: unknown[]) => {
      if (this.current.length === 0) return orig.apply(obj, a);
      const t = now();
      try {
        return orig.apply(obj, a);
      } finally {
        const rec = this.current.at(-1);
        if (rec) rec.phases[label] = (rec.phases[label] ?? 0) + now() - t;
      }
    };
  }

  /** Every statement of a prepared-statement table, as phases named by key. */
  statements(table: Record<string, object>, prefix: string): void {
    for (const [key, st] of Object.entries(table)) {
      for (const m of ['run', 'get', 'all']) this.phase(st, m, `${prefix}.${key}`);
    }
  }

  gc(start: number, duration: number): void {
    this.gcs.push([start, duration]);
  }

  /** Attribute GC pauses to the calls they fell in (after the run: the observer reports late). */
  finish(): void {
    for (const r of this.records) {
      for (const [s, d] of this.gcs) {
        const overlap = Math.min(s + d, r.at + r.wall) - Math.max(s, r.at);
        if (overlap > 0) r.gc += overlap;
      }
    }
  }

  summary(name: string, filter: (r: CallRecord) => boolean = () => true): CallSummary {
    const rs = this.records.filter((r) => r.name === name && filter(r));
    const pct = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;
    return {
      calls: rs.length,
      total: rs.reduce((n, r) => n + r.wall, 0),
      p99: pct(rs.map((r) => r.wall)),
      max: Math.max(0, ...rs.map((r) => r.wall)),
      over20: rs.filter((r) => r.wall > 20).length,
      cpuP99: pct(rs.map((r) => r.cpu)),
      cpuMax: Math.max(0, ...rs.map((r) => r.cpu)),
      cpuTotal: rs.reduce((n, r) => n + r.cpu, 0),
      blockedMax: Math.max(0, ...rs.map(blocked)),
      blockedOver10: rs.filter((r) => blocked(r) > 10).length,
      phases: rs.reduce<Record<string, number>>((acc, r) => {
        for (const [k, v] of Object.entries(r.phases)) acc[k] = Math.round(((acc[k] ?? 0) + v) * 10) / 10;
        return acc;
      }, {}),
    };
  }

  /** The n longest calls by `by` (wall or on-CPU time), with their breakdown. */
  longest(n: number, by: 'wall' | 'cpu' = 'wall'): CallRecord[] {
    return [...this.records].sort((a, b) => b[by] - a[by]).slice(0, n);
  }
}
