// Crash: queue 1,000 sends while not linked, link, kill -9 the server in the middle of delivery (several times),
// restart → exactly 1,000 delivered and 0 duplicates. The sandbox appends every delivery to its log; we count it.
// Then media: queue image uploads (multipart) and documents (JSON base64) while not linked, kill -9 with them only
// queued, restart on the same dirs, link, kill -9 during their delivery, restart → each file delivered exactly once
// (deliveries.jsonl lines by media.sha256; type 'image' lines = image sends), and after one more kill -9 and restart
// GET /api/messages/{id}/media serves the very bytes (sha256) for every send.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnServer, type Spawned } from '../bench/harness.js';

const N = Number(process.env.CRASH_SENDS ?? 1000);
const KILLS = Number(process.env.CRASH_KILLS ?? 5);
const MEDIA_N = Number(process.env.CRASH_MEDIA_SENDS ?? 40);
// Recipients never end in 0000: the sandbox answers those not_on_whatsapp (a number without an account).
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

async function textProof(): Promise<boolean> {
  let srv = await spawnServer(env);
  const dir = srv.dir;
  const t0 = Date.now();
  try {
    for (let i = 0; i < N; i += 50) {
      const batch = Array.from({ length: Math.min(50, N - i) }, (_, j) =>
        fetch(`${srv.url}/api/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phone_number: `1555010${String(1 + ((i + j) % 100)).padStart(4, '0')}`, message: `crash-test #${i + j}`, queue: true }),
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
    return unique === N && duplicates === 0;
  } finally {
    await srv.stop();
  }
}

// ---- media ----

interface MediaDelivery {
  id: string;
  type?: string;
  media?: { sha256?: string; kind?: string } | null;
}

function mediaDeliveries(dir: string): MediaDelivery[] {
  try {
    const text = fs.readFileSync(path.join(dir, 'auth', 'session-default', 'deliveries.jsonl'), 'utf8');
    return text.split('\n').filter(Boolean).flatMap((l) => {
      try {
        return [JSON.parse(l) as MediaDelivery];
      } catch {
        return []; // a line the kill cut short: the sandbox skips it too
      }
    });
  } catch {
    return [];
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real PNG of random pixels (so the server sniffs image/png and sends kind image), about w*h*3 bytes. */
function png(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.concat(Array.from({ length: h }, () => Buffer.concat([Buffer.from([0]), randomBytes(w * 3)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows, { level: 1 })), chunk('IEND', Buffer.alloc(0))]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function mediaProof(): Promise<boolean> {
  const t1 = Date.now();
  let m = await spawnServer(env);
  const mdir = m.dir;
  const sends: { outbox_id: string; sha256: string; kind: 'image' | 'document'; size: number; via: string }[] = [];
  try {
    for (let i = 0; i < MEDIA_N; i++) {
      const to = `1555020${String(1 + (i % 10)).padStart(4, '0')}`; // not ...0000: the sandbox says those are not on WhatsApp
      let res: Response;
      let file: Buffer;
      if (i % 2 === 0) {
        file = png(256, 256 + (i % 7) * 32); // ~200-350 KB, uploaded as multipart/form-data
        const form = new FormData();
        form.append('phone_number', to);
        form.append('message', `crash-media #${i}`);
        form.append('queue', 'true');
        form.append('file', new Blob([new Uint8Array(file)], { type: 'image/png' }), `crash-${i}.png`);
        res = await fetch(`${m.url}/api/send`, { method: 'POST', body: form });
      } else {
        file = randomBytes(128 * 1024 + i * 1024); // a document, as base64 in JSON
        res = await fetch(`${m.url}/api/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phone_number: to, message: `crash-media #${i}`, queue: true, media: { data: file.toString('base64'), filename: `crash-${i}.bin` } }),
        });
      }
      const answer = (await res.json()) as { outbox_id?: string; status?: string };
      if (res.status !== 202 || answer.status !== 'queued' || !answer.outbox_id) throw new Error(`media send #${i}: expected 202 queued, got ${res.status} ${JSON.stringify(answer)}`);
      sends.push({ outbox_id: answer.outbox_id, sha256: sha256(file), kind: i % 2 === 0 ? 'image' : 'document', size: file.length, via: i % 2 === 0 ? 'multipart' : 'base64' });
    }
    const images = sends.filter((s) => s.kind === 'image').length;
    console.log(`crash media: queued ${MEDIA_N} media sends while not linked (${images} PNG images as multipart, ${MEDIA_N - images} documents as base64; ${(sends.reduce((a, s) => a + s.size, 0) / 1024 / 1024).toFixed(1)} MB)`);
    m.child.kill('SIGKILL');
    await new Promise((r) => m.child.once('exit', r));
    console.log(`  kill -9 with ${MEDIA_N} queued, ${mediaDeliveries(mdir).length} delivered`);
    m = await spawnServer(env, mdir);
    await fetch(`${m.url}/api/sandbox/link`, { method: 'POST' });
    for (let k = 1; k <= 2 && mediaDeliveries(mdir).length < MEDIA_N; k++) {
      const before = mediaDeliveries(mdir).length;
      const deadline = Date.now() + 20_000;
      while (mediaDeliveries(mdir).length === before && Date.now() < deadline) await sleep(1);
      await sleep(Math.random() * 10);
      m.child.kill('SIGKILL');
      await new Promise((r) => m.child.once('exit', r));
      console.log(`  kill -9 during delivery #${k} with ${mediaDeliveries(mdir).length}/${MEDIA_N} delivered`);
      m = await spawnServer(env, mdir);
    }
    const deadline = Date.now() + 30_000;
    while (mediaDeliveries(mdir).length < MEDIA_N && Date.now() < deadline) await sleep(50);
    await sleep(1000); // anything sent twice would show up now

    // One more kill -9 and restart: what follows is read from a server that has just come back.
    m.child.kill('SIGKILL');
    await new Promise((r) => m.child.once('exit', r));
    m = await spawnServer(env, mdir);
    const lines = mediaDeliveries(mdir);
    const bySha = new Map<string, MediaDelivery[]>();
    for (const l of lines) if (l.media?.sha256) bySha.set(l.media.sha256, [...(bySha.get(l.media.sha256) ?? []), l]);
    const once = sends.filter((s) => bySha.get(s.sha256)?.length === 1).length;
    const missing = sends.filter((s) => !bySha.has(s.sha256)).length;
    const twice = sends.filter((s) => (bySha.get(s.sha256)?.length ?? 0) > 1).length;
    const imageLines = lines.filter((l) => l.type === 'image').length;
    console.log(`  deliveries.jsonl: ${lines.length} lines; ${once}/${MEDIA_N} files delivered exactly once, ${missing} missing, ${twice} more than once; ${imageLines} lines of type image (${images} image sends)`);

    let sameBytes = 0;
    let idsAgree = 0;
    const problems: string[] = [];
    for (const s of sends) {
      const st = (await (await fetch(`${m.url}/api/outbox/${encodeURIComponent(s.outbox_id)}`)).json()) as { send?: { state: string; message_id: string | null; kind: string } };
      const id = st.send?.message_id;
      if (st.send?.state !== 'sent' || !id) {
        problems.push(`${s.outbox_id}: outbox ${JSON.stringify(st.send ?? st)}`);
        continue;
      }
      if (bySha.get(s.sha256)?.[0]?.id === id) idsAgree++;
      else problems.push(`${s.outbox_id}: outbox says ${id}, the delivery log ${bySha.get(s.sha256)?.[0]?.id ?? 'nothing'}`);
      const res = await fetch(`${m.url}/api/messages/${encodeURIComponent(id)}/media`);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status === 200 && sha256(bytes) === s.sha256) sameBytes++;
      else problems.push(`${id}: GET media ${res.status} ${res.status === 200 ? `${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 12)}…` : bytes.toString().slice(0, 200)}`);
    }
    console.log(`  after restart: ${idsAgree}/${MEDIA_N} outbox rows sent with the delivered message id; GET /api/messages/{id}/media returned the same bytes (sha256) for ${sameBytes}/${MEDIA_N}, in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    for (const p of problems.slice(0, 10)) console.log(`  problem: ${p}`);
    return once === MEDIA_N && imageLines === images && idsAgree === MEDIA_N && sameBytes === MEDIA_N;
  } finally {
    await m.stop();
  }
}

const textOk = await textProof();
const mediaOk = await mediaProof();
const ok = textOk && mediaOk;
console.log(ok ? 'crash: PASS' : `crash: FAIL (text ${textOk ? 'ok' : 'FAILED'}, media ${mediaOk ? 'ok' : 'FAILED'})`);
process.exitCode = ok ? 0 : 1;
