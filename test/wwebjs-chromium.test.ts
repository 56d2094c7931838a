// The real engine, the real whatsapp-web.js and a real Chromium. web.whatsapp.com is unreachable from the
// machines this runs on, so what is proven is the browser's lifecycle: it starts, the failure is reported
// cleanly, and no Chromium survives stop().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.js';
import { findBrowser } from '../src/engine/browser.js';
import { createWwebjsEngine } from '../src/engine/wwebjs.js';
import { silentLogger } from '../src/logger.js';

const browser = findBrowser(process.env.WHATSAPP_CHROME_EXECUTABLE);
const skip = !browser.ok && !process.env.CI;
if (skip) console.warn(`wwebjs-chromium tests skipped: ${browser.ok ? '' : browser.reason}`);

/** Pids whose command line mentions this profile directory (the browser and all its helpers). */
function processesUsing(profileDir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(`--user-data-dir=${profileDir}`)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('wwebjs engine with real Chromium (WhatsApp Web unreachable)', () => {
  let engine: Engine | null = null;
  let authDir = '';

  afterEach(async () => {
    await engine?.stop();
    // Whatever happened above, no browser may outlive the test.
    for (const pid of authDir ? processesUsing(path.join(authDir, 'session-default')) : []) process.kill(pid, 'SIGKILL');
    if (authDir) fs.rmSync(authDir, { recursive: true, force: true });
  });

  function makeEngine(): { engine: Engine; profileDir: string } {
    expect(browser.ok, browser.ok ? '' : `CI is set and no browser was found: ${browser.reason}`).toBe(true);
    authDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-chromium-'));
    engine = createWwebjsEngine({
      config: { authDir, chromeExecutable: process.env.WHATSAPP_CHROME_EXECUTABLE, headless: true, readyTimeoutSeconds: 120 },
      logger: silentLogger(),
      startTimeoutMs: 60_000,
    });
    return { engine, profileDir: path.join(authDir, 'session-default') };
  }

  it('launches Chromium, reports the unreachable page cleanly, and leaves no process after stop()', async () => {
    const { engine, profileDir } = makeEngine();
    const states = new Set<string>();
    engine.events.on('status', (s) => states.add(s.state));
    let sawBrowser = false;
    const started = engine.start();
    const watching = waitFor(() => (sawBrowser ||= processesUsing(profileDir).length > 0), 60_000, 'a Chromium process with our profile');
    await started;
    await watching.catch(() => undefined);

    expect(sawBrowser).toBe(true);
    expect(states.has('starting')).toBe(true);
    const s = engine.status();
    expect(['error', 'disconnected']).toContain(s.state);
    expect(s.last_error).toMatch(/\S/);
    expect(s.chrome_executable).toBe(browser.ok ? browser.path : null);

    await engine.stop();
    await waitFor(() => processesUsing(profileDir).length === 0, 10_000, 'Chromium to exit');
    expect(engine.status().state).toBe('stopped');
  }, 90_000);

  it('closes the browser when stop() comes while WhatsApp Web is still loading', async () => {
    const { engine, profileDir } = makeEngine();
    const started = engine.start();
    await waitFor(() => processesUsing(profileDir).length > 0, 60_000, 'a Chromium process with our profile');
    await engine.stop();
    await started;
    await waitFor(() => processesUsing(profileDir).length === 0, 10_000, 'Chromium to exit');
    expect(engine.status()).toMatchObject({ state: 'stopped', last_error: null });
    // The abandoned initialize settles later; it must not bring the state back or reopen a browser.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(engine.status().state).toBe('stopped');
    expect(processesUsing(profileDir)).toEqual([]);
  }, 90_000);
});

describe.skipIf(skip)('the server with the wwebjs engine and real Chromium', () => {
  it('keeps answering while the browser fails, and no Chromium survives SIGTERM', async () => {
    expect(browser.ok, browser.ok ? '' : `CI is set and no browser was found: ${browser.reason}`).toBe(true);
    const { spawn } = await import('node:child_process');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-server-'));
    const profileDir = path.join(root, 'auth', 'session-default');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0'], {
      env: { ...process.env, WHATSAPP_ENGINE: 'wwebjs', WHATSAPP_AUTH_DIR: path.join(root, 'auth'), WHATSAPP_DATA_DIR: path.join(root, 'data'), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let log = '';
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      await waitFor(() => /"url":"http/.test(log), 20_000, 'the server to listen');
      const url = /"url":"([^"]+)"/.exec(log)![1]!;
      const started = await (await fetch(`${url}/api/auth/start`, { method: 'POST' })).json();
      expect(started.engine).toBe('wwebjs');
      await waitFor(() => processesUsing(profileDir).length > 0, 30_000, 'Chromium to start');
      let status: { state: string; last_error: string | null } = { state: '', last_error: null };
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        status = await (await fetch(`${url}/api/status`)).json();
        if (status.state === 'error' || status.state === 'disconnected') break;
      }
      expect(['error', 'disconnected']).toContain(status.state);
      expect(status.last_error).toBeTruthy();
      // Start again so a browser is up at the moment the signal lands.
      await fetch(`${url}/api/auth/start`, { method: 'POST' });
      await waitFor(() => processesUsing(profileDir).length > 0, 30_000, 'Chromium to start again');
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await waitFor(() => processesUsing(profileDir).length === 0, 10_000, 'every Chromium process to exit after SIGTERM');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of processesUsing(profileDir)) process.kill(pid, 'SIGKILL');
    }
  }, 120_000);
});
