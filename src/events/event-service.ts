// The events part, composed: the log, the bus, webhooks and retention. Each account's runtime builds one (runtime.ts).
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import { type Message, onAccountRoutes } from '../domain.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { EventBus } from './event-bus.js';
import { EventLog } from './event-log.js';
import { recordEngineEvents } from './recorder.js';
import { parseTypeFilter } from './types.js';
import { WebhookDispatcher, type WebhookOptions } from './webhooks.js';
import { WebhookStore } from './webhook-store.js';

export type EventsConfig = Pick<
  Config,
  'eventRetentionHours' | 'webhookUrls' | 'webhookEvents' | 'webhookSecret' | 'webhookAllowUnsigned' | 'webhookMaxAttempts' | 'webhookTimeoutSeconds' | 'webhookConcurrency' | 'webhookStart'
>;

/** Dead letters are the last copy of an event for a receiver: kept 30 days, then pruned. */
export const DEAD_LETTER_RETENTION_MS = 30 * 24 * 3_600_000;

export interface EventServiceDeps {
  now?: () => number;
  /** Tests shrink backoff or inject the HTTP client. */
  webhook?: Partial<Pick<WebhookOptions, 'backoff' | 'post' | 'random'>>;
  /** How often retention runs (default: hourly, or a quarter of the retention when shorter). */
  pruneEveryMs?: number;
  /** The account whose log this is; events carry it. Default: default. */
  account?: string;
  /** The account's own webhooks at start, besides the server's (config); `setOwnWebhooks` changes them. */
  ownWebhooks?: { urls: readonly string[]; events: readonly string[] };
}

export class EventService {
  readonly bus = new EventBus();
  readonly log: EventLog;
  readonly webhooks: WebhookDispatcher;
  private readonly now: () => number;
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopRecording: (() => void) | null = null;

  private readonly logger: Logger;

  /**
   * `logger` is the account's: each part names itself from it, since a pino child of a child that sets the same key
   * writes that key twice ("part":"events","part":"webhooks").
   */
  constructor(private readonly db: Database, private readonly config: EventsConfig, logger: Logger, private readonly deps: EventServiceDeps = {}) {
    this.logger = logger.child({ part: 'events' });
    this.now = deps.now ?? Date.now;
    this.log = new EventLog(db, this.bus, this.now, (err) => this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'event log write failed'), deps.account);
    this.webhooks = new WebhookDispatcher(
      {
        urls: config.webhookUrls,
        filter: parseTypeFilter(config.webhookEvents),
        secret: config.webhookSecret ?? null,
        allowUnsigned: config.webhookAllowUnsigned,
        maxAttempts: config.webhookMaxAttempts,
        timeoutMs: config.webhookTimeoutSeconds * 1000,
        concurrency: config.webhookConcurrency,
        startAt: config.webhookStart,
        now: this.now,
        retentionMs: config.eventRetentionHours * 3_600_000,
        ...(deps.ownWebhooks ? { own: { urls: deps.ownWebhooks.urls, filter: parseTypeFilter(deps.ownWebhooks.events) } } : {}),
        ...deps.webhook,
      },
      this.log,
      new WebhookStore(db),
      this.bus,
      logger.child({ part: 'webhooks' }),
    );
  }

  /** Record the engine's events, start webhook delivery and retention. */
  /** `annotate` adds what the store knows to a message event (the phone behind an @lid sender). */
  start(engine: Engine, annotate: (m: Message) => Message = (m) => m): void {
    const account = this.deps.account ?? 'default';
    this.stopRecording = recordEngineEvents(this.log, engine, this.db, (m) => onAccountRoutes(annotate(m), account));
    this.webhooks.start();
    this.prune();
    const retentionMs = this.config.eventRetentionHours * 3_600_000;
    this.pruneTimer = setInterval(() => this.prune(), this.deps.pruneEveryMs ?? Math.min(3_600_000, retentionMs / 4));
    this.pruneTimer.unref();
  }

  prune(): number {
    try {
      // Not past what a webhook still has to deliver: a lane that fell behind dead-letters expired events itself
      // (so they stay redeliverable) and then lets the log go.
      const n = this.log.prune(this.now() - this.config.eventRetentionHours * 3_600_000, this.webhooks.deliveredFloor() ?? undefined);
      const dead = this.webhooks.store.pruneDeadLetters(this.now() - DEAD_LETTER_RETENTION_MS);
      if (n + dead > 0) this.logger.debug({ events: n, dead_letters: dead }, 'pruned old events');
      return n;
    } catch (err) {
      this.logger.error({ err }, 'pruning the event log failed');
      return 0;
    }
  }

  /**
   * The account's own webhook URLs and event types (`[]`: every type), besides the server's; live, and resolved once
   * the lanes of removed URLs have stopped. Callers validated both (the accounts API).
   */
  setOwnWebhooks(urls: readonly string[], events: readonly string[]): Promise<void> {
    return this.webhooks.setOwn({ urls, filter: parseTypeFilter(events) });
  }

  /** Stop listening and delivering, end every stream and wait; commit what is queued. The store closes after this. */
  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.stopRecording?.();
    this.log.flush();
    this.bus.close();
    await this.webhooks.stop();
    this.log.close();
  }
}
