// Load: 50 concurrent connections for 30 s (LOAD_SECONDS) of mixed reads and sends on the sandbox → 0 errors.
import autocannon from 'autocannon';
import { spawnServer } from '../bench/harness.js';

const seconds = Number(process.env.LOAD_SECONDS ?? 30);
// Pacing would (rightly) answer 429 to a send flood; this script measures the server, not the ban guard.
const srv = await spawnServer({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
try {
  await fetch(`${srv.url}/api/sandbox/link`, { method: 'POST' });
  const json = { 'content-type': 'application/json' };
  let n = 0;
  const r = await autocannon({
    url: srv.url,
    connections: 50,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          n++;
          switch (n % 5) {
            case 0: return { ...req, method: 'POST', path: '/api/send', headers: json, body: JSON.stringify({ phone_number: `1555010${String(1 + (n % 999)).padStart(4, '0')}`, message: `load ${n}` }) };
            case 1: return { ...req, method: 'GET', path: '/api/chats?limit=20' };
            case 2: return { ...req, method: 'GET', path: '/api/messages?phone_number=15550001001&limit=10' };
            case 3: return { ...req, method: 'GET', path: '/api/status' };
            default: return { ...req, method: 'GET', path: '/health' };
          }
        },
      },
    ],
  });
  const errors = r.errors + r.timeouts + r.non2xx;
  console.log(`load: ${seconds} s, 50 connections, mixed reads and sends`);
  console.log(`  ${r.requests.total} requests, ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
  console.log(`  errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}`);
  console.log(errors === 0 ? 'load: PASS' : 'load: FAIL');
  process.exitCode = errors === 0 ? 0 : 1;
} finally {
  await srv.stop();
}
