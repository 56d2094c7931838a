// Keys limited to accounts (--accounts): such a key reads and sends on its accounts' URLs only, is refused (403, not
// 404) on any other account's, whether that account exists or not, and on the server's own operations and pages; its
// refusals are in the audit trail; changing its accounts ends the streams it opened.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mayCall } from '../src/operations/access.js';
import { OPERATIONS } from '../src/operations/index.js';
import type { Principal } from '../src/service/keys.js';
import { ACCESS_DB_FILE, openAccessDb } from '../src/store/access-db.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';
import { openSse } from './helpers/sse.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Accounts `default`, `work` and `other`, all linked; an owner key and `work-bot` (read, send; accounts: work). */
async function serverWithWorkKey(): Promise<{ owner: Record<string, string>; bot: Record<string, string> }> {
  srv = await startTestServer();
  const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'send', 'manage', 'admin'] })).json.key as string);
  for (const id of ['work', 'other']) expect((await srv.call('POST', '/api/accounts', { id }, owner)).status).toBe(201);
  for (const prefix of ['/api', '/api/accounts/work', '/api/accounts/other']) expect((await srv.call('POST', `${prefix}/sandbox/link`, {}, owner)).status).toBe(200);
  const made = await srv.call('POST', '/api/keys', { name: 'work-bot', scopes: ['read', 'send'], accounts: ['work'] }, owner);
  expect(made.status, JSON.stringify(made.json)).toBe(201);
  expect(made.json.accounts).toEqual(['work']);
  await waitFor(async () => (await srv.call('GET', '/api/accounts/work/status', undefined, owner)).json.ready, 'work linked');
  return { owner, bot: bearer(made.json.key as string) };
}

describe('a key limited to one account', () => {
  it('reads and sends on that account', async () => {
    const { bot } = await serverWithWorkKey();
    expect((await srv.call('GET', '/api/accounts/work/status', undefined, bot)).status).toBe(200);
    const sent = await srv.call('POST', '/api/accounts/work/send', { phone_number: '15550001001', message: 'from the work bot' }, bot);
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    const read = await srv.call('GET', '/api/accounts/work/messages?phone_number=15550001001', undefined, bot);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.json.messages)).toContain('from the work bot');
  });

  it('is refused 403 naming the account on the default account, another account, and one that does not exist', async () => {
    const { owner, bot } = await serverWithWorkKey();
    for (const [route, account] of [
      ['/api/status', 'default'],
      ['/api/chats', 'default'],
      ['/api/accounts/default/status', 'default'],
      ['/api/accounts/other/status', 'other'],
      ['/api/accounts/other/chats', 'other'],
      ['/api/accounts/nonexistent/status', 'nonexistent'],
    ] as const) {
      const res = await srv.call('GET', route, undefined, bot);
      expect(res.status, route).toBe(403);
      expect(res.json.error).toMatchObject({ code: 'forbidden', details: { account, key: 'work-bot', accounts: ['work'] } });
      expect(res.json.error.message).toContain(`"${account}"`);
      expect(res.json.error.hint).toContain('/api/accounts/work/');
    }
    // The owner learns the account does not exist; the limited key above learned nothing.
    expect((await srv.call('GET', '/api/accounts/nonexistent/status', undefined, owner)).status).toBe(404);
  });

  it('sends nothing through another account', async () => {
    const { owner, bot } = await serverWithWorkKey();
    for (const route of ['/api/send', '/api/accounts/other/send', '/api/accounts/nonexistent/send']) {
      const res = await srv.call('POST', route, { phone_number: '15550001002', message: 'not through here' }, bot);
      expect(res.status, route).toBe(403);
    }
    expect((await srv.call('POST', '/api/accounts/work/send', { phone_number: '15550001002', message: 'through here' }, bot)).status).toBe(200);
    const outboxOf = async (prefix: string) => JSON.stringify((await srv.call('GET', `${prefix}/outbox`, undefined, owner)).json);
    expect(await outboxOf('/api/accounts/work')).toContain('15550001002');
    for (const prefix of ['/api', '/api/accounts/other']) expect(await outboxOf(prefix), prefix).not.toContain('15550001002');
  });

  it('is refused the server’s own operations and pages, but may ask who it is', async () => {
    const { bot } = await serverWithWorkKey();
    for (const route of ['/api/keys', '/api/audit', '/api/accounts', '/api/accounts/work']) {
      const res = await srv.call('GET', route, undefined, bot);
      expect(res.status, route).toBe(403);
    }
    const metrics = await srv.call('GET', '/metrics', undefined, bot);
    expect(metrics.status).toBe(403);
    expect(metrics.json.error.message).toContain('limited to some accounts');
    // /health is open, and to this key shows only what it shows a probe without one: not the default account.
    expect(Object.keys((await srv.call('GET', '/health', undefined, bot)).json.status).sort()).toEqual(['ready', 'state']);
    const me = await srv.call('GET', '/api/whoami', undefined, bot);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ name: 'work-bot', scopes: ['read', 'send'], accounts: ['work'], chats: null });
    // Another account's whoami would say whether that account exists.
    expect((await srv.call('GET', '/api/accounts/nonexistent/whoami', undefined, bot)).status).toBe(403);
    expect((await srv.call('GET', '/api/accounts/work/whoami', undefined, bot)).json.accounts).toEqual(['work']);
  });

  it('streams its own account’s events and is refused every other stream', async () => {
    const { bot } = await serverWithWorkKey();
    for (const url of ['/api/events', '/api/accounts/other/events', '/api/accounts/nonexistent/events']) {
      const sse = await openSse(`${srv.url}${url}`, bot);
      expect(sse.status, url).toBe(403);
    }
    const own = await openSse(`${srv.url}/api/accounts/work/events`, bot);
    try {
      expect(own.status).toBe(200);
    } finally {
      own.close();
    }
  });

  it('leaves an audit row for each refusal, under the account it asked for', async () => {
    const { owner, bot } = await serverWithWorkKey();
    await srv.call('GET', '/api/accounts/nonexistent/status', undefined, bot);
    await srv.call('POST', '/api/send', { phone_number: '15550001002', message: 'refused' }, bot);
    await openSse(`${srv.url}/api/accounts/other/events`, bot);
    await srv.call('GET', '/api/keys', undefined, bot);
    const rows = await waitFor(async () => {
      const { entries } = (await srv.call('GET', '/api/audit?key=work-bot', undefined, owner)).json as { entries: Array<Record<string, unknown>> };
      return entries.length >= 4 ? entries : null;
    }, 'four audit rows');
    expect(rows.map((r) => [r.account, r.operation, r.outcome])).toEqual([
      ['nonexistent', 'whatsapp_status', 'forbidden'],
      ['default', 'whatsapp_send_message', 'forbidden'],
      ['other', 'events_stream', 'forbidden'],
      ['default', 'keys_list', 'forbidden'],
    ]);
  });

  it('ends its open stream when its accounts change under it', async () => {
    const { owner, bot } = await serverWithWorkKey();
    const sse = await openSse(`${srv.url}/api/accounts/work/events?types=message.*`, bot);
    expect(sse.status).toBe(200);
    const inbound = (body: string) => srv.call('POST', '/api/accounts/work/sandbox/inbound', { from: '15550001003', body }, owner);
    await inbound('while it may');
    await waitFor(() => JSON.stringify(sse.frames).includes('while it may'), 'the first message streamed');
    // The same row, other accounts (no REST call edits a key: another connection, as a future CLI command would).
    const db = openAccessDb(path.join(srv.dataDir, ACCESS_DB_FILE));
    try {
      db.prepare(`UPDATE api_keys SET accounts = '["other"]' WHERE name = 'work-bot'`).run();
    } finally {
      db.close();
    }
    await inbound('after the change');
    await sse.closed;
    expect(sse.comments).toContain('key revoked');
    expect(JSON.stringify(sse.frames)).not.toContain('after the change');
  });
});

describe('keys add with accounts', () => {
  it('refuses admin beside accounts, an invalid id and an empty list (400 naming accounts); keeps an id not created yet', async () => {
    srv = await startTestServer();
    const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'send', 'manage', 'admin'] })).json.key as string);
    const add = (body: object) => srv.call('POST', '/api/keys', { name: 'k', scopes: ['read'], ...body }, owner);
    const admin = await add({ scopes: ['read', 'admin'], accounts: ['work'] });
    expect(admin.status).toBe(400);
    expect(admin.json.error.message).toMatch(/^accounts: .*admin/);
    expect(admin.json.error.hint).toContain('without --accounts');
    for (const accounts of [['Work!'], ['media'], ['session-x'], [''], []]) {
      const res = await add({ accounts });
      expect(res.status, JSON.stringify(accounts)).toBe(400);
      expect(res.json.error.message, JSON.stringify(accounts)).toMatch(/^accounts/);
    }
    expect((await srv.call('GET', '/api/keys', undefined, owner)).json.keys.map((k: { name: string }) => k.name)).toEqual(['owner']);

    // An account added after its key: the key works on it from then on.
    const later = await add({ name: 'later-bot', accounts: ['later', 'later'] });
    expect(later.status).toBe(201);
    expect(later.json.accounts).toEqual(['later']);
    const bot = bearer(later.json.key as string);
    // Its own account, not there yet: that it does not exist is no secret to this key.
    expect((await srv.call('GET', '/api/accounts/later/status', undefined, bot)).status).toBe(404);
    expect((await srv.call('POST', '/api/accounts', { id: 'later' }, owner)).status).toBe(201);
    expect((await srv.call('GET', '/api/accounts/later/status', undefined, bot)).status).toBe(200);
    const listed = (await srv.call('GET', '/api/keys', undefined, owner)).json.keys as Array<{ name: string; accounts: string[] | null }>;
    expect(listed.map((k) => [k.name, k.accounts])).toEqual([
      ['owner', null],
      ['later-bot', ['later']],
    ]);
  });

  it('a key limited to the default account is refused the others', async () => {
    srv = await startTestServer();
    const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'admin'] })).json.key as string);
    await srv.call('POST', '/api/accounts', { id: 'work' }, owner);
    const bot = bearer((await srv.call('POST', '/api/keys', { name: 'main-bot', scopes: ['read'], accounts: ['default'] }, owner)).json.key as string);
    expect((await srv.call('GET', '/api/status', undefined, bot)).status).toBe(200);
    expect((await srv.call('GET', '/api/accounts/default/chats', undefined, bot)).status).toBe(200);
    expect((await srv.call('GET', '/api/accounts/work/status', undefined, bot)).status).toBe(403);
  });
});

it('an account-limited principal may call no admin or server-wide operation; every server-wide operation is admin', () => {
  const limited: Principal = { name: 'p', scopes: new Set(['read', 'send', 'manage', 'admin']), chats: null, accounts: ['work'], ratePerMinute: null, door: 'mcp' };
  const allowed = OPERATIONS.filter((op) => mayCall(limited, op));
  expect(allowed.filter((op) => op.scope === 'admin' || op.serverWide)).toEqual([]);
  expect(allowed.map((op) => op.name)).toContain('whatsapp_send_message');
  // tools/list caches its listing per scope set and chat limit (src/mcp/tools.ts): exact only while no non-admin
  // operation is server-wide, since an account-limited key never holds admin.
  expect(OPERATIONS.filter((op) => op.serverWide && op.scope !== 'admin').map((op) => op.name)).toEqual([]);
});
