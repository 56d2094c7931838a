// The message store: a write queue in front of MessageWriter, the search indexer, and every read.
// An in-memory database (':memory:') is its fake in tests; production opens <dataDir>/whatsapp.db.
import { type Chat, type Contact, type Message, parseId, phoneDigits } from '../domain.js';
import type { LidMap } from './lid-map.js';
import type { Db } from './db.js';
import { MessageWriter, type StoreEvent } from './message-writer.js';
import { type ChatRow, MESSAGE_COLUMNS, type MessageRow, toChat, toMessage as rowToMessage } from './rows.js';
import { type SearchQuery, type SearchResult, searchMessages } from './search.js';
import { type CheckpointStats, WalCheckpointer } from './wal-checkpointer.js';

export type { StoreEvent } from './message-writer.js';

/**
 * The background indexer takes about INDEX_SLICE_MS of the event loop per turn: a chunk sized from the rate it
 * measured on its last chunks, one transaction each, then it yields. Catch-up chunks of up to 50k rows blocked a
 * concurrent request for 330–1,260 ms in bench:history. Bigger chunks index faster (each transaction writes one FTS
 * segment that must later be merged), so the chunk is only as small as the slice needs.
 */
export const INDEX_SLICE_MS = 6;
const SLICE_MIN_ROWS = 50;
export const SLICE_MAX_ROWS = 5_000;
/** sync() (tests, shutdown, benchmarks), where nobody waits on the loop: big chunks. */
export const INDEX_CHUNK_MAX = 50_000;
/**
 * Index lag bound: when more rows than this wait (a bulk writer outran the slices), a bulk write() indexes as many
 * rows as it wrote before it returns, so its caller, which chose the batch size, pays for its own rows.
 */
export const INDEX_LAG_MAX = 20_000;
/**
 * Live traffic: events are written FLUSH_DELAY_MS after the first one queued and indexed INDEX_DELAY_MS after a
 * write, so a steady trickle shares commits instead of paying two per message (measured: ~500 µs of event-loop time
 * per message with a commit each). Reads flush first, so nobody reads around the delay.
 */
export const FLUSH_DELAY_MS = 5;
export const INDEX_DELAY_MS = 50;
/** Reads first index this many pending rows synchronously, so a search right after a write sees it. */
const INDEX_ON_READ = 5_000;

interface ContactRow {
  id: string;
  name: string | null;
  pushname: string | null;
  number: string | null;
  lid: string | null;
  business_name: string | null;
  is_my_contact: number;
  is_business: number;
}

export interface ChatPage {
  messages: Message[];
  /** seq of the first and last message on the page. */
  first: number | null;
  last: number | null;
  has_older: boolean;
  has_newer: boolean;
}

export interface MessageContext {
  message: Message;
  before: Message[];
  after: Message[];
}

export class MessageStore {
  private readonly writer: MessageWriter;
  private queue: StoreEvent[] = [];
  private flushScheduled = false;
  private indexScheduled = false;
  /** About how many rows wait for the indexer (written minus indexed; exact again whenever it finds none). */
  private unindexed = 0;
  /** The indexer's measured speed, rows per ms of event loop: sizes the next slice's chunk. */
  private indexRowsPerMs = 20;
  private closed = false;
  private readonly s: ReturnType<typeof prepare>;
  private readonly checkpointer: WalCheckpointer;

  constructor(readonly db: Db, private readonly onError: (err: unknown) => void = () => {}) {
    this.writer = new MessageWriter(db);
    this.s = prepare(db);
    this.checkpointer = new WalCheckpointer(db);
    this.unindexed = this.pendingIndexCount();
    this.scheduleIndex();
  }

  // ---- writes ----

  /** Queue an event; everything queued within FLUSH_DELAY_MS is written together in one transaction. */
  enqueue(ev: StoreEvent): void {
    if (this.closed) return;
    this.queue.push(ev);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), FLUSH_DELAY_MS).unref();
    }
  }

  /** Write everything queued now. Returns the number of new messages. */
  flush(): number {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.closed) return 0;
    const batch = this.queue;
    this.queue = [];
    try {
      return this.written(this.writer.applyBatch(batch));
    } catch (err) {
      this.onError(err);
      return 0;
    } finally {
      this.scheduleIndex();
    }
  }

  /**
   * A linked id's phone number, written at once rather than queued: the message events that follow it (and the event
   * log, which annotates them) must already see it. Rare: once per person.
   */
  learnLid(lid: string, phone: string): void {
    if (this.closed || this.lids.phoneOf(lid) === phone) return;
    try {
      this.writer.applyBatch([{ kind: 'lid', lid, phone }]);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Write events at once, in one transaction (bulk paths: list results, benchmarks). */
  write(events: readonly StoreEvent[]): number {
    this.flush();
    const n = this.written(this.writer.applyBatch(events));
    if (this.unindexed > INDEX_LAG_MAX) this.indexed(this.indexPending(Math.max(n, SLICE_MIN_ROWS)));
    this.scheduleIndex();
    return n;
  }

  /**
   * Index up to `max` listed rows (history below the newest row, edits) and up to `max` rows above the high-water
   * mark, in one transaction; returns how many rows it got through (0: nothing waits).
   */
  indexPending(max: number = SLICE_MAX_ROWS): number {
    const run = { pendingHi: null as number | null, from: 0, to: null as number | null };
    const done = this.db.transaction(() => {
      let n = 0;
      // First the walk above the mark; it also covers rows listed there (history that landed above a lagging mark).
      run.from = this.s.indexedTo.get() as number;
      const walk = this.s.walkBound.get(run.from, max) as { n: number; hi: number | null };
      if (walk.hi !== null) {
        run.to = walk.hi;
        this.s.indexRange.run(run.from, walk.hi);
        this.writer.ids.merge(null, run.from, walk.hi);
        this.s.unpendRange.run(run.from, walk.hi);
        this.s.setIndexedTo.run(walk.hi);
        n += walk.n;
      }
      // Then listed rows below the mark, oldest first.
      const mark = run.to ?? run.from;
      const hi = (this.s.pendingBound.get(mark, Math.max(0, max - 1)) ?? this.s.pendingMax.get(mark)) as number | null | undefined;
      if (hi !== null && hi !== undefined) {
        run.pendingHi = hi;
        this.s.indexUpTo.run(hi);
        this.writer.ids.merge(hi, 0, null);
        n += this.s.unpendUpTo.run(hi).changes;
      }
      return n;
    })();
    this.writer.ids.merged(run.pendingHi, run.from, run.to);
    return done;
  }

  pendingIndexCount(): number {
    return (this.s.pendingCount.get() as number) + (this.s.aboveMarkCount.get() as number);
  }

  /** Flush the queue and index everything (tests, shutdown, benchmarks). */
  sync(): void {
    this.flush();
    while (this.indexed(this.indexPending(INDEX_CHUNK_MAX)) > 0);
  }

  /** The WAL checkpoints done off the event loop (benchmarks, metrics). */
  checkpoints(): CheckpointStats {
    return this.checkpointer.stats();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // First, so this connection is the last one and its close checkpoints the rest and removes the WAL.
    this.checkpointer.stop();
    this.db.close();
  }

  private written(n: number): number {
    this.unindexed += n;
    return n;
  }

  private indexed(n: number): number {
    this.unindexed = n === 0 ? 0 : Math.max(0, this.unindexed - n);
    return n;
  }

  /**
   * The indexer runs on its own event-loop turns, after the writes, one slice per turn. The first slice waits
   * INDEX_DELAY_MS after a write, so a live trickle or a history burst shares one FTS segment per window; while a
   * slice comes back full (more rows wait than it took), the next one runs on the next turn (setImmediate), so the
   * lag shrinks whenever the indexer is faster than the writer, which it is for every engine's history path.
   */
  private scheduleIndex(soon = false): void {
    if (this.indexScheduled || this.closed) return;
    this.indexScheduled = true;
    const run = () => {
      this.indexScheduled = false;
      if (this.closed) return;
      try {
        const chunk = Math.round(Math.min(SLICE_MAX_ROWS, Math.max(SLICE_MIN_ROWS, this.indexRowsPerMs * INDEX_SLICE_MS)));
        const started = performance.now();
        const n = this.indexed(this.indexPending(chunk));
        this.learnIndexRate(n, performance.now() - started);
        if (n >= chunk) this.scheduleIndex(true);
      } catch (err) {
        this.onError(err);
      }
    };
    if (soon) setImmediate(run).unref();
    else setTimeout(run, INDEX_DELAY_MS).unref();
  }

  /** A slow slice lowers the estimate at once; a fast one raises it gradually (one cheap chunk proves little). */
  private learnIndexRate(rows: number, ms: number): void {
    if (rows < SLICE_MIN_ROWS || ms <= 0) return;
    const rate = rows / ms;
    this.indexRowsPerMs = rate < this.indexRowsPerMs ? rate : 0.7 * this.indexRowsPerMs + 0.3 * rate;
  }

  private beforeRead(index: boolean): void {
    this.flush();
    if (index) this.indexed(this.indexPending(INDEX_ON_READ));
  }

  // ---- reads ----

  getChat(chatId: string): Chat | null {
    this.beforeRead(false);
    const row = this.s.chat.get(chatId) as ChatRow | undefined;
    return row ? toChat(row, this.s.lastMessage.get(row.key) as MessageRow | undefined) : null;
  }

  /** Chats, newest activity first. */
  listChats(limit: number): Chat[] {
    this.beforeRead(false);
    const rows = this.s.chats.all(limit) as ChatRow[];
    return rows.map((r) => toChat(r, this.s.lastMessage.get(r.key) as MessageRow | undefined));
  }

  messageCount(chatId: string): number {
    this.beforeRead(false);
    const key = this.writer.chatKey(chatId, false);
    return key === null ? 0 : (this.s.countInChat.get(key) as number);
  }

  /** A page of a chat, oldest first: the newest `limit`, or the `limit` just before / just after a seq. */
  chatPage(chatId: string, opts: { before?: number; after?: number; limit: number }): ChatPage | null {
    this.beforeRead(false);
    const key = this.writer.chatKey(chatId, false);
    if (key === null) return null;
    const { limit } = opts;
    let rows: MessageRow[];
    if (opts.after !== undefined) rows = this.s.pageAfter.all(key, opts.after, limit + 1) as MessageRow[];
    else rows = (this.s.pageBefore.all(key, opts.before ?? Number.MAX_SAFE_INTEGER, limit + 1) as MessageRow[]).reverse();
    const more = rows.length > limit;
    if (more) rows = opts.after !== undefined ? rows.slice(0, limit) : rows.slice(1);
    const first = rows[0]?.seq ?? null;
    const last = rows[rows.length - 1]?.seq ?? null;
    return {
      messages: rows.map(this.toMessage),
      first,
      last,
      has_older: opts.after !== undefined ? this.exists(key, '<', first ?? opts.after + 1) : more,
      has_newer: opts.after !== undefined ? more : opts.before !== undefined ? this.exists(key, '>', last ?? opts.before - 1) : false,
    };
  }

  /** The last `limit` messages of a chat, oldest first (the offline twin of engine.fetchMessages). */
  lastMessages(chatId: string, limit: number): Message[] {
    return this.chatPage(chatId, { limit })?.messages ?? [];
  }

  getMessage(id: string): (Message & { seq: number }) | null {
    this.beforeRead(false);
    const row = this.byId(id);
    return row ? { ...this.toMessage(row), seq: row.seq } : null;
  }

  /** `n` messages either side of one message, in the same chat. */
  context(id: string, n: number): MessageContext | null {
    this.beforeRead(false);
    const row = this.byId(id);
    if (!row) return null;
    const before = (this.s.pageBefore.all(row.chat, row.seq, n) as MessageRow[]).reverse();
    const after = this.s.pageAfter.all(row.chat, row.seq, n) as MessageRow[];
    return { message: this.toMessage(row), before: before.map(this.toMessage), after: after.map(this.toMessage) };
  }

  searchMessages(q: SearchQuery): SearchResult {
    this.beforeRead(true);
    const chatKey = q.chat_id === undefined ? undefined : this.writer.chatKey(q.chat_id, false);
    if (chatKey === null) return { hits: [], candidates_capped: false };
    // One person, two ids: a search by phone also finds what they wrote under their linked id, and the reverse.
    const sender = q.sender === undefined ? undefined : parseId(q.sender);
    const alt = sender?.kind === 'phone' ? this.lids.lidOf(sender.phone) : sender?.kind === 'lid' ? this.lids.phoneOf(sender.id) : null;
    const sender_alt = alt === null ? undefined : sender?.kind === 'lid' ? `${alt}@c.us` : alt;
    return searchMessages(this.db, { ...q, sender_alt }, chatKey, this.toMessage);
  }

  /** People whose name, push name or number contains `q`. */
  searchContacts(q: string, limit: number): Contact[] {
    this.beforeRead(false);
    const text = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const digits = phoneDigits(q);
    const number = /^\d{3,}$/.test(digits) ? `%${digits}%` : null;
    const rows = this.s.contacts.all({ text, number, prefix: `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, limit }) as ContactRow[];
    return rows.map(this.toContact);
  }

  /** A stored person by phone chat id or linked id (either finds them once the mapping is known). */
  getContact(id: string): Contact | null {
    this.beforeRead(false);
    const parsed = parseId(id);
    if (!parsed || (parsed.kind !== 'phone' && parsed.kind !== 'lid')) return null;
    const phone = parsed.kind === 'phone' ? parsed.phone : this.lids.phoneOf(parsed.id);
    const lid = parsed.kind === 'lid' ? parsed.id : this.lids.lidOf(parsed.phone);
    const row = (this.s.contactById.get({ phone_id: phone ? `${phone}@c.us` : null, lid }) as ContactRow | undefined) ?? null;
    if (row) return this.toContact(row);
    // Known only through the lid map (a sender whose number WhatsApp revealed): a bare record of both halves.
    return phone && lid ? { id: `${phone}@c.us`, phone, lid, name: null, push_name: null, business_name: null, is_my_contact: false, is_business: false } : null;
  }

  private readonly toContact = (r: ContactRow): Contact => {
    const lid = r.lid ?? (r.number ? this.lids.lidOf(r.number) : null);
    const phone = r.number ?? (r.id.endsWith('@lid') ? this.lids.phoneOf(r.id) : null);
    return {
      id: phone ? `${phone}@c.us` : r.id,
      phone,
      lid: lid ?? (r.id.endsWith('@lid') ? r.id : null),
      name: r.name,
      push_name: r.pushname,
      business_name: r.business_name,
      is_my_contact: r.is_my_contact === 1,
      is_business: r.is_business === 1,
    };
  };

  /** The linked-id map (lid ↔ phone) engines have told us. */
  get lids(): LidMap {
    return this.writer.lids;
  }

  private readonly toMessage = (r: MessageRow): Message => this.writer.lids.annotate(rowToMessage(r));

  private byId(id: string): (MessageRow & { chat: number }) | undefined {
    const seq = this.writer.ids.find(id);
    return seq === undefined ? undefined : (this.s.messageBySeq.get(seq) as (MessageRow & { chat: number }) | undefined);
  }

  private exists(key: number, op: '<' | '>', seq: number): boolean {
    return (op === '<' ? this.s.olderExists : this.s.newerExists).get(key, seq) !== undefined;
  }
}

function prepare(db: Db) {
  const msg = `SELECT ${MESSAGE_COLUMNS}, m.chat FROM messages m JOIN chats c ON c.key = m.chat`;
  return {
    // Listed rows above the mark are the walk's (it unlists them as it passes): these count and bound the rest.
    pendingBound: db.prepare('SELECT seq FROM fts_pending WHERE seq <= ? ORDER BY seq LIMIT 1 OFFSET ?').pluck(),
    pendingMax: db.prepare('SELECT max(seq) FROM fts_pending WHERE seq <= ?').pluck(),
    pendingCount: db.prepare('SELECT count(*) FROM fts_pending WHERE seq <= (SELECT indexed_to FROM fts_state)').pluck(),
    // CROSS JOIN keeps fts_pending the outer loop. With a plain JOIN SQLite walked every message below the bound and
    // probed fts_pending: 128 ms to index one row at 1M messages (found by bench/store.ts's live-traffic row).
    indexUpTo: db.prepare(`INSERT INTO messages_fts (rowid, body, scope)
      SELECT s.seq, s.body, s.scope FROM fts_pending p CROSS JOIN messages_fts_source s ON s.seq = p.seq WHERE p.seq <= ? AND s.body != ''`),
    unpendUpTo: db.prepare('DELETE FROM fts_pending WHERE seq <= ?'),
    unpendRange: db.prepare('DELETE FROM fts_pending WHERE seq > ? AND seq <= ?'),
    indexedTo: db.prepare('SELECT indexed_to FROM fts_state').pluck(),
    setIndexedTo: db.prepare('UPDATE fts_state SET indexed_to = ?'),
    // The next `limit` rows above the mark: a rowid walk, as is the indexing of the range (body '' is never indexed).
    walkBound: db.prepare('SELECT count(*) AS n, max(seq) AS hi FROM (SELECT seq FROM messages WHERE seq > ? ORDER BY seq LIMIT ?)'),
    indexRange: db.prepare(`INSERT INTO messages_fts (rowid, body, scope)
      SELECT seq, body, scope FROM messages_fts_source WHERE seq > ? AND seq <= ? AND body != ''`),
    aboveMarkCount: db.prepare('SELECT count(*) FROM messages WHERE seq > (SELECT indexed_to FROM fts_state)').pluck(),
    chat: db.prepare('SELECT * FROM chats WHERE id = ?'),
    chats: db.prepare('SELECT * FROM chats ORDER BY timestamp DESC, key DESC LIMIT ?'),
    lastMessage: db.prepare(`${msg} WHERE m.chat = ? ORDER BY m.seq DESC LIMIT 1`),
    countInChat: db.prepare('SELECT count(*) FROM messages WHERE chat = ?').pluck(),
    pageBefore: db.prepare(`${msg} WHERE m.chat = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`),
    pageAfter: db.prepare(`${msg} WHERE m.chat = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`),
    olderExists: db.prepare('SELECT 1 FROM messages WHERE chat = ? AND seq < ? LIMIT 1'),
    newerExists: db.prepare('SELECT 1 FROM messages WHERE chat = ? AND seq > ? LIMIT 1'),
    messageBySeq: db.prepare(`${msg} WHERE m.seq = ?`),
    contactById: db.prepare('SELECT * FROM contacts WHERE id = @phone_id OR id = @lid OR (@lid IS NOT NULL AND lid = @lid) ORDER BY id = @phone_id DESC LIMIT 1'),
    contacts: db.prepare(`SELECT * FROM contacts
      WHERE name LIKE @text ESCAPE '\\' OR pushname LIKE @text ESCAPE '\\' OR (@number IS NOT NULL AND number LIKE @number)
      ORDER BY (name LIKE @prefix ESCAPE '\\') DESC, is_my_contact DESC, name IS NULL, name LIMIT @limit`),
  };
}
