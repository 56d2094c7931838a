// Getting accepted sends out: one attempt at a time per row, queued rows drained at the pace and with a random gap,
// and rows a crash left in `sending` reconciled against the chat before anything is sent again.
import type { Message } from '../domain.js';
import { AppError, toAppError } from '../errors.js';
import type { OutboxContent, OutboxRow } from '../store/outbox-store.js';
import { EXPIRED_MESSAGE, type QueueExpiry } from './queue-expiry.js';
import type { RecipientPolicy } from './recipient-policy.js';
import { deliver, sameContent, targetOf } from './send-content.js';
import type { OutboxOutcome, SendOutcome, SendServiceOptions } from './send-types.js';

// Errors after which a retry cannot help.
const PERMANENT = new Set(['not_on_whatsapp', 'invalid_input', 'not_found', 'not_supported', 'payload_too_large', 'not_admin', 'recipient_not_allowed']);
const MAX_ATTEMPTS = 3;
// A message we sent shows up in the chat with its server timestamp; allow for clock skew between us and WhatsApp.
const RECONCILE_SKEW_MS = 5_000;

export class SendDelivery {
  /** Rows in `sending` because this process is sending them right now (as opposed to left there by a crash). */
  readonly attempting = new Set<string>();
  private draining: Promise<void> | null = null;
  /** Queued sends are spaced by a random gap of up to jitterMs. */
  private nextQueuedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly o: SendServiceOptions,
    private readonly expiry: QueueExpiry,
    private readonly recipients: RecipientPolicy,
    private readonly tell: (outcome: OutboxOutcome) => void,
  ) {}

  /** Deliver queued sends now if the engine is ready (called on every `ready` and at boot). */
  kick(): void {
    if (this.stopped || this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  /** No new attempt starts after this. */
  halt(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The running drain, bounded: a send hung inside the engine must not hold shutdown (the row stays `sending`). */
  async settle(): Promise<void> {
    await Promise.race([this.draining?.catch(() => undefined), new Promise((r) => setTimeout(r, 3_000).unref())]);
  }

  /** One delivery attempt of a row already marked `sending`. */
  async attempt(row: OutboxRow, mayRequeue: boolean): Promise<SendOutcome> {
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

  private jitter(): number {
    return Math.floor((this.o.random ?? Math.random)() * this.o.jitterMs);
  }

  /** Drain again in `ms`; null: not ready, so the next `ready` status kicks the queue. */
  schedule(ms: number | null): void {
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
export function reachesChat(content: OutboxContent | null | undefined): boolean {
  return !(content?.kind === 'delete' && !content.for_everyone);
}
