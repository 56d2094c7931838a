// Several accounts in one server: the accounts API, its refusals, the layout on disk, restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNTS_FILE } from '../src/accounts/registry.js';
import { acquireDirLock } from '../src/instance-lock.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

describe('accounts API', () => {
  it('adds an account (201), lists it with state and number, gets it, links it on its own routes', async () => {
    srv = await startTestServer();
    const created = await srv.call('POST', '/api/accounts', { id: 'work' });
    expect(created.status).toBe(201);
    expect(created.json.account).toMatchObject({ id: 'work', engine: 'sandbox', default: false, state: 'stopped', ready: false, number: null });
    expect(created.json.account.created_at).toBeGreaterThan(0);

    expect((await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550107777' })).status).toBe(200);
    const listed = await srv.call('GET', '/api/accounts');
    expect(listed.status).toBe(200);
    expect(listed.json.accounts.map((a: { id: string }) => a.id)).toEqual(['default', 'work']);
    expect(listed.json.accounts[0]).toMatchObject({ id: 'default', default: true, created_at: null, state: 'stopped', number: null });
    expect(listed.json.accounts[1]).toMatchObject({ id: 'work', state: 'ready', ready: true, number: '15550107777' });
    const one = await srv.call('GET', '/api/accounts/work');
    expect(one.json.account).toMatchObject({ id: 'work', number: '15550107777' });
    // The default account did not link: the link went to work's engine only.
    expect((await srv.call('GET', '/api/status')).json.ready).toBe(false);
    expect((await srv.call('GET', '/api/accounts/work/status')).json.account.wid).toBe('15550107777@c.us');
    expect((await srv.call('GET', '/api/accounts/default/status')).json.ready).toBe(false);
  });

  it.each([
    ['an id with capitals', { id: 'Work' }],
    ['an id too long', { id: 'a'.repeat(33) }],
    ['an id with a dot', { id: 'a.b' }],
    ['a reserved id', { id: 'media' }],
    ['a session-* id', { id: 'session-default' }],
    ['no id', {}],
    ['an unknown engine', { id: 'x', engine: 'telegram' }],
  ])('refuses %s with 400', async (_what, body) => {
    srv = await startTestServer();
    const { status, json } = await srv.call('POST', '/api/accounts', body);
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_input');
  });

  it('refuses a duplicate (409), the default id (409), and names an unknown account in a 404 on every form', async () => {
    srv = await startTestServer();
    expect((await srv.call('POST', '/api/accounts', { id: 'work' })).status).toBe(201);
    for (const id of ['work', 'default']) {
      const dup = await srv.call('POST', '/api/accounts', { id });
      expect(dup.status).toBe(409);
      expect(dup.json.error.message).toContain(id);
    }
    for (const [method, p] of [['GET', '/api/accounts/nope'], ['DELETE', '/api/accounts/nope'], ['GET', '/api/accounts/nope/status'], ['POST', '/api/accounts/nope/send'], ['GET', '/api/accounts/nope/events']] as const) {
      const res = await srv.call(method, p, method === 'POST' ? { phone_number: '15550102030', message: 'hi' } : undefined);
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(res.json.error.message, `${method} ${p}`).toContain('"nope"');
    }
  });

  it('refuses to delete the default account with 409 and a hint', async () => {
    srv = await startTestServer();
    const { status, json } = await srv.call('DELETE', '/api/accounts/default');
    expect(status).toBe(409);
    expect(json.error.code).toBe('conflict');
    expect(json.error.hint).toMatch(/logout/);
  });

  it('deletes an account: logged out, its session and store gone; keep_data=true keeps the store', async () => {
    srv = await startTestServer();
    for (const id of ['gone', 'kept']) {
      await srv.call('POST', '/api/accounts', { id });
      await srv.call('POST', `/api/accounts/${id}/sandbox/link`);
      await srv.call('POST', `/api/accounts/${id}/sandbox/inbound`, { from: '15550001001', body: `hello ${id}` });
    }
    await waitFor(async () => (await srv.call('GET', '/api/accounts/kept/search?q=hello')).json.count === 1, 'the message stored');
    expect(fs.existsSync(path.join(srv.dataDir, 'gone', 'whatsapp.db'))).toBe(true);
    expect(fs.existsSync(path.join(srv.authDir, 'gone', 'session-default'))).toBe(true);

    const gone = await srv.call('DELETE', '/api/accounts/gone');
    expect(gone.status).toBe(200);
    expect(gone.json).toEqual({ ok: true, id: 'gone', logged_out: true, kept_data: false });
    expect(fs.existsSync(path.join(srv.dataDir, 'gone'))).toBe(false);
    expect(fs.existsSync(path.join(srv.authDir, 'gone'))).toBe(false);
    expect((await srv.call('GET', '/api/accounts/gone/status')).status).toBe(404);

    expect((await srv.call('DELETE', '/api/accounts/kept?keep_data=true')).json).toMatchObject({ kept_data: true });
    expect(fs.existsSync(path.join(srv.dataDir, 'kept', 'whatsapp.db'))).toBe(true);
    expect(fs.existsSync(path.join(srv.authDir, 'kept'))).toBe(false);
    // The same id again finds the kept store, unlinked.
    await srv.call('POST', '/api/accounts', { id: 'kept' });
    expect((await srv.call('GET', '/api/accounts/kept/search?q=hello')).json.count).toBe(1);
    expect((await srv.call('GET', '/api/accounts/kept/status')).json.ready).toBe(false);
    expect((await srv.call('GET', '/api/accounts')).json.accounts.map((a: { id: string }) => a.id)).toEqual(['default', 'kept']);
  });

  it('is admin only: a read key is refused the accounts API but reads an account it may read', async () => {
    srv = await startTestServer();
    const admin = { authorization: `Bearer ${(await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['admin'] })).json.key}` };
    const auth = { authorization: `Bearer ${(await srv.call('POST', '/api/keys', { name: 'reader', scopes: ['read'] }, admin)).json.key}` };
    expect((await srv.call('POST', '/api/accounts', { id: 'work' }, admin)).status).toBe(201);
    expect((await srv.call('POST', '/api/accounts', { id: 'other' }, auth)).status).toBe(403);
    expect((await srv.call('GET', '/api/accounts', undefined, auth)).status).toBe(403);
    expect((await srv.call('GET', '/api/accounts/work/status', undefined, auth)).status).toBe(200);
  });
});

describe('layout and restarts', () => {
  it('keeps a data dir of the single-account layout as the default account, in place, and adds others beside it', async () => {
    // A data dir as a single-account server leaves it: linked, one message stored.
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link');
    await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'from before accounts' });
    await waitFor(async () => (await srv.call('GET', '/api/search?q=before')).json.count === 1, 'the message stored');
    const { dir, dataDir, authDir } = srv;
    await srv.close();
    const before = fs.readdirSync(dataDir).sort();
    expect(before).toContain('whatsapp.db');
    expect(before).not.toContain(ACCOUNTS_FILE);

    srv = await startTestServer({}, {}, dir);
    await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'the default account to reconnect');
    for (const p of ['/api/search?q=before', '/api/accounts/default/search?q=before']) expect((await srv.call('GET', p)).json.count).toBe(1);
    expect((await srv.call('GET', '/api/accounts')).json.accounts).toHaveLength(1);
    // Nothing moved: the default account's files are where they were.
    expect(fs.readdirSync(dataDir)).toEqual(expect.arrayContaining(before));
    expect(fs.readdirSync(dataDir)).not.toContain('default');
    expect(fs.existsSync(path.join(authDir, 'session-default'))).toBe(true);

    await srv.call('POST', '/api/accounts', { id: 'work' });
    expect(fs.existsSync(path.join(dataDir, 'work', 'whatsapp.db'))).toBe(true);
    expect(fs.statSync(path.join(dataDir, 'work')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, ACCOUNTS_FILE), 'utf8')).accounts).toEqual([expect.objectContaining({ id: 'work', engine: 'sandbox' })]);
  });

  it('brings every account back after a restart, reconnected, each with its own messages', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', { phone_number: '15550101111' });
    await srv.call('POST', '/api/accounts', { id: 'work' });
    await srv.call('POST', '/api/accounts/work/sandbox/link', { phone_number: '15550102222' });
    await srv.call('POST', '/api/accounts/work/sandbox/inbound', { from: '15550001001', body: 'kept across restarts' });
    await waitFor(async () => (await srv.call('GET', '/api/accounts/work/search?q=restarts')).json.count === 1, 'the message stored');
    const { dir } = srv;
    await srv.close();

    srv = await startTestServer({}, {}, dir);
    await waitFor(async () => (await srv.call('GET', '/api/accounts')).json.accounts.every((a: { ready: boolean }) => a.ready), 'both accounts to reconnect');
    const accounts = (await srv.call('GET', '/api/accounts')).json.accounts;
    expect(accounts.map((a: { id: string; number: string }) => [a.id, a.number])).toEqual([['default', '15550101111'], ['work', '15550102222']]);
    expect((await srv.call('GET', '/api/accounts/work/search?q=restarts')).json.count).toBe(1);
    expect((await srv.call('GET', '/api/search?q=restarts')).json.count).toBe(0);
  });

  it('answers 409 when another process holds the new account\'s directory, and adds nothing', async () => {
    srv = await startTestServer();
    fs.mkdirSync(path.join(srv.dataDir, 'busy'), { mode: 0o700 });
    const release = acquireDirLock(path.join(srv.dataDir, 'busy'));
    try {
      const { status, json } = await srv.call('POST', '/api/accounts', { id: 'busy' });
      expect(status).toBe(409);
      expect(json.error.message).toMatch(/lock/);
      expect((await srv.call('GET', '/api/accounts')).json.count).toBe(1);
    } finally {
      release();
    }
  });

  it('with one directory for data and auth, keep_data=true keeps the store and drops the session', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-test-'));
    srv = await startTestServer({ WHATSAPP_AUTH_DIR: path.join(dir, 'state'), WHATSAPP_DATA_DIR: path.join(dir, 'state') }, {}, dir);
    await srv.call('POST', '/api/accounts', { id: 'work' });
    await srv.call('POST', '/api/accounts/work/sandbox/link');
    const accountDir = path.join(dir, 'state', 'work');
    expect(fs.existsSync(path.join(accountDir, 'session-default'))).toBe(true);
    expect((await srv.call('DELETE', '/api/accounts/work?keep_data=true')).status).toBe(200);
    expect(fs.existsSync(path.join(accountDir, 'whatsapp.db'))).toBe(true);
    expect(fs.existsSync(path.join(accountDir, 'session-default'))).toBe(false);
  });

  it('refuses a second server on the same data dir', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/accounts', { id: 'work' });
    await expect(startTestServer({}, {}, srv.dir)).rejects.toThrow(/lock/i);
  });
});
