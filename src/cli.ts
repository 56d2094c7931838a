#!/usr/bin/env node
// Entry point: a client command (link, status, send: src/cli/commands.ts) talks to a running server; otherwise flags
// and env → Config, then serve HTTP (default) or MCP over stdio.
import { ConfigError, flagsToEnv, helpText, loadConfig } from './config.js';
import { COMMANDS, type CommandSpec, commandHelp, commandsHelp, findCommand, runCommand } from './cli/commands.js';

async function main(argv: string[]): Promise<void> {
  const command = findCommand(argv[0]);
  if (command) return runClientCommand(command, argv.slice(1));
  if (argv[0] === 'help') {
    const about = findCommand(argv[1]);
    process.stdout.write(about ? commandHelp(about) : topHelp());
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(topHelp());
    return;
  }
  if (argv[0] !== undefined && !argv[0].startsWith('-')) {
    process.stderr.write(`whatsapp-mcp-api: unknown command ${JSON.stringify(argv[0])} (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see --help)\n`);
    process.exit(2);
  }
  // The HTTP server serves every account: --account there would be silently ignored. WHATSAPP_STDIO_ACCOUNT alone is
  // (a compose file may set it for its stdio runs and still start the server with the same environment).
  if (!argv.includes('--stdio') && argv.some((a) => a === '--account' || a.startsWith('--account='))) {
    process.stderr.write(
      'whatsapp-mcp-api: --account selects the account MCP serves with --stdio (whatsapp-mcp-api --stdio --account <id>), or the one ' +
        'link, status and send work on (whatsapp-mcp-api status --account <id>); the HTTP server serves every account at /api/accounts/<id>/... and /accounts/<id>/mcp.\n',
    );
    process.exit(2);
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
  // Loaded here, not above: the client commands must not pay for the server (SQLite, Chromium's driver) at start.
  const [{ createLogger }, { startApp }, { createMcpDoor }, { serveStdio }] = await Promise.all([
    import('./logger.js'),
    import('./app.js'),
    import('./mcp/http.js'),
    import('./mcp/stdio.js'),
  ]);
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

/** The server's help (every option) with the client commands listed after its usage lines. */
function topHelp(): string {
  const base = helpText();
  const at = base.indexOf('\nOptions');
  return at === -1 ? `${base}\n${commandsHelp()}` : `${base.slice(0, at)}\n${commandsHelp()}${base.slice(at)}`;
}

async function runClientCommand(command: CommandSpec, argv: string[]): Promise<void> {
  const controller = new AbortController();
  // Ctrl-C (or a kill) ends the wait cleanly: the command prints why and exits, no stack trace.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  const code = await runCommand(command, argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
  // Exit once what was written has gone out; an idle keep-alive socket must not hold the exit back.
  process.stderr.write('', () => process.stdout.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A port in use is the usual first-run clash (a second copy, another program): say which knob moves it.
  const hint = (err as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE' ? ' (another program, or another whatsapp-mcp-api, has that port: pick another with --port <n> or WHATSAPP_MCP_PORT=<n>)' : '';
  process.stderr.write(`whatsapp-mcp-api: failed to start: ${err instanceof Error ? err.message : String(err)}${hint}\n`);
  process.exit(1);
});
