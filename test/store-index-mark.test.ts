// The search index by high-water mark (migration 4): new rows are indexed by a rowid walk above the mark, history
// older than the newest row and edits go through fts_pending. Every path must index each row exactly once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { MessageStore } from '../src/store/message-store.js';
import { memoryStore, msg } from './helpers/store-fixtures.js';

const T = 1_700_000_000;
const ids = (s: MessageStore, q: string) => s.searchMessages({ q, mode: 'words', order: 'newest', limit: 50 }).hits.map((h) => h.message.body);
const check = (s: MessageStore) => s.db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`);
const pendingRows = (s: MessageStore) => s.db.prepare('SELECT count(*) FROM fts_pending').pluck().get() as number;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('search index high-water mark', () => {
  it('indexes appended rows without listing them, and older history through fts_pending', () => {
    const s = memoryStore();
    s.write([1, 2, 3].map((i) => ({ kind: 'message' as const, message: msg({ body: `walrus ${i}`, timestamp: T + 100 + i }) })));
    expect(pendingRows(s)).toBe(0);
    expect(s.pendingIndexCount()).toBe(3);
    s.write([{ kind: 'message', message: msg({ body: 'walrus older', timestamp: T + 1 }) }]);
    expect(pendingRows(s)).toBe(1);
    expect(ids(s, 'walrus')).toEqual(['walrus 3', 'walrus 2', 'walrus 1', 'walrus older']);
    expect(s.pendingIndexCount()).toBe(0);
    // History older than everything indexed, after the walk passed it.
    s.write([{ kind: 'message', message: msg({ body: 'walrus oldest', timestamp: T }) }]);
    expect(ids(s, 'walrus')).toHaveLength(5);
    check(s);
    s.close();
  });

  it('edits and revokes on either side of the mark, before and after indexing', () => {
    const s = memoryStore();
    const a = msg({ body: 'alpha draft', timestamp: T + 10 });
    const b = msg({ body: 'bravo draft', timestamp: T + 20 });
    s.write([{ kind: 'message', message: a }, { kind: 'message', message: b }]);
    // Above the mark, not yet indexed: the walk indexes the current text.
    s.write([{ kind: 'edit', id: a.id, chat_id: a.chat_id, body: 'alpha final' }, { kind: 'revoke', id: b.id, chat_id: b.chat_id }]);
    expect(ids(s, 'draft')).toEqual([]);
    expect(ids(s, 'final')).toEqual(['alpha final']);
    // Below the mark, indexed: old text deleted from the index, new text listed.
    s.write([{ kind: 'edit', id: a.id, chat_id: a.chat_id, body: 'alpha second' }]);
    expect(ids(s, 'final')).toEqual([]);
    expect(ids(s, 'second')).toEqual(['alpha second']);
    s.write([{ kind: 'revoke', id: a.id, chat_id: a.chat_id }]);
    expect(ids(s, 'alpha')).toEqual([]);
    check(s);
    s.close();
  });

  it('an upgraded store keeps indexed rows indexed once and indexes the rows it had pending', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mark-'));
    dirs.push(dir);
    const file = path.join(dir, 'whatsapp.db');
    const v3 = openDatabase(file, { targetVersion: 3 });
    const ins = v3.prepare(`INSERT INTO messages (seq, id, id_key, chat, from_id, to_id, author, sender, from_me, type, body, timestamp, has_media, ack)
      VALUES (?, ?, ?, 1, 'a@c.us', 'me@c.us', NULL, 'a@c.us', 0, 'chat', ?, ?, 0, NULL)`);
    v3.prepare(`INSERT INTO chats (key, id) VALUES (1, 'a@c.us')`).run();
    [1, 2, 3].forEach((i) => ins.run((T + i) * 1e6, `m${i}`, i, `kiwi ${i}`, T + i));
    v3.exec(`INSERT INTO fts_pending (seq) SELECT seq FROM messages`);
    // The version-3 indexer: the first two rows were indexed before the upgrade, the third still waits.
    v3.exec(`INSERT INTO messages_fts (rowid, body, scope) SELECT seq, body, scope FROM messages_fts_source WHERE seq <= ${(T + 2) * 1e6};
      DELETE FROM fts_pending WHERE seq <= ${(T + 2) * 1e6}`);
    v3.close();
    const s = new MessageStore(openDatabase(file));
    s.write([{ kind: 'message', message: msg({ body: 'kiwi 4', timestamp: T + 4 }) }]);
    expect(ids(s, 'kiwi')).toEqual(['kiwi 4', 'kiwi 3', 'kiwi 2', 'kiwi 1']);
    check(s);
    s.close();
  });
});
