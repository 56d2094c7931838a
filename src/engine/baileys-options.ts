// How the Baileys engine is set up (its options), the state it reports from (its snapshot), and what a close of
// the connection leads to, by Baileys' DisconnectReason status.
import type { WAMessageKey, proto } from 'baileys';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { EngineSnapshot } from './engine.js';
import type { OpenAuthStore } from './baileys-session.js';
import type { TurnBudget } from './baileys-history.js';
import type { BaileysSocketFactory } from './baileys-socket.js';

export interface BaileysEngineOptions {
  config: Readonly<Pick<Config, 'authDir' | 'headless'> & Partial<Pick<Config, 'baileysWsUrl'>>>;
  logger: Logger;
  /** Default: makeWASocket (librarySocketFactory); tests inject a fake socket. */
  socketFactory?: BaileysSocketFactory;
  /** Default: the SQLite auth store in <authDir>/session-default/baileys-auth.db. */
  openAuthStore?: OpenAuthStore;
  /** Asked for a message Baileys needs again (retry, poll vote) that is not among the recent ones kept in memory. */
  getMessage?: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  random?: () => number;
  reconnect?: { baseMs: number; maxMs: number };
  /** Bound on an attempt that neither opens, shows a QR, nor closes. */
  startTimeoutMs?: number;
  /** How long requestPairingCode waits for the socket to show its first QR. */
  pairingWaitMs?: number;
  now?: () => number;
  /** How long a page of older history waits for the phone's answer (default 5 s). */
  olderHistoryWaitMs?: number;
  /** How history batches are spread over event-loop turns (default: SLICE_MS of wall time per turn); tests pass a clock. */
  historyBudget?: TurnBudget;
  /** How many raw messages to keep for quotes, downloads and retries. */
  recentMessages?: number;
}

export type Snapshot = EngineSnapshot;


/** A connection that stayed open this long was a good one: the next failure starts the backoff afresh. */
export const STABLE_OPEN_MS = 30_000;
/** More 515s than this without the connection opening in between: back off like any other close. */
const MAX_QUICK_RESTARTS = 3;

/**
 * What a close leads to (Baileys' DisconnectReason):
 * - 401 loggedOut: the phone (or WhatsApp) removed this device; its keys are void: end the session.
 * - 515 restartRequired: normal right after pairing; WhatsApp wants a new connection with the new creds: at once.
 * - anything else (408 timedOut/connectionLost, 428 connectionClosed, 440 connectionReplaced, 500 badSession,
 *   503, a network error, no status at all): reconnect after the backoff.
 */
export function afterClose(code: number | null, quickRestarts: number): 'logged_out' | 'restart_now' | 'back_off' {
  if (code === 401) return 'logged_out';
  if (code === 515 && quickRestarts < MAX_QUICK_RESTARTS) return 'restart_now';
  return 'back_off';
}
