// MCP per account: /accounts/{id}/mcp is an MCP door of its own (its sessions, its tools) on that account's runtime,
// built the first time it is asked for; /mcp (and the legacy /sse, /messages) stay the default account's. Only
// Streamable HTTP per account: the legacy SSE transport names its message endpoint itself (/messages).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpDoor } from '../http/server.js';
import { sendError } from '../http/respond.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/operation.js';
import { DEFAULT_ACCOUNT, unknownAccount } from './layout.js';

const ACCOUNT_MCP = /^\/accounts\/([^/]+)\/mcp\/?$/;

export function accountMcpDoors(services: Services, make: (runtime: Services) => McpDoor, logger: Logger): McpDoor {
  const main = make(services);
  const doors = new Map<string, McpDoor>();
  // A removed account's sessions end with it.
  services.accounts.onRemoved((id) => {
    const door = doors.get(id);
    doors.delete(id);
    void door?.close().catch((err: unknown) => logger.warn({ err, account: id }, 'closing an account’s mcp door failed'));
  });

  return {
    handles: (pathname) => main.handles(pathname) || ACCOUNT_MCP.test(pathname),
    async handle(req: IncomingMessage, res: ServerResponse, url: URL) {
      const m = ACCOUNT_MCP.exec(url.pathname);
      if (!m) return main.handle(req, res, url);
      const id = safeDecode(m[1]!);
      // The door below routes by its own path.
      const inner = new URL(url);
      inner.pathname = '/mcp';
      if (id === DEFAULT_ACCOUNT) return main.handle(req, res, inner);
      const runtime = services.accounts.get(id);
      if (!runtime) return sendError(res, unknownAccount(id), logger);
      let door = doors.get(id);
      if (!door) doors.set(id, (door = make(runtime)));
      return door.handle(req, res, inner);
    },
    async close() {
      const all = [main, ...doors.values()];
      doors.clear();
      await Promise.allSettled(all.map((d) => d.close()));
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // names no account: answered 404 below
  }
}
