// The Baileys engine over a fake socket that emits Baileys' real events: the shared contracts, then its lifecycle
// (linking, the close statuses that decide what happens next, the backoff, the generation guard, the session).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BAILEYS_AUTH_FILE } from '../src/engine/baileys-auth.js';
import { requireFacet } from '../src/engine/engine.js';
import { AppError } from '../src/errors.js';
import { engineContract } from './engine-contract.js';
import { facetContracts } from './engine-facets-contract.js';
import { baileysHarness, baileysSetup, linkedBaileys, PEERS, record, settle, until } from './fakes/fake-baileys-engine.js';

engineContract('baileys (fake socket)', baileysHarness);
facetContracts('baileys (fake socket)', baileysHarness);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanups.splice(0)) await fn();
});

function setup(opts: Parameters<typeof baileysSetup>[0] = {}) {
  const ctx = baileysSetup(opts);
  cleanups.push(ctx.close);
  return ctx;
}

async function linked(opts: Parameters<typeof baileysSetup>[0] = {}) {
  const ctx = await linkedBaileys(opts);
  cleanups.push(ctx.close);
  return ctx;
}

const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });

/** Moves the fake clock and lets the socket's nextTick/setImmediate steps (real) run after each timer. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

describe('baileys engine: facets', () => {
  it('has no live chat list: chat reads come from the store, and requireFacet says so', () => {
    const { engine } = setup();
    expect(engine.chats).toBeUndefined();
    expect(() => requireFacet(engine, 'chats')).toThrow(expect.objectContaining({ code: 'not_supported', httpStatus: 501 }));
    for (const facet of ['media', 'messageOps', 'richMessages', 'groups', 'contacts'] as const) expect(engine[facet]).toBeDefined();
  });
});

describe('baileys engine: linking', () => {
  it('shows the QR, then after the scan WhatsApp asks for a restart (515): reconnects at once, no backoff, and is ready', async () => {
    // A 60 s backoff: were the 515 treated like any other close, the second socket would not come within the wait.
    const { engine, world, states } = setup({ reconnect: { baseMs: 60_000, maxMs: 60_000 } });
    const qrs = record(engine, 'qr');
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'qr', has_qr: true, engine: 'baileys', chrome_executable: null });
    expect(qrs).toEqual([engine.currentQr()]);
    world.last.link();
    await until(() => engine.status().state === 'ready');
    expect(world.sockets).toHaveLength(2);
    expect(states).toEqual(['starting', 'qr', 'authenticated', 'ready']);
    expect(engine.status().account).toEqual({ wid: '15550109999@c.us', pushname: 'Harness', platform: 'android' });
    expect(engine.hasSavedSession()).toBe(true);
  });

  it('asks for a pairing code once the socket shows its QR, keeps it over QR rotation, and links with it', async () => {
    const { engine, world } = setup();
    const codes = record(engine, 'pairing_code');
    // A stopped engine is started, and the request waits for the QR: Baileys can only ask over a connected socket.
    await expect(engine.requestPairingCode('15550109999')).resolves.toBe(world.pairingCode);
    expect(world.last.callsTo('requestPairingCode')).toEqual([['15550109999']]);
    expect(engine.status()).toMatchObject({ state: 'pairing', pairing_code: world.pairingCode, has_qr: false });
    world.last.ev.emit('connection.update', { qr: '2@rotated,ref' });
    expect(engine.status()).toMatchObject({ state: 'pairing', pairing_code: world.pairingCode });
    expect(codes).toEqual([world.pairingCode]);
    world.last.link();
    await until(() => engine.status().state === 'ready');
    await expect(engine.requestPairingCode('15550109999')).rejects.toMatchObject({ code: 'conflict' });
    await expect(engine.requestPairingCode('12')).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a pairing code asked for while offline is an engine_error saying why, not a hang', async () => {
    const { engine, world } = setup();
    world.network = 'offline';
    const err = await engine.requestPairingCode('15550109999').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'engine_error' });
    expect((err as AppError).message).toContain('408');
  });

  it('a saved session logs in again without a QR after a restart of the engine', async () => {
    const first = await linked();
    await first.engine.stop();
    // A second engine over the same directory and auth stores, as after a process restart.
    const restarted = baileysSetup({ openAuthStore: first.auth.open, socketFactory: first.world.factory, config: { authDir: first.authDir, headless: true } });
    cleanups.push(restarted.close);
    expect(restarted.engine.hasSavedSession()).toBe(true);
    await restarted.engine.start();
    await until(() => restarted.engine.status().state === 'ready');
    expect(restarted.states).toEqual(['starting', 'ready']);
  });
});

describe('baileys engine: closes', () => {
  it('401 loggedOut from the phone ends the session: store cleared, stopped, last_error says so, no reconnect', async () => {
    const { engine, world, auth, authFile } = await linked({ reconnect: { baseMs: 4, maxMs: 8 } });
    world.last.close(401, 'Connection Failure');
    expect(engine.status()).toMatchObject({ state: 'stopped', ready: false, account: null });
    expect(engine.status().last_error).toMatch(/logged out/i);
    expect(engine.hasSavedSession()).toBe(false);
    expect(fs.existsSync(authFile)).toBe(false);
    expect(auth.creds(authFile)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 40));
    expect(world.sockets).toHaveLength(2);
  });

  it('any other close reconnects after the backoff and is ready again', async () => {
    const { engine, world } = await linked({ reconnect: { baseMs: 4, maxMs: 8 } });
    world.last.close(428, 'Connection Terminated');
    expect(engine.status()).toMatchObject({ state: 'disconnected', authenticated: true });
    expect(engine.status().last_error).toContain('428');
    await expect(engine.sendText(PEERS[0], 'now?')).rejects.toMatchObject({ code: 'not_ready' });
    await until(() => engine.status().state === 'ready');
    expect(world.sockets).toHaveLength(3);
  });

  it('offline (408 within ms of every attempt): attempts follow the backoff schedule, never faster', async () => {
    fakeClock();
    const { engine, world, auth, authFile } = setup();
    auth.seedLinked(authFile, world.me.phone);
    world.network = 'offline';
    await engine.start();
    await settle();
    expect(world.sockets).toHaveLength(1);
    expect(engine.status()).toMatchObject({ state: 'disconnected' });
    const t0 = world.madeAt[0]!;
    // random 0.5: 3/4 of each ceiling (1000, 2000, 4000, 8000 capped): 750, 1500, 3000, 6000, 6000, 6000.
    for (const delay of [750, 1500, 3000, 6000, 6000, 6000]) {
      const before = world.sockets.length;
      await advance(delay - 1);
      expect(world.sockets).toHaveLength(before);
      await advance(1);
      expect(world.sockets).toHaveLength(before + 1);
    }
    expect(world.madeAt.map((t) => t - t0)).toEqual([0, 750, 2250, 5250, 11250, 17250, 23250]);
    // An hour offline at the cap: 3600 / 6 = 600 attempts, each a few ms of work: far below 1% of a core.
    await advance(3_600_000);
    expect(world.sockets.length).toBeLessThanOrEqual(7 + 601);
  });

  it('offline with the default backoff: in a real second, at most two attempts', async () => {
    const { engine, world, auth, authFile } = baileysSetup({ reconnect: undefined, random: undefined });
    cleanups.push(() => engine.stop());
    auth.seedLinked(authFile, world.me.phone);
    world.network = 'offline';
    const cpu = process.cpuUsage();
    await engine.start();
    await new Promise((r) => setTimeout(r, 1000));
    expect(world.sockets.length).toBeLessThanOrEqual(2);
    const used = process.cpuUsage(cpu);
    // The test process itself (vitest, timers) costs something; a spinning loop would burn the whole second.
    expect((used.user + used.system) / 1000).toBeLessThan(500);
  });

  it('515 over and over without the connection opening: after three at once, it backs off', async () => {
    fakeClock();
    const { engine, world } = setup();
    world.network = 'restart';
    await engine.start();
    await advance(0);
    await advance(0);
    await advance(0);
    expect(world.sockets).toHaveLength(4);
    await advance(749);
    expect(world.sockets).toHaveLength(4);
    await advance(1);
    expect(world.sockets).toHaveLength(5);
  });

  it('an attempt that hangs after "connecting" is given up after the start timeout and retried', async () => {
    const { engine, world } = setup({ startTimeoutMs: 30, reconnect: { baseMs: 4, maxMs: 8 } });
    world.network = 'hang';
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'disconnected' });
    expect(engine.status().last_error).toContain('did not answer');
    await until(() => world.sockets.length >= 2);
  });

  it("a retired socket's late events change nothing (generation guard)", async () => {
    const { engine, world, auth } = await linked({ reconnect: { baseMs: 4, maxMs: 8 } });
    const old = world.last;
    old.close(428);
    await until(() => engine.status().state === 'ready');
    const messages = record(engine, 'message');
    const saves = auth.saves.length;
    old.ev.ghost('connection.update', { connection: 'close', lastDisconnect: { error: Object.assign(new Error('x'), { output: { statusCode: 401 } }), date: new Date() } });
    old.ev.ghost('messages.upsert', { type: 'notify', messages: [{ key: { remoteJid: '15550100001@s.whatsapp.net', fromMe: false, id: 'LATE1' }, message: { conversation: 'late' } }] });
    old.ev.ghost('creds.update', {});
    old.ev.ghost('connection.update', { qr: '2@late' });
    expect(engine.status()).toMatchObject({ state: 'ready', last_error: null });
    expect(messages).toEqual([]);
    expect(auth.saves.length).toBe(saves);
  });

  it('stop() during a start wins: stopped, and nothing reconnects', async () => {
    const { engine, world } = setup({ reconnect: { baseMs: 4, maxMs: 8 } });
    const starting = engine.start();
    await engine.stop();
    await starting;
    await new Promise((r) => setTimeout(r, 30));
    expect(engine.status().state).toBe('stopped');
    expect(world.sockets.length).toBeLessThanOrEqual(1);
  });
});

describe('baileys engine: session', () => {
  it('saves the creds on every creds.update, after Baileys merged them', async () => {
    const { auth, authFile } = await linked();
    const last = auth.saves.filter((s) => s.file === authFile).at(-1)!;
    expect(last.creds.account).toBeTruthy();
    expect(last.creds.me?.id).toBe('15550109999:7@s.whatsapp.net');
    expect(auth.saves.length).toBeGreaterThanOrEqual(2); // pair-success, then the own lid on login
  });

  it('logout asks WhatsApp to remove the device, then deletes the store', async () => {
    const { engine, world, auth, authFile } = await linked();
    const sock = world.last;
    await engine.logout();
    expect(sock.callsTo('logout')).toHaveLength(1);
    expect(engine.status()).toMatchObject({ state: 'stopped', last_error: null, account: null });
    expect(auth.creds(authFile)).toBeUndefined();
    expect(engine.hasSavedSession()).toBe(false);
  });

  it('a store that cannot be opened is reported with its path and the fix, once, not retried', async () => {
    const { engine, world, auth, authFile } = setup({ reconnect: { baseMs: 4, maxMs: 8 } });
    auth.failNextOpen = new AppError('engine_error', `The Baileys auth store ${authFile} is an SQLite file of something else, not an auth store; log out, or delete the file to link WhatsApp again`);
    await engine.start();
    expect(engine.status().state).toBe('error');
    expect(engine.status().last_error).toContain(authFile);
    await new Promise((r) => setTimeout(r, 30));
    expect(world.sockets).toHaveLength(0);
  });

  it('refuses a session directory linked by the wwebjs engine, with what to do', async () => {
    const { engine, world, authDir } = setup();
    fs.mkdirSync(path.join(authDir, 'session-default'), { recursive: true });
    fs.writeFileSync(path.join(authDir, 'session-default', 'whatsapp-mcp-api.json'), JSON.stringify({ linked: true, wid: '15550109999@c.us' }));
    await engine.start();
    expect(engine.status().state).toBe('error');
    expect(engine.status().last_error).toMatch(/wwebjs engine.*WHATSAPP_ENGINE=wwebjs/);
    expect(world.sockets).toHaveLength(0);
  });

  it('the store lives in <authDir>/session-default/baileys-auth.db (the name the wwebjs engine refuses)', async () => {
    const { authDir, authFile } = await linked();
    expect(BAILEYS_AUTH_FILE).toBe('baileys-auth.db');
    expect(authFile).toBe(path.join(authDir, 'session-default', BAILEYS_AUTH_FILE));
    expect(fs.existsSync(authFile)).toBe(true);
  });
});
