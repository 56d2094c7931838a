// Start the real server (sandbox engine, temp dirs, port 0) the way the CLI does, for end-to-end tests of any door.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import type { SandboxEngine } from '../../src/engine/sandbox.js';
import type { McpDoor } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { createMcpDoor } from '../../src/mcp/http.js';
import type { Services } from '../../src/operations/index.js';

export interface TestServer {
  app: App;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  authDir: string;
  dataDir: string;
  /** The sandbox engine (tests run it unless they inject another). */
  sandbox: SandboxEngine;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** The MCP door to mount; defaults to the production one, false for none. */
  mcp?: ((services: Services) => McpDoor) | false;
  engine?: Engine;
}

/** Env defaults: sandbox engine linking fast, fresh temp dirs, a free port. `env` overrides any of them. */
export async function startTestServer(env: Record<string, string> = {}, opts: TestServerOptions = {}): Promise<TestServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-mcp-test-'));
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
  const logger = silentLogger();
  const mcp = opts.mcp === false ? undefined : (opts.mcp ?? ((services: Services) => createMcpDoor(services, logger)));
  const app = await startApp(config, { logger, ...(mcp ? { mcp } : {}), ...(opts.engine ? { engine: opts.engine } : {}) });
  return {
    app,
    url: app.url,
    authDir: config.authDir,
    dataDir: config.dataDir,
    sandbox: app.services.engine as SandboxEngine,
    close: async () => {
      await app.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
