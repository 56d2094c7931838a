// Shared bench plumbing: start a server in a child process, load it with autocannon, print ratios.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';

export interface Spawned {
  url: string;
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

/** Our server from dist/ (run `npm run build` first) on a free port, sandbox engine, throwaway dirs. */
export async function spawnServer(env: Record<string, string> = {}, reuseDir?: string): Promise<Spawned> {
  const dir = reuseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-'));
  const child = spawn(process.execPath, ['dist/cli.js'], {
    env: { ...process.env, WHATSAPP_MCP_PORT: '0', WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: `${dir}/auth`, WHATSAPP_DATA_DIR: `${dir}/data`, LOG_LEVEL: 'info', WHATSAPP_SANDBOX_LINK_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stderr! });
    rl.on('line', (line) => {
      const m = /"url":"([^"]+)"/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stderr!.resume();
  return { url, child, dir, stop: () => stopChild(child) };
}

export async function spawnBaseline(): Promise<Spawned> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/baseline-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).port as number));
  });
  return { url: `http://127.0.0.1:${port}`, child, dir: '', stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function load(opts: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ connections: 50, duration: 5, ...opts });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

export function row(name: string, r: LoadResult, baseline?: LoadResult): string {
  const ratio = baseline ? `${(r.rps / baseline.rps).toFixed(2)}x` : '1.00x';
  return `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms  ${ratio.padStart(6)}  errors ${r.errors} non2xx ${r.non2xx}`;
}
