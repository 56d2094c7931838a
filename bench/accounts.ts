// Cost per account (issue 17): idle memory, CPU and wakeups of our server from dist/ with several accounts, each
// beside the server with only the default account measured in the same run; startup time with 20 accounts restored.
//
//   npm run bench:accounts           # builds dist/ first; ~3–4 min
//   ACCOUNTS_BENCH_WINDOW_S=20 …     # the idle window (10 s); ACCOUNTS_BENCH_SETTLE_S the wait before it (4 s)
//
// Every row is a fresh server (a child process, `node dist/cli.js`, 127.0.0.1, throwaway dirs, default account on the
// sandbox engine and linked). Accounts are added with POST /api/accounts and sandbox ones linked with
// POST /api/accounts/{id}/sandbox/link; the Baileys rows that need a saved session get it written before the start
// (an accounts.json and a seeded auth store per account), as a restart would find them. After the settle time the
// process is read from /proc over the window: VmRSS, Pss and USS (Private_* of smaps_rollup) at its end, utime+stime
// as % of one core, threads, context switches per second summed over its threads (how often something in it wakes
// up), and the reconnect attempts its log shows. Per-account figures are read from USS: PSS splits the node binary's
// pages with whatever other node processes run on the machine, so it moves with them. The Baileys rows linked to
// @openclaw/crabline (scripts/crabline.sh installs it) are skipped, saying so, when it is not installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ACCOUNTS_FILE } from '../src/accounts/registry.js';
import { Crabline, assertInstalled, privateTempDir, within } from '../scripts/crabline-lib.js';
import { type Spawned, spawnServer } from './harness.js';

const WINDOW_MS = Number(process.env.ACCOUNTS_BENCH_WINDOW_S ?? 10) * 1000;
const SETTLE_MS = Number(process.env.ACCOUNTS_BENCH_SETTLE_S ?? 4) * 1000;
const STARTUP_ROUNDS = 3;
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  rssMb: number;
  pssMb: number;
  /** Private_Clean + Private_Dirty: this process's own pages, whatever else runs (PSS moves with other node processes). */
  ussMb: number;
  threads: number;
  cpuPct: number;
  wakeups: number;
  /** "reconnecting to WhatsApp" log lines during the window: the engines' reconnect attempts. */
  reconnects: number;
}

function kb(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15), every thread's
}

function switches(pid: number): number {
  let n = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const file = `/proc/${pid}/task/${t}/status`;
      n += kb(file, 'voluntary_ctxt_switches') + kb(file, 'nonvoluntary_ctxt_switches');
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

async function call(srv: Spawned, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(srv.url + p, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

type AccountView = { id: string; state: string; ready: boolean };

async function waitAccounts(srv: Spawned, what: string, ok: (a: AccountView[]) => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: AccountView[] = [];
  while (Date.now() < deadline) {
    last = (await call(srv, 'GET', '/api/accounts')).accounts;
    if (ok(last)) return;
    await pause(10);
  }
  throw new Error(`timed out waiting for ${what}: ${last.map((a) => `${a.id}=${a.state}`).join(' ')}`);
}

/** Counts reconnect attempts in the server's log (stderr, JSON lines). */
function reconnectCounter(srv: Spawned): () => number {
  let n = 0;
  readline.createInterface({ input: srv.child.stderr! }).on('line', (l) => {
    if (l.includes('"msg":"reconnecting to WhatsApp"')) n++;
  });
  return () => n;
}

async function spawn(env: Record<string, string>, dir: string): Promise<Spawned> {
  return within('the server to listen', 60_000, spawnServer(env, dir));
}

/**
 * A fresh server, `setup` run on it, then idle: one sample per window, the first starting SETTLE_MS after the setup
 * (`windowsAt`: seconds after the setup, for the offline row's later window). `keep` leaves its dir (for startup).
 */
async function idle(
  setup: (srv: Spawned) => Promise<void>,
  opts: { env?: Record<string, string>; prepare?: (dir: string) => Promise<void>; keep?: boolean; windowsAt?: number[] } = {},
): Promise<{ samples: Sample[]; dir: string }> {
  const dir = privateTempDir('wa-bench-accounts-');
  await opts.prepare?.(dir);
  const srv = await spawn(opts.env ?? {}, dir);
  const reconnects = reconnectCounter(srv);
  try {
    await call(srv, 'POST', '/api/sandbox/link');
    await setup(srv);
    const setupDone = performance.now();
    const pid = srv.child.pid!;
    const samples: Sample[] = [];
    for (const at of opts.windowsAt ?? [SETTLE_MS / 1000]) {
      await pause(Math.max(0, setupDone + at * 1000 - performance.now()));
      const c0 = cpuTicks(pid);
      const w0 = switches(pid);
      const r0 = reconnects();
      const t0 = performance.now();
      await pause(WINDOW_MS);
      const secs = (performance.now() - t0) / 1000;
      const rollup = `/proc/${pid}/smaps_rollup`;
      samples.push({
        cpuPct: ((cpuTicks(pid) - c0) / TICK / secs) * 100,
        wakeups: (switches(pid) - w0) / secs,
        reconnects: reconnects() - r0,
        rssMb: kb(`/proc/${pid}/status`, 'VmRSS') / 1024,
        pssMb: kb(rollup, 'Pss') / 1024,
        ussMb: (kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty')) / 1024,
        threads: kb(`/proc/${pid}/status`, 'Threads'),
      });
    }
    return { samples, dir };
  } finally {
    await srv.stop();
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

function addSandbox(n: number) {
  return async (srv: Spawned) => {
    for (const id of ids(n, 's')) {
      await call(srv, 'POST', '/api/accounts', { id, engine: 'sandbox' });
      await call(srv, 'POST', `/api/accounts/${id}/sandbox/link`, { phone_number: `1555020${String(1000 + Number(id.slice(1)))}` });
    }
    await waitAccounts(srv, `${n} sandbox accounts ready`, (a) => a.length === n + 1 && a.every((x) => x.ready));
  };
}

function addBaileysUnlinked(n: number) {
  return async (srv: Spawned) => {
    for (const id of ids(n, 'b')) await call(srv, 'POST', '/api/accounts', { id, engine: 'baileys' });
    await waitAccounts(srv, `${n} Baileys accounts added`, (a) => a.length === n + 1);
  };
}

/** Saved Baileys sessions, as a restart finds them: accounts.json and, per account, an auth store with creds. */
async function seedBaileys(dir: string, n: number, selfJid: string): Promise<void> {
  const { openBaileysAuthStore } = await import('../src/engine/baileys-auth.js');
  const { authFile } = await import('../src/engine/baileys-session.js');
  const { ensurePrivateDir } = await import('../src/fs-private.js');
  ensurePrivateDir(path.join(dir, 'data'));
  const accounts = ids(n, 'b').map((id) => ({ id, engine: 'baileys', created_at: Date.now() }));
  fs.writeFileSync(path.join(dir, 'data', ACCOUNTS_FILE), JSON.stringify({ version: 1, accounts }), { mode: 0o600 });
  for (const { id } of accounts) {
    const store = openBaileysAuthStore(authFile(path.join(dir, 'auth', id)));
    store.state.creds.me = { id: `${selfJid.split('@')[0]}:1@s.whatsapp.net`, name: `Bench ${id}` };
    store.state.creds.registered = true;
    store.saveCreds();
    store.close();
  }
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Spawn → /health answers → every account ready (GET /api/accounts); ms for each. */
async function startup(dir: string, accounts: number): Promise<{ listen: number; ready: number }> {
  const t0 = performance.now();
  const srv = await spawn({}, dir);
  try {
    for (;;) {
      const res = await fetch(`${srv.url}/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
      if (res?.ok) break;
      await pause(5);
    }
    const listen = performance.now() - t0;
    await waitAccounts(srv, `${accounts} accounts ready after a restart`, (a) => a.length === accounts && a.every((x) => x.ready));
    return { listen, ready: performance.now() - t0 };
  } finally {
    await srv.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------------

const f1 = (x: number) => x.toFixed(1);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const progress = (line: string) => process.stderr.write(`  … ${line}\n`);

type Row = { name: string; accounts: number; s: Sample };

function mean(a: Sample, b: Sample): Sample {
  const m = (k: keyof Sample) => (a[k] + b[k]) / 2;
  return { rssMb: m('rssMb'), pssMb: m('pssMb'), ussMb: m('ussMb'), threads: m('threads'), cpuPct: m('cpuPct'), wakeups: m('wakeups'), reconnects: m('reconnects') };
}

function table(rows: Row[], base: Sample): void {
  console.log(`${'row'.padEnd(52)} accts  RSS MB  PSS MB  USS MB  thr  CPU %core  wakeups/s  reconnects   per added account: ΔUSS MB  ΔRSS MB  ΔCPU %  Δwakeups/s`);
  for (const { name, accounts, s } of rows) {
    const added = accounts - 1;
    const per = added > 0 ? `${f1((s.ussMb - base.ussMb) / added).padStart(30)}  ${f1((s.rssMb - base.rssMb) / added).padStart(7)}  ${((s.cpuPct - base.cpuPct) / added).toFixed(2).padStart(6)}  ${f1((s.wakeups - base.wakeups) / added).padStart(10)}` : '';
    console.log(`${name.padEnd(52)} ${String(accounts).padStart(5)}  ${f1(s.rssMb).padStart(6)}  ${f1(s.pssMb).padStart(6)}  ${f1(s.ussMb).padStart(6)}  ${String(s.threads).padStart(3)}  ${s.cpuPct.toFixed(2).padStart(9)}  ${f1(s.wakeups).padStart(9)}  ${String(s.reconnects).padStart(10)} ${per}`);
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const loadStart = load();
  const rows: Row[] = [];
  const row = (name: string, accounts: number, s: Sample) => {
    rows.push({ name, accounts, s });
    progress(`${name}: USS ${f1(s.ussMb)} MB, CPU ${s.cpuPct.toFixed(2)} %`);
  };
  const base = await idle(async () => {}, { keep: true });
  row('baseline: default account only (sandbox), run 1', 1, base.samples[0]!);
  let s20dir = '';
  for (const n of [1, 5, 20]) {
    const r = await idle(addSandbox(n), { keep: n === 20 });
    if (n === 20) s20dir = r.dir;
    row(`sandbox: + ${n} linked`, n + 1, r.samples[0]!);
  }
  for (const n of [1, 5]) row(`baileys: + ${n} unlinked (never connects)`, n + 1, (await idle(addBaileysUnlinked(n))).samples[0]!);

  // Saved sessions whose server refuses the connection (the fastest failure there is): the reconnect backoff's
  // early attempts, then a window later on, when a spinning engine would still be at it and ours waits 16–32 s.
  const port = await closedPort();
  const late = Math.max(25, SETTLE_MS / 1000 + WINDOW_MS / 1000 + 5);
  const offline = await idle((srv) => waitAccounts(srv, 'Baileys accounts trying', (a) => a.filter((x) => x.id !== 'default').every((x) => x.state !== 'stopped')), {
    env: { WHATSAPP_BAILEYS_WS_URL: `ws://127.0.0.1:${port}/ws` },
    prepare: (dir) => seedBaileys(dir, 5, '15550001000@s.whatsapp.net'),
    windowsAt: [SETTLE_MS / 1000, late],
  });
  row(`baileys: + 5 offline, ${SETTLE_MS / 1000}–${(SETTLE_MS + WINDOW_MS) / 1000} s after start`, 6, offline.samples[0]!);
  row(`baileys: + 5 offline, ${late}–${late + WINDOW_MS / 1000} s after start`, 6, offline.samples[1]!);

  let crabNote = '';
  try {
    assertInstalled();
    for (const n of [1, 5]) {
      const dir = privateTempDir('wa-bench-crabline-');
      const crab = await Crabline.start({ dir, name: `n${n}` });
      try {
        const r = await idle((srv) => waitAccounts(srv, `${n} Baileys accounts ready on crabline`, (a) => a.length === n + 1 && a.every((x) => x.ready), 45_000), {
          env: { WHATSAPP_BAILEYS_WS_URL: crab.manifest.endpoints.baileysWebSocketUrl },
          prepare: (d) => seedBaileys(d, n, crab.manifest.selfJid),
        });
        row(`baileys: + ${n} linked to crabline (local server)`, n + 1, r.samples[0]!);
      } finally {
        await crab.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    crabNote = `baileys linked to crabline: not measured (${(err as Error).message.split('\n')[0]})`;
  }
  const again = (await idle(async () => {})).samples[0]!;
  row('baseline: default account only (sandbox), run 2', 1, again);

  progress('startup');
  const times: Record<'base' | 'many', Array<{ listen: number; ready: number }>> = { base: [], many: [] };
  try {
    for (let r = 0; r < STARTUP_ROUNDS; r++) {
      times.base.push(await startup(base.dir, 1));
      times.many.push(await startup(s20dir, 21));
    }
  } finally {
    for (const d of [base.dir, s20dir]) fs.rmSync(d, { recursive: true, force: true });
  }

  const ref = mean(base.samples[0]!, again);
  console.log(`cost per account: node ${process.version}, ${os.cpus().length} cores shared with other work, load average ${loadStart} at the start (1/5/15 min)`);
  console.log(`each row a fresh server from dist/ (127.0.0.1), default account on the sandbox and linked; ${SETTLE_MS / 1000} s settle, then a ${WINDOW_MS / 1000} s idle window`);
  console.log(`per added account = (row − mean of the two baseline runs) / accounts added; USS = the process's private pages\n`);
  table(rows, ref);
  if (crabNote) console.log(crabNote);

  const m = (k: 'base' | 'many', f: 'listen' | 'ready') => median(times[k].map((t) => t[f]));
  console.log(`\nstartup: spawn → /health answers → every account ready (GET /api/accounts), the dirs above restarted; median of ${STARTUP_ROUNDS}, alternating`);
  console.log(`  default only (1 account)         /health ${m('base', 'listen').toFixed(0).padStart(5)} ms   all ready ${m('base', 'ready').toFixed(0).padStart(5)} ms   [${times.base.map((t) => t.ready.toFixed(0)).join(', ')}]`);
  console.log(`  default + 20 sandbox (21)        /health ${m('many', 'listen').toFixed(0).padStart(5)} ms   all ready ${m('many', 'ready').toFixed(0).padStart(5)} ms   [${times.many.map((t) => t.ready.toFixed(0)).join(', ')}]`);
  console.log(`  ratio ${(m('many', 'ready') / m('base', 'ready')).toFixed(2)}x; per added account ${((m('many', 'ready') - m('base', 'ready')) / 20).toFixed(0)} ms`);

  const find = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))?.s;
  console.log('');
  const s20 = find('sandbox: + 20');
  if (s20) console.log(`sandbox: ${f1((s20.ussMb - ref.ussMb) / 20)} MB USS, ${((s20.threads - ref.threads) / 20).toFixed(1)} thread and ${f1((s20.wakeups - ref.wakeups) / 20)} wakeups/s per account (from the + 20 row)`);
  const b1 = find('baileys: + 1 unlinked');
  const b5 = find('baileys: + 5 unlinked');
  if (b1 && b5) console.log(`baileys unlinked: the first account ${f1(b1.ussMb - ref.ussMb)} MB USS (it loads the library), each further one ${f1((b5.ussMb - b1.ussMb) / 4)} MB`);
  const c1 = find('baileys: + 1 linked');
  const c5 = find('baileys: + 5 linked');
  if (c1 && c5) console.log(`baileys linked (crabline): the first account ${f1(c1.ussMb - ref.ussMb)} MB USS, each further one ${f1((c5.ussMb - c1.ussMb) / 4)} MB`);
  // Against the 5 unlinked Baileys accounts (library loaded, same stores and threads, never connecting): what being
  // offline costs; against the baseline: what the 5 accounts cost in all.
  for (const [i, s] of offline.samples.entries()) {
    const over = s.cpuPct - (b5 ?? ref).cpuPct;
    const perAttempt = s.reconnects ? `, ~${((over / 100) * WINDOW_MS / s.reconnects).toFixed(0)} ms of CPU per attempt` : '';
    console.log(
      `offline no-spin (${i === 0 ? 'early' : 'later'} window): ${s.reconnects} reconnect attempts in ${WINDOW_MS / 1000} s, ${over.toFixed(2)} % of a core over the 5 unlinked${perAttempt}; ` +
        `${(s.cpuPct - ref.cpuPct).toFixed(2)} % over the baseline in all (${s.cpuPct - ref.cpuPct < 1 ? 'under 1 %' : 'NOT under 1 %'})`,
    );
  }
  console.log(`\nload average at the end ${load()}; ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
}

await main();
