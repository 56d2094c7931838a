// Wire-level proof, part 1: a plain Baileys 7 socket (no code of ours) against @openclaw/crabline.
// Shows what crabline accepts and does, so failures in the engine proof (scripts/crabline-proof.ts) can be told apart
// from crabline's own limits. Run through scripts/crabline.sh (installs crabline + Node 22), or directly:
//   npx tsx scripts/crabline-raw.ts
// Exits non-zero when a required step fails; prints a timing per step.
import fs from 'node:fs';
import makeWASocket, { DisconnectReason, initAuthCreds, type AuthenticationCreds, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore, type WASocket, type proto } from 'baileys';
import pino from 'pino';
import { Crabline, makeStepper, privateTempDir, quietLibsignal, sleep, waitFor, within } from './crabline-lib.js';

const PEER = '15551234567@s.whatsapp.net';
const PEER2 = '15557654321@s.whatsapp.net';
const SELF = '15550000000@s.whatsapp.net';

/** Keys in memory: enough for one process lifetime. */
function memoryKeys(): SignalKeyStore {
  const data = new Map<string, unknown>();
  return {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const v = data.get(`${type}:${id}`);
        if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
      }
      return out;
    },
    set(set: SignalDataSet) {
      for (const [type, entries] of Object.entries(set)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) data.delete(`${type}:${id}`);
          else data.set(`${type}:${id}`, value);
        }
      }
    },
  };
}

/** The creds crabline accepts: any fresh initAuthCreds() with a `me` (crabline checks neither keys nor identity). */
export function crablineCreds(selfJid = SELF): AuthenticationCreds {
  const creds = initAuthCreds();
  const user = selfJid.split('@')[0];
  creds.me = { id: `${user}:1@s.whatsapp.net`, name: 'Crabline Proof' };
  creds.registered = true;
  return creds;
}

interface Conn {
  sock: WASocket;
  opened: Promise<void>;
  closed: Promise<{ statusCode: number | undefined; message: string }>;
  upserts: proto.IWebMessageInfo[];
}

function connect(url: string, creds: AuthenticationCreds, keys: SignalKeyStore): Conn {
  const sock = makeWASocket({
    auth: { creds, keys },
    waWebSocketUrl: url,
    logger: pino({ level: process.env.BAILEYS_LOG_LEVEL ?? 'silent' }),
    printQRInTerminal: false,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    connectTimeoutMs: 10_000,
    defaultQueryTimeoutMs: 10_000,
  });
  sock.ev.on('creds.update', (update) => Object.assign(creds, update));
  const upserts: proto.IWebMessageInfo[] = [];
  sock.ev.on('messages.upsert', ({ messages }) => upserts.push(...messages));
  let resolveOpen!: () => void;
  let resolveClosed!: (v: { statusCode: number | undefined; message: string }) => void;
  const opened = new Promise<void>((r) => (resolveOpen = r));
  const closed = new Promise<{ statusCode: number | undefined; message: string }>((r) => (resolveClosed = r));
  sock.ev.on('connection.update', (u) => {
    if (u.connection === 'open') resolveOpen();
    if (u.connection === 'close') {
      const err = u.lastDisconnect?.error as (Error & { output?: { statusCode?: number } }) | undefined;
      resolveClosed({ statusCode: err?.output?.statusCode, message: err?.message ?? '' });
    }
  });
  return { sock, opened, closed, upserts };
}

async function main(): Promise<void> {
  quietLibsignal();
  const dir = privateTempDir('crabline-raw-');
  const { step, timings } = makeStepper();
  const t0 = performance.now();
  console.log(`crabline-raw: plain Baileys 7 against crabline (work dir ${dir})`);
  const tokens = { accessToken: `proof-${process.pid}-access`, adminToken: `proof-${process.pid}-admin` };
  let crab = await step('start crabline (Node 22 child)', () => Crabline.start({ dir, name: 'a', ...tokens }), (c) => `pid ${c.pid}, port ${c.port}`);
  const url = crab.manifest.endpoints.baileysWebSocketUrl;
  const creds = crablineCreds(crab.manifest.selfJid);
  const keys = memoryKeys();
  let conn: Conn | undefined;
  try {
    conn = connect(url, creds, keys);
    const c1 = conn;
    await step("connect → connection: 'open'", () => within('open', 15_000, Promise.race([c1.opened, c1.closed.then((c) => Promise.reject(new Error(`closed first: ${c.statusCode} ${c.message}`)))])));
    await step('crabline recorded the login iqs', async () => {
      await sleep(300);
      return crab.stanzaTags();
    }, (tags) => `${tags.length} stanzas: ${[...new Set(tags)].join(',')}`);

    const text1 = `hello from baileys ${Date.now()}`;
    const sent = await step(`sendMessage(${PEER})`, () => within('sendMessage', 10_000, c1.sock.sendMessage(PEER, { text: text1 })), (m) => `id ${m?.key.id}`);
    await step('crabline recorded the outbound text', () => crab.waitForSentText('recorded text', 10_000, (t) => t.text === text1), (t) => `${t.remoteJid} "${t.text}" id ${t.id}${t.id === sent?.key.id ? ' (same id)' : ' (DIFFERENT id)'}`);

    const inboundText = `hello from crabline ${Date.now()}`;
    const inbound = await step('inject inbound text (admin URL)', async () => {
      const r = await crab.injectText({ chatJid: PEER, senderJid: PEER, text: inboundText, pushName: 'Alice' });
      if (r.status !== 200) throw new Error(`admin answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r;
    }, (r) => `${r.status} delivery=${r.delivery} id=${r.messageId}`);
    await step("messages.upsert fired with it", () => waitFor('upsert', 10_000, () => c1.upserts.find((m) => m.key?.id === inbound.messageId)), (m) => `from ${m.key?.remoteJid} text "${m.message?.conversation}" pushName ${m.pushName}`);

    // Drop: crabline has no admin "drop this socket" endpoint; stopping the process (SIGTERM: close 1001) is the drop.
    const port = crab.port;
    await step('SIGTERM crabline → connection.update close', async () => {
      await crab.stop('SIGTERM');
      return within('close', 10_000, c1.closed);
    }, (c) => `statusCode ${c.statusCode} (${c.message})${c.statusCode === DisconnectReason.loggedOut ? ' LOGGED OUT' : ''}`);

    crab = await step(`restart crabline on the same port ${port}, same tokens`, () => Crabline.start({ dir, name: 'b', port, ...tokens }), (c) => `pid ${c.pid}, port ${c.port}${c.manifest.endpoints.baileysWebSocketUrl === url ? ', same URL' : ', URL CHANGED'}`);
    conn = connect(url, creds, keys);
    const c2 = conn;
    await step("reconnect (new socket, same creds) → 'open'", () => within('reopen', 15_000, Promise.race([c2.opened, c2.closed.then((c) => Promise.reject(new Error(`closed first: ${c.statusCode} ${c.message}`)))])));

    const text2 = `to a new peer after restart ${Date.now()}`;
    await step(`send to a new peer ${PEER2} after restart`, () => within('sendMessage', 10_000, c2.sock.sendMessage(PEER2, { text: text2 })));
    await step('  … recorded', () => crab.waitForSentText('recorded text', 10_000, (t) => t.text === text2), (t) => `${t.remoteJid}`);

    // Informational: the restarted crabline has new Signal identities; our socket still holds the old session.
    const text3 = `to the old peer after restart ${Date.now()}`;
    await c2.sock.sendMessage(PEER, { text: text3 });
    const old = await crab.waitForSentText('recorded', 3_000, (t) => t.text === text3).catch(() => undefined);
    console.log(`  info send to the old peer ${PEER} after a crabline restart: ${old ? 'recorded' : 'NOT recorded within 3 s (its Signal session died with the old crabline process)'}`);

    const inbound2 = await crab.injectText({ chatJid: PEER, senderJid: PEER, text: 'after restart', messageId: `RESTART${Date.now()}` });
    await step('inbound after restart → messages.upsert', () => waitFor('upsert', 10_000, () => c2.upserts.find((m) => m.key?.id === inbound2.messageId)));

    // Offline delivery: with crabline up and no client open, an injected message is queued and sent at the next login.
    c2.sock.end(undefined);
    await within('client close', 5_000, c2.closed);
    const queued = await step('inject with no client connected → queued', async () => {
      const r = await crab.injectText({ chatJid: PEER, senderJid: PEER, text: 'while you were away', messageId: `QUEUED${Date.now()}` });
      if (r.status !== 200 || r.delivery !== 'queued') throw new Error(`expected 200 queued, got ${r.status} ${r.delivery}`);
      return r;
    }, (r) => `delivery=${r.delivery}`);
    conn = connect(url, creds, keys);
    const c3 = conn;
    await step('reconnect → the queued message arrives (messages.upsert)', () => waitFor('queued upsert', 15_000, () => c3.upserts.find((m) => m.key?.id === queued.messageId)));

    // A hard drop: SIGKILL (no close frame).
    await step('SIGKILL crabline → connection.update close', async () => {
      await crab.stop('SIGKILL');
      return within('close', 10_000, c3.closed);
    }, (c) => `statusCode ${c.statusCode} (${c.message})`);
    crab = await step(`restart crabline on port ${port} after SIGKILL`, () => Crabline.start({ dir, name: 'c', port, ...tokens }), (c) => `pid ${c.pid}`);
    conn = connect(url, creds, keys);
    const c4 = conn;
    await step("reconnect → 'open'", () => within('reopen', 15_000, Promise.race([c4.opened, c4.closed.then((c) => Promise.reject(new Error(`closed first: ${c.statusCode} ${c.message}`)))])));
    const text4 = `after sigkill ${Date.now()}`;
    await c4.sock.sendMessage(PEER, { text: text4 });
    await step('send after SIGKILL restart recorded', () => crab.waitForSentText('recorded', 10_000, (t) => t.text === text4));

    // Informational, last (it costs the connection): Baileys' onWhatsApp is a usync query by phone number, whose <user>
    // nodes carry no jid attribute; crabline's usync handler requires one and closes the socket (1002) instead.
    const lookup = await within('onWhatsApp', 10_000, c4.sock.onWhatsApp(PEER.split('@')[0]!)).then(
      (r) => `answered ${JSON.stringify(r)}`,
      (err: unknown) => `rejected with ${err instanceof Error ? `"${err.message}"` : `${typeof err} ${String(err)} (crabline's WebSocket close code)`}`,
    );
    const after = await Promise.race([c4.closed.then((c) => `connection closed ${c.statusCode}`), sleep(1_000).then(() => 'connection still open')]);
    console.log(`  info onWhatsApp(${PEER.split('@')[0]}) ${lookup}; ${after}`);
  } finally {
    conn?.sock.end(undefined);
    await crab.stop('SIGTERM').catch(() => undefined);
    if (!process.env.CRABLINE_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
  const total = performance.now() - t0;
  console.log(`crabline-raw: all ${timings.filter((t) => t.ok).length} steps passed in ${total.toFixed(0)} ms`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`crabline-raw: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
