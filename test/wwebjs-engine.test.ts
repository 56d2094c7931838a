import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MediaKind, Message } from '../src/domain.js';
import type { Engine, EngineEvents } from '../src/engine/engine.js';
import { createWwebjsEngine, type WwebjsEngineOptions } from '../src/engine/wwebjs.js';
import { silentLogger } from '../src/logger.js';
import { engineContract, type Harness } from './engine-contract.js';
import { facetContracts } from './engine-facets-contract.js';
import { FakeWhatsApp, type FakeMediaType } from './fakes/fake-wwebjs-client.js';
import { startTestServer } from './helpers/server.js';

const FAKE_CHROME = '/opt/fake/chromium';
const ALICE = '15550100001@c.us';
const BOB = '15550100002@c.us';
const NOBODY = '15550100999@c.us';
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanups.splice(0)) await fn();
});

function setup(opts: Partial<WwebjsEngineOptions> & { readyTimeoutSeconds?: number } = {}) {
  const authDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-engine-'));
  const world = new FakeWhatsApp();
  const engine = createWwebjsEngine({
    config: { authDir, chromeExecutable: undefined, headless: true, readyTimeoutSeconds: opts.readyTimeoutSeconds ?? 30 },
    logger: silentLogger(),
    clientFactory: world.factory,
    locateBrowser: () => ({ ok: true, path: FAKE_CHROME, source: 'system' }),
    isRoot: false,
    // With random 0.5 each delay is 3/4 of its ceiling: 750, 1500, 3000, 6000, then capped at 6000.
    random: () => 0.5,
    reconnect: { baseMs: 1000, maxMs: 8000 },
    // The fake's clock, so WhatsApp's time windows (edits, revokes) hold against its message timestamps.
    now: world.nowMs,
    ...opts,
  });
  cleanups.push(async () => {
    await engine.stop();
    fs.rmSync(authDir, { recursive: true, force: true });
  });
  const states: string[] = [];
  engine.events.on('status', (s) => states.push(s.state));
  return { engine, world, authDir, states };
}

function record<K extends keyof EngineEvents>(engine: Engine, event: K): EngineEvents[K][0][] {
  const seen: EngineEvents[K][0][] = [];
  engine.events.on(event, ((...args: EngineEvents[K]) => seen.push(args[0])) as never);
  return seen;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const realSetTimeout = globalThis.setTimeout;
/** Waits in real time (file removal runs on libuv's thread pool), up to 2 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) {
    await new Promise((resolve) => realSetTimeout(resolve, 5));
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
  }
  expect(cond()).toBe(true);
}
const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });

async function linked(opts: Parameters<typeof setup>[0] = {}) {
  const ctx = setup(opts);
  await ctx.engine.start();
  ctx.world.last.link();
  return ctx;
}

export interface WwebjsHarness extends Harness {
  world: FakeWhatsApp;
  /** A contact sends a file; resolves to the message id. */
  inboundMedia(from: string, media: { data: Buffer; mimetype: string; filename: string | null; kind: MediaKind; caption?: string }): Promise<string>;
  /** Moves the fake WhatsApp clock (and so the engine's) forward. */
  advanceClock(seconds: number): void;
  /** We created it (superadmin); peers[0] and peers[1] are members. Same as `group`. */
  adminGroup: string;
  /** peers[2] created it; we and peers[0] are plain members; not restricted (members may change its info). */
  memberGroup: string;
  /** A phone chat id ending in 0000: not on WhatsApp (the sandbox's rule; any other number is on it here too). */
  notOnWhatsApp: string;
  /** A person known by linked id whose number WhatsApp reveals when asked (getContactLidAndPhone). */
  lidPeer: { lid: string; phone: string };
  /** Someone else changes a group's members; the library reports it as its group_join/leave/admin_changed event. */
  groupChange(groupId: string, change: 'add' | 'invite' | 'remove' | 'leave' | 'promote' | 'demote', by: string, participants: string[]): void;
}

const LIBRARY_TYPE: Record<MediaKind, FakeMediaType> = { image: 'image', video: 'video', audio: 'audio', voice: 'ptt', document: 'document', sticker: 'sticker' };

/** The engine over a fake Client, for the shared contract suites (engine-contract.ts). */
export async function wwebjsHarness(): Promise<WwebjsHarness> {
  const { engine, world } = setup();
  const peers = [ALICE, BOB, '15550100003@c.us'] as const;
  const adminGroup = '120363000000000077@g.us';
  const memberGroup = '120363000000000078@g.us';
  const lidPeer = { lid: '201234567890123@lid', phone: '15550100004' };
  world.people.openRegistration = true;
  world.people.addLid(lidPeer.lid, lidPeer.phone);
  world.addGroup(adminGroup, 'Harness admins', world.self, [peers[0], peers[1]]);
  world.addGroup(memberGroup, 'Harness members', peers[2], [world.self, peers[0]]);
  return {
    engine,
    world,
    peers,
    group: adminGroup,
    adminGroup,
    memberGroup,
    notOnWhatsApp: '15550190000@c.us',
    lidPeer,
    groupChange(groupId, change, by, participants) {
      world.group(groupId).external(change, by, participants);
    },
    async link() {
      await engine.start();
      world.last.link();
    },
    async inbound(from, body) {
      world.last.inbound(from, body);
    },
    async inboundMedia(from, media) {
      const { data, mimetype, filename, kind, caption } = media;
      const type = LIBRARY_TYPE[kind];
      return world.last.inboundMedia(from, { data, mimetype, type, ...(filename ? { filename } : {}), ...(caption ? { caption } : {}) }).id._serialized;
    },
    advanceClock(seconds) {
      world.advance(seconds);
    },
    async close() {
      await engine.stop();
    },
  };
}

engineContract('wwebjs (fake client)', wwebjsHarness);
facetContracts('wwebjs (fake client)', async () => {
  const h = await wwebjsHarness();
  const seen = new Map<string, Message>();
  h.engine.events.on('message', (m) => seen.set(m.id, m));
  return {
    ...h,
    inboundMedia: async (from, file) => {
      const id = await h.inboundMedia(from, file);
      await Promise.resolve();
      const m = seen.get(id);
      if (!m) throw new Error(`the engine did not report message ${id}`);
      return m;
    },
  };
});

describe('wwebjs contract harness', () => {
  it('delivers a contact\'s file that the media facet then downloads byte for byte', async () => {
    const h = await wwebjsHarness();
    cleanups.push(() => h.close());
    await h.link();
    const seen = record(h.engine, 'message');
    const data = Buffer.from([1, 2, 3, 0, 255]);
    const id = await h.inboundMedia(BOB, { data, mimetype: 'audio/ogg; codecs=opus', filename: null, kind: 'voice' });
    expect(seen).toMatchObject([{ id, from_me: false, chat_id: BOB, type: 'ptt', media: { kind: 'voice', size: 5 } }]);
    const down = await h.engine.media!.downloadMedia({ id, chat_id: BOB, from_me: false });
    expect(down?.data.equals(data)).toBe(true);
  });
});

describe('wwebjs engine: linking', () => {
  it('shows the QR from the library and launches the detected browser with quiet flags', async () => {
    const { engine, world, states } = setup();
    const qrs = record(engine, 'qr');
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'qr', has_qr: true, chrome_executable: FAKE_CHROME, headless: true });
    expect(engine.currentQr()).toMatch(/^2@fakeRef,/);
    expect(qrs).toEqual([engine.currentQr()]);
    expect(states).toEqual(['starting', 'qr']);
    const { puppeteer } = world.last.spec;
    expect(puppeteer).toMatchObject({ executablePath: FAKE_CHROME, headless: true, handleSIGINT: false });
    expect(puppeteer.args).toEqual(expect.arrayContaining(['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu']));
    expect(puppeteer.args).not.toContain('--no-sandbox');
    expect(world.last.spec.authDir).toBe(engine.status().auth_dir);
  });

  it('turns the sandbox off only when running as root', async () => {
    const { engine, world } = setup({ isRoot: true });
    await engine.start();
    expect(world.last.spec.puppeteer.args).toContain('--no-sandbox');
  });

  it('reports a missing browser as an error with the fix, without throwing', async () => {
    const { engine, world } = setup({ locateBrowser: () => ({ ok: false, reason: 'No Chromium or Chrome found; install chromium: apt-get install chromium, or set WHATSAPP_CHROME_EXECUTABLE' }) });
    await expect(engine.start()).resolves.toBeUndefined();
    expect(engine.status()).toMatchObject({ state: 'error', chrome_executable: null });
    expect(engine.status().last_error).toContain('apt-get install chromium');
    expect(world.clients).toHaveLength(0);
  });

  it('requests a pairing code, follows the 3-minute rotation, and keeps it over QR refreshes', async () => {
    const { engine, world } = setup();
    const codes = record(engine, 'pairing_code');
    await engine.start();
    await expect(engine.requestPairingCode('15550109999')).resolves.toBe('ABCD1234');
    expect(world.last.callsTo('requestPairingCode')).toEqual([['15550109999', true, 180_000]]);
    expect(engine.status()).toMatchObject({ state: 'pairing', pairing_code: 'ABCD1234', has_qr: false });
    world.last.emit('code', 'WXYZ5678');
    world.last.emit('qr', '2@rotated,ref');
    expect(engine.status()).toMatchObject({ state: 'pairing', pairing_code: 'WXYZ5678' });
    expect(codes).toEqual(['ABCD1234', 'WXYZ5678']);
  });

  it('starts a stopped engine for a pairing code and waits for the page the library needs', async () => {
    const { engine, world } = setup();
    await expect(engine.requestPairingCode('15550109999')).resolves.toBe('ABCD1234');
    expect(world.clients).toHaveLength(1);
    await expect(engine.requestPairingCode('12')).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('refuses a pairing code when already linked', async () => {
    const { engine } = await linked();
    await expect(engine.requestPairingCode('15550109999')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('is ready with the account from client.info', async () => {
    const { engine, states } = await linked();
    expect(engine.status()).toMatchObject({
      state: 'ready',
      ready: true,
      authenticated: true,
      last_error: null,
      account: { wid: '15550109999@c.us', pushname: 'Test Phone', platform: 'android' },
    });
    expect(states).toEqual(['starting', 'qr', 'authenticated', 'ready']);
    expect(engine.hasSavedSession()).toBe(true);
  });

  it('treats a session that needs a QR again as not saved', async () => {
    const { engine, world } = await linked();
    expect(engine.hasSavedSession()).toBe(true);
    await engine.stop();
    world.initQueue.push('qr');
    await engine.start();
    expect(engine.hasSavedSession()).toBe(false);
  });
});

describe('wwebjs engine: sending and reading', () => {
  it('checks the number first and reports not_on_whatsapp without sending', async () => {
    const { engine, world } = await linked();
    await expect(engine.sendText(NOBODY, 'hi')).rejects.toMatchObject({ code: 'not_on_whatsapp', httpStatus: 404 });
    expect(world.last.callsTo('getNumberId')).toEqual([['15550100999']]);
    expect(world.last.callsTo('sendMessage')).toEqual([]);
  });

  it('does not mark the chat as seen unless asked', async () => {
    const { engine, world } = await linked();
    await engine.sendText(ALICE, 'quiet');
    await engine.sendText(ALICE, 'seen', { markSeen: true });
    expect(world.last.callsTo('sendMessage')).toEqual([
      [ALICE, 'quiet', { sendSeen: false }],
      [ALICE, 'seen', { sendSeen: true }],
    ]);
  });

  it('shows typing in the chat and clears it', async () => {
    const { engine, world } = await linked();
    await engine.sendText(ALICE, 'make the chat exist');
    await engine.sendTyping!(ALICE, 5);
    expect(world.chats.get(ALICE)!.states).toEqual(['typing', 'cleared']);
  });

  it('throws not_ready at once while not linked, without touching the library', async () => {
    const { engine, world } = setup();
    await engine.start();
    await expect(engine.sendText(ALICE, 'hi')).rejects.toMatchObject({ code: 'not_ready', details: { state: 'qr' } });
    await expect(engine.chats!.listChats(5)).rejects.toMatchObject({ code: 'not_ready' });
    await expect(engine.chats!.fetchMessages(ALICE, 5)).rejects.toMatchObject({ code: 'not_ready' });
    expect(world.last.calls.map((c) => c.method)).toEqual(['initialize']);
  });

  it('returns null for a chat with a number that is not on WhatsApp', async () => {
    const { engine } = await linked();
    await expect(engine.chats!.getChat(NOBODY)).resolves.toBeNull();
    await expect(engine.chats!.fetchMessages(NOBODY, 5)).rejects.toMatchObject({ code: 'not_on_whatsapp' });
  });

  it('wraps library failures as engine_error', async () => {
    const { engine, world } = await linked();
    world.last.getChats = async () => {
      throw new Error('Execution context was destroyed');
    };
    await expect(engine.chats!.listChats(5)).rejects.toMatchObject({ code: 'engine_error', httpStatus: 502 });
  });
});

describe('wwebjs engine: events', () => {
  it('reports each message once: inbound (message_create + message), outbound, and typed on the phone', async () => {
    const { engine, world } = await linked();
    const seen: Message[] = record(engine, 'message');
    const inbound = world.last.inbound(ALICE, 'hi');
    const sent = await engine.sendText(BOB, 'yo');
    const fromPhone = world.message(BOB, 'typed on the phone', true);
    world.last.emit('message_create', fromPhone);
    expect(seen.map((m) => [m.id, m.from_me, m.chat_id])).toEqual([
      [inbound.id._serialized, false, ALICE],
      [sent.message_id, true, BOB],
      [fromPhone.id._serialized, true, BOB],
    ]);
    expect(seen[0]).toMatchObject({ from: ALICE, to: world.self, author: null, type: 'chat', body: 'hi', has_media: false, ack: 'sent' });
  });

  it('maps group messages to the group chat with the author', async () => {
    const { engine, world } = await linked();
    const seen = record(engine, 'message');
    const msg = world.message('120363041234567890@g.us', 'hello group', false);
    msg.author = ALICE;
    world.last.emit('message_create', msg);
    expect(seen[0]).toMatchObject({ chat_id: '120363041234567890@g.us', author: ALICE, from_me: false });
  });

  it('maps ack numbers, edits and deletes for everyone', async () => {
    const { engine, world } = await linked();
    const acks = record(engine, 'message_ack');
    const edits = record(engine, 'message_edit');
    const revokes = record(engine, 'message_revoke');
    const sent = await engine.sendText(ALICE, 'draft');
    const lib = world.chat(ALICE).messages.at(-1)!;
    for (const ack of [1, 2, 3, 4, -1]) world.last.emit('message_ack', { ...lib, ack }, ack);
    world.last.emit('message_edit', { ...lib, body: 'final' }, 'final', 'draft');
    world.last.emit('message_revoke_everyone', { ...lib, type: 'revoked', body: '' }, lib);
    const ref = { id: sent.message_id, chat_id: ALICE };
    expect(acks).toEqual(['sent', 'delivered', 'read', 'played', 'error'].map((ack) => ({ ...ref, ack })));
    expect(edits).toEqual([{ ...ref, body: 'final' }]);
    expect(revokes).toEqual([ref]);
  });

  it('ignores events from a client it has already replaced', async () => {
    const { engine, world } = await linked();
    const old = world.last;
    await engine.stop();
    await engine.start();
    const seen = record(engine, 'message');
    old.emit('ready');
    old.inbound(ALICE, 'ghost');
    expect(engine.status().state).toBe('qr');
    expect(seen).toEqual([]);
  });
});

describe('wwebjs engine: offline, and no browser', () => {
  const NO_BROWSER = 'No Chromium or Chrome found; install chromium: apt-get install chromium, or set WHATSAPP_CHROME_EXECUTABLE';

  it('says a browser is missing before anything starts the engine, and after a stop', async () => {
    const { engine, world } = setup({ locateBrowser: () => ({ ok: false, reason: NO_BROWSER }) });
    expect(engine.status()).toMatchObject({ state: 'stopped', chrome_executable: null, last_error: NO_BROWSER });
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'error', last_error: NO_BROWSER });
    await engine.stop();
    expect(engine.status()).toMatchObject({ state: 'stopped', last_error: NO_BROWSER });
    expect(world.clients).toHaveLength(0);
  });

  it('no last_error while stopped when the browser is there', () => {
    const { engine } = setup();
    expect(engine.status()).toMatchObject({ state: 'stopped', last_error: null, chrome_executable: FAKE_CHROME });
  });

  it.each([
    'net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/',
    'net::ERR_INTERNET_DISCONNECTED at https://web.whatsapp.com/',
    'net::ERR_CONNECTION_REFUSED at https://web.whatsapp.com/',
    'net::ERR_CONNECTION_TIMED_OUT at https://web.whatsapp.com/',
    'Navigation timeout of 30000 ms exceeded',
  ])('%s: last_error says this machine cannot reach WhatsApp Web, with the raw error', async (raw) => {
    const { engine, world } = setup();
    world.initQueue.push(new Error(raw));
    await engine.start();
    const { state, last_error } = engine.status();
    expect(state).toBe('error');
    expect(last_error).toMatch(/^This machine cannot reach WhatsApp Web \(https:\/\/web\.whatsapp\.com\): check its internet connection/);
    expect(last_error).toContain(raw);
  });

  it('a start that times out loading WhatsApp Web says the same', async () => {
    fakeTimers();
    const { engine, world } = setup({ startTimeoutMs: 5_000 });
    world.initQueue.push('hang');
    const started = engine.start();
    await vi.advanceTimersByTimeAsync(5_000);
    await started;
    expect(engine.status().last_error).toMatch(/^This machine cannot reach WhatsApp Web .*did not load within 5 s/);
  });

  it('another failure is not blamed on the network', async () => {
    const { engine, world } = setup();
    world.initQueue.push(new Error('Failed to launch the browser process!'));
    await engine.start();
    expect(engine.status().last_error).toBe('WhatsApp Web failed to load: Failed to launch the browser process!');
  });

  it('a pairing code asked for while offline is a 502 whose hint says how to retry, over HTTP too', async () => {
    const { engine, world } = setup();
    world.initQueue.push(new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/'), 'qr');
    const srv = await startTestServer({ WHATSAPP_ENGINE: 'wwebjs' }, { engine });
    cleanups.push(() => srv.close());
    const r = await srv.call('POST', '/api/pairing-code', { phone_number: '15550109999' });
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ code: 'engine_error', message: expect.stringContaining('cannot reach WhatsApp Web') });
    expect(r.json.error.hint).toMatch(/network.*POST \/api\/pairing-code/);
    // The network is back: the same request starts the browser anew and gets a code.
    const again = await srv.call('POST', '/api/pairing-code', { phone_number: '15550109999' });
    expect(again.status).toBe(200);
    expect(again.json.code).toBe('ABCD1234');
  });

  it('GET /api/status shows the missing browser before any start', async () => {
    const { engine } = setup({ locateBrowser: () => ({ ok: false, reason: NO_BROWSER }) });
    const srv = await startTestServer({ WHATSAPP_ENGINE: 'wwebjs' }, { engine });
    cleanups.push(() => srv.close());
    expect((await srv.call('GET', '/api/status')).json).toMatchObject({ state: 'stopped', chrome_executable: null, last_error: NO_BROWSER });
  });
});

describe('wwebjs engine: no wedge', () => {
  it('reports a failed initialize, closes the browser, and starts cleanly next time', async () => {
    const { engine, world } = setup();
    world.initQueue.push(new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/'));
    await expect(engine.start()).resolves.toBeUndefined();
    expect(engine.status()).toMatchObject({ state: 'error', ready: false });
    expect(engine.status().last_error).toContain('net::ERR_NAME_NOT_RESOLVED');
    expect(world.clients[0]!.destroyed).toBe(true);
    await settle();
    expect(world.clients).toHaveLength(1);
    await engine.start();
    expect(world.clients).toHaveLength(2);
    expect(engine.status()).toMatchObject({ state: 'qr', last_error: null });
  });

  it('keeps retrying, with backoff, a saved session whose first start fails (a reboot before the network is up)', async () => {
    const { engine, world } = await linked();
    await engine.stop();
    fakeTimers();
    const offline = new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/');
    world.initQueue.push(offline, offline, 'linked');
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'disconnected' });
    expect(engine.status().last_error).toContain('ERR_NAME_NOT_RESOLVED');
    await vi.advanceTimersByTimeAsync(750);
    expect(engine.status().state).toBe('disconnected');
    await vi.advanceTimersByTimeAsync(1_500);
    expect(world.clients).toHaveLength(4);
    expect(engine.status().state).toBe('authenticated');
    world.last.becomeReady();
    expect(engine.status()).toMatchObject({ state: 'ready', ready: true });
  });

  it('shares one initialize between concurrent starts', async () => {
    const { engine, world } = setup();
    world.initQueue.push('hang');
    const a = engine.start();
    const b = engine.start();
    expect(b).toBe(a);
    await settle();
    expect(world.clients).toHaveLength(1);
    expect(world.last.callsTo('initialize')).toHaveLength(1);
    await engine.stop();
    await expect(a).resolves.toBeUndefined();
    expect(world.last.destroyed).toBe(true);
  });

  it('gives up on an initialize that never settles and closes its browser', async () => {
    fakeTimers();
    const { engine, world } = setup({ startTimeoutMs: 5_000 });
    world.initQueue.push('hang');
    const started = engine.start();
    await vi.advanceTimersByTimeAsync(5_000);
    await started;
    expect(engine.status().state).toBe('error');
    expect(engine.status().last_error).toContain('did not load within 5 s');
    expect(world.last.destroyed).toBe(true);
  });

  it('reconnects after a disconnect with growing, capped, jittered delays', async () => {
    fakeTimers();
    const { engine, world } = await linked();
    const failure = new Error('net::ERR_INTERNET_DISCONNECTED at https://web.whatsapp.com/');
    world.initQueue.push(failure, failure, 'linked');
    world.clients[0]!.emit('disconnected', 'CONFLICT');
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.status()).toMatchObject({ state: 'disconnected', authenticated: true });
    expect(engine.status().last_error).toContain('CONFLICT');
    expect(world.clients[0]!.destroyed).toBe(true);

    await vi.advanceTimersByTimeAsync(749);
    expect(world.clients).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(world.clients).toHaveLength(2);
    expect(engine.status().last_error).toContain('ERR_INTERNET_DISCONNECTED');

    await vi.advanceTimersByTimeAsync(1_499);
    expect(world.clients).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(world.clients).toHaveLength(3);

    await vi.advanceTimersByTimeAsync(3_000);
    expect(world.clients).toHaveLength(4);
    expect(engine.status().state).toBe('authenticated');
    world.last.becomeReady();
    expect(engine.status()).toMatchObject({ state: 'ready', last_error: null });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not reconnect after the phone logs the device out', async () => {
    fakeTimers();
    const { engine, world, authDir } = await linked();
    expect(fs.existsSync(path.join(authDir, 'session-default'))).toBe(true);
    world.last.emit('disconnected', 'LOGOUT');
    await until(() => engine.status().state === 'stopped');
    expect(engine.status()).toMatchObject({ state: 'stopped', account: null });
    expect(engine.status().last_error).toContain('Logged out');
    expect(fs.existsSync(path.join(authDir, 'session-default'))).toBe(false);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(world.clients).toHaveLength(1);
    expect(engine.hasSavedSession()).toBe(false);
  });

  it('restarts the browser when ready does not follow authenticated in time, but never while waiting for a scan', async () => {
    fakeTimers();
    const { engine, world } = setup({ readyTimeoutSeconds: 10 });
    await engine.start();
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(engine.status().state).toBe('qr');
    world.last.emit('authenticated');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(engine.status().state).toBe('authenticated');
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.status().state).toBe('disconnected');
    expect(engine.status().last_error).toContain('not ready 10 s after authenticating');
    expect(world.clients[0]!.destroyed).toBe(true);
    world.initQueue.push('linked');
    await vi.advanceTimersByTimeAsync(750);
    expect(world.clients).toHaveLength(2);
    world.last.becomeReady();
    expect(engine.status().state).toBe('ready');
  });

  it('stop() closes the browser and clears every timer', async () => {
    fakeTimers();
    const { engine, world } = setup({ readyTimeoutSeconds: 10 });
    await engine.start();
    world.last.emit('authenticated');
    expect(vi.getTimerCount()).toBe(1);
    await engine.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(world.last.destroyed).toBe(true);

    world.initQueue.push('qr');
    await engine.start();
    world.last.link();
    world.last.emit('disconnected', 'TIMEOUT');
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await engine.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(world.clients).toHaveLength(2);
    expect(engine.status().state).toBe('stopped');
  });

  it('stop() during a disconnect, while the old browser is still closing, wins over the reconnect', async () => {
    fakeTimers();
    const { engine, world } = await linked();
    world.last.emit('disconnected', 'CONFLICT');
    const stopped = engine.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(world.clients).toHaveLength(1);
    expect(engine.status().state).toBe('stopped');
  });

  it('logout() logs the library out and removes <authDir>/session-default', async () => {
    const { engine, world, authDir } = await linked();
    const sessionDir = path.join(authDir, 'session-default');
    fs.mkdirSync(path.join(sessionDir, 'Default'), { recursive: true });
    fs.writeFileSync(path.join(sessionDir, 'Default', 'Cookies'), 'x');
    const client = world.last;
    // The library reports its own logout as a LOGOUT disconnect; that must not count as the phone's.
    client.logout = async () => {
      client.calls.push({ method: 'logout', args: [] });
      client.emit('disconnected', 'LOGOUT');
    };
    await engine.logout();
    expect(client.callsTo('logout')).toHaveLength(1);
    expect(client.destroyed).toBe(true);
    expect(fs.existsSync(sessionDir)).toBe(false);
    expect(engine.status()).toMatchObject({ state: 'stopped', last_error: null });
  });
});
