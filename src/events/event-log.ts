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

interface Row {
  cursor: number;
  type: EventType;
  chat_id: string | null;
  data: string;
  created_at: number;
}

function toRecord(r: Row): EventRecord {
  return { cursor: r.cursor, type: r.type, chat_id: r.chat_id, at: r.created_at, data: JSON.parse(r.data) as Record<string, unknown> };
}

export interface ReadPage {
  events: EventRecord[];
  scanned: number;
  more: boolean;
}

const SCAN_PAGE = 1000;
/** Rows deleted per retention transaction, so a prune of a big backlog never holds the writer for long. */
const PRUNE_CHUNK = 5_000;

export class EventLog {
  private readonly commit: GroupCommitter;
  private readonly q: Record<'insert' | 'after' | 'latest' | 'oldest' | 'prune', Statement>;
  private closed = false;

  constructor(
    db: Database,
    private readonly bus: EventBus,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.commit = GroupCommitter.for(db);
    this.q = {
      insert: db.prepare('INSERT INTO events (type, chat_id, data, created_at) VALUES (?, ?, ?, ?)'),
      after: db.prepare('SELECT * FROM events WHERE cursor > ? ORDER BY cursor LIMIT ?'),
      // sqlite_sequence remembers the last cursor handed out even when every row has been pruned.
      latest: db.prepare(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).pluck(),
      oldest: db.prepare('SELECT min(cursor) FROM events').pluck(),
      prune: db.prepare(`DELETE FROM events WHERE cursor IN (SELECT cursor FROM events WHERE created_at < ? ORDER BY created_at LIMIT ${PRUNE_CHUNK})`),
    };
  }

  /**
   * Record an event. Returns at once; the row commits with the others queued in this turn and is then published.
   * The promise resolves with the committed record (callers rarely need it).
   */
  append(type: EventType, chatId: string | null, data: Record<string, unknown>): Promise<EventRecord | null> {
    if (this.closed) return Promise.resolve(null);
    const at = this.now();
    const json = JSON.stringify(data);
    return this.commit
      .run(() => Number(this.q.insert.run(type, chatId, json, at).lastInsertRowid))
      .then(
        (cursor) => {
          const record: EventRecord = { cursor, type, chat_id: chatId, at, data };
          this.bus.publish(record);
          return record;
        },
        // Callers fire and forget: a failed write (disk full) is logged here, never an unhandled rejection.
        (err: unknown) => {
          this.onError(err);
          return null;
        },
      );
  }

  /**
   * Events after `cursor`, oldest first. `scanned` is how far the read got (the cursor to ask after next time, which
   * with a filter can be past the last event returned); `more` says the log may hold more after it.
   */
  after(cursor: number, limit: number, filter?: TypeFilter): ReadPage {
    this.commit.flush();
    if (!filter) {
      const events = (this.q.after.all(cursor, limit) as Row[]).map(toRecord);
      return { events, scanned: events.at(-1)?.cursor ?? cursor, more: events.length === limit };
    }
    const events: EventRecord[] = [];
    let scanned = cursor;
    // Walk pages so a rare type behind many others is still found, but bound the work of one call.
    for (let pages = 0; pages < 20; pages++) {
      const rows = this.q.after.all(scanned, SCAN_PAGE) as Row[];
      for (const r of rows) {
        scanned = r.cursor;
        if (filter(r.type)) {
          events.push(toRecord(r));
          if (events.length === limit) return { events, scanned, more: true };
        }
      }
      if (rows.length < SCAN_PAGE) return { events, scanned, more: false };
    }
    return { events, scanned, more: true };
  }

  /** The last cursor handed out (0 when none ever was). */
  latestCursor(): number {
    this.commit.flush();
    return this.q.latest.get() as number;
  }

  oldestCursor(): number | null {
    return (this.q.oldest.get() as number | null) ?? null;
  }

  /** Delete events recorded before `before` (unix ms). Returns how many went. */
  prune(before: number): number {
    let total = 0;
    for (;;) {
      const n = this.q.prune.run(before).changes;
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
