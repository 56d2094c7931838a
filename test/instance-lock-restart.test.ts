// A server killed with kill -9 restarts at once on the same directories, even while the dead one is still a zombie.
// A parent that reaps at once (this test runner) closes that window within milliseconds; under load, or under a
// parent that reaps late (a busy supervisor, a shell as a container's pid 1), it stays open for seconds or for good.
// So the killed server runs under a parent that never reaps it, and the test checks it is a zombie before restarting.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { LOCK_FILE, describeProcess, parseLock } from '../src/instance-lock.js';
import { killToZombie, procState, spawnUnreaped } from './helpers/zombie.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const SERVER = [process.execPath, '--import', 'tsx', 'src/cli.ts'];

function serverEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WHATSAPP_MCP_HOST: '127.0.0.1',
    WHATSAPP_MCP_PORT: '0',
    WHATSAPP_ENGINE: 'sandbox',
    WHATSAPP_AUTH_DIR: path.join(dir, 'auth'),
    WHATSAPP_DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'info',
  };
}

/** The URL the server logs once it listens; rejects with its stderr when it exits first. */
function listeningUrl(stderr: Readable, exited: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    readline.createInterface({ input: stderr }).on('line', (line) => {
      lines.push(line);
      const m = /"url":"([^"]+)"/.exec(line);
      if (m) resolve(m[1]!);
    });
    exited.once('exit', (code) => reject(new Error(`server exited with ${code}: ${lines.join('\n')}`)));
  });
}

it.runIf(process.platform === 'linux')('a server killed with -9 and still a zombie is replaced by a restart on the same dirs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-restart-'));
  const first = await spawnUnreaped(SERVER, serverEnv(dir));
  cleanups.push(first.release);
  const firstUrl = await listeningUrl(first.parent.stderr!, first.parent);
  expect((await fetch(`${firstUrl}/health`)).status).toBe(200);
  const lockFile = path.join(dir, 'data', LOCK_FILE);
  expect(parseLock(fs.readFileSync(lockFile, 'utf8'))?.pid).toBe(first.pid);

  await killToZombie(first.pid);

  const second = spawn(SERVER[0]!, SERVER.slice(1), { env: serverEnv(dir), stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => second.kill('SIGKILL'));
  const secondUrl = await listeningUrl(second.stderr!, second);
  expect((await fetch(`${secondUrl}/api/status`)).status).toBe(200);
  expect(parseLock(fs.readFileSync(lockFile, 'utf8'))?.pid).toBe(second.pid);
  // The restart happened inside the zombie window, not after the first was reaped.
  expect(procState(first.pid)).toBe('Z');
}, 60_000);

it('a refused start says in one line which lock file, which pid, and how to tell whether it is stale', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-refused-'));
  const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => holder.kill('SIGKILL'));
  const lockFile = path.join(dir, 'data', LOCK_FILE);
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  fs.writeFileSync(lockFile, JSON.stringify(describeProcess(holder.pid!)));
  const r = spawnSync(SERVER[0]!, SERVER.slice(1), { env: serverEnv(dir), encoding: 'utf8', timeout: 30_000 });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`whatsapp-mcp-api: failed to start: Another whatsapp-mcp-api (pid ${holder.pid}) is using ${path.join(dir, 'data')}`);
  expect(lines[0]).toContain(`Lock file: ${lockFile}`);
  expect(lines[0]).toContain(`ps -o pid,stat,lstart,args -p ${holder.pid}`);
}, 40_000);
