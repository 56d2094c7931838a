// Media benchmark: moving files in and out, as ratios to a bare node:http server in the same run, and what a file
// costs the server in memory.
//   npm run bench:media            (builds dist/ first)
//   npx tsx bench/media.ts [MB = 20] [transfers = 20]
// Our server runs from dist/ in a child process (sandbox engine, linked, pacing off, throwaway dirs, 127.0.0.1); the
// baseline is this file run with --baseline: node:http + busboy streaming an upload to disk, fs.createReadStream
// streaming a file back. The bench process is the client for both, one request at a time, alternating ours and
// the baseline so that the machine's noise falls on both. Peak RSS of our server is read from /proc/<pid>/status
// (VmHWM, reset through clear_refs before each part, plus VmRSS sampled every 10 ms).
import { execSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import busboy from 'busboy';
import { spawnServer } from './harness.js';

const MB = 1024 * 1024;

/** The bare baseline: what streaming a file to disk and back costs node:http with no product around it. */
async function baseline(dir: string): Promise<void> {
  const file = path.join(dir, 'baseline.bin');
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    if (req.method === 'POST' && req.url === '/upload') {
      const bb = busboy({ headers: req.headers });
      let written: Promise<number> = Promise.resolve(0);
      bb.on('file', (_name, stream) => {
        const tmp = path.join(dir, randomUUID());
        const out = fs.createWriteStream(tmp, { mode: 0o600 });
        stream.pipe(out);
        written = new Promise((resolve, reject) => {
          out.on('finish', () => {
            fs.renameSync(tmp, file); // one file on disk however many uploads (ours keeps one per sha256)
            resolve(out.bytesWritten);
          });
          out.on('error', reject);
        });
      });
      bb.on('field', () => {});
      bb.on('close', () => {
        void written.then((size) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, size }));
        });
      });
      req.pipe(bb);
      return;
    }
    if (req.method === 'GET' && req.url === '/file') {
      const size = fs.statSync(file).size;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      fs.createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
}

// ---- the bench ----

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Reply {
  status: number;
  body: Buffer;
  bytes: number;
  sha256?: string;
}

/** One request; the answer's bytes are counted (and hashed when asked), kept only when small. */
function request(url: string, opts: { method: string; headers?: Record<string, string | number>; body?: Buffer; hash?: boolean }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, agent, headers: opts.headers }, (res) => {
      const keep: Buffer[] = [];
      let bytes = 0;
      const hash = opts.hash ? createHash('sha256') : null;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash?.update(c);
        if (bytes <= 64 * 1024) keep.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(keep), bytes, ...(hash ? { sha256: hash.digest('hex') } : {}) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function multipart(fields: Record<string, string>, file: Buffer, filename: string): { body: Buffer; type: string } {
  const boundary = `----wa-bench-${randomUUID()}`;
  const head = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  const filePart = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head + filePart), file, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

/** Peak RSS of a process over a part: the kernel's high-water mark (reset first) and our own 10 ms samples. */
class RssMeter {
  private peakSampled = 0;
  private timer: NodeJS.Timeout | null = null;
  startMb = 0;

  constructor(private readonly pid: number) {}

  private read(): { rss: number; hwm: number } {
    const s = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  }

  begin(): void {
    try {
      fs.writeFileSync(`/proc/${this.pid}/clear_refs`, '5'); // VmHWM := VmRSS
    } catch {
      // not allowed here: the 10 ms samples still bound the peak from below
    }
    this.startMb = this.read().rss;
    this.peakSampled = this.startMb;
    this.timer = setInterval(() => {
      this.peakSampled = Math.max(this.peakSampled, this.read().rss);
    }, 10);
  }

  end(): { startMb: number; peakMb: number; growthMb: number } {
    if (this.timer) clearInterval(this.timer);
    const { rss, hwm } = this.read();
    const peakMb = Math.max(this.peakSampled, rss, hwm);
    return { startMb: this.startMb, peakMb, growthMb: peakMb - this.startMb };
  }
}

async function main(): Promise<void> {
  const sizeMb = Number(process.argv[2] ?? 20);
  const rounds = Number(process.argv[3] ?? 20);
  const jsonRounds = Math.max(1, Math.round(rounds / 4));
  const target = 2 * sizeMb; // "RSS grows by less than 2x the largest file"
  const started = performance.now();
  execSync('npm run build --silent', { stdio: 'inherit' });

  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-media-'));
  const base = spawn(process.execPath, ['--import', 'tsx', 'bench/media.ts', '--baseline', baseDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const basePort = await new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: base.stdout! }).once('line', (l) => resolve(JSON.parse(l).port as number));
    base.once('exit', (code) => reject(new Error(`baseline exited with ${code}`)));
  });
  const baseUrl = `http://127.0.0.1:${basePort}`;
  const srv = await spawnServer({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' });
  try {
    const link = await request(`${srv.url}/api/sandbox/link`, { method: 'POST' });
    if (link.status !== 200) throw new Error(`link: ${link.status} ${link.body}`);

    const file = randomBytes(sizeMb * MB);
    const sha = createHash('sha256').update(file).digest('hex');
    const oursForm = multipart({ phone_number: '15550004242' }, file, 'bench.bin');
    const baseForm = multipart({ phone_number: '15550004242' }, file, 'bench.bin');

    const send = async (form: { body: Buffer; type: string }, url: string): Promise<Reply> => {
      const r = await request(url, { method: 'POST', headers: { 'content-type': form.type, 'content-length': form.body.length }, body: form.body });
      if (r.status !== 200) throw new Error(`POST ${url}: ${r.status} ${r.body.toString().slice(0, 300)}`);
      return r;
    };
    // Warm up both (JIT, lazily loaded code) with a small file, outside the measurements.
    const small = randomBytes(64 * 1024);
    const warm = JSON.parse((await send(multipart({ phone_number: '15550004242' }, small, 'warm.bin'), `${srv.url}/api/send`)).body.toString()) as { message_id: string };
    await send(multipart({}, small, 'warm.bin'), `${baseUrl}/upload`);
    await download(`${srv.url}/api/messages/${encodeURIComponent(warm.message_id)}/media`, small.length);
    await download(`${baseUrl}/file`, small.length);

    const meter = new RssMeter(srv.child.pid!);
    // Per-transfer times; a row's MB/s is the file size over the median (one slow transfer is the machine, not us).
    const times = { upOurs: [] as number[], upBase: [] as number[], downOurs: [] as number[], downBase: [] as number[], json: [] as number[], intake: [] as number[], intakeBase: [] as number[] };
    const timed = async <T>(into: number[], f: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const out = await f();
      into.push(performance.now() - t);
      return out;
    };
    const ids: string[] = [];

    // (1) multipart uploads, then (2) downloads; alternating ours and the baseline.
    const baseMeter = new RssMeter(base.pid!);
    baseMeter.begin();
    meter.begin();
    for (let i = 0; i < rounds; i++) {
      const r = await timed(times.upOurs, () => send(oursForm, `${srv.url}/api/send`));
      const answer = JSON.parse(r.body.toString()) as { message_id: string; status: string };
      if (answer.status !== 'sent') throw new Error(`send answered ${r.body}`);
      ids.push(answer.message_id);
      await timed(times.upBase, () => send(baseForm, `${baseUrl}/upload`));
    }
    const up = meter.end();
    const baseUp = baseMeter.end();
    meter.begin();
    for (let i = 0; i < rounds; i++) {
      await timed(times.downOurs, () => download(`${srv.url}/api/messages/${encodeURIComponent(ids[i]!)}/media`, file.length));
      await timed(times.downBase, () => download(`${baseUrl}/file`, file.length));
    }
    const down = meter.end();
    // Untimed: the bytes served are the bytes sent.
    for (const id of [ids[0]!, ids.at(-1)!]) {
      const got = await download(`${srv.url}/api/messages/${encodeURIComponent(id)}/media`, file.length, true);
      if (got.sha256 !== sha) throw new Error(`download ${id}: other bytes (sha256 ${got.sha256})`);
    }

    // (3) the same file as base64 in a JSON body: the body is parsed whole, so it costs several copies in memory.
    const json = Buffer.from(JSON.stringify({ phone_number: '15550004242', media: { data: file.toString('base64'), filename: 'bench.bin' } }));
    meter.begin();
    for (let i = 0; i < jsonRounds; i++) {
      const r = await timed(times.json, () => request(`${srv.url}/api/send`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': json.length }, body: json }));
      if (r.status !== 200) throw new Error(`JSON send: ${r.status} ${r.body.toString().slice(0, 300)}`);
    }
    const js = meter.end();

    // (4) our intake alone: a second server, never linked, the same uploads queued (no engine reads the file).
    const idle = await spawnServer({ WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' });
    let intake: { startMb: number; peakMb: number; growthMb: number };
    try {
      const queued = multipart({ phone_number: '15550004242', queue: 'true' }, file, 'bench.bin');
      const queue = async (form: { body: Buffer; type: string }) => {
        const r = await request(`${idle.url}/api/send`, { method: 'POST', headers: { 'content-type': form.type, 'content-length': form.body.length }, body: form.body });
        if (r.status !== 202) throw new Error(`queued send: ${r.status} ${r.body.toString().slice(0, 300)}`);
      };
      await queue(multipart({ phone_number: '15550004242', queue: 'true' }, small, 'warm.bin'));
      const m = new RssMeter(idle.child.pid!);
      m.begin();
      for (let i = 0; i < rounds; i++) {
        await timed(times.intake, () => queue(queued));
        await timed(times.intakeBase, () => send(baseForm, `${baseUrl}/upload`));
      }
      intake = m.end();
    } finally {
      await idle.stop();
      fs.rmSync(idle.dir, { recursive: true, force: true });
    }

    const rate = (ms: number[]) => sizeMb / (median(ms) / 1000);
    const rows: [string, number, number][] = [
      ['upload, multipart → POST /api/send', rate(times.upOurs), rate(times.upBase)],
      ['download, GET /api/messages/{id}/media', rate(times.downOurs), rate(times.downBase)],
      ['upload, JSON base64 → POST /api/send', rate(times.json), rate(times.upBase)],
      ['upload, multipart, queued (not linked)', rate(times.intake), rate(times.intakeBase)],
    ];
    console.log(`media: a ${sizeMb} MB random file, ${rounds} uploads and ${rounds} downloads each side (${jsonRounds} JSON sends), one at a time, 127.0.0.1`);
    console.log(`${''.padEnd(42)} ${'ours'.padStart(10)} ${'baseline'.padStart(10)} ${'ratio'.padStart(7)}`);
    for (const [name, ours, b] of rows) {
      console.log(`${name.padEnd(42)} ${`${ours.toFixed(0)} MB/s`.padStart(10)} ${`${b.toFixed(0)} MB/s`.padStart(10)} ${`${(ours / b).toFixed(2)}x`.padStart(7)}`);
    }
    console.log('  (MB/s = file size / median transfer time; the JSON row is against the baseline multipart upload, its body is 4/3 of the file)');
    const mb = (x: number) => `${x.toFixed(0)} MB`;
    const both = Math.max(up.peakMb, down.peakMb) - up.startMb;
    console.log(`server RSS growth (peak minus before), target < ${target} MB (2x the file):`);
    console.log(`  multipart uploads + downloads, linked   ${mb(both).padStart(7)}  (${mb(up.startMb)} → peak ${mb(Math.max(up.peakMb, down.peakMb))}): ${both < target ? 'meets the target' : 'misses the target'}`);
    console.log(`    of which downloads alone             ${mb(down.growthMb).padStart(7)}  (on top of what the uploads left)`);
    console.log(`  multipart uploads, queued, not linked  ${mb(intake.growthMb).padStart(7)}  (${mb(intake.startMb)} → ${mb(intake.peakMb)}): our intake without an engine reading the file: ${intake.growthMb < target ? 'meets the target' : 'misses the target'}`);
    console.log(`  for scale, the bare baseline server    ${mb(baseUp.growthMb).padStart(7)}  (${mb(baseUp.startMb)} → ${mb(baseUp.peakMb)}) over the same multipart uploads: Node's own floor for streaming uploads`);
    console.log(`  JSON base64 sends, linked              ${mb(js.growthMb).padStart(7)}  (${mb(js.startMb)} → ${mb(js.peakMb)}): expected over, the body is parsed whole (JSON text, base64 string, decoded bytes)`);
    console.log(`media bench: ${((performance.now() - started) / 1000).toFixed(1)} s including the build`);
  } finally {
    await srv.stop();
    base.kill('SIGTERM');
    agent.destroy();
    fs.rmSync(baseDir, { recursive: true, force: true });
    fs.rmSync(srv.dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function download(url: string, size: number, hash = false): Promise<Reply> {
  // A message row is written by the store a few ms after its send answered: a 404 right then is worth a retry.
  for (let tries = 0; ; tries++) {
    const r = await request(url, { method: 'GET', hash });
    if (r.status === 404 && tries < 50) {
      await new Promise((res) => setTimeout(res, 10));
      continue;
    }
    if (r.status !== 200 || r.bytes !== size) throw new Error(`GET ${url}: ${r.status}, ${r.bytes} bytes ${r.status !== 200 ? r.body.toString().slice(0, 300) : ''}`);
    return r;
  }
}

if (process.argv[2] === '--baseline') await baseline(process.argv[3]!);
else await main();
