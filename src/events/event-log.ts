// The event log: an append-only SQLite table with an integer cursor. Appends are group-committed (one transaction per
// event-loop turn for every caller), then published on the EventBus with their cursor.
import type { Database, Statement } from 'better-sqlite3';
import { GroupCommitter } from '../store/group-commit.js';
import type { EventBus } from './event-bus.js';
import type { EventRecord, EventType, TypeFilter } from './types.js';

// AUTOINCREMENT, not a plain rowid: after retention deletes the newest rows too (a long idle spell), a plain rowid
// would hand out old cursors again and a client resuming from Last-Event-ID would silently skip the new events.
export const EVENTS_SCHEMA = `
CREATE TABLE events (
  cursor INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  chat_id TEXT,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX events_by_time ON events (created_at);
`;

// Which log this is, random at its creation: cursors count from 1 in every account's log and again in an account
// deleted and made anew under the same id, so a webhook id (webhooks.ts) needs more than the cursor to be unique.
export const EVENT_LOG_ID_SCHEMA = `
CREATE TABLE event_log_id (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL);
INSERT INTO event_log_id (one, id) VALUES (1, lower(hex(randomblob(6))));
`;

interface Row {
  cursor: number;
  type: EventType;
  chat_id: string | null;
  data: string;
  created_at: number;
}

function toRecord(r: Row, account: string): EventRecord {
  return { cursor: r.cursor, account, type: r.type, chat_id: r.chat_id, at: r.created_at, data: JSON.parse(r.data) as Record<string, unknown> };
}

export interface ReadPage {
  events: EventRecord[];
  scanned: number;
  more: boolean;
}

/** The chats a read is narrowed to (a chat-limited key's), and the chatless event types such a key still sees. */
export interface ChatScope {
  chatIds: readonly string[];
  chatless: readonly EventType[];
}

const SCAN_PAGE = 1000;
/** How many pages one filtered read walks at most: a rare type or a quiet chat behind many others is still found. */
const SCAN_PAGES = 20;
/** Rows per multi-row INSERT: a statement call costs ~3 us here, so a turn's events go in a few calls, not one each. */
const INSERT_CHUNK = 16;

interface Pending {
  type: EventType;
  chat_id: string | null;
  json: string;
  at: number;
  data: Record<string, unknown>;
}

interface Batch {
  rows: Pending[];
  done: Promise<EventRecord[] | null>;
}
/** Rows deleted per retention transaction, so a prune of a big backlog never holds the writer for long. */
const PRUNE_CHUNK = 5_000;

function record(r: Pending, cursor: number, account: string): EventRecord {
  return { cursor, account, type: r.type, chat_id: r.chat_id, at: r.at, data: r.data };
}

export class EventLog {
  private readonly commit: GroupCommitter;
  private readonly q: Record<'insert' | 'insertChunk' | 'after' | 'inChats' | 'latest' | 'oldest' | 'prune', Statement>;
  private closed = false;
  /** Appends of this turn, written by one closure in the next group commit. */
  private current: Batch | null = null;
  /** This log's random id (EVENT_LOG_ID_SCHEMA): with the account and the cursor, an event's id anywhere. */
  readonly logId: string;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
    /** Every event says whose it is: one log per account, one webhook receiver may hear several. */
    private readonly account: string = 'default',
  ) {
    this.commit = GroupCommitter.for(db);
    this.logId = db.prepare('SELECT id FROM event_log_id').pluck().get() as string;
    this.q = {
      insert: db.prepare('INSERT INTO events (type, chat_id, data, created_at) VALUES (?, ?, ?, ?)'),
      insertChunk: db.prepare(`INSERT INTO events (type, chat_id, data, created_at) VALUES ${Array(INSERT_CHUNK).fill('(?, ?, ?, ?)').join(', ')}`),
      after: db.prepare('SELECT * FROM events WHERE cursor > ? ORDER BY cursor LIMIT ?'),
      // A cursor window, filtered: a walk of the primary key that reads at most one window (no chat_id index, which
      // every append would pay for).
      inChats: db.prepare(`SELECT * FROM events WHERE cursor > @from AND cursor <= @to
        AND (chat_id IN (SELECT value FROM json_each(@chats)) OR (chat_id IS NULL AND type IN (SELECT value FROM json_each(@chatless))))
        ORDER BY cursor`),
      // sqlite_sequence remembers the last cursor handed out even when every row has been pruned.
      latest: db.prepare(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).pluck(),
      oldest: db.prepare('SELECT min(cursor) FROM events').pluck(),
      prune: db.prepare(`DELETE FROM events WHERE cursor IN (SELECT cursor FROM events WHERE created_at < ? AND cursor <= ? ORDER BY created_at LIMIT ${PRUNE_CHUNK})`),
    };
  }

  /**
   * Record an event. Returns at once; the row commits with the others queued in this turn and is then published.
   * The promise resolves with the committed record (callers rarely need it).
   */
  append(type: EventType, chatId: string | null, data: Record<string, unknown>): Promise<EventRecord | null> {
    if (this.closed) return Promise.resolve(null);
    let batch = this.current;
    if (!batch) {
      const b: Batch = { rows: [], done: Promise.resolve(null) };
      b.done = this.commit
        .run(() => {
          if (this.current === b) this.current = null;
          // A savepoint: a batch is committed whole or not at all, never a published-nowhere part of it.
          return this.db.transaction(() => this.insert(b.rows))();
        })
        .then(
          (records) => {
            for (const r of records) this.bus.publish(r);
            return records;
          },
          // Callers fire and forget: a failed write (disk full) is logged here, never an unhandled rejection.
          (err: unknown) => {
            // The whole group commit may have failed before this batch's closure ran.
            if (this.current === b) this.current = null;
            this.onError(err);
            return null;
          },
        );
      this.current = batch = b;
    }
    const i = batch.rows.push({ type, chat_id: chatId, json: JSON.stringify(data), at: this.now(), data }) - 1;
    return batch.done.then((records) => records?.[i] ?? null);
  }

  /** Inside the group commit. One statement numbers its rows consecutively, so each row's cursor follows from the last. */
  private insert(rows: readonly Pending[]): EventRecord[] {
    const out: EventRecord[] = [];
    let i = 0;
    for (; i + INSERT_CHUNK <= rows.length; i += INSERT_CHUNK) {
      const params: unknown[] = [];
      for (let k = i; k < i + INSERT_CHUNK; k++) params.push(rows[k]!.type, rows[k]!.chat_id, rows[k]!.json, rows[k]!.at);
      const last = Number(this.q.insertChunk.run(params).lastInsertRowid);
      for (let k = i; k < i + INSERT_CHUNK; k++) out.push(record(rows[k]!, last - INSERT_CHUNK + 1 + (k - i), this.account));
    }
    for (; i < rows.length; i++) {
      const r = rows[i]!;
      out.push(record(r, Number(this.q.insert.run(r.type, r.chat_id, r.json, r.at).lastInsertRowid), this.account));
    }
    return out;
  }

  /**
   * Events after `cursor`, oldest first, of the types `filter` passes and the chats `scope` names. `scanned` is how
   * far the read got (the cursor to ask after next time, which with a filter or scope can be past the last event
   * returned); `more` says the log may hold more after it.
   */
  after(cursor: number, limit: number, filter?: TypeFilter, scope?: ChatScope): ReadPage {
    this.commit.flush();
    if (scope) return this.inScope(cursor, limit, scope, filter);
    if (!filter) {
      const events = (this.q.after.all(cursor, limit) as Row[]).map((r) => toRecord(r, this.account));
      return { events, scanned: events.at(-1)?.cursor ?? cursor, more: events.length === limit };
    }
    const events: EventRecord[] = [];
    let scanned = cursor;
    // Walk pages so a rare type behind many others is still found, but bound the work of one call.
    for (let pages = 0; pages < SCAN_PAGES; pages++) {
      const rows = this.q.after.all(scanned, SCAN_PAGE) as Row[];
      for (const r of rows) {
        scanned = r.cursor;
        if (filter(r.type)) {
          events.push(toRecord(r, this.account));
          if (events.length === limit) return { events, scanned, more: true };
        }
      }
      if (rows.length < SCAN_PAGE) return { events, scanned, more: false };
    }
    return { events, scanned, more: true };
  }

  /**
   * The scoped read walks cursor windows, since SQL skips the other chats' rows: a window that yields nothing still
   * moves `scanned` to its end (never past the last cursor handed out, or a later event would be skipped).
   */
  private inScope(cursor: number, limit: number, scope: ChatScope, filter: TypeFilter | undefined): ReadPage {
    const latest = this.q.latest.get() as number;
    const params = { chats: JSON.stringify(scope.chatIds), chatless: JSON.stringify(scope.chatless) };
    const events: EventRecord[] = [];
    let scanned = cursor;
    for (let pages = 0; pages < SCAN_PAGES && scanned < latest; pages++) {
      const to = Math.min(scanned + SCAN_PAGE, latest);
      for (const r of this.q.inChats.all({ ...params, from: scanned, to }) as Row[]) {
        if (filter && !filter(r.type)) continue;
        events.push(toRecord(r, this.account));
        if (events.length === limit) return { events, scanned: r.cursor, more: true };
      }
      scanned = to;
    }
    return { events, scanned, more: scanned < latest };
  }

  /** The last cursor handed out (0 when none ever was). */
  latestCursor(): number {
    this.commit.flush();
    return this.q.latest.get() as number;
  }

  oldestCursor(): number | null {
    return (this.q.oldest.get() as number | null) ?? null;
  }

  /** Delete events recorded before `before` (unix ms), none above `upTo`. Returns how many went. */
  prune(before: number, upTo: number = Number.MAX_SAFE_INTEGER): number {
    let total = 0;
    for (;;) {
      const n = this.q.prune.run(before, upTo).changes;
      total += n;
      if (n < PRUNE_CHUNK) return total;
    }
  }

  /** Commit what is queued now (shutdown). */
  flush(): void {
    this.commit.flush();
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
