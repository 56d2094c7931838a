// The audit trail: who (key name, door) did what (operation, chat) with what outcome, for every state-changing call
// and every refused attempt, plus the later fate of queued sends. Text is kept as sha256 + length unless
// WHATSAPP_AUDIT_BODIES=true. Rows are appended in one transaction per event-loop turn, never per call.
import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { AccessDb } from '../store/access-db.js';
import type { Door } from './keys.js';
import type { OutboxOutcome } from './send-service.js';

/** The doors, and `cli`: key changes made on the machine with `whatsapp-mcp-api keys`. */
export type AuditDoor = Door | 'cli';

export interface AuditEntry {
  key: string;
  door: AuditDoor;
  operation: string;
  chat_id: string | null;
  /** ok | queued | sent | an error code. */
  outcome: string;
  outbox_id?: string | null;
  /** What the call acted on that is not a chat: the key created or revoked. */
  target?: string | null;
  /** The text or caption the call carried; hashed here, kept only with WHATSAPP_AUDIT_BODIES. */
  text?: string | null;
  /** The account the call was for; absent: the service's own (default). */
  account?: string;
}

export const AuditRecordSchema = z.object({
  id: z.number().int(),
  /** Unix ms. */
  at: z.number().int(),
  account: z.string(),
  key: z.string(),
  door: z.enum(['rest', 'mcp', 'stdio', 'cli']),
  operation: z.string(),
  chat_id: z.string().nullable(),
  outcome: z.string().describe('ok, queued, sent (a queued send went out later), or the error code (forbidden, rate_limited, invalid_input, recipient_not_allowed, expired…)'),
  outbox_id: z.string().nullable(),
  target: z.string().nullable().describe('What the call acted on that is not a chat: the name of the key created or revoked'),
  text_sha256: z.string().nullable().describe('sha256 (hex) of the UTF-8 text or caption'),
  text_length: z.number().int().nullable().describe('Length of the text in UTF-16 code units, as WhatsApp counts its limit'),
  text: z.string().nullable().optional().describe('The text itself, only with WHATSAPP_AUDIT_BODIES=true'),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

export interface AuditQuery {
  after: number;
  limit: number;
  key?: string | undefined;
  chat_id?: string | undefined;
}

export interface AuditOptions {
  /** WHATSAPP_AUDIT_BODIES */
  bodies: boolean;
  /** WHATSAPP_AUDIT_RETENTION_DAYS */
  retentionDays: number;
  logger: Logger;
  now?: () => number;
  account?: string;
}

type Row = Omit<AuditRecord, 'key' | 'door'> & { key_name: string; door: AuditDoor };

const DAY_MS = 24 * 3600 * 1000;
const PRUNE_CHUNK = 10_000;

export class AuditService {
  private pending: Row[] = [];
  private scheduled = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly insert: Statement;
  private readonly originOf: Statement;
  private readonly pruneChunk: Statement;
  private readonly now: () => number;
  private readonly account: string;

  constructor(
    private readonly db: AccessDb,
    private readonly o: AuditOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.account = o.account ?? 'default';
    this.insert = db.prepare(`INSERT INTO audit (at, account, key_name, door, operation, chat_id, outcome, outbox_id, target, text_sha256, text_length, text)
      VALUES (@at, @account, @key_name, @door, @operation, @chat_id, @outcome, @outbox_id, @target, @text_sha256, @text_length, @text)`);
    this.originOf = db.prepare(`SELECT key_name, door, operation, chat_id FROM audit WHERE outbox_id = ? AND account = ? AND outcome = 'queued' ORDER BY id DESC LIMIT 1`);
    this.pruneChunk = db.prepare('DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)');
  }

  record(e: AuditEntry): void {
    const text = typeof e.text === 'string' ? e.text : null;
    this.pending.push({
      id: 0,
      at: this.now(),
      account: e.account ?? this.account,
      key_name: e.key,
      door: e.door,
      operation: e.operation,
      chat_id: e.chat_id,
      outcome: e.outcome,
      outbox_id: e.outbox_id ?? null,
      target: e.target ?? null,
      text_sha256: text === null ? null : createHash('sha256').update(text, 'utf8').digest('hex'),
      text_length: text === null ? null : text.length,
      text: text !== null && this.o.bodies ? text : null,
    });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * A queued send went out or failed after its call had answered "queued": the row that accepted it says who asked.
   * Immediate sends are left out: their call's own row (written once the call returns) already says how it ended.
   */
  outboxOutcome(o: OutboxOutcome, account: string = this.account): void {
    if (o.state === 'queued') return;
    let origin: Pick<Row, 'key_name' | 'door' | 'operation' | 'chat_id'> | undefined;
    for (let i = this.pending.length - 1; i >= 0 && !origin; i--) {
      const row = this.pending[i]!;
      if (row.outbox_id === o.outbox_id && row.account === account && row.outcome === 'queued') origin = row;
    }
    origin ??= this.originOf.get(o.outbox_id, account) as typeof origin;
    if (!origin) return;
    this.record({ account, key: origin.key_name, door: origin.door, operation: origin.operation, chat_id: o.chat_id, outbox_id: o.outbox_id, outcome: o.state === 'sent' ? 'sent' : o.error.code });
  }

  /** Rows after a cursor (oldest first), optionally of one key or chat. */
  page(q: AuditQuery): { rows: AuditRecord[]; more: boolean } {
    this.flush();
    const where = ['id > @after', ...(q.key !== undefined ? ['key_name = @key'] : []), ...(q.chat_id !== undefined ? ['chat_id = @chat_id'] : [])];
    const rows = this.db
      .prepare(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT @n`)
      .all({ after: q.after, n: q.limit + 1, ...(q.key !== undefined ? { key: q.key } : {}), ...(q.chat_id !== undefined ? { chat_id: q.chat_id } : {}) }) as Row[];
    const more = rows.length > q.limit;
    return { rows: rows.slice(0, q.limit).map(({ key_name, text, ...r }) => ({ ...r, key: key_name, ...(this.o.bodies || text !== null ? { text } : {}) })), more };
  }

  /** Delete rows older than the retention, in chunks (a long-idle server may hold many). Returns how many. */
  prune(): number {
    this.flush();
    const before = this.now() - this.o.retentionDays * DAY_MS;
    let total = 0;
    for (;;) {
      const n = this.pruneChunk.run(before, PRUNE_CHUNK).changes;
      total += n;
      if (n < PRUNE_CHUNK) return total;
    }
  }

  /** Prune now and then daily. */
  start(): void {
    this.safePrune();
    this.pruneTimer = setInterval(() => this.safePrune(), DAY_MS);
    this.pruneTimer.unref();
  }

  /** Write what is queued; stop pruning. */
  stop(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.flush();
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const { id: _id, ...row } of batch) this.insert.run(row);
      })();
    } catch (err) {
      // The call has been answered already; losing its audit row is logged loudly, never thrown into a request.
      this.o.logger.error({ err: err instanceof Error ? err.message : String(err), rows: batch.length }, 'audit write failed');
    }
  }

  private safePrune(): void {
    try {
      const n = this.prune();
      if (n > 0) this.o.logger.info({ pruned: n, retention_days: this.o.retentionDays }, 'audit rows pruned');
    } catch (err) {
      this.o.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'audit prune failed');
    }
  }
}
