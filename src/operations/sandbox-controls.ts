// Sandbox-only controls (REST only): drive the simulated account from tests and agent experiments.
import fs from 'node:fs';
import { z } from 'zod';
import { MessageSchema } from '../domain.js';
import { SandboxEngine } from '../engine/sandbox.js';
import { SANDBOX_HISTORY_MAX } from '../engine/sandbox-history.js';
import { defineOperation, type Services } from './operation.js';
import { emoji, groupId, messageId, messageText, personId, phoneNumber, replyTo } from './inputs.js';
import { PARTICIPANT_ACTIONS } from '../domain.js';
import { AppError } from '../errors.js';
import { MEDIA_KINDS } from '../domain.js';
import { classify, decodeBase64 } from '../service/media-intake.js';

const isSandbox = ({ engine }: Services) => engine instanceof SandboxEngine;
const sandbox = ({ engine }: Services) => engine as SandboxEngine;
const control = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

export const sandboxLinkOp = defineOperation({
  name: 'sandbox_link',
  scope: 'admin',
  chats: { kind: 'none' },
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
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Sandbox: receive a message',
  description: 'A contact writes to the simulated account.',
  input: z.object({
    from: personId.describe('Who writes: a phone number, or a linked id "<digits>@lid"'),
    from_phone: phoneNumber.optional().describe('With an @lid sender: the number behind it, which the simulated phone learns (as from a contact sync)'),
    body: messageText.optional().describe('The text; with media, its caption'),
    media: z
      .strictObject({
        data: z.string().min(1).optional().describe('The file, base64 (or send it as a multipart file part)'),
        mimetype: z.string().max(255).optional(),
        filename: z.string().min(1).max(255).optional(),
        kind: z.enum(MEDIA_KINDS).optional(),
      })
      .optional(),
    reply_to: replyTo.optional(),
  }),
  output: z.object({ ok: z.literal(true), message: MessageSchema }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/inbound' }],
  mcp: false,
  available: isSandbox,
  acceptsMedia: true,
  handler: async ({ from, from_phone, body, media, reply_to }, services, call) => {
    if (from_phone && !from.endsWith('@lid')) throw new AppError('invalid_input', 'from_phone: only with a linked id (@lid) in from', { details: { field: 'from_phone' } });
    if (body === undefined && !media && !call.upload) throw new AppError('invalid_input', 'body: is required (or send media)', { details: { field: 'body' } });
    let file;
    if (media || call.upload) {
      if (!media?.data && !call.upload) throw new AppError('invalid_input', 'media.data: is required (or send the file as a multipart part)', { details: { field: 'media.data' } });
      // A multipart file part is as good as base64: the sandbox keeps the bytes (a simulated phone's file is small).
      const data = media?.data ? decodeBase64(media.data, 'media.data', services.config.maxMediaBytes).bytes : await fs.promises.readFile(call.upload!.staged.tmp);
      if (data.length === 0) throw new AppError('invalid_input', 'media.data: the file is empty', { details: { field: 'media.data' } });
      const { kind, mimetype } = await classify(data.subarray(0, 4100), media?.mimetype ?? call.upload?.mimetype ?? null, media?.kind);
      file = { data, mimetype, kind, filename: media?.filename ?? call.upload?.filename ?? null };
    }
    const sender = from.endsWith('@lid') ? from : from.replace(/@c\.us$/, '');
    const opts = { ...(file ? { media: file } : {}), ...(reply_to ? { replyTo: reply_to } : {}), ...(from_phone ? { fromPhone: from_phone } : {}) };
    return { ok: true as const, message: services.store.lids.annotate(sandbox(services).inbound(sender, body ?? '', opts)) };
  },
});

export const sandboxReactOp = defineOperation({
  name: 'sandbox_react',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Sandbox: a contact reacts',
  description: 'A contact reacts to a message ("" takes the reaction back).',
  input: z.object({ from: phoneNumber, message_id: messageId, emoji }),
  output: z.object({ ok: z.literal(true) }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/react' }],
  mcp: false,
  available: isSandbox,
  handler: async ({ from, message_id, emoji }, services) => {
    const m = services.store.getMessage(message_id);
    if (!m) throw new AppError('not_found', `No message ${message_id}`);
    sandbox(services).reactFrom(from, m.chat_id, m.id, emoji);
    return { ok: true as const };
  },
});

export const sandboxDisconnectOp = defineOperation({
  name: 'sandbox_disconnect',
  scope: 'admin',
  chats: { kind: 'none' },
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

export const sandboxHistoryOp = defineOperation({
  name: 'sandbox_history',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Sandbox: the phone sends history',
  description: 'A history sync: old messages spread over some chats, stored and searchable, announced once as history.synced (never as message events). Answers when the batch is stored.',
  input: z.object({
    messages: z.number().int().min(1).max(SANDBOX_HISTORY_MAX).default(1000).describe(`How many old messages, 1 to ${SANDBOX_HISTORY_MAX} (default 1000)`),
    chats: z.number().int().min(1).max(1000).default(10).describe('Over how many chats, 1 to 1000 (default 10)'),
  }),
  output: z.object({ ok: z.literal(true), synced: z.object({ count: z.number().int(), chats: z.number().int(), progress: z.number().nullable(), is_latest: z.boolean().nullable(), sync_type: z.string().nullable() }) }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/history' }],
  mcp: false,
  available: isSandbox,
  handler: async (input, services) => ({ ok: true as const, synced: await sandbox(services).syncHistory(input) }),
});

export const sandboxGroupEventOp = defineOperation({
  name: 'sandbox_group_event',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Sandbox: someone changes a group',
  description: 'Another member adds, removes, promotes or demotes people, or people join or leave.',
  input: z.object({
    group_id: groupId,
    action: z.enum([...PARTICIPANT_ACTIONS, 'join', 'leave']),
    participants: z.array(personId).min(1).max(256),
    by: personId.optional().describe('Who made the change (an admin); absent for join/leave'),
  }),
  output: z.object({ ok: z.literal(true) }),
  annotations: control,
  rest: [{ method: 'POST', path: '/api/sandbox/group-event' }],
  mcp: false,
  available: isSandbox,
  handler: async ({ group_id, action, participants, by }, services) => {
    sandbox(services).groups!.external(group_id, action, participants, by ?? null);
    return { ok: true as const };
  },
});
