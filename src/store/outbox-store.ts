// The durable outbox: every send is written here before it is attempted, and its fate is recorded.
import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { Location, MediaKind } from '../domain.js';
import { GroupCommitter } from './group-commit.js';

export const CONTENT_KINDS = ['text', 'media', 'location', 'poll', 'reaction', 'edit', 'delete'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

/** A stored file a send refers to (the bytes are in the media store under sha256). */
export interface MediaRef {
  sha256: string;
  size: number;
  mimetype: string;
  filename: string | null;
  kind: MediaKind;
}

/**
 * What a send carries beyond `body` (the text, a caption, or an edit's new text). NULL in the table is plain text,
 * so text rows (every row before migration 7) carry no JSON. Ops on an existing message name it by id.
 */
export type OutboxContent =
  | { kind: 'text'; reply_to?: string }
  | { kind: 'media'; media: MediaRef; reply_to?: string }
  | { kind: 'location'; location: Location; reply_to?: string }
  | { kind: 'poll'; poll: { question: string; options: string[]; multiple: boolean }; reply_to?: string }
  | { kind: 'reaction'; message_id: string; from_me: boolean; emoji: string }
  | { kind: 'edit'; message_id: string; from_me: boolean }
  | { kind: 'delete'; message_id: string; from_me: boolean; for_everyone: boolean };

export const OUTBOX_STATES = ['queued', 'sending', 'sent', 'failed'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const OutboxRecordSchema = z.object({
  outbox_id: z.string(),
  state: z.enum(OUTBOX_STATES),
  /** What is sent: a new message (text, media, location, poll) or an act on one (reaction, edit, delete). */
  kind: z.enum(CONTENT_KINDS),
  chat_id: z.string(),
  message_id: z.string().nullable(),
  /** Unix seconds WhatsApp gave the sent message. */
  timestamp: z.number().int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  attempts: z.number().int(),
  /** Unix milliseconds. */
  created_at: z.number().int(),
  updated_at: z.number().int(),
  /** Unix milliseconds: a send still queued then fails with error code `expired` and is never sent. */
  expires_at: z.number().int(),
});
export type OutboxRecord = z.infer<typeof OutboxRecordSchema>;

/** The row as the sender needs it (body and idempotency facts stay internal). */
export interface OutboxRow extends OutboxRecord {
  body: string;
  content: OutboxContent | null;
  idempotency_key: string | null;
  request_hash: string | null;
  attempted_at: number | null;
}

export const OUTBOX_SCHEMA = `
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  chat_id TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
  idempotency_key TEXT UNIQUE,
  request_hash TEXT,
  message_id TEXT,
  sent_ts INTEGER,
  error_code TEXT,
  error_message TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  attempted_at INTEGER
);
-- Migration 7 adds: content TEXT (JSON OutboxContent, NULL for plain text).
-- Migration 8 adds: expires_at INTEGER (unix ms; a row still queued then fails as expired).
CREATE INDEX outbox_open ON outbox (state, seq) WHERE state IN ('queued', 'sending');
`;

interface Row {
  id: string;
  chat_id: string;
  body: string;
  state: OutboxState;
  idempotency_key: string | null;
  request_hash: string | null;
  message_id: string | null;
  sent_ts: number | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
  attempted_at: number | null;
  content: string | null;
  expires_at: number;
}

export interface OutboxPageQuery {
  state?: OutboxState | undefined;
  limit: number;
  before?: string | undefined;
  /** Only sends to these chats (a chat-limited key's); absent or null: every chat. */
  chatIds?: readonly string[] | null | undefined;
}

/**
 * `ob_` + 12 hex digits of the time in ms + 80 random bits. Time first: the UNIQUE index on id takes new ids at its
 * end instead of at a random page (a random id cost a durable send ~10-15 us of commit time, bench/send-inproc.ts).
 */
export function newOutboxId(now = Date.now()): string {
  const r = randomUUID();
  return `ob_${now.toString(16).padStart(12, '0')}${r.slice(0, 8)}${r.slice(24)}`;
}

function toRecord(r: Row): OutboxRow {
  const content = r.content === null ? null : (JSON.parse(r.content) as OutboxContent);
  return {
    outbox_id: r.id,
    state: r.state,
    kind: content?.kind ?? 'text',
    content,
    chat_id: r.chat_id,
    message_id: r.message_id,
    timestamp: r.sent_ts,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    attempts: r.attempts,
    created_at: r.created_at,
    updated_at: r.updated_at,
    expires_at: r.expires_at,
    body: r.body,
    idempotency_key: r.idempotency_key,
    request_hash: r.request_hash,
    attempted_at: r.attempted_at,
  };
}

export class OutboxStore {
  private readonly commit: GroupCommitter;
  private readonly q: Record<'insert' | 'byId' | 'byKey' | 'open' | 'page' | 'seqOf' | 'sending' | 'sent' | 'failed' | 'requeue' | 'retry' | 'claimed' | 'expire' | 'nextDeadline', Statement>;

  constructor(db: Database, private readonly now: () => number = Date.now) {
    this.commit = GroupCommitter.for(db);
    this.q = {
      insert: db.prepare(
        `INSERT INTO outbox (id, chat_id, body, content, state, idempotency_key, request_hash, created_at, updated_at, attempted_at, attempts, expires_at)
         VALUES (@id, @chat_id, @body, @content, @state, @idempotency_key, @request_hash, @now, @now, @attempted_at, @attempts, @expires_at)`,
      ),
      byId: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      byKey: db.prepare('SELECT * FROM outbox WHERE idempotency_key = ?'),
      open: db.prepare(`SELECT * FROM outbox WHERE state = ? ORDER BY seq LIMIT ?`),
      // Newest first by rowid: a walk back from the end, so recent rows come at once however long the table is.
      // A chat list (a chat-limited key) filters the same walk: no index on chat_id, which would cost every send more
      // than such a page saves (an (chat_id, seq) index took a durable insert from ~35 to ~110 us in a 200k-row table).
      page: db.prepare(`SELECT * FROM outbox WHERE (@state IS NULL OR state = @state) AND seq < @before
        AND (@chats IS NULL OR chat_id IN (SELECT value FROM json_each(@chats))) ORDER BY seq DESC LIMIT @limit`),
      seqOf: db.prepare('SELECT seq FROM outbox WHERE id = ?').pluck(),
      // Each transition names the states it may leave: a late or repeated write can never undo a settled send.
      sending: db.prepare(`UPDATE outbox SET state = 'sending', attempts = attempts + 1, attempted_at = @now, updated_at = @now WHERE id = @id AND state = 'queued'`),
      sent: db.prepare(`UPDATE outbox SET state = 'sent', message_id = @message_id, sent_ts = @ts, error_code = NULL, error_message = NULL, updated_at = @now WHERE id = @id AND state IN ('sending', 'queued')`),
      failed: db.prepare(`UPDATE outbox SET state = 'failed', error_code = @code, error_message = @message, updated_at = @now WHERE id = @id AND state IN ('sending', 'queued')`),
      requeue: db.prepare(`UPDATE outbox SET state = 'queued', error_code = @code, error_message = @message, updated_at = @now WHERE id = @id AND state = 'sending'`),
      // A failed send asked to go again: a fresh deadline and attempt count, so the normal drain delivers it.
      retry: db.prepare(
        `UPDATE outbox SET state = 'queued', error_code = NULL, error_message = NULL, attempts = 0, attempted_at = NULL, expires_at = @expires_at, updated_at = @now
         WHERE id = @id AND state = 'failed'`,
      ),
      claimed: db.prepare('SELECT 1 FROM outbox WHERE message_id = ?'),
      // Only `queued`: a `sending` row may have reached WhatsApp, and only reconciliation can tell.
      expire: db.prepare(
        `UPDATE outbox SET state = 'failed', error_code = 'expired', error_message = @message, updated_at = @now
         WHERE state = 'queued' AND expires_at <= @now RETURNING id, chat_id`,
      ),
      nextDeadline: db.prepare(`SELECT min(expires_at) FROM outbox WHERE state = 'queued'`).pluck(),
    };
  }

  /** Durably record a new send; `sending` when it is attempted at once, `queued` otherwise. */
  async create(input: {
    id?: string;
    chat_id: string;
    body: string;
    content?: OutboxContent | null | undefined;
    state: 'queued' | 'sending';
    idempotency_key?: string | undefined;
    request_hash?: string | undefined;
    /** How long after now the send, if still queued, fails as expired (its `expires_at`). */
    expires_in_ms: number;
  }): Promise<OutboxRow> {
    const now = this.now();
    const id = input.id ?? newOutboxId(now);
    const sending = input.state === 'sending';
    const row: OutboxRow = {
      outbox_id: id,
      state: input.state,
      kind: input.content?.kind ?? 'text',
      content: input.content ?? null,
      chat_id: input.chat_id,
      message_id: null,
      timestamp: null,
      error: null,
      attempts: sending ? 1 : 0,
      created_at: now,
      updated_at: now,
      expires_at: now + input.expires_in_ms,
      body: input.body,
      idempotency_key: input.idempotency_key ?? null,
      request_hash: input.request_hash ?? null,
      attempted_at: sending ? now : null,
    };
    await this.commit.run(() =>
      this.q.insert.run({
        id,
        chat_id: row.chat_id,
        body: row.body,
        content: row.content === null ? null : JSON.stringify(row.content),
        state: row.state,
        idempotency_key: row.idempotency_key,
        request_hash: row.request_hash,
        now,
        attempted_at: row.attempted_at,
        attempts: row.attempts,
        expires_at: row.expires_at,
      }),
    );
    return row;
  }

  get(id: string): OutboxRow | null {
    const r = this.q.byId.get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  byIdempotencyKey(key: string): OutboxRow | null {
    const r = this.q.byKey.get(key) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  /** Oldest first. */
  list(state: 'queued' | 'sending', limit = 100): OutboxRow[] {
    return (this.q.open.all(state, limit) as Row[]).map(toRecord);
  }

  /**
   * Newest first, any state or one, every chat or those of `chatIds`; `before` is an outbox_id from the previous page
   * (undefined when it names no row, so the caller can say which field was wrong).
   */
  page(opts: OutboxPageQuery): OutboxRow[] | undefined {
    let before = Number.MAX_SAFE_INTEGER;
    if (opts.before !== undefined) {
      const seq = this.q.seqOf.get(opts.before) as number | undefined;
      if (seq === undefined) return undefined;
      before = seq;
    }
    const chats = opts.chatIds ? JSON.stringify(opts.chatIds) : null;
    return (this.q.page.all({ state: opts.state ?? null, before, chats, limit: opts.limit }) as Row[]).map(toRecord);
  }

  /** Put a failed row back in the queue; false when it was not `failed` (any more). */
  async retry(id: string, expiresInMs: number): Promise<boolean> {
    const now = this.now();
    const r = await this.commit.run(() => this.q.retry.run({ id, now, expires_at: now + expiresInMs }));
    return r.changes > 0;
  }

  /** True when a WhatsApp message id is already recorded as the result of some send. */
  isClaimed(messageId: string): boolean {
    return this.q.claimed.get(messageId) !== undefined;
  }

  /** Claim a queued row for an attempt; false when it was not `queued` any more. */
  async markSending(id: string): Promise<boolean> {
    const now = this.now();
    const r = await this.commit.run(() => this.q.sending.run({ id, now }));
    return r.changes > 0;
  }

  /** messageId null: an act on an existing message (reaction, edit, delete), which makes no new message. */
  markSent(id: string, messageId: string | null, ts: number): Promise<unknown> {
    const now = this.now();
    return this.commit.run(() => this.q.sent.run({ id, message_id: messageId, ts, now }));
  }

  markFailed(id: string, code: string, message: string): Promise<unknown> {
    const now = this.now();
    return this.commit.run(() => this.q.failed.run({ id, code, message, now }));
  }

  requeue(id: string, code: string, message: string): Promise<unknown> {
    const now = this.now();
    return this.commit.run(() => this.q.requeue.run({ id, code, message, now }));
  }

  /** Fail every queued row whose deadline has passed (error code `expired`); returns them. */
  async expireDue(message: string): Promise<Array<{ outbox_id: string; chat_id: string }>> {
    const now = this.now();
    const rows = await this.commit.run(() => this.q.expire.all({ now, message }) as Array<{ id: string; chat_id: string }>);
    return rows.map((r) => ({ outbox_id: r.id, chat_id: r.chat_id }));
  }

  /** The earliest deadline among queued rows (unix ms), or null when nothing is queued. */
  nextDeadline(): number | null {
    return (this.q.nextDeadline.get() as number | null | undefined) ?? null;
  }

  flush(): void {
    this.commit.flush();
  }
}
