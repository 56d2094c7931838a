// kill -9 during heavy history writes, with the WAL checkpointed by a worker thread meanwhile: every batch whose
// write() returned is there after a restart, nothing else is torn, and the search index catches up over it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { MessageStore } from '../src/store/message-store.js';
import { PER_BATCH } from './helpers/store-history-writer.js';

const writer = path.resolve('test/helpers/store-history-writer.ts');
let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-crash-'));
  file = path.join(dir, 'whatsapp.db');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Run the writer from batch `first`, kill it with SIGKILL once it has committed `atLeast` batches more; returns the
 * last batch it reported committed and how many WAL checkpoints its worker thread had run by then.
 */
async function writeAndKill(first: number, atLeast: number): Promise<{ last: number; checkpoints: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, file, String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let last = first - 1;
  let checkpoints = 0;
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, batch, runs] = line.split(' ');
        if (word === 'committed') [last, checkpoints] = [Number(batch), Number(runs)];
      }
      // Strike at a batch count that varies run to run, so the kill lands in writes, indexing or a checkpoint.
      if (last >= first - 1 + atLeast) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited (${code}) before it was killed`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  // Lines written before the kill may still be in the pipe: the last one read is a lower bound of what committed.
  return { last, checkpoints };
}

describe('message store under kill -9 during history writes', () => {
  it('keeps every committed batch through three kills, with a consistent file and search index', async () => {
    let committed = 0;
    for (const atLeast of [40 + Math.floor(Math.random() * 40), 20 + Math.floor(Math.random() * 60), 60]) {
      const run = await writeAndKill(committed + 1, atLeast);
      committed = run.last;
      // The checkpointer was copying WAL into the file while the writer ran, so the kill can land in one.
      expect(run.checkpoints).toBeGreaterThan(0);

      const check = new Database(file, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      check.close();
      const store = new MessageStore(openDatabase(file), (err) => {
        throw err;
      });
      try {
        const rows = store.db.prepare("SELECT count(*) FROM messages WHERE id LIKE 'B%' AND CAST(substr(id, 2, instr(id, '_') - 2) AS INTEGER) <= ?").pluck();
        expect(rows.get(committed)).toBe(committed * PER_BATCH);
        // A batch is one transaction: the one after the last reported is either all there or not at all.
        const total = store.db.prepare('SELECT count(*) FROM messages').pluck().get() as number;
        expect(total % PER_BATCH).toBe(0);
        committed = total / PER_BATCH;
        store.sync();
        store.db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`);
        const hits = store.searchMessages({ q: `batch${committed}`, mode: 'words', order: 'newest', limit: 500 });
        expect(hits.hits).toHaveLength(PER_BATCH);
        expect(store.getMessage(`B${committed}_7`)?.body).toContain(`batch${committed} row 7 `);
      } finally {
        store.close();
      }
    }
    // Heavy enough for the checkpointer to matter: tens of MB of WAL went through it.
    expect(committed).toBeGreaterThanOrEqual(120);
  }, 120_000);
});
