// Crash: queue 1,000 sends while not linked, link, kill -9 the server in the middle of delivery (several times),
// restart → exactly 1,000 delivered and 0 duplicates. The sandbox appends every delivery to its log; we count it.
import fs from 'node:fs';
import path from 'node:path';
import { spawnServer, type Spawned } from '../bench/harness.js';

const N = Number(process.env.CRASH_SENDS ?? 1000);
const KILLS = Number(process.env.CRASH_KILLS ?? 5);
const env = { WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };

function delivered(dir: string): string[] {
  try {
    const text = fs.readFileSync(path.join(dir, 'auth', 'session-default', 'deliveries.jsonl'), 'utf8');
    return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { body: string }).body);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killDuringDelivery(srv: Spawned, dir: string): Promise<number> {
  const start = delivered(dir).length;
  const deadline = Date.now() + 20_000;
  // Wait for delivery to be under way, then strike at a random moment a few ms later.
  while (delivered(dir).length === start && Date.now() < deadline) await sleep(1);
  await sleep(Math.random() * 15);
  srv.child.kill('SIGKILL');
  await new Promise((r) => srv.child.once('exit', r));
  return delivered(dir).length;
}

let srv = await spawnServer(env);
const dir = srv.dir;
const t0 = Date.now();
try {
  for (let i = 0; i < N; i += 50) {
    const batch = Array.from({ length: Math.min(50, N - i) }, (_, j) =>
      fetch(`${srv.url}/api/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone_number: `1555010${String((i + j) % 100).padStart(4, '0')}`, message: `crash-test #${i + j}`, queue: true }),
      }).then((r) => r.status),
    );
    const statuses = await Promise.all(batch);
    if (statuses.some((s) => s !== 202)) throw new Error(`expected 202 queued, got ${statuses.join(',')}`);
  }
  console.log(`crash: queued ${N} sends while not linked`);
  await fetch(`${srv.url}/api/sandbox/link`, { method: 'POST' });
  for (let k = 1; k <= KILLS && delivered(dir).length < N; k++) {
    const at = await killDuringDelivery(srv, dir);
    console.log(`  kill -9 #${k} with ${at}/${N} delivered`);
    srv = await spawnServer(env, dir);
  }
  const deadline = Date.now() + 60_000;
  while (delivered(dir).length < N && Date.now() < deadline) await sleep(50);
  await sleep(1000); // anything sent twice would show up now
  const bodies = delivered(dir);
  const unique = new Set(bodies).size;
  const duplicates = bodies.length - unique;
  console.log(`  delivered ${unique}/${N} unique, ${duplicates} duplicates, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const ok = unique === N && duplicates === 0;
  console.log(ok ? 'crash: PASS' : 'crash: FAIL');
  process.exitCode = ok ? 0 : 1;
} finally {
  await srv.stop();
}
