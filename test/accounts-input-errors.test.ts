// What the accounts API says back: ids must start with a letter or digit, a bad id or engine is named with what was
// received, an unknown body field lists only what the body takes, an unfiltered webhook shows events null, and
// /metrics refused to an account-limited key says the accounts are why.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_FILE } from '../src/accounts/registry.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await srv?.close();
  srv = undefined;
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

describe('account ids and engines', () => {
  it('refuses an id not starting with a letter or digit, saying what it received; makes no directory', async () => {
    srv = await startTestServer();
    for (const id of ['-', '-work']) {
      const res = await srv.call('POST', '/api/accounts', { id });
      expect(res.status, id).toBe(400);
      expect(res.json.error.message).toBe(`id: ${JSON.stringify(id)} must be 1 to 32 of a-z 0-9 - starting with a letter or digit`);
      expect(fs.existsSync(path.join(srv.dataDir, id))).toBe(false);
    }
    const upper = await srv.call('POST', '/api/accounts', { id: 'Bad_ID' });
    expect(upper.json.error.message).toBe('id: "Bad_ID" must be 1 to 32 of a-z 0-9 - starting with a letter or digit');
    expect((await srv.call('POST', '/api/accounts', { id: 'w-1' })).status).toBe(201);
  });

  it('names a wrong engine with the ones there are', async () => {
    srv = await startTestServer();
    const res = await srv.call('POST', '/api/accounts', { id: 'tg', engine: 'telegram' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('engine: "telegram" is not one of wwebjs, baileys, sandbox');
  });

  it('refuses to start on an accounts.json listing an id the rule refuses, naming the file and the entry', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-accounts-ids-'));
    dirs.push(root);
    fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
    const file = path.join(root, 'data', ACCOUNTS_FILE);
    fs.writeFileSync(file, JSON.stringify({ version: 1, accounts: [{ id: '-', engine: 'sandbox', created_at: 1_700_000_000_000 }] }), { mode: 0o600 });
    await expect(startTestServer({}, {}, root)).rejects.toThrow(`${file} is not an accounts list this version reads: accounts.0.id: must be 1 to 32 of a-z 0-9 - starting with a letter or digit`);
  });
});

describe('answers of the accounts API', () => {
  it('PATCH with an unknown field lists what the body takes, not the id of the path', async () => {
    srv = await startTestServer();
    expect((await srv.call('POST', '/api/accounts', { id: 'a' })).status).toBe(201);
    const res = await srv.call('PATCH', '/api/accounts/a', { engine: 'baileys' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('engine: unknown field (accepted: webhooks)');
    // POST takes id in the body: there it is listed.
    expect((await srv.call('POST', '/api/accounts', { id: 'b', colour: 'red' })).json.error.message).toBe('colour: unknown field (accepted: id, engine, webhooks)');
  });

  it('shows a webhook without an events filter as events null (every type), a filtered one with its types', async () => {
    srv = await startTestServer({ WHATSAPP_WEBHOOK_SECRET: 'input-errors-webhook-secret-01', WHATSAPP_WEBHOOK_URL: 'http://127.0.0.1:9/all' });
    const added = await srv.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: ['http://127.0.0.1:9/a'] } });
    expect(added.json.account.webhooks).toEqual([
      { url: 'http://127.0.0.1:9/all', for: 'all', events: null },
      { url: 'http://127.0.0.1:9/a', for: 'account', events: null },
    ]);
    const patched = await srv.call('PATCH', '/api/accounts/a', { webhooks: { urls: ['http://127.0.0.1:9/a'], events: ['message.*'] } });
    expect(patched.json.account.webhooks[1]).toEqual({ url: 'http://127.0.0.1:9/a', for: 'account', events: ['message.*'] });
    const listed = await srv.call('GET', '/api/accounts');
    expect(listed.json.accounts.map((a: { webhooks: Array<{ events: unknown }> }) => a.webhooks.map((w) => w.events))).toEqual([[null], [null, ['message.*']]]);
  });

  it('/metrics refused to a key limited to accounts says the accounts are why, not a scope', async () => {
    srv = await startTestServer();
    const owner = { authorization: `Bearer ${(await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'admin'] })).json.key}` };
    expect((await srv.call('POST', '/api/accounts', { id: 'work' }, owner)).status).toBe(201);
    const made = await srv.call('POST', '/api/keys', { name: 'work-reader', scopes: ['read'], accounts: ['work'] }, owner);
    const res = await srv.call('GET', '/metrics', undefined, { authorization: `Bearer ${made.json.key}` });
    expect(res.status).toBe(403);
    expect(res.json.error.message).toMatch(/^This key is limited to some accounts \(work\)/);
    expect(res.json.error.details).toEqual({ key: 'work-reader', accounts: ['work'], reason: 'limited to accounts' });
    expect(JSON.stringify(res.json.error)).not.toContain('scope":');
  });
});
