// The WAL checkpointer is one thread for every store of the process: each store's database is checkpointed by it,
// closing one store closes that connection only (and before the store's own close), and an idle store backs off.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { MessageStore } from '../src/store/message-store.js';
import { checkpointerThreads, WalCheckpointer } from '../src/store/wal-checkpointer.js';
import { historyMessage } from './helpers/store-history-writer.js';

const dirs: string[] = [];
const open: Array<{ close(): void }> = [];
afterEach(() => {
  open.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});
const tempFile = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-ckpt-'));
  dirs.push(dir);
  return path.join(dir, 'whatsapp.db');
};
const fileStore = (file: string) => {
  const s = new MessageStore(openDatabase(file));
  open.push(s);
  return s;
};
const batch = (b: number, n: number) => Array.from({ length: n }, (_, k) => ({ kind: 'message' as const, message: historyMessage(b, k) }));
/** The database file itself (not its WAL) only grows when a checkpoint copies pages into it. */
const dbBytes = (file: string) => fs.statSync(file).size;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** The files this process holds open, by path (Linux). */
const openFiles = () => fs.readdirSync('/proc/self/fd').flatMap((fd) => {
  try {
    return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
  } catch {
    return [];
  }
});

describe('one WAL checkpointer thread for every store', () => {
  it('checkpoints two stores from one thread; closing one keeps the other checkpointed', async () => {
    const [fa, fb] = [tempFile(), tempFile()];
    const a = fileStore(fa);
    const b = fileStore(fb);
    expect(checkpointerThreads()).toBe(1);
    const thread = (s: MessageStore) => (s as unknown as { checkpointer: WalCheckpointer }).checkpointer.threadId;
    expect(thread(a)).not.toBeNull();
    expect(thread(b)).toBe(thread(a));

    const before = [dbBytes(fa), dbBytes(fb)];
    for (let n = 1; n <= 10; n++) {
      a.write(batch(n, 1_000));
      b.write(batch(n, 1_000));
    }
    // Far below SQLite's own auto-checkpoint (20,000 pages): what reaches the files was copied by the worker. (A file
    // grows during a checkpoint, before the worker records it: hence both in one condition.)
    const copied = (s: MessageStore, file: string, from: number) => dbBytes(file) > from + 1_000_000 && s.checkpoints().maxWalPages > 0;
    await until(() => copied(a, fa, before[0]!) && copied(b, fb, before[1]!), 'both files checkpointed');
    expect(a.checkpoints().errors).toBe(0);
    expect(b.checkpoints().errors).toBe(0);

    a.close();
    // Its connection in the worker went before the store's own: the clean close removed the WAL, nothing holds the file.
    expect(fs.existsSync(`${fa}-wal`)).toBe(false);
    if (fs.existsSync('/proc/self/fd')) expect(openFiles().filter((f) => f.startsWith(fa))).toEqual([]);
    fs.rmSync(path.dirname(fa), { recursive: true });

    expect(checkpointerThreads()).toBe(1);
    const [runs, size] = [b.checkpoints().runs, dbBytes(fb)];
    for (let n = 11; n <= 20; n++) b.write(batch(n, 1_000));
    await until(() => dbBytes(fb) > size + 1_000_000 && b.checkpoints().runs > runs, 'the other store checkpointed after the first closed');
    expect(b.checkpoints().errors).toBe(0);

    b.close();
    expect(checkpointerThreads()).toBe(0);
    expect(fs.existsSync(`${fb}-wal`)).toBe(false);
    const again = fileStore(fb);
    expect(again.db.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(20_000);
    expect(checkpointerThreads()).toBe(1);
  });

  it('a store closed at once (before the thread may have started) leaves no thread and no open file', () => {
    const file = tempFile();
    const s = new MessageStore(openDatabase(file));
    s.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(checkpointerThreads()).toBe(0);
    if (fs.existsSync('/proc/self/fd')) expect(openFiles().filter((f) => f.startsWith(file))).toEqual([]);
  });

  it('backs off while a WAL does not change', async () => {
    const file = tempFile();
    const db = openDatabase(file);
    open.push(db);
    // A 10 ms cadence: a fixed poll would run ~100 times a second.
    const ck = new WalCheckpointer(db, 10);
    open.unshift({ close: () => ck.stop() });
    db.prepare('CREATE TABLE t (x)').run();
    db.prepare('INSERT INTO t VALUES (1)').run();
    await until(() => ck.stats().runs >= 3, 'the first checkpoints');
    const start = ck.stats().runs;
    await new Promise((r) => setTimeout(r, 1_500));
    // 10, 20, 40, ... 640, then 1,000 ms apart: about 8 in 1.5 s, against ~150 at a fixed 10 ms.
    expect(ck.stats().runs - start).toBeLessThan(30);
    expect(ck.stats().errors).toBe(0);
  });
});
