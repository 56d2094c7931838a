// `whatsapp-mcp-api link [--phone <number>]`: link the running server's WhatsApp from a terminal. Shows the QR code
// (redrawn as WhatsApp rotates it) or a pairing code, follows the event log and the status until the account is
// ready, and fails with the engine's own reason or after a timeout.
import QRCode from 'qrcode';
import type { EngineStatus as Status } from '../domain.js';
import { CliError, type ServerClient } from './client.js';
import { type Terminal, sleep } from './terminal.js';

export interface LinkOptions {
  /** Link with a pairing code for this number instead of a QR code. */
  phone: string | undefined;
  timeoutMs: number;
  json: boolean;
  signal: AbortSignal;
  pollMs?: number;
}

interface EventRecord {
  cursor: number;
  type: string;
  data: Record<string, unknown>;
}

const POLL_MS = 500;
/**
 * A start that fails at once may leave the state as it was (`error`, same last_error: no event). After this long an
 * `error` is the answer to our start, not the one before it.
 */
const SETTLE_MS = 3000;
// wwebjs may launch Chromium to answer a pairing-code request.
const PAIRING_REQUEST_MS = 120_000;

export async function runLink(client: ServerClient, term: Terminal, opts: LinkOptions): Promise<number> {
  const deadline = Date.now() + opts.timeoutMs;
  let status: Status = await client.call('GET', '/api/status');
  if (status.ready) return linked(term, status, opts, true);

  const feed = new EventFeed(client, opts.phone ? ['auth.pairing_code', 'connection.state'] : ['auth.qr', 'connection.state']);
  const earlier = await feed.catchUp();
  const qr = new QrDisplay(term, opts.json);
  let code: string | null = null;
  const startedAt = Date.now();

  if (opts.phone) {
    const answer = await client.call('POST', '/api/pairing-code', { phone_number: opts.phone }, { timeoutMs: Math.min(PAIRING_REQUEST_MS, remaining(deadline)) });
    if (answer.already_authenticated) return linked(term, answer.status, opts, true);
    code = answer.code;
    if (opts.json) term.json(answer);
    else {
      term.line(`Pairing code: ${answer.code}`);
      term.line(answer.instructions);
    }
  } else {
    status = await client.call('POST', '/api/auth/start');
    if (status.ready) return linked(term, status, opts, true);
    if (status.engine === 'sandbox' && !opts.json) {
      term.error(
        `Sandbox engine: no real phone scans this QR. \`curl -X POST ${client.target.url}${client.route('/api/sandbox/link')}\` links the simulated one now ` +
          `(so does opening ${client.target.url}${client.route('/qr')}); with --phone it enters the pairing code by itself.`,
      );
    }
  }
  if (!opts.json) term.error(`Waiting for the phone (up to ${Math.round(opts.timeoutMs / 1000)} s; Ctrl-C to stop)…`);
  // Last, so that nothing printed after it keeps the next code from being redrawn over it.
  const current = earlier.get('auth.qr');
  if (!opts.phone && status.state === 'qr' && current) await qr.show(current);

  let moved = false; // the engine changed state since we asked it to link
  for (;;) {
    if (Date.now() >= deadline) throw timedOut(opts.timeoutMs, status);
    await sleep(Math.min(opts.pollMs ?? POLL_MS, remaining(deadline)), opts.signal);
    for (const e of await feed.next()) {
      if (e.type === 'auth.qr') await qr.show(e);
      else if (e.type === 'auth.pairing_code' && typeof e.data.code === 'string' && e.data.code !== code) {
        code = e.data.code;
        if (opts.json) term.json(e);
        else term.line(`New pairing code (the last one expired): ${code}`);
      } else if (e.type === 'connection.state') moved = true;
    }
    status = await client.call('GET', '/api/status');
    if (status.ready) return linked(term, status, opts, false);
    const settled = moved || Date.now() - startedAt >= SETTLE_MS;
    if (settled && (status.state === 'error' || status.state === 'auth_failure')) {
      if (opts.json) term.json(status);
      throw new CliError(
        `Linking failed (state: ${status.state}): ${status.last_error ?? 'no reason given'}\n` +
          `Fix that, then run the command again; \`${client.again('status')}\` shows the state.`,
      );
    }
    if (settled && status.state === 'stopped') {
      if (opts.json) term.json(status);
      throw new CliError('WhatsApp was stopped while linking (a logout, or the server is shutting down). Run the command again.');
    }
  }
}

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

function linked(term: Terminal, status: Status, opts: LinkOptions, already: boolean): number {
  if (opts.json) term.json(status);
  else {
    const who = status.account ? `${status.account.pushname ? `${status.account.pushname} ` : ''}(${status.account.wid})` : 'this account';
    term.line(already ? `Already linked as ${who}: nothing to do.` : `Linked as ${who}.`);
  }
  return 0;
}

function timedOut(timeoutMs: number, status: Status): CliError {
  return new CliError(
    `Timed out after ${Math.round(timeoutMs / 1000)} s: WhatsApp is not linked yet (state: ${status.state}${status.last_error ? `; ${status.last_error}` : ''}).\n` +
      'Run the command again for a fresh code, or give it longer with --timeout <seconds>.',
  );
}

/** The QR in the terminal: drawn once per code, redrawn in place when WhatsApp rotates it. */
class QrDisplay {
  private shown: string | null = null;

  constructor(
    private readonly term: Terminal,
    private readonly json: boolean,
  ) {}

  async show(event: EventRecord): Promise<void> {
    const qr = event.data.qr;
    if (typeof qr !== 'string' || qr === this.shown) return;
    const first = this.shown === null;
    this.shown = qr;
    if (this.json) return this.term.json(event);
    const drawing = await QRCode.toString(qr, { type: 'terminal', small: true });
    const caption = 'Scan it with WhatsApp on your phone: Settings > Linked devices > Link a device. It changes every ~20 s; this follows.';
    // Without a terminal to redraw in (a pipe, a log), say why a second code follows the first.
    if (!first && !this.term.canRedraw()) this.term.error('The QR code above expired; scan this new one:');
    this.term.block(`${drawing}\n${caption}\n`);
  }
}

/** `GET /api/events` after a cursor, for a few types: the QR and pairing codes and state changes as they happen. */
class EventFeed {
  private after = 0;
  private readonly query: string;

  constructor(
    private readonly client: ServerClient,
    types: string[],
  ) {
    this.query = `types=${encodeURIComponent(types.join(','))}&limit=500`;
  }

  /** Skip to the end of the log (the current QR may predate this command): the last event of each type on the way. */
  async catchUp(): Promise<Map<string, EventRecord>> {
    const last = new Map<string, EventRecord>();
    await this.read((e) => last.set(e.type, e));
    return last;
  }

  /** What happened since the last call. */
  async next(): Promise<EventRecord[]> {
    const out: EventRecord[] = [];
    await this.read((e) => out.push(e));
    return out;
  }

  private async read(each: (e: EventRecord) => void): Promise<void> {
    for (;;) {
      const page = await this.client.call('GET', `/api/events?after=${this.after}&${this.query}`);
      for (const e of page.events as EventRecord[]) each(e);
      this.after = page.next_after;
      if (!page.has_more) return;
    }
  }
}
