// Sending with guarantees: written to the outbox before it is attempted, idempotent by key, paced, and
// reconciled after a crash before anything is retried. Both doors reach this through whatsapp_send_message.
import type { Message } from '../domain.js';
import type { Engine } from '../engine/engine.js';
import { AppError, notReady, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../store/media-store.js';
import { type OutboxContent, type OutboxRow, type OutboxState, type OutboxStore, newOutboxId } from '../store/outbox-store.js';
import { EXPIRED_MESSAGE, QueueExpiry } from './queue-expiry.js';
import type { RateLimiter } from './rate-limiter.js';
import { RecipientPolicy, sendPreview } from './recipient-policy.js';
import { deliver, requestHash, sameContent, targetOf } from './send-content.js';

export interface SendRequest {
  chat_id: string;
  /** The text; a media caption; an edit's new text; '' for the other kinds. */
  body: string;
  /** Absent: plain text. Media must already be in the media store. */
  content?: OutboxContent | undefined;
  /** The caller accepts 202 queued instead of 503/429. */
  queue: boolean;
  idempotency_key?: string | undefined;
  /** Seconds after which the send, if still queued, fails as expired (default: the queue's max age). */
  expires_in?: number | undefined;
  /** Called just before the outbox row is written: the files the send needs become part of the store then. */
  keepFiles?: () => void;
  /** Called when the send is over, whatever happened (files not kept are removed). */
  dropFiles?: () => void;
  /** A person confirmed this send to a chat never written to (REST "confirm": true, an MCP elicitation). */
  confirmed?: boolean | undefined;
}

export type SendOutcome = (
  | { state: 'sent'; outbox_id: string; chat_id: string; message_id: string; timestamp: number }
  | { state: 'queued'; outbox_id: string; chat_id: string }
) & {
  /** The answer of an earlier request with the same idempotency key: nothing was sent this time. */
  replayed?: true;
};

export interface SendServiceOptions {
  engine: Engine;
  outbox: OutboxStore;
  /** Where the files of media sends are. */
  media: MediaStore;
  /** A chat's recent messages from the store, for crash reconciliation on an engine with no live history. */
  storedHistory?: (chatId: string, limit: number) => Message[];
  limiter: RateLimiter;
  logger: Logger;
  /** Random extra delay (ms, up to) between queued sends, so a drained queue does not look like a bot. */
  jitterMs: number;
  /** Show "typing…" for a time in proportion to the text before sending. */
  typingIndicator: boolean;
  /** WHATSAPP_QUEUE_MAX_AGE_SECONDS in ms: the deadline of a send that names none (queue-expiry.ts). */
  queueMaxAgeMs: number;
  random?: () => number;
  /** Told of every send's fate (queued, sent, failed) after it is recorded in the outbox: feeds the event log. */
  onOutcome?: (outcome: OutboxOutcome) => void;
  /** Who may be sent to (WHATSAPP_SEND_ALLOW, WHATSAPP_CONFIRM_NEW_RECIPIENTS); absent: anyone. */
  recipients?: RecipientPolicy;
}

export type OutboxOutcome =
  | { state: 'queued'; outbox_id: string; chat_id: string; error: { code: string; message: string } | null }
  | { state: 'sent'; outbox_id: string; chat_id: string; message_id: string; timestamp: number }
  | { state: 'failed'; outbox_id: string; chat_id: string; error: { code: string; message: string } };

// Errors after which a retry cannot help.
const PERMANENT = new Set(['not_on_whatsapp', 'invalid_input', 'not_found', 'not_supported', 'payload_too_large', 'not_admin', 'recipient_not_allowed']);
const MAX_ATTEMPTS = 3;
// A message we sent shows up in the chat with its server timestamp; allow for clock skew between us and WhatsApp.
const RECONCILE_SKEW_MS = 5_000;

export class SendService {
  private readonly inflight = new Map<string, Promise<SendOutcome>>();
  /** Rows in `sending` because this process is sending them right now (as opposed to left there by a crash). */
  private readonly attempting = new Set<string>();
  private draining: Promise<void> | null = null;
  /** Queued sends are spaced by a random gap of up to jitterMs. */
  private nextQueuedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly unsubscribe: () => void;
  private readonly expiry: QueueExpiry;
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
  page(opts: { state?: OutboxState | undefined; limit: number; before?: string | undefined }): OutboxRow[] | undefined {
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
    this.schedule(this.o.engine.status().ready ? this.o.limiter.waitFor(queued.chat_id) : null);
    return queued;
  }

  /** Deliver queued sends now if the engine is ready (called on every `ready` and at boot). */
  kick(): void {
    if (this.stopped || this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    await this.expiry.stop();
    // Bounded: a send hung inside the engine must not hold shutdown (the row stays `sending`; reconciled next start).
    await Promise.race([this.draining?.catch(() => undefined), new Promise((r) => setTimeout(r, 3_000).unref())]);
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
      this.schedule(this.o.engine.status().ready ? this.o.limiter.waitFor(req.chat_id) : null);
      this.tell({ state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id, error: null });
      return { state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id };
    }
    // Claimed before the row exists: a reconciliation running meanwhile must not take this fresh `sending` row
    // for one a crash left behind.
    const id = newOutboxId();
    this.attempting.add(id);
    let row: OutboxRow;
    try {
      req.keepFiles?.();
      row = await this.o.outbox.create({ id, chat_id: req.chat_id, body: req.body, content: req.content, state: 'sending', idempotency_key: req.idempotency_key, request_hash: hash, expires_in_ms });
    } catch (err) {
      this.attempting.delete(id);
      throw err;
    }
    return this.attempt(row, req.queue);
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

  /** One delivery attempt of a row already marked `sending`. */
  private async attempt(row: OutboxRow, mayRequeue: boolean): Promise<SendOutcome> {
    this.attempting.add(row.outbox_id);
    try {
      const kind = row.content?.kind ?? 'text';
      if (this.o.typingIndicator && this.o.engine.sendTyping && (kind === 'text' || kind === 'media')) {
        await this.o.engine.sendTyping(row.chat_id, Math.min(8_000, 600 + row.body.length * 40));
      }
      const sent = await deliver(row, this.o.engine, this.o.media);
      // Sent is sent: a failure to record it must not count as a failed send (the row stays `sending`, and
      // reconciliation finds the message in the chat later). An act on a message (reaction...) makes no new one.
      const made = targetOf(row.content) === undefined ? sent.message_id : null;
      await this.o.outbox.markSent(row.outbox_id, made, sent.timestamp).catch((err: unknown) => {
        this.o.logger.error({ err, outbox_id: row.outbox_id }, 'recording a sent message failed');
      });
      this.tell({ state: 'sent', outbox_id: row.outbox_id, chat_id: row.chat_id, message_id: sent.message_id, timestamp: sent.timestamp });
      return { state: 'sent', outbox_id: row.outbox_id, chat_id: sent.chat_id, message_id: sent.message_id, timestamp: sent.timestamp };
    } catch (err) {
      const e = toAppError(err);
      const transient = !PERMANENT.has(e.code) && row.attempts < MAX_ATTEMPTS;
      if (mayRequeue && transient) {
        if (e.code === 'not_ready') {
          // Refused before anything left: safe to queue again.
          await this.o.outbox.requeue(row.outbox_id, e.code, e.message);
          this.expiry.note(row.expires_at);
          this.schedule(null);
        } else {
          // The page may have died after WhatsApp took the message: leave the row `sending` so reconciliation looks
          // for it in the chat before any retry.
          this.schedule(2_000 * row.attempts);
        }
        this.tell({ state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id, error: { code: e.code, message: e.message } });
        return { state: 'queued', outbox_id: row.outbox_id, chat_id: row.chat_id };
      }
      await this.o.outbox.markFailed(row.outbox_id, e.code, e.message);
      this.tell({ state: 'failed', outbox_id: row.outbox_id, chat_id: row.chat_id, error: { code: e.code, message: e.message } });
      throw new AppError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), mcpHint: e.mcpHint, details: { outbox_id: row.outbox_id }, headers: e.headers, cause: err });
    } finally {
      this.attempting.delete(row.outbox_id);
    }
  }

  private tell(outcome: OutboxOutcome): void {
    try {
      this.o.onOutcome?.(outcome);
    } catch (err) {
      this.o.logger.warn({ err }, 'recording a send outcome failed');
    }
  }

  private jitter(): number {
    return Math.floor((this.o.random ?? Math.random)() * this.o.jitterMs);
  }

  private schedule(ms: number | null): void {
    if (ms === null || this.stopped) return; // not ready: the next `ready` status kicks the queue
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    await this.reconcile();
    while (!this.stopped && this.o.engine.status().ready) {
      const [row] = this.o.outbox.list('queued', 1);
      if (!row) return;
      if (this.expiry.isExpired(row)) {
        await this.expiry.sweep();
        // A sweep that could not write (disk full) must not turn this loop into a spin.
        if (this.o.outbox.get(row.outbox_id)?.state === 'queued') return this.schedule(5_000);
        continue;
      }
      // The allow-list may have changed since it was accepted (a restart with a new WHATSAPP_SEND_ALLOW). A
      // confirmation given at acceptance stands: nobody is there to ask now.
      const refused = reachesChat(row.content) ? this.recipients.refusal(row.chat_id) : null;
      if (refused) {
        await this.o.outbox.markFailed(row.outbox_id, refused.code, refused.message);
        this.tell({ state: 'failed', outbox_id: row.outbox_id, chat_id: row.chat_id, error: { code: refused.code, message: refused.message } });
        continue;
      }
      // Jitter on top of the pace: a backlog must not go out back to back, nor on the limiter's exact rhythm;
      // both look like a bot.
      const paced = this.o.limiter.waitFor(row.chat_id);
      if (paced > 0) return this.schedule(paced + this.jitter());
      const gap = this.nextQueuedAt - Date.now();
      if (gap > 0) return this.schedule(gap);
      if (!(await this.o.outbox.markSending(row.outbox_id))) continue;
      this.o.limiter.tryTake(row.chat_id);
      await this.attempt({ ...row, attempts: row.attempts + 1 }, true).catch((err: unknown) => {
        this.o.logger.warn({ outbox_id: row.outbox_id, code: toAppError(err).code }, 'queued send failed');
      });
      this.nextQueuedAt = Date.now() + this.jitter();
    }
  }

  /**
   * A row left in `sending` by a crash may or may not have reached WhatsApp. Look for it in the chat's history
   * (a message from us with the same text, sent after the attempt began, not claimed by another send) before
   * deciding to send it again: never blindly resend.
   */
  private async reconcile(): Promise<void> {
    for (;;) {
      const stuck = this.o.outbox.list('sending', 100).filter((r) => !this.attempting.has(r.outbox_id));
      if (stuck.length === 0 || !this.o.engine.status().ready) return;
      for (const row of stuck) {
        let history: Message[];
        try {
          // Without a live chat list, the store holds what the engine reported of the chat (our own sends included).
          history = this.o.engine.chats ? await this.o.engine.chats.fetchMessages(row.chat_id, 100) : (this.o.storedHistory?.(row.chat_id, 100) ?? []);
        } catch (err) {
          const code = toAppError(err).code;
          // Only a chat that does not exist proves the message is not in it; other failures: look again later.
          if (code !== 'not_on_whatsapp' && code !== 'not_found') return this.schedule(5_000);
          history = [];
        }
        const current = this.o.outbox.get(row.outbox_id);
        if (!current || current.state !== 'sending' || this.attempting.has(row.outbox_id)) continue;
        const since = (row.attempted_at ?? row.created_at) - RECONCILE_SKEW_MS;
        const match = history.find((m) => m.from_me && sameContent(m, row) && m.timestamp * 1000 >= since && !this.o.outbox.isClaimed(m.id));
        if (match) {
          await this.o.outbox.markSent(row.outbox_id, match.id, match.timestamp);
          this.tell({ state: 'sent', outbox_id: row.outbox_id, chat_id: row.chat_id, message_id: match.id, timestamp: match.timestamp });
        } else if (this.expiry.isExpired(row)) {
          // Not in the chat, so not sent; and too late to send now.
          const error = { code: 'expired', message: `${EXPIRED_MESSAGE} (interrupted by a restart, and not found in the chat)` };
          await this.o.outbox.markFailed(row.outbox_id, error.code, error.message);
          this.tell({ state: 'failed', outbox_id: row.outbox_id, chat_id: row.chat_id, error });
        } else {
          await this.o.outbox.requeue(row.outbox_id, 'interrupted', 'The server stopped during this send; it was not found in the chat and is sent again');
        }
        this.o.logger.info({ outbox_id: row.outbox_id, found: Boolean(match) }, 'reconciled an interrupted send');
      }
    }
  }
}

/** Deleting a message only from this account's own devices reaches nobody: the recipient rules do not apply. */
function reachesChat(content: OutboxContent | null | undefined): boolean {
  return !(content?.kind === 'delete' && !content.for_everyone);
}
