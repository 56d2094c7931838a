// What a send refuses, over HTTP on the sandbox: each bad input is a 4xx JSON error naming the field, nothing is
// delivered, and no file is left in the media store (neither a staged one in media/tmp nor a new stored one).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { b64, deliveries, formData, mediaFiles, oggOpus, pdf, png, postForm, randomDocument, sha256, tmpFiles, webp } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ENV = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };
const PHONE = '15550102030';
const CHAT = `${PHONE}@c.us`;

let srv: TestServer;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await srv?.close();
});

async function linked(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer({ ...ENV, ...env });
  expect((await s.call('POST', '/api/sandbox/link', {})).status).toBe(200);
  return s;
}

interface Answer {
  status: number;
  json: any;
}

/** The field an error names: details.field, or the first zod issue's field. */
function fieldOf(error: { details?: { field?: string; issues?: Array<{ field: string }> } }): string | undefined {
  return error.details?.field ?? error.details?.issues?.[0]?.field;
}

/**
 * Run `act` and check the refusal as a user sees it: the status and code, the field named in the details and the
 * message, and nothing delivered or left on disk.
 */
async function expectRefused(s: TestServer, act: () => Promise<Answer>, want: { status: number; code: string; field?: string | RegExp }) {
  const sent = deliveries(s).length;
  const files = mediaFiles(s);
  const r = await act();
  expect(r.status, JSON.stringify(r.json)).toBe(want.status);
  expect(r.json.ok).toBe(false);
  expect(r.json.error.code).toBe(want.code);
  if (want.field !== undefined) {
    const field = fieldOf(r.json.error) ?? r.json.error.message;
    if (typeof want.field === 'string') {
      expect(field).toBe(want.field);
      expect(r.json.error.message.startsWith(`${want.field}:`) || r.json.error.message.includes(want.field)).toBe(true);
    } else expect(field).toMatch(want.field);
  }
  expect(deliveries(s)).toHaveLength(sent);
  expect(tmpFiles(s)).toEqual([]);
  expect(mediaFiles(s)).toEqual(files);
  return r;
}

const send = (s: TestServer, body: unknown) => () => s.call('POST', '/api/send', body);

describe('bad media', () => {
  it('bad base64 is a 400 naming media.data', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: 'not*base64!' } }), { status: 400, code: 'invalid_input', field: 'media.data' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: 'QUJD=RA==' } }), { status: 400, code: 'invalid_input', field: 'media.data' });
  });

  it('url and data together, or neither, is a 400 naming media', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()), url: 'https://example.com/a.png' } }), { status: 400, code: 'invalid_input', field: 'media' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { filename: 'a.png' } }), { status: 400, code: 'invalid_input', field: 'media' });
  });

  it('an unknown kind, or an unknown media field, is a 400 naming it', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()), kind: 'gif' } }), { status: 400, code: 'invalid_input', field: 'media.kind' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()), caption: 'x' } }), { status: 400, code: 'invalid_input', field: /media/ });
  });

  it('kind voice or sticker with a PNG is a 400 naming media.kind that says what the file is', async () => {
    srv = await linked();
    for (const kind of ['voice', 'sticker', 'video', 'audio']) {
      const r = await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()), kind } }), { status: 400, code: 'invalid_input', field: 'media.kind' });
      expect(r.json.error.message).toMatch(/image\/png/);
      expect(r.json.error.details.detected).toBe('image/png');
    }
    // The other way round too: an Ogg/Opus file is no image, a WebP no voice note.
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(oggOpus()), kind: 'image' } }), { status: 400, code: 'invalid_input', field: 'media.kind' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(webp()), kind: 'voice' } }), { status: 400, code: 'invalid_input', field: 'media.kind' });
  });

  it('kind voice with a PNG uploaded as multipart is refused and the staged upload removed', async () => {
    srv = await linked();
    await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE, kind: 'voice' }, { data: png(), filename: 'x.ogg', type: 'audio/ogg' })), {
      status: 400,
      code: 'invalid_input',
      field: 'media.kind',
    });
    await expectRefused(srv, () => postForm(srv, `/api/chats/${CHAT}/messages`, formData({ kind: 'tiff' }, { data: png() })), { status: 400, code: 'invalid_input', field: 'media.kind' });
  });

  it('an empty file is a 400, as base64 and as an upload', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: '' } }), { status: 400, code: 'invalid_input', field: 'media' });
    const r = await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: Buffer.alloc(0), filename: 'empty.txt' })), { status: 400, code: 'invalid_input', field: 'media' });
    expect(r.json.error.message).toMatch(/empty/);
  });

  it('media.path over REST is a 400 naming media.path, whether local files are off or allowed for MCP', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-roots-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const file = path.join(root, 'photo.png');
    fs.writeFileSync(file, png());
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { path: file } }), { status: 400, code: 'invalid_input', field: 'media.path' });
    await srv.close();
    srv = await linked({ WHATSAPP_MEDIA_ROOTS: root, WHATSAPP_MEDIA_PATH_OVER_HTTP: 'true' });
    const r = await expectRefused(srv, send(srv, { phone_number: PHONE, media: { path: file } }), { status: 400, code: 'invalid_input', field: 'media.path' });
    expect(r.json.error.message).toMatch(/multipart|media\.data/);
  });

  it('two file parts, or a file part under another name, are refused and leave nothing behind', async () => {
    srv = await linked();
    const two = formData({ phone_number: PHONE }, { data: png(), filename: 'a.png' });
    two.append('file2', new Blob([new Uint8Array(pdf())]), 'b.pdf');
    await expectRefused(srv, () => postForm(srv, '/api/send', two), { status: 400, code: 'invalid_input' });
    await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: png(), field: 'photo' })), { status: 400, code: 'invalid_input', field: /photo/ });
  });

  it('a form whose location or poll field is not JSON is a 400 naming it, and the uploaded file is removed', async () => {
    srv = await linked();
    for (const name of ['poll', 'location']) {
      await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE, [name]: '{not json' }, { data: png(), filename: 'p.png' })), {
        status: 400,
        code: 'invalid_input',
        field: name,
      });
    }
  });
});

describe('bad replies, polls and locations', () => {
  it('reply_to a message of another chat is a 400 naming reply_to, for text and for a file', async () => {
    srv = await linked();
    const elsewhere = await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'in Alice\'s chat' });
    const id = elsewhere.json.message.id;
    await expectRefused(srv, send(srv, { phone_number: PHONE, message: 'hi', reply_to: id }), { status: 400, code: 'invalid_input', field: 'reply_to' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()) }, reply_to: id }), { status: 400, code: 'invalid_input', field: 'reply_to' });
    await expectRefused(srv, () => postForm(srv, `/api/chats/${CHAT}/messages`, formData({ reply_to: id }, { data: png() })), { status: 400, code: 'invalid_input', field: 'reply_to' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, message: 'hi', reply_to: 'true_15550102030@c.us_NOPE' }), { status: 400, code: 'invalid_input', field: 'reply_to' });
  });

  it('a poll with 1 option, 13 options, duplicate options or an empty question is a 400 naming the field', async () => {
    srv = await linked();
    const opts = (n: number) => Array.from({ length: n }, (_, i) => `option ${i + 1}`);
    await expectRefused(srv, send(srv, { phone_number: PHONE, poll: { question: 'Q?', options: ['only'] } }), { status: 400, code: 'invalid_input', field: 'poll.options' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, poll: { question: 'Q?', options: opts(13) } }), { status: 400, code: 'invalid_input', field: 'poll.options' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, poll: { question: 'Q?', options: ['Yes', 'No', 'Yes'] } }), { status: 400, code: 'invalid_input', field: 'poll.options' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, poll: { question: ' ', options: ['a', 'b'] } }), { status: 400, code: 'invalid_input', field: 'poll.question' });
    // 12 is the most WhatsApp allows, and is fine.
    expect((await srv.call('POST', '/api/send', { phone_number: PHONE, poll: { question: 'Q?', options: opts(12) } })).status).toBe(200);
  });

  it('a location at latitude 91 or longitude 181 is a 400 naming the coordinate', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, location: { latitude: 91, longitude: 0 } }), { status: 400, code: 'invalid_input', field: 'location.latitude' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, location: { latitude: 0, longitude: 181 } }), { status: 400, code: 'invalid_input', field: 'location.longitude' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, location: { latitude: '1', longitude: 0 } }), { status: 400, code: 'invalid_input', field: 'location.latitude' });
  });

  it('a location or poll with text, or two kinds of content at once, is a 400 naming the extra field', async () => {
    srv = await linked();
    await expectRefused(srv, send(srv, { phone_number: PHONE, message: 'here I am', location: { latitude: 1, longitude: 2 } }), { status: 400, code: 'invalid_input', field: 'message' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, message: 'vote', poll: { question: 'Q?', options: ['a', 'b'] } }), { status: 400, code: 'invalid_input', field: 'message' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(png()) }, location: { latitude: 1, longitude: 2 } }), { status: 400, code: 'invalid_input', field: 'location' });
    await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE, poll: JSON.stringify({ question: 'Q?', options: ['a', 'b'] }) }, { data: png() })), {
      status: 400,
      code: 'invalid_input',
      field: 'poll',
    });
    await expectRefused(srv, send(srv, { phone_number: PHONE }), { status: 400, code: 'invalid_input', field: 'message' });
  });
});

describe('size caps', () => {
  const SMALL = { WHATSAPP_MAX_MEDIA_BYTES: '2048' };

  it('a file over WHATSAPP_MAX_MEDIA_BYTES is a 413, as base64 and as an upload, and nothing stays on disk', async () => {
    srv = await linked(SMALL);
    const big = randomDocument(4096);
    const r = await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(big) } }), { status: 413, code: 'payload_too_large' });
    expect(r.json.error.message).toMatch(/media\.data/);
    expect(r.json.error.details.max_bytes).toBe(2048);
    // One byte over is caught while streaming rather than from the base64 length. Each way is tried a few times:
    // a refusal that races the staging file's creation would leave a file only now and then.
    for (let i = 0; i < 10; i++) {
      await expectRefused(srv, send(srv, { phone_number: PHONE, media: { data: b64(randomDocument(2049)) } }), { status: 413, code: 'payload_too_large' });
      await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: big, filename: 'big.bin' })), { status: 413, code: 'payload_too_large' });
      await expectRefused(srv, () => postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: randomDocument(2049), filename: 'big.bin' })), { status: 413, code: 'payload_too_large' });
    }
    // The server is fine afterwards, and nothing turned up late.
    expect((await srv.call('GET', '/api/status')).status).toBe(200);
    expect(mediaFiles(srv)).toEqual([]);
  });

  it('a file of exactly WHATSAPP_MAX_MEDIA_BYTES goes through, as base64 and as an upload', async () => {
    srv = await linked(SMALL);
    const a = randomDocument(2048);
    const b = randomDocument(2048);
    expect((await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(a) } })).status).toBe(200);
    expect((await postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: b, filename: 'b.bin' }))).status).toBe(200);
    expect(deliveries(srv).map((d) => d.media?.sha256)).toEqual([sha256(a), sha256(b)]);
  });

  it('a JSON body over WHATSAPP_MAX_BODY_BYTES without a file is a 413, with or without Content-Length', async () => {
    srv = await linked({ WHATSAPP_MAX_BODY_BYTES: '2048' });
    const body = JSON.stringify({ phone_number: PHONE, message: 'x'.repeat(3000) });
    await expectRefused(srv, send(srv, body), { status: 413, code: 'payload_too_large' });
    await expectRefused(srv, () => srv.call('POST', `/api/chats/${CHAT}/messages`, { message: 'y'.repeat(3000) }), { status: 413, code: 'payload_too_large' });
    // Chunked transfer encoding gives no Content-Length: the cap must hold all the same.
    await expectRefused(srv, () => rawRequest(srv, { method: 'POST', path: '/api/send', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: [body.slice(0, 1000), body.slice(1000)] }), {
      status: 413,
      code: 'payload_too_large',
    });
    // A small body is fine, and a body carrying a file may be larger than the cap.
    expect((await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'short' })).status).toBe(200);
    expect((await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(randomDocument(3000)) } })).status).toBe(200);
  });
});

describe('media.url', () => {
  /** A local file server that counts what it is asked. */
  async function fileServer(files: Record<string, Buffer>) {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const body = files[req.url ?? ''];
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
  }

  it('a URL on 127.0.0.1 or localhost is refused by default, and the local server is never asked', async () => {
    const files = await fileServer({ '/pic.png': png() });
    srv = await linked();
    const r = await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: `${files.url}/pic.png` } }), { status: 400, code: 'invalid_input' });
    expect(r.json.error.message).toMatch(/^media\.url:.*private/);
    expect(r.json.error.hint).toMatch(/WHATSAPP_MEDIA_URL_ALLOW_PRIVATE/);
    const port = new URL(files.url).port;
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: `http://localhost:${port}/pic.png` } }), { status: 400, code: 'invalid_input' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: `http://[::ffff:127.0.0.1]:${port}/pic.png` } }), { status: 400, code: 'invalid_input' });
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: 'file:///etc/passwd' } }), { status: 400, code: 'invalid_input' });
    expect(files.hits).toEqual([]);
  });

  it('with WHATSAPP_MEDIA_URL_ALLOW_PRIVATE=true the same URL is fetched once; the bytes, type and name match', async () => {
    const file = png(6, 6, [200, 100, 50, 255]);
    const files = await fileServer({ '/pics/sunset.png': file });
    srv = await linked({ WHATSAPP_MEDIA_URL_ALLOW_PRIVATE: 'true' });
    const r = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'sunset', media: { url: `${files.url}/pics/sunset.png` } });
    expect(r.status).toBe(200);
    expect(files.hits).toEqual(['/pics/sunset.png']);
    expect(deliveries(srv)[0]).toMatchObject({ body: 'sunset', media: { kind: 'image', mimetype: 'image/png', filename: 'sunset.png', sha256: sha256(file), size: file.length } });
    const got = await fetch(`${srv.url}/api/messages/${encodeURIComponent(r.json.message_id)}/media`);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(file));
  });

  it('a URL that answers 404, or a file over the cap, is refused and leaves nothing behind', async () => {
    const files = await fileServer({ '/big.bin': randomDocument(4096) });
    srv = await linked({ WHATSAPP_MEDIA_URL_ALLOW_PRIVATE: 'true', WHATSAPP_MAX_MEDIA_BYTES: '2048' });
    const missing = await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: `${files.url}/nope.png` } }), { status: 400, code: 'invalid_input' });
    expect(missing.json.error.message).toMatch(/^media\.url:.*404/);
    await expectRefused(srv, send(srv, { phone_number: PHONE, media: { url: `${files.url}/big.bin` } }), { status: 413, code: 'payload_too_large' });
  });
});

describe('an upload cut off mid-file', () => {
  it('leaves no file in media/tmp, and the server answers the next request', async () => {
    srv = await linked();
    const boundary = '----wa-test-boundary';
    const file = randomDocument(512 * 1024);
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="phone_number"\r\n\r\n${PHONE}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const total = Buffer.byteLength(head) + file.length + Buffer.byteLength(tail);
    const { port } = new URL(srv.url);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/send', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': total } });
    const answered = new Promise<number | string>((resolve) => {
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
    });
    req.write(head);
    req.write(file.subarray(0, file.length / 2));
    // The half that arrived is being staged...
    await waitFor(() => tmpFiles(srv).length === 1, 'the upload staged in media/tmp');
    req.destroy();
    await answered;
    // ...and is gone once the server notices the hang-up.
    await waitFor(() => tmpFiles(srv).length === 0, 'the partial upload removed');
    expect(mediaFiles(srv)).toEqual([]);
    expect(deliveries(srv)).toEqual([]);
    const next = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'still here' });
    expect(next.status).toBe(200);
    const whole = await postForm(srv, '/api/send', formData({ phone_number: PHONE }, { data: file, filename: 'big.bin' }));
    expect(whole.status).toBe(200);
    expect(deliveries(srv).at(-1)?.media?.sha256).toBe(sha256(file));
  });
});

/** A request written by hand (chunked bodies, exact headers); JSON-decoded answer. */
function rawRequest(s: TestServer, o: { method: string; path: string; headers: Record<string, string>; chunks: string[] }): Promise<Answer> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: o.method, path: o.path, headers: o.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    for (const c of o.chunks) req.write(c);
    req.end();
  });
}
