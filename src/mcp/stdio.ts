// MCP over stdin/stdout. stdout carries only JSON-RPC: the logger writes to fd 2 and nothing here prints.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createServices } from '../app.js';
import type { Config } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { createMcpServer } from './server.js';

export interface StdioDeps {
  logger: Logger;
  engine?: Engine;
  stdin?: NodeJS.ReadableStream & { pause(): unknown };
  stdout?: NodeJS.WritableStream;
}

export interface StdioSession {
  /** Resolves after the engine stopped; the reason says what ended the session. */
  closed: Promise<string>;
  close(reason: string): Promise<string>;
}

export async function serveStdio(config: Readonly<Config>, deps: StdioDeps): Promise<StdioSession> {
  const { logger } = deps;
  const stdin = deps.stdin ?? process.stdin;
  const services = await createServices(config, { logger, ...(deps.engine ? { engine: deps.engine } : {}) });
  const server = createMcpServer(services, { transport: 'stdio' });
  const transport = new StdioServerTransport(stdin as typeof process.stdin, (deps.stdout ?? process.stdout) as typeof process.stdout);

  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  let closing: Promise<string> | null = null;
  const close = (reason: string): Promise<string> => {
    // Assigned before any work: server.close() fires onclose synchronously, which calls close() again.
    if (closing) return closing;
    let done!: (r: string) => void;
    closing = new Promise<string>((resolve) => (done = resolve));
    logger.info({ reason }, 'mcp stdio session ending');
    void (async () => {
      await server.close().catch((err: unknown) => logger.warn({ err }, 'closing the mcp server failed'));
      await services.close().catch((err: unknown) => logger.warn({ err }, 'stopping the engine failed'));
      resolveClosed(reason);
      done(reason);
    })();
    return closing;
  };

  // The client ends the session by closing our stdin (the MCP stdio spec's shutdown); the SDK transport does not
  // watch for that, so without this the engine (and its browser) would outlive the client.
  stdin.once('end', () => void close('stdin closed'));
  stdin.once('close', () => void close('stdin closed'));
  const releaseSession = server.server.onclose;
  server.server.onclose = () => {
    releaseSession?.();
    void close('transport closed');
  };
  transport.onerror = (err) => {
    logger.warn({ err: err.message }, 'mcp stdio received a message it could not parse');
    // JSON-RPC answers a line it cannot read (-32700) or that is not a request (-32600), with id null; the SDK's
    // transport only reports it to us.
    const code = err instanceof SyntaxError ? -32700 : err.name === 'ZodError' ? -32600 : null;
    if (code === null) return;
    const message = code === -32700 ? 'Parse error: each line must be one JSON-RPC message' : 'Invalid Request: not a JSON-RPC 2.0 message';
    transport.send({ jsonrpc: '2.0', id: null, error: { code, message } } as never).catch(() => undefined);
  };
  await server.connect(transport);
  services.start();
  logger.info({ engine: config.engine }, 'serving MCP on stdio');
  return { closed, close };
}
