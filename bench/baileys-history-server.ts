// The server half of bench/baileys-history.ts, in its own process so the load generator does not share its event
// loop: our app with the Baileys engine on the test fake socket (test/fakes/), linked, with 200k history messages
// built in realistic shapes (proto.WebMessageInfo: Long timestamps, group participants, quotes, images, reactions and
// edits that are not messages) before anything is measured, and kept as Baileys receives them: one encoded
// proto.HistorySync per chunk (conversations holding their messages). Prints {"url"} when ready; on a "sync" line on
// stdin hands the chunks over one after another as Baileys does (decode, then its own processHistoryMessage, then
// messaging-history.set; the next when the previous one's summary is out) and prints {"synced", "ms", "stored"}.
// Holding the chunks encoded matters: 200k decoded messages are a ~800 MB heap that no real sync ever holds
// (Baileys decodes one downloaded chunk at a time), and every full GC of the server would have to mark it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import readline from 'node:readline';
import { processHistoryMessage, proto, type WAMessage } from 'baileys';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createBaileysEngine } from '../src/engine/baileys.js';
import { silentLogger } from '../src/logger.js';
import { type CallRecord, StoreCallTiming } from './store-call-timing.js';
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

// Newest first within a batch, batches newest first: as the phone sends them. Each batch encoded as the phone sends
// it (a HistorySync of conversations); the first also carries every chat's record.
const chatRecords = Array.from({ length: CHATS }, (_, c) => ({ id: jidOf(c), name: c % 5 === 0 ? `Group ${c}` : undefined, conversationTimestamp: T0 + TOTAL * 150, unreadCount: c % 3 }));
const batches: Buffer[] = [];
for (let start = TOTAL; start > 0; start -= PER_BATCH) {
  const byChat = new Map<string, Array<{ message: WAMessage }>>();
  for (let i = start - 1; i >= Math.max(0, start - PER_BATCH); i--) {
    const m = build(i);
    const list = byChat.get(m.key.remoteJid!) ?? [];
    list.push({ message: m });
    byChat.set(m.key.remoteJid!, list);
  }
  const first = batches.length === 0;
  const conversations = (first ? chatRecords.map((c) => c.id) : [...byChat.keys()]).map((id) => ({ ...(first ? chatRecords.find((c) => c.id === id) : { id }), messages: byChat.get(id) ?? [] }));
  batches.push(Buffer.from(proto.HistorySync.encode({ syncType: proto.HistorySync.HistorySyncType.FULL, conversations, progress: 0 }).finish()));
}
// build(): kinds 18 and 19 of every 20 are a reaction and an edit, which are not messages.
const countable = Array.from({ length: TOTAL }, (_, i) => i % 20 < 18).filter(Boolean).length;

/**
 * Every call of store.write / store.indexPending during the sync (what one turn of the loop pays for it): wall time,
 * and what explains it (bench/store-call-timing.ts): time on a CPU, in the run queue, in GC, and the statements.
 */
const timing = new StoreCallTiming();
const store = app.services.store as unknown as Record<string, unknown> & { fts: Record<string, object>; writer: { ids: object } };
timing.wrap(store, 'write');
timing.wrap(store, 'indexPending');
timing.statements(store.fts, 'fts');
for (const m of ['merge', 'merged', 'lookUp']) timing.phase(store.writer.ids, m, `ids.${m}`);
timing.phase(store.writer.ids, 'find', 'ids.find (wall)', 'wall');
timing.phase(store.writer, 'applyBatch', 'writer.applyBatch');
if (process.env.BENCH_HISTORY_STACKS === '1') timing.sample();

/** Garbage-collection pauses during the sync: the loop is stopped for them too, and the bench holds 200k messages. */
const gc = { count: 0, total: 0, max: 0, major: 0, majorMax: 0 };
/** Baileys' decode of each chunk (proto.HistorySync.decode + processHistoryMessage): one task per chunk, not ours. */
const decode = { total: 0, max: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.total += e.duration;
    timing.gc(e.startTime, e.duration);
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
  for (const [n, encoded] of batches.entries()) {
    const done = new Promise<void>((resolve) => engine.events.once('history_synced', () => resolve()));
    // Baileys' part, in one task as in the library (after the download and inflate, which are async there).
    const t = performance.now();
    const { chats, contacts, messages, lidPnMappings } = processHistoryMessage(proto.HistorySync.decode(encoded));
    const decodeMs = performance.now() - t;
    decode.total += decodeMs;
    decode.max = Math.max(decode.max, decodeMs);
    world.last.ev.emit('messaging-history.set', { chats, contacts, messages: messages as WAMessage[], lidPnMappings, isLatest: n === batches.length - 1, progress: Math.round(((n + 1) / batches.length) * 100), syncType: proto.HistorySync.HistorySyncType.FULL });
    await done;
  }
  const ms = performance.now() - started;
  loop.disable();
  gcObserver.disconnect();
  timing.finish();
  const blocks = {
    write: timing.summary('write'),
    indexPending: timing.summary('indexPending', (r) => !r.nested),
    'indexPending (inside write)': timing.summary('indexPending', (r) => r.nested),
  };
  const round = (r: CallRecord) => ({ ...r, phases: Object.fromEntries(Object.entries(r.phases).filter(([, v]) => v >= 0.5).map(([k, v]) => [k, Math.round(v * 10) / 10])) });
  const longest = timing.longest(6).map(round);
  const longestCpu = timing.longest(4, 'cpu').map(round);
  const threadSamples = await timing.samples();
  const ftsSegments = app.services.store.db.prepare('SELECT count(DISTINCT segid) FROM messages_fts_idx').pluck().get();
  const stored = countStored();
  // The search index catches up on its own turns after the writes (message-store.ts): searchable from then on.
  while (app.services.store.pendingIndexCount() > 0) await new Promise((r) => setTimeout(r, 20));
  const indexedMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ synced: countable, ms, indexed_ms: indexedMs, stored, heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6), loop_p99_ms: loop.percentile(99) / 1e6, loop_max_ms: loop.max / 1e6, cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000, blocks, longest, longest_cpu: longestCpu, fts_segments: ftsSegments, thread_samples: threadSamples, gc, decode, encoded_mb: Math.round(batches.reduce((n, b) => n + b.length, 0) / 1e6), checkpoints: app.services.store.checkpoints() })}\n`);
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
