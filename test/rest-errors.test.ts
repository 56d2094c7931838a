// Bad input and hostile requests get a clear 4xx JSON error, never a 500 or a hang.
import fs from 'node:fs';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

/** Raw request, for headers fetch() will not let us set (Host, bogus Content-Length). */
function raw(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('routing', () => {
  it('404 JSON for an unknown route, 405 with Allow for a wrong method', async () => {
    srv = await startTestServer();
    const nf = await srv.call('GET', '/api/nope');
    expect(nf.status).toBe(404);
    expect(nf.json).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const na = await srv.call('GET', '/api/send');
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toContain('POST');
    expect(na.json.error.code).toBe('method_not_allowed');
  });

  it('HEAD is GET without the body; a wrong method lists HEAD where GET is allowed', async () => {
    srv = await startTestServer();
    const get = await fetch(`${srv.url}/api/status`);
    const head = await fetch(`${srv.url}/api/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(head.headers.get('content-length')).toBe(String((await get.text()).length));
    expect(await head.text()).toBe('');
    expect((await fetch(`${srv.url}/api/send`, { method: 'HEAD' })).status).toBe(405);
    const put = await srv.call('PUT', '/api/status');
    expect(put.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});

describe('requests Node itself rejects, and odd request targets', () => {
  it('answers JSON for oversized headers, absolute-form targets and a doubled slash', async () => {
    srv = await startTestServer();
    const big = await raw(srv.url, { path: `/api/search?q=${'a'.repeat(20_000)}` });
    expect(big.status).toBe(431);
    expect(JSON.parse(big.body)).toMatchObject({ ok: false, error: { code: 'headers_too_large' } });
    const absolute = await raw(srv.url, { path: 'http://evil.example/api/status' });
    expect(absolute.status).toBe(400);
    expect(JSON.parse(absolute.body).error.message).toMatch(/must be a path/);
    const doubled = await raw(srv.url, { path: '//api/status' });
    expect(doubled.status).toBe(404);
    expect(JSON.parse(doubled.body).error.message).toContain('//api/status');
  });
});

describe('bodies', () => {
  it('names the field that is wrong', async () => {
    srv = await startTestServer();
    const cases: Array<[unknown, string]> = [
      [{ message: 'hi' }, 'phone_number'],
      [{ phone_number: '123', message: 'hi' }, 'phone_number'],
      [{ phone_number: 15550102030, message: 'hi' }, 'phone_number'],
      [{ phone_number: '15550102030' }, 'message'],
      [{ phone_number: '15550102030', message: '   ' }, 'message'],
      [{ phone_number: '15550102030', message: 'x'.repeat(65_537) }, 'message'],
    ];
    for (const [body, field] of cases) {
      const { status, json } = await srv.call('POST', '/api/send', body);
      expect(status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(json.error.code).toBe('invalid_input');
      expect(json.error.message.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('rejects bad limits before touching the engine', async () => {
    srv = await startTestServer();
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5']) {
      const { status, json } = await srv.call('GET', `/api/chats?${q}`);
      expect(status, q).toBe(400);
      expect(json.error.message).toMatch(/^limit:/);
    }
  });

  it('400 for malformed JSON or a non-object body, 415 for a non-JSON body, 413 past the cap', async () => {
    srv = await startTestServer({ WHATSAPP_MAX_BODY_BYTES: '2048' });
    const bad = await srv.call('POST', '/api/send', '{"phone_number":', {});
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/not valid JSON/);
    const arr = await srv.call('POST', '/api/send', [1, 2]);
    expect(arr.status).toBe(400);
    const text = await fetch(`${srv.url}/api/send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
    expect((await text.json()).error.code).toBe('unsupported_media_type');
    const gz = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x' }, { 'content-encoding': 'gzip' });
    expect(gz.status).toBe(415);
    const big = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('payload_too_large');
  });

  it('a body shorter than its Content-Length gets a 408 that says so, not a silent close a minute later', async () => {
    srv = await startTestServer({}, { timeouts: { bodyIdleMs: 300 } });
    const t = Date.now();
    const res = await raw(srv.url, { method: 'POST', path: '/api/send', headers: { 'content-type': 'application/json', 'content-length': '100' }, body: '{"a":1}' });
    expect(res.status).toBe(408);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'request_timeout', message: expect.stringContaining('7 of 100 bytes') });
    expect(res.headers.connection).toBe('close');
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it('400 for a body that is not UTF-8; a leading byte order mark is fine', async () => {
    srv = await startTestServer();
    const json = { 'content-type': 'application/json' };
    const bad = await raw(srv.url, { method: 'POST', path: '/api/send', headers: json, body: Buffer.concat([Buffer.from('{"phone_number":"15550001006","message":"'), Buffer.from([0xff, 0xfe]), Buffer.from(' bad"}')]) });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/UTF-8/);
    const bom = await raw(srv.url, { method: 'POST', path: '/api/send', headers: json, body: '\uFEFF{"phone_number":"15550001006"}' });
    expect(bom.status).toBe(400);
    expect(JSON.parse(bom.body).error.message).toMatch(/^message:/);
  });

  it('415 naming the charset for a JSON body declared in anything but UTF-8; utf-8 and utf8 in any case are fine', async () => {
    srv = await startTestServer();
    const body = JSON.stringify({ phone_number: '15550102030', message: 'café' });
    for (const charset of ['latin1', 'ISO-8859-1', '"windows-1252"', 'utf-16']) {
      const r = await raw(srv.url, { method: 'POST', path: '/api/send', headers: { 'content-type': `application/json; charset=${charset}` }, body });
      expect(r.status, charset).toBe(415);
      const error = JSON.parse(r.body).error;
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toContain(`charset ${charset.replace(/"/g, '')} is not accepted`);
    }
    for (const charset of ['utf-8', 'UTF-8', 'utf8', '"UTF-8"']) {
      // Not linked: past the body checks, the send answers 503.
      const r = await raw(srv.url, { method: 'POST', path: '/api/send', headers: { 'content-type': `application/json; charset=${charset}` }, body });
      expect(r.status, charset).toBe(503);
    }
  });

  it('413 from a declared Content-Length alone, without waiting for the body', async () => {
    srv = await startTestServer({ WHATSAPP_MAX_BODY_BYTES: '2048', WHATSAPP_MAX_MEDIA_BYTES: '4096' });
    // A route without files keeps WHATSAPP_MAX_BODY_BYTES; a send (which may carry base64 media) the media cap.
    const plain = await raw(srv.url, { method: 'POST', path: '/api/messages', headers: { 'content-type': 'application/json', 'content-length': '4000' } });
    expect(plain.status).toBe(413);
    const res = await raw(srv.url, { method: 'POST', path: '/api/send', headers: { 'content-type': 'application/json', 'content-length': '999999' } });
    expect(res.status).toBe(413);
  });
});

describe('security', () => {
  it('403 for a foreign Host (DNS rebinding) or Origin; allowed hosts opt in', async () => {
    srv = await startTestServer({ WHATSAPP_ALLOWED_HOSTS: 'wa.internal' });
    const port = new URL(srv.url).port;
    expect((await raw(srv.url, { path: '/api/status', headers: { host: `evil.example:${port}` } })).status).toBe(403);
    expect((await raw(srv.url, { path: '/api/status', headers: { host: `wa.internal:${port}` } })).status).toBe(200);
    const origin = await srv.call('GET', '/api/status', undefined, { origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    expect(origin.json.error.code).toBe('forbidden_origin');
    const local = await srv.call('GET', '/api/status', undefined, { origin: 'http://localhost:3000' });
    expect(local.status).toBe(200);
    expect(local.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('CORS only for opted-in origins, never a wildcard', async () => {
    srv = await startTestServer({ WHATSAPP_CORS_ORIGINS: 'https://app.example' });
    const pre = await fetch(`${srv.url}/api/send`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const get = await srv.call('GET', '/api/status', undefined, { origin: 'https://app.example' });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(`${srv.url}/api/send`, { method: 'OPTIONS', headers: { origin: 'https://other.example' } });
    expect(other.status).toBe(403);
  });

  it('with an API key: 401 + WWW-Authenticate without it, Bearer or X-Api-Key with it; /health stays open without account data', async () => {
    const key = 'k'.repeat(32);
    srv = await startTestServer({ WHATSAPP_API_KEY: key });
    await srv.call('POST', '/api/sandbox/link', {}, { authorization: `Bearer ${key}` });
    for (const p of ['/api/status', '/qr']) {
      const res = await srv.call('GET', p);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.json.error.code).toBe('unauthorized');
    }
    expect((await srv.call('GET', '/api/status', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await srv.call('GET', '/api/status', undefined, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await srv.call('GET', '/api/status', undefined, { 'x-api-key': key })).status).toBe(200);
    // /qr is opened in a browser: it offers Basic auth so the browser asks for the key (as the password).
    expect((await srv.call('GET', '/qr')).headers.get('www-authenticate')).toMatch(/Basic realm=/);
    const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`me:${pw}`).toString('base64')}` });
    expect((await srv.call('GET', '/qr', undefined, basic(key))).status).toBe(200);
    expect((await srv.call('GET', '/qr', undefined, basic('wrong'))).status).toBe(401);
    const health = await srv.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json.status).toEqual({ state: 'ready', ready: true });
  });

  it('creates the data and session directories private (0700)', async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', {});
    for (const d of ['data', 'auth', 'auth/session-default']) {
      expect((fs.statSync(`${srv.dir}/${d}`).mode & 0o777).toString(8), d).toBe('700');
    }
  });
});
