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
const rowsWithId = (s: MessageStore, id: string) => s.db.prepare('SELECT count(*) FROM messages WHERE id = ?').pluck().get(id) as number;
const tempFile = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mark-'));
  dirs.push(dir);
  return path.join(dir, 'whatsapp.db');
};
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

// Message ids are not indexed on the write path: msg_ids is merged by the indexer, the rows it has not reached are
// looked up in memory (migration 6).
describe('message ids merged by the indexer', () => {
  it('finds a message by id before and after the merge, and after a restart that lost the in-memory part', () => {
    const file = tempFile();
    const a = msg({ body: 'first', timestamp: T + 10, from_me: true, ack: 'sent' });
    let s = new MessageStore(openDatabase(file));
    s.write([{ kind: 'message', message: a }]);
    expect(s.pendingIndexCount()).toBe(1);
    // Unmerged: a second report is the same message, and updates reach the row.
    s.write([{ kind: 'message', message: { ...a, ack: 'delivered' } }, { kind: 'edit', id: a.id, chat_id: a.chat_id, body: 'first edited' }]);
    expect(rowsWithId(s, a.id)).toBe(1);
    expect(s.getMessage(a.id)).toMatchObject({ body: 'first edited', ack: 'delivered' });
    s.close(); // closed before the indexer ran: nothing merged
    s = new MessageStore(openDatabase(file));
    expect(s.db.prepare('SELECT count(*) FROM msg_ids').pluck().get()).toBe(0);
    s.write([{ kind: 'message', message: a }, { kind: 'ack', id: a.id, chat_id: a.chat_id, ack: 'read' }]);
    expect(rowsWithId(s, a.id)).toBe(1);
    expect(s.getMessage(a.id)?.ack).toBe('read');
    s.sync();
    expect(s.db.prepare('SELECT count(*) FROM msg_ids').pluck().get()).toBe(1);
    s.write([{ kind: 'message', message: a }, { kind: 'revoke', id: a.id, chat_id: a.chat_id }]);
    expect(rowsWithId(s, a.id)).toBe(1);
    expect(s.getMessage(a.id)).toMatchObject({ body: '', type: 'revoked' });
    expect(s.context(a.id, 2)?.message.id).toBe(a.id);
    s.close();
    // Merged before the restart: found through msg_ids alone.
    s = new MessageStore(openDatabase(file));
    s.write([{ kind: 'message', message: a }]);
    expect(rowsWithId(s, a.id)).toBe(1);
    expect(s.getMessage(a.id)?.type).toBe('revoked');
    s.close();
  });

  it('merges the ids of listed history rows, empty bodies included', () => {
    const s = memoryStore();
    s.write([{ kind: 'message', message: msg({ body: 'newest', timestamp: T + 100 }) }]);
    s.sync();
    const media = msg({ body: '', has_media: true, type: 'image', timestamp: T + 1 });
    s.write([{ kind: 'message', message: media }]);
    s.sync();
    expect(s.db.prepare('SELECT count(*) FROM msg_ids WHERE seq = (SELECT seq FROM messages WHERE id = ?)').pluck().get(media.id)).toBe(1);
    s.write([{ kind: 'message', message: media }]);
    expect(rowsWithId(s, media.id)).toBe(1);
    check(s);
    s.close();
  });

  it('a listed history row revoked before the indexer reached it keeps its id (found after a restart)', () => {
    const file = tempFile();
    let s = new MessageStore(openDatabase(file));
    s.write([{ kind: 'message', message: msg({ body: 'newest', timestamp: T + 100 }) }]);
    s.sync();
    const old = msg({ body: 'secret history', timestamp: T + 1 });
    s.write([{ kind: 'message', message: old }, { kind: 'revoke', id: old.id, chat_id: old.chat_id }]);
    s.sync();
    s.close();
    s = new MessageStore(openDatabase(file));
    expect(s.getMessage(old.id)).toMatchObject({ body: '', type: 'revoked' });
    s.write([{ kind: 'message', message: old }]);
    expect(rowsWithId(s, old.id)).toBe(1);
    expect(ids(s, 'secret')).toEqual([]);
    s.close();
  });

  it('a batch that rolls back leaves no id behind that points at a row it never wrote', () => {
    const s = new MessageStore(openDatabase(':memory:'));
    const ok = msg({ body: 'kept out', timestamp: T + 5 });
    const broken = { ...msg({ body: 'broken', timestamp: T + 6 }), from: null as unknown as string };
    expect(() => s.write([{ kind: 'message', message: ok }, { kind: 'message', message: broken }])).toThrow();
    expect(s.getMessage(ok.id)).toBeNull();
    s.write([{ kind: 'message', message: ok }]);
    expect(rowsWithId(s, ok.id)).toBe(1);
    s.close();
  });
});
