// The audit trail: a row per state-changing call (ok, queued, and the queued send's later fate), per refused attempt,
// none for plain reads; text as sha256 + length unless WHATSAPP_AUDIT_BODIES; paging and filters; retention.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { AuditService } from '../src/service/audit.js';
import { openAccessDb } from '../src/store/access-db.js';
import { connectHttpClient } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const ADMIN = 'audit-admin-key-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const ALICE = '447700900001';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function start(env: Record<string, string> = {}, link = true): Promise<TestServer> {
  srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN, ...env });
  if (link) expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' }, admin)).status).toBe(200);
  return srv;
}

async function entries(query = ''): Promise<any[]> {
  const res = await srv.call('GET', `/api/audit${query}`, undefined, admin);
  expect(res.status).toBe(200);
  return res.json.entries;
}

async function key(name: string, scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await srv.call('POST', '/api/keys', { name, scopes, ...extra }, admin);
  expect(res.status).toBe(201);
  return { authorization: `Bearer ${res.json.key}` };
}

describe('rows', () => {
  it('records a send with who, door, chat, outcome and the text\'s hash and length, never the text', async () => {
    await start();
    const agent = await key('agent', ['send', 'read']);
    const text = 'Meet at noon';
    const sent = await srv.call('POST', '/api/send', { phone_number: ALICE, message: text }, agent);
    expect(sent.status).toBe(200);
    await srv.call('GET', '/api/chats', undefined, agent); // a read: no row
    const rows = await entries('?key=agent');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: 'agent', door: 'rest', operation: 'whatsapp_send_message', chat_id: `${ALICE}@c.us`, outcome: 'ok', outbox_id: sent.json.outbox_id, account: 'default', text_sha256: sha(text), text_length: text.length });
    expect(rows[0].text).toBeUndefined();
    expect(JSON.stringify(rows)).not.toContain(text);
    // The link and the key creation are state changes of the env admin key.
    expect((await entries('?key=env')).map((r) => r.operation)).toEqual(['sandbox_link', 'keys_create']);
  });

  it('says which key a keys_create or keys_revoke row was about', async () => {
    await start({}, false);
    await key('helper', ['read']);
    expect((await srv.call('DELETE', '/api/keys/helper', undefined, admin)).status).toBe(200);
    expect((await srv.call('DELETE', '/api/keys/nobody', undefined, admin)).status).toBe(404);
    const rows = (await entries('?key=env')).map((r) => [r.operation, r.outcome, r.target, r.chat_id]);
    expect(rows).toEqual([
      ['keys_create', 'ok', 'helper', null],
      ['keys_revoke', 'ok', 'helper', null],
      ['keys_revoke', 'not_found', 'nobody', null],
    ]);
  });

  it('keeps the text with WHATSAPP_AUDIT_BODIES=true', async () => {
    await start({ WHATSAPP_AUDIT_BODIES: 'true' });
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'kept' }, admin)).status).toBe(200);
    const [row] = (await entries()).filter((r) => r.operation === 'whatsapp_send_message');
    expect(row).toMatchObject({ text: 'kept', text_sha256: sha('kept'), text_length: 4 });
  });

  it('records a queued send as queued, then its delivery as sent', async () => {
    await start({}, false);
    const queued = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'later', queue: true }, admin);
    expect(queued.status).toBe(202);
    expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' }, admin)).status).toBe(200);
    const rows = await waitFor(async () => {
      const r = (await entries()).filter((e) => e.outbox_id === queued.json.outbox_id);
      return r.length === 2 ? r : null;
    }, 'the sent row');
    expect(rows.map((r) => [r.operation, r.outcome, r.key])).toEqual([
      ['whatsapp_send_message', 'queued', 'env'],
      ['whatsapp_send_message', 'sent', 'env'],
    ]);
  });

  it('records refused attempts: missing scope, other chat, rate, bad input', async () => {
    await start();
    const reader = await key('reader', ['read'], { rate_per_minute: 3 });
    const limited = await key('limited', ['send'], { chats: [ALICE] });
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'x' }, reader)).status).toBe(403);
    // 3 a minute bursts to 1; the refused send above spent none of it (scope is checked first).
    expect((await srv.call('GET', '/api/status', undefined, reader)).status).toBe(200);
    expect((await srv.call('GET', '/api/status', undefined, reader)).status).toBe(429);
    expect((await srv.call('POST', '/api/send', { phone_number: '447700900002', message: 'y' }, limited)).status).toBe(403);
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE }, limited)).status).toBe(400);
    const rows = (await entries()).filter((r) => r.key !== 'env');
    expect(rows.map((r) => [r.key, r.operation, r.outcome, r.chat_id])).toEqual([
      ['reader', 'whatsapp_send_message', 'forbidden', `${ALICE}@c.us`],
      ['reader', 'whatsapp_status', 'rate_limited', null],
      ['limited', 'whatsapp_send_message', 'forbidden', '447700900002@c.us'],
      ['limited', 'whatsapp_send_message', 'invalid_input', `${ALICE}@c.us`],
    ]);
    expect(rows[0]).toMatchObject({ text_sha256: sha('x'), text_length: 1 });
  });

  it('says which door: an MCP tool call is door mcp', async () => {
    await start();
    const { client } = await connectHttpClient(srv.url, { headers: admin });
    try {
      const r = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: ALICE, message: 'via mcp' } });
      expect(r.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const [row] = (await entries()).filter((e) => e.operation === 'whatsapp_send_message');
    expect(row).toMatchObject({ door: 'mcp', key: 'env', outcome: 'ok' });
  });
});

describe('GET /api/audit', () => {
  it('pages by cursor and filters by key and chat', async () => {
    await start({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
    for (const n of [1, 2, 3]) expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: `m${n}` }, admin)).status).toBe(200);
    expect((await srv.call('POST', '/api/send', { phone_number: '447700900002', message: 'other' }, admin)).status).toBe(200);
    const first = await srv.call('GET', '/api/audit?limit=2', undefined, admin);
    expect(first.json).toMatchObject({ count: 2, has_more: true });
    const second = await srv.call('GET', `/api/audit?limit=100&after=${first.json.next_after}`, undefined, admin);
    expect(second.json.entries[0].id).toBeGreaterThan(first.json.next_after);
    expect(second.json.has_more).toBe(false);
    const alice = await entries(`?chat_id=%2B${ALICE}`);
    expect(alice.map((r) => r.chat_id)).toEqual([`${ALICE}@c.us`, `${ALICE}@c.us`, `${ALICE}@c.us`]);
    expect((await srv.call('GET', '/api/audit?lmit=2', undefined, admin)).status).toBe(400);
  });
});

describe('retention', () => {
  it('prunes rows older than WHATSAPP_AUDIT_RETENTION_DAYS', () => {
    let now = Date.UTC(2026, 0, 1);
    const audit = new AuditService(openAccessDb(':memory:'), { bodies: false, retentionDays: 90, logger: silentLogger(), now: () => now });
    audit.record({ key: 'a', door: 'rest', operation: 'old', chat_id: null, outcome: 'ok' });
    now += 89 * 24 * 3600 * 1000;
    audit.record({ key: 'a', door: 'rest', operation: 'newer', chat_id: null, outcome: 'ok' });
    now += 2 * 24 * 3600 * 1000;
    expect(audit.prune()).toBe(1);
    expect(audit.page({ after: 0, limit: 10 }).rows.map((r) => r.operation)).toEqual(['newer']);
  });
});

describe('upgrade', () => {
  it('an access.db from before the target column gets it, old rows reading target null', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-access-')), 'access.db');
    const v1 = openAccessDb(file);
    v1.exec("ALTER TABLE audit DROP COLUMN target; ALTER TABLE api_keys DROP COLUMN accounts; PRAGMA user_version = 1; INSERT INTO audit (at, key_name, door, operation, outcome) VALUES (1, 'a', 'rest', 'keys_create', 'ok')");
    v1.close();
    const db = openAccessDb(file);
    const audit = new AuditService(db, { bodies: false, retentionDays: 90, logger: silentLogger() });
    audit.record({ key: 'a', door: 'cli', operation: 'keys_revoke', chat_id: null, outcome: 'ok', target: 'helper' });
    expect(audit.page({ after: 0, limit: 10 }).rows.map((r) => r.target)).toEqual([null, 'helper']);
    db.close();
  });
});
