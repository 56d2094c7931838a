// Scopes, table-driven over the operations table: every operation declares its scope and how it touches chats, a key
// without the scope is refused on every REST route and MCP-only operation, and a key with it is not refused for scope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../src/operations/invoke.js';
import { OPERATIONS } from '../src/operations/index.js';
import { SCOPES, type Scope } from '../src/service/keys.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ADMIN = 'test-admin-key-0123456789';
let srv: TestServer;
/** without[s]: a key with every scope but s; only[s]: a key with s alone. */
const without = {} as Record<Scope, string>;
const only = {} as Record<Scope, string>;

beforeAll(async () => {
  srv = await startTestServer({ WHATSAPP_API_KEY: ADMIN });
  for (const s of SCOPES) {
    const a = await srv.call('POST', '/api/keys', { name: `without-${s}`, scopes: SCOPES.filter((x) => x !== s) }, auth(ADMIN));
    const b = await srv.call('POST', '/api/keys', { name: `only-${s}`, scopes: [s] }, auth(ADMIN));
    expect([a.status, b.status]).toEqual([201, 201]);
    without[s] = a.json.key;
    only[s] = b.json.key;
  }
});
afterAll(async () => {
  await srv?.close();
});

function auth(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

const PARAMS: Record<string, string> = {
  chat_id: '15550102030@c.us',
  group_id: '120363000000000001@g.us',
  message_id: 'no-such-message',
  outbox_id: 'no-such-send',
  id: '1',
  name: 'no-such-key',
};
const ROUTES = OPERATIONS.flatMap((op) => op.rest.map((r) => ({ op, ...r, url: r.path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(PARAMS[p]!)) })));

describe('the operations table', () => {
  it('gives every operation a scope and a declaration of how it touches chats', () => {
    for (const op of OPERATIONS) {
      expect(SCOPES, op.name).toContain(op.scope);
      expect(['none', 'chat', 'filter', 'handler', 'unbounded'], op.name).toContain(op.chats?.kind);
    }
  });

  it('puts linking, logout, dead letters, keys, audit and sandbox controls under admin, and changes outside read', () => {
    const admin = ['whatsapp_start_auth', 'whatsapp_pairing_code', 'whatsapp_get_qr', 'whatsapp_logout', 'webhooks_list_dead_letters', 'keys_create', 'keys_revoke', 'keys_list', 'audit_list'];
    for (const name of admin) expect(OPERATIONS.find((o) => o.name === name)?.scope, name).toBe('admin');
    for (const op of OPERATIONS.filter((o) => o.name.startsWith('sandbox_'))) expect(op.scope, op.name).toBe('admin');
    // A read key must never change anything.
    for (const op of OPERATIONS.filter((o) => o.scope === 'read')) expect(op.annotations.readOnlyHint, op.name).toBe(true);
  });
});

describe('REST: a key without the scope', () => {
  it.each(ROUTES.map((r) => [`${r.method} ${r.path} (${r.op.name}, ${r.op.scope})`, r] as const))('is refused 403 naming the scope: %s', async (_label, r) => {
    const res = await srv.call(r.method, r.url, r.method === 'GET' ? undefined : {}, auth(without[r.op.scope]));
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({ code: 'forbidden', message: `This key lacks the ${r.op.scope} scope`, details: { scope: r.op.scope } });
    // The hint names what the caller sent, not an internal operation id (keys_list means nothing over REST).
    expect(res.json.error.hint).toMatch(new RegExp(`^(\\w+ /\\S+ or )*${r.method} ${r.path.replace(/[{}]/g, '\\$&')}( or |\\s)`));
  });
});

describe('REST: a key with the scope', () => {
  it.each(ROUTES.map((r) => [`${r.method} ${r.path} (${r.op.name})`, r] as const))('is not refused for its scope: %s', async (_label, r) => {
    // The long-poll would wait its default 30 s.
    const url = r.op.name === 'whatsapp_wait_for_message' ? `${r.url}?timeout_s=1` : r.url;
    const res = await srv.call(r.method, url, r.method === 'GET' ? undefined : {}, auth(only[r.op.scope]));
    expect(res.json?.error?.code ?? 'ok').not.toBe('forbidden');
    expect(res.status).not.toBe(401);
  });
});

describe('every operation, MCP-only ones too', () => {
  it('refuses a principal without the scope before validating or touching the engine', async () => {
    for (const op of OPERATIONS) {
      const principal = { name: 't', scopes: new Set(SCOPES.filter((s) => s !== op.scope)), chats: null, accounts: null, ratePerMinute: null, door: 'mcp' as const };
      await expect(invokeOperation(op, { not_a_field: 1 }, srv.app.services, { principal }), op.name).rejects.toMatchObject({ code: 'forbidden', details: { scope: op.scope } });
    }
  });
});

describe('MCP over HTTP', () => {
  it('checks a tool call against the key that sent it', async () => {
    const { client } = await connectHttpClient(srv.url, { headers: auth(only.read) });
    try {
      const sent = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '+1 555 010 2030', message: 'hi' } });
      expect(sent.isError).toBe(true);
      expect(structured(sent).error).toMatchObject({ code: 'forbidden', details: { scope: 'send' } });
      expect(structured(sent).error.hint).toMatch(/^whatsapp_send_message needs a key with the send scope/);
      const status = await client.callTool({ name: 'whatsapp_status', arguments: {} });
      expect(status.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });
});

describe('pages and the event stream', () => {
  it('/qr needs admin, /metrics read; the SSE stream needs read', async () => {
    const qr = await srv.call('GET', '/qr', undefined, auth(without.admin));
    expect(qr.status).toBe(403);
    expect(qr.json.error.hint).toMatch(/^GET \/qr needs a key with the admin scope/);
    expect((await srv.call('GET', '/metrics', undefined, auth(only.read))).status).toBe(200);
    expect((await srv.call('GET', '/metrics', undefined, auth(without.read))).status).toBe(403);
    const res = await fetch(`${srv.url}/api/events`, { headers: { accept: 'text/event-stream', ...auth(without.read) } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });
});

describe('untrusted content', () => {
  it('every operation whose result carries other people\'s words says in its description that they are data, not instructions', () => {
    const marked = OPERATIONS.filter((op) => op.untrusted);
    expect(marked.map((op) => op.name)).toEqual(expect.arrayContaining(['whatsapp_read_messages', 'whatsapp_list_chats', 'whatsapp_search_messages', 'whatsapp_get_updates', 'whatsapp_get_group']));
    for (const op of marked) expect(op.description, op.name).toMatch(/(data|not|never),? (not|never|as) (as )?instructions/);
    // Reads that return messages, chats, contacts or groups must be marked.
    const returnsWords = OPERATIONS.filter((op) => op.scope === 'read' && /message|chat|contact|group|updates|media/.test(op.name) && op.name !== 'whatsapp_check_numbers');
    for (const op of returnsWords) expect(op.untrusted, op.name).toBe(true);
  });
});
