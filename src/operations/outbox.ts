// The outbox as a list, and a way to send a failed send again (the dashboard's outbox panel; agents too).
import { z } from 'zod';
import { AppError } from '../errors.js';
import { OUTBOX_STATES, type OutboxRow, OutboxRecordSchema } from '../store/outbox-store.js';
import { outboxChat } from './access.js';
import { allowedChatIds } from './chat-scope.js';
import { defineOperation } from './operation.js';
import { limit } from './inputs.js';

const outboxId = z.string().min(1).max(64);

/** The record as callers see it: the text, idempotency facts and attempt times stay internal. */
function publicRecord({ body: _b, content: _c, idempotency_key: _k, request_hash: _h, attempted_at: _a, ...record }: OutboxRow) {
  return record;
}

export const listOutboxOp = defineOperation({
  name: 'whatsapp_list_outbox',
  scope: 'send',
  chats: { kind: 'filter', filter: (out, ok) => { const sends = out.sends.filter((s) => ok(s.chat_id)); return { ...out, sends, count: sends.length }; } },
  title: 'List sends',
  description:
    'Sends in the outbox, newest first: queued (waiting to go out), sending, sent, or failed (with the error). ' +
    'state filters to one of them; pass next_before to page back. A failed send can be sent again with whatsapp_retry_send.',
  input: z.object({
    state: z.enum(OUTBOX_STATES).optional().describe('Only sends in this state: queued, sending, sent or failed (default: all)'),
    limit: limit(50),
    before: outboxId.optional().describe('The next_before of a previous page: sends older than that one'),
  }),
  output: z.object({ ok: z.literal(true), count: z.number().int(), sends: z.array(OutboxRecordSchema), next_before: z.string().nullable() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'GET', path: '/api/outbox' }],
  handler: async ({ state, limit, before }, { sender, store }, call) => {
    const rows = sender.page({ state, limit, before, chatIds: allowedChatIds(call, { store }) });
    if (!rows) throw new AppError('invalid_input', `before: no send with outbox_id ${before}`, { details: { field: 'before' } });
    return { ok: true as const, count: rows.length, sends: rows.map(publicRecord), next_before: rows.length === limit ? rows.at(-1)!.outbox_id : null };
  },
});

export const retrySendOp = defineOperation({
  name: 'whatsapp_retry_send',
  scope: 'send',
  chats: { kind: 'chat', of: (i, s) => outboxChat(s, i.outbox_id) },
  title: 'Retry a failed send',
  description:
    'Put a failed send back in the queue: it goes out through the normal delivery path (paced, when WhatsApp is ready) with a fresh deadline, and keeps its outbox_id. ' +
    'Only a failed send can be retried (conflict otherwise). Follow it with whatsapp_get_send_status.',
  input: z.object({ outbox_id: outboxId.describe('The outbox_id of a failed send') }),
  output: z.object({ ok: z.literal(true), send: OutboxRecordSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/outbox/{outbox_id}/retry' }],
  handler: async ({ outbox_id }, { sender }) => ({ ok: true as const, send: publicRecord(await sender.retry(outbox_id)) }),
});
