// The shared engine contract, run against the sandbox (the wwebjs run is in wwebjs-engine.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { engineContract } from './engine-contract.js';
import { type FacetHarness, facetContracts } from './engine-facets-contract.js';

async function sandboxHarness(): Promise<FacetHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sandbox-'));
  const engine = new SandboxEngine({ config: { authDir: dir, sandboxLinkDelayMs: 10, headless: true }, logger: silentLogger() });
  return {
    engine,
    peers: ['15550001001@c.us', '15550001002@c.us'],
    group: '120363000000000001@g.us',
    link: () => engine.linkNow('15550102030'),
    inbound: async (from, body) => {
      engine.inbound(from.replace(/@c\.us$/, ''), body);
    },
    inboundMedia: async (from, file) => engine.inbound(from.replace(/@c\.us$/, ''), '', { media: file }),
    adminGroup: '120363000000000002@g.us',
    memberGroup: '120363000000000001@g.us',
    notOnWhatsApp: '15550020000@c.us',
    close: () => engine.stop(),
  };
}

engineContract('sandbox', sandboxHarness);
facetContracts('sandbox', sandboxHarness);

it('a stop() during start() wins: the engine stays stopped', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sandbox-'));
  const engine = new SandboxEngine({ config: { authDir: dir, sandboxLinkDelayMs: 0, headless: true }, logger: silentLogger() });
  await engine.linkNow('15550102030');
  await engine.stop();
  const starting = engine.start();
  await engine.stop();
  await starting;
  expect(engine.status().state).toBe('stopped');
});

