// A key limited to some chats never holds admin (it could mint itself an unlimited key), and a reader never sees the
// pairing code that would link the account to whoever types it.
import { afterEach, expect, it } from 'vitest';
import { mayCall } from '../src/operations/access.js';
import { OPERATIONS } from '../src/operations/index.js';
import type { Principal } from '../src/service/keys.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

it('keys add refuses admin together with chats (400 naming chats), over REST', async () => {
  srv = await startTestServer();
  const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'send', 'manage', 'admin'] })).json.key as string);
  const res = await srv.call('POST', '/api/keys', { name: 'ops', scopes: ['admin'], chats: ['+44 7700 900123'] }, owner);
  expect(res.status).toBe(400);
  expect(res.json.error.message).toMatch(/^chats: .*admin/);
  expect((await srv.call('GET', '/api/keys', undefined, owner)).json.keys.map((k: { name: string }) => k.name)).toEqual(['owner']);
});

it('a chat-limited principal (stored before that rule) may call no admin or server-wide operation', () => {
  const limited: Principal = { name: 'old', scopes: new Set(['read', 'send', 'manage', 'admin']), chats: ['447700900123@c.us'], accounts: null, ratePerMinute: null, door: 'rest' };
  const allowed = OPERATIONS.filter((op) => mayCall(limited, op)).map((op) => op.name);
  for (const name of ['keys_create', 'keys_revoke', 'keys_list', 'audit_list', 'whatsapp_logout', 'whatsapp_pairing_code']) expect(allowed).not.toContain(name);
  expect(allowed).toContain('whatsapp_send_message');
  const unlimited: Principal = { ...limited, chats: null };
  expect(OPERATIONS.filter((op) => mayCall(unlimited, op)).map((op) => op.name)).toContain('keys_create');
});

it('the pairing code is shown to admin keys only: whatsapp_status and / hide it from a read key', async () => {
  // The simulated phone never enters the code: the state stays pairing while both keys look.
  srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '600000' });
  const owner = bearer((await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['read', 'admin'] })).json.key as string);
  const reader = bearer((await srv.call('POST', '/api/keys', { name: 'reader', scopes: ['read'] }, owner)).json.key as string);
  expect((await srv.call('POST', '/api/pairing-code', { phone_number: '+44 7700 900123' }, owner)).status).toBe(200);
  await waitFor(async () => (await srv.call('GET', '/api/status', undefined, owner)).json.pairing_code !== null, 'a pairing code');
  const seen = (await srv.call('GET', '/api/status', undefined, owner)).json.pairing_code as string;
  expect(seen).toMatch(/\S/);
  const asReader = await srv.call('GET', '/api/status', undefined, reader);
  expect(asReader.json).toMatchObject({ state: 'pairing', pairing_code: null });
  const root = await srv.call('GET', '/', undefined, reader);
  expect(root.json.status).toMatchObject({ pairing_code: null });
  expect(JSON.stringify(root.json)).not.toContain(seen);
});
