// Fuzz: >= 10,000 generated hostile requests against REST and MCP over raw sockets.
// Pass: no response >= 500, the server never dies, and its memory settles back near where it started.
// /api/logout is left out: it legitimately turns every later call into 503 not_ready.
// Bounded: 127.0.0.1 only, a fixed request count, a fixed seed (FUZZ_SEED) so a failure can be replayed.
// Media (FUZZ_MEDIA_REQUESTS more, mixed in, from their own seeded stream so the generic sequence replays as before):
// malformed `media` objects in JSON, malformed multipart/form-data (boundaries, truncation, two files, wrong part
// names, repeated and giant fields, sockets cut mid-upload), Range/If-Range/If-None-Match on media downloads, and
// random ids on /api/messages/{id}/media|reaction|context, PATCH/DELETE /api/messages/{id}, /api/outbox/{id}.
// Also pass: no hang (no byte of answer in 30 s), every /api answer >= 400 is the JSON error shape, a media answer's
// body matches its Content-Length/Content-Range, and after the run <data>/media/tmp is empty and every stored file's
// name is its sha256. The server runs with pacing off (so media sends reach the engine) and a 64 KB media cap.
import { createHash } from 'node:crypto';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { spawnServer } from '../bench/harness.js';

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const MEDIA_TOTAL = Number(process.env.FUZZ_MEDIA_REQUESTS ?? 5_000);
// Small, so that "over the cap" costs little to send; the JSON cap for media routes follows (4/3 of it + 256 KB).
const MAX_MEDIA = 64 * 1024;
const CONCURRENCY = 16;
let seed = Number(process.env.FUZZ_SEED ?? 20261125);
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const PATHS = ['/', '/health', '/qr', '/api/status', '/api/auth/start', '/api/pairing-code', '/api/send', '/api/chats', '/api/messages', '/api/sandbox/inbound', '/api/nope', '/mcp', '/sse', '/messages', '/api/search', '/api/chats/15550001001%40c.us/messages', '/api/events', '/api/webhooks/dead-letters', '/api/webhooks/dead-letters/1/redeliver'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'G\u00e9T'];
const WEIRD = ['', ' ', '\u0000', '\u0000\u0000abc', '\ud800', '\udfff\ud800', '\u202eevil', '\u200b\u200b', '💥'.repeat(50), 'A'.repeat(70_000), '%', '%zz', '../../etc/passwd', '<script>', "' OR 1=1 --", '"quoted"', 'NEAR(a b)', '*', 'a AND', '(', '1e309', '-1', '0', '101', 'NaN', 'null', '15550102030', '+1 (555) 010-2030'];
const VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e309, 2 ** 53, [], {}, [1, 2], { a: 1 }, ...WEIRD];

const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s; // lone surrogates: send them raw
  }
};

function deep(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

function body(): string {
  switch (Math.floor(rand() * 9)) {
    case 0: return '{"phone_number":'; // truncated JSON
    case 1: return deep(Math.floor(rand() * 50_000));
    case 2: return JSON.stringify({ phone_number: pick(VALUES), message: pick(VALUES), limit: pick(VALUES), from: pick(VALUES), body: pick(VALUES), q: pick(VALUES) });
    case 3: return JSON.stringify(pick(VALUES));
    case 4: return JSON.stringify({ jsonrpc: '2.0', id: pick([1, 'x', null, {}, []]), method: pick(['initialize', 'tools/call', 'tools/list', 'ping', 'nope', '']), params: pick(VALUES) });
    case 5: return JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }, pick(VALUES)]);
    case 6: return Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256))).toString('latin1');
    case 7: return JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: pick(['whatsapp_send_message', 'whatsapp_list_chats', 'x']), arguments: { phone_number: pick(VALUES), message: pick(VALUES), limit: pick(VALUES) } } });
    default: return `{"message":"${'\\u0000'.repeat(10)}","phone_number":"${pick(WEIRD).replace(/["\\]/g, '')}"}`;
  }
}

function request(port: number): { raw: string; slow: boolean; truncate: boolean } {
  const method = pick(METHODS);
  let path = pick(PATHS);
  if (rand() < 0.3) path += `?limit=${enc(String(pick(VALUES)))}&phone_number=${pick(WEIRD).slice(0, 200)}&q=${enc(pick(WEIRD).slice(0, 500))}`;
  if (rand() < 0.05) path = '/' + 'a/'.repeat(3000);
  const b = rand() < 0.7 ? body() : '';
  const headers: string[] = [`Host: ${rand() < 0.05 ? 'evil.example' : `127.0.0.1:${port}`}`, 'Connection: close'];
  const ct = pick(['application/json', 'application/json; charset=utf-8', 'text/plain', '', 'application/x-www-form-urlencoded', 'application/json\u0000']);
  if (ct) headers.push(`Content-Type: ${ct}`);
  if (rand() < 0.5) headers.push('Accept: application/json, text/event-stream');
  if (rand() < 0.1) headers.push(`Origin: ${pick(['https://evil.example', 'null', 'http://localhost:3000', '\u0000'])}`);
  if (rand() < 0.1) headers.push(`mcp-session-id: ${pick(['', 'x', '00000000-0000-0000-0000-000000000000', 'A'.repeat(5000)])}`);
  if (rand() < 0.1) headers.push(`mcp-protocol-version: ${pick(['2025-06-18', '1999-01-01', '', 'x'.repeat(300)])}`);
  if (rand() < 0.05) headers.push(`X-Big: ${'h'.repeat(20_000)}`); // over node's header cap → 431
  if (rand() < 0.05) for (let i = 0; i < 200; i++) headers.push(`X-Many-${i}: ${i}`);
  if (rand() < 0.05) headers.push('Authorization: Bearer ' + pick(WEIRD).slice(0, 100));
  const bytes = Buffer.byteLength(b, 'latin1');
  const cl = rand() < 0.05 ? pick(['-1', 'abc', '99999999999', `${bytes}, ${bytes}`]) : String(bytes);
  if (b || rand() < 0.5) headers.push(`Content-Length: ${cl}`);
  if (rand() < 0.03) headers.push('Transfer-Encoding: chunked');
  return { raw: `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${b}`, slow: rand() < 0.01, truncate: rand() < 0.03 };
}

interface Answer {
  status: number | 'closed' | 'hang';
  raw: Buffer;
}

/**
 * `hold`: write the request without half-closing the socket. Node's server (httpAllowHalfOpen false) ends a socket
 * whose client half-closed before an async handler answers, so a half-closed GET of a file gets no answer at all.
 */
function send(port: number, r: { raw: string; slow: boolean; truncate: boolean; hold?: boolean }): Promise<Answer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let hung = false;
    sock.setTimeout(30_000, () => {
      hung = got.length === 0 && !r.truncate;
      sock.destroy();
    });
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      const raw = Buffer.concat(got);
      // Skip interim answers (100 Continue): the status is the final one.
      const m = /^(?:HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)*HTTP\/1\.1 (\d{3})/.exec(raw.toString('latin1', 0, 4096));
      resolve({ status: m ? Number(m[1]) : hung ? 'hang' : 'closed', raw });
    });
    const data = Buffer.from(r.raw, 'latin1');
    if (r.truncate) {
      sock.write(data.subarray(0, Math.floor(data.length / 2)));
      setTimeout(() => sock.destroy(), 20);
    } else if (r.slow) {
      let i = 0;
      const t = setInterval(() => {
        if (i >= data.length || sock.destroyed) return clearInterval(t);
        sock.write(data.subarray(i, i + 64));
        i += 64;
      }, 5);
    } else if (r.hold) sock.write(data);
    else sock.end(data);
  });
}

// ---- media: its own seeded stream (mulberry32), so the generic requests above replay unchanged ----

let mseed = (Number(process.env.FUZZ_SEED ?? 20261125) ^ 0x2545f491) >>> 0;
const mrand = () => {
  mseed = (mseed + 0x6d2b79f5) >>> 0;
  let t = mseed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const mpick = <T>(xs: readonly T[]): T => xs[Math.floor(mrand() * xs.length)]!;
const mint = (n: number) => Math.floor(mrand() * n);
const mbytes = (n: number) => Buffer.from(Array.from({ length: n }, () => mint(256)));
/** UTF-8 bytes as a latin1 string: the raw request is written as latin1. */
const u8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const KINDS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'];
const JUNK: unknown[] = [null, true, 0, -1, 1.5, [], {}, [1, 'a'], { a: { b: { c: [] } } }, '', ' ', '\u0000', 'A'.repeat(300), '💥', '../../etc/passwd', '\ud800'];
const JUNK_IDS = ['', ' ', '%', '%zz', '%00', '%2F', '..', '.', 'a%2F..%2F..', 'A'.repeat(300), 'true_15550001001@c.us_DEADBEEF', 'false_15550001001@c.us_0', 'true_120363000000000000@g.us_X_1555@c.us', '15550001001@c.us', '%F0%9F%92%A5', '%E2%80%AE', 'x?y=1', 'x#y', '<script>', "'OR'1'='1", 'null', '0', '-1'];

interface MediaFixtures {
  /** Messages with media (one sent by us, one received): read-only targets, never edited or deleted. */
  ids: string[];
  size: Map<string, number>;
  etag: Map<string, string>;
  /** Messages the fuzz may react to, edit and delete. */
  victims: string[];
}

async function mediaFixtures(url: string): Promise<MediaFixtures> {
  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = (await r.json()) as { message_id?: string; message?: { id: string } };
    if (r.status !== 200) throw new Error(`fixture ${p}: ${r.status} ${JSON.stringify(j)}`);
    return j.message_id ?? j.message!.id;
  };
  const doc = mbytes(5000);
  const ids = [
    await post('/api/send', { phone_number: '15550001001', message: 'fuzz image', media: { data: PNG_1X1.toString('base64'), filename: 'dot.png' } }),
    await post('/api/sandbox/inbound', { from: '15550001002', body: 'fuzz doc', media: { data: doc.toString('base64'), filename: 'doc.bin' } }),
  ];
  const victims = [
    await post('/api/send', { phone_number: '15550001001', message: 'victim 1' }),
    await post('/api/send', { phone_number: '15550001003', message: 'victim 2' }),
    await post('/api/send', { phone_number: '15550001001', message: 'victim media', media: { data: mbytes(300).toString('base64') } }),
    await post('/api/sandbox/inbound', { from: '15550001002', body: 'victim inbound' }),
  ];
  const size = new Map<string, number>();
  const etag = new Map<string, string>();
  for (const id of ids) {
    for (let i = 0; ; i++) {
      const r = await fetch(`${url}/api/messages/${encodeURIComponent(id)}/media`);
      const b = Buffer.from(await r.arrayBuffer());
      if (r.status === 200) {
        size.set(id, b.length);
        etag.set(id, r.headers.get('etag')!);
        break;
      }
      if (i > 100) throw new Error(`fixture media ${id}: ${r.status} ${b}`);
      await new Promise((res) => setTimeout(res, 10)); // the store writes the message a few ms after the send
    }
  }
  return { ids, size, etag, victims };
}

function b64Variant(): unknown {
  const png = PNG_1X1.toString('base64');
  switch (mint(16)) {
    case 0: return png;
    case 1: return mbytes(1 + mint(3000)).toString('base64');
    case 2: return `data:image/png;base64,${png}`;
    case 3: return `data:;base64,${png}`;
    case 4: return 'data:text/plain,hello';
    case 5: return png.replace(/(.{7})/g, '$1\n ');
    case 6: return mpick(['A', 'AB', 'ABC', '====', '!!!!', 'YQ==YQ==', '-_-_', 'QQ', 'QQ=', '=', '\u0000\u0000\u0000\u0000', '💥💥']);
    case 7: return '';
    case 8: return 'A'.repeat(MAX_MEDIA * 1.4); // decodes to more than the cap: 413 before decoding
    case 9: return 'A'.repeat(MAX_MEDIA * 2.5); // more than the JSON cap for media routes
    case 10: return Buffer.alloc(MAX_MEDIA, 7).toString('base64'); // exactly the cap
    case 11: return Buffer.alloc(MAX_MEDIA + 1, 7).toString('base64'); // one byte over
    case 12: return Buffer.concat([PNG_1X1.subarray(0, 16), mbytes(200)]).toString('base64'); // a PNG that is not
    case 13: return { data: png };
    case 14: return [png];
    default: return mpick(JUNK);
  }
}

function mediaObject(): unknown {
  if (mrand() < 0.08) return mpick(JUNK);
  const m: Record<string, unknown> = {};
  const sources = mpick([['data'], ['data'], ['data'], ['url'], ['path'], ['data', 'url'], ['data', 'path'], ['url', 'path'], ['data', 'url', 'path'], []]);
  for (const k of sources) {
    if (k === 'data') m.data = b64Variant();
    if (k === 'url') {
      m.url = mpick<unknown>([
        'http://127.0.0.1/x.png', `http://127.0.0.1:${1 + mint(65535)}/`, 'http://localhost:1/x', 'http://[::1]/', 'http://169.254.169.254/latest/meta-data/',
        'http://0/', 'http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://[fe80::1%25eth0]/', 'http://10.0.0.1/', 'http://192.168.1.1/',
        'http://metadata.google.internal/', 'http://user:pass@127.0.0.1/', 'file:///etc/passwd', 'ftp://127.0.0.1/', 'javascript:alert(1)', 'gopher://127.0.0.1:25/',
        `data:image/png;base64,${PNG_1X1.toString('base64')}`, '', 'not a url', '//127.0.0.1/', 'http://', 'http://[::1', 'A'.repeat(5000), 'http://127.0.0.1/' + 'a'.repeat(4080),
        ...JUNK,
      ]);
    }
    if (k === 'path') m.path = mpick<unknown>(['/etc/passwd', '../../etc/passwd', 'relative.png', '/proc/self/environ', '/dev/zero', '', ...JUNK]);
  }
  if (mrand() < 0.4) m.kind = mpick<unknown>([...KINDS, ...KINDS, 'hologram', '', 'IMAGE', 'ptt', 7, null]);
  if (mrand() < 0.3) m.mimetype = mpick<unknown>(['image/png', 'application/pdf', 'text/plain', 'audio/ogg; codecs=opus', '', 'x', 'image/png; charset=\u0000', 'a/'.repeat(200), '*/*', '../..', 12]);
  if (mrand() < 0.3) m.filename = mpick<unknown>(['a.png', '', '../../etc/passwd', '\u0000', 'a'.repeat(300), 'con', 'a\r\nb', '"quoted".txt', '\u202egnp.exe', 123]);
  if (mrand() < 0.1) m[mpick(['extra', '__proto__', 'constructor', 'Data', 'data '])] = mpick(JUNK);
  return m;
}

/** A JSON send (or sandbox inbound) whose media field is drawn from the above; sometimes with conflicting content. */
function mediaJson(): { path: string; body: string } {
  const target = mint(3);
  if (mrand() < 0.3) {
    // Well-formed, so the success path (stage, commit, send, store) runs among the hostile requests too.
    const m = { data: mpick([PNG_1X1, mbytes(1 + mint(5000))]).toString('base64'), ...(mrand() < 0.5 ? { filename: 'ok.bin' } : {}) };
    const caption = mrand() < 0.5 ? { [target === 2 ? 'body' : 'message']: 'caption' } : {};
    const path = target === 0 ? '/api/send' : target === 1 ? '/api/chats/15550001001%40c.us/messages' : '/api/sandbox/inbound';
    const who = target === 0 ? { phone_number: '15550001001' } : target === 1 ? {} : { from: '15550001002' };
    return { path, body: u8(JSON.stringify({ ...who, media: m, ...caption, ...(mrand() < 0.2 ? { queue: true } : {}) })) };
  }
  const body: Record<string, unknown> =
    target === 0 ? { phone_number: mpick<unknown>(['15550001001', '15550001001', '15550001004', ...JUNK]) } :
    target === 1 ? {} : { from: mpick<unknown>(['15550001002', '15550001005', ...JUNK]) };
  const path = target === 0 ? '/api/send' : target === 1 ? `/api/chats/${mpick(['15550001001%40c.us', '15550001001', '120363000000000000%40g.us', 'junk', '%00'])}/messages` : '/api/sandbox/inbound';
  if (mrand() < 0.9) body.media = mediaObject();
  if (mrand() < 0.4) body[target === 2 ? 'body' : 'message'] = mpick<unknown>(['caption', '', 'A'.repeat(70_000), ...JUNK]);
  if (mrand() < 0.3) body.queue = mpick<unknown>([true, false, 'true', 1, null]);
  if (mrand() < 0.1) body.location = mpick<unknown>([{ latitude: 1, longitude: 2 }, { latitude: 91 }, 'here', null]);
  if (mrand() < 0.1) body.poll = mpick<unknown>([{ question: 'q', options: ['a', 'b'] }, { question: '' }, []]);
  if (mrand() < 0.1) body.reply_to = mpick<unknown>(JUNK_IDS);
  if (mrand() < 0.1) body.idempotency_key = mpick<unknown>(['k1', 'k2', '', 'A'.repeat(300)]);
  let text = JSON.stringify(body);
  if (mrand() < 0.05) text = text.replace('{', '{"__proto__":{"polluted":1},'); // a key JSON.parse keeps as own property
  if (mrand() < 0.03) text = text.slice(0, mint(text.length)); // cut JSON
  return { path, body: u8(text) };
}

/** A multipart/form-data body, well-formed or broken in one of the ways clients and attackers break them. */
function multipartRequest(): { path: string; ct: string; body: string } {
  const boundary = mpick(['fuzzB0undary', `----x${mint(1e9)}`, 'a', 'x'.repeat(70), 'x'.repeat(71), 'with space', 'quo"te', '\u00e9t\u00e9', '--', '']);
  const ct = mpick([
    `multipart/form-data; boundary=${boundary}`, `multipart/form-data; boundary=${boundary}`, `multipart/form-data; boundary=${boundary}`,
    `multipart/form-data; boundary="${boundary}"`, 'multipart/form-data', 'multipart/form-data; boundary=', `multipart/form-data; boundary=${boundary}; charset=utf-8`,
    `MULTIPART/FORM-DATA; BOUNDARY=${boundary}`, `multipart/mixed; boundary=${boundary}`, 'multipart/form-data; boundary=other', `multipart/form-data;boundary=${boundary}`,
    `multipart/form-data; boundary=${boundary}; boundary=second`, `multipart/form-data; boundary=${'b'.repeat(2000)}`,
  ]);
  const path = mpick(['/api/send', '/api/send', '/api/send', '/api/chats/15550001001%40c.us/messages', '/api/chats/15550001001%40c.us/messages', '/api/sandbox/inbound', '/api/pairing-code', '/api/messages', '/api/messages/x/reaction', '/api/nope']);
  const parts: string[] = [];
  if (mrand() < 0.3) {
    // Well-formed, so uploads that succeed share the server with the broken ones.
    const to = mrand() < 0.5 ? '/api/send' : '/api/chats/15550001001%40c.us/messages';
    const b = `----ok${mint(1e9)}`;
    const file = mpick([PNG_1X1, mbytes(1 + mint(20_000)), Buffer.from(u8('plain text\n'), 'latin1')]).toString('latin1');
    const fields = [`Content-Disposition: form-data; name="phone_number"\r\n\r\n15550001001`, ...(mrand() < 0.5 ? [`Content-Disposition: form-data; name="message"\r\n\r\ncaption`] : [])];
    const all = [...fields, `Content-Disposition: form-data; name="file"; filename="ok.bin"\r\nContent-Type: application/octet-stream\r\n\r\n${file}`];
    if (mrand() < 0.3) all.reverse(); // the file before the fields
    return { path: to, ct: `multipart/form-data; boundary=${b}`, body: all.map((p) => `--${b}\r\n${p}\r\n`).join('') + `--${b}--\r\n` };
  }
  const field = (name: string, value: string, extra = '') => parts.push(`Content-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}`);
  const file = (name: string, content: string, filename = 'f.bin', type = 'application/octet-stream') =>
    parts.push(`Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n${content}`);
  if (mrand() < 0.85) field(path === '/api/sandbox/inbound' ? 'from' : 'phone_number', mpick(['15550001001', '15550001001', '15550001006', '', 'abc', u8('+1 (555) 000-1001')]));
  const fileContent = () => {
    switch (mint(9)) {
      case 0: return '';
      case 1: return PNG_1X1.toString('latin1');
      case 2: return mbytes(1 + mint(200)).toString('latin1');
      case 3: return mbytes(1 + mint(20_000)).toString('latin1');
      case 4: return Buffer.alloc(MAX_MEDIA + 1 + mint(50_000), 1).toString('latin1'); // over the cap
      case 5: return Buffer.alloc(MAX_MEDIA, 2).toString('latin1'); // exactly the cap
      case 6: return `\r\n--${boundary}\r\n`.repeat(3); // the boundary inside the content
      case 7: return Buffer.concat([PNG_1X1.subarray(0, 8), mbytes(100)]).toString('latin1');
      default: return u8('text file ✓\n');
    }
  };
  const files = mpick([0, 1, 1, 1, 1, 2]);
  for (let i = 0; i < files; i++) {
    const name = i === 0 && mrand() < 0.85 ? 'file' : mpick(['file', 'files', 'File', 'media', '', 'file[]', u8('fïle')]);
    const filename = mpick(['photo.png', 'doc.pdf', '', '../../etc/passwd', 'a\u0000b', 'x'.repeat(1000), u8('ünï.txt'), 'C:\\\\evil\\\\x.exe']);
    const type = mpick(['application/octet-stream', 'image/png', 'image/webp', 'audio/ogg', 'text/plain; charset=utf-16', '', 'junk', 'image/png; x=\u0000']);
    if (mrand() < 0.05) parts.push(`Content-Disposition: form-data; name="file"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\n${fileContent()}`);
    else file(name, fileContent(), filename, type);
  }
  const maybe = (p: number, f: () => void) => mrand() < p && f();
  maybe(0.4, () => field(path === '/api/sandbox/inbound' ? 'body' : 'message', mpick(['caption', '', u8('💥 caption'), 'A'.repeat(70_000)])));
  maybe(0.2, () => field(mpick(['kind', 'media.kind', 'media[kind]']), mpick([...KINDS, 'hologram', '', 'IMAGE'])));
  maybe(0.15, () => field(mpick(['mimetype', 'media.mimetype', 'media[mimetype]']), mpick(['image/png', 'text/csv', '', 'x'.repeat(300)])));
  maybe(0.15, () => field(mpick(['filename', 'media.filename', 'media[filename]']), mpick(['x.txt', '', '../x', 'x'.repeat(300)])));
  maybe(0.1, () => field('queue', mpick(['true', 'false', '1', 'maybe', ''])));
  maybe(0.08, () => field(mpick(['media.data', 'media[data]', 'media']), mpick([PNG_1X1.toString('base64'), 'not base64!', '{"data":"QQ=="}', ''])));
  maybe(0.05, () => field('media.url', mpick(['http://127.0.0.1/x', 'file:///etc/passwd', ''])));
  maybe(0.08, () => field(mpick(['location', 'poll']), mpick(['{"latitude":1,"longitude":2}', '{"question":"q","options":["a","b"]}', '{', '{"a":' + '['.repeat(10_000), 'here'])));
  maybe(0.05, () => field('reply_to', mpick(JUNK_IDS)));
  maybe(0.05, () => field('idempotency_key', `k${mint(5)}`));
  maybe(0.05, () => field('phone_number', '15550001001')); // given twice
  maybe(0.05, () => field(mpick(['x', 'media.__proto__', 'media.constructor', 'media[', '', u8('ñ'), 'a"b']), 'junk'));
  maybe(0.04, () => field('message', 'B'.repeat(300 * 1024))); // over the 256 KB field cap
  maybe(0.03, () => { for (let i = 0; i < 60; i++) field(`f${i}`, 'x'); }); // over the parts limit
  maybe(0.03, () => parts.push(`Content-Type: text/plain\r\n\r\nno disposition`));
  maybe(0.03, () => parts.push(`garbage header line\r\n\r\nvalue`));
  maybe(0.02, () => parts.push(`Content-Disposition: form-data; name="big"\r\nX-Pad: ${'p'.repeat(100_000)}\r\n\r\nv`));
  maybe(0.02, () => parts.push(`${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\nContent-Disposition: form-data; name="h"\r\n\r\nv`));
  if (mrand() < 0.2) parts.sort(() => mrand() - 0.5);
  let body = parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + (mrand() < 0.08 ? '' : `--${boundary}--\r\n`);
  maybe(0.05, () => (body = `preamble junk\r\n${body}`));
  maybe(0.05, () => (body += 'epilogue junk'));
  maybe(0.05, () => (body = body.replace(/\r\n/g, '\n')));
  maybe(0.06, () => (body = body.slice(0, mint(body.length)))); // cut short, Content-Length says so
  return { path, ct, body };
}

const RANGES = ['bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=-0', 'bytes=1-0', 'bytes=0-1,2-3', 'bytes=0-1,1-2', 'bytes=0-1,5-6', 'bytes=', 'bytes=abc', 'items=0-1', 'bytes=99999999-', 'bytes=-99999999', 'bytes=0-18446744073709551616', 'bytes=1e3-2e3', 'bytes= 0 - 1 ', 'bytes=--1', 'bytes=0--1', 'bytes=0-1\u0000', '\u0000', 'bytes=0-1,'.repeat(1000), 'bytes=0-0,'.repeat(300) + 'bytes=5-6', 'BYTES=0-1', 'bytes=0x10-0x20'];

/** A media download with Range, If-Range and If-None-Match drawn from the odd and the wrong. */
function rangeRequest(m: MediaFixtures): { method: string; path: string; headers: string[] } {
  const id = mpick(m.ids);
  const size = m.size.get(id)!;
  const etag = m.etag.get(id)!;
  const headers: string[] = [];
  if (mrand() < 0.85) {
    const a = mint(size + 4) - 2;
    const b = mint(size + 4) - 2;
    headers.push(`Range: ${mpick([...RANGES, `bytes=${a}-${b}`, `bytes=${a}-${b}`, `bytes=${a}-`, `bytes=-${b}`, `bytes=${size - 1}-`, `bytes=${size}-`, `bytes=0-${size}`, `bytes=${a}-${b},${b}-${a}`])}`);
  }
  if (mrand() < 0.25) headers.push(`If-Range: ${mpick([etag, '"nope"', `W/${etag}`, 'Tue, 01 Dec 2026 21:10:46 GMT', 'junk', ''])}`);
  if (mrand() < 0.2) headers.push(`If-None-Match: ${mpick([etag, etag, '*', `W/${etag}`, `"a", ${etag}`, 'junk', '', `${etag.slice(0, -2)}"`])}`);
  if (mrand() < 0.1) headers.push(`Accept-Encoding: ${mpick(['gzip', 'br', '*', 'identity;q=0'])}`);
  return { method: mpick(['GET', 'GET', 'GET', 'HEAD']), path: `/api/messages/${encodeURIComponent(id)}/media${mrand() < 0.05 ? '?download=1' : ''}`, headers };
}

/** Random message ids (and the odd method) on the per-message routes. Mutations only hit the victims. */
function idRequest(m: MediaFixtures): { method: string; path: string; body: string } {
  const op = mint(9);
  const mutates = op >= 2 && op <= 4;
  const raw = mrand() < 0.35 ? mpick(mutates ? m.victims : [...m.ids, ...m.victims]) : mpick(JUNK_IDS);
  const id = mrand() < 0.8 && !raw.includes('%') ? encodeURIComponent(raw) : raw;
  const json = (o: unknown) => u8(JSON.stringify(o));
  switch (op) {
    case 0: return { method: 'GET', path: `/api/messages/${id}/media`, body: '' };
    case 1: return { method: 'HEAD', path: `/api/messages/${id}/media`, body: '' };
    case 2: return { method: 'POST', path: `/api/messages/${id}/reaction`, body: json({ emoji: mpick<unknown>(['👍', '', 'a', '👍👍', '🇺🇸', '👍🏽', '\u0000', 'A'.repeat(100), 1, null]), ...(mrand() < 0.2 ? { idempotency_key: `r${mint(3)}` } : {}) }) };
    case 3: return { method: 'PATCH', path: `/api/messages/${id}`, body: json({ message: mpick<unknown>(['edited', '', 'A'.repeat(70_000), 5, null]) }) };
    case 4: return mrand() < 0.5
      ? { method: 'DELETE', path: `/api/messages/${id}`, body: json({ for: mpick<unknown>(['everyone', 'me', '', 'all', null]) }) }
      : { method: 'DELETE', path: `/api/messages/${id}?for=${mpick(['me', 'everyone', 'x', ''])}`, body: '' };
    case 5: return { method: 'GET', path: `/api/messages/${id}/context`, body: '' };
    case 6: return { method: 'GET', path: `/api/outbox/${mpick(['ob_00', 'x', '%00', 'A'.repeat(100), id])}`, body: '' };
    case 7: return { method: mpick(['PUT', 'POST', 'GET', 'OPTIONS', 'FOO']), path: `/api/messages/${id}${mpick(['', '/media', '/reaction', '/context', '/nope', '/'])}`, body: '' };
    default: return { method: mpick(['POST', 'PUT', 'DELETE', 'PATCH']), path: `/api/messages/${id}/media`, body: '' };
  }
}

function mediaRequest(port: number, m: MediaFixtures): { raw: string; slow: boolean; truncate: boolean; hold: boolean } {
  const headers: string[] = [`Host: 127.0.0.1:${port}`, 'Connection: close'];
  let method = 'POST';
  let target: string;
  let body = '';
  const which = mrand();
  let upload = false;
  if (which < 0.35) {
    const r = multipartRequest();
    target = r.path;
    body = r.body;
    headers.push(`Content-Type: ${r.ct}`);
    upload = true;
  } else if (which < 0.6) {
    const r = mediaJson();
    target = r.path;
    body = r.body;
    headers.push(`Content-Type: ${mpick(['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'multipart/form-data; boundary=x'])}`);
  } else if (which < 0.8) {
    const r = rangeRequest(m);
    method = r.method;
    target = r.path;
    headers.push(...r.headers);
  } else {
    const r = idRequest(m);
    method = r.method;
    target = r.path;
    body = r.body;
    if (body) headers.push('Content-Type: application/json');
  }
  if (mrand() < 0.03) headers.push('Expect: 100-continue');
  if (mrand() < 0.01) headers.push(`Expect: ${mpick(['nonsense', '100-continue, x', ''])}`);
  const bytes = Buffer.byteLength(body, 'latin1');
  // A body shorter than its Content-Length keeps the server waiting for the idle timeout (10 s): rare.
  const cl = mrand() < 0.002 ? String(bytes + 100) : String(bytes);
  if (body || method !== 'GET') headers.push(`Content-Length: ${cl}`);
  return { raw: `${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`, slow: mrand() < 0.01 && bytes < 16_384, truncate: mrand() < (upload ? 0.1 : 0.02), hold: true };
}

/** The final answer of a raw response: status, headers (lower-case), body (de-chunked). */
function parseAnswer(raw: Buffer): { status: number; headers: Map<string, string>; body: Buffer } | null {
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) return null;
    const head = raw.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? NaN);
    if (!Number.isFinite(status)) return null;
    at = end + 4;
    if (status < 200) continue; // 100 Continue
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    let body = raw.subarray(at);
    if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const out: Buffer[] = [];
      let p = 0;
      for (;;) {
        const eol = body.indexOf('\r\n', p);
        if (eol < 0) break;
        const n = parseInt(body.toString('latin1', p, eol), 16);
        if (!(n > 0)) break;
        out.push(body.subarray(eol + 2, eol + 2 + n));
        p = eol + 2 + n + 2;
      }
      body = Buffer.concat(out);
    }
    return { status, headers, body };
  }
}

/**
 * What must hold for any answer besides "not 5xx": an /api error is the JSON error shape; a media answer's body is as
 * long as its headers say, and a 206 is the range it names of a file of the right size. Null when it holds.
 */
function checkAnswer(r: { raw: string; truncate: boolean }, raw: Buffer, m: MediaFixtures): string | null {
  if (r.truncate) return null; // we hung up: the answer may be cut
  const line = /^(\S+) (\S+) HTTP\/1\.1/.exec(r.raw);
  const method = line?.[1] ?? '';
  const target = line?.[2] ?? '';
  const a = parseAnswer(raw);
  if (!a) return 'unparseable answer';
  const head = method === 'HEAD';
  if (target.startsWith('/api/') && a.status >= 400 && !head) {
    let ok = false;
    try {
      const j = JSON.parse(a.body.toString('utf8')) as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
      ok = j.ok === false && typeof j.error?.code === 'string' && typeof j.error.message === 'string';
    } catch {
      // not JSON
    }
    if (!ok) return `${a.status} without the JSON error shape (${JSON.stringify(a.body.toString('utf8').slice(0, 80))})`;
  }
  const mm = /^\/api\/messages\/([^/?]+)\/media(?:\?|$)/.exec(target);
  const id = mm ? safeDecode(mm[1]!) : null;
  if (id !== null && m.size.has(id) && (method === 'GET' || head)) {
    const size = m.size.get(id)!;
    const cl = Number(a.headers.get('content-length'));
    const got = a.body.length;
    if (a.status === 200 && (cl !== size || (!head && got !== size))) return `200 media: content-length ${cl}, body ${got}, file ${size}`;
    if (a.status === 206) {
      const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(a.headers.get('content-range') ?? '');
      if (!cr) return `206 without a valid content-range (${a.headers.get('content-range')})`;
      const [s, e, total] = [Number(cr[1]), Number(cr[2]), Number(cr[3])];
      if (total !== size || e >= size || s > e || cl !== e - s + 1 || (!head && got !== cl)) return `206 ${a.headers.get('content-range')}: content-length ${cl}, body ${got}, file ${size}`;
    }
    if (a.status === 416 && a.headers.get('content-range') !== `bytes */${size}`) return `416 with content-range ${a.headers.get('content-range')}`;
    if (a.status === 304 && got !== 0) return `304 with a ${got}-byte body`;
  }
  return null;
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Files under <media>/xx/ whose name is not the sha256 of their bytes (a partial file under a real name). */
function storedFilesNotNamedBySha(dir: string): string[] {
  const bad: string[] = [];
  for (const sub of fs.readdirSync(dir)) {
    if (sub === 'tmp') continue;
    const d = path.join(dir, sub);
    if (!fs.statSync(d).isDirectory()) {
      bad.push(sub);
      continue;
    }
    for (const f of fs.readdirSync(d)) {
      if (createHash('sha256').update(fs.readFileSync(path.join(d, f))).digest('hex') !== f) bad.push(`${sub}/${f}`);
    }
  }
  return bad;
}

async function rssAfterGc(pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 500));
  return rssMb(pid);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

// RSS is read after a full GC (SIGUSR2 → gc(), a hook preloaded into the server for this run only): garbage of the
// last requests that no GC has reclaimed yet made the same seed grow 10 MB in one run and 60 MB in the next.
const GC_HOOK = "--expose-gc --import=data:text/javascript,process.on('SIGUSR2',()=>globalThis.gc())";
const srv = await spawnServer({ NODE_OPTIONS: GC_HOOK, WHATSAPP_MAX_MEDIA_BYTES: String(MAX_MEDIA), WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' });
const port = Number(new URL(srv.url).port);
await fetch(`${srv.url}/api/sandbox/link`, { method: 'POST' });
const counts = new Map<string, number>();
const mediaCounts = new Map<string, number>();
const failures: string[] = [];
// The server's last words, should it die (its stack trace names the bug), and what was in flight at that moment.
let stderrTail = '';
srv.child.stderr!.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-4000)));
const inFlight = new Map<string, number>(); // request → when it was sent
let diedAt = Infinity;
srv.child.once('exit', () => (diedAt = Date.now()));
try {
  const media = await mediaFixtures(srv.url);
  // Warm up so the baseline includes JIT and lazily loaded modules.
  for (let i = 0; i < 300; i++) await send(port, request(port));
  // Media too, as concurrently as the run: with big bodies in flight the heap first grows to its working size.
  let warm = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (warm++ < 800) await send(port, mediaRequest(port, media));
  }));
  const before = await rssAfterGc(srv.child.pid!);
  let next = 0;
  let nextMedia = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while ((next < TOTAL || nextMedia < MEDIA_TOTAL) && srv.child.exitCode === null) {
        // Interleave the two streams by their remaining share; each is drawn from its own seeded generator.
        const isMedia = nextMedia < MEDIA_TOTAL && (next >= TOTAL || mrand() < (MEDIA_TOTAL - nextMedia) / (TOTAL - next + MEDIA_TOTAL - nextMedia));
        const r = isMedia ? mediaRequest(port, media) : request(port);
        if (isMedia) nextMedia++;
        else next++;
        inFlight.set(r.raw, Date.now());
        const answer = await send(port, r);
        if (srv.child.exitCode === null) inFlight.delete(r.raw);
        const { status } = answer;
        const key = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
        const tally = isMedia ? mediaCounts : counts;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        const show = () => r.raw.slice(0, 200).replace(/\r\n/g, ' | ');
        if (typeof status === 'number' && status >= 500) failures.push(`${status} ← ${show()}`);
        if (status === 'hang') failures.push(`hang (no answer in 30 s) ← ${show()}`);
        // A media request does not half-close and is not cut by us (unless truncate): it must get an answer.
        if (status === 'closed' && isMedia && !r.truncate) failures.push(`closed without an answer ← ${show()}`);
        const bad = typeof status === 'number' ? checkAnswer(r, answer.raw, media) : null;
        if (bad) failures.push(`${bad} ← ${show()}`);
      }
    }),
  );
  if (srv.child.exitCode !== null) {
    console.log(`fuzz: FAIL: the server died (exit ${srv.child.exitCode}) after ${next} + ${nextMedia} requests, seed ${process.env.FUZZ_SEED ?? 20261125}`);
    console.log(`  its stderr ended with:\n${stderrTail.split('\n').filter((l) => !l.startsWith('{')).slice(-24).map((l) => `    ${l}`).join('\n')}`);
    for (const [r] of [...inFlight].filter(([, at]) => at <= diedAt).slice(0, 16)) console.log(`  in flight: ${r.slice(0, 300).replace(/\r\n/g, ' | ')}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const after = await rssAfterGc(srv.child.pid!);
  const alive = (await fetch(`${srv.url}/health`)).status === 200;
  const tmpDir = path.join(srv.dir, 'data', 'media', 'tmp');
  const leftovers = fs.readdirSync(tmpDir);
  const misnamed = storedFilesNotNamedBySha(path.join(srv.dir, 'data', 'media'));
  const tally = (m: Map<string, number>) => [...m].sort().map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`fuzz: ${TOTAL} + ${MEDIA_TOTAL} media requests in ${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${process.env.FUZZ_SEED ?? 20261125}`);
  console.log(`  responses: ${tally(counts)}`);
  console.log(`  media responses: ${tally(mediaCounts)}`);
  console.log(`  server alive: ${alive}; RSS after a full GC: before ${before.toFixed(0)} MB, after ${after.toFixed(0)} MB`);
  console.log(`  media/tmp after the run: ${leftovers.length} files${leftovers.length ? ` (${leftovers.slice(0, 5).join(', ')})` : ''}; stored files not named by their sha256: ${misnamed.length}`);
  // Grouped by what failed (the text before the request), with one example request each.
  const kinds = new Map<string, { n: number; example: string }>();
  for (const f of failures) {
    const k = f.split(' ← ')[0]!.replace(/\(.*\)$/, '').slice(0, 60);
    const e = kinds.get(k) ?? { n: 0, example: f };
    e.n++;
    kinds.set(k, e);
  }
  for (const [k, { n, example }] of [...kinds].slice(0, 12)) console.log(`  failure x${n}: ${k}\n    e.g. ${example.slice(0, 400)}`);
  const grew = after - before;
  // Growth allowance: V8 heaps do not shrink to the byte; a leak across 10k requests shows as far more.
  const ok = failures.length === 0 && alive && grew < 60 && leftovers.length === 0 && misnamed.length === 0;
  console.log(ok ? 'fuzz: PASS' : `fuzz: FAIL (failures=${failures.length}, alive=${alive}, rss growth=${grew.toFixed(0)} MB, tmp leftovers=${leftovers.length}, misnamed=${misnamed.length})`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await srv.stop();
}
