// One process per session and store: a second server on the same directories is refused; a lock whose holder is
// dead, a zombie, or an unrelated process under a reused pid is not.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, acquireDirLock, describeProcess, parseLock } from '../src/instance-lock.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { killToZombie, procState, spawnUnreaped, type Unreaped } from './helpers/zombie.js';

const servers: TestServer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
});

it('refuses a second server on the same directories until the first has stopped', async () => {
  const first = await startTestServer();
  servers.push(first);
  await expect(startTestServer({}, {}, first.dir)).rejects.toThrow(/Another whatsapp-mcp-api \(pid \d+\) is using/);
  await servers.pop()!.close();
  const second = await startTestServer({}, {}, first.dir);
  servers.push(second);
  expect((await second.call('GET', '/health')).status).toBe(200);
});

it('takes over a lock left by a process that no longer exists (kill -9)', async () => {
  const first = await startTestServer();
  const dir = first.dir;
  await first.close();
  // A pid far above any pid_max in use stands for a process that died without cleaning up.
  fs.writeFileSync(path.join(dir, 'data', LOCK_FILE), '2147483646');
  const again = await startTestServer({}, {}, dir);
  servers.push(again);
  expect(parseLock(fs.readFileSync(path.join(dir, 'data', LOCK_FILE), 'utf8'))?.pid).toBe(process.pid);
});

it('a server that cannot bind its port releases its locks and never starts the engine', async () => {
  const first = await startTestServer();
  await first.call('POST', '/api/sandbox/link', {});
  const dir = first.dir;
  await first.close();
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = String((blocker.address() as net.AddressInfo).port);
  try {
    await expect(startTestServer({ WHATSAPP_MCP_PORT: port }, {}, dir)).rejects.toThrow(/EADDRINUSE/);
    expect(fs.existsSync(path.join(dir, 'data', LOCK_FILE))).toBe(false);
    const deliveriesBefore = fs.readdirSync(path.join(dir, 'auth', 'session-default'));
    expect(deliveriesBefore).toContain('sandbox.json');
  } finally {
    blocker.close();
  }
  const ok = await startTestServer({}, {}, dir);
  servers.push(ok);
  expect((await ok.call('GET', '/health')).status).toBe(200);
});

/** A fresh dir with a lock file naming `holder` (an object is written as JSON, a string as is). */
function dirLockedBy(holder: object | string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-lock-'));
  const file = path.join(dir, LOCK_FILE);
  fs.writeFileSync(file, typeof holder === 'string' ? holder : JSON.stringify(holder));
  return { dir, file };
}

function take(dir: string, procDir?: string): void {
  cleanups.push(acquireDirLock(dir, procDir ? { procDir } : {}));
}

function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child as ChildProcess & { pid: number };
}

async function zombie(): Promise<Unreaped> {
  const z = await spawnUnreaped(['sleep', '60']);
  cleanups.push(z.release);
  return z;
}

describe.runIf(process.platform === 'linux')('who holds a lock (Linux: pid, start time, boot id)', () => {
  it('records this process by pid, start time and boot id, and removes only its own lock on release', () => {
    const { dir, file } = dirLockedBy('');
    fs.rmSync(file);
    const release = acquireDirLock(dir);
    const lock = parseLock(fs.readFileSync(file, 'utf8'));
    expect(lock).toEqual(describeProcess(process.pid));
    expect(lock?.startTime).toMatch(/^\d+$/);
    expect(lock?.bootId).toBe(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a live holder, in the new format or the bare pid older versions wrote, still refuses, naming pid and file', () => {
    const holder = sleeper();
    for (const written of [describeProcess(holder.pid), String(holder.pid)]) {
      const { dir, file } = dirLockedBy(written);
      expect(() => take(dir)).toThrow(`Another whatsapp-mcp-api (pid ${holder.pid}) is using ${dir}`);
      expect(() => take(dir)).toThrow(`Lock file: ${file}`);
      expect(() => take(dir)).toThrow(`ps -o pid,stat,lstart,args -p ${holder.pid}`);
      expect(fs.readFileSync(file, 'utf8')).toBe(typeof written === 'string' ? written : JSON.stringify(written));
    }
  });

  it('a holder killed with -9 and not yet reaped (a zombie) no longer holds it, in either format', async () => {
    for (const format of ['json', 'bare pid'] as const) {
      const z = await zombie();
      const written = format === 'json' ? describeProcess(z.pid) : String(z.pid);
      await killToZombie(z.pid);
      const { dir, file } = dirLockedBy(written);
      // The kernel still answers kill(pid, 0) for a zombie: the check the lock made before, which refused here.
      expect(() => process.kill(z.pid, 0)).not.toThrow();
      take(dir);
      expect(parseLock(fs.readFileSync(file, 'utf8'))?.pid).toBe(process.pid);
      expect(procState(z.pid)).toBe('Z');
    }
  });

  it('a live process under the holder\'s pid but with another start time is not the holder (pid reused)', () => {
    const other = sleeper();
    const real = describeProcess(other.pid);
    const { dir, file } = dirLockedBy({ ...real, startTime: String(Number(real.startTime) - 1) });
    take(dir);
    expect(parseLock(fs.readFileSync(file, 'utf8'))?.pid).toBe(process.pid);
  });

  it('a lock written before a reboot (another boot id) is stale even when pid and start time match', () => {
    const other = sleeper();
    const { dir, file } = dirLockedBy({ ...describeProcess(other.pid), bootId: '00000000-0000-4000-8000-000000000000' });
    take(dir);
    expect(parseLock(fs.readFileSync(file, 'utf8'))?.pid).toBe(process.pid);
  });

  it('without procfs (macOS, Windows) falls back to kill(pid, 0): a live pid holds, a dead one does not', () => {
    const noProc = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-noproc-'));
    const holder = sleeper();
    expect(describeProcess(holder.pid, noProc)).toEqual({ pid: holder.pid });
    const live = dirLockedBy({ pid: holder.pid, startTime: '1', bootId: 'x' });
    expect(() => take(live.dir, noProc)).toThrow(`(pid ${holder.pid})`);
    const dead = dirLockedBy({ pid: 2147483646 });
    take(dead.dir, noProc);
    expect(fs.readFileSync(dead.file, 'utf8')).toBe(JSON.stringify({ pid: process.pid }));
  });

  it('an empty lock is one being written by a starting process while fresh, a crash mid-write once old', () => {
    const { dir, file } = dirLockedBy('');
    expect(() => take(dir)).toThrow(/Another whatsapp-mcp-api is starting on .* \(lock file /);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    take(dir);
    expect(parseLock(fs.readFileSync(file, 'utf8'))?.pid).toBe(process.pid);
  });
});
