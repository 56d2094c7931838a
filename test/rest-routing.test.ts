// Routing rules a careless request meets: the most literal path wins (GET on a POST-only literal route is a 405, not
// a 400 about a bad id), and a body that contradicts the path is refused rather than silently ignored.
import { afterEach, expect, it } from 'vitest';
import { b64, png } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

it.each([
  ['GET', '/api/groups/join', 'POST'],
  ['GET', '/api/contacts/check', 'POST'],
])('%s %s is a 405 that names %s', async (method, path, allowed) => {
  srv = await startTestServer();
  const r = await srv.call(method, path);
  expect(r.status).toBe(405);
  expect(r.json.error.code).toBe('method_not_allowed');
  expect(r.headers.get('allow')).toContain(allowed);
});

it('a chat id in the body that differs from the path is a 400; the same chat spelt another way is fine', async () => {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  await srv.call('POST', '/api/sandbox/link', {});
  const other = await srv.call('POST', '/api/chats/15550001001@c.us/messages', { chat_id: '15550001002@c.us', message: 'which one?' });
  expect(other.status).toBe(400);
  expect(other.json.error.message).toMatch(/^chat_id: /);
  const same = await srv.call('POST', '/api/chats/15550001001@c.us/messages', { chat_id: '+1 555 000 1001', message: 'this one' });
  expect(same.status).toBe(200);
});

it('If-None-Match: * on a download is a 304', async () => {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  await srv.call('POST', '/api/sandbox/link', {});
  const sent = await srv.call('POST', '/api/send', { phone_number: '15550001001', media: { data: b64(png()) } });
  const res = await fetch(`${srv.url}/api/messages/${encodeURIComponent(sent.json.message_id)}/media`, { headers: { 'if-none-match': '*' } });
  expect(res.status).toBe(304);
});

it('a group of only yourself is a 400; a sandbox number ending in 0000 cannot write to you', async () => {
  srv = await startTestServer();
  await srv.call('POST', '/api/sandbox/link', { phone_number: '15550102030' });
  const alone = await srv.call('POST', '/api/groups', { subject: 'me', participants: ['+1 555 010 2030'] });
  expect(alone.status).toBe(400);
  expect(alone.json.error.message).toMatch(/other than yourself/);
  const ghost = await srv.call('POST', '/api/sandbox/inbound', { from: '15550020000', body: 'boo' });
  expect(ghost.status).toBe(404);
  expect(ghost.json.error.code).toBe('not_on_whatsapp');
});

it('an Expect header other than 100-continue is a 417 in the JSON error shape', async () => {
  srv = await startTestServer();
  const http = await import('node:http');
  const { port } = new URL(srv.url);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/status', headers: { expect: 'nonsense' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  expect(answer.status).toBe(417);
  expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { code: 'expectation_failed' } });
});

it('HEAD on the long-poll answers at once with the headers of an empty wait (it would otherwise wait timeout_s)', async () => {
  srv = await startTestServer();
  const head = await fetch(`${srv.url}/api/events/wait?timeout_s=120`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await head.text()).toBe('');
});
