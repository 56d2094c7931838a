// MCP over stdin/stdout, dual-era (SDK v2 serveStdio): the opening message decides, per the spec's Backward
// Compatibility rules: `initialize` pins a 2024-11-05 … 2025-11-25 session, a request carrying the 2026-07-28 _meta
// envelope (a `server/discover` probe, say) a modern one. stdout carries only JSON-RPC: the logger writes to fd 2.
import { Transform } from 'node:stream';
import { StdioServerTransport, serveStdio as serveMcpStdio } from '@modelcontextprotocol/server/stdio';
import { DEFAULT_ACCOUNT } from '../accounts/layout.js';
import { createServices } from '../app.js';
import type { Config } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/index.js';
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
  const stdout = (deps.stdout ?? process.stdout) as NodeJS.WritableStream;
  const services = await createServices(config, { logger, startOnly: config.stdioAccount, ...(deps.engine ? { engine: deps.engine } : {}) });
  let runtime: Services;
  try {
    runtime = config.stdioAccount === DEFAULT_ACCOUNT ? services : services.accounts.require(config.stdioAccount);
  } catch (err) {
    await services.close();
    throw err;
  }
  const transport = new StdioServerTransport(stdin.pipe(rejectNonJsonRpc(stdout, logger)), stdout as typeof process.stdout);

  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  let closing: Promise<string> | null = null;
  const close = (reason: string): Promise<string> => {
    // Assigned before any work: closing the handle fires onclose, which calls close() again.
    if (closing) return closing;
    let done!: (r: string) => void;
    closing = new Promise<string>((resolve) => (done = resolve));
    logger.info({ reason }, 'mcp stdio session ending');
    void (async () => {
      await handle.close().catch((err: unknown) => logger.warn({ err }, 'closing the mcp server failed'));
      await services.close().catch((err: unknown) => logger.warn({ err }, 'stopping the engine failed'));
      resolveClosed(reason);
      done(reason);
    })();
    return closing;
  };

  const handle = serveMcpStdio(
    (ctx) => {
      const server = createMcpServer(runtime, { transport: 'stdio', era: ctx.era });
      const releaseSession = server.server.onclose;
      server.server.onclose = () => {
        releaseSession?.();
        void close('transport closed');
      };
      return server;
    },
    { transport, onerror: (err) => logger.warn({ err: err.message }, 'mcp stdio error') },
  );
  // The client ends the session by closing our stdin (the MCP stdio spec's shutdown), whether or not a session was
  // ever opened: without this the engine (and its browser) would outlive the client.
  stdin.once('end', () => void close('stdin closed'));
  stdin.once('close', () => void close('stdin closed'));
  services.start();
  logger.info({ account: runtime.account, engine: runtime.engine.name }, 'serving MCP on stdio');
  return { closed, close };
}

/**
 * JSON-RPC answers a line it cannot read (-32700) or that is not a JSON-RPC message (-32600), with id null, and the
 * session goes on. SDK v2's stdio reader skips such lines silently, so they are answered here, before it.
 */
function rejectNonJsonRpc(stdout: NodeJS.WritableStream, logger: Logger): Transform {
  let rest = '';
  const answer = (code: number, message: string) => stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } })}\n`);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      const keep: string[] = [];
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '');
        if (line.trim() === '') continue;
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          logger.warn('mcp stdio received a line that is not JSON');
          answer(-32700, 'Parse error: each line must be one JSON-RPC message');
          continue;
        }
        if (!msg || typeof msg !== 'object' || Array.isArray(msg) || (msg as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
          logger.warn('mcp stdio received a line that is not JSON-RPC');
          answer(-32600, 'Invalid Request: not a JSON-RPC 2.0 message');
          continue;
        }
        keep.push(line);
      }
      done(null, keep.length > 0 ? `${keep.join('\n')}\n` : undefined);
    },
  });
}
