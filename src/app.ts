// Composition root: config → engine → services → HTTP server. Used by the CLI and by every end-to-end test.
import type http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { type Config, refuseOpenBind } from './config.js';
import { accountMcpDoors } from './accounts/mcp-doors.js';
import { AccountRegistry } from './accounts/registry.js';
import { DEFAULT_ACCOUNT } from './accounts/layout.js';
import { type SharedParts, buildAccountRuntime, lockAccountDirs } from './accounts/runtime.js';
import type { Engine } from './engine/engine.js';
import type { EventServiceDeps } from './events/event-service.js';
import type { EventStreamOptions } from './http/events-stream.js';
import { Metrics } from './http/metrics.js';
import { createHttpServer, type HttpTimeouts, type McpDoor } from './http/server.js';
import { observeToolCalls } from './mcp/tools.js';
import type { Logger } from './logger.js';
import type { Services } from './operations/index.js';
import type { MessageStore } from './store/message-store.js';
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
  /** Start only this account (stdio); absent: every account (HTTP). */
  startOnly?: string;
}

/**
 * Everything but the listening socket: shared by HTTP and stdio modes. The answer is the default account's runtime;
 * its `start` and `close` are the server's (every account, then the shared parts), so callers that know one account
 * keep working. The other accounts are in `services.accounts`.
 */
export async function createServices(config: Readonly<Config>, deps: AppDeps): Promise<Services> {
  // The default account's directories are the server's: their lock keeps a second server off this data dir.
  const unlockDefault = lockAccountDirs(config);
  const undo: Array<() => void | Promise<void>> = [unlockDefault];
  try {
    // Keys and the audit trail are server-wide (one file beside the default account's store), read by the `keys` CLI too.
    const access = openAccessDb(path.join(config.dataDir, ACCESS_DB_FILE));
    undo.push(() => void access.close());
    const keys = new KeyService(access);
    const audit = new AuditService(access, { bodies: config.auditBodies, retentionDays: config.auditRetentionDays, logger: deps.logger.child({ part: 'audit' }) });
    undo.push(() => audit.stop());
    const accounts = new AccountRegistry(config, deps.logger);
    const shared: SharedParts = { config, logger: deps.logger, keys, audit, accounts };
    accounts.setFactory(async (id, accountCfg) => {
      const unlock = lockAccountDirs(accountCfg);
      try {
        return await buildAccountRuntime(id, accountCfg, shared, deps.events ? { events: deps.events } : {}, unlock);
      } catch (err) {
        unlock();
        throw err;
      }
    });
    const services = await buildAccountRuntime(DEFAULT_ACCOUNT, config, shared, deps, () => undefined);
    undo.push(() => services.close());
    accounts.addDefault(services);
    undo.push(() => accounts.closeOthers());
    await accounts.restore();
    const closeDefault = services.close;
    const startDefault = services.start;
    services.close = async () => {
      await accounts.closeOthers();
      await closeDefault();
      // After the senders: a queued send's last outcome gets its audit row.
      audit.stop();
      access.close();
      unlockDefault();
    };
    services.start = () => {
      // stdio serves one account: only that one is started (a wwebjs account would otherwise launch its browser).
      if (deps.startOnly === undefined) {
        startDefault();
        accounts.startOthers();
      } else if (deps.startOnly === DEFAULT_ACCOUNT) startDefault();
      else accounts.require(deps.startOnly).start();
      audit.start();
    };
    return services;
  } catch (err) {
    for (const step of undo.reverse()) await step();
    throw err;
  }
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
  const mcp = deps.mcp ? accountMcpDoors(services, deps.mcp, deps.logger) : undefined;
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
