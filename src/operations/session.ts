// Linking and session lifecycle: status, start, pairing code, logout.
import QRCode from 'qrcode';
import { z } from 'zod';
import { EngineStatusSchema } from '../domain.js';
import { callerOf } from './access.js';
import { defineOperation } from './operation.js';
import { phoneNumber } from './inputs.js';

const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

export const statusOp = defineOperation({
  name: 'whatsapp_status',
  scope: 'read',
  chats: { kind: 'none' },
  title: 'WhatsApp status',
  description: 'Connection state of the linked WhatsApp account: state, ready, account, pairing code or QR availability, last error.',
  input: z.object({}),
  output: EngineStatusSchema,
  annotations: readOnly,
  rest: [{ method: 'GET', path: '/api/status' }],
  handler: async (_in, { engine }, call) => {
    const status = engine.status();
    // The pairing code links the account to whoever types it: it is for keys that may link (admin), not for readers.
    return status.pairing_code !== null && !callerOf(call).scopes.has('admin') ? { ...status, pairing_code: null } : status;
  },
});

export const startAuthOp = defineOperation({
  name: 'whatsapp_start_auth',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Start WhatsApp',
  description:
    'Start the WhatsApp engine if it is stopped and return the status at once (never waits for linking). A saved session reconnects by itself; otherwise link with whatsapp_pairing_code or the /qr page.',
  input: z.object({}),
  output: EngineStatusSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/auth/start' }],
  handler: async (_in, { engine }) => {
    void engine.start();
    // One turn of the event loop lets the engine leave `stopped`, so the answer shows the start under way.
    await new Promise((resolve) => setImmediate(resolve));
    return engine.status();
  },
});

const PairingOutput = z.union([
  z.object({
    already_authenticated: z.literal(false),
    phone_number: z.string(),
    code: z.string(),
    instructions: z.string(),
  }),
  z.object({ already_authenticated: z.literal(true), code: z.null(), status: EngineStatusSchema }),
]);

export const pairingCodeOp = defineOperation({
  name: 'whatsapp_pairing_code',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Get a pairing code',
  description:
    'Link this server to a WhatsApp account without a QR: returns an 8-character code to enter on the phone (WhatsApp > Settings > Linked devices > Link a device > Link with phone number instead). The code rotates every few minutes; whatsapp_status shows the current one.',
  input: z.object({ phone_number: phoneNumber }),
  output: PairingOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/pairing-code' }],
  handler: async ({ phone_number }, { engine }) => {
    const status = engine.status();
    if (status.ready) return { already_authenticated: true as const, code: null, status };
    const code = await engine.requestPairingCode(phone_number);
    return {
      already_authenticated: false as const,
      phone_number,
      code,
      instructions: `On the phone with number +${phone_number}: WhatsApp > Settings > Linked devices > Link a device > "Link with phone number instead", then enter ${code}.`,
    };
  },
});

export const logoutOp = defineOperation({
  name: 'whatsapp_logout',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Log out',
  description: 'Unlink this server from the WhatsApp account and delete the saved session. Linking again needs a new pairing code or QR scan.',
  input: z.object({}),
  output: z.object({ ok: z.literal(true) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/logout' }],
  handler: async (_in, { engine }) => {
    await engine.logout();
    return { ok: true as const };
  },
});

// How long whatsapp_get_qr waits for a QR after starting a stopped engine (WhatsApp Web shows one within seconds).
const QR_WAIT_MS = 15_000;

export const getQrOp = defineOperation({
  name: 'whatsapp_get_qr',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Get the QR code to link',
  description:
    'The QR code to link this server as a WhatsApp Linked Device, as an image the user can scan (WhatsApp > Settings > Linked devices > Link a device). ' +
    'Starts WhatsApp if it is stopped and waits up to 15 s for the code. The code changes every ~20 s: call again if the user was too slow. ' +
    'With no camera at hand, whatsapp_pairing_code links by typing a code instead.',
  input: z.object({}),
  output: z.object({
    ok: z.literal(true),
    state: EngineStatusSchema.shape.state,
    linked: z.boolean(),
    /** The raw QR payload, for clients that draw it themselves; null when there is none. */
    qr: z.string().nullable(),
    instructions: z.string(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [],
  handler: async (_in, { engine }, call) => {
    let status = engine.status();
    if (status.state === 'stopped' || status.state === 'error' || status.state === 'auth_failure') void engine.start();
    const deadline = Date.now() + QR_WAIT_MS;
    // Polled, not awaited on events: a start that fails lands in last_error and ends the wait just the same.
    while (!engine.currentQr() && !engine.status().ready && Date.now() < deadline && !call.signal?.aborted && engine.status().state !== 'error') {
      await new Promise((r) => setTimeout(r, 100));
    }
    status = engine.status();
    const qr = engine.currentQr();
    const instructions = status.ready
      ? `Already linked as ${status.account?.pushname ?? status.account?.wid ?? 'this account'}: nothing to scan.`
      : qr
        ? 'Show this QR code to the user: on the phone, WhatsApp > Settings > Linked devices > Link a device, then point the camera at it. It changes every ~20 s; call whatsapp_get_qr again for a fresh one, and whatsapp_status to see when linking is done.'
        : `No QR code yet (state: ${status.state}${status.last_error ? `; ${status.last_error}` : ''}). Try again in a few seconds, or link with whatsapp_pairing_code.`;
    const answer: QrAnswer = { ok: true, state: status.state, linked: status.ready, qr, instructions };
    return answer;
  },
  toolContent: async (out) => {
    const { qr } = out as QrAnswer;
    if (!qr) return [];
    const png = await QRCode.toBuffer(qr, { type: 'png', margin: 2, width: 320 });
    return [{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }];
  },
});

interface QrAnswer {
  ok: true;
  state: z.infer<typeof EngineStatusSchema>['state'];
  linked: boolean;
  qr: string | null;
  instructions: string;
}
