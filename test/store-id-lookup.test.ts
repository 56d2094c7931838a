// Message ids → rows while the search indexer lags: a bulk write looks up ids the tail does not hold on disk
// (one statement call per id), the indexer moves exactly the rows it merged out of the in-memory tail, and neither
// may lose a row: a duplicate stays one row, an ack finds its message whether its id is merged, unmerged or on disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { INDEX_LAG_MAX, MessageStore } from '../src/store/message-store.js';
import { historyMessage } from './helpers/store-history-writer.js';
import { memoryStore } from './helpers/store-fixtures.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tempFile = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-ids-'));
  dirs.push(dir);
  return path.join(dir, 'whatsapp.db');
};
const batch = (b: number, n: number) => Array.from({ length: n }, (_, k) => ({ kind: 'message' as const, message: historyMessage(b, k) }));
const rows = (s: MessageStore) => s.db.prepare('SELECT count(*) FROM messages').pluck().get() as number;
const mergedIds = (s: MessageStore) => s.db.prepare('SELECT count(*) FROM msg_ids').pluck().get() as number;
const hits = (s: MessageStore, q: string) => s.searchMessages({ q, mode: 'words', order: 'newest', limit: 100 }).hits.map((h) => h.message.id);

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('message ids while the indexer lags', () => {
  it('finds ids that are unmerged, merged in memory, and only on disk after a restart: duplicates stay one row', () => {
    const file = tempFile();
    let s = new MessageStore(openDatabase(file));
    s.write(batch(1, 500));
    s.sync(); // batch 1 merged into msg_ids
    s.write(batch(2, 500)); // batch 2 unmerged (the tail)
    expect(mergedIds(s)).toBe(500);
    s.write([...batch(1, 500), ...batch(2, 500), ...batch(3, 10)]);
    expect(rows(s)).toBe(1_010);
    s.close();

    // Reopened: nothing in memory but the unmerged rows; batch 1's ids are found by the one-statement lookup.
    s = new MessageStore(openDatabase(file));
    s.write([...batch(3, 10), ...batch(1, 500), ...batch(4, 5)]);
    expect(rows(s)).toBe(1_015);
    s.write([{ kind: 'ack', id: 'B1_7', chat_id: historyMessage(1, 7).chat_id, ack: 'read' }]);
    expect(s.getMessage('B1_7')?.ack).toBe('read');
    expect(s.getMessage('B4_4')?.id).toBe('B4_4');
    s.sync();
    expect(mergedIds(s)).toBe(1_015);
    s.close();
  });

  it('keeps ids findable when an indexer transaction rolls back, and merges them on the next one', () => {
    const s = memoryStore();
    s.write(batch(0, 1));
    s.sync(); // the mark above everything that follows: the rows below go through fts_pending
    s.write(batch(1, 300));
    s.write(batch(2, 300));
    const fts = (s as unknown as { fts: { unpendUpTo: { run: (...a: unknown[]) => unknown } } }).fts;
    const run = fts.unpendUpTo.run.bind(fts.unpendUpTo);
    fts.unpendUpTo.run = () => {
      throw new Error('disk full');
    };
    expect(() => s.indexPending(1_000)).toThrow('disk full');
    fts.unpendUpTo.run = run;
    expect(mergedIds(s)).toBe(1);
    s.write([...batch(1, 300), ...batch(2, 300)]);
    expect(rows(s)).toBe(601);
    s.sync();
    expect(mergedIds(s)).toBe(601);
    expect(s.getMessage('B2_299')?.id).toBe('B2_299');
    s.close();
  });

  it('catches up completely after a 50k bulk write past the lag bound, in bounded slices', async () => {
    const s = memoryStore();
    const chunks: number[] = [];
    const index = s.indexPending.bind(s);
    s.indexPending = (max?: number) => {
      chunks.push(max ?? 0);
      return index(max);
    };
    // Newest first as a phone sends history: all but the first batch land below the mark, through fts_pending.
    for (let b = 1; b <= 5; b++) s.write(batch(b, 10_000));
    expect(s.pendingIndexCount()).toBeLessThanOrEqual(INDEX_LAG_MAX + 10_000);
    await until(() => s.pendingIndexCount() === 0, 'the indexer');
    expect(mergedIds(s)).toBe(50_000);
    // Every merged id left the in-memory tail (a tail this large is emptied by the ids the commits read, not a walk).
    expect((s as unknown as { writer: { ids: { tail: Map<string, number> } } }).writer.ids.tail.size).toBe(0);
    expect(hits(s, 'batch5 9999')).toEqual(['B5_9999']);
    expect(hits(s, 'batch1 0')).toEqual(['B1_0']);
    s.db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`);
    // The background slices (not the writes' own catch-up, which takes the write's size) stay bounded.
    expect(chunks.filter((c) => c !== 10_000).every((c) => c <= 5_000)).toBe(true);
    s.close();
  });
});
