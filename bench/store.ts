// Store benchmark: ingest, search-index lag, search and chat-page latency, bytes per message.
// Run: npx tsx bench/store.ts [messages=1000000] [chats=1000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { type Message, plainExtras } from '../src/domain.js';
import { DB_FILE_NAME, openDatabase } from '../src/store/db.js';
import { FLUSH_DELAY_MS, INDEX_DELAY_MS, MessageStore } from '../src/store/message-store.js';
import { encodeCursor } from '../src/store/rows.js';
import type { SearchQuery } from '../src/store/search.js';

const N = Number(process.argv[2] ?? 1_000_000);
const CHATS = Number(process.argv[3] ?? 1_000);
const BATCH = 10_000;
const RARE = 'xylophone'; // ~1 in 50,000 messages
const COMMON = 'tomorrow'; // ~15% of messages
const ME = '15550009999@c.us';

// Deterministic PRNG so runs are comparable.
let seed = 42;
const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);

// Zipf-like vocabulary: a few very frequent words, a long tail of rare ones (as in real chat text).
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'do', 'gi', 'fu', 'be', 'ha', 'jo'];
const STOP = ['the', 'a', 'to', 'and', 'you', 'i', 'is', 'it', 'ok', 'yes', 'no', 'we', 'at', 'on', 'for', 'in'];
const VOCAB = [...STOP, ...Array.from({ length: 30_000 }, (_, i) => {
  let w = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / 16)) w += SYLLABLES[n % 16];
  return w;
})];
const word = () => VOCAB[Math.floor(VOCAB.length * rand() ** 4)]!;

const chatId = (c: number) => (c % 10 === 0 ? `1203630000${String(c).padStart(8, '0')}@g.us` : `1555${String(c).padStart(7, '0')}@c.us`);
const START = 1_700_000_000;
const SPAN = 365 * 24 * 3600;

function makeMessage(i: number): Message {
  const c = Math.floor(rand() * CHATS);
  const chat = chatId(c);
  const group = chat.endsWith('@g.us');
  const fromMe = rand() < 0.4;
  const words: string[] = [];
  const len = 2 + Math.floor(rand() * 14);
  for (let k = 0; k < len; k++) words.push(word());
  if (rand() < 0.15) words.splice(Math.floor(rand() * words.length), 0, COMMON);
  if (i % 50_000 === 7) words.push(RARE);
  const author = group && !fromMe ? `1555${String(Math.floor(rand() * 5000)).padStart(7, '0')}@c.us` : null;
  return {
    id: `${fromMe}_${chat}_${Math.floor(rand() * 2 ** 52).toString(16).toUpperCase().padStart(13, '0')}${i.toString(16)}`,
    chat_id: chat,
    from: fromMe ? ME : group ? chat : chat,
    to: fromMe ? chat : ME,
    author,
    from_me: fromMe,
    type: 'chat',
    body: words.join(' '),
    timestamp: START + Math.floor((i / N) * SPAN),
    has_media: false,
    ack: fromMe ? 'read' : null,
    ...plainExtras(),
  };
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}

function time(runs: number, fn: (i: number) => unknown): { p50: number; p99: number } {
  for (let i = 0; i < 5; i++) fn(i); // warm statements and cache
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn(i);
    out.push(performance.now() - t);
  }
  return percentiles(out);
}

/**
 * Same-run baseline: the naive design (a per-row trigger keeps the FTS index current inside every write), same
 * schema, same generated messages. Machines here vary 1.5x between runs, so only the ratio is meaningful.
 */
function naiveIngestRate(dir: string, n: number): number {
  const store = new MessageStore(openDatabase(path.join(dir, 'naive.db')));
  // Every row is indexed by the trigger, so the high-water mark moves with it and the background indexer finds nothing.
  store.db.exec(`CREATE TRIGGER naive_fts AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, scope) SELECT seq, body, scope FROM messages_fts_source WHERE seq = new.seq AND body != '';
    DELETE FROM fts_pending WHERE seq = new.seq;
    UPDATE fts_state SET indexed_to = max(indexed_to, new.seq);
  END`);
  seed = 42;
  let ms = 0;
  for (let b = 0; b < n; b += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, n - b) }, (_, k) => ({ kind: 'message' as const, message: makeMessage(b + k) }));
    const t = performance.now();
    store.write(events);
    ms += performance.now() - t;
  }
  store.close();
  return n / (ms / 1000);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-bench-'));
  const file = path.join(dir, DB_FILE_NAME);
  const store = new MessageStore(openDatabase(file), (err) => {
    throw err;
  });
  // For trying settings without editing the store: STORE_BENCH_SQL="PRAGMA cache_size=-262144" npx tsx bench/store.ts
  if (process.env.STORE_BENCH_SQL) store.db.exec(process.env.STORE_BENCH_SQL);
  // A/B of the WAL checkpoint worker in one sitting: STORE_BENCH_CHECKPOINTER=off checkpoints in the writer instead,
  // every 10,000 pages (the setting before the worker).
  if (process.env.STORE_BENCH_CHECKPOINTER === 'off') {
    (store as unknown as { checkpointer: { stop(): void } }).checkpointer.stop();
    store.db.pragma('wal_autocheckpoint = 10000');
  }
  const rows: Array<[string, string, string]> = [];
  const row = (what: string, value: string, note = '') => rows.push([what, value, note]);

  // ---- ingest: batches of 10k (a history sync), yielding between batches so the background indexer runs as in
  // production. Generation time is excluded.
  let writeMs = 0;
  let genMs = 0;
  const t0 = performance.now();
  for (let b = 0; b < N; b += BATCH) {
    const g = performance.now();
    const events = Array.from({ length: Math.min(BATCH, N - b) }, (_, k) => ({ kind: 'message' as const, message: makeMessage(b + k) }));
    genMs += performance.now() - g;
    const w = performance.now();
    store.write(events);
    writeMs += performance.now() - w;
    await tick();
  }
  const lastWrite = performance.now();
  const pendingAtEnd = store.pendingIndexCount();
  while (store.pendingIndexCount() > 0) await tick();
  const indexCurrent = performance.now();
  const wall = lastWrite - t0 - genMs;
  row('messages', N.toLocaleString('en'), `${CHATS} chats, 10% groups`);
  row('ingest rate (writes + background indexing)', `${Math.round(N / (wall / 1000)).toLocaleString('en')} msg/s`, `${(wall / 1000).toFixed(1)} s wall, generation excluded`);
  row('ingest rate (message writes alone)', `${Math.round(N / (writeMs / 1000)).toLocaleString('en')} msg/s`, 'time inside store.write');
  row('background indexing (FTS)', `${Math.round(N / ((wall - writeMs) / 1000)).toLocaleString('en')} msg/s`, 'wall minus write time');
  row('index lag after last write', `${Math.round(indexCurrent - lastWrite)} ms`, `${pendingAtEnd.toLocaleString('en')} rows pending at the last write`);
  // The indexer runs in short slices between the writes and may finish after them: this one counts that tail.
  row('ingest rate until all searchable', `${Math.round(N / ((indexCurrent - t0 - genMs) / 1000)).toLocaleString('en')} msg/s`, 'wall until the index caught up');

  // ---- live traffic: one message per event-loop turn (the HTTP door's case). The store's cost per message is the
  // extra wall time of the same loop with and without it (its timers, commits and indexing all run in that loop).
  const LIVE = 5_000;
  const liveLoop = async (fn: (i: number) => void): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < LIVE; i++) {
      fn(i);
      await tick();
    }
    store.sync();
    return performance.now() - t;
  };
  const idle = await liveLoop(() => {});
  const busy = await liveLoop((i) => {
    const m = makeMessage(N + i);
    m.timestamp = START + SPAN + i;
    store.enqueue({ kind: 'message', message: m });
  });
  row('live: one message per turn, loop time', `${(((busy - idle) / LIVE) * 1000).toFixed(0)} µs/msg`, `${LIVE} messages; batched commits (${FLUSH_DELAY_MS} ms) and indexing (${INDEX_DELAY_MS} ms)`);

  // ---- search
  const db = store.db;
  const count = (term: string) => db.prepare('SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?').pluck().get(term) as number;
  const q = (over: Partial<SearchQuery>): SearchQuery => ({ q: RARE, mode: 'words', order: 'newest', limit: 20, ...over });
  const hits: Record<string, number> = { [RARE]: count(RARE), [COMMON]: count(COMMON) };
  for (const term of [RARE, COMMON]) {
    for (const order of ['newest', 'relevance'] as const) {
      const r = time(200, () => store.searchMessages(q({ q: term, order })));
      row(`search "${term}" ${order}`, `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`, `${hits[term]!.toLocaleString('en')} hits, top 20`);
    }
  }
  const busiest = chatId(7);
  const filtered = time(200, () => store.searchMessages(q({ q: COMMON, chat_id: busiest })));
  row(`search "${COMMON}" in one chat`, `p50 ${filtered.p50.toFixed(2)} ms  p99 ${filtered.p99.toFixed(2)} ms`, 'chat filter via the scope token');

  // ---- chat pages: the newest page and a page before a random point, 50 messages each.
  const maxSeq = db.prepare('SELECT max(seq) FROM messages').pluck().get() as number;
  const page = time(500, (i) => {
    const c = chatId(Math.floor(rand() * CHATS));
    store.chatPage(c, i % 2 === 0 ? { limit: 50 } : { limit: 50, before: Math.floor(maxSeq * (0.5 + rand() / 2)) });
  });
  row('chat page, 50 messages', `p50 ${page.p50.toFixed(3)} ms  p99 ${page.p99.toFixed(3)} ms`, `half newest, half via cursor ${encodeCursor(chatId(0), maxSeq).slice(0, 8)}…`);

  store.close();
  const bytes = fs.statSync(file).size;
  const naive = process.env.STORE_BENCH_NO_BASELINE ? NaN : naiveIngestRate(dir, N);
  row('baseline: naive per-row FTS trigger', `${Math.round(naive).toLocaleString('en')} msg/s`, `same run, same messages; this design: ${(N / (wall / 1000) / naive).toFixed(2)}x`);
  row('bytes on disk per message', `${Math.round(bytes / N)} B`, `${(bytes / 2 ** 20).toFixed(0)} MiB after checkpoint (incl. FTS index)`);
  if (process.env.STORE_BENCH_KEEP) console.log(`kept ${file}`);
  else fs.rmSync(dir, { recursive: true, force: true });

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  console.log(`\nstore benchmark (node ${process.version}, ${os.cpus().length} cpus)\n`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0]!)}  ${b.padEnd(w[1]!)}  ${c}`);
}

await main();
