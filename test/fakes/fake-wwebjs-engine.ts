// The wwebjs engine over a fresh fake WhatsApp, linked and ready, for the facet tests; plus an event recorder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine, EngineEvents } from '../../src/engine/engine.js';
import { createWwebjsEngine } from '../../src/engine/wwebjs.js';
import { silentLogger } from '../../src/logger.js';
import { FakeWhatsApp } from './fake-wwebjs-client.js';

export async function linkedEngine(prepare: (world: FakeWhatsApp) => void = () => {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-people-'));
  const world = new FakeWhatsApp();
  prepare(world);
  const engine = createWwebjsEngine({
    config: { authDir: path.join(dir, 'auth'), chromeExecutable: undefined, headless: true, readyTimeoutSeconds: 30 },
    logger: silentLogger(),
    clientFactory: world.factory,
    locateBrowser: () => ({ ok: true, path: '/opt/fake/chromium', source: 'system' }),
    isRoot: false,
    now: world.nowMs,
  });
  await engine.start();
  world.last.link();
  const close = async () => {
    await engine.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { engine, world, client: world.last, groups: engine.groups!, contacts: engine.contacts!, close };
}

export function record<K extends keyof EngineEvents>(engine: Engine, event: K): EngineEvents[K][0][] {
  const seen: EngineEvents[K][0][] = [];
  engine.events.on(event, ((...args: EngineEvents[K]) => seen.push(args[0])) as never);
  return seen;
}

/** Lets queued event handlers (group notifications read the group back) finish. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
