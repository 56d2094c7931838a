// MCP per account: /accounts/{id}/mcp, /accounts/{id}/sse and /accounts/{id}/messages are an MCP door of their own
// (its sessions, its tools) on that account's runtime, built the first time it is asked for; /mcp, /sse and
// /messages stay the default account's. The door below routes by its own paths (/mcp, /sse, /messages) and announces
// the account's (its legacy SSE endpoint event names /accounts/{id}/messages: accountBasePath).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpDoor, McpRequestUrl } from '../http/server.js';
import { sendError } from '../http/respond.js';
import { principalOf } from '../http/security.js';
import { admitToAccount } from '../operations/access.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/operation.js';
import { DEFAULT_ACCOUNT, unknownAccount } from './layout.js';

const ACCOUNT_MCP = /^\/accounts\/([^/]+)\/(mcp|sse|messages)\/?$/;

/** The prefix of an account's own doors and pages: '' for the default account (its paths are the unprefixed ones). */
export function accountBasePath(account: string): string {
  return account === DEFAULT_ACCOUNT ? '' : `/accounts/${encodeURIComponent(account)}`;
}

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
    // A metrics label: the template, never the id.
    routeOf: (pathname) => {
      if (main.handles(pathname)) return pathname;
      const m = ACCOUNT_MCP.exec(pathname);
      return m ? `/accounts/{account}/${m[2]}` : pathname;
    },
    // Not async: the default account's requests (most of them) reach its door with no promise of this layer's own.
    handle(req: IncomingMessage, res: ServerResponse, url: McpRequestUrl): Promise<void> {
      try {
        const m = main.handles(url.pathname) ? null : ACCOUNT_MCP.exec(url.pathname);
        // Before a lookup or a session: a key limited to other accounts learns nothing of them (a JSON 403, audited).
        admitToAccount(principalOf(req), m ? safeDecode(m[1]!) : DEFAULT_ACCOUNT, 'mcp', services.audit);
        if (!m) return main.handle(req, res, url);
        const id = safeDecode(m[1]!);
        const inner: McpRequestUrl = { pathname: `/${m[2]}`, get searchParams() { return url.searchParams; } };
        if (id === DEFAULT_ACCOUNT) return main.handle(req, res, inner);
        const runtime = services.accounts.get(id);
        if (!runtime) return Promise.resolve(sendError(res, unknownAccount(id), logger));
        let door = doors.get(id);
        if (!door) doors.set(id, (door = make(runtime)));
        return door.handle(req, res, inner);
      } catch (err) {
        return Promise.reject(err);
      }
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
