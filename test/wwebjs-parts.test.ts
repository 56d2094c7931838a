// The wwebjs engine's small parts: browser detection, reconnect delays, library-object mapping, its config row.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagsToEnv, loadConfig } from '../src/config.js';
import { plainExtras } from '../src/domain.js';
import { Backoff, backoffDelay } from '../src/engine/backoff.js';
import { browserArgs, findBrowser, type BrowserProbe } from '../src/engine/browser.js';
import { toAccount, toAckState, toChat, toMessage } from '../src/engine/wwebjs-map.js';
import { hasSavedSession, markSession } from '../src/engine/wwebjs-session.js';
import { FakeWhatsApp } from './fakes/fake-wwebjs-client.js';

function probe(executables: string[], opts: Partial<BrowserProbe> = {}): BrowserProbe {
  const set = new Set(executables);
  return {
    env: { PATH: '/usr/local/bin:/usr/bin' },
    platform: 'linux',
    homedir: '/home/u',
    isExecutable: (f) => set.has(f),
    listDir: () => [],
    ...opts,
  };
}

describe('browser detection', () => {
  it('prefers the configured executable, and says how to fix a wrong one', () => {
    expect(findBrowser('/opt/chrome', probe(['/opt/chrome', '/usr/bin/chromium']))).toEqual({ ok: true, path: '/opt/chrome', source: 'config' });
    const bad = findBrowser('/nope/chrome', probe(['/usr/bin/chromium']));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toContain('WHATSAPP_CHROME_EXECUTABLE=/nope/chrome');
  });

  it('searches PATH by name before the well-known paths', () => {
    expect(findBrowser(undefined, probe(['/usr/local/bin/google-chrome', '/usr/bin/chromium']))).toMatchObject({ path: '/usr/bin/chromium' });
    expect(findBrowser(undefined, probe(['/usr/local/bin/google-chrome']))).toMatchObject({ path: '/usr/local/bin/google-chrome' });
    expect(findBrowser(undefined, probe(['/snap/bin/chromium'], { env: {} }))).toMatchObject({ path: '/snap/bin/chromium', source: 'system' });
    const mac = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
    expect(findBrowser(undefined, probe([mac], { env: {}, platform: 'darwin' }))).toMatchObject({ path: mac });
  });

  it("falls back to the newest browser puppeteer downloaded, else explains what to install", () => {
    const cache = '/home/u/.cache/puppeteer/chrome';
    const p = probe([`${cache}/linux-131.0.6778.85/chrome-linux64/chrome`, `${cache}/linux-99.0.1/chrome-linux64/chrome`], {
      env: {},
      listDir: (d) => (d === cache ? ['linux-99.0.1', 'linux-131.0.6778.85'] : []),
    });
    expect(findBrowser(undefined, p)).toEqual({ ok: true, path: `${cache}/linux-131.0.6778.85/chrome-linux64/chrome`, source: 'puppeteer' });
    const none = findBrowser(undefined, probe([]));
    expect(none).toEqual({ ok: false, reason: expect.stringContaining('apt-get install chromium, or set WHATSAPP_CHROME_EXECUTABLE') });
  });

  it('adds --no-sandbox only for root', () => {
    expect(browserArgs({ isRoot: false })).not.toContain('--no-sandbox');
    expect(browserArgs({ isRoot: true })).toContain('--no-sandbox');
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially between half and all of a capped ceiling', () => {
    const opts = { baseMs: 1000, maxMs: 10_000 };
    expect([0, 1, 2, 3, 4, 10, 100].map((a) => backoffDelay(a, { ...opts, random: () => 0 }))).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, { ...opts, random: () => 0.999999 }))).toEqual([1000, 2000, 4000, 8000, 10_000]);
  });

  it('counts attempts until reset', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([50, 100, 200]);
    b.reset();
    expect(b.next()).toBe(50);
  });
});

describe('library objects to domain types', () => {
  const world = new FakeWhatsApp();

  it('maps a message, tolerating id objects where strings are usual', () => {
    const lib = world.message('15550100001@c.us', 'hi', false);
    expect(toMessage(lib)).toEqual({
      id: lib.id._serialized,
      chat_id: '15550100001@c.us',
      from: '15550100001@c.us',
      to: world.self,
      author: null,
      from_me: false,
      type: 'chat',
      body: 'hi',
      timestamp: lib.timestamp,
      has_media: false,
      ack: 'sent',
      ...plainExtras(),
    });
    const objectIds = { ...lib, from: { _serialized: 'x@c.us' }, id: { ...lib.id, remote: { _serialized: 'x@c.us' } }, body: undefined };
    expect(toMessage(objectIds)).toMatchObject({ from: 'x@c.us', chat_id: 'x@c.us', body: '' });
    expect(toMessage({ body: 'no id' })).toBeNull();
    expect(toMessage(null)).toBeNull();
  });

  it('maps every MessageAck constant', () => {
    expect([-1, 0, 1, 2, 3, 4, 5, undefined].map(toAckState)).toEqual(['error', 'pending', 'sent', 'delivered', 'read', 'played', null, null]);
  });

  it('maps a chat with its last message, and a marked-unread chat as unread', () => {
    const chat = world.chat('15550100002@c.us');
    chat.add(world.message('15550100002@c.us', 'last', true));
    chat.pinned = true;
    expect(toChat(chat)).toMatchObject({ id: '15550100002@c.us', is_group: false, pinned: true, unread_count: 0, last_message: { body: 'last', from_me: true } });
    chat.unreadCount = -1;
    expect(toChat(chat)?.unread_count).toBe(1);
    expect(toChat({ name: 'no id' })).toBeNull();
  });

  it('maps ClientInfo to an account', () => {
    expect(toAccount({ wid: { _serialized: '1555@c.us' }, pushname: 'Me', platform: 'iphone' })).toEqual({ wid: '1555@c.us', pushname: 'Me', platform: 'iphone' });
    expect(toAccount(undefined)).toBeNull();
  });
});

describe('saved session', () => {
  it('is what the marker says, or for older sessions whether WhatsApp Web stored data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-session-'));
    try {
      expect(hasSavedSession(dir)).toBe(false);
      fs.mkdirSync(path.join(dir, 'session-default', 'Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb'), { recursive: true });
      expect(hasSavedSession(dir)).toBe(true);
      markSession(dir, false, null);
      expect(hasSavedSession(dir)).toBe(false);
      markSession(dir, true, '1555@c.us');
      expect(hasSavedSession(dir)).toBe(true);
      expect(fs.statSync(path.join(dir, 'session-default')).mode & 0o777).toBe(0o700);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config', () => {
  it('reads WHATSAPP_READY_TIMEOUT_SECONDS and --ready-timeout, default 120', () => {
    expect(loadConfig({}).readyTimeoutSeconds).toBe(120);
    expect(loadConfig({ WHATSAPP_READY_TIMEOUT_SECONDS: '45' }).readyTimeoutSeconds).toBe(45);
    expect(loadConfig({}, flagsToEnv(['--ready-timeout', '300'])).readyTimeoutSeconds).toBe(300);
    expect(() => loadConfig({ WHATSAPP_READY_TIMEOUT_SECONDS: '1' })).toThrow(/WHATSAPP_READY_TIMEOUT_SECONDS/);
  });
});
