// MCP tools/call throughput and memory, as ratios to a bare node:http JSON POST server measured in the same run.
//
//   npm run bench:mcp                      # builds dist/, then the whole bench (~2.5–3 min)
//   npx tsx bench/mcp.ts profile [modern|legacy] [dir] [cli.js]  # 5 s of tools/call against a server run with --cpu-prof: the
//                                          # top self time by module and function, inclusive time, callers
//   npx tsx bench/mcp.ts breakdown [n]     # in process, no sockets: CPU per modern tools/call, piece by piece (src/)
//   npx tsx bench/mcp.ts summarize F       # the profile summary of any .cpuprofile
//   npx tsx bench/mcp.ts ab A/cli.js [B/cli.js]  # two builds side by side (B: dist/cli.js), rounds alternate: a
//                                          # before/after with one raw baseline (copy dist/ aside before a change)
//
// Lines, each loaded with the same request bytes (a 2026-07-28 tools/call whatsapp_status, each with its own id) by
// 50 keep-alive connections:
//   raw         bench/baseline-server.ts: node:http, parse the JSON body, answer a small JSON object
//   hand-rolled a reconstruction of the original product's door: node:http, tools/call whatsapp_status answered with a
//               pretty-printed JSON result, no validation, no sessions, no SDK (this file, run as a child)
//   modern      our /mcp, 2026-07-28 stateless request (answered by src/mcp/modern-fast.ts; anything it declines goes to
//               SDK v2 createMcpHandler, one McpServer per request)
//   legacy      our /mcp, 2025-11-25 session request (src/mcp/legacy-fast.ts; else the session's
//               NodeStreamableHTTPServerTransport in JSON response mode); 50 sessions
//               initialized before the load, request k goes to session k mod 50 (not pinned to a connection:
//               autocannon has no per-connection state that outlives one request)
// Every answer is checked: HTTP 200, a JSON-RPC result for the id sent, not isError, and (ours) state "ready". Any
// failure, connection error or timeout fails the bench (exit 1). Besides calls/s, each line shows the server process's
// CPU per call (/proc/<pid>/stat) and the load generator's: on 2 shared cores throughput swings with other work, CPU
// per call much less. Memory: a fresh server per run, RSS after the first 10k calls and at the end.
//
// Knobs: MCP_BENCH_SECONDS (5), MCP_BENCH_ROUNDS (2), MCP_BENCH_CONNECTIONS (50), MCP_BENCH_MEMORY_CALLS (200000),
// MCP_BENCH_LEGACY_MEMORY_CALLS (200000), MCP_BENCH_MEMORY = both (default: legacy only if time is left) | none |
// only-modern | only-legacy (the memory run alone, no throughput rounds).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import autocannon from 'autocannon';
import { type LoadResult, type Spawned, load, spawnBaseline, spawnServer } from './harness.js';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const TOOL = 'whatsapp_status';

// ---------------------------------------------------------------------------------------------------------------------
// Requests and answer checks

const modernMeta = JSON.stringify({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench-mcp', version: '1.0.0' },
});
const modernBody = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${TOOL}","arguments":{},"_meta":${modernMeta}}}`;
const legacyBody = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${TOOL}","arguments":{}}}`;
const modernHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': MODERN,
  'mcp-method': 'tools/call',
  'mcp-name': TOOL,
};

interface Tally {
  ok: number;
  bad: number;
  example?: string;
}

type Check = (status: number, body: string, id: number) => string | null;

/** The JSON-RPC answer in a JSON body or in the `data:` lines of an SSE body. */
function rpcMessage(body: string, sse: boolean, id: number): { id?: unknown; result?: Record<string, unknown>; error?: unknown } | null {
  // A legacy session answers a POST as JSON or as an SSE stream, as the server chooses (enableJsonResponse).
  if (!sse || body.startsWith('{')) return JSON.parse(body);
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const msg = JSON.parse(line.slice(6));
    if (msg.id === id) return msg;
  }
  return null;
}

function toolCheck(sse: boolean, expectReady: boolean): Check {
  return (status, body, id) => {
    if (status !== 200) return `HTTP ${status}`;
    const msg = rpcMessage(body, sse, id);
    if (!msg) return 'no answer for the id sent';
    if (msg.error !== undefined) return 'JSON-RPC error';
    if (msg.id !== id) return `id ${String(msg.id)} for ${id}`;
    if (!msg.result) return 'no result';
    if (msg.result.isError === true) return 'isError result';
    if (expectReady && (msg.result.structuredContent as { state?: string } | undefined)?.state !== 'ready') return 'state is not ready';
    return null;
  };
}

const rawCheck: Check = (status, body) => (status === 200 && JSON.parse(body).ok === true ? null : `HTTP ${status}`);

let nextId = 1;

/** autocannon options: one request whose body gets a fresh id each time, and a check of every answer. */
function driver(url: string, headers: (id: number) => Record<string, string>, body: (id: number) => string, check: Check, tally: Tally): autocannon.Options {
  const u = new URL(url);
  return {
    url: u.origin,
    connections: Number(process.env.MCP_BENCH_CONNECTIONS ?? 50),
    requests: [
      {
        method: 'POST',
        path: u.pathname,
        setupRequest: (req, ctx) => {
          const context = ctx as Record<string, unknown>;
          const id = nextId++;
          context.id = id;
          return { ...req, headers: headers(id), body: body(id) };
        },
        onResponse: (status, resBody, ctx) => {
          let problem: string | null;
          try {
            problem = check(status, resBody, (ctx as Record<string, unknown>).id as number);
          } catch (err) {
            problem = `unparsable answer (${(err as Error).message})`;
          }
          if (problem === null) return void tally.ok++;
          tally.bad++;
          tally.example ??= `${problem}: ${resBody.slice(0, 300)}`;
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The whole bench

interface Line {
  name: string;
  /** The server process, whose CPU time per call is read from /proc. */
  pid: number;
  opts: (tally: Tally) => autocannon.Options;
  runs: (LoadResult & { bad: number; cpuUs: number })[];
  target?: number;
}

async function main(): Promise<number> {
  const seconds = Number(process.env.MCP_BENCH_SECONDS ?? 5);
  const rounds = Math.max(2, Number(process.env.MCP_BENCH_ROUNDS ?? 2));
  const connections = Number(process.env.MCP_BENCH_CONNECTIONS ?? 50);
  const memory = process.env.MCP_BENCH_MEMORY ?? 'both';
  const started = Date.now();
  const failures: string[] = [];
  const fail = (what: string, t: Tally, r: { errors: number; non2xx: number }) => {
    if (t.bad || r.errors || r.non2xx) failures.push(`${what}: ${t.bad} bad answers, ${r.errors} errors or timeouts, ${r.non2xx} non-2xx${t.example ? ` (first: ${t.example})` : ''}`);
  };

  if (memory !== 'only-legacy' && memory !== 'only-modern') {
    const base = await spawnBaseline();
    const door = await spawnHandRolledDoor();
    const ours = await startOurs();
    try {
      const sessions = await openSessions(ours.url, connections);
      const lines: Line[] = [
        { name: 'raw node:http JSON POST', pid: base.child.pid!, opts: (t) => driver(`${base.url}/mcp`, () => modernHeaders, modernBody, rawCheck, t), runs: [] },
        { name: 'hand-rolled door (reconstruction)', pid: door.child.pid!, opts: (t) => driver(`${door.url}/mcp`, () => modernHeaders, modernBody, toolCheck(false, false), t), runs: [] },
        { name: `modern ${MODERN} stateless`, pid: ours.pid, opts: (t) => modernLoad(ours.url, t), runs: [], target: 0.5 },
        { name: `legacy ${LEGACY} session`, pid: ours.pid, opts: (t) => legacyLoad(ours.url, sessions, t), runs: [], target: 0.4 },
      ];
      console.log(`\nMCP tools/call ${TOOL}, ${connections} connections, ${seconds} s per line, ${rounds} alternating rounds`);
      console.log(`(ratio = line / raw node:http of the same round; our server's RSS idle after linking ${mb(ours.idleRss)})`);
      // Warm-up, not counted: JIT, the SDK's lazy paths, socket pools. By count, not time: after 1 s (~500 calls) the
      // modern path still cost ~2x what it costs after a few thousand.
      for (const line of lines) await load({ ...line.opts({ ok: 0, bad: 0 }), amount: 3000 });
      for (let r = 1; r <= rounds; r++) {
        for (const line of lines) {
          const tally: Tally = { ok: 0, bad: 0 };
          const cpu0 = cpuUs(line.pid);
          const client0 = process.cpuUsage();
          const res = await load({ ...line.opts(tally), duration: seconds });
          const calls = Math.max(1, tally.ok + tally.bad);
          const cpu = (cpuUs(line.pid) - cpu0) / calls;
          const client = process.cpuUsage(client0);
          line.runs.push({ ...res, bad: tally.bad, cpuUs: cpu });
          console.log(fmtRun(`r${r} ${line.name}`, res, tally, lines[0]!.runs[r - 1]!, cpu, (client.user + client.system) / calls));
          fail(`${line.name} round ${r}`, tally, res);
        }
      }
      // Throughput ratios swing with whatever else runs on the 2 cores; server CPU per call much less (it is what the
      // throughput ratio would be if each server had a core to itself and the load generator kept up).
      console.log(`\nsummary: mean calls/s over the rounds; ratio to the same round's raw, median [min–max]; server CPU per call (median) and raw's / this line's`);
      const median = (xs: number[]) => {
        const v = [...xs].sort((a, b) => a - b);
        return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
      };
      const rawCpu = median(lines[0]!.runs.map((x) => x.cpuUs));
      for (const line of lines) {
        const ratios = line.runs.map((run, i) => run.rps / lines[0]!.runs[i]!.rps).sort((a, b) => a - b);
        const m = median(ratios);
        const mean = line.runs.reduce((sum, x) => sum + x.rps, 0) / line.runs.length;
        const cpu = median(line.runs.map((x) => x.cpuUs));
        const target = line.target === undefined ? '' : `  target ≥ ${line.target}x: ${m >= line.target ? 'met' : 'MISSED'}`;
        console.log(`  ${line.name.padEnd(36)} ${fmtNum(mean).padStart(7)} calls/s  ${m.toFixed(2)}x [${ratios[0]!.toFixed(2)}–${ratios.at(-1)!.toFixed(2)}]  ${cpu.toFixed(0).padStart(4)} µs CPU/call = ${(rawCpu / cpu).toFixed(2)}x${target}`);
      }
    } finally {
      await ours.stop();
      await door.stop();
      await base.stop();
    }
  }

  if (memory !== 'none') {
    // Each on a fresh server, so "after the first 10k" is what it says. ~175 s budget for the whole bench (dist/ build
    // not counted): the modern run is capped at 120 s; the legacy one runs in what is left, if 15 s or more.
    console.log('\nmemory: our server\'s RSS (VmRSS in /proc/<pid>/status; no forced GC), a fresh server per run');
    if (memory !== 'only-legacy') {
      const ours = await startOurs(undefined, ['--trace-gc']);
      try {
        const t: Tally = { ok: 0, bad: 0 };
        const r = await memoryRun('modern', ours, (tally) => modernLoad(ours.url, tally), t, Number(process.env.MCP_BENCH_MEMORY_CALLS ?? 200_000), 120_000);
        fail('modern memory run', t, r);
      } finally {
        await ours.stop();
      }
    }
    if (memory !== 'only-modern') {
      const left = memory === 'only-legacy' ? 120_000 : started + 175_000 - Date.now();
      if (left < 15_000) console.log(`  legacy: skipped, ${Math.max(0, left / 1000).toFixed(0)} s left of the ~3 min budget (MCP_BENCH_MEMORY=only-legacy runs it alone)`);
      else {
        const ours = await startOurs(undefined, ['--trace-gc']);
        try {
          const sessions = await openSessions(ours.url, connections);
          const t: Tally = { ok: 0, bad: 0 };
          const r = await memoryRun('legacy', ours, (tally) => legacyLoad(ours.url, sessions, tally), t, Number(process.env.MCP_BENCH_LEGACY_MEMORY_CALLS ?? 200_000), Math.min(120_000, left));
          fail('legacy memory run', t, r);
        } finally {
          await ours.stop();
        }
      }
    }
  }

  console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s in all (dist/ build not counted)`);
  if (failures.length) {
    console.error(`\nFAILED: answers that were not a 200 tools/call result:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

const modernLoad = (url: string, t: Tally) => driver(`${url}/mcp`, () => modernHeaders, modernBody, toolCheck(false, true), t);

/** A 2025-11-25 client sends neither Mcp-Method nor Mcp-Name (2026-07-28 headers); request k goes to session k mod n. */
function legacyLoad(url: string, sessions: string[], t: Tally): autocannon.Options {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': LEGACY };
  let turn = 0;
  return driver(`${url}/mcp`, () => ({ ...base, 'mcp-session-id': sessions[turn++ % sessions.length]! }), legacyBody, toolCheck(true, true), t);
}

interface Ours extends Spawned {
  pid: number;
  idleRss: number;
  gc?: GcTrace;
}

/** Our server from dist/ (or another build's cli.js) in a child process (sandbox engine, temp dirs, port 0), linked and ready. */
async function startOurs(cli?: string, nodeFlags?: string[]): Promise<Ours> {
  const s: Spawned & { gc?: GcTrace } = cli || nodeFlags ? await spawnBuild(cli ?? 'dist/cli.js', nodeFlags) : await spawnServer();
  try {
    const link = await fetch(`${s.url}/api/sandbox/link`, { method: 'POST' });
    if (!link.ok) throw new Error(`POST /api/sandbox/link: HTTP ${link.status}`);
    await waitReady(s.url);
  } catch (err) {
    await s.stop();
    throw err;
  }
  const pid = s.child.pid!;
  return {
    ...s,
    pid,
    idleRss: rss(pid),
    stop: async () => {
      await s.stop();
      fs.rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

/** `calls` tools/call (or until `capMs`): RSS after the first 10k, every ~10 s, and at the end. */
async function memoryRun(name: string, ours: Ours, opts: (t: Tally) => autocannon.Options, tally: Tally, calls: number, capMs: number): Promise<{ errors: number; non2xx: number }> {
  const first = 10_000;
  const { pid } = ours;
  const t0 = Date.now();
  const a = await load({ ...opts(tally), amount: first });
  const at10k = rss(pid);
  const heap10k = ours.gc?.heapAfterFullGc;
  const gcs10k = ours.gc?.fullGcs ?? 0;
  const samples: string[] = [];
  // Without a callback autocannon returns its tracker, which is also a promise of the result (the types say only the latter).
  const tracker = autocannon({ ...opts(tally), amount: calls - first }) as unknown as Promise<autocannon.Result> & { stop(): void };
  const stopAt = setTimeout(() => tracker.stop(), Math.max(1000, capMs - (Date.now() - t0)));
  const sampler = setInterval(() => samples.push(`${Math.round((tally.ok + tally.bad) / 1000)}k ${mb(rss(pid))}`), 10_000);
  const b = await tracker;
  clearTimeout(stopAt);
  clearInterval(sampler);
  const end = rss(pid);
  const done = tally.ok + tally.bad;
  const secs = (Date.now() - t0) / 1000;
  const ratio = end / at10k;
  console.log(
    `  ${name.padEnd(7)} ${fmtNum(done)} calls in ${secs.toFixed(0)} s (${fmtNum(done / secs)}/s${done < calls ? `, stopped by the ${(capMs / 1000).toFixed(0)} s cap` : ''}): ` +
      `RSS idle ${mb(ours.idleRss)}, after 10k ${mb(at10k)}, at the end ${mb(end)} = ${ratio.toFixed(2)}x the 10k figure (target ≤ 1.2x: ${ratio <= 1.2 ? 'met' : 'MISSED'}); peak ${mb(hwm(pid))}`,
  );
  if (samples.length) console.log(`          every 10 s: ${samples.join(', ')}`);
  const heapEnd = ours.gc?.heapAfterFullGc;
  if (ours.gc) {
    // The heap a full GC leaves is what the process still holds; RSS keeps pages the heap once grew into.
    const told = heap10k === undefined || heapEnd === undefined ? 'too few full GCs to compare' : `${mb(heap10k)} → ${mb(heapEnd)} = ${(heapEnd / heap10k).toFixed(2)}x`;
    console.log(`          heap used after the last full GC (--trace-gc), by 10k → at the end: ${told}; ${gcs10k} full GCs by 10k, ${ours.gc.fullGcs - gcs10k} after`);
  }
  return { errors: a.errors + b.errors + b.timeouts, non2xx: a.non2xx + b.non2xx };
}

// ---------------------------------------------------------------------------------------------------------------------
// Our server: readiness and legacy sessions

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const h = (await fetch(`${url}/health`).then((r) => r.json())) as { status?: { ready?: boolean } };
    if (h.status?.ready) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('sandbox engine not ready 5 s after linking');
}

/** `n` initialized 2025-11-25 sessions (initialize, then notifications/initialized); their ids. */
async function openSessions(url: string, n: number): Promise<string[]> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const init = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'bench-mcp', version: '1.0.0' } } }),
    });
    const sid = init.headers.get('mcp-session-id');
    await init.text();
    if (!init.ok || !sid) throw new Error(`initialize: HTTP ${init.status}, no session id`);
    const note = await fetch(`${url}/mcp`, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY }, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
    await note.text();
    if (note.status !== 202) throw new Error(`notifications/initialized: HTTP ${note.status}`);
    ids.push(sid);
  }
  return ids;
}

function procField(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
const rss = (pid: number) => procField(pid, 'VmRSS');
const hwm = (pid: number) => procField(pid, 'VmHWM');

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MB`;
}

function fmtNum(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtRun(name: string, r: LoadResult, t: Tally, raw: LoadResult, cpu: number, client: number): string {
  const ratio = `${(r.rps / raw.rps).toFixed(2)}x`;
  return `${name.padEnd(40)} ${fmtNum(r.rps).padStart(7)} calls/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(4)} ms  ${ratio.padStart(6)}  server ${cpu.toFixed(0).padStart(4)} µs CPU/call (client ${client.toFixed(0)})  checked ${fmtNum(t.ok)} ok, ${t.bad} bad, ${r.errors} errors, ${r.non2xx} non-2xx`;
}

/** User + system CPU time of a process so far, in µs (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

// ---------------------------------------------------------------------------------------------------------------------
// The reconstructed hand-rolled door (child process)

async function spawnHandRolledDoor(): Promise<Spawned> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/mcp.ts', '--hand-rolled-door'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).port as number));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    dir: '',
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * What the original product's MCP door did, as far as its behaviour tells: read the body, JSON.parse it, switch on the
 * method, answer tools/call with the tool's JSON pretty-printed into a text content block. No header, version or
 * argument checks, no sessions, no SDK. The status object has the shape and size of ours.
 */
function handRolledDoor(): void {
  const status = {
    engine: 'sandbox',
    state: 'ready',
    ready: true,
    authenticated: true,
    auth_dir: '/tmp/wa-bench-xxxxxx/auth',
    chrome_executable: null,
    headless: true,
    has_qr: false,
    pairing_code: null,
    last_error: null,
    account: { wid: '15550009999@c.us', pushname: 'Sandbox User', platform: 'sandbox' },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown; method: string; params?: { name?: string } };
      let result: unknown;
      if (msg.method === 'initialize') result = { protocolVersion: '2024-11-05', capabilities: { tools: {} }, serverInfo: { name: 'whatsapp', version: '1.0.0' } };
      else if (msg.method === 'tools/list') result = { tools: [{ name: TOOL, description: 'Connection status', inputSchema: { type: 'object', properties: {} } }] };
      else if (msg.method === 'tools/call' && msg.params?.name === TOOL) result = { content: [{ type: 'text', text: JSON.stringify(status, null, 2) }] };
      const payload = JSON.stringify(result === undefined ? { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } } : { jsonrpc: '2.0', id: msg.id, result });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// profile: where a modern tools/call spends its CPU

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

async function profile(dir: string, which: string, cli = 'dist/cli.js'): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const seconds = Number(process.env.MCP_BENCH_SECONDS ?? 5);
  // --cpu-prof is refused in NODE_OPTIONS on Node 20, so this spawns the server the way harness.spawnServer does, with flags.
  const spawnedAt = Date.now();
  const ours = await spawnProfiled(dir, cli);
  let skipMs = 0;
  let untilMs = Infinity;
  try {
    await fetch(`${ours.url}/api/sandbox/link`, { method: 'POST' });
    await waitReady(ours.url);
    const sessions = which === 'legacy' ? await openSessions(ours.url, Number(process.env.MCP_BENCH_CONNECTIONS ?? 50)) : [];
    const make = (t: Tally) => (which === 'legacy' ? legacyLoad(ours.url, sessions, t) : modernLoad(ours.url, t));
    await load({ ...make({ ok: 0, bad: 0 }), amount: 3000 });
    // Startup, linking and the warm-up are left out of the summary.
    skipMs = Date.now() - spawnedAt;
    const tally: Tally = { ok: 0, bad: 0 };
    const r = await load({ ...make(tally), duration: seconds });
    untilMs = Date.now() - spawnedAt; // and shutdown (the store's close) too
    console.log(`${which} tools/call under --cpu-prof: ${fmtNum(r.rps)} calls/s (${tally.ok} ok, ${tally.bad} bad)`);
  } finally {
    await ours.stop();
    fs.rmSync(ours.dir, { recursive: true, force: true });
  }
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f)).sort((x, y) => fs.statSync(y).mtimeMs - fs.statSync(x).mtimeMs)[0];
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  summarizeProfile(file, skipMs * 1000, untilMs * 1000);
}

/** Self time by module and by function, and inclusive time of a few functions worth knowing about. */
function summarizeProfile(file: string, skipUs = 0, untilUs = Infinity): void {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  // Keep the samples between skipUs and untilUs of the timeline (not startup, warm-up or shutdown).
  let t = 0;
  let from = -1;
  let to = prof.samples.length;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (from < 0 && t >= skipUs) from = i;
    if (t > untilUs) {
      to = i;
      break;
    }
  }
  prof.samples = prof.samples.slice(Math.max(0, from), to);
  prof.timeDeltas = prof.timeDeltas.slice(Math.max(0, from), to);
  // Self time per node from the samples (hitCount is per node too, but timeDeltas are what the samples cost).
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  let total = 0;
  let idle = 0;
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)') {
      if (fn === '(idle)') idle += us;
      continue;
    }
    total += us;
    const mod = moduleOf(n.callFrame.url, fn);
    const key = `${fn}  ${mod}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    mods.set(mod, (mods.get(mod) ?? 0) + us);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  console.log(`profile ${file}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`);
  console.log(`\nself time by module\n${top(mods, 15)}\n\nself time by function\n${top(fns, 25)}`);

  // Inclusive time (each function counted once per sample however deep it recurs). Async functions show only what
  // runs before their first await: after it, the stack starts at the microtask queue.
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${moduleOf(n.callFrame.url, n.callFrame.functionName)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  const incl = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  prof.samples.forEach((id, i) => {
    const us = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)' || leaf.callFrame.functionName === '(program)') return;
    const seen = new Set<string>();
    const chain: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') break;
      const k = keyOf(n);
      if (chain.length < 4) chain.push(k.split('  ')[0]!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
    const leafKey = keyOf(leaf);
    const m = callers.get(leafKey) ?? new Map<string, number>();
    const via = chain.slice(1).join(' < ') || '(top)';
    m.set(via, (m.get(via) ?? 0) + us);
    callers.set(leafKey, m);
  });
  console.log(`\ninclusive time by function (synchronous parts)\n${top(incl, 30)}`);
  const hot = [...fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  console.log('\nwho calls the top self-time functions (caller < its caller < ...)');
  for (const [k, us] of hot) {
    const m = callers.get(k);
    if (!m) continue;
    const best = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([via, t]) => `${((100 * t) / us).toFixed(0)}% ${via}`).join(' | ');
    console.log(`  ${k.split('  ')[0]}: ${best}`);
  }
}

async function spawnProfiled(profDir: string, cli: string): Promise<Spawned> {
  return spawnBuild(cli, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
}

/** A server that prints --trace-gc lines: the heap used after its latest full (mark-compact) GC, and how many ran. */
interface GcTrace {
  heapAfterFullGc?: number;
  fullGcs: number;
}

/**
 * Our server from any build's cli.js (the ab mode compares two builds), with node flags; sandbox engine, temp dirs.
 * With --trace-gc among the flags, `gc` follows the full GCs it reports on stdout (memory runs: RSS need not shrink
 * after the heap grew once, the heap after a full GC does).
 */
async function spawnBuild(cli: string, nodeFlags: string[] = []): Promise<Spawned & { gc: GcTrace }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-'));
  const traced = nodeFlags.includes('--trace-gc');
  const child = spawn(process.execPath, [...nodeFlags, cli], {
    env: { ...process.env, WHATSAPP_MCP_PORT: '0', WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: `${dir}/auth`, WHATSAPP_DATA_DIR: `${dir}/data`, LOG_LEVEL: 'info', WHATSAPP_SANDBOX_LINK_DELAY_MS: '0' },
    stdio: ['ignore', traced ? 'pipe' : 'ignore', 'pipe'],
  });
  const gc: GcTrace = { fullGcs: 0 };
  if (traced) {
    // "[pid:0x…]  1234 ms: Mark-Compact 41.2 (60.1) -> 30.5 (58.3) MB, …": used (committed) before -> after.
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
      if (!m) return;
      gc.fullGcs++;
      gc.heapAfterFullGc = Number(m[1]) * 1048576;
    });
  }
  const url = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      const m = /"url":"([^"]+)"/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stderr!.resume();
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, child, dir, stop, gc };
}

function moduleOf(url: string, fn: string): string {
  if (!url) return fn === '(garbage collector)' ? '(gc)' : '(native/builtin)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `${pkg}/${rest.slice(-1)[0]}`;
  }
  if (url.startsWith('node:')) return url;
  const d = url.indexOf('/dist/');
  return d >= 0 ? url.slice(d + 1) : url;
}

// ---------------------------------------------------------------------------------------------------------------------
// breakdown: the modern path piece by piece, in process (src/ through tsx), one call at a time, CPU µs per call

class MockResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  bytes = 0;
  body = '';
  private readonly headers: Record<string, unknown> = {};
  setHeader(k: string, v: unknown): this {
    this.headers[k.toLowerCase()] = v;
    return this;
  }
  getHeader(k: string): unknown {
    return this.headers[k.toLowerCase()];
  }
  writeHead(status: number, headers?: Record<string, unknown>): this {
    this.statusCode = status;
    Object.assign(this.headers, headers);
    this.headersSent = true;
    return this;
  }
  write(chunk: string | Uint8Array): boolean {
    this.bytes += chunk.length;
    this.body += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }
  end(chunk?: string | Uint8Array): this {
    if (chunk) this.write(chunk);
    this.writableEnded = true;
    setImmediate(() => {
      this.emit('finish');
      this.emit('close');
    });
    return this;
  }
}

function mockRequest(body: string, headers: Record<string, string>): IncomingMessage {
  const req = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
  Object.assign(req, { method: 'POST', url: '/mcp', headers: { host: '127.0.0.1:8790', 'content-length': String(Buffer.byteLength(body)), connection: 'keep-alive', ...headers } });
  return req;
}

async function breakdown(n: number): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { silentLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/app.js');
  const { SandboxEngine } = await import('../src/engine/sandbox.js');
  const { createMcpServer } = await import('../src/mcp/server.js');
  const { callOperation } = await import('../src/mcp/tools.js');
  const { modernDoor } = await import('../src/mcp/modern.js');
  const { createMcpDoor } = await import('../src/mcp/http.js');
  const { availableOperations } = await import('../src/operations/index.js');
  const { readJsonBody } = await import('../src/http/body.js');
  const { toWebRequest } = await import('@modelcontextprotocol/node');
  const { McpServer, createMcpHandler, isInitializeRequest, isLegacyRequest } = await import('@modelcontextprotocol/server');
  const { z } = await import('zod');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-'));
  const logger = silentLogger();
  const config = loadConfig({ WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: `${dir}/auth`, WHATSAPP_DATA_DIR: `${dir}/data`, WHATSAPP_SANDBOX_LINK_DELAY_MS: '0', WHATSAPP_MCP_PORT: '8790' });
  const services = await createServices(config, { logger });
  await (services.engine as InstanceType<typeof SandboxEngine>).linkNow();
  const op = availableOperations(services).find((o) => o.name === TOOL)!;
  const factory = () => createMcpServer(services, { qrPageUrl: 'http://127.0.0.1:8790/qr', transport: 'mcp-http', era: 'modern' });
  const body = JSON.parse(modernBody(1)) as unknown;
  const bodyText = modernBody(1);
  const nodeReq = () => mockRequest(bodyText, modernHeaders);
  const webReq = () => toWebRequest(nodeReq(), body);

  // The SDK floor: a bare McpServer, one tool with a constant answer, same handler shape.
  // (Set on the Server like ours, not via registerTool: for a registerTool tool createMcpHandler converts its zod
  // input schema to JSON Schema on every call, to scan for x-mcp-header declarations, which costs more than the rest.)
  const bareServer = () => {
    const s = new McpServer({ name: 'bare', version: '1.0.0' }, { capabilities: { tools: {} } });
    s.server.setRequestHandler('tools/call', async () => ({ content: [{ type: 'text', text: '{"state":"ready"}' }] }));
    return s;
  };
  const bareHandler = createMcpHandler(bareServer, { legacy: 'reject' });
  const registeredHandler = createMcpHandler(() => {
    const s = new McpServer({ name: 'bare', version: '1.0.0' });
    s.registerTool(TOOL, { description: 'status', inputSchema: z.object({}) }, async () => ({ content: [{ type: 'text', text: '{"state":"ready"}' }] }));
    return s;
  }, { legacy: 'reject' });
  const handler = createMcpHandler(() => factory(), { legacy: 'reject' });
  const modern = modernDoor(services, logger, () => factory());
  const door = createMcpDoor(services, logger);
  const url = new URL('http://127.0.0.1:8790/mcp');

  const check = async (res: Response | MockResponse): Promise<void> => {
    const text = res instanceof MockResponse ? (await new Promise((r) => res.once('close', r)), res.body) : await res.text();
    if (!text.includes('"result"') || text.includes('"error":{')) throw new Error(`unexpected answer: ${text.slice(0, 300)}`);
  };
  const steps: [string, () => Promise<unknown>][] = [
    ['this harness alone: mock req → readJsonBody → a fixed JSON answer', async () => {
      const res = new MockResponse();
      await readJsonBody(nodeReq(), config.maxBodyBytes);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"result":{}}');
      await check(res);
    }],
    ['callOperation(whatsapp_status) (ours: invoke + output parse + JSON)', () => callOperation(op, {}, services, { transport: 'mcp-http' })],
    ['factory: createMcpServer(modern) + close()', async () => factory().close()],
    ['  the same, bare McpServer + 1 registerTool + close()', async () => {
      const s = new McpServer({ name: 'bare', version: '1.0.0' });
      s.registerTool(TOOL, { description: 'status', inputSchema: z.object({}) }, async () => ({ content: [] }));
      await s.close();
    }],
    ['toWebRequest(req, parsedBody) (done twice per call)', () => webReq()],
    ['isLegacyRequest(webRequest, body) (http.ts probe)', async () => isLegacyRequest(await webReq(), body)],
    ['isInitializeRequest(body) (http.ts, a failing zod parse)', async () => isInitializeRequest(body)],
    ['createMcpHandler.fetch, bare server, + text() (SDK floor)', async () => check(await bareHandler.fetch(await webReq(), { parsedBody: body }))],
    ['  the same, the tool via registerTool (zod input schema)', async () => check(await registeredHandler.fetch(await webReq(), { parsedBody: body }))],
    ['createMcpHandler.fetch, our factory, + text()', async () => check(await handler.fetch(await webReq(), { parsedBody: body }))],
    ['modernDoor.handle (toNodeHandler → mock res)', async () => {
      const res = new MockResponse();
      await modern.handle(nodeReq(), res as unknown as ServerResponse, body);
      await check(res);
    }],
    ['createMcpDoor.handle (body read, then modern-fast.ts)', async () => {
      const res = new MockResponse();
      await door.handle(nodeReq(), res as unknown as ServerResponse, url);
      await check(res);
    }],
    // Not in src/: what answering a modern tools/call without the SDK would cost (the checks the SDK makes for this
    // request: header/body agreement, version, envelope; then our callOperation and one JSON write).
    ['prototype, not in src/: direct tools/call route (read, check, call, write)', async () => {
      const req = nodeReq();
      const res = new MockResponse();
      const msg = (await readJsonBody(req, config.maxBodyBytes)) as { id: number; method: string; params: { name: string; arguments?: unknown; _meta?: Record<string, unknown> } };
      const meta = msg.params._meta;
      const h = req.headers;
      if (h['mcp-method'] !== msg.method || h['mcp-name'] !== msg.params.name || h['mcp-protocol-version'] !== MODERN) throw new Error('header mismatch');
      if (meta?.['io.modelcontextprotocol/protocolVersion'] !== MODERN || typeof meta['io.modelcontextprotocol/clientInfo'] !== 'object' || typeof meta['io.modelcontextprotocol/clientCapabilities'] !== 'object') throw new Error('bad _meta');
      const result = await callOperation(op, msg.params.arguments, services, { transport: 'mcp-http' });
      const payload = JSON.stringify({ result: { ...result, resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'whatsapp-mcp-api', version: '0.1.0' } } }, jsonrpc: '2.0', id: msg.id });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      await check(res);
    }],
  ];
  const only = process.env.MCP_BENCH_STEP ? new RegExp(process.env.MCP_BENCH_STEP) : null;
  const chosen = steps.filter(([name]) => !only || only.test(name));
  const rounds = 5;
  const per = Math.max(100, Math.round(n / rounds));
  console.log(`modern tools/call ${TOOL}, in process (src/), one call at a time; every step warmed up (1000 calls), then ${rounds} interleaved rounds of ${per} calls; CPU µs per call (user+sys), median of the rounds [min]`);
  // All steps share SDK code: warming every one before measuring any keeps the first ones from paying for the JIT.
  for (const [, fn] of chosen) for (let i = 0; i < 1000; i++) await fn();
  const cpu = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of chosen) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < per; i++) await fn();
      const c = process.cpuUsage(c0);
      cpu.set(name, [...(cpu.get(name) ?? []), (c.user + c.system) / per]);
    }
  }
  for (const [name] of chosen) {
    const xs = cpu.get(name)!.sort((a, b) => a - b);
    console.log(`  ${name.padEnd(76)} ${xs[Math.floor(xs.length / 2)]!.toFixed(1).padStart(6)} µs  [${xs[0]!.toFixed(1)}]`);
  }
  await door.close();
  await modern.close();
  await handler.close();
  await bareHandler.close();
  await registeredHandler.close();
  await services.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------------
// ab: two builds of our server side by side (e.g. a copy of dist/ from before a change, and dist/), same run, same raw

async function ab(cliA: string, cliB: string): Promise<number> {
  const seconds = Number(process.env.MCP_BENCH_SECONDS ?? 5);
  const rounds = Math.max(2, Number(process.env.MCP_BENCH_ROUNDS ?? 3));
  const connections = Number(process.env.MCP_BENCH_CONNECTIONS ?? 50);
  const base = await spawnBaseline();
  const a = await startOurs(cliA);
  const b = await startOurs(cliB);
  let bad = 0;
  try {
    const sa = await openSessions(a.url, connections);
    const sb = await openSessions(b.url, connections);
    const raw: Line = { name: 'raw node:http JSON POST', pid: base.child.pid!, opts: (t) => driver(`${base.url}/mcp`, () => modernHeaders, modernBody, rawCheck, t), runs: [] };
    const pair = (label: string, ours: Ours, sessions: string[]): Line[] => [
      { name: `modern ${label}`, pid: ours.pid, opts: (t) => modernLoad(ours.url, t), runs: [] },
      { name: `legacy ${label}`, pid: ours.pid, opts: (t) => legacyLoad(ours.url, sessions, t), runs: [] },
    ];
    const [ma, la] = pair('A', a, sa);
    const [mb_, lb] = pair('B', b, sb);
    console.log(`ab: A = ${cliA}, B = ${cliB}; ${connections} connections, ${seconds} s per line, ${rounds} rounds (A/B order alternates); load ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
    for (const line of [raw, ma!, mb_!, la!, lb!]) await load({ ...line.opts({ ok: 0, bad: 0 }), amount: 3000 });
    for (let r = 1; r <= rounds; r++) {
      const order = r % 2 ? [raw, ma!, mb_!, la!, lb!] : [raw, mb_!, ma!, lb!, la!];
      for (const line of order) {
        const tally: Tally = { ok: 0, bad: 0 };
        const cpu0 = cpuUs(line.pid);
        const client0 = process.cpuUsage();
        const res = await load({ ...line.opts(tally), duration: seconds });
        const calls = Math.max(1, tally.ok + tally.bad);
        const client = process.cpuUsage(client0);
        line.runs.push({ ...res, bad: tally.bad, cpuUs: (cpuUs(line.pid) - cpu0) / calls });
        bad += tally.bad + res.errors + res.non2xx;
        console.log(fmtRun(`r${r} ${line.name}`, res, tally, raw.runs[r - 1]!, line.runs.at(-1)!.cpuUs, (client.user + client.system) / calls));
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    console.log(`\nsummary (medians over the rounds; ratio to the same round's raw); load ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
    for (const line of [raw, ma!, mb_!, la!, lb!]) {
      const ratio = median(line.runs.map((run, i) => run.rps / raw.runs[i]!.rps));
      console.log(`  ${line.name.padEnd(26)} ${fmtNum(median(line.runs.map((x) => x.rps))).padStart(7)} calls/s  ${ratio.toFixed(2)}x  ${median(line.runs.map((x) => x.cpuUs)).toFixed(0).padStart(4)} µs CPU/call`);
    }
  } finally {
    await a.stop();
    await b.stop();
    await base.stop();
  }
  return bad ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------------
// Entry (last, so every const above is initialised)

if (process.argv[2] === '--hand-rolled-door') {
  handRolledDoor();
} else if (process.argv[2] === 'breakdown') {
  await breakdown(Number(process.argv[3] ?? 3000));
} else if (process.argv[2] === 'summarize') {
  summarizeProfile(process.argv[3]!);
} else if (process.argv[2] === 'ab') {
  process.exitCode = await ab(process.argv[3]!, process.argv[4] ?? 'dist/cli.js');
} else if (process.argv[2] === 'profile') {
  await profile(process.argv[4] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-mcp-prof-')), process.argv[3] ?? 'modern', process.argv[5]);
} else {
  process.exitCode = await main();
}
