// REST throughput as a ratio to a bare node:http JSON server measured in the same run.
import { load, row, spawnBaseline, spawnServer } from './harness.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);

export async function benchRest(): Promise<void> {
  const base = await spawnBaseline();
  // Pacing off: this measures the server's durable send path, not the ban guard.
  const ours = await spawnServer({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
  try {
    await fetch(`${ours.url}/api/sandbox/link`, { method: 'POST' });
    const json = { 'content-type': 'application/json' };
    const sendBody = JSON.stringify({ phone_number: '15550102030', message: 'bench' });
    console.log(`\nREST, 50 connections, ${seconds} s each (ratio = ours / bare node:http in this run)`);
    const baseGet = await load({ url: `${base.url}/status`, duration: seconds });
    console.log(row('baseline GET (bare node:http)', baseGet));
    console.log(row('GET /api/status', await load({ url: `${ours.url}/api/status`, duration: seconds }), baseGet));
    console.log(row('GET /api/chats?limit=20', await load({ url: `${ours.url}/api/chats?limit=20`, duration: seconds }), baseGet));
    const basePost = await load({ url: `${base.url}/send`, method: 'POST', headers: json, body: sendBody, duration: seconds });
    console.log(row('baseline POST JSON (bare node:http)', basePost));
    console.log(row('POST /api/send (sandbox, durable)', await load({ url: `${ours.url}/api/send`, method: 'POST', headers: json, body: sendBody, duration: seconds }), basePost));
    const rss = await fetch(`${ours.url}/health`).then(() => ours.child.pid);
    console.log(`server pid ${rss}`);
  } finally {
    await ours.stop();
    await base.stop();
  }
}
