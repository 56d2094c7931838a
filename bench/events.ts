// Events benchmark: throughput and latency of events out, through a webhook receiver and an SSE client.
//   npx tsx bench/events.ts [seconds per part = 3]
// Builds dist/, starts the server in a child process (sandbox engine, 127.0.0.1), a webhook receiver and an SSE
// client in this process, then: (1) a burst of sandbox inbound messages, counting events/s at each consumer;
// (2) one message at a time, timing POST /api/sandbox/inbound → webhook request / SSE frame (p50/p99).
import { execSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { spawnServer } from './harness.js';

const seconds = Number(process.argv[2] ?? 3);
const SECRET = 'bench-webhook-secret-0123456789';

type Arrival = (body: string, at: number) => void;

async function receiver(onArrival: Arrival): Promise<{ url: string; close(): void }> {
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      onArrival(JSON.parse(Buffer.concat(chunks).toString()).data.message.body as string, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => server.close() };
}

async function sse(url: string, onArrival: Arrival): Promise<{ close(): void }> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/events?types=message.received`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) onArrival(JSON.parse(data.slice(6)).data.message.body as string, performance.now());
        }
      }
    } catch {
      // closed
    }
  })();
  return { close: () => abort.abort() };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function inbound(base: string, from: string, body: string): Promise<void> {
  const payload = JSON.stringify({ from, body });
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/sandbox/inbound`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`inbound ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

execSync('npm run build --silent', { stdio: 'inherit' });
const hooks = new Map<string, number>();
const frames = new Map<string, number>();
const hook = await receiver((body, at) => hooks.set(body, at));
const srv = await spawnServer({ WHATSAPP_WEBHOOK_URL: hook.url, WHATSAPP_WEBHOOK_SECRET: SECRET, WHATSAPP_WEBHOOK_EVENTS: 'message.received', LOG_LEVEL: 'info' });
try {
  await fetch(`${srv.url}/api/sandbox/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const stream = await sse(srv.url, (body, at) => frames.set(body, at));

  // (1) Burst: 16 concurrent senders for `seconds`, then wait for both consumers to drain (bounded).
  const t0 = performance.now();
  let sent = 0;
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (performance.now() < until) await inbound(srv.url, `1555000${String(1000 + (w % 8))}`, `burst ${sent++}`);
    }),
  );
  const sendMs = performance.now() - t0;
  const hooksAtSendEnd = hooks.size;
  const drainDeadline = performance.now() + 10_000 + seconds * 5000;
  while ((hooks.size < sent || frames.size < sent) && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
  const last = (m: Map<string, number>) => Math.max(...m.values());
  console.log(`burst: ${sent} inbound messages in ${(sendMs / 1000).toFixed(2)} s = ${Math.round(sent / (sendMs / 1000))} msg/s offered (16 concurrent POSTs)`);
  console.log(`  webhook: ${hooks.size}/${sent} delivered, ${Math.round(hooks.size / ((last(hooks) - t0) / 1000))} events/s (first POST → last delivery), drained ${Math.round(last(hooks) - t0 - sendMs)} ms after the last POST`);
  const drainMs = last(hooks) - t0 - sendMs;
  if (sent - hooksAtSendEnd > 100) console.log(`  webhook backlog alone: ${sent - hooksAtSendEnd} events in ${Math.round(drainMs)} ms = ${Math.round((sent - hooksAtSendEnd) / (drainMs / 1000))} events/s (no inbound load)`);
  console.log(`  SSE:     ${frames.size}/${sent} delivered, ${Math.round(frames.size / ((last(frames) - t0) / 1000))} events/s, drained ${Math.round(last(frames) - t0 - sendMs)} ms after the last POST`);

  // (2) Latency: one message at a time, waiting for both consumers, for `seconds`.
  const hookLat: number[] = [];
  const sseLat: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const body = `latency ${i}`;
    const start = performance.now();
    await inbound(srv.url, '15550002000', body);
    const deadline = performance.now() + 5000;
    while ((!hooks.has(body) || !frames.has(body)) && performance.now() < deadline) await new Promise((r) => setImmediate(r));
    if (hooks.has(body)) hookLat.push(hooks.get(body)! - start);
    if (frames.has(body)) sseLat.push(frames.get(body)! - start);
  }
  for (const [name, lat] of [['webhook', hookLat], ['SSE', sseLat]] as const) {
    const s = [...lat].sort((a, b) => a - b);
    console.log(`latency inbound → ${name.padEnd(7)} n=${s.length}  p50 ${pct(s, 50).toFixed(2)} ms  p99 ${pct(s, 99).toFixed(2)} ms  max ${s.at(-1)!.toFixed(2)} ms`);
  }
  stream.close();
} finally {
  await srv.stop();
  hook.close();
  agent.destroy();
}
