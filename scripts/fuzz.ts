// Fuzz: >= 10,000 generated hostile requests against REST and MCP over raw sockets.
// Pass: no response >= 500, the server never dies, and its memory settles back near where it started.
// /api/logout is left out: it legitimately turns every later call into 503 not_ready.
// Bounded: 127.0.0.1 only, a fixed request count, a fixed seed (FUZZ_SEED) so a failure can be replayed.
import net from 'node:net';
import fs from 'node:fs';
import { spawnServer } from '../bench/harness.js';

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000);
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

function send(port: number, r: { raw: string; slow: boolean; truncate: boolean }): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 'closed');
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
    } else sock.end(data);
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const srv = await spawnServer();
const port = Number(new URL(srv.url).port);
await fetch(`${srv.url}/api/sandbox/link`, { method: 'POST' });
const counts = new Map<string, number>();
const failures: string[] = [];
try {
  // Warm up so the baseline includes JIT and lazily loaded modules.
  for (let i = 0; i < 300; i++) await send(port, request(port));
  const before = rssMb(srv.child.pid!);
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL) {
        const r = request(port);
        next++;
        const status = await send(port, r);
        const key = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (typeof status === 'number' && status >= 500) failures.push(`${status} ← ${r.raw.slice(0, 200).replace(/\r\n/g, ' | ')}`);
        if (srv.child.exitCode !== null) throw new Error('server died');
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const after = rssMb(srv.child.pid!);
  const alive = (await fetch(`${srv.url}/health`)).status === 200;
  console.log(`fuzz: ${TOTAL} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${process.env.FUZZ_SEED ?? 20261125}`);
  console.log(`  responses: ${[...counts].sort().map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`  server alive: ${alive}; RSS before ${before.toFixed(0)} MB, after ${after.toFixed(0)} MB`);
  for (const f of failures.slice(0, 10)) console.log(`  5xx: ${f}`);
  const grew = after - before;
  // Growth allowance: V8 heaps do not shrink to the byte; a leak across 10k requests shows as far more.
  const ok = failures.length === 0 && alive && grew < 60;
  console.log(ok ? 'fuzz: PASS' : `fuzz: FAIL (5xx=${failures.length}, alive=${alive}, rss growth=${grew.toFixed(0)} MB)`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await srv.stop();
}
