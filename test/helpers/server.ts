// Start the real server (sandbox engine, temp dirs, port 0) the way the CLI does, for end-to-end tests of any door.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type App, type AppDeps, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { SandboxEngine } from '../../src/engine/sandbox.js';
import type { McpDoor } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { createMcpDoor } from '../../src/mcp/http.js';
import type { Services } from '../../src/operations/index.js';

export interface TestServer {
  app: App;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Root of this server's temp dirs (auth/ and data/ inside); pass it again to restart on the same state. */
  dir: string;
  authDir: string;
  dataDir: string;
  /** The sandbox engine (tests run it unless they inject another). */
  sandbox: SandboxEngine;
  /** fetch relative to the server, JSON-decoding the body when it is JSON. */
  call(method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any }>;
  close(): Promise<void>;
}

export interface TestServerOptions extends Partial<Omit<AppDeps, 'mcp'>> {
  /** The MCP door to mount; defaults to the production one, false for none. */
  mcp?: ((services: Services) => McpDoor) | false;
}

/** Env defaults: sandbox engine linking fast, fresh temp dirs, a free port. `env` overrides any of them. */
export async function startTestServer(env: Record<string, string> = {}, opts: TestServerOptions = {}, dir?: string): Promise<TestServer> {
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-test-'));
  const config = loadConfig({
    WHATSAPP_MCP_HOST: '127.0.0.1',
    WHATSAPP_MCP_PORT: '0',
    WHATSAPP_ENGINE: 'sandbox',
    WHATSAPP_SANDBOX_LINK_DELAY_MS: '50',
    WHATSAPP_AUTH_DIR: path.join(root, 'auth'),
    WHATSAPP_DATA_DIR: path.join(root, 'data'),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const logger = opts.logger ?? silentLogger();
  const mcp = opts.mcp === false ? undefined : (opts.mcp ?? ((services: Services) => createMcpDoor(services, logger)));
  const app = await startApp(config, { ...opts, logger, ...(mcp ? { mcp } : {}) } as AppDeps);
  return {
    app,
    url: app.url,
    dir: root,
    authDir: config.authDir,
    dataDir: config.dataDir,
    sandbox: app.services.engine as SandboxEngine,
    async call(method, pathAndQuery, body, headers = {}) {
      const res = await fetch(app.url + pathAndQuery, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // non-JSON bodies (the /qr page) stay text
      }
      return { status: res.status, headers: res.headers, json };
    },
    close: () => app.close(),
  };
}

/** Resolve when `check` returns truthy; polls because the sandbox links on a timer. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
