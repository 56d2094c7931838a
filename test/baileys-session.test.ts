// One session directory, two engines: a device linked by one cannot be driven by the other, so each refuses the
// other's session with what to do, instead of starting over it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createWwebjsEngine } from '../src/engine/wwebjs.js';
import { silentLogger } from '../src/logger.js';
import { baileysSetup, linkedBaileys } from './fakes/fake-baileys-engine.js';
import { FakeWhatsApp } from './fakes/fake-wwebjs-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

function wwebjsOver(authDir: string) {
  const world = new FakeWhatsApp();
  const engine = createWwebjsEngine({
    config: { authDir, chromeExecutable: undefined, headless: true, readyTimeoutSeconds: 30 },
    logger: silentLogger(),
    clientFactory: world.factory,
    locateBrowser: () => ({ ok: true, path: '/opt/fake/chromium', source: 'system' }),
    isRoot: false,
  });
  cleanups.push(() => engine.stop());
  return { engine, world };
}

it('the wwebjs engine refuses a directory holding a Baileys session, saying which engine and what to do', async () => {
  const baileys = await linkedBaileys();
  cleanups.push(baileys.close);
  await baileys.engine.stop();
  const { engine, world } = wwebjsOver(baileys.authDir);
  await engine.start();
  expect(engine.status().state).toBe('error');
  expect(engine.status().last_error).toMatch(/Baileys engine \(baileys-auth\.db\).*WHATSAPP_ENGINE=baileys/);
  expect(world.clients).toHaveLength(0);
});

it('the Baileys engine refuses a directory holding a linked wwebjs session; after a wwebjs logout it starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engines-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const authDir = path.join(dir, 'auth');
  const wwebjs = wwebjsOver(authDir);
  await wwebjs.engine.start();
  wwebjs.world.last.link();
  expect(wwebjs.engine.hasSavedSession()).toBe(true);
  await wwebjs.engine.stop();

  const baileys = baileysSetup({ config: { authDir, headless: true } });
  cleanups.push(baileys.close);
  await baileys.engine.start();
  expect(baileys.engine.status()).toMatchObject({ state: 'error' });
  expect(baileys.engine.status().last_error).toContain('linked with the wwebjs engine');
  expect(baileys.world.sockets).toHaveLength(0);

  await wwebjs.engine.logout();
  await baileys.engine.start();
  expect(baileys.engine.status().state).toBe('qr');
});
