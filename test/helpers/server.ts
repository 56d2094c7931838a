// Start the real server on port 0 with the sandbox engine and throwaway directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type App, type AppDeps, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';

export interface TestServer {
  app: App;
  url: string;
  dir: string;
  /** fetch relative to the server, JSON-decoding the body. */
  call(method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any }>;
  close(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, deps: Partial<AppDeps> = {}, dir?: string): Promise<TestServer> {
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-test-'));
  const config = loadConfig({
    WHATSAPP_MCP_PORT: '0',
    WHATSAPP_ENGINE: 'sandbox',
    WHATSAPP_AUTH_DIR: path.join(root, 'auth'),
    WHATSAPP_DATA_DIR: path.join(root, 'data'),
    WHATSAPP_SANDBOX_LINK_DELAY_MS: '50',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await startApp(config, { logger: silentLogger(), ...deps });
  return {
    app,
    url: app.url,
    dir: root,
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
