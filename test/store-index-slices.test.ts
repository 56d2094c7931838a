// The background search indexer in time slices (bounded chunks, one per turn), its lag bound under a bulk writer,
// and the WAL checkpointer that runs beside the store on a file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { INDEX_LAG_MAX, MessageStore, SLICE_MAX_ROWS } from '../src/store/message-store.js';
import { historyMessage } from './helpers/store-history-writer.js';
import { memoryStore } from './helpers/store-fixtures.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tempFile = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-slices-'));
  dirs.push(dir);
  return path.join(dir, 'whatsapp.db');
};
const batch = (b: number, n: number) => Array.from({ length: n }, (_, k) => ({ kind: 'message' as const, message: historyMessage(b, k) }));
const bodies = (s: MessageStore, q: string) => s.searchMessages({ q, mode: 'words', order: 'newest', limit: 100 }).hits.map((h) => h.message.id);

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('search indexer slices', () => {
  it('catches up on its own in chunks of at most SLICE_MAX_ROWS, and search then finds every row', async () => {
    const s = memoryStore();
    const chunks: number[] = [];
    const index = s.indexPending.bind(s);
    s.indexPending = (max?: number) => {
      chunks.push(max ?? SLICE_MAX_ROWS);
      return index(max);
    };
    // Newest first, then older batches: most rows are listed below the mark, the indexer's slower path.
    for (let b = 1; b <= 4; b++) s.write(batch(b, 4_000));
    expect(s.pendingIndexCount()).toBe(16_000);
    await until(() => s.pendingIndexCount() === 0, 'the indexer');
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(SLICE_MAX_ROWS);
    for (const b of [1, 4]) expect(bodies(s, `batch${b}`)).toHaveLength(100);
    expect(bodies(s, 'batch3 3999')).toEqual(['B3_3999']);
    s.db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`);
    s.close();
  });

  it('bounds the lag when a bulk writer never yields: each write past the bound indexes its own rows', () => {
    const s = memoryStore();
    for (let b = 1; b <= 40; b++) {
      s.write(batch(b, 1_000));
      expect(s.pendingIndexCount()).toBeLessThanOrEqual(INDEX_LAG_MAX + 2_000);
    }
    expect(s.pendingIndexCount()).toBeGreaterThan(0);
    s.sync();
    expect(s.pendingIndexCount()).toBe(0);
    expect(bodies(s, 'batch1')).toHaveLength(100);
    expect(bodies(s, 'batch40')).toHaveLength(100);
    s.close();
  });
});

describe('WAL checkpointer', () => {
  it('checkpoints a file store from its worker while it is written, and a clean close still removes the WAL', async () => {
    const file = tempFile();
    const s = new MessageStore(openDatabase(file));
    for (let b = 1; b <= 20; b++) s.write(batch(b, 1_000));
    await until(() => s.checkpoints().runs > 0 && s.checkpoints().maxWalPages > 0, 'a checkpoint');
    expect(s.checkpoints().errors).toBe(0);
    s.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const again = new MessageStore(openDatabase(file));
    expect(again.db.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(20_000);
    again.close();
  });

  it('runs no worker for an in-memory store', () => {
    const s = memoryStore();
    s.write(batch(1, 100));
    expect(s.checkpoints().runs).toBe(0);
    s.close();
  });
});
