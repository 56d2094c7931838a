// --account on the command line: link, status and send on an added account's routes (the real CLI in a child
// process against a real server with sandbox accounts), and --account refused where it would be ignored.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const { WHATSAPP_URL: _u, WHATSAPP_API_KEY: _k, WHATSAPP_MCP_HOST: _h, WHATSAPP_MCP_PORT: _p, WHATSAPP_STDIO_ACCOUNT: _a, ...baseEnv } = process.env;

interface Run {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const runs: ChildProcess[] = [];
function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  runs.push(child);
  return { child, out, done };
}
const run = (args: string[]) => cli(args, { WHATSAPP_URL: srv!.url }).done;

let srv: TestServer | undefined;
afterEach(async () => {
  for (const child of runs.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await srv?.close();
  srv = undefined;
});

describe('link, status and send --account', () => {
  it('status names the account and its state; the default account is not what it reads', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/accounts', { id: 'work' });
    await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550107777' });
    const work = await run(['status', '--account', 'work']);
    expect(work.code, work.stderr).toBe(0);
    expect(work.stdout).toMatch(/Account id: +work/);
    expect(work.stdout).toContain('(15550107777@c.us)');
    const plain = await run(['status']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/Account: +not linked/);
    expect(plain.stdout).not.toContain('Account id');
  });

  it('status of a never-linked account tells to link it, with --account in the command to run', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/accounts', { id: 'idle' });
    const r = await run(['status', '--account=idle']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Not linked: run `whatsapp-mcp-api link --account idle` (QR code)');
  });

  it('link --phone links the account named, not the default one', async () => {
    srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '200' });
    await srv.call('POST', '/api/accounts', { id: 'idle' });
    const r = await run(['link', '--account', 'idle', '--phone', '+1 555 010 4444']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Pairing code: [A-Z0-9]{8}/);
    expect(r.stdout).toMatch(/Linked as Sandbox User \(15550104444@c\.us\)/);
    expect((await srv.call('GET', '/api/accounts/idle/status')).json).toMatchObject({ ready: true, account: { wid: '15550104444@c.us' } });
    expect((await srv.call('GET', '/api/status')).json.ready).toBe(false);
  });

  it('send goes out from the account named; a not-ready one answers with hints on its own routes', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/accounts', { id: 'work' });
    await srv.call('POST', '/api/accounts', { id: 'idle' });
    await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550107777' });
    const sent = await run(['send', '--account', 'work', '+1 555 010 2030', 'hello from work']);
    expect(sent.code, sent.stderr).toBe(0);
    const id = sent.stdout.trim();
    const { json } = await srv.call('GET', '/api/accounts/work/chats/15550102030@c.us/messages');
    expect(json.messages.map((m: { id: string }) => m.id)).toContain(id);

    const idle = await run(['send', '--account', 'idle', '15550102030', 'hi']);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toContain('(not_ready, HTTP 503)');
    expect(idle.stderr).toContain('POST /api/accounts/idle/pairing-code');
  });

  it('an unknown account is the server\'s 404; an id no account can have is a usage error (exit 2)', async () => {
    srv = await startTestServer();
    const unknown = await run(['status', '--account', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No account "nope" (not_found, HTTP 404)');
    for (const bad of ['Work', 'media', 'a/b']) {
      const r = await run(['send', '--account', bad, '15550102030', 'hi']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`Invalid --account ${JSON.stringify(bad)}`);
    }
  });

  it('--help lists --account', async () => {
    for (const c of ['link', 'status', 'send']) {
      const r = await cli([c, '--help']).done;
      expect(r.stdout).toMatch(/--account <id> +The account to work on/);
    }
  });
});

describe('--account on a server start', () => {
  const serverEnv = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-cli-acct-'));
    return { WHATSAPP_MCP_HOST: '127.0.0.1', WHATSAPP_MCP_PORT: '0', WHATSAPP_ENGINE: 'sandbox', WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data') };
  };

  it.each([[['--account', 'work']], [['--account=work', '--engine', 'sandbox']]])('without --stdio is a usage error (exit 2) saying what it is for: %j', async (args) => {
    const start = cli(args, serverEnv());
    // A server that started instead would never exit: stop waiting once it says it listens.
    await waitFor(() => start.child.exitCode !== null || /listening on http/.test(start.out.stdout + start.out.stderr), 'an exit or a listening server', 20_000);
    const r = await start.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--account selects the account MCP serves with --stdio');
  }, 30_000);

  it('WHATSAPP_STDIO_ACCOUNT alone does not keep the HTTP server from starting (a compose file may set it for stdio)', async () => {
    const start = cli([], { ...serverEnv(), WHATSAPP_STDIO_ACCOUNT: 'work', LOG_LEVEL: 'info' });
    await waitFor(() => start.child.exitCode !== null || /listening on http/.test(start.out.stdout + start.out.stderr), 'a listening server', 20_000);
    expect(start.child.exitCode).toBe(null);
  }, 30_000);
});
