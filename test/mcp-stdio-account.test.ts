// --stdio --account: the real CLI serves one account over stdio and refuses an unknown one.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { structured } from './helpers/mcp.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-mcp-stdio-account-'));
  // Two sandbox accounts besides default, as POST /api/accounts would have listed them.
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const accounts = ['work', 'shop'].map((id) => ({ id, engine: 'sandbox', created_at: 1_700_000_000_000 }));
  fs.writeFileSync(path.join(dir, 'data', 'accounts.json'), JSON.stringify({ version: 1, accounts }));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  WHATSAPP_ENGINE: 'sandbox',
  WHATSAPP_AUTH_DIR: path.join(dir, 'auth'),
  WHATSAPP_DATA_DIR: path.join(dir, 'data'),
  ...extra,
});

it('serves the account --account names (its own auth dir), not the default', async () => {
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', 'src/cli.ts', '--stdio', '--account', 'work'], cwd: ROOT, env: env({ LOG_LEVEL: 'info' }), stderr: 'pipe' });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const client = new Client({ name: 'stdio-account-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const status = structured(await client.callTool({ name: 'whatsapp_status', arguments: {} }));
    expect(status).toMatchObject({ engine: 'sandbox', auth_dir: path.join(dir, 'auth', 'work') });
    const log = stderr.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; account?: string; part?: string });
    expect(log).toContainEqual(expect.objectContaining({ msg: 'serving MCP on stdio', account: 'work' }));
  } finally {
    await client.close();
  }
});

it('an unknown --account is refused at start with its name, and a malformed one as a usage error', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--stdio', ...args], { cwd: ROOT, env: env() });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
      child.stdin.end();
    });
  const unknown = await run(['--account', 'nope']);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain('No account "nope"');
  const bad = await run(['--account', 'Not_Valid']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--account|WHATSAPP_STDIO_ACCOUNT/);
});
