// Webhooks: every event (matching the filter) is POSTed to each configured URL, signed, in cursor order per URL,
// with retries and a dead-letter table. Progress lives in webhook_lanes, so delivery resumes after a restart
// (at-least-once: a receiver dedupes by X-Webhook-Id).
import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './event-bus.js';
import type { EventLog } from './event-log.js';
import { httpPost, type WebhookPoster } from './http-post.js';
import type { EventRecord, TypeFilter } from './types.js';
import type { WebhookStore } from './webhook-store.js';

export interface WebhookOptions {
  urls: readonly string[];
  filter: TypeFilter;
  /** HMAC key; null only with WHATSAPP_WEBHOOK_ALLOW_UNSIGNED. */
  secret: string | null;
  allowUnsigned: boolean;
  maxAttempts: number;
  timeoutMs: number;
  /** Backoff before try n+1 is about baseMs * 2^(n-1), capped at maxMs, with jitter. Tests make these small. */
  backoff?: { baseMs: number; maxMs: number };
  /** The HTTP client (default: node:http with keep-alive); tests may inject one. */
  post?: WebhookPoster;
  now?: () => number;
  random?: () => number;
  /** Events older than this are past the log's retention: dead-lettered without a try, so a lane that fell behind catches up. */
  retentionMs?: number;
}

export type AttemptResult = { ok: true; status: number } | { ok: false; retry: boolean; status: number | null; error: string; retryAfterMs?: number };

const DEFAULT_BACKOFF = { baseMs: 2_000, maxMs: 10 * 60_000 };
/**
 * A lane's progress is written at most this often: one commit per delivered event would be most of a delivery's
 * cost. A crash loses at most this much progress, and those events are delivered again (at-least-once).
 */
const PROGRESS_EVERY_MS = 250;
/** Events read from the log per lane turn. */
const PAGE = 200;

export function webhookId(event: Pick<EventRecord, 'cursor'>): string {
  return `evt_${event.cursor}`;
}

/** The signature a receiver recomputes: hex HMAC-SHA256 of "<timestamp>.<body>". */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export class WebhookDispatcher {
  private readonly lanes: Lane[];
  private unsubscribe: (() => void) | null = null;
  readonly now: () => number;

  constructor(
    readonly o: WebhookOptions,
    readonly log: EventLog,
    readonly store: WebhookStore,
    private readonly bus: EventBus,
    readonly logger: Logger,
  ) {
    this.now = o.now ?? Date.now;
    this.lanes = o.urls.map((url) => new Lane(url, this));
  }

  start(): void {
    const head = this.log.latestCursor();
    for (const lane of this.lanes) lane.start(head);
    this.unsubscribe = this.bus.onEvent(() => this.lanes.forEach((l) => l.wake()));
  }

  /** The lowest cursor every configured URL has delivered or dead-lettered (as stored): retention must not pass it. */
  deliveredFloor(): number | null {
    return this.o.urls.length === 0 ? null : this.store.minDelivered(this.o.urls);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all(this.lanes.map((l) => l.stop()));
    this.store.flush();
  }

  /**
   * Try a dead letter once more, now. Delivered: it leaves the dead-letter table. Not delivered: it stays, with the
   * new error. Out of order by nature: the lane has moved on.
   */
  async redeliver(id: number): Promise<{ delivered: boolean; status: number | null; error: string | null }> {
    const dead = this.store.getDeadLetter(id);
    if (!dead) throw new AppError('not_found', `No dead letter ${id}`, { hint: 'GET /api/webhooks/dead-letters lists them.' });
    if (!this.o.secret && !this.o.allowUnsigned) {
      throw new AppError('conflict', 'Webhooks are not configured: set WHATSAPP_WEBHOOK_SECRET (or WHATSAPP_WEBHOOK_ALLOW_UNSIGNED=true)');
    }
    const r = await this.attempt(dead.url, dead.event, JSON.stringify(dead.event));
    if (r.ok) {
      this.store.resolveDeadLetter(id);
      return { delivered: true, status: r.status, error: null };
    }
    this.store.recordRedeliveryFailure(id, r.status, r.error, this.now());
    return { delivered: false, status: r.status, error: r.error };
  }

  /** One signed POST of `body` (the event's JSON); never throws. */
  async attempt(url: string, event: EventRecord, body: string): Promise<AttemptResult> {
    const timestamp = Math.floor(this.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'whatsapp-mcp-api-webhooks',
      'x-webhook-id': webhookId(event),
      'x-webhook-timestamp': String(timestamp),
      'x-webhook-event': event.type,
    };
    if (this.o.secret) headers['x-webhook-signature'] = `sha256=${signPayload(this.o.secret, timestamp, body)}`;
    try {
      const res = await (this.o.post ?? httpPost)(url, headers, body, this.o.timeoutMs);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      // Redirects are not followed (a signed body should not go wherever a receiver points): like any other 4xx
      // but 408/429, a misconfiguration that retrying will not fix.
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const retryAfterMs = parseRetryAfter(res.retryAfter, this.now());
      return { ok: false, retry, status: res.status, error: `HTTP ${res.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (err) {
      const e = err as Error & { code?: string };
      return { ok: false, retry: true, status: null, error: e.code ?? e.message };
    }
  }

  /** Delay before try `attempts + 1`: exponential with "equal jitter" (half fixed, half random) so receivers coming back are not stampeded. */
  backoffMs(attempts: number, retryAfterMs?: number): number {
    const { baseMs, maxMs } = this.o.backoff ?? DEFAULT_BACKOFF;
    const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
    const jittered = exp / 2 + ((this.o.random ?? Math.random)() * exp) / 2;
    return Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0));
  }
}

/** One URL's delivery loop: strictly one event at a time, in cursor order (so per-chat order holds too). */
class Lane {
  private running: Promise<void> | null = null;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private unsaved: number | null = null;
  private readonly label: string;

  constructor(private readonly url: string, private readonly d: WebhookDispatcher) {
    // URLs can carry tokens in their path or query: logs name the origin only.
    this.label = new URL(url).origin;
  }

  start(head: number, failures = 0): void {
    const state = this.d.store.lane(this.url, head);
    this.running = this.loop(state.delivered, state.attempts, state.nextAttemptAt).catch((err: unknown) => {
      // A store error (disk full) must not end delivery for good, nor pin retention at this lane's cursor: start
      // again from the stored state after a backoff.
      const delayMs = this.d.backoffMs(failures + 1);
      this.d.logger.error({ err, webhook: this.label, retry_in_ms: Math.round(delayMs) }, 'webhook lane failed; restarting');
      if (this.stopped) return;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.start(head, failures + 1);
      }, delayMs);
      this.restartTimer.unref();
    });
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.wake();
    await this.running;
    this.saveProgress();
  }

  /** Remember that everything up to `cursor` is done; written to the store within PROGRESS_EVERY_MS. */
  private progress(cursor: number): void {
    this.unsaved = cursor;
    if (this.progressTimer) return;
    this.progressTimer = setTimeout(() => this.saveProgress(), PROGRESS_EVERY_MS);
    this.progressTimer.unref();
  }

  private saveProgress(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    if (this.unsaved === null) return;
    void this.d.store.advance(this.url, this.unsaved);
    this.unsaved = null;
  }

  private async loop(delivered: number, attempts: number, nextAt: number | null): Promise<void> {
    const { o, log, store } = this.d;
    while (!this.stopped) {
      const { events, scanned } = log.after(delivered, PAGE, o.filter);
      if (events.length === 0) {
        if (scanned > delivered) this.progress((delivered = scanned));
        else await this.idle();
        continue;
      }
      for (const event of events) {
        const body = JSON.stringify(event);
        // Behind by more than the retention (a receiver down for days): the event would be pruned before its turn.
        // Dead-letter it at once, so the lane catches up and the log can be pruned, and nothing vanishes unseen.
        if (o.retentionMs !== undefined && event.at < this.d.now() - o.retentionMs) {
          this.unsaved = null;
          await store.deadLetter(this.url, event, body, attempts, null, `expired: not delivered within the event retention (${Math.round(o.retentionMs / 3_600_000)} h)`, this.d.now());
          attempts = 0;
          nextAt = null;
          delivered = event.cursor;
          if (this.stopped) return;
          continue;
        }
        for (;;) {
          if (nextAt !== null && nextAt > this.d.now()) await this.sleep(nextAt - this.d.now());
          if (this.stopped) return;
          const r = await this.d.attempt(this.url, event, body);
          attempts++;
          if (r.ok) break;
          if (r.retry && attempts < o.maxAttempts) {
            nextAt = this.d.now() + this.d.backoffMs(attempts, r.retryAfterMs);
            // Progress first, so after a restart the attempt count belongs to this event, not an earlier one.
            this.saveProgress();
            void store.recordRetry(this.url, attempts, nextAt, r.error);
            this.d.logger.warn({ webhook: this.label, cursor: event.cursor, attempts, error: r.error }, 'webhook delivery failed; will retry');
            continue;
          }
          this.unsaved = null; // the dead-letter transaction moves the lane past this event
          await store.deadLetter(this.url, event, body, attempts, r.status, r.error, this.d.now());
          this.d.logger.warn({ webhook: this.label, cursor: event.cursor, attempts, error: r.error }, 'webhook delivery dead-lettered');
          break;
        }
        attempts = 0;
        nextAt = null;
        delivered = event.cursor;
        this.progress(delivered);
        if (this.stopped) return;
      }
      if (scanned > delivered) this.progress((delivered = scanned));
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = null;
        resolve();
      };
      if (this.stopped) this.wake();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        // Woken by a new event while backing off: keep backing off (stop() clears the timer and resolves).
        if (!this.stopped) return;
        this.wakeUp = null;
        resolve();
      };
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wakeUp = null;
        resolve();
      }, ms);
      this.timer.unref();
    });
  }
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
