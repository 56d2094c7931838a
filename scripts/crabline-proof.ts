// Wire-level proof, part 2: our whole app (startApp, WHATSAPP_ENGINE=baileys, the SQLite auth store, the message
// store, the event log, the send service) against @openclaw/crabline, driven only through the REST API:
//   connect → GET /api/status ready; inject an inbound text → GET /api/chats/<id>/messages and GET /api/events have it;
//   POST /api/send → crabline recorded the decrypted text (same message id); crabline goes away (SIGTERM: close 1001,
//   then SIGKILL: no close frame) and comes back on the same port → the engine reconnects with its backoff
//   (status disconnected → ready), without spinning; inbound and outbound work again after each reconnect.
// Run through scripts/crabline.sh (installs crabline + a Node 22 binary), or: npx tsx scripts/crabline-proof.ts
// Exits non-zero when a step fails; prints a timing per step. LOG_LEVEL=debug shows the app's own log on stderr.
import fs from 'node:fs';
import path from 'node:path';
import makeWASocket, { Browsers, downloadMediaMessage, type WAMessage } from 'baileys';
import { startApp, type App } from '../src/app.js';
import { OPTIONS, loadConfig } from '../src/config.js';
import type { EngineStatus } from '../src/domain.js';
import { openBaileysAuthStore } from '../src/engine/baileys-auth.js';
import { authFile } from '../src/engine/baileys-session.js';
import type { BaileysSocketFactory, BaileysSocketLike } from '../src/engine/baileys-socket.js';
import { createBaileysEngine } from '../src/engine/baileys.js';
import { createLogger, silentLogger } from '../src/logger.js';
import { Crabline, makeStepper, privateTempDir, quietLibsignal, sleep, waitFor } from './crabline-lib.js';

const PEER_PHONE = '15551234567';
const PEER_JID = `${PEER_PHONE}@s.whatsapp.net`;
const PEER_CHAT = `${PEER_PHONE}@c.us`;
const PEER2_PHONE = '15557654321';
/** The env var the engine would need to reach crabline without a factory of ours (see usesConfigOption below). */
const WS_URL_ENV = 'WHATSAPP_BAILEYS_WS_URL';
/** How long crabline stays down on the first drop: long enough for failed attempts, so the backoff shows. */
const DOWN_MS = Number(process.env.CRABLINE_DOWN_MS ?? 6_000);
let inbounds = 0;
const inboundId = () => `PROOF${process.pid}N${++inbounds}`;

/**
 * The production factory (src/engine/baileys-socket.ts librarySocketFactory) with one difference: waWebSocketUrl.
 * Used only while the engine has no option for the URL; keep the other options identical to production.
 */
function crablineSocketFactory(url: string): BaileysSocketFactory {
  return (spec) => {
    const logger = spec.logger.child({ part: 'baileys' });
    logger.level = spec.logger.isLevelEnabled('debug') ? spec.logger.level : 'warn';
    const sock = makeWASocket({
      auth: spec.auth,
      logger,
      browser: Browsers.ubuntu('Chrome'),
      markOnlineOnConnect: false,
      getMessage: spec.getMessage,
      cachedGroupMetadata: spec.cachedGroupMetadata,
      waWebSocketUrl: url,
    });
    const slice: Omit<BaileysSocketLike, 'downloadMedia'> = sock;
    return Object.assign(slice, {
      downloadMedia: (message: WAMessage) => downloadMediaMessage(message, 'buffer', {}, { logger, reuploadRequest: sock.updateMediaMessage }),
    });
  };
}

/** Creds crabline accepts: a fresh initAuthCreds() (what our store writes) plus `me`; crabline checks no keys. */
function seedAuthStore(authDir: string, selfJid: string): string {
  const file = authFile(authDir);
  const store = openBaileysAuthStore(file);
  try {
    store.state.creds.me = { id: `${selfJid.split('@')[0]}:1@s.whatsapp.net`, name: 'Crabline Proof' };
    store.state.creds.registered = true;
    store.saveCreds();
    if (!store.linked()) throw new Error('the seeded store does not count as linked');
  } finally {
    store.close();
  }
  return file;
}

interface Http {
  call(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }>;
}

function http(app: App): Http {
  return {
    async call(method, p, body) {
      const res = await fetch(app.url + p, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, json };
    },
  };
}

async function main(): Promise<void> {
  quietLibsignal();
  const { step, check, timings, failures } = makeStepper();
  const t0 = performance.now();
  const dir = privateTempDir('crabline-proof-');
  const tokens = { accessToken: `proof-${process.pid}-access`, adminToken: `proof-${process.pid}-admin` };
  console.log(`crabline-proof: our app (WHATSAPP_ENGINE=baileys) against crabline (work dir ${dir})`);

  let crab = await step('start crabline (Node 22 child)', () => Crabline.start({ dir, name: 'a', ...tokens }), (c) => `pid ${c.pid}, port ${c.port}`);
  const url = crab.manifest.endpoints.baileysWebSocketUrl;
  const authDir = path.join(dir, 'auth');
  const dataDir = path.join(dir, 'data');
  await step('seed the SQLite auth store with creds crabline accepts', async () => seedAuthStore(authDir, crab.manifest.selfJid), (f) => path.relative(dir, f));

  const usesConfigOption = OPTIONS.some((o) => o.env === WS_URL_ENV);
  const config = loadConfig({
    WHATSAPP_MCP_HOST: '127.0.0.1',
    WHATSAPP_MCP_PORT: '0',
    WHATSAPP_ENGINE: 'baileys',
    WHATSAPP_AUTH_DIR: authDir,
    WHATSAPP_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // No pacing: the proof sends a handful of texts back to back.
    WHATSAPP_RATE_GLOBAL_PER_MIN: '0',
    WHATSAPP_RATE_RECIPIENT_PER_MIN: '0',
    WHATSAPP_SEND_JITTER_MS: '0',
    [WS_URL_ENV]: url,
  });
  const logger = process.env.LOG_LEVEL && process.env.LOG_LEVEL !== 'silent' ? createLogger(process.env.LOG_LEVEL) : silentLogger();
  // Production backoff (2 s base, 5 min cap) unless the engine can be configured; only the socket factory differs.
  const engine = usesConfigOption ? undefined : createBaileysEngine({ config, logger, socketFactory: crablineSocketFactory(url) });
  console.log(
    usesConfigOption
      ? `  info the engine reads ${WS_URL_ENV}: startApp builds it as in production`
      : `  info config has no ${WS_URL_ENV}: the proof injects createBaileysEngine({ socketFactory }) = production factory + waWebSocketUrl`,
  );

  const statuses: { at: number; state: string; last_error: string | null }[] = [];
  let app: App | undefined;
  try {
    app = await step('startApp (saved session → engine.start by itself)', () => startApp(config, { logger, ...(engine ? { engine } : {}) }), (a) => a.url);
    const api = http(app);
    app.services.engine.events.on('status', (s: EngineStatus) => statuses.push({ at: performance.now(), state: s.state, last_error: s.last_error }));
    const status = () => api.call('GET', '/api/status').then((r) => r.json as { state?: string; ready?: boolean; account?: { wid: string } | null; engine?: string });
    /** The message is in the store (GET /api/chats/<chat>/messages) and the event log (GET /api/events): two checks. */
    const inStoreAndLog = async (id: string | undefined, type: 'message.received' | 'message.sent', chat = PEER_CHAT, indent = '') => {
      await check(`${indent}GET /api/chats/${chat}/messages has ${id}`, () =>
        waitFor('stored message', 5_000, async () => {
          const r = await api.call('GET', `/api/chats/${encodeURIComponent(chat)}/messages`);
          return r.status === 200 ? (r.json.messages as { id: string; body: string; from_me: boolean }[]).find((m) => m.id === id) : undefined;
        }), (m) => `body "${m.body}", from_me ${m.from_me}`);
      await check(`${indent}GET /api/events has ${type} ${id}`, () =>
        waitFor(type, 5_000, async () => {
          const r = await api.call('GET', `/api/events?types=${type}&limit=500`);
          return (r.json.events as { cursor: number; data: { message?: { id?: string } } }[]).find((e) => e.data.message?.id === id);
        }), (e) => `cursor ${e.cursor}`);
    };
    const storeChecks = process.env.CRABLINE_STORE_SENT !== '0';

    // crabline cannot answer Baileys' onWhatsApp (a usync <contact> query: its usync handler requires a jid on every
    // <user> and closes the socket with 1002 otherwise). Our engine asks onWhatsApp before the first send to a phone
    // number, so the proof fills the engine's number cache for the peers it sends to (the only test-only seam).
    const numbers = (app.services.engine as unknown as { numbers?: Map<string, string> }).numbers;
    if (!(numbers instanceof Map)) throw new Error('the engine has no `numbers` cache to seed; the onWhatsApp workaround needs updating');
    for (const phone of [PEER_PHONE, PEER2_PHONE]) numbers.set(phone, `${phone}@s.whatsapp.net`);
    if (process.env.CRABLINE_NO_NUMBER_SEED) numbers.clear();

    const ready = await step('GET /api/status → ready', () => waitFor('ready', 20_000, async () => ((await status()).ready ? status() : undefined)), (s) => `engine ${s.engine}, account ${s.account?.wid}`);
    if (ready.engine !== 'baileys') throw new Error(`engine is ${ready.engine}, not baileys`);

    // Inbound → store and event log.
    const inboundText = `inbound ${Date.now()}`;
    const inbound = await step('inject inbound text (crabline admin URL)', async () => {
      const r = await crab.injectText({ chatJid: PEER_JID, senderJid: PEER_JID, text: inboundText, pushName: 'Alice', messageId: inboundId() });
      if (r.status !== 200 || r.delivery !== 'delivered') throw new Error(`admin answered ${r.status} delivery=${r.delivery}: ${JSON.stringify(r.body)}`);
      return r;
    }, (r) => `id ${r.messageId}`);
    await inStoreAndLog(inbound.messageId, 'message.received');

    // Outbound → crabline's recorder.
    const sendAndCheck = async (label: string, phone: string) => {
      const text = `${label} ${Date.now()}`;
      // Not fatal: when our API says the send failed, whether it went out on the wire anyway is the next check.
      const sent = await check(`POST /api/send → ${phone} (${label})`, async () => {
        const r = await api.call('POST', '/api/send', { phone_number: phone, message: text });
        if (r.status !== 200 || r.json.status !== 'sent') throw new Error(`answered ${r.status}: ${JSON.stringify(r.json)}`);
        return r.json as { message_id: string };
      }, (j) => `message_id ${j.message_id}`);
      await check(`  … crabline recorded it (decrypted${sent ? ', same id' : ''})`, () => crab.waitForSentText('recorded text', 10_000, (t) => t.text === text), (t) => {
        if (sent && t.id !== sent.message_id) throw new Error(`crabline recorded id ${t.id}, we answered ${sent.message_id}`);
        return `${t.remoteJid} "${t.text}"${sent ? '' : ` id ${t.id}: ON THE WIRE although our API answered an error (a retry would send it twice)`}`;
      });
      if (sent && storeChecks) await inStoreAndLog(sent.message_id, 'message.sent', `${phone}@c.us`, '  … ');
    };
    await sendAndCheck('first send', PEER_PHONE);

    // Drop 1: SIGTERM (crabline closes the WebSocket with 1001), stay down DOWN_MS, come back on the same port.
    const port = crab.port;
    const down0 = performance.now();
    const mark = statuses.length;
    await crab.stop('SIGTERM');
    await step('crabline SIGTERM → GET /api/status disconnected', () => waitFor('disconnected', 10_000, async () => ((await status()).state === 'disconnected' ? status() : undefined)), (s) => `state ${s.state}`);
    // Our process does nothing else while crabline is down: its CPU is the reconnect loop's.
    const cpu0 = process.cpuUsage();
    const idle0 = performance.now();
    await sleep(Math.max(0, DOWN_MS - (performance.now() - down0)));
    const cpu = process.cpuUsage(cpu0);
    const downMs = performance.now() - down0;
    const cpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - idle0)) * 100;
    crab = await step(`restart crabline on port ${port} (same tokens, same URL)`, () => Crabline.start({ dir, name: 'b', port, ...tokens }), (c) => `pid ${c.pid}`);
    await step('engine reconnects by itself → ready', () => waitFor('ready again', 30_000, async () => ((await status()).ready ? status() : undefined)));
    const timeline = statuses.slice(mark);
    const attempts = timeline.filter((s) => s.state === 'starting').length;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`  info down ${downMs.toFixed(0)} ms: ${attempts} reconnect attempts; our CPU while down ${cpuMs.toFixed(0)} ms = ${cpuPct.toFixed(2)}% of a core (~${(cpuMs / Math.max(1, attempts)).toFixed(0)} ms per attempt; the backoff's 5 min cap makes it negligible)`);
    console.log(`  info status timeline: ${timeline.map((s) => `${s.state}@+${(s.at - down0).toFixed(0)}ms`).join(' → ')}`);
    const gaps = timeline
      .map((s, i) => (s.state === 'starting' && i > 0 ? s.at - timeline[i - 1]!.at : null))
      .filter((g): g is number => g !== null);
    console.log(`  info wait before each attempt (ms): ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
    if (cpuPct > 5) throw new Error(`the reconnect loop used ${cpuPct.toFixed(1)}% of a core while crabline was down`);
    if (!timeline.some((s) => s.state === 'disconnected')) throw new Error('status never went disconnected');

    const events = await api.call('GET', '/api/events?types=connection.state&limit=500');
    const states = (events.json.events as { data: { state: string } }[]).map((e) => e.data.state);
    console.log(`  info connection.state events: ${states.join(' → ')}`);

    await sendAndCheck('after reconnect, known peer', PEER_PHONE);
    await sendAndCheck('after reconnect, new peer', PEER2_PHONE);
    // Explicit ids: a restarted crabline numbers its messages from wamid.FAKE00000001 again.
    const again = await step('inject inbound after reconnect', () => crab.injectText({ chatJid: PEER_JID, senderJid: PEER_JID, text: `inbound after reconnect ${Date.now()}`, messageId: inboundId() }), (r) => `delivery=${r.delivery} id ${r.messageId}`);
    await inStoreAndLog(again.messageId, 'message.received');

    // Drop 2: SIGKILL (no close frame, the TCP connection just dies), restarted at once.
    const down1 = performance.now();
    const mark2 = statuses.length;
    await crab.stop('SIGKILL');
    await step('crabline SIGKILL → disconnected', () => waitFor('disconnected', 10_000, async () => ((await status()).state === 'disconnected' ? status() : undefined)));
    crab = await step(`restart crabline on port ${port} at once`, () => Crabline.start({ dir, name: 'c', port, ...tokens }));
    // Open < 30 s (the engine's STABLE_OPEN_MS) since the last drop: the backoff goes on growing (attempt 4: 8-16 s).
    await step('engine reconnects → ready', () => waitFor('ready again', 40_000, async () => ((await status()).ready ? status() : undefined)));
    console.log(`  info status timeline: ${statuses.slice(mark2).map((s) => `${s.state}@+${(s.at - down1).toFixed(0)}ms`).join(' → ')}`);
    await sendAndCheck('after SIGKILL reconnect', PEER_PHONE);
  } finally {
    const t = performance.now();
    await app?.close().catch((err: unknown) => console.error(`app.close failed: ${(err as Error).message}`));
    await crab.stop('SIGTERM').catch(() => undefined);
    console.log(`  info app.close + crabline stop ${(performance.now() - t).toFixed(0)} ms`);
    if (!process.env.CRABLINE_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
  const failed = failures();
  const total = (performance.now() - t0).toFixed(0);
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${timings.length} steps failed in ${total} ms:\n${failed.map((f) => `  - ${f.step.trim()}: ${f.note}`).join('\n')}`);
  }
  console.log(`crabline-proof: all ${timings.length} steps passed in ${total} ms`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`crabline-proof: FAILED: ${err instanceof Error ? (process.env.CRABLINE_STACK ? err.stack : err.message) : String(err)}`);
    process.exit(1);
  },
);
