// The /qr page: says WhatsApp is starting while it starts, and after failed starts tries again on a growing back-off
// instead of relaunching Chromium on every 5 s refresh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineStatus } from '../src/domain.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { renderQrPage } from '../src/http/qr-page.js';
import { silentLogger } from '../src/logger.js';
import { startTestServer, type TestServer } from './helpers/server.js';

function sandboxOptions() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-qr-'));
  return { dir, opts: { config: { authDir: path.join(dir, 'auth'), sandboxLinkDelayMs: 60_000, headless: true }, logger: silentLogger() } };
}

/** Like wwebjs waiting for the previous browser to close: the state stays `stopped` a moment after start(). */
class SlowStartEngine extends SandboxEngine {
  override async start(): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
    return super.start();
  }
}

/** Every start fails (as when Chromium cannot launch) until `failing` is turned off; counts the starts. */
class FlakyEngine extends SandboxEngine {
  starts = 0;
  failing = true;
  private broken = false;
  override async start(): Promise<void> {
    this.starts++;
    this.broken = this.failing;
    if (!this.failing) return super.start();
    this.events.emit('status', this.status());
  }
  override status(): EngineStatus {
    const s = super.status();
    return this.broken ? { ...s, state: 'error', ready: false, last_error: 'Failed to launch the browser process!' } : s;
  }
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('/qr', () => {
  it('says "Starting WhatsApp…" on the first load, not "stopped"', async () => {
    const { dir, opts } = sandboxOptions();
    srv = await startTestServer({}, { engine: new SlowStartEngine(opts) }, dir);
    const first = (await srv.call('GET', '/qr')).json as string;
    expect(first).toContain('Starting WhatsApp…');
    expect(first).not.toContain('<b>stopped</b>');
    expect(first).toContain('<meta http-equiv="refresh" content="5">');
  });

  it('with the sandbox too: starting first, then the QR', async () => {
    srv = await startTestServer();
    const first = (await srv.call('GET', '/qr')).json as string;
    expect(first).toContain('Starting WhatsApp…');
    expect(first).not.toContain('<b>stopped</b>');
    expect((await srv.call('GET', '/qr')).json).toContain('Scan to link');
  });

  it('a saved session that is ready at once shows as linked on the first load', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    const dir = srv.dir;
    await srv.close();
    srv = await startTestServer({}, {}, dir);
    await srv.sandbox.stop(); // the boot reconnect already ran: make this page the one that starts it
    expect((await srv.call('GET', '/qr')).json).toContain('<h1>Linked</h1>');
  });

  it('in the error state does not start again on every refresh: it says when it will, with the last error', async () => {
    const { dir, opts } = sandboxOptions();
    const engine = new FlakyEngine(opts);
    srv = await startTestServer({}, { engine }, dir);
    await srv.call('GET', '/qr');
    expect(engine.starts).toBe(1);
    const pages: string[] = [];
    for (let i = 0; i < 4; i++) pages.push((await srv.call('GET', '/qr')).json as string);
    expect(engine.starts).toBe(1);
    expect(pages.at(-1)).toContain('WhatsApp could not start');
    expect(pages.at(-1)).toContain('Last error: Failed to launch the browser process!');
    expect(pages.at(-1)).toMatch(/Trying again in [1-5] s/);
  });

  it('backs off 5 s, 10 s, 20 s … up to 5 min between starts, and starts over after a start that worked', async () => {
    const { opts } = sandboxOptions();
    const engine = new FlakyEngine(opts);
    let t = 1_000_000;
    const now = () => t;
    const load = async (at: number) => {
      t = at;
      return renderQrPage(engine, { now });
    };
    // Each start is followed by a pause twice the last; loads inside it start nothing.
    let at = 1_000_000;
    const pauses = [5, 10, 20, 40, 80, 160, 300, 300].map((s) => s * 1000);
    for (const [i, pause] of pauses.entries()) {
      await load(at);
      expect(engine.starts, `start ${i + 1}`).toBe(i + 1);
      const page = await load(at + pause - 1);
      expect(engine.starts, `no start inside pause ${i + 1}`).toBe(i + 1);
      expect(page).toContain('Trying again in 1 s');
      at += pause;
    }

    // A start that works (a QR shows) resets the back-off: the next failure waits 5 s again.
    engine.failing = false;
    expect(await load(at)).toContain('Starting WhatsApp…');
    expect(await load(at)).toContain('Scan to link');
    await engine.stop();
    engine.failing = true;
    const starts = engine.starts;
    await load(at + 1);
    expect(engine.starts).toBe(starts + 1);
    expect(await load(at + 1 + 4_999)).toContain('Trying again in 1 s');
    await load(at + 1 + 5_000);
    expect(engine.starts).toBe(starts + 2);
  });
});
