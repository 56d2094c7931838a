// GET /qr (and /accounts/{account}/qr, pages.ts): a page that refreshes itself every 5 s and shows the current QR of
// one account, or says why there is none.
// Opening it starts a stopped engine; after a failed start it tries again on a back-off, not on every refresh
// (each try may launch Chromium).
import QRCode from 'qrcode';
import type { EngineState, EngineStatus } from '../domain.js';
import { backoffDelay } from '../engine/backoff.js';
import type { Engine } from '../engine/engine.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 5 s, 10 s, 20 s … 5 min between the page's own starts while they keep failing. */
export const QR_START_BACKOFF = { baseMs: 5_000, maxMs: 5 * 60_000, random: () => 1 };
/** States the page starts the engine from. */
const STARTABLE: ReadonlySet<EngineState> = new Set(['stopped', 'error', 'auth_failure']);
/** States that mean the last start worked: the back-off starts over. */
const STARTED: ReadonlySet<EngineState> = new Set(['qr', 'pairing', 'authenticated', 'ready']);

/** When the page may start the engine again; one per engine, kept across page loads. */
class StartGate {
  private failures = 0;
  private notBefore = 0;

  constructor(engine: Engine) {
    engine.events.on('status', (s) => {
      if (STARTED.has(s.state)) this.failures = this.notBefore = 0;
    });
  }

  /** Start now if allowed. Returns whether it did, and when the next try may happen when it did not. */
  maybeStart(engine: Engine, now: () => number): { started: boolean; retryAt: number | null } {
    const { state } = engine.status();
    if (!STARTABLE.has(state)) return { started: false, retryAt: null };
    if (now() < this.notBefore) return { started: false, retryAt: this.notBefore };
    const delay = backoffDelay(this.failures++, QR_START_BACKOFF);
    this.notBefore = now() + delay;
    // The wait runs from when the attempt settled: a launch that takes a minute to fail gets its full pause after.
    void engine.start().then(() => {
      if (STARTABLE.has(engine.status().state)) this.notBefore = now() + delay;
    });
    return { started: true, retryAt: null };
  }
}

const STARTING = `<h1>Starting WhatsApp…</h1><p>The QR code appears here once WhatsApp Web has loaded (this can take a few seconds).</p>`;

const gates = new WeakMap<Engine, StartGate>();

export interface QrPageOptions {
  /** Tests move the clock to cross the back-off. */
  now?: () => number;
  /** The account it is for, named on the page; absent: the default one (not named, as before accounts). */
  account?: string | undefined;
}

export async function renderQrPage(engine: Engine, opts: QrPageOptions = {}): Promise<string> {
  const now = opts.now ?? Date.now;
  let gate = gates.get(engine);
  if (!gate) gates.set(engine, (gate = new StartGate(engine)));
  // Opening the page is how people link: start the engine if nothing is running yet.
  const { started, retryAt } = gate.maybeStart(engine, now);
  // One turn of the event loop: a saved session may be ready at once. Otherwise this load says the start is under
  // way (the state may not have left `stopped` or the old `error` yet) and the QR shows from the next refresh.
  if (started) await new Promise((resolve) => setImmediate(resolve));
  const status = engine.status();
  const qr = started || status.ready ? null : engine.currentQr();
  return page(await body(status, qr, started, retryAt === null ? null : Math.ceil((retryAt - now()) / 1000)), opts.account);
}

async function body(status: EngineStatus, qr: string | null, started: boolean, retryInS: number | null): Promise<string> {
  const err = status.last_error ? `<p>Last error: ${esc(status.last_error)}</p>` : '';
  if (status.ready && status.account) {
    return `<h1>Linked</h1><p>WhatsApp is linked as <b>${esc(status.account.pushname ?? '')}</b> (${esc(status.account.wid)}). You can close this page.</p>`;
  }
  if (started) return STARTING;
  if (qr) {
    const img = await QRCode.toDataURL(qr, { margin: 2, width: 320 });
    return `<h1>Scan to link WhatsApp</h1><img alt="WhatsApp QR code" src="${img}" width="320" height="320"><p>On your phone: WhatsApp &gt; Settings &gt; Linked devices &gt; Link a device. The code changes every 20 seconds; this page follows.</p>`;
  }
  if (status.state === 'pairing' && status.pairing_code) {
    return `<h1>Enter the pairing code</h1><p style="font-size:2em;letter-spacing:.2em"><b>${esc(status.pairing_code)}</b></p><p>On your phone: Linked devices &gt; Link a device &gt; Link with phone number instead.</p>`;
  }
  if (status.state === 'starting') return STARTING;
  if (retryInS !== null) {
    const what = status.state === 'auth_failure' ? 'Linking failed' : status.state === 'error' ? 'WhatsApp could not start' : 'WhatsApp is stopped';
    return `<h1>${what}</h1><p>State: <b>${esc(status.state)}</b>.</p>${err}<p>Trying again in ${Math.max(1, retryInS)} s (the wait doubles after each failed start, up to 5 minutes); this page follows.</p>`;
  }
  return `<h1>No QR code yet</h1><p>State: <b>${esc(status.state)}</b>. The code appears here once WhatsApp Web has loaded.</p>${err}`;
}

function page(content: string, account: string | undefined): string {
  const title = account === undefined ? '' : ` (account ${esc(account)})`;
  const named = account === undefined ? '' : `<p>Account: <b>${esc(account)}</b></p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>whatsapp-mcp-api: link${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}</style></head><body>${named}${content}</body></html>`;
}
