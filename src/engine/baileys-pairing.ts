// Linking by pairing code. Baileys sends the request over the open socket, so it can only be asked once the socket
// is connected and WhatsApp is offering to pair (Baileys' own example asks on the first `qr`); the code stays valid
// while this socket keeps showing QRs, and a new socket needs a new code.
import { z } from 'zod';
import type { EngineState } from '../domain.js';
import { AppError } from '../errors.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import { callLibrary } from './baileys-send.js';
import type { BaileysSocketLike } from './baileys-socket.js';

const phoneDigits = z.string().regex(/^\d{8,15}$/);

export interface PairingHost {
  readonly events: TypedEmitter<EngineEvents>;
  readonly socket: BaileysSocketLike | null;
  readonly generation: number;
  start(): Promise<void>;
  /** The auth store holds a linked device. */
  linked(): boolean;
  applyPairingCode(code: string, gen: number): void;
  status(): { state: EngineState; last_error: string | null };
}

const linkedState = (state: EngineState) => state === 'ready' || state === 'authenticated';
const linking = (state: EngineState) => state === 'qr' || state === 'pairing';
const alreadyLinked = (state: EngineState) => new AppError('conflict', 'WhatsApp is already linked', { details: { state } });

function waitForLinkingScreen(host: PairingHost, waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, waitMs);
    const off = host.events.on('status', (s) => {
      if (s.state !== 'starting') done();
    });
    function done(): void {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

export async function requestPairingCodeVia(host: PairingHost, phone: string, waitMs: number): Promise<string> {
  const digits = phoneDigits.safeParse(phone);
  if (!digits.success) throw new AppError('invalid_input', 'phone_number must be 8 to 15 digits');
  const state = () => host.status().state;
  if (linkedState(state()) || host.linked()) throw alreadyLinked(state());
  if (!host.socket) void host.start();
  if (!linking(state())) await waitForLinkingScreen(host, waitMs);
  const sock = host.socket;
  const gen = host.generation;
  // Read again: the wait may have ended in a link.
  if (linkedState(state())) throw alreadyLinked(state());
  if (!sock || !linking(state())) {
    throw new AppError('engine_error', `WhatsApp is not offering to link a device (${host.status().last_error ?? state()})`, {
      hint: 'GET /api/status shows last_error; once it is fixed, ask again: POST /api/pairing-code (or whatsapp_pairing_code) starts the connection anew.',
      details: { state: state() },
    });
  }
  const code = await callLibrary('request a pairing code', () => sock.requestPairingCode(digits.data));
  host.applyPairingCode(code, gen);
  return code;
}
