// Writes: applies engine events to the tables in one transaction per batch. Never called per HTTP request.
import type Database from 'better-sqlite3';
import { type AckState, type Chat, type Contact, type Message, isGroupId, phoneOfChatId } from '../domain.js';
import type { Db } from './db.js';
import { IdIndex } from './id-index.js';
import { LidMap } from './lid-map.js';
import { type MessageExtra, SEQ_PER_SECOND, ackRank, decodeExtra, encodeExtra, idKey } from './rows.js';

export type StoreEvent =
  | { kind: 'message'; message: Message }
  | { kind: 'ack'; id: string; chat_id: string; ack: AckState }
  | { kind: 'edit'; id: string; chat_id: string; body: string }
  | { kind: 'revoke'; id: string; chat_id: string }
  | { kind: 'reaction'; id: string; chat_id: string; emoji: string; from: string; timestamp: number }
  /** A file was downloaded: what it turned out to be (WhatsApp may not have said its size or hash). */
  | { kind: 'media_file'; id: string; sha256: string; size: number; mimetype: string }
  | { kind: 'chat'; chat: Chat }
  | { kind: 'contact'; contact: Contact }
  | { kind: 'lid'; lid: string; phone: string };

const ERROR_RANK = ackRank('error');

export class MessageWriter {
  private readonly chatKeys = new Map<string, number>();
  /** Newest timestamp written per chat key, and contact ids known to exist: lets a batch skip no-op upserts. */
  private readonly chatTimes = new Map<number, number>();
  private readonly knownContacts = new Set<string>();
  private lastSeq: number;
  private readonly s: ReturnType<typeof prepare>;
  readonly ids: IdIndex;
  readonly lids: LidMap;
  private readonly tx: Database.Transaction<(events: readonly StoreEvent[]) => number>;

  constructor(private readonly db: Db) {
    this.s = prepare(db);
    this.ids = new IdIndex(db);
    this.lids = new LidMap(db);
    this.lastSeq = (this.s.maxSeq.get() as number | null) ?? 0;
    this.tx = db.transaction((events: readonly StoreEvent[]) => {
      // Per-batch aggregates: one chat timestamp update per chat, one contact upsert per sender.
      const chatTimes = new Map<number, number>();
      const senders = new Set<string>();
      let inserted = 0;
      for (const ev of events) {
        switch (ev.kind) {
          case 'message': {
            const key = this.insertMessage(ev.message);
            if (key === null) break;
            inserted++;
            chatTimes.set(key, Math.max(chatTimes.get(key) ?? 0, ev.message.timestamp));
            if (!ev.message.from_me) senders.add(ev.message.author ?? ev.message.from);
            break;
          }
          case 'ack': {
            const seq = this.ids.find(ev.id);
            if (seq !== undefined) this.s.ack.run({ rank: ackRank(ev.ack), seq });
            break;
          }
          case 'edit':
            this.rewrite(ev.id, ev.body, false);
            break;
          case 'revoke':
            this.rewrite(ev.id, '', true);
            break;
          case 'reaction':
            this.patchExtra(ev.id, (x) => {
              // One reaction per person: a new one replaces the old, "" takes it back.
              const rest = (x.reactions ?? []).filter((r) => r.from !== ev.from);
              x.reactions = ev.emoji === '' ? rest : [...rest, { emoji: ev.emoji, from: ev.from, timestamp: ev.timestamp }];
            });
            break;
          case 'media_file':
            this.patchExtra(ev.id, (x) => {
              if (x.media) x.media = { ...x.media, sha256: ev.sha256, size: ev.size, mimetype: x.media.mimetype || ev.mimetype };
            });
            break;
          case 'chat':
            this.upsertChat(ev.chat);
            break;
          case 'contact': {
            const c = ev.contact;
            this.s.upsertContact.run({
              id: c.id, name: c.name, pushname: c.push_name, number: c.phone, lid: c.lid, business_name: c.business_name,
              is_my_contact: c.is_my_contact ? 1 : 0, is_business: c.is_business ? 1 : 0,
            });
            if (c.lid && c.phone) this.lids.set(c.lid, c.phone);
            break;
          }
          case 'lid':
            if (this.lids.set(ev.lid, ev.phone)) this.s.contactLid.run(ev.lid, `${ev.phone}@c.us`);
            break;
        }
      }
      for (const [key, ts] of chatTimes) {
        if ((this.chatTimes.get(key) ?? -1) >= ts) continue;
        this.s.touchChat.run(ts, key);
        this.chatTimes.set(key, ts);
      }
      for (const id of senders) {
        if (this.knownContacts.has(id)) continue;
        this.s.contactSeen.run(id, phoneOfChatId(id));
        this.knownContacts.add(id);
      }
      return inserted;
    });
  }

  /** Apply events in one transaction; returns the number of new messages. */
  applyBatch(events: readonly StoreEvent[]): number {
    try {
      return this.tx(events);
    } catch (err) {
      // The transaction rolled back: caches may name chat keys or seqs that no longer exist.
      this.chatKeys.clear();
      this.chatTimes.clear();
      this.knownContacts.clear();
      this.lastSeq = (this.s.maxSeq.get() as number | null) ?? 0;
      this.ids.reload();
      this.lids.reload(this.db);
      throw err;
    }
  }

  /** The chat's integer key, creating a nameless row for a chat first seen through a message. */
  chatKey(chatId: string, create: boolean): number | null {
    const cached = this.chatKeys.get(chatId);
    if (cached !== undefined) return cached;
    let key = this.s.chatKey.get(chatId) as number | undefined;
    if (key === undefined) {
      if (!create) return null;
      key = Number(this.s.insertChat.run(chatId, isGroupId(chatId) ? 1 : 0).lastInsertRowid);
    }
    this.chatKeys.set(chatId, key);
    return key;
  }

  /** Insert unless the id is stored already (then only a newer ack is taken). Returns the chat key when inserted. */
  private insertMessage(m: Message): number | null {
    const existing = this.ids.find(m.id);
    const rank = ackRank(m.ack);
    if (existing !== undefined) {
      if (rank !== null) this.s.ack.run({ rank, seq: existing });
      return null;
    }
    const chat = this.chatKey(m.chat_id, true)!;
    const newestBefore = this.lastSeq;
    const seq = this.nextSeq(m.timestamp);
    this.s.insert.run(
      seq, m.id, idKey(m.id), chat, m.from, m.to, m.author, m.author ?? m.from,
      m.from_me ? 1 : 0, m.type, m.body, m.timestamp, m.has_media ? 1 : 0, rank, encodeExtra(m),
    );
    this.ids.added(m.id, seq);
    // A new newest row is above the indexer's high-water mark (which never passes the newest committed row), so the
    // indexer's rowid walk finds it; only history inserted below the newest row needs listing (an empty body too:
    // the indexer also merges its id into msg_ids).
    if (seq <= newestBefore) this.s.pend.run(seq);
    return chat;
  }

  /**
   * seq for a message at `ts` seconds: ts * 1e6 + n, so rowid order is time order. Live traffic arrives in time order
   * (the in-memory lastSeq answers); history older than the newest row asks the table for that second's last seq.
   */
  private nextSeq(ts: number): number {
    const base = Math.max(0, ts) * SEQ_PER_SECOND;
    let seq: number;
    if (base > this.lastSeq) seq = base;
    else if (this.lastSeq < base + SEQ_PER_SECOND - 1) seq = this.lastSeq + 1;
    else {
      const last = this.s.maxSeqIn.get(base, base + SEQ_PER_SECOND) as number | null;
      seq = last === null ? base : last + 1;
      // A million messages stamped with one second cannot happen in WhatsApp; if it did, append at the end
      // (time order is lost for that row, the timestamp column stays exact).
      if (seq >= base + SEQ_PER_SECOND) seq = this.lastSeq + 1;
    }
    this.lastSeq = Math.max(this.lastSeq, seq);
    return seq;
  }

  /** Edit or revoke: keep the FTS index in step (external content must be deleted with the old text). */
  private rewrite(id: string, body: string, revoke: boolean): void {
    const seq = this.ids.find(id);
    const row = seq === undefined ? undefined : (this.s.findForRewrite.get(seq) as { seq: number; body: string; scope: string; revoked: number } | undefined);
    if (!row || row.revoked === 1) return;
    // Above the high-water mark the walk will index whatever the row then holds; below it, indexed unless pending.
    const belowMark = row.seq <= (this.s.indexedTo.get() as number);
    const listed = this.s.isPending.get(row.seq) !== undefined;
    const indexed = belowMark && !listed;
    if (indexed && row.body !== '') this.s.ftsDelete.run(row.seq, row.body, row.scope);
    this.s.unpend.run(row.seq);
    if (revoke) this.s.revoke.run(row.seq);
    else this.s.edit.run(body, row.seq);
    // Below the mark a row is listed again if it has text to index, or if it was listed: then its id has not been
    // merged into msg_ids yet, and only the listing gets it there (the indexer skips empty bodies, ids are merged).
    if (belowMark && (listed || (!revoke && body !== ''))) this.s.pend.run(row.seq);
  }

  /** Read-modify-write of a message's extra JSON (reactions, media facts): rare events, one row each. */
  private patchExtra(id: string, change: (x: MessageExtra) => void): void {
    const seq = this.ids.find(id);
    if (seq === undefined) return;
    const json = this.s.extraOf.get(seq) as string | null | undefined;
    if (json === undefined) return;
    const x = decodeExtra(json);
    change(x);
    const next = encodeExtra({ media: x.media ? { ...x.media, url: '' } : null, quoted: x.quoted ?? null, location: x.location ?? null, poll: x.poll ?? null, reactions: x.reactions ?? [] });
    this.s.setExtra.run(next, seq);
  }

  private upsertChat(chat: Chat): void {
    const key = this.chatKey(chat.id, true)!;
    this.s.updateChat.run({
      key,
      name: chat.name,
      is_group: chat.is_group ? 1 : 0,
      is_read_only: chat.is_read_only ? 1 : 0,
      unread_count: chat.unread_count,
      timestamp: chat.timestamp,
      archived: chat.archived ? 1 : 0,
      pinned: chat.pinned ? 1 : 0,
      muted: chat.muted ? 1 : 0,
    });
    const number = phoneOfChatId(chat.id);
    if (!chat.is_group && number) {
      this.s.upsertContact.run({ id: chat.id, name: chat.name, pushname: null, number, lid: null, business_name: null, is_my_contact: 0, is_business: 0 });
    }
  }
}

function prepare(db: Db) {
  return {
    maxSeq: db.prepare('SELECT max(seq) FROM messages').pluck(),
    maxSeqIn: db.prepare('SELECT max(seq) FROM messages WHERE seq >= ? AND seq < ?').pluck(),
    chatKey: db.prepare('SELECT key FROM chats WHERE id = ?').pluck(),
    insertChat: db.prepare('INSERT INTO chats (id, is_group) VALUES (?, ?)'),
    updateChat: db.prepare(`UPDATE chats SET name = @name, is_group = @is_group, is_read_only = @is_read_only,
      unread_count = @unread_count, timestamp = max(timestamp, @timestamp), archived = @archived, pinned = @pinned, muted = @muted
      WHERE key = @key`),
    touchChat: db.prepare('UPDATE chats SET timestamp = max(timestamp, ?) WHERE key = ?'),
    findForRewrite: db.prepare(`SELECT seq, body, 'k' || chat AS scope, revoked FROM messages WHERE seq = ?`),
    insert: db.prepare(`INSERT INTO messages (seq, id, id_key, chat, from_id, to_id, author, sender, from_me, type, body, timestamp, has_media, ack, extra)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    extraOf: db.prepare('SELECT extra FROM messages WHERE seq = ?').pluck(),
    setExtra: db.prepare('UPDATE messages SET extra = ? WHERE seq = ?'),
    // Acks only move forward (sent -> delivered -> read), except that an error may land at any time.
    ack: db.prepare(`UPDATE messages SET ack = @rank WHERE seq = @seq AND (ack IS NULL OR ack < @rank OR @rank = ${ERROR_RANK})`),
    edit: db.prepare('UPDATE messages SET body = ?, edited = 1 WHERE seq = ?'),
    // "Deleted for everyone": the sender took it back, so the text goes too; the row stays as a tombstone.
    revoke: db.prepare(`UPDATE messages SET body = '', type = 'revoked', revoked = 1, has_media = 0 WHERE seq = ?`),
    pend: db.prepare('INSERT OR IGNORE INTO fts_pending (seq) VALUES (?)'),
    unpend: db.prepare('DELETE FROM fts_pending WHERE seq = ?'),
    isPending: db.prepare('SELECT 1 FROM fts_pending WHERE seq = ?').pluck(),
    indexedTo: db.prepare('SELECT indexed_to FROM fts_state').pluck(),
    ftsDelete: db.prepare(`INSERT INTO messages_fts (messages_fts, rowid, body, scope) VALUES ('delete', ?, ?, ?)`),
    upsertContact: db.prepare(`INSERT INTO contacts (id, name, pushname, number, lid, business_name, is_my_contact, is_business)
      VALUES (@id, @name, @pushname, @number, @lid, @business_name, @is_my_contact, @is_business)
      ON CONFLICT(id) DO UPDATE SET name = coalesce(excluded.name, name), pushname = coalesce(excluded.pushname, pushname),
      number = coalesce(excluded.number, number), lid = coalesce(excluded.lid, lid), business_name = coalesce(excluded.business_name, business_name),
      is_my_contact = max(is_my_contact, excluded.is_my_contact), is_business = max(is_business, excluded.is_business)`),
    contactLid: db.prepare('UPDATE contacts SET lid = ? WHERE id = ?'),
    contactSeen: db.prepare('INSERT INTO contacts (id, number) VALUES (?, ?) ON CONFLICT(id) DO NOTHING'),
  };
}
