// End-to-end: the baseline REST contract over real HTTP against the sandbox engine.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(env: Record<string, string> = {}): Promise<TestServer> {
  srv = await startTestServer(env);
  expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' })).status).toBe(200);
  return srv;
}

describe('health and status', () => {
  it('answers /health and / with the baseline shape', async () => {
    srv = await startTestServer();
    for (const p of ['/', '/health']) {
      const { status, json } = await srv.call('GET', p);
      expect(status).toBe(200);
      expect(json).toMatchObject({ ok: true, name: 'whatsapp-mcp-api', mcp: `${srv.url}/mcp` });
      expect(json.status.state).toBe('stopped');
    }
  });

  it('reports a stopped engine with every status field', async () => {
    srv = await startTestServer();
    const { json } = await srv.call('GET', '/api/status');
    expect(Object.keys(json).sort()).toEqual(
      ['account', 'auth_dir', 'authenticated', 'chrome_executable', 'engine', 'has_qr', 'headless', 'last_error', 'pairing_code', 'ready', 'state'].sort(),
    );
    expect(json).toMatchObject({ state: 'stopped', ready: false, authenticated: false, account: null, engine: 'sandbox', headless: true });
  });
});

describe('before linking', () => {
  it('answers 503 not_ready at once, with a hint, for send and for a chat the store has never seen', async () => {
    srv = await startTestServer();
    const calls = [
      srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'hi' }),
      srv.call('GET', '/api/messages?phone_number=15550102030'),
    ];
    for (const { status, json } of await Promise.all(calls)) {
      expect(status).toBe(503);
      expect(json.ok).toBe(false);
      expect(json.error.code).toBe('not_ready');
      expect(json.error.hint).toMatch(/pairing-code/);
    }
  });

  it('lists chats from the store (empty before any link) instead of failing', async () => {
    srv = await startTestServer();
    const { status, json } = await srv.call('GET', '/api/chats');
    expect(status).toBe(200);
    expect(json).toMatchObject({ ok: true, source: 'store', count: 0, chats: [] });
  });

  it('POST /api/auth/start returns the status immediately and a QR follows', async () => {
    srv = await startTestServer();
    const { status, json } = await srv.call('POST', '/api/auth/start');
    expect(status).toBe(200);
    expect(['starting', 'qr']).toContain(json.state);
    const qr = await waitFor(async () => (await srv.call('GET', '/api/status')).json.has_qr, 'a QR');
    expect(qr).toBe(true);
  });
});

describe('linking', () => {
  it('links with an 8-character pairing code and becomes ready as that number', async () => {
    srv = await startTestServer({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '200' });
    const { status, json } = await srv.call('POST', '/api/pairing-code', { phone_number: '+1 (555) 010-2030' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ already_authenticated: false, phone_number: '15550102030' });
    expect(json.code).toMatch(/^[A-Z0-9]{8}$/);
    expect(json.instructions).toContain(json.code);
    const during = (await srv.call('GET', '/api/status')).json;
    expect(during).toMatchObject({ state: 'pairing', pairing_code: json.code });
    const ready = await waitFor(async () => {
      const s = (await srv.call('GET', '/api/status')).json;
      return s.ready ? s : null;
    }, 'ready');
    expect(ready.account.wid).toBe('15550102030@c.us');
    const again = await srv.call('POST', '/api/pairing-code', { phone_number: '15550102030' });
    expect(again.json).toMatchObject({ already_authenticated: true, code: null, status: { state: 'ready' } });
  });

  it('links by QR once the /qr page has shown it, and the page says so', async () => {
    srv = await startTestServer();
    const first = await srv.call('GET', '/qr');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/text\/html/);
    expect(first.json).toContain('<meta http-equiv="refresh" content="5">');
    const withQr = await waitFor(async () => {
      const page = (await srv.call('GET', '/qr')).json as string;
      return page.includes('data:image/png;base64,') ? page : null;
    }, 'a QR image');
    expect(withQr).toContain('Scan to link');
    await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'ready after scan');
    expect((await srv.call('GET', '/qr')).json).toContain('Linked');
  });

  it('stays linked across a restart with no step, and logout forgets the session', async () => {
    srv = await linked();
    const dir = srv.dir;
    const sent = (await srv.call('POST', '/api/send', { phone_number: '15550001002', message: 'before the restart' })).json;
    await srv.close();
    srv = await startTestServer({}, {}, dir);
    const status = await waitFor(async () => {
      const s = (await srv.call('GET', '/api/status')).json;
      return s.ready ? s : null;
    }, 'ready after restart');
    expect(status.account.wid).toBe('447700900123@c.us');
    const history = (await srv.call('GET', '/api/messages?phone_number=15550001002&limit=1')).json;
    expect(history.messages[0]).toMatchObject({ id: sent.message_id, body: 'before the restart', from_me: true });

    expect((await srv.call('POST', '/api/logout')).json).toEqual({ ok: true });
    expect((await srv.call('GET', '/api/status')).json.state).toBe('stopped');
    expect(fs.existsSync(path.join(dir, 'auth', 'session-default'))).toBe(false);
    expect((await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x' })).status).toBe(503);
  });
});

describe('messaging', () => {
  it('sends, then the message is in the chat history with from_me and acks progress to read', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/send', { phone_number: '+1 555 010 2030', message: 'Build 42 passed' });
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ ok: true, to: '15550102030', chat_id: '15550102030@c.us' });
    expect(typeof sent.json.message_id).toBe('string');
    expect(Number.isInteger(sent.json.timestamp)).toBe(true);

    const read = await waitFor(async () => {
      const r = (await srv.call('GET', '/api/messages?phone_number=15550102030')).json;
      return r.messages?.at(-1)?.ack === 'read' ? r : null;
    }, 'ack read');
    expect(read.messages.at(-1)).toMatchObject({ id: sent.json.message_id, body: 'Build 42 passed', from_me: true, chat_id: '15550102030@c.us' });
    expect(read.chat.id).toBe('15550102030@c.us');
  });

  it('sends to a group by chat id; takes a chat id where a phone number goes, and the other way round', async () => {
    srv = await linked();
    const group = '120363000000000001@g.us';
    const sent = await srv.call('POST', `/api/chats/${group}/messages`, { message: 'Deploy finished' }, { 'idempotency-key': 'deploy-1' });
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ ok: true, status: 'sent', to: group, chat_id: group });
    const page = (await srv.call('GET', `/api/chats/${group}/messages?limit=1`)).json;
    expect(page.messages[0]).toMatchObject({ id: sent.json.message_id, body: 'Deploy finished', from_me: true });
    // Same key, same chat: the first result again.
    expect((await srv.call('POST', `/api/chats/${group}/messages`, { message: 'Deploy finished' }, { 'idempotency-key': 'deploy-1' })).json.message_id).toBe(sent.json.message_id);
    const unknown = await srv.call('POST', '/api/chats/120363999999999999@g.us/messages', { message: 'x' });
    expect(unknown.status).toBe(404);
    // A person's chat id in phone_number, a phone number in a chat id.
    expect((await srv.call('POST', '/api/send', { phone_number: '15550102030@c.us', message: 'hi' })).json).toMatchObject({ status: 'sent', to: '15550102030' });
    expect((await srv.call('POST', '/api/chats/+1 555 010 2030/messages', { message: 'hi again' })).json).toMatchObject({ status: 'sent', chat_id: '15550102030@c.us' });
    expect((await srv.call('GET', '/api/chats/15550102030')).json.chat.id).toBe('15550102030@c.us');
    // Status updates and channels are not chats: nothing goes there by this route.
    const status = await srv.call('POST', '/api/chats/status@broadcast/messages', { message: 'x' });
    expect(status.status).toBe(400);
    expect(status.json.error.message).toMatch(/cannot be sent to/);
    // The server's spelling of a person's id, and any case, name the same chat (one idempotency key, one send).
    const a = await srv.call('POST', '/api/chats/15550102031@s.whatsapp.net/messages', { message: 'same' }, { 'idempotency-key': 'same-1' });
    const b = await srv.call('POST', '/api/send', { phone_number: '15550102031@C.US', message: 'same' }, { 'idempotency-key': 'same-1' });
    expect(a.json).toMatchObject({ status: 'sent', chat_id: '15550102031@c.us' });
    expect(b.json).toMatchObject({ replayed: true, message_id: a.json.message_id });
    const wrong = await srv.call('POST', '/api/send', { phone_number: group, message: 'x' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.message).toMatch(/group chat id.*\/api\/chats\/\{chat_id\}\/messages/);
  });

  it('lists chats newest first and honours limit', async () => {
    srv = await linked();
    const all = (await srv.call('GET', '/api/chats')).json;
    expect(all.ok).toBe(true);
    expect(all.count).toBe(all.chats.length);
    expect(all.chats.some((c: { is_group: boolean }) => c.is_group)).toBe(true);
    const stamps = all.chats.map((c: { timestamp: number }) => c.timestamp);
    expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
    const two = (await srv.call('GET', '/api/chats?limit=2')).json;
    expect(two.count).toBe(2);
    expect(two.chats.map((c: { id: string }) => c.id)).toEqual(all.chats.slice(0, 2).map((c: { id: string }) => c.id));
  });

  it('reads messages oldest first by GET and POST, and inbound messages arrive', async () => {
    srv = await linked();
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'Are you there?' });
    expect(inbound.json.message).toMatchObject({ from_me: false, body: 'Are you there?', chat_id: '15550001001@c.us' });
    const byGet = (await srv.call('GET', '/api/messages?phone_number=15550001001&limit=3')).json;
    const byPost = (await srv.call('POST', '/api/messages', { phone_number: '+1 555 000 1001', limit: 3 })).json;
    expect(byGet).toEqual(byPost);
    expect(byGet.count).toBe(3);
    const stamps = byGet.messages.map((m: { timestamp: number }) => m.timestamp);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(byGet.messages.at(-1).body).toBe('Are you there?');
  });

  it('answers 404 for a chat that does not exist', async () => {
    srv = await linked();
    const { status, json } = await srv.call('GET', '/api/messages?phone_number=19995550000');
    expect(status).toBe(404);
    expect(json.error.code).toBe('not_found');
  });

  it('reconnects by itself after a dropped connection', async () => {
    srv = await linked();
    expect((await srv.call('POST', '/api/sandbox/disconnect')).status).toBe(200);
    expect((await srv.call('GET', '/api/status')).json.state).toBe('disconnected');
    await waitFor(async () => (await srv.call('GET', '/api/status')).json.ready, 'reconnected');
  });
});
