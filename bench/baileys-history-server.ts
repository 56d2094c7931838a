// The server half of bench/baileys-history.ts, in its own process so the load generator does not share its event
// loop: our app with the Baileys engine on the test fake socket (test/fakes/), linked, with 200k history messages
// built in realistic shapes (proto.WebMessageInfo instances: Long timestamps, group participants, quotes, images,
// reactions and edits that are not messages) before anything is measured. Prints {"url"} when ready; on a "sync" line
// on stdin emits the batches one after another (the next when the previous one's summary is out, as Baileys hands
// over one downloaded chunk at a time) and prints {"synced", "ms", "stored"}.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import readline from 'node:readline';
import { proto, type WAMessage } from 'baileys';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createBaileysEngine } from '../src/engine/baileys.js';
import { silentLogger } from '../src/logger.js';
import { MemoryAuthStores } from '../test/fakes/fake-baileys-auth.js';
import { FakeBaileysWorld } from '../test/fakes/fake-baileys-socket.js';

const TOTAL = Number(process.env.BENCH_HISTORY_MESSAGES ?? 200_000);
const PER_BATCH = Number(process.env.BENCH_HISTORY_BATCH ?? 5_000);
const CHATS = 500;
const T0 = Math.floor(Date.now() / 1000) - 365 * 24 * 3600;
const WORDS = 'ok thanks see you tomorrow where are we meeting the report is done call me later lunch at noon'.split(' ');

function jidOf(chat: number): string {
  return chat % 5 === 0 ? `1203630000${String(chat).padStart(8, '0')}@g.us` : `1555${String(1_000_000 + chat)}@s.whatsapp.net`;
}

function text(i: number): string {
  const n = 3 + (i % 17);
  return Array.from({ length: n }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ');
}

function build(i: number): WAMessage {
  const chat = i % CHATS;
  const remoteJid = jidOf(chat);
  const group = remoteJid.endsWith('@g.us');
  const fromMe = i % 4 === 0;
  const key = { remoteJid, fromMe, id: `3EB0${i.toString(16).toUpperCase().padStart(16, '0')}`, ...(group && !fromMe ? { participant: `1555${String(2_000_000 + (i % 40))}@s.whatsapp.net` } : {}) };
  const kind = i % 20;
  let message: proto.IMessage;
  if (kind < 13) message = { conversation: text(i) };
  else if (kind < 16) message = { extendedTextMessage: { text: text(i + 1), contextInfo: { stanzaId: `3EB0${(i - 1).toString(16).toUpperCase().padStart(16, '0')}`, participant: remoteJid, quotedMessage: { conversation: text(i - 1) } } } };
  else if (kind < 18) message = { imageMessage: { url: `https://mmg.whatsapp.net/v/t62/${i}.enc`, mimetype: 'image/jpeg', caption: kind === 16 ? text(i) : '', fileSha256: Buffer.alloc(32, i % 256), fileLength: 40_000 + i, height: 1280, width: 960, mediaKey: Buffer.alloc(32, 7), directPath: `/v/t62/${i}.enc` } };
  else if (kind === 18) message = { reactionMessage: { key: { ...key, id: 'X' }, text: '👍', senderTimestampMs: (T0 + i) * 1000 } };
  else message = { protocolMessage: { type: 14, key: { ...key, id: 'X' }, editedMessage: { conversation: 'edited' } } };
  return proto.WebMessageInfo.fromObject({ key, message, messageTimestamp: T0 + i * 150, status: fromMe ? 4 : 3, pushName: fromMe ? undefined : 'Someone' }) as WAMessage;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-history-'));
const config = loadConfig({
  WHATSAPP_MCP_HOST: '127.0.0.1',
  WHATSAPP_MCP_PORT: '0',
  WHATSAPP_ENGINE: 'baileys',
  WHATSAPP_AUTH_DIR: path.join(dir, 'auth'),
  WHATSAPP_DATA_DIR: path.join(dir, 'data'),
  LOG_LEVEL: 'silent',
});
const world = new FakeBaileysWorld();
const auth = new MemoryAuthStores();
const logger = silentLogger();
const engine = createBaileysEngine({ config, logger, socketFactory: world.factory, openAuthStore: auth.open });
const app = await startApp(config, { logger, engine });

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('timed out');
}
await engine.start();
await until(() => world.sockets.at(-1)?.state === 'qr');
world.last.link();
await until(() => engine.status().state === 'ready');

// Newest first within a batch, batches newest first: as the phone sends them.
const batches: WAMessage[][] = [];
for (let start = TOTAL; start > 0; start -= PER_BATCH) {
  const batch: WAMessage[] = [];
  for (let i = start - 1; i >= Math.max(0, start - PER_BATCH); i--) batch.push(build(i));
  batches.push(batch);
}
const chats = Array.from({ length: CHATS }, (_, c) => ({ id: jidOf(c), name: c % 5 === 0 ? `Group ${c}` : undefined, conversationTimestamp: T0 + TOTAL * 150, unreadCount: c % 3 }));
// build(): kinds 18 and 19 of every 20 are a reaction and an edit, which are not messages.
const countable = Array.from({ length: TOTAL }, (_, i) => i % 20 < 18).filter(Boolean).length;

/**
 * The longest single call of a store method during the sync (what one turn of the loop pays for it), its p99, and
 * how many calls took over 20 ms (the target): wall time, so on a loaded machine it includes being descheduled.
 */
const blocks: Record<string, { max: number; total: number; calls: number; p99: number; over20: number }> = {};
const samples: Record<string, number[]> = {};
function timed(obj: Record<string, unknown>, name: string): void {
  const orig = obj[name] as (...a: unknown[]) => unknown;
  const b = (blocks[name] = { max: 0, total: 0, calls: 0, p99: 0, over20: 0 });
  const all: number[] = [];
  samples[name] = all;
  obj[name] = (...a: unknown[]) => {
    const t = performance.now();
    try {
      return orig.apply(obj, a);
    } finally {
      const d = performance.now() - t;
      b.max = Math.max(b.max, d);
      b.total += d;
      b.calls++;
      if (d > 20) b.over20++;
      all.push(d);
    }
  };
}
timed(app.services.store as unknown as Record<string, unknown>, 'write');
timed(app.services.store as unknown as Record<string, unknown>, 'indexPending');

/** Garbage-collection pauses during the sync: the loop is stopped for them too, and the bench holds 200k messages. */
const gc = { count: 0, total: 0, max: 0, major: 0, majorMax: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.total += e.duration;
    gc.max = Math.max(gc.max, e.duration);
    // perf_hooks constants.NODE_PERFORMANCE_GC_MAJOR: mark-compact of the old generation.
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 4) {
      gc.major++;
      gc.majorMax = Math.max(gc.majorMax, e.duration);
    }
  }
});

async function sync(): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  gcObserver.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  for (const [n, messages] of batches.entries()) {
    const done = new Promise<void>((resolve) => engine.events.once('history_synced', () => resolve()));
    world.last.ev.emit('messaging-history.set', { chats: n === 0 ? chats : [], contacts: [], messages, isLatest: n === batches.length - 1, progress: Math.round(((n + 1) / batches.length) * 100), syncType: 2 });
    await done;
  }
  const ms = performance.now() - started;
  loop.disable();
  for (const [name, all] of Object.entries(samples)) blocks[name]!.p99 = [...all].sort((x, y) => x - y)[Math.floor(all.length * 0.99)] ?? 0;
  gcObserver.disconnect();
  const stored = countStored();
  // The search index catches up on its own turns after the writes (message-store.ts): searchable from then on.
  while (app.services.store.pendingIndexCount() > 0) await new Promise((r) => setTimeout(r, 20));
  const indexedMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ synced: countable, ms, indexed_ms: indexedMs, stored, heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6), loop_p99_ms: loop.percentile(99) / 1e6, loop_max_ms: loop.max / 1e6, cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000, blocks, gc, checkpoints: app.services.store.checkpoints() })}\n`);
}

function countStored(): number {
  return (app.services.store.db.prepare('SELECT count(*) FROM messages').pluck().get() as number) ?? 0;
}

process.stdout.write(`${JSON.stringify({ url: app.url, messages: TOTAL, countable, batches: batches.length })}\n`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'sync') void sync();
  if (line === 'quit') void app.close().then(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
