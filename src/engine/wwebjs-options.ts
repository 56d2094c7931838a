// How the wwebjs engine is set up (its options), and the state it reports from (its snapshot).
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { EngineSnapshot } from './engine.js';
import type { BrowserLookup } from './browser.js';
import type { WwebjsClientFactory } from './wwebjs-client.js';

export interface WwebjsEngineOptions {
  config: Readonly<Pick<Config, 'authDir' | 'chromeExecutable' | 'headless' | 'readyTimeoutSeconds'>>;
  logger: Logger;
  clientFactory?: WwebjsClientFactory;
  locateBrowser?: () => BrowserLookup;
  isRoot?: boolean;
  /** For reconnect jitter. */
  random?: () => number;
  reconnect?: { baseMs: number; maxMs: number };
  /** Bound on initialize(): its page.goto has no timeout of its own and can hang on a black-holed network. */
  startTimeoutMs?: number;
  /** How long requestPairingCode waits for WhatsApp Web to reach its linking screen. */
  pairingWaitMs?: number;
  /** Wall clock in ms (edit and revoke windows). */
  now?: () => number;
}

export type Snapshot = EngineSnapshot;
