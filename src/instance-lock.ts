// One process per session and store: two servers driving one WhatsApp session or one outbox would fight over
// the browser profile and could each take the other's in-flight sends for crashed ones.
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'whatsapp-mcp-api.lock';

export class InstanceLockedError extends Error {}

/** Who holds a lock. Files written before startTime/bootId existed hold the bare pid. */
export interface LockHolder {
  pid: number;
  /** Linux: field 22 of /proc/<pid>/stat, clock ticks after boot; with the pid it names one process. */
  startTime?: string;
  /** Linux: /proc/sys/kernel/random/boot_id; a different one means the holder ran before a reboot. */
  bootId?: string;
}

export interface LockOptions {
  /** Where procfs is mounted; tests point it at an empty dir to run the portable (non-Linux) check. */
  procDir?: string;
}

/** Locks this process holds (a second server inside one process, as in tests, is refused too). */
const held = new Set<string>();

/** Take `<dir>/whatsapp-mcp-api.lock` for this process; a lock whose holder is gone is taken over. */
export function acquireDirLock(dir: string, opts: LockOptions = {}): () => void {
  const procDir = opts.procDir ?? '/proc';
  const file = path.join(dir, LOCK_FILE);
  if (held.has(file)) throw lockedError(file, dir, process.pid);
  const mine = JSON.stringify(describeProcess(process.pid, procDir));
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // 'wx' creates the file only if it does not exist: of two starts, exactly one gets it.
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      held.add(file);
      return () => {
        held.delete(file);
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const text = readIfPresent(file);
      if (text === '' && justCreated(file)) {
        // Between another start's create and its write the file is empty for a moment: that start holds it.
        throw new InstanceLockedError(`Another whatsapp-mcp-api is starting on ${dir} (lock file ${file})`);
      }
      const holder = parseLock(text);
      if (holder && holdsLock(holder, procDir)) throw lockedError(file, dir, holder.pid);
      // Stale: its process is gone (kill -9, crash), a zombie, or another process under a reused pid (reboot).
      // Read again just before removing, so a lock another starting process has just taken over is not removed
      // (two starts racing over one stale lock within a few microseconds remain possible: a documented limit,
      // not worth a native flock here).
      if (readIfPresent(file) === text) fs.rmSync(file, { force: true });
    }
  }
  throw new InstanceLockedError(`Could not lock ${dir} (lock file ${file})`);
}

function lockedError(file: string, dir: string, pid: number): InstanceLockedError {
  return new InstanceLockedError(
    `Another whatsapp-mcp-api (pid ${pid}) is using ${dir}; one WhatsApp session and store can be driven by one process at a time. ` +
      `Lock file: ${file}. If you think it is stale, "ps -o pid,stat,lstart,args -p ${pid}" shows what holds it: ` +
      `stop that server, or delete the lock file if that process is not a whatsapp-mcp-api`,
  );
}

/** The lock's holder, or undefined for text no version of this server writes (taken over as stale). */
export function parseLock(text: string): LockHolder | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return validPid(Number(trimmed)) ? { pid: Number(trimmed) } : undefined;
  try {
    const v = JSON.parse(trimmed) as Partial<Record<keyof LockHolder, unknown>>;
    if (typeof v.pid !== 'number' || !validPid(v.pid)) return undefined;
    return {
      pid: v.pid,
      ...(typeof v.startTime === 'string' ? { startTime: v.startTime } : {}),
      ...(typeof v.bootId === 'string' ? { bootId: v.bootId } : {}),
    };
  } catch {
    return undefined;
  }
}

const validPid = (pid: number) => Number.isSafeInteger(pid) && pid > 0;

/** This process as a lock names it: pid, and where procfs answers, start time and boot id. */
export function describeProcess(pid: number, procDir = '/proc'): LockHolder {
  const stat = readProcStat(pid, procDir);
  const bootId = readBootId(procDir);
  return { pid, ...(stat ? { startTime: stat.startTime } : {}), ...(bootId ? { bootId } : {}) };
}

/** Whether the process a lock names still runs (and so still holds it). */
export function holdsLock(holder: LockHolder, procDir = '/proc'): boolean {
  // Our own pid in a lock we do not hold: written by an earlier process that had this pid (a container's pid 1).
  if (holder.pid === process.pid) return false;
  const bootId = readBootId(procDir);
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) return false;
  if (bootId === undefined) return signalable(holder.pid); // no procfs (macOS, Windows): the portable check
  const stat = readProcStat(holder.pid, procDir);
  // A pid procfs does not show may still exist out of sight (procfs mounted with hidepid): ask the kernel.
  if (!stat) return signalable(holder.pid);
  // A zombie (Z) or dying (X) process has exited and only waits for its parent to reap it: milliseconds under an
  // attentive parent, seconds under a busy one, forever under one that never waits (a shell as a container's pid 1).
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return holder.startTime === undefined || holder.startTime === stat.startTime;
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** State (field 3) and start time (field 22) from /proc/<pid>/stat, or undefined when there is none. */
function readProcStat(pid: number, procDir: string): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(procDir, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses and may itself hold spaces and ')': fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/);
  const state = fields[0];
  const startTime = fields[22 - 3];
  return state && startTime && /^\d+$/.test(startTime) ? { state, startTime } : undefined;
}

function readBootId(procDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(procDir, 'sys', 'kernel', 'random', 'boot_id'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Younger than a second: an empty lock this fresh is being written, an older one was left by a crash mid-write. */
function justCreated(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 1000;
  } catch {
    return false;
  }
}

/** The file's text, or '' when it is gone (its owner released it meanwhile). */
function readIfPresent(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
