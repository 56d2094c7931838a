// One process per session and store: two servers driving one WhatsApp session or one outbox would fight over
// the browser profile and could each take the other's in-flight sends for crashed ones.
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'whatsapp-mcp-api.lock';

export class InstanceLockedError extends Error {}

/** Locks this process holds (a second server inside one process, as in tests, is refused too). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `<dir>/whatsapp-mcp-api.lock` for this process; a lock left by a dead process is taken over. */
export function acquireDirLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  if (held.has(file)) throw new InstanceLockedError(`Another whatsapp-mcp-api (pid ${process.pid}) is using ${dir}; one WhatsApp session and store can be driven by one process at a time`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      held.add(file);
      return () => {
        held.delete(file);
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const text = readIfPresent(file);
      const pid = Number(text);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new InstanceLockedError(`Another whatsapp-mcp-api (pid ${pid}) is using ${dir}; one WhatsApp session and store can be driven by one process at a time`);
      }
      // Stale: its process is gone (kill -9, crash, reboot). Read again just before removing, so a lock another
      // starting process has just taken over is not removed (two starts racing over one stale lock within a few
      // microseconds remain possible: a documented limit, not worth a native flock here).
      if (readIfPresent(file) === text) fs.rmSync(file, { force: true });
    }
  }
  throw new InstanceLockedError(`Could not lock ${dir}`);
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
