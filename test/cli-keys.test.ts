// `whatsapp-mcp-api keys add | list | revoke` on a data directory, as a user runs it: the real CLI in a child process
// (with a running server beside it), and the command's rules in-process for the many refusals.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCommand, runCommand } from '../src/cli/commands.js';
import { SCOPE_DESCRIPTIONS } from '../src/cli/keys.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const { WHATSAPP_DATA_DIR: _d, WHATSAPP_API_KEY: _k, ...baseEnv } = process.env;
let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The keys command in this process, with captured output. */
async function keys(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(findCommand('keys')!, [...args, '--data-dir', dataDir], {
    stdout: { write: (s: string) => ((stdout += s), true) } as never,
    stderr: { write: (s: string) => ((stderr += s), true) } as never,
    env: {},
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wa-keys-'));

describe('keys add, list, revoke against a running server', () => {
  it('adds a key the server accepts at once, lists it without the key, and revokes it without a restart', async () => {
    srv = await startTestServer();
    const env = { WHATSAPP_DATA_DIR: srv.dataDir };
    const added = await cli(['keys', 'add', '--name', 'assistant', '--scopes', 'read,send', '--chats', '+44 7700 900001,120363000000000001@g.us', '--rate', '30'], env);
    expect(added.code, added.stderr).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^wak_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$/);
    expect(added.stderr).toContain('only time the key is shown');
    expect((await srv.call('GET', '/api/status')).status).toBe(401);
    expect((await srv.call('GET', '/api/status', undefined, { authorization: `Bearer ${key}` })).status).toBe(200);

    const listed = await cli(['keys', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('assistant  scopes read,send  chats 447700900001@c.us,120363000000000001@g.us  rate 30/min');
    expect(listed.stdout).not.toContain(key.slice(-32));
    expect(listed.stdout).not.toMatch(/wak_/);

    // Another key stays: revoking the last one would open a loopback server again, as before the first.
    const admin = JSON.parse((await keys(['add', '--name', 'owner', '--scopes', 'admin', '--json'], srv.dataDir)).stdout).key as string;
    const revoked = await cli(['keys', 'revoke', 'assistant'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await srv.call('GET', '/api/status', undefined, { authorization: `Bearer ${key}` })).status).toBe(401);
    // The key changes are in the audit trail, made on the machine.
    const audit = await srv.call('GET', '/api/audit', undefined, { authorization: `Bearer ${admin}` });
    expect(audit.json.entries.map((e: { door: string; operation: string }) => `${e.door} ${e.operation}`)).toEqual(['cli keys_create', 'cli keys_create', 'cli keys_revoke']);
    expect(audit.json.entries.map((e: { target: string | null }) => e.target)).toEqual(['assistant', 'owner', 'assistant']);
  });

  it('keys --help says what it does', async () => {
    const help = await keys(['--help'], tmp());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: whatsapp-mcp-api keys add --name <name> --scopes <list>');
    expect(help.stdout).toContain('--data-dir <dir>');
    expect(help.stdout).not.toContain('--api-key');
    // The same scope list as README's "Keys with scopes", word for word.
    const readme = fs.readFileSync('README.md', 'utf8').replace(/`/g, '').replace(/\s+/g, ' ');
    for (const [scope, what] of Object.entries(SCOPE_DESCRIPTIONS)) {
      expect(readme, scope).toContain(`${scope} (${what})`);
      expect(help.stdout.replace(/\s+/g, ' '), scope).toContain(`${scope} ${what}`);
    }
  });
});

describe('keys refusals', () => {
  it('names an unknown scope, refuses a duplicate or malformed name, and an unknown subcommand', async () => {
    const dir = tmp();
    const unknown = await keys(['add', '--name', 'a', '--scopes', 'read,write'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown scope "write"');
    expect((await keys(['add', '--name', 'a', '--scopes', 'read'], dir)).code).toBe(0);
    const dup = await keys(['add', '--name', 'a', '--scopes', 'send'], dir);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('A key named "a" exists already');
    expect((await keys(['add', '--name', 'Has Space', '--scopes', 'read'], dir)).code).toBe(2);
    expect((await keys(['add', '--name', 'env', '--scopes', 'read'], dir)).stderr).toContain('reserved');
    expect((await keys(['add', '--name', 'b', '--scopes', 'read', '--chats', 'not-a-number'], dir)).stderr).toContain('"not-a-number"');
    expect((await keys(['add', '--name', 'b', '--scopes', 'read', '--rate', 'fast'], dir)).code).toBe(2);
    expect((await keys(['remove', 'a'], dir)).code).toBe(2);
    const gone = await keys(['revoke', 'nobody'], dir);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no key named "nobody"');
    const list = await keys(['list', '--json'], dir);
    expect(JSON.parse(list.stdout).keys.map((k: { name: string }) => k.name)).toEqual(['a']);
    expect(fs.statSync(path.join(dir, 'access.db')).mode & 0o777).toBe(0o600);
  });
});
