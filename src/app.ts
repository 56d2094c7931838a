// Composition root: config → engine → services → HTTP server. Used by the CLI and by every end-to-end test.
import type http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { type Config, refuseOpenBind } from './config.js';
import { SendService } from './service/send-service.js';
import { RecipientPolicy, storeRecipientFacts } from './service/recipient-policy.js';
import { RateLimiter } from './service/rate-limiter.js';
import { OutboxStore } from './store/outbox-store.js';
import { createEngine } from './engine/create-engine.js';
import type { Engine } from './engine/engine.js';
import { EventService, type EventServiceDeps } from './events/event-service.js';
import { recordOutboxOutcome } from './events/recorder.js';
import { ensurePrivateDir } from './fs-private.js';
import { acquireDirLock } from './instance-lock.js';
import type { EventStreamOptions } from './http/events-stream.js';
import { Metrics } from './http/metrics.js';
import { createHttpServer, type HttpTimeouts, type McpDoor } from './http/server.js';
import { observeToolCalls } from './mcp/tools.js';
import type { Logger } from './logger.js';
import type { Services } from './operations/index.js';
import { DB_FILE_NAME, openDatabase } from './store/db.js';
import { connectStoreToEngine } from './store/ingest.js';
import { MediaService } from './service/media-service.js';
import { MediaStore } from './store/media-store.js';
import { MessageStore } from './store/message-store.js';
import { ACCESS_DB_FILE, openAccessDb } from './store/access-db.js';
import { AuditService } from './service/audit.js';
import { KeyService } from './service/keys.js';

export interface App {
  server: http.Server;
  services: Services;
  /** Base URL, e.g. http://127.0.0.1:8790 */
  url: string;
  close(): Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  /** Tests inject an engine; production builds the configured one. */
  engine?: Engine;
  mcp?: (services: Services) => McpDoor;
  timeouts?: Partial<HttpTimeouts>;
  /** Tests inject a store (e.g. over ':memory:'); production opens <dataDir>/whatsapp.db. */
  store?: MessageStore;
  /** Tests shorten the SSE heartbeat. */
  eventStream?: EventStreamOptions;
  /** Tests shrink webhook backoff, inject the webhook HTTP client or a clock. */
  events?: EventServiceDeps;
}

/** Everything but the listening socket: shared by HTTP and stdio modes. */
export async function createServices(config: Readonly<Config>, deps: AppDeps): Promise<Services> {
  ensurePrivateDir(config.dataDir);
  ensurePrivateDir(config.authDir);
  const unlocks = [...new Set([config.dataDir, config.authDir])].map((dir) => acquireDirLock(dir));
  const unlock = () => unlocks.forEach((release) => release());
  try {
    return await buildServices(config, deps, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function buildServices(config: Readonly<Config>, deps: AppDeps, unlock: () => void): Promise<Services> {
  const engine = deps.engine ?? (await createEngine(config, deps.logger));
  const storeLog = deps.logger.child({ part: 'store' });
  const store =
    deps.store ??
    new MessageStore(openDatabase(path.join(config.dataDir, DB_FILE_NAME)), (err) =>
      storeLog.error({ err: err instanceof Error ? err.message : String(err) }, 'store write failed'),
    );
  connectStoreToEngine(store, engine, storeLog);
  const events = new EventService(store.db, config, deps.logger.child({ part: 'events' }), deps.events);
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
  // Keys and the audit trail are server-wide (one file beside the account's store), read by the `keys` CLI too.
  const access = openAccessDb(path.join(config.dataDir, ACCESS_DB_FILE));
  const keys = new KeyService(access);
  const audit = new AuditService(access, { bodies: config.auditBodies, retentionDays: config.auditRetentionDays, logger: deps.logger.child({ part: 'audit' }) });
  const sender = new SendService({
    engine,
    outbox: new OutboxStore(store.db),
    media: files,
    storedHistory: (chatId, limit) => store.lastMessages(chatId, limit),
    limiter: new RateLimiter({ globalPerMinute: config.rateGlobalPerMinute, recipientPerMinute: config.rateRecipientPerMinute }),
    logger: deps.logger.child({ part: 'sender' }),
    jitterMs: config.sendJitterMs,
    typingIndicator: config.typingIndicator,
    queueMaxAgeMs: config.queueMaxAgeSeconds * 1000,
    recipients: new RecipientPolicy({ allow: config.sendAllow, confirmNew: config.confirmNewRecipients, facts: storeRecipientFacts(store) }),
    onOutcome: (outcome) => {
      recordOutboxOutcome(events.log, outcome);
      audit.outboxOutcome(outcome);
    },
  });
  const services: Services = {
    engine,
    config,
    logger: deps.logger,
    store,
    media,
    sender,
    events,
    keys,
    audit,
    close: async () => {
      await sender.stop();
      await engine.stop();
      // After the engine: its last status change is recorded; before the store: queued events commit into it.
      await events.stop();
      // Last: flushes queued engine events into the file before closing it.
      store.close();
      // After the sender: a queued send's last outcome gets its audit row.
      audit.stop();
      access.close();
      unlock();
    },
    start: () => {
      // A saved session reconnects by itself: nobody should have to call /api/auth/start after a restart.
      if (engine.hasSavedSession()) void engine.start();
      audit.start();
    },
  };
  engine.events.on('status', (s) => deps.logger.info({ state: s.state, last_error: s.last_error ?? undefined }, 'whatsapp state'));
  return services;
}

export async function startApp(config: Readonly<Config>, deps: AppDeps): Promise<App> {
  const services = await createServices(config, deps);
  try {
    // Here, not in loadConfig: stored keys are in access.db, open only now.
    refuseOpenBind(config, services.keys.hasKeys);
  } catch (err) {
    await services.close();
    throw err;
  }
  const mcp = deps.mcp?.(services);
  const metrics = new Metrics(services);
  observeToolCalls(services, metrics.toolCall);
  const server = createHttpServer({ services, logger: deps.logger, metrics, ...(mcp ? { mcp } : {}), ...(deps.timeouts ? { timeouts: deps.timeouts } : {}), ...(deps.eventStream ? { eventStream: deps.eventStream } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (err: unknown) => {
    await services.close();
    throw err;
  });
  // Only once the port is ours: a second instance that cannot bind must not have started a browser first.
  services.start();
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | null = null;
  return {
    server,
    services,
    url: `http://${host}:${port}`,
    close: () =>
      (closing ??= (async () => {
        await mcp?.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        metrics.close();
        await services.close();
      })()),
  };
}
