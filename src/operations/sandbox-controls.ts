// Sandbox-only controls (REST only): drive the simulated account from tests and agent experiments.
import { z } from 'zod';
import { MessageSchema } from '../domain.js';
import { SandboxEngine } from '../engine/sandbox.js';
import { defineOperation, type Services } from './operation.js';
import { messageText, phoneNumber } from './inputs.js';

const isSandbox = ({ engine }: Services) => engine instanceof SandboxEngine;
const sandbox = ({ engine }: Services) => engine as SandboxEngine;
const control = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

export const sandboxLinkOp = defineOperation({
  name: 'sandbox_link',
  title: 'Sandbox: link now',
  description: 'Link the simulated account at once, as if the phone had scanned the QR or entered the code.',
  input: z.object({ phone_number: phoneNumber.optional() }),
  output: z.object({ ok: z.literal(true), status: z.unknown() }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/link' }],
  mcp: false,
  available: isSandbox,
  handler: async ({ phone_number }, services) => {
    await sandbox(services).linkNow(phone_number);
    return { ok: true as const, status: services.engine.status() };
  },
});

export const sandboxInboundOp = defineOperation({
  name: 'sandbox_inbound',
  title: 'Sandbox: receive a message',
  description: 'A contact writes to the simulated account.',
  input: z.object({ from: phoneNumber, body: messageText }),
  output: z.object({ ok: z.literal(true), message: MessageSchema }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/inbound' }],
  mcp: false,
  available: isSandbox,
  handler: async ({ from, body }, services) => ({ ok: true as const, message: sandbox(services).inbound(from, body) }),
});

export const sandboxDisconnectOp = defineOperation({
  name: 'sandbox_disconnect',
  title: 'Sandbox: drop the connection',
  description: 'Drop the simulated connection; the engine reconnects by itself.',
  input: z.object({}),
  output: z.object({ ok: z.literal(true) }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/disconnect' }],
  mcp: false,
  available: isSandbox,
  handler: async (_in, services) => {
    sandbox(services).disconnect();
    return { ok: true as const };
  },
});
