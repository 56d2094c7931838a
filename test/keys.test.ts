// Stored API keys end to end: no key until one is added, then 401 without one; --chats on reads and sends; --rate;
// revoking from another process (the CLI's connection) takes effect without a restart, and how soon a keyless request
// notices (a fake clock drives KEYLESS_RECHECK_MS); the key is never written down.
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AppError } from '../src/errors.js';
import { RequestGuard } from '../src/http/security.js';
import { KEYLESS_RECHECK_MS, KeyService } from '../src/service/keys.js';
import { ACCESS_DB_FILE, openAccessDb } from '../src/store/access-db.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const ALICE = '447700900001';
const BOB = '447700900002';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function linkedWithChats(env: Record<string, string> = {}, opts = {}): Promise<TestServer> {
  srv = await startTestServer(env, opts);
  expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' })).status).toBe(200);
  for (const from of [ALICE, BOB]) expect((await srv.call('POST', '/api/sandbox/inbound', { from, body: `hello from ${from}` })).status).toBe(200);
  await waitFor(async () => (await srv.call('GET', '/api/chats')).json.chats?.length >= 2, 'two chats');
  return srv;
}

async function addKey(body: Record<string, unknown>, admin: Record<string, string> = {}): Promise<string> {
  const res = await srv.call('POST', '/api/keys', body, admin);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.key as string;
}

describe('turning keys on', () => {
  it('is open on loopback until the first key is added, then refuses a request without a key', async () => {
    srv = await startTestServer();
    expect((await srv.call('GET', '/api/status')).status).toBe(200);
    const key = await addKey({ name: 'first-admin', scopes: ['admin', 'read'] });
    expect(key).toMatch(/^wak_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$/);
    const refused = await srv.call('GET', '/api/status');
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe('unauthorized');
    expect((await srv.call('GET', '/api/status', undefined, bearer(key))).status).toBe(200);
    expect((await srv.call('GET', '/api/status', undefined, bearer(`${key.slice(0, -1)}x`))).status).toBe(401);
    // X-Api-Key works as for WHATSAPP_API_KEY.
    expect((await srv.call('GET', '/api/status', undefined, { 'x-api-key': key })).status).toBe(200);
  });

  it('refuses a duplicate name (409), an unknown scope (400 naming it) and a bad name', async () => {
    srv = await startTestServer();
    const admin = bearer(await addKey({ name: 'owner', scopes: ['admin'] }));
    expect((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read'] }, admin)).json.error.code).toBe('conflict');
    const bad = await srv.call('POST', '/api/keys', { name: 'x', scopes: ['read', 'write'] }, admin);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('"write"');
    expect((await srv.call('POST', '/api/keys', { name: 'Bad Name', scopes: ['read'] }, admin)).status).toBe(400);
    const listed = await srv.call('GET', '/api/keys', undefined, admin);
    expect(listed.json.keys.map((k: { name: string }) => k.name)).toEqual(['owner']);
    expect(JSON.stringify(listed.json)).not.toMatch(/wak_/);
  });
});

describe('--chats', () => {
  it('narrows reads to the key\'s chats and refuses the others, for reading and for sending', async () => {
    await linkedWithChats();
    const admin = bearer(await addKey({ name: 'owner', scopes: ['admin'] }));
    const key = bearer(await addKey({ name: 'alice-only', scopes: ['read', 'send'], chats: [`+${ALICE}`] }, admin));
    const chats = await srv.call('GET', '/api/chats', undefined, key);
    expect(chats.status).toBe(200);
    expect(chats.json.chats.map((c: { id: string }) => c.id)).toEqual([`${ALICE}@c.us`]);
    expect(chats.json.count).toBe(1);
    expect((await srv.call('GET', `/api/chats/${ALICE}@c.us/messages`, undefined, key)).status).toBe(200);
    const other = await srv.call('GET', `/api/chats/${BOB}@c.us/messages`, undefined, key);
    expect(other.status).toBe(403);
    expect(other.json.error).toMatchObject({ code: 'forbidden', details: { chat_id: `${BOB}@c.us` } });
    expect((await srv.call('GET', `/api/messages?phone_number=${BOB}`, undefined, key)).status).toBe(403);
    const search = await srv.call('GET', '/api/search?q=hello', undefined, key);
    expect(search.json.results.map((r: { message: { chat_id: string } }) => r.message.chat_id)).toEqual([`${ALICE}@c.us`]);
    const events = await srv.call('GET', '/api/events', undefined, key);
    expect(events.json.events.length).toBeGreaterThan(0);
    for (const e of events.json.events) expect([`${ALICE}@c.us`, null]).toContain(e.chat_id);
    expect(events.json.events.some((e: { chat_id: string | null }) => e.chat_id === `${BOB}@c.us`)).toBe(false);

    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'hi Alice' }, key)).status).toBe(200);
    const refused = await srv.call('POST', '/api/send', { phone_number: BOB, message: 'hi Bob' }, key);
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('forbidden');
    expect((await srv.call('POST', `/api/chats/${BOB}@c.us/messages`, { message: 'hi' }, key)).status).toBe(403);
    // Creating a group reaches chats beyond any list: refused for a limited key even with the manage scope.
    const manager = bearer(await addKey({ name: 'alice-manager', scopes: ['manage'], chats: [ALICE] }, admin));
    const group = await srv.call('POST', '/api/groups', { subject: 'x', participants: [ALICE] }, manager);
    expect(group.status).toBe(403);
    expect(group.json.error.code).toBe('forbidden');
  });
});

describe('--rate', () => {
  it('answers 429 rate_limited with Retry-After once the key has spent its burst', async () => {
    srv = await startTestServer();
    const key = bearer(await addKey({ name: 'slow', scopes: ['read'], rate_per_minute: 3 }));
    // 3 a minute bursts to 1: the first call goes, the second is refused.
    expect((await srv.call('GET', '/api/status', undefined, key)).status).toBe(200);
    const limited = await srv.call('GET', '/api/status', undefined, key);
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('revoking', () => {
  it('takes effect on the next request when another process (the CLI) revokes, and new keys work at once', async () => {
    srv = await startTestServer();
    const key = bearer(await addKey({ name: 'agent', scopes: ['read'] }));
    expect((await srv.call('GET', '/api/status', undefined, key)).status).toBe(200);
    // A second connection to the file, as `whatsapp-mcp-api keys` opens while the server runs.
    const db = openAccessDb(path.join(srv.dataDir, ACCESS_DB_FILE));
    try {
      const cli = new KeyService(db);
      const second = cli.create({ name: 'second', scopes: ['read'] }).key;
      expect((await srv.call('GET', '/api/status', undefined, bearer(second))).status).toBe(200);
      expect(cli.revoke('agent')).toBe(true);
    } finally {
      db.close();
    }
    expect((await srv.call('GET', '/api/status', undefined, key)).status).toBe(401);
  });
});

describe('how soon a change from another process applies', () => {
  it('a presented key at once (new or revoked); a keyless request within KEYLESS_RECHECK_MS, never longer', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-keys-window-')), ACCESS_DB_FILE);
    const serverDb = openAccessDb(file);
    const cliDb = openAccessDb(file);
    try {
      let now = 1_000_000;
      const keys = new KeyService(serverDb, () => now);
      const guard = new RequestGuard({ host: '127.0.0.1', apiKey: undefined, allowedHosts: [], corsOrigins: [] }, keys);
      const cli = new KeyService(cliDb);
      const who = (headers: Record<string, string> = {}): string => {
        try {
          return guard.authenticate({ headers: { host: '127.0.0.1:8790', ...headers } } as IncomingMessage).name;
        } catch (err) {
          return (err as AppError).code;
        }
      };
      expect(who()).toBe('anonymous');
      const key = cli.create({ name: 'agent', scopes: ['read'] }).key;
      // The first key closes the open server within the window: until then a keyless request is served as before it.
      now += KEYLESS_RECHECK_MS - 1;
      expect(who()).toBe('anonymous');
      now += 1;
      expect(who()).toBe('unauthorized');
      // A presented key is looked up as the file is now: the CLI's revoke refuses it on the next request, same instant.
      cli.create({ name: 'other', scopes: ['read'] });
      expect(who(bearer(key))).toBe('agent');
      expect(cli.revoke('agent')).toBe(true);
      expect(who(bearer(key))).toBe('unauthorized');
      // Revoking the last key reopens loopback within the window (closed a little longer, never open longer).
      expect(cli.revoke('other')).toBe(true);
      expect(who()).toBe('unauthorized');
      now += KEYLESS_RECHECK_MS;
      expect(who()).toBe('anonymous');
      // A clock stepped back does not stretch the window.
      cli.create({ name: 'third', scopes: ['read'] });
      now -= 60_000;
      expect(who()).toBe('unauthorized');
      // Changes through the server's own KeyService (REST /api/keys) apply at once, inside the window too.
      expect(keys.revoke('third')).toBe(true);
      expect(who()).toBe('anonymous');
      keys.create({ name: 'fourth', scopes: ['read'] });
      expect(who()).toBe('unauthorized');
    } finally {
      serverDb.close();
      cliDb.close();
    }
  });
});

describe('the key itself', () => {
  it('is never in the data directory, the logs or the audit trail', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    await linkedWithChats({}, { logger });
    const key = await addKey({ name: 'agent', scopes: ['read', 'send', 'admin'] });
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'hi' }, bearer(key))).status).toBe(200);
    expect((await srv.call('POST', '/api/send', { phone_number: 'nope', message: 'hi' }, bearer(key))).status).toBe(400);
    const audit = await srv.call('GET', '/api/audit', undefined, bearer(key));
    expect(audit.json.entries.length).toBeGreaterThan(0);
    await srv.close();
    // wak_<id8>_<secret32>: the secret is base64url and may itself hold '_', so cut by position, not by the last '_'.
    const secret = key.slice('wak_'.length + 8 + 1);
    expect(secret).toHaveLength(32);
    const files = (fs.readdirSync(srv.dir, { recursive: true }) as string[]).map((f) => path.join(srv.dir, f)).filter((f) => fs.statSync(f).isFile());
    expect(files.some((f) => f.endsWith(ACCESS_DB_FILE))).toBe(true);
    for (const f of files) expect(fs.readFileSync(f).includes(secret), f).toBe(false);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(secret);
    expect(JSON.stringify(audit.json)).not.toContain(secret);
    expect(fs.statSync(path.join(srv.dataDir, ACCESS_DB_FILE)).mode & 0o777).toBe(0o600);
  });
});
