// Sending with guarantees: written to the outbox before it is attempted, idempotent by key, paced, and
// reconciled after a crash before anything is retried (send-delivery.ts gets it out). Both doors reach this through
// whatsapp_send_message. This file accepts a send: recipient rules, idempotency, send now or queue.
import { AppError, notReady } from '../errors.js';
import { type OutboxPageQuery, type OutboxRow, newOutboxId } from '../store/outbox-store.js';
import { EXPIRED_MESSAGE, QueueExpiry } from './queue-expiry.js';
import { RecipientPolicy, sendPreview } from './recipient-policy.js';
import { requestHash, targetOf } from './send-content.js';
import { SendDelivery, reachesChat } from './send-delivery.js';
import type { OutboxOutcome, SendOutcome, SendRequest, SendServiceOptions } from './send-types.js';

export type { OutboxOutcome, SendOutcome, SendRequest, SendServiceOptions } from './send-types.js';

export class SendService {
  private readonly inflight = new Map<string, Promise<SendOutcome>>();
  private readonly unsubscribe: () => void;
  private readonly expiry: QueueExpiry;
  private readonly delivery: SendDelivery;
  /** The recipient rules; group operations ask them too, before adding people. */
  readonly recipients: RecipientPolicy;

  constructor(private readonly o: SendServiceOptions) {
    this.recipients = o.recipients ?? RecipientPolicy.open();
    this.unsubscribe = o.engine.events.on('status', (s) => {
      if (s.ready) this.kick();
    });
    this.expiry = new QueueExpiry({
      outbox: o.outbox,
      logger: o.logger,
      onExpired: (row) => this.tell({ state: 'failed', ...row, error: { code: 'expired', message: EXPIRED_MESSAGE } }),
    });
    this.delivery = new SendDelivery(o, this.expiry, this.recipients, (outcome) => this.tell(outcome));
    // At boot, linked or not: what expired while the server was down fails now, the rest on time.
    this.expiry.start();
  }

  async send(req: SendRequest): Promise<SendOutcome> {
    try {
      // First, before a replay or a row: a refusal is never stored, so the same key confirmed later is a new send.
      if (reachesChat(req.content)) this.recipients.admit(req.chat_id, { confirmed: req.confirmed === true, preview: sendPreview(req.body, req.content) });
      return await this.sendOnce(req);
    } finally {
      req.dropFiles?.();
    }
  }

  private async sendOnce(req: SendRequest): Promise<SendOutcome> {
    const key = req.idempotency_key;
    if (key === undefined) return this.sendNew(req);
    // A retry racing its original in this process waits for it rather than inserting twice.
    const running = this.inflight.get(key);
    if (running) {
      await running.catch(() => undefined);
    }
    const existing = this.o.outbox.byIdempotencyKey(key);
    if (existing) return this.replay(existing, req);
    const p = this.sendNew(req);
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  status(outboxId: string): OutboxRow {
    const row = this.o.outbox.get(outboxId);
    if (!row) throw new AppError('not_found', `No send with outbox_id ${outboxId}`);
    return row;
  }

  /** Newest first; undefined when `before` names no send. */
  page(opts: OutboxPageQuery): OutboxRow[] | undefined {
    return this.o.outbox.page(opts);
  }

  /**
   * Queue a failed send again (a fresh deadline of the queue's max age, attempts from zero); the drain delivers it
   * like any queued send: paced, reconciled, expired if it waits too long.
   */
  async retry(outboxId: string): Promise<OutboxRow> {
    const row = this.status(outboxId);
    if (row.state !== 'failed' || !(await this.o.outbox.retry(outboxId, this.o.queueMaxAgeMs))) {
      const state = this.o.outbox.get(outboxId)?.state ?? row.state;
      throw new AppError('conflict', `Send ${outboxId} is ${state}: only a failed send can be retried`, { details: { outbox_id: outboxId, state } });
    }
    const queued = this.status(outboxId);
    this.expiry.note(queued.expires_at);
    this.tell({ state: 'queued', outbox_id: queued.outbox_id, chat_id: queued.chat_id, error: null });
    // As a new queued send does: a timer, not kick(), so a drain that is just finishing cannot miss this row.
    this.delivery.schedule(this.o.engine.status().ready ? this.o.limiter.waitFor(queued.chat_id) : null);
    return queued;
  }

  /** Deliver queued sends now if the engine is ready (called on every `ready` and at boot). */
  kick(): void {
    this.delivery.kick();
  }

  async stop(): Promise<void> {
    this.delivery.halt();
    this.unsubscribe();
    await this.expiry.stop();
    await this.delivery.settle();
    this.o.outbox.flush();
  }

  private async sendNew(req: SendRequest): Promise<SendOutcome> {
    // Only a keyed request can be replayed, so only it needs the fingerprint a replay is checked against.
    const hash = req.idempotency_key === undefined ? undefined : requestHash(req);
    const expires_in_ms = req.expires_in !== undefined ? req.expires_in * 1000 : this.o.queueMaxAgeMs;
    const status = this.o.engine.status();
    const ready = status.ready;
    const pace = ready ? this.o.limiter.tryTake(req.chat_id) : { ok: true as const };
    if (!ready || !pace.ok) {
      if (!req.queue) {
        if (!ready) throw notReady(status.state, this.o.engine.hasSavedSession());
        const retryAfterMs = (pace as { retryAfterMs: number }).retryAfterMs;
        throw new AppError('rate_limited', `Sending too fast to ${req.chat_id}; WhatsApp bans numbers that burst`, {
          hint: 'Retry after the Retry-After seconds, or send with "queue": true to have it delivered when the pace allows.',
          headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
          details: { retry_after_ms: retryAfterMs },
        });
      }
      req.keepFiles?.();
      const row = await this.o.outbox.create({ chat_id: req.chat_id, body: req.body, content: req.content, state: 'queued', idempotency_key: req.idempotency_key, request_hash: hash, expires_in_ms });
      this.expiry.note(row.expires_at);
      // Readiness read again: the engine may have become ready (and found an empty queue) while this row was written.
      this.delivery.schedule(this.o.engine.status().ready ? this.o.limiter.waitFor(req.chat_id) : null);
      this.tell({ state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id, error: null });
      return { state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id };
    }
    // Claimed before the row exists: a reconciliation running meanwhile must not take this fresh `sending` row
    // for one a crash left behind.
    const id = newOutboxId();
    this.delivery.attempting.add(id);
    let row: OutboxRow;
    try {
      req.keepFiles?.();
      row = await this.o.outbox.create({ id, chat_id: req.chat_id, body: req.body, content: req.content, state: 'sending', idempotency_key: req.idempotency_key, request_hash: hash, expires_in_ms });
    } catch (err) {
      this.delivery.attempting.delete(id);
      throw err;
    }
    return this.delivery.attempt(row, req.queue);
  }

  private replay(row: OutboxRow, req: SendRequest): SendOutcome {
    if (row.request_hash !== requestHash(req)) {
      throw new AppError('conflict', 'This Idempotency-Key was already used with a different request', { details: { outbox_id: row.outbox_id } });
    }
    if (row.state === 'sent') return { state: 'sent', outbox_id: row.outbox_id, chat_id: row.chat_id, message_id: row.message_id ?? targetOf(row.content)!, timestamp: row.timestamp!, replayed: true };
    if (row.state === 'failed') {
      throw new AppError((row.error?.code ?? 'engine_error') as never, row.error?.message ?? 'Send failed', { details: { outbox_id: row.outbox_id } });
    }
    return { state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id, replayed: true };
  }

  private tell(outcome: OutboxOutcome): void {
    try {
      this.o.onOutcome?.(outcome);
    } catch (err) {
      this.o.logger.warn({ err }, 'recording a send outcome failed');
    }
  }
}
