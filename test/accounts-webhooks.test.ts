// Webhooks per account and for all: an account posts to WHATSAPP_WEBHOOK_URL and to its own URLs, set when it is
// added or changed live with PATCH /api/accounts/{id}, kept in accounts.json across restarts.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ACCOUNTS_FILE } from '../src/accounts/registry.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const SECRET = 'account-webhook-secret-0123456789';
const fast = { events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } };
const signed = { WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received' };
const onlyMessages = ['message.received'];

let srv: TestServer | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await srv?.close();
  srv = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

const prefix = (account: string) => (account === 'default' ? '/api' : `/api/accounts/${account}`);
const inbound = (s: TestServer, account: string, body: string) => s.call('POST', `${prefix(account)}/sandbox/inbound`, { from: '15550004001', body });
const bodies = (r: Receiver) => r.accepted().flatMap((h) => (h.event.type === 'message.received' ? [h.event.data.message.body as string] : []));
const has = (r: Receiver, body: string) => () => bodies(r).includes(body);
/** A URL as answers show it: the receivers' `?token=` masked (accounts-answers-audit.test.ts). */
const shown = (url: string) => url.replace(/\?.*$/, '?***');

describe('webhooks per account', () => {
  it('an account’s URL gets its events only; WHATSAPP_WEBHOOK_URL gets every account’s, each with `account`', async () => {
    const all = await receiver();
    const [forA, forB] = [await receiver(), await receiver()];
    srv = await startTestServer({ ...signed, WHATSAPP_WEBHOOK_URL: all.url }, fast);
    const a = await srv.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: [forA.url], events: onlyMessages } });
    expect(a.status).toBe(201);
    expect(a.json.account.webhooks).toEqual([
      { url: shown(all.url), for: 'all', events: onlyMessages },
      { url: shown(forA.url), for: 'account', events: onlyMessages },
    ]);
    expect((await srv.call('POST', '/api/accounts', { id: 'b', webhooks: { urls: [forB.url] } })).status).toBe(201);
    for (const id of ['default', 'a', 'b']) await srv.call('POST', `${prefix(id)}/sandbox/link`, {});

    for (const id of ['default', 'a', 'b']) await inbound(srv, id, `hello ${id}`);
    await waitFor(() => all.accepted().length >= 3 && has(forA, 'hello a')() && has(forB, 'hello b')(), 'every delivery');
    expect(all.accepted().map((h) => [h.event.account, h.event.data.message.body]).sort()).toEqual([['a', 'hello a'], ['b', 'hello b'], ['default', 'hello default']]);
    // b's webhooks take every type (no `events`): its connection events came too, and nothing of a or default.
    expect(new Set(forB.accepted().map((h) => h.event.account))).toEqual(new Set(['b']));
    expect(forB.accepted().some((h) => h.event.type === 'connection.state')).toBe(true);
    await inbound(srv, 'a', 'second for a');
    await waitFor(has(forA, 'second for a'), 'a’s second event');
    expect(forA.accepted().map((h) => [h.event.account, h.event.type])).toEqual([['a', 'message.received'], ['a', 'message.received']]);
    // Same signature as the server's URLs.
    const hook = forA.accepted()[0]!;
    expect(hook.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(`${hook.timestamp}.${hook.rawBody}`).digest('hex')}`);
    const listed = (await srv.call('GET', '/api/accounts')).json.accounts;
    expect(listed.map((x: { id: string; webhooks: Array<{ for: string }> }) => [x.id, x.webhooks.map((w) => w.for)])).toEqual([
      ['default', ['all']],
      ['a', ['all', 'account']],
      ['b', ['all', 'account']],
    ]);
  });

  it('PATCH adds and removes URLs live, the default account’s too: nothing lost or sent twice elsewhere', async () => {
    const all = await receiver();
    const [one, two] = [await receiver(), await receiver()];
    srv = await startTestServer({ ...signed, WHATSAPP_WEBHOOK_URL: all.url }, fast);
    await srv.call('POST', '/api/sandbox/link', {});
    const patch = (urls: string[]) => srv!.call('PATCH', '/api/accounts/default', { webhooks: { urls, events: onlyMessages } });

    expect((await patch([one.url])).json.account.webhooks.map((w: { url: string }) => w.url)).toEqual([all.url, one.url].map(shown));
    await inbound(srv, 'default', 'm1');
    await waitFor(has(one, 'm1'), 'm1 at the first URL');
    expect((await patch([one.url, two.url])).status).toBe(200);
    await inbound(srv, 'default', 'm2');
    await waitFor(() => has(one, 'm2')() && has(two, 'm2')(), 'm2 at both');
    // Removed: its lane stopped before the answer.
    expect((await patch([two.url])).status).toBe(200);
    await inbound(srv, 'default', 'm3');
    await inbound(srv, 'default', 'm4');
    await waitFor(has(two, 'm4'), 'm4 at the second URL');
    // Added again: a new URL, starting at the next event. Had its old lane gone on, m3 and m4 would come first
    // (one lane delivers in cursor order).
    expect((await patch([one.url, two.url])).status).toBe(200);
    await inbound(srv, 'default', 'm5');
    await waitFor(() => has(one, 'm5')() && has(two, 'm5')() && has(all, 'm5')(), 'm5 everywhere');

    expect(bodies(one)).toEqual(['m1', 'm2', 'm5']);
    expect(bodies(two)).toEqual(['m2', 'm3', 'm4', 'm5']);
    expect(bodies(all)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    for (const r of [one, two, all]) expect(new Set(r.requests.map((h) => h.id)).size).toBe(r.requests.length);

    expect((await patch([])).json.account.webhooks).toEqual([{ url: shown(all.url), for: 'all', events: onlyMessages }]);
    expect((await srv.call('PATCH', '/api/accounts/nope', { webhooks: { urls: [] } })).status).toBe(404);
  });

  it('keeps them in accounts.json across a restart, in a file an older version still reads', async () => {
    const [forA, forDefault] = [await receiver(), await receiver()];
    srv = await startTestServer(signed, fast);
    await srv.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: [forA.url], events: onlyMessages } });
    await srv.call('PATCH', '/api/accounts/default', { webhooks: { urls: [forDefault.url], events: onlyMessages } });
    await srv.call('POST', '/api/accounts/a/sandbox/link', {});
    await srv.call('POST', '/api/sandbox/link', {});
    const { dir, dataDir } = srv;
    await srv.close();

    const file = JSON.parse(fs.readFileSync(path.join(dataDir, ACCOUNTS_FILE), 'utf8'));
    expect(file).toMatchObject({
      version: 1,
      default: { webhooks: { urls: [forDefault.url], events: onlyMessages } },
      accounts: [{ id: 'a', engine: 'sandbox', webhooks: { urls: [forA.url], events: onlyMessages } }],
    });
    // The schema of the version before per-account webhooks: it still reads this file (and ignores what it lacks).
    const before = z.object({ version: z.literal(1), accounts: z.array(z.object({ id: z.string(), engine: z.string(), created_at: z.number().int() })) });
    expect(before.safeParse(file).success).toBe(true);

    srv = await startTestServer(signed, fast, dir);
    await waitFor(async () => (await srv!.call('GET', '/api/accounts')).json.accounts.every((x: { ready: boolean }) => x.ready), 'both accounts to reconnect');
    expect((await srv.call('GET', '/api/accounts/a')).json.account.webhooks).toEqual([{ url: shown(forA.url), for: 'account', events: onlyMessages }]);
    await inbound(srv, 'a', 'after restart a');
    await inbound(srv, 'default', 'after restart default');
    await waitFor(() => has(forA, 'after restart a')() && has(forDefault, 'after restart default')(), 'deliveries after the restart');
    expect(bodies(forA)).toEqual(['after restart a']);
    expect(bodies(forDefault)).toEqual(['after restart default']);
    await srv.close();

    // Stored URLs without a secret are refused at start, as WHATSAPP_WEBHOOK_URL is.
    await expect(startTestServer({}, fast, dir)).rejects.toThrow(/accounts\.json.*WHATSAPP_WEBHOOK_SECRET/);
    srv = undefined;
  });

  it('loads an accounts.json of version 1 without webhooks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-test-'));
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'data', ACCOUNTS_FILE), JSON.stringify({ version: 1, accounts: [{ id: 'old', engine: 'sandbox', created_at: 1_700_000_000_000 }] }));
    srv = await startTestServer(signed, fast, dir);
    const listed = (await srv.call('GET', '/api/accounts')).json.accounts;
    expect(listed.map((x: { id: string; webhooks: unknown[] }) => [x.id, x.webhooks])).toEqual([['default', []], ['old', []]]);
    // Setting webhooks on it rewrites the file with them, still version 1.
    const r = await receiver();
    expect((await srv.call('PATCH', '/api/accounts/old', { webhooks: { urls: [r.url] } })).status).toBe(200);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'data', ACCOUNTS_FILE), 'utf8'))).toEqual({
      version: 1,
      accounts: [{ id: 'old', engine: 'sandbox', created_at: 1_700_000_000_000, webhooks: { urls: [r.url], events: [] } }],
    });
  });
});

describe('webhook settings: bad input', () => {
  it.each([
    ['an ftp URL', { urls: ['ftp://example.com/hook'] }, 'webhooks.urls.0'],
    ['not a URL', { urls: ['example.com/hook'] }, 'webhooks.urls.0'],
    ['a URL twice', { urls: ['https://example.com/a', 'https://example.com/a'] }, 'webhooks.urls'],
    ['eleven URLs', { urls: Array.from({ length: 11 }, (_, i) => `https://example.com/${i}`) }, 'webhooks.urls'],
    ['an unknown event type', { urls: ['https://example.com/a'], events: ['message.typo'] }, 'webhooks.events'],
    ['a misspelt field', { url: ['https://example.com/a'] }, 'webhooks'],
  ])('refuses %s with 400 naming the field, on create and on PATCH, and changes nothing', async (_what, webhooks, field) => {
    srv = await startTestServer(signed);
    const created = await srv.call('POST', '/api/accounts', { id: 'x', webhooks });
    expect(created.status).toBe(400);
    expect(created.json.error.code).toBe('invalid_input');
    expect(created.json.error.message.startsWith(field)).toBe(true);
    expect((await srv.call('GET', '/api/accounts/x')).status).toBe(404);
    const patched = await srv.call('PATCH', '/api/accounts/default', { webhooks });
    expect(patched.status).toBe(400);
    expect(patched.json.error.message.startsWith(field)).toBe(true);
    expect((await srv.call('GET', '/api/accounts/default')).json.account.webhooks).toEqual([]);
  });

  it('refuses URLs without WHATSAPP_WEBHOOK_SECRET (400 with a hint) unless unsigned webhooks are allowed', async () => {
    srv = await startTestServer();
    const webhooks = { urls: ['https://example.com/hook'] };
    const created = await srv.call('POST', '/api/accounts', { id: 'x', webhooks });
    expect(created.status).toBe(400);
    expect(created.json.error).toMatchObject({ code: 'invalid_input', details: { field: 'webhooks.urls' } });
    expect(created.json.error.hint).toMatch(/WHATSAPP_WEBHOOK_SECRET.*WHATSAPP_WEBHOOK_ALLOW_UNSIGNED/);
    expect((await srv.call('GET', '/api/accounts')).json.count).toBe(1);
    expect((await srv.call('PATCH', '/api/accounts/default', { webhooks })).status).toBe(400);
    // No URLs need no secret.
    expect((await srv.call('PATCH', '/api/accounts/default', { webhooks: { urls: [] } })).status).toBe(200);
    await srv.close();

    const r = await receiver();
    srv = await startTestServer({ WHATSAPP_WEBHOOK_ALLOW_UNSIGNED: 'true' }, fast);
    expect((await srv.call('POST', '/api/accounts', { id: 'x', webhooks: { urls: [r.url], events: onlyMessages } })).status).toBe(201);
    await srv.call('POST', '/api/accounts/x/sandbox/link', {});
    await inbound(srv, 'x', 'unsigned');
    await waitFor(has(r, 'unsigned'), 'the unsigned delivery');
    expect(r.accepted()[0]!.signature).toBeUndefined();
  });

  it('is admin only', async () => {
    srv = await startTestServer(signed);
    const admin = { authorization: `Bearer ${(await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['admin'] })).json.key}` };
    const manager = { authorization: `Bearer ${(await srv.call('POST', '/api/keys', { name: 'm', scopes: ['read', 'send', 'manage'] }, admin)).json.key}` };
    const webhooks = { urls: ['https://example.com/hook'] };
    expect((await srv.call('PATCH', '/api/accounts/default', { webhooks }, manager)).status).toBe(403);
    expect((await srv.call('PATCH', '/api/accounts/default', { webhooks }, admin)).status).toBe(200);
  });
});
