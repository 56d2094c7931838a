// Accounts restored at start: built a few at a time, listed in the file's order, and a failure names the account and
// closes the ones built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_FILE, AccountRegistry, RESTORE_CONCURRENCY } from '../src/accounts/registry.js';
import { loadConfig } from '../src/config.js';
import { acquireDirLock } from '../src/instance-lock.js';
import { silentLogger } from '../src/logger.js';
import type { Services } from '../src/operations/operation.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const dirs: string[] = [];
let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

/** A data dir whose accounts.json lists `ids` (sandbox), as a restart finds it. */
function dataDirWith(ids: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-restore-'));
  dirs.push(root);
  fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
  const accounts = ids.map((id, i) => ({ id, engine: 'sandbox', created_at: 1_700_000_000_000 + i }));
  fs.writeFileSync(path.join(root, 'data', ACCOUNTS_FILE), JSON.stringify({ version: 1, accounts }), { mode: 0o600 });
  return root;
}

const ids = Array.from({ length: 10 }, (_, i) => `acct${i}`);

function registryOn(root: string): AccountRegistry {
  const config = loadConfig({ WHATSAPP_ENGINE: 'sandbox', WHATSAPP_DATA_DIR: path.join(root, 'data'), WHATSAPP_AUTH_DIR: path.join(root, 'auth'), LOG_LEVEL: 'silent' });
  return new AccountRegistry(config, silentLogger());
}

/** A factory whose builds finish in an order unlike the file's, counting how many run at once and which closed. */
function slowFactory(fail?: string) {
  const seen = { inFlight: 0, maxInFlight: 0, built: [] as string[], closed: [] as string[] };
  const build = async (id: string, config: Services['config']): Promise<Services> => {
    seen.inFlight += 1;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    await new Promise((r) => setTimeout(r, 5 + ((ids.indexOf(id) * 7) % 4) * 10));
    seen.inFlight -= 1;
    if (id === fail) throw new Error('its store is damaged');
    seen.built.push(id);
    return { config, close: async () => void seen.closed.push(id) } as unknown as Services;
  };
  return { seen, build };
}

describe('restore at start', () => {
  it(`builds up to ${RESTORE_CONCURRENCY} accounts at once and lists them in the file's order`, async () => {
    const registry = registryOn(dataDirWith(ids));
    const { seen, build } = slowFactory();
    registry.setFactory(build);
    await registry.restore();
    expect(seen.maxInFlight).toBeGreaterThan(1);
    expect(seen.maxInFlight).toBeLessThanOrEqual(RESTORE_CONCURRENCY);
    expect(seen.built).not.toEqual(ids);
    expect(registry.list().map((a) => a.id)).toEqual(ids);
  });

  it('names the account that failed, closes every one built, and lists none', async () => {
    const registry = registryOn(dataDirWith(ids));
    const { seen, build } = slowFactory('acct3');
    registry.setFactory(build);
    await expect(registry.restore()).rejects.toThrow(/account acct3 \(accounts\.json\) could not be opened: its store is damaged/);
    expect(seen.built.length).toBeGreaterThan(0);
    expect(seen.inFlight).toBe(0);
    expect([...seen.closed].sort()).toEqual([...seen.built].sort());
    expect(registry.list()).toEqual([]);
  });

  it('a server whose account is held by another process refuses to start naming it, and releases the others', async () => {
    const root = dataDirWith(ids.slice(0, 6));
    const held = path.join(root, 'data', 'acct4');
    fs.mkdirSync(held, { mode: 0o700 });
    const release = acquireDirLock(held);
    try {
      await expect(startTestServer({}, {}, root)).rejects.toThrow(/account acct4 \(accounts\.json\) could not be opened/);
    } finally {
      release();
    }
    // Every account built before the failure let go of its directories: the next start opens them all.
    srv = await startTestServer({}, {}, root);
    const listed = (await srv.call('GET', '/api/accounts')).json.accounts.map((a: { id: string }) => a.id);
    expect(listed).toEqual(['default', ...ids.slice(0, 6)]);
    await srv.call('POST', '/api/accounts/acct5/sandbox/link', { phone_number: '15550105555' });
    await waitFor(async () => (await srv!.call('GET', '/api/accounts/acct5')).json.account.ready, 'acct5 linked');
  });
});
