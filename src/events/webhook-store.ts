// Webhook delivery state in the store: how far each URL has got (its lane), and the events that could not be delivered.
import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { GroupCommitter } from '../store/group-commit.js';
import { EventRecordSchema, type EventRecord } from './types.js';

export const WEBHOOK_SCHEMA = `
-- One row per webhook URL: every event up to delivered_cursor has been delivered or dead-lettered; attempts and
-- next_attempt_at describe the retries of the next one. Survives restarts, so delivery resumes where it stopped.
CREATE TABLE webhook_lanes (
  url TEXT PRIMARY KEY,
  delivered_cursor INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT
);
-- The event is copied, not referenced: a dead letter must outlive the event log's retention to be redelivered.
CREATE TABLE webhook_dead_letters (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  event_cursor INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  event TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT NOT NULL,
  failed_at INTEGER NOT NULL
);
`;

export interface LaneState {
  delivered: number;
  attempts: number;
  nextAttemptAt: number | null;
}

export const DeadLetterSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  event_cursor: z.number().int(),
  event_type: z.string(),
  attempts: z.number().int(),
  /** HTTP status of the last try; null when it never got an answer (timeout, connection refused). */
  last_status: z.number().int().nullable(),
  last_error: z.string(),
  /** Unix milliseconds. */
  failed_at: z.number().int(),
  event: EventRecordSchema,
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

interface DeadRow extends Omit<DeadLetter, 'event'> {
  event: string;
}

export class WebhookStore {
  private readonly commit: GroupCommitter;
  private readonly q: Record<'lane' | 'addLane' | 'forgetLane' | 'advance' | 'retry' | 'dead' | 'deadList' | 'deadGet' | 'deadDelete' | 'deadTried' | 'deadPrune', Statement>;

  private readonly db: Database;

  constructor(db: Database) {
    this.commit = GroupCommitter.for(db);
    this.q = {
      lane: db.prepare('SELECT delivered_cursor AS delivered, attempts, next_attempt_at AS nextAttemptAt FROM webhook_lanes WHERE url = ?'),
      addLane: db.prepare('INSERT OR IGNORE INTO webhook_lanes (url, delivered_cursor) VALUES (?, ?)'),
      forgetLane: db.prepare('DELETE FROM webhook_lanes WHERE url = ?'),
      advance: db.prepare('UPDATE webhook_lanes SET delivered_cursor = max(delivered_cursor, ?), attempts = 0, next_attempt_at = NULL, last_error = NULL WHERE url = ?'),
      retry: db.prepare('UPDATE webhook_lanes SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE url = ?'),
      dead: db.prepare(
        `INSERT INTO webhook_dead_letters (url, event_cursor, event_type, event, attempts, last_status, last_error, failed_at)
         VALUES (@url, @event_cursor, @event_type, @event, @attempts, @last_status, @last_error, @failed_at)`,
      ),
      deadList: db.prepare('SELECT * FROM webhook_dead_letters WHERE id > ? ORDER BY id LIMIT ?'),
      deadGet: db.prepare('SELECT * FROM webhook_dead_letters WHERE id = ?'),
      deadDelete: db.prepare('DELETE FROM webhook_dead_letters WHERE id = ?'),
      deadTried: db.prepare('UPDATE webhook_dead_letters SET attempts = attempts + 1, last_status = ?, last_error = ?, failed_at = ? WHERE id = ?'),
      deadPrune: db.prepare('DELETE FROM webhook_dead_letters WHERE failed_at < ?'),
    };
    this.db = db;
  }

  /** The lane of `url`, created at `startAt` (the log's head: a new URL gets what happens from now on; 0: all kept). */
  lane(url: string, startAt: number): LaneState {
    this.q.addLane.run(url, startAt);
    return this.q.lane.get(url) as LaneState;
  }

  /**
   * Drop the progress of a URL taken off an account's webhooks, after its lane stopped: added again later, it is a
   * new URL (WHATSAPP_WEBHOOK_START), not a backlog of everything since. Its dead letters stay. Not group-committed:
   * the lane's last progress, queued, is written first, and a new lane for the URL must not lose its row to this.
   */
  forgetLane(url: string): void {
    this.commit.flush();
    this.q.forgetLane.run(url);
  }

  /** Delivered (or given up on) everything up to `cursor`. Group-committed: a crash before it only means a redelivery. */
  advance(url: string, cursor: number): Promise<unknown> {
    return this.commit.run(() => this.q.advance.run(cursor, url));
  }

  recordRetry(url: string, attempts: number, nextAttemptAt: number, error: string): Promise<unknown> {
    return this.commit.run(() => this.q.retry.run(attempts, nextAttemptAt, error, url));
  }

  /** Dead-letter one event; with `advance` (it is the lane's oldest unfinished one) move the lane past it, in one transaction. */
  deadLetter(url: string, event: EventRecord, body: string, attempts: number, lastStatus: number | null, lastError: string, now: number, advance = true): Promise<unknown> {
    return this.commit.run(() => {
      this.q.dead.run({ url, event_cursor: event.cursor, event_type: event.type, event: body, attempts, last_status: lastStatus, last_error: lastError, failed_at: now });
      if (advance) this.q.advance.run(event.cursor, url);
    });
  }

  deadLetters(afterId: number, limit: number): DeadLetter[] {
    this.commit.flush();
    return (this.q.deadList.all(afterId, limit) as DeadRow[]).map(toDeadLetter);
  }

  getDeadLetter(id: number): DeadLetter | null {
    this.commit.flush();
    const r = this.q.deadGet.get(id) as DeadRow | undefined;
    return r ? toDeadLetter(r) : null;
  }

  resolveDeadLetter(id: number): void {
    this.q.deadDelete.run(id);
  }

  recordRedeliveryFailure(id: number, lastStatus: number | null, error: string, now: number): void {
    this.q.deadTried.run(lastStatus, error, now, id);
  }

  /** The lowest stored delivered_cursor among `urls` (lanes of URLs no longer configured do not count). */
  minDelivered(urls: readonly string[]): number | null {
    this.commit.flush();
    const marks = urls.map(() => '?').join(', ');
    return this.db.prepare(`SELECT min(delivered_cursor) FROM webhook_lanes WHERE url IN (${marks})`).pluck().get(...urls) as number | null;
  }

  /** Forget dead letters that failed before `before` (unix ms). */
  pruneDeadLetters(before: number): number {
    return this.q.deadPrune.run(before).changes;
  }

  flush(): void {
    this.commit.flush();
  }
}

function toDeadLetter(r: DeadRow): DeadLetter {
  return { ...r, event: JSON.parse(r.event) as EventRecord };
}
