// One account's runtime: its engine, store, media, outbox and sender, event log and webhooks, pacing and instance
// locks, built by one function. Config, logger, API keys and the audit trail are the server's and shared by all.
import path from 'node:path';
import type { Config } from '../config.js';
import { createEngine } from '../engine/create-engine.js';
import type { Engine } from '../engine/engine.js';
import { EventService, type EventServiceDeps } from '../events/event-service.js';
import { recordOutboxOutcome } from '../events/recorder.js';
import { ensurePrivateDir } from '../fs-private.js';
import { acquireDirLock } from '../instance-lock.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/operation.js';
import type { AuditService } from '../service/audit.js';
import type { KeyService } from '../service/keys.js';
import { MediaService } from '../service/media-service.js';
import { RateLimiter } from '../service/rate-limiter.js';
import { RecipientPolicy, storeRecipientFacts } from '../service/recipient-policy.js';
import { SendService } from '../service/send-service.js';
import { DB_FILE_NAME, openDatabase } from '../store/db.js';
import { connectStoreToEngine } from '../store/ingest.js';
import { MediaStore } from '../store/media-store.js';
import { MessageStore } from '../store/message-store.js';
import { OutboxStore } from '../store/outbox-store.js';
import type { AccountRegistry } from './registry.js';

/** What every account shares: the server's own parts. */
export interface SharedParts {
  config: Readonly<Config>;
  logger: Logger;
  keys: KeyService;
  audit: AuditService;
  accounts: AccountRegistry;
}

export interface RuntimeDeps {
  /** Tests inject an engine; production builds the account's configured one. */
  engine?: Engine;
  /** Tests inject a store (e.g. over ':memory:'); production opens <account data>/whatsapp.db. */
  store?: MessageStore;
  events?: EventServiceDeps;
}

/**
 * One process per session and store: the lock in the account's data and auth directories (instance-lock.ts). Taken
 * before anything is opened, so a second server on the same directories is refused before it touches a file.
 */
export function lockAccountDirs(config: Readonly<Config>): () => void {
  ensurePrivateDir(config.dataDir);
  ensurePrivateDir(config.authDir);
  const unlocks: Array<() => void> = [];
  try {
    for (const dir of new Set([config.dataDir, config.authDir])) unlocks.push(acquireDirLock(dir));
  } catch (err) {
    unlocks.forEach((release) => release());
    throw err;
  }
  return () => unlocks.forEach((release) => release());
}

/**
 * Build an account's runtime on directories already locked (`unlock` releases them when it closes). Nothing starts
 * here: `start()` reconnects a saved session, `close()` stops the account and releases its files and locks.
 */
export async function buildAccountRuntime(account: string, config: Readonly<Config>, shared: SharedParts, deps: RuntimeDeps, unlock: () => void): Promise<Services> {
  const logger = account === 'default' ? shared.logger : shared.logger.child({ account });
  const engine = deps.engine ?? (await createEngine(config, logger));
  const storeLog = logger.child({ part: 'store' });
  const store =
    deps.store ??
    new MessageStore(openDatabase(path.join(config.dataDir, DB_FILE_NAME)), (err) =>
      storeLog.error({ err: err instanceof Error ? err.message : String(err) }, 'store write failed'),
    );
  connectStoreToEngine(store, engine, storeLog);
  // Its own webhooks from the start: retention, run at once, must count their stored lanes.
  const events = new EventService(store.db, config, logger, { ...deps.events, account, ownWebhooks: shared.accounts.webhooksOf(account) });
  events.start(engine, (m) => store.lids.annotate(m));
  const files = new MediaStore(path.join(config.dataDir, 'media'));
  const media = new MediaService({
    files,
    engine,
    messages: store,
    maxBytes: config.maxMediaBytes,
    allowPrivateUrls: config.mediaUrlAllowPrivate,
    roots: config.mediaRoots,
    pathOverHttp: config.mediaPathOverHttp,
  });
  const { audit } = shared;
  const sender = new SendService({
    engine,
    outbox: new OutboxStore(store.db),
    media: files,
    storedHistory: (chatId, limit) => store.lastMessages(chatId, limit),
    // Pacing is per account: WhatsApp counts what one number sends.
    limiter: new RateLimiter({ globalPerMinute: config.rateGlobalPerMinute, recipientPerMinute: config.rateRecipientPerMinute }),
    logger: logger.child({ part: 'sender' }),
    jitterMs: config.sendJitterMs,
    typingIndicator: config.typingIndicator,
    queueMaxAgeMs: config.queueMaxAgeSeconds * 1000,
    recipients: new RecipientPolicy({ allow: config.sendAllow, confirmNew: config.confirmNewRecipients, facts: storeRecipientFacts(store) }),
    onOutcome: (outcome) => {
      recordOutboxOutcome(events.log, outcome);
      audit.outboxOutcome(outcome, account);
    },
  });
  engine.events.on('status', (s) => logger.info({ state: s.state, last_error: s.last_error ?? undefined }, 'whatsapp state'));
  let closed: Promise<void> | null = null;
  return {
    account,
    accounts: shared.accounts,
    engine,
    config,
    logger,
    store,
    media,
    sender,
    events,
    keys: shared.keys,
    audit,
    start: () => {
      // A saved session reconnects by itself: nobody should have to call /api/auth/start after a restart.
      if (engine.hasSavedSession()) void engine.start();
    },
    close: () =>
      (closed ??= (async () => {
        await sender.stop();
        await engine.stop();
        // After the engine: its last status change is recorded; before the store: queued events commit into it.
        await events.stop();
        // Last: flushes queued engine events into the file before closing it.
        store.close();
        unlock();
      })()),
  };
}
