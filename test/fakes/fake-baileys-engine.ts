// The Baileys engine over a fake socket world and in-memory auth stores; and the harness the shared contracts run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { Message } from '../../src/domain.js';
import { type BaileysEngineOptions, createBaileysEngine } from '../../src/engine/baileys.js';
import type { Engine, EngineEvents } from '../../src/engine/engine.js';
import { silentLogger } from '../../src/logger.js';
import type { FacetHarness } from '../engine-facets-contract.js';
import { MemoryAuthStores } from './fake-baileys-auth.js';
import type { MediaKind } from './fake-baileys-content.js';
import { FakeBaileysWorld } from './fake-baileys-socket.js';

export const PEERS = ['15550100001@c.us', '15550100002@c.us', '15550100003@c.us'] as const;
export const ADMIN_GROUP = '120363000000000077@g.us';
export const MEMBER_GROUP = '120363000000000078@g.us';
export const NOT_ON_WHATSAPP = '15550190000@c.us';

const digits = (id: string) => id.split('@')[0]!;

export function baileysSetup(opts: Partial<BaileysEngineOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-engine-'));
  const authDir = path.join(dir, 'auth');
  const world = new FakeBaileysWorld();
  const auth = new MemoryAuthStores();
  world.groups.add(ADMIN_GROUP, 'Harness admins', world.me.phone, [digits(PEERS[0]), digits(PEERS[1])]);
  world.groups.add(MEMBER_GROUP, 'Harness members', digits(PEERS[2]), [world.me.phone, digits(PEERS[0])]);
  const engine = createBaileysEngine({
    config: { authDir, headless: true },
    logger: silentLogger(),
    socketFactory: world.factory,
    openAuthStore: auth.open,
    // With random 0.5 each delay is 3/4 of its ceiling: 750, 1500, 3000, 6000, then capped at 6000.
    random: () => 0.5,
    reconnect: { baseMs: 1000, maxMs: 8000 },
    ...opts,
  });
  const states: string[] = [];
  engine.events.on('status', (s) => states.push(s.state));
  const close = async () => {
    await engine.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { engine, world, auth, authDir, dir, states, close, authFile: path.join(authDir, 'session-default', 'baileys-auth.db') };
}

/** Lets queued socket events (nextTick, setImmediate) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const realSetTimeout = globalThis.setTimeout;

/** Waits in real time, up to 2 s, until cond holds (a 515 reconnect is a setTimeout(0): not one loop turn). */
export async function until(cond: () => boolean): Promise<void> {
  const deadline = performance.now() + 2_000;
  while (!cond() && performance.now() < deadline) {
    await settle(1);
    if (!cond()) await new Promise((resolve) => realSetTimeout(resolve, 1));
  }
  expect(cond()).toBe(true);
}

/** start(), the phone scans the QR, WhatsApp asks for the 515 restart, the next socket opens: ready. */
export async function link(engine: Engine, world: FakeBaileysWorld): Promise<void> {
  await engine.start();
  await until(() => world.sockets.at(-1)?.state === 'qr');
  world.last.link();
  await until(() => engine.status().state === 'ready');
}

export function record<K extends keyof EngineEvents>(engine: Engine, event: K): EngineEvents[K][0][] {
  const seen: EngineEvents[K][0][] = [];
  engine.events.on(event, ((...args: EngineEvents[K]) => seen.push(args[0])) as never);
  return seen;
}

export async function linkedBaileys(opts: Partial<BaileysEngineOptions> = {}) {
  const ctx = baileysSetup(opts);
  await link(ctx.engine, ctx.world);
  return ctx;
}

/** The harness of the shared contracts (engine-contract.ts, engine-facets-contract.ts). */
export async function baileysHarness(): Promise<FacetHarness> {
  const { engine, world, close } = baileysSetup();
  const seen = new Map<string, Message>();
  engine.events.on('message', (m) => seen.set(m.id, m));
  return {
    engine,
    peers: PEERS,
    group: ADMIN_GROUP,
    adminGroup: ADMIN_GROUP,
    memberGroup: MEMBER_GROUP,
    notOnWhatsApp: NOT_ON_WHATSAPP,
    link: () => link(engine, world),
    async inbound(from, body) {
      world.last.inbound(from, body);
    },
    async inboundMedia(from, file: { data: Buffer; mimetype: string; filename: string | null; kind: MediaKind }) {
      const raw = world.last.inboundMedia(from, file);
      const m = seen.get(raw.key.id!);
      if (!m) throw new Error(`the engine did not report message ${raw.key.id}`);
      return m;
    },
    close,
  };
}
