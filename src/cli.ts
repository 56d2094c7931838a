#!/usr/bin/env node
// Entry point: flags and env → Config, then serve HTTP (default) or MCP over stdio.
import { ConfigError, flagsToEnv, helpText, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startApp } from './app.js';
import { createMcpDoor } from './mcp/http.js';
import { serveStdio } from './mcp/stdio.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  let config;
  try {
    config = loadConfig(process.env, flagsToEnv(argv.filter((a) => a !== '--stdio')));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`whatsapp-mcp-api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // A stuck engine must not keep the process alive forever.
  const exitSoon = () => setTimeout(() => process.exit(1), 10_000).unref();

  if (argv.includes('--stdio')) {
    const session = await serveStdio(config, { logger });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        exitSoon();
        void session.close(signal);
      });
    }
    await session.closed;
    // pino writes asynchronously; flush so the last lines (why we stopped) reach stderr before exit.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(0);
  }

  const app = await startApp(config, { logger, mcp: (services) => createMcpDoor(services, logger) });
  logger.info({ url: app.url, engine: config.engine }, `listening on ${app.url} (REST ${app.url}/api, MCP ${app.url}/mcp)`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    exitSoon();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`whatsapp-mcp-api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
