// whatsapp-web.js Client events -> engine state and engine events. Event names and payloads are the ones in
// whatsapp-web.js src/Client.js (Events in src/util/Constants.js).
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Snapshot } from './wwebjs.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import type { Message } from '../domain.js';
import type { WwebjsClientLike } from './wwebjs-client.js';
import { listenToPeople, type OnClientEvent, type PeopleEventsCore } from './wwebjs-group-events.js';
import { messageRef, toAccount, toAckState, toMessage, toReaction } from './wwebjs-map.js';

/** What the event wiring may touch on the engine. */
export interface EngineHooks extends PeopleEventsCore {
  readonly log: Logger;
  readonly events: TypedEmitter<EngineEvents>;
  readonly snap: Snapshot;
  readonly generation: number;
  update(patch: Partial<Snapshot>): void;
  retire(): Promise<void>;
  scheduleReconnect(): void;
  armReadyTimer(gen: number): void;
  clearReadyTimer(): void;
  resetBackoff(): void;
  markSession(linked: boolean): void;
  onRemoteLogout(): Promise<void>;
  onPairingCode(code: string): void;
  emitMessageOnce(msg: Message): void;
  /** Wall clock in ms. */
  now(): number;
}

// WAState values (src/util/Constants.js) the library itself tolerates; any other one is followed by `disconnected`.
const TRANSIENT_STATES = new Set(['OPENING', 'PAIRING', 'TIMEOUT']);

export function describeError(err: unknown): string {
  // The library throws strings ('auth timeout'); puppeteer's launch errors run to dozens of lines.
  const text = err instanceof Error ? err.message : String(err);
  const firstLine = text.split('\n')[0] ?? '';
  return firstLine.length > 300 ? `${firstLine.slice(0, 297)}...` : firstLine;
}

// Chromium's network errors (net/base/net_error_list.h) and puppeteer's navigation timeout, as page.goto reports
// them: the browser started, but web.whatsapp.com did not answer.
const UNREACHABLE_ERRORS = /net::ERR_(NAME_NOT_RESOLVED|NAME_RESOLUTION_FAILED|INTERNET_DISCONNECTED|CONNECTION_\w+|ADDRESS_\w+|NETWORK_\w+|TIMED_OUT|PROXY_\w+|TUNNEL_CONNECTION_FAILED)|Navigation timeout|TimeoutError/;
const UNREACHABLE = 'This machine cannot reach WhatsApp Web (https://web.whatsapp.com)';
const UNREACHABLE_FIX = 'check its internet connection, DNS, proxy and firewall';

/** last_error for a start that failed: says when the network, not the browser or the library, is what failed. */
export function startFailure(outcome: { error: unknown } | { timeoutMs: number }): string {
  if ('timeoutMs' in outcome) return `${UNREACHABLE}: it did not load within ${Math.round(outcome.timeoutMs / 1000)} s; ${UNREACHABLE_FIX}`;
  const raw = describeError(outcome.error);
  return UNREACHABLE_ERRORS.test(raw) ? `${UNREACHABLE}: ${UNREACHABLE_FIX} (${raw})` : `WhatsApp Web failed to load: ${raw}`;
}

/** The 502 of a pairing code asked for while WhatsApp Web shows no linking screen, with what to do next. */
export function noLinkingScreen(snap: Pick<Snapshot, 'state' | 'last_error'>): AppError {
  const hint = snap.last_error?.startsWith(UNREACHABLE)
    ? `Fix this machine's network (curl -I https://web.whatsapp.com should answer), then ask again: POST /api/pairing-code (or whatsapp_pairing_code) starts the browser anew.`
    : 'GET /api/status shows last_error; once it is fixed, ask again: POST /api/pairing-code (or whatsapp_pairing_code) starts the browser anew.';
  return new AppError('engine_error', `WhatsApp Web is not showing its linking screen (${snap.last_error ?? snap.state})`, { hint, details: { state: snap.state } });
}

export function listenToClient(engine: EngineHooks, client: WwebjsClientLike, gen: number): void {
  const on: OnClientEvent = (event, handler) => {
    client.on(event, (...args: unknown[]) => {
      if (gen !== engine.generation) return;
      try {
        void Promise.resolve(handler(...args)).catch((err: unknown) => engine.log.error({ event, err: describeError(err) }, 'event handler failed'));
      } catch (err) {
        engine.log.error({ event, err: describeError(err) }, 'event handler failed');
      }
    });
  };

  on('qr', (qr) => {
    if (typeof qr !== 'string') return;
    const first = engine.snap.state === 'starting';
    // Once a pairing code was asked for, WhatsApp Web may still rotate its QR; the code stays what the user sees.
    engine.update({ qr, state: engine.snap.state === 'pairing' ? 'pairing' : 'qr', last_error: null });
    engine.events.emit('qr', qr);
    if (first) engine.markSession(false);
  });

  on('code', (code) => {
    if (typeof code === 'string') engine.onPairingCode(code);
  });

  on('authenticated', () => {
    engine.update({ state: 'authenticated', qr: null, pairing_code: null, last_error: null });
    engine.markSession(true);
    engine.armReadyTimer(gen);
  });

  on('ready', () => {
    engine.clearReadyTimer();
    engine.resetBackoff();
    const account = toAccount(client.info) ?? engine.snap.account;
    engine.update({ state: 'ready', account, qr: null, pairing_code: null, last_error: null });
    engine.markSession(true);
  });

  // Only RemoteAuth reports this today; LocalAuth falls back to a fresh QR by itself.
  on('auth_failure', async (message) => {
    const retired = engine.retire();
    engine.update({ state: 'auth_failure', account: null, qr: null, pairing_code: null, last_error: `Authentication failed (${String(message)}); link again` });
    engine.markSession(false);
    await retired;
  });

  on('change_state', (waState) => {
    if (typeof waState !== 'string') return;
    engine.log.info({ wa_state: waState }, 'WhatsApp Web state');
    const { state, account } = engine.snap;
    if (waState === 'CONNECTED' && state === 'disconnected' && account) {
      engine.update({ state: 'ready', last_error: null });
    } else if (waState === 'TIMEOUT' && state === 'ready') {
      // WhatsApp Web reconnects by itself after a TIMEOUT; until then sends would only queue in the page.
      engine.update({ state: 'disconnected', last_error: 'Connection to WhatsApp timed out (phone or network offline); WhatsApp Web is retrying' });
    } else if (!TRANSIENT_STATES.has(waState) && waState !== 'CONNECTED') {
      engine.update({ last_error: `WhatsApp Web reported ${waState}` });
    }
  });

  // The library has already started destroying this client; a fresh one is the only way back.
  on('disconnected', async (reason) => {
    const why = typeof reason === 'string' ? reason : 'unknown reason';
    if (why === 'LOGOUT') return engine.onRemoteLogout();
    const retired = engine.retire();
    engine.update({ state: 'disconnected', last_error: `Disconnected from WhatsApp (${why})` });
    await retired;
    engine.scheduleReconnect();
  });

  const onMessage = (raw: unknown) => {
    const msg = toMessage(raw, engine.snap.account?.wid ?? null);
    if (msg) engine.emitMessageOnce(msg);
    else engine.log.debug('ignored a message event without an id');
  };
  on('message_create', onMessage);
  on('message', onMessage);

  on('message_ack', (raw, ack) => {
    const ref = messageRef(raw);
    const state = toAckState(ack) ?? toMessage(raw)?.ack ?? null;
    if (ref && state) engine.events.emit('message_ack', { ...ref, ack: state });
  });

  on('message_edit', (raw, newBody) => {
    const ref = messageRef(raw);
    if (!ref) return;
    const body = typeof newBody === 'string' ? newBody : (toMessage(raw)?.body ?? '');
    engine.events.emit('message_edit', { ...ref, body });
  });

  // The first argument is the message in its revoked state; its id is the id of the message that was deleted.
  on('message_revoke_everyone', (raw) => {
    const ref = messageRef(raw);
    if (ref) engine.events.emit('message_revoke', ref);
  });

  // One event per reaction: sent, received, changed or taken back ("") by anyone, our own included.
  on('message_reaction', (raw) => {
    const reaction = toReaction(raw, Math.floor(engine.now() / 1000));
    if (reaction) engine.events.emit('message_reaction', reaction);
    else engine.log.debug('ignored a reaction event without the message it belongs to');
  });

  listenToPeople(engine, on);
}

/** Resolves on the first status whose state is not `starting`; rejects with a timeout error after waitMs. */
export function waitForStateChange(events: TypedEmitter<EngineEvents>, waitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new AppError('timeout', `WhatsApp Web did not reach its linking screen within ${Math.round(waitMs / 1000)} s`));
    }, waitMs);
    const off = events.on('status', (s) => {
      if (s.state === 'starting') return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
