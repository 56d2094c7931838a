// What a first run meets outside the API: a port already taken, and blank env values in the client commands.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { resolveTarget } from '../src/cli/client.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

it('a port in use says which option picks another', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => taken.close(() => resolve())));
  const { port } = taken.address() as net.AddressInfo;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-port-'));
  const { WHATSAPP_API_KEY: _k, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts'], {
    env: { ...env, WHATSAPP_MCP_HOST: '127.0.0.1', WHATSAPP_MCP_PORT: String(port), WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('failed to start: listen EADDRINUSE');
  expect(r.stderr).toContain('--port <n> or WHATSAPP_MCP_PORT=<n>');
}, 40_000);

it('the client commands read blank (whitespace) env values as unset, like the server', () => {
  expect(resolveTarget({ WHATSAPP_MCP_HOST: ' ', WHATSAPP_MCP_PORT: '  ', WHATSAPP_API_KEY: '   ', WHATSAPP_URL: ' ' }, {})).toEqual({ url: 'http://127.0.0.1:8790', apiKey: undefined });
});
