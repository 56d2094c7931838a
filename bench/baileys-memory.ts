// Memory of the Baileys engine against the wwebjs one, in the same run: our whole server (HTTP, store, event log)
// with the Baileys engine, the real library loaded, on the test fake socket (test/fakes/), idle after linking and
// after 10k inbound messages through the full path (engine → store → event log); then bench/wwebjs-memory.ts for
// node + Chromium (wwebjs cannot get past loading web.whatsapp.com here, so that is its idle figure).
// Every measured process runs the project compiled to JavaScript on plain node, as the product runs (bench/compiled.ts
// says why: tsx's loader alone is ~35-65 MB); BENCH_MEMORY_LOADER=tsx measures under tsx as before, for comparison.
// Run: npm run bench:memory   (BENCH_MEMORY_MESSAGES to change the 10k; bench/wwebjs-memory.ts alone: npx tsx bench/wwebjs-memory.ts)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const TARGET_RATIO = 0.3;
const MESSAGES = Number(process.env.BENCH_MEMORY_MESSAGES ?? 10_000);
const UNDER_TSX = process.env.BENCH_MEMORY_LOADER === 'tsx';

interface Mem {
  rss_mb: number;
  pss_mb: number;
  heap_mb: number;
}

function readKb(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function self(): Mem {
  return { rss_mb: readKb('/proc/self/status', 'VmRSS') / 1024, pss_mb: readKb('/proc/self/smaps_rollup', 'Pss') / 1024, heap_mb: process.memoryUsage().heapUsed / 1e6 };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The measured process: prints one JSON line per stage. `server`: our whole app; `engine`: the engine alone. */
async function child(mode: 'server' | 'engine'): Promise<void> {
  const { startApp } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config.js');
  const { createBaileysEngine } = await import('../src/engine/baileys.js');
  const { silentLogger } = await import('../src/logger.js');
  const { MemoryAuthStores } = await import('../test/fakes/fake-baileys-auth.js');
  const { FakeBaileysWorld } = await import('../test/fakes/fake-baileys-socket.js');
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ stage: 'code loaded (our app, Baileys)', ...self() });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-memory-'));
  const config = loadConfig({ WHATSAPP_MCP_HOST: '127.0.0.1', WHATSAPP_MCP_PORT: '0', WHATSAPP_ENGINE: 'baileys', WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' });
  const world = new FakeBaileysWorld();
  const logger = silentLogger();
  const engine = createBaileysEngine({ config, logger, socketFactory: world.factory, openAuthStore: new MemoryAuthStores().open });
  // Engine alone, as bench/wwebjs-memory.ts measures wwebjs: its messages are counted and dropped.
  let seen = 0;
  engine.events.on('message', () => seen++);
  const app = mode === 'server' ? await startApp(config, { logger, engine }) : null;
  await engine.start();
  while (world.sockets.at(-1)?.state !== 'qr') await pause(5);
  world.last.link();
  while (engine.status().state !== 'ready') await pause(5);
  await pause(2_000);
  out({ stage: 'idle, linked', ...self() });
  // 100 people, a message each in turn, 100 per event-loop turn (a busy account, not a single burst).
  for (let i = 0; i < MESSAGES; i++) {
    world.last.inbound(`1555${String(3_000_000 + (i % 100))}@c.us`, `message ${i} with a few words of text in it, as people write`, { pushName: `Person ${i % 100}` });
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  app?.services.store.sync();
  await pause(2_000);
  const stored = app ? (app.services.store.db.prepare('SELECT count(*) FROM messages').pluck().get() as number) : seen;
  out({ stage: `after ${MESSAGES} messages`, ...self(), stored });
  // What stays: garbage collected (the figure above is what the process holds without anyone forcing it).
  (globalThis as { gc?: () => void }).gc?.();
  await pause(500);
  out({ stage: `after ${MESSAGES} messages, after a GC`, ...self(), stored });
  await (app ? app.close() : engine.stop());
  fs.rmSync(dir, { recursive: true, force: true });
}

type Stage = Mem & { stage: string; stored?: number };

/** How a measured process is started: compiled JavaScript on plain node (as the product runs), or under tsx. */
function script(build: string | null, file: string): string[] {
  return build ? [path.join(build, file.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', file];
}

async function measured(build: string | null, mode: 'server' | 'engine'): Promise<Stage[]> {
  const proc = spawn(process.execPath, ['--expose-gc', ...script(build, 'bench/baileys-memory.ts'), `--child=${mode}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stages: Stage[] = [];
  for await (const line of readline.createInterface({ input: proc.stdout! })) stages.push(JSON.parse(line));
  return stages;
}

function print(title: string, stages: Stage[]): void {
  console.log(`${title.padEnd(58)} RSS MB   PSS MB   heap MB`);
  for (const s of stages) console.log(`  ${s.stage.padEnd(54)} ${s.rss_mb.toFixed(0).padStart(6)}   ${s.pss_mb.toFixed(0).padStart(6)}   ${s.heap_mb.toFixed(0).padStart(7)}${s.stored === undefined ? '' : `   (${s.stored} seen)`}`);
}

async function main(): Promise<void> {
  // Imported here, not at the top: the measured children run this file too, and must not load TypeScript.
  const { compileForBench } = await import('./compiled.js');
  const build = UNDER_TSX ? null : compileForBench(['bench/baileys-memory.ts', 'bench/wwebjs-memory.ts']);
  try {
    await compare(build);
  } finally {
    if (build) fs.rmSync(build, { recursive: true, force: true });
  }
}

async function compare(build: string | null): Promise<void> {
  const engineOnly = await measured(build, 'engine');
  const server = await measured(build, 'server');
  console.log(build ? 'All processes: the project compiled to JavaScript, plain node (as `npm start` runs it)' : 'All processes under tsx (BENCH_MEMORY_LOADER=tsx)');
  print('Baileys engine alone (fake socket, Baileys loaded)', engineOnly);
  print('Our whole server on it (HTTP, SQLite store + event log)', server);
  const idle = engineOnly.find((s) => s.stage === 'idle, linked');
  const busy = engineOnly.find((s) => s.stage === `after ${MESSAGES} messages`);
  console.log('');
  const w = spawnSync(process.execPath, script(build, 'bench/wwebjs-memory.ts'), { env: { ...process.env, BENCH_JSON: '1' }, encoding: 'utf8', timeout: 180_000 });
  const printed = w.stdout.trim().split('\n');
  console.log(printed.filter((l) => !l.startsWith('{')).join('\n'));
  console.log('');
  const last = printed.at(-1) ?? '';
  const ww = last.startsWith('{') ? (JSON.parse(last) as { node_rss_mb: number; browser_pss_mb: number; browser_procs: number; total_mb: number }) : null;
  if (!ww || ww.browser_procs === 0 || !idle || !busy) {
    console.log('wwebjs: no Chromium measured in this run (set WHATSAPP_CHROME_EXECUTABLE); no ratio.');
    return;
  }
  console.log(`wwebjs engine: node ${ww.node_rss_mb.toFixed(0)} MB RSS + Chromium ${ww.browser_pss_mb.toFixed(0)} MB PSS (${ww.browser_procs} processes) = ${ww.total_mb.toFixed(0)} MB`);
  const collected = engineOnly.at(-1)!;
  for (const [name, s] of [['idle', idle], [`after ${MESSAGES} messages`, busy], [`after ${MESSAGES} messages and a GC`, collected]] as const) {
    const ratio = s.pss_mb / ww.total_mb;
    console.log(`Baileys engine ${name}: ${s.pss_mb.toFixed(0)} MB PSS = ${ratio.toFixed(2)}x the wwebjs total (target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`);
  }
  const serverBusy = server.find((s) => s.stage === `after ${MESSAGES} messages`);
  if (serverBusy) console.log(`(our whole server after ${MESSAGES} messages: ${serverBusy.pss_mb.toFixed(0)} MB PSS = ${(serverBusy.pss_mb / ww.total_mb).toFixed(2)}x; the rest is the store's SQLite cache and mmap, which any engine pays)`);
}

const mode = process.argv.find((a) => a.startsWith('--child='))?.slice('--child='.length);
if (mode === 'server' || mode === 'engine') await child(mode);
else await main();
