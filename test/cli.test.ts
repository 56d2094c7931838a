// The client commands as a user runs them: the real CLI in a child process against a real server (sandbox engine).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';
import { afterEach, describe, expect, it } from 'vitest';
import { OPTIONS } from '../src/config.js';
import type { EngineStatus } from '../src/domain.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { Terminal } from '../src/cli/terminal.js';
import { silentLogger } from '../src/logger.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

// The user's own settings must not leak in: each test says where the server is and which key it wants.
const { WHATSAPP_URL: _u, WHATSAPP_API_KEY: _k, WHATSAPP_MCP_HOST: _h, WHATSAPP_MCP_PORT: _p, ...baseEnv } = process.env;

function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err })),
  );
  runs.push(child);
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Run against `srv` (WHATSAPP_URL) and wait for the exit. */
function run(args: string[], env: Record<string, string> = {}) {
  return cli(args, { WHATSAPP_URL: srv!.url, ...env }).done;
}

let srv: TestServer | undefined;
const runs: ChildProcess[] = [];
afterEach(async () => {
  for (const child of runs.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await srv?.close();
  srv = undefined;
});

async function lastEvent(type: string): Promise<any> {
  const { events } = (await srv!.call('GET', `/api/events?after=0&limit=500&types=${type}`)).json;
  return events.at(-1) ?? null;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A sandbox whose start always fails, the way a missing or crashing Chromium makes wwebjs fail. */
class BrokenEngine extends SandboxEngine {
  private broken = false;
  override async start(): Promise<void> {
    this.broken = true;
    this.events.emit('status', this.status());
  }
  override status(): EngineStatus {
    const s = super.status();
    return this.broken ? { ...s, state: 'error', ready: false, last_error: 'Failed to launch the browser process: no usable sandbox' } : s;
  }
}

describe('whatsapp-mcp-api link', () => {
  it('--phone prints the pairing code with the instructions and exits 0 once the phone has entered it', async () => {
    srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '300' });
    const r = await run(['link', '--phone', '+1 555 010 2030']);
    expect(r.code, r.stderr).toBe(0);
    const code = r.stdout.match(/Pairing code: ([A-Z0-9]{8})/)?.[1];
    expect(code).toBe((await lastEvent('auth.pairing_code')).data.code);
    expect(r.stdout).toMatch(/Link with phone number instead/);
    expect(r.stdout).toMatch(/Linked as Sandbox User \(15550102030@c\.us\)/);
    expect((await srv.call('GET', '/api/status')).json).toMatchObject({ ready: true, account: { wid: '15550102030@c.us' } });
  });

  it.each([['stopped', false], ['already showing a QR', true]])('prints the QR code in the terminal and exits 0 once the phone has scanned it (engine %s)', async (_name, preStarted) => {
    srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '100' });
    if (preStarted) {
      await srv.call('POST', '/api/auth/start');
      await waitFor(async () => (await srv!.call('GET', '/api/status')).json.has_qr, 'a QR before the command');
    }
    const link = cli(['link'], { WHATSAPP_URL: srv.url });
    await waitFor(() => link.stdout().includes('Linked devices'), 'the QR in the terminal', 10_000);
    const qr = (await lastEvent('auth.qr')).data.qr as string;
    // What the terminal shows is the engine's current QR, drawn for a terminal.
    expect(link.stdout()).toContain(await QRCode.toString(qr, { type: 'terminal', small: true }));
    expect(link.stderr()).toMatch(/Sandbox engine: .*\/api\/sandbox\/link/);
    // The simulated phone scans the QR once someone has been shown it.
    expect(srv.sandbox.currentQr()).toBe(qr);
    const r = await link.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Linked as Sandbox User \(15550009999@c\.us\)/);
  });

  it('says so and exits 0 when already linked', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    const r = await run(['link']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Already linked as Sandbox User/);
  });

  it('gives up after --timeout with a non-zero exit and the state', async () => {
    srv = await startTestServer();
    const started = Date.now();
    const r = await run(['link', '--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Timed out after 1 s: WhatsApp is not linked yet \(state: qr\)/);
    expect(r.stderr).toMatch(/--timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('fails with the engine\'s last_error when WhatsApp cannot start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-cli-'));
    const engine = new BrokenEngine({ config: { authDir: path.join(dir, 'auth'), sandboxLinkDelayMs: 0, headless: true }, logger: silentLogger() });
    srv = await startTestServer({}, { engine }, dir);
    const r = await run(['link']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Linking failed \(state: error\): Failed to launch the browser process: no usable sandbox/);
  });

  it('stops cleanly on Ctrl-C', async () => {
    srv = await startTestServer();
    const link = cli(['link'], { WHATSAPP_URL: srv.url });
    await waitFor(() => link.stdout().includes('Linked devices'), 'the QR in the terminal', 10_000);
    link.child.kill('SIGINT');
    const r = await link.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Cancelled/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });
});

describe('the terminal', () => {
  it('redraws a new QR over the old one on a terminal, and prints it below elsewhere', () => {
    const writes = (tty: boolean) => {
      const out: string[] = [];
      const term = new Terminal({ write: (t: string) => out.push(t), isTTY: tty }, { write: () => true, isTTY: tty });
      term.block('line 1\nline 2\n');
      term.block('new 1\nnew 2\n');
      term.error('something else');
      term.block('third\n');
      return out;
    };
    expect(writes(true)).toEqual(['line 1\nline 2\n', '\x1b[2A\x1b[J', 'new 1\nnew 2\n', 'third\n']);
    expect(writes(false)).toEqual(['line 1\nline 2\n', 'new 1\nnew 2\n', 'third\n']);
  });
});

describe('whatsapp-mcp-api status', () => {
  it('exits 1 while not linked and 0 once ready, printing state, account and last error', async () => {
    srv = await startTestServer();
    const before = await run(['status']);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/State:\s+stopped/);
    expect(before.stdout).toMatch(/Account:\s+not linked/);
    expect(before.stdout).toMatch(/Last error:\s+none/);
    expect(before.stdout).toMatch(/whatsapp-mcp-api link/);

    await srv.call('POST', '/api/sandbox/link', {});
    const after = await run(['status']);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/State:\s+ready/);
    expect(after.stdout).toMatch(/Account:\s+Sandbox User \(15550009999@c\.us\)/);

    const json = await run(['status', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual((await srv.call('GET', '/api/status')).json);
  });
});

describe('whatsapp-mcp-api send', () => {
  it('prints the message id, and the message is in the chat', async () => {
    srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
    await srv.call('POST', '/api/sandbox/link', {});
    const r = await run(['send', '+1 555 000 1001', 'Build', '42', 'passed']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const { messages } = (await srv.call('GET', '/api/messages?phone_number=15550001001&limit=5')).json;
    expect(messages.find((m: { id: string }) => m.id === id)).toMatchObject({ body: 'Build 42 passed', from_me: true });

    // A group goes by its chat id; --json prints the raw answer.
    const g = await run(['send', '120363000000000002@g.us', 'Deploy finished', '--json']);
    expect(g.code, g.stderr).toBe(0);
    const answer = JSON.parse(g.stdout);
    expect(answer).toMatchObject({ ok: true, status: 'sent', chat_id: '120363000000000002@g.us' });
    const history = (await srv.call('GET', '/api/chats/120363000000000002@g.us/messages?limit=5')).json;
    expect(history.messages.map((m: { id: string }) => m.id)).toContain(answer.message_id);
  });

  it('exits non-zero with the server\'s message and hint', async () => {
    srv = await startTestServer();
    const r = await run(['send', '15550001001', 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(not_ready, HTTP 503\)/);
    expect(r.stderr).toMatch(/Hint: Link WhatsApp first/);
    const json = await run(['send', '15550001001', 'hello', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'not_ready' } });
  });

  it('refuses a missing text or a recipient that is no number nor chat id as usage errors (exit 2)', async () => {
    srv = await startTestServer();
    const [noText, bad] = await Promise.all([run(['send', '15550001001']), run(['send', 'alice', 'hello'])]);
    expect(noText.code).toBe(2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a phone number .* nor a chat id/);
  });
});

describe('reaching the server', () => {
  const key = 'k'.repeat(24);

  it('a wrong or missing API key is a clear non-zero exit; the right one works', async () => {
    srv = await startTestServer({ WHATSAPP_API_KEY: key });
    const [wrong, missing, right] = await Promise.all([run(['status', '--api-key', 'not-the-key-at-all-0000']), run(['link']), run(['status'], { WHATSAPP_API_KEY: key })]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the API key .*WHATSAPP_API_KEY/);
    // A stored key (keys add) is as good as the server's own: the message must not say only the latter.
    expect(wrong.stderr).toMatch(/stored key/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/needs an API key .*WHATSAPP_API_KEY or pass --api-key/);
    expect(right.stdout).toMatch(/State:\s+stopped/);
  });

  it('with no server running says so, and how to start one', async () => {
    const port = await closedPort();
    const commands = [['link'], ['status'], ['send', '15550001001', 'hi']];
    const results = await Promise.all(commands.map((command) => cli(command, { WHATSAPP_URL: `http://127.0.0.1:${port}` }).done));
    for (const [i, r] of results.entries()) {
      expect(r.code, commands[i]![0]).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`No whatsapp-mcp-api server is running at http://127\\.0\\.0\\.1:${port}`));
      expect(r.stderr).toMatch(/npm start/);
      expect(r.stderr).toMatch(/WHATSAPP_ENGINE=sandbox/);
    }
  });

  it('finds the server from WHATSAPP_MCP_HOST / WHATSAPP_MCP_PORT when no URL is given', async () => {
    srv = await startTestServer();
    const port = new URL(srv.url).port;
    const r = await cli(['status'], { WHATSAPP_MCP_PORT: port }).done;
    expect(r.stdout).toContain(`Server:       http://127.0.0.1:${port}`);
  });
});

describe('help', () => {
  it('--help lists the commands and still every server option', async () => {
    const r = await cli(['--help']).done;
    expect(r.code).toBe(0);
    for (const c of ['link [--phone <number>]', 'status', 'send <number or chat id> <text...>']) expect(r.stdout).toContain(`whatsapp-mcp-api ${c}`);
    for (const o of OPTIONS) {
      expect(r.stdout).toContain(o.flag);
      expect(r.stdout).toContain(o.env);
    }
  });

  it.each([
    ['link', ['--phone <number>', '--timeout <seconds>', '--url <url>', '--api-key <key>', '--json']],
    ['status', ['exit', '--url <url>', '--json']],
    ['send', ['<number or chat id> <text...>', '--queue', '--json']],
  ])('%s --help says what it does and its options', async (command, expected) => {
    const [r, viaHelp] = await Promise.all([cli([command, '--help']).done, cli(['help', command]).done]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: whatsapp-mcp-api ${command}`));
    for (const e of expected) expect(r.stdout).toContain(e);
    expect(viaHelp.stdout).toBe(r.stdout);
  });

  it('an unknown option or command is a usage error (exit 2)', async () => {
    const [r, c] = await Promise.all([cli(['link', '--phnoe', '123']).done, cli(['lnk']).done]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option --phnoe for "link"/);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/unknown command "lnk"/);
  });
});
