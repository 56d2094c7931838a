// Linking by pairing code: WhatsApp Web must be showing its linking screen (the library needs window.AuthStore,
// which exists once the first QR was shown), and the code rotates every 3 minutes.
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import { callLibrary } from './wwebjs-chats.js';
import type { WwebjsClientLike } from './wwebjs-client.js';
import { noLinkingScreen, waitForStateChange } from './wwebjs-events.js';
import type { Snapshot } from './wwebjs-options.js';

// WhatsApp rotates pairing codes every 3 minutes; the library re-requests on this interval and emits `code`.
const PAIRING_INTERVAL_MS = 180_000;
const phoneDigits = z.string().regex(/^\d{8,15}$/);

export interface PairingHost {
  readonly events: TypedEmitter<EngineEvents>;
  readonly snap: Snapshot;
  readonly client: WwebjsClientLike | null;
  readonly generation: number;
  start(): Promise<void>;
  update(patch: Partial<Snapshot>): void;
}

export function isLinked(snap: Snapshot): boolean {
  return snap.state === 'ready' || snap.state === 'authenticated';
}

const alreadyLinked = (snap: Snapshot) => new AppError('conflict', 'WhatsApp is already linked', { details: { state: snap.state } });

export async function requestPairingCodeVia(host: PairingHost, phone: string, waitMs: number): Promise<string> {
  const digits = phoneDigits.safeParse(phone);
  if (!digits.success) throw new AppError('invalid_input', 'phone_number must be 8 to 15 digits');
  if (isLinked(host.snap)) throw alreadyLinked(host.snap);
  if (!host.client) await host.start();
  if (host.snap.state === 'starting') await waitForStateChange(host.events, waitMs);
  const client = host.client;
  const gen = host.generation;
  if (isLinked(host.snap)) throw alreadyLinked(host.snap);
  if (!client || (host.snap.state !== 'qr' && host.snap.state !== 'pairing')) throw noLinkingScreen(host.snap);
  const code = await callLibrary('request a pairing code', () => client.requestPairingCode(digits.data, true, PAIRING_INTERVAL_MS));
  if (gen === host.generation) applyPairingCode(host, code);
  return code;
}

/** A code from our request or from the library's rotation (`code` event). */
export function applyPairingCode(host: PairingHost, code: string): void {
  if (!['starting', 'qr', 'pairing'].includes(host.snap.state)) return;
  const changed = code !== host.snap.pairing_code;
  host.update({ state: 'pairing', pairing_code: code });
  if (changed) host.events.emit('pairing_code', code);
}
