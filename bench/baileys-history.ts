// A 200k-message history sync on the Baileys engine while 50 connections hit GET /api/status: the sync's msg/s and
// the door's latency during it, against the same door with no sync, measured in the same run.
// Run: npm run bench:history   (BENCH_HISTORY_MESSAGES, BENCH_HISTORY_BATCH to change the size)
// The server (bench/baileys-history-server.ts) runs in a child process so autocannon does not share its loop.
import { spawn } from 'node:child_process';
import os from 'node:os';
import readline from 'node:readline';
import autocannon from 'autocannon';

const TARGET_P99_MS = 20;
const MAX_SYNC_S = 300;

const child = spawn(process.execPath, ['--import', 'tsx', 'bench/baileys-history-server.ts'], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
const lines = readline.createInterface({ input: child.stdout! });
const next = () => new Promise<Record<string, number | string>>((resolve) => lines.once('line', (l) => resolve(JSON.parse(l))));

interface Latency {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  errors: number;
}

/** autocannon on /api/status for `seconds`, or until `until` settles (then stopped). */
function hammer(url: string, seconds: number, until?: Promise<unknown>): Promise<Latency> {
  return new Promise((resolve, reject) => {
    const inst = autocannon({ url: `${url}/api/status`, connections: 50, duration: seconds }, (err, r) => {
      if (err) return reject(err);
      resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, requests: r.requests.total, errors: r.errors + r.timeouts + r.non2xx });
    });
    void until?.then(() => inst.stop());
  });
}

const fmt = (name: string, l: Latency) =>
  `${name.padEnd(26)} ${l.rps.toFixed(0).padStart(7)} req/s  p50 ${String(l.p50).padStart(3)} ms  p99 ${String(l.p99).padStart(4)} ms  max ${String(l.max).padStart(5)} ms  requests ${l.requests}  errors ${l.errors}`;

/** The machine is shared: every figure is printed beside the load average it was measured under. */
const load = () => `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;

const ready = await next();
console.log(`history bench: ${ready.messages} messages in ${ready.batches} batches (${ready.countable} are chat messages; the rest reactions and edits)`);
const url = String(ready.url);
await hammer(url, 2); // warm-up
const loadIdle = load();
const baseline = await hammer(url, 5);
const loadSyncStart = load();
const synced = next();
child.stdin!.write('sync\n');
const during = await hammer(url, MAX_SYNC_S, synced);
const loadadv = await import('node:fs').then((f) => f.readFileSync('/proc/loadavg', 'utf8').trim()).catch(() => '');
const s = await synced;
child.stdin!.write('quit\n');

const loadSyncEnd = `${load()} (/proc/loadavg ${loadadv})`;
console.log(`${fmt('GET /api/status, idle', baseline)}  (${loadIdle})`);
console.log(`${fmt('GET /api/status, in sync', during)}  (${loadSyncStart} at the start, ${loadSyncEnd} at the end)`);
const msgs = Number(s.synced);
console.log(`sync: ${msgs} messages stored in ${(Number(s.ms) / 1000).toFixed(2)} s = ${Math.round(msgs / (Number(s.ms) / 1000))} msg/s; searchable (indexed) after ${(Number(s.indexed_ms) / 1000).toFixed(2)} s; rows ${s.stored}; heap ${s.heap_mb} MB`);
console.log(`server event loop during sync: delay p99 ${Number(s.loop_p99_ms).toFixed(1)} ms, max ${Number(s.loop_max_ms).toFixed(1)} ms`);
const gc = s.gc as unknown as { count: number; total: number; max: number; major: number; majorMax: number };
console.log(`  gc pauses: ${gc.count}, ${gc.total.toFixed(0)} ms in all, longest ${gc.max.toFixed(1)} ms (mark-compact: ${gc.major}, longest ${gc.majorMax.toFixed(1)} ms)`);
const dec = s.decode as unknown as { total: number; max: number };
console.log(`  Baileys' decode of the chunks (HistorySync.decode + processHistoryMessage, one task each; ${s.encoded_mb} MB encoded): ${dec.total.toFixed(0)} ms in all, longest ${dec.max.toFixed(1)} ms`);
const ck = s.checkpoints as unknown as { runs: number; maxMs: number; totalMs: number; maxWalPages: number; errors: number };
console.log(`  WAL checkpoints (worker thread, off the loop): ${ck.runs}, ${ck.totalMs.toFixed(0)} ms in all, longest ${ck.maxMs.toFixed(1)} ms; WAL at most ${ck.maxWalPages} pages; errors ${ck.errors}`);
type Summary = { calls: number; total: number; p99: number; max: number; over20: number; cpuP99: number; cpuMax: number; cpuTotal: number; blockedMax: number; blockedOver10: number; phases: Record<string, number> };
for (const [name, b] of Object.entries(s.blocks as unknown as Record<string, Summary>)) {
  console.log(`  store.${name}: ${b.calls} calls, ${b.total.toFixed(0)} ms in all, p99 ${b.p99.toFixed(1)} ms (on CPU ${b.cpuP99.toFixed(1)}), longest ${b.max.toFixed(1)} ms (on CPU at most ${b.cpuMax.toFixed(1)}), ${b.over20} over 20 ms; on CPU ${b.cpuTotal.toFixed(0)} ms in all; off CPU and not runnable (I/O, locks) at most ${b.blockedMax.toFixed(1)} ms, ${b.blockedOver10} calls over 10 ms`);
  if (b.calls > 0) console.log(`    phases (on-CPU ms in all, nested phases overlap): ${Object.entries(b.phases).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
type Call = { name: string; wall: number; cpu: number; runQueue: number; gc: number; arg: number | null; result: number | null; nested: boolean; phases: Record<string, number> };
console.log('  longest store calls (wall = on CPU + run queue + other waits; gc is part of on-CPU time):');
const calls = [...(s.longest as unknown as Call[]), ...(s.longest_cpu as unknown as Call[]).map((c) => ({ ...c, name: `[by CPU] ${c.name}` }))];
for (const c of calls) {
  const phases = Object.entries(c.phases).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`    ${c.name}${c.nested ? ' (inside write)' : ''}(${c.arg}) -> ${c.result}: ${c.wall.toFixed(1)} ms, on CPU ${c.cpu.toFixed(1)}, run queue ${c.runQueue.toFixed(1)}, gc ${c.gc.toFixed(1)}; ${phases}`);
}
if (s.thread_samples) {
  const t = s.thread_samples as unknown as { states: Record<string, number>; stacks: Array<[string, number]> };
  console.log(`  main thread during store calls, 1 ms samples by state (R run/runnable, S sleep, D I/O): ${JSON.stringify(t.states)}`);
  for (const [stack, n] of t.stacks) console.log(`    ${n} x ${stack}`);
}
console.log(`  FTS segments at the end: ${s.fts_segments}`);
console.log(`p99 during sync ${during.p99} ms (idle ${baseline.p99} ms), target <= ${TARGET_P99_MS} ms: ${during.p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}`);
await new Promise((resolve) => child.once('exit', resolve));
