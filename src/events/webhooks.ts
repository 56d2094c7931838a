// Webhooks: every event (matching the filter) is POSTed to each of the server's URLs (WHATSAPP_WEBHOOK_URL, for every
// account) and the account's own (set through the accounts API, changed live), signed, with retries and a dead-letter
// table. Order and concurrency per URL are the lane's (webhook-lane.ts). Progress lives in webhook_lanes, so delivery
// resumes after a restart (at-least-once: a receiver dedupes by X-Webhook-Id, unique across accounts: webhookId).
import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './event-bus.js';
import type { EventLog } from './event-log.js';
import { httpPost, type WebhookPoster } from './http-post.js';
import type { EventRecord, TypeFilter } from './types.js';
import { Lane } from './webhook-lane.js';
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
  /** Requests in flight per URL (never two for one chat); 1 keeps every event in cursor order. */
  concurrency?: number;
  /** Where a URL without stored progress starts: after the current event (default), or at the oldest one kept. */
  startAt?: 'now' | 'oldest';
  /** The account's own URLs at start (setOwn changes them later). */
  own?: OwnWebhooks;
}

export type AttemptResult = { ok: true; status: number } | { ok: false; retry: boolean; status: number | null; error: string; retryAfterMs?: number };

const DEFAULT_BACKOFF = { baseMs: 2_000, maxMs: 10 * 60_000 };

/**
 * X-Webhook-Id, what receivers dedupe on: unique per account and per event log. One URL may hear several accounts
 * (WHATSAPP_WEBHOOK_URL is every account's) whose cursors each count from 1, as does an account deleted and made
 * again under the same id (a new log id). The default account keeps `evt_<cursor>`, which receivers already store.
 */
export function webhookId(event: Pick<EventRecord, 'cursor' | 'account'>, logId: string): string {
  // A dead letter copied before events carried `account` is the default account's (the only one then).
  const account = (event.account as string | undefined) ?? 'default';
  return account === 'default' ? `evt_${event.cursor}` : `evt_${account}_${logId}_${event.cursor}`;
}

/** The signature a receiver recomputes: hex HMAC-SHA256 of "<timestamp>.<body>". */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** An account's own webhook URLs, besides the server's (WHATSAPP_WEBHOOK_URL, for every account). */
export interface OwnWebhooks {
  urls: readonly string[];
  filter: TypeFilter;
}

export class WebhookDispatcher {
  /** One lane per URL: the server's and the account's own, a URL in both being one lane with either's events. */
  private readonly lanes = new Map<string, Lane>();
  private own: OwnWebhooks;
  /** Changes of the own URLs, one after the other: a lane removed is stopped before one for the same URL starts. */
  private changing: Promise<void> = Promise.resolve();
  private state: 'new' | 'started' | 'stopped' = 'new';
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
    this.own = o.own ?? { urls: [], filter: () => true };
  }

  start(): void {
    this.state = 'started';
    for (const [url, filter] of this.wanted()) this.addLane(url, filter);
    this.unsubscribe = this.bus.onEvent(() => {
      for (const lane of this.lanes.values()) lane.wake();
    });
  }

  /**
   * Replace the account's own URLs, live. A URL that stays keeps its lane (its filter changes from the next read); a
   * removed one's lane stops (an attempt in flight ends first) and its progress is dropped; an added one starts as a
   * new URL does (WHATSAPP_WEBHOOK_START). The server's URLs are not touched.
   */
  setOwn(own: OwnWebhooks): Promise<void> {
    const next = this.changing.then(() => this.applyOwn(own));
    this.changing = next.catch(() => undefined);
    return next;
  }

  /** Every URL this account posts to now. */
  urls(): string[] {
    return [...this.lanes.keys()];
  }

  private async applyOwn(own: OwnWebhooks): Promise<void> {
    this.own = own;
    if (this.state !== 'started') return;
    const wanted = this.wanted();
    const removed = [...this.lanes].filter(([url]) => !wanted.has(url));
    // Off the map first: retention stops counting them at once.
    for (const [url] of removed) this.lanes.delete(url);
    await Promise.all(removed.map(([, lane]) => lane.stop()));
    for (const [url] of removed) this.store.forgetLane(url);
    if (this.state !== 'started') return;
    for (const [url, filter] of wanted) {
      const lane = this.lanes.get(url);
      if (lane) lane.filter = filter;
      else this.addLane(url, filter);
    }
  }

  private wanted(): Map<string, TypeFilter> {
    const wanted = new Map<string, TypeFilter>(this.o.urls.map((url) => [url, this.o.filter]));
    const own = this.own.filter;
    for (const url of this.own.urls) {
      const server = wanted.get(url);
      wanted.set(url, server ? (type) => server(type) || own(type) : own);
    }
    return wanted;
  }

  private addLane(url: string, filter: TypeFilter): void {
    const lane = new Lane(url, this, this.o.concurrency ?? 1, filter);
    this.lanes.set(url, lane);
    // Only for a URL with no stored progress yet: a known URL resumes where it stopped either way.
    lane.start(this.o.startAt === 'oldest' ? 0 : this.log.latestCursor());
  }

  /** The lowest cursor every URL posted to now has delivered or dead-lettered (as stored): retention must not pass it. */
  deliveredFloor(): number | null {
    const urls = this.urls();
    return urls.length === 0 ? null : this.store.minDelivered(urls);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    await this.changing;
    this.unsubscribe?.();
    await Promise.all([...this.lanes.values()].map((l) => l.stop()));
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
      'x-webhook-id': webhookId(event, this.log.logId),
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

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
