// Sending text: durable, idempotent and paced through the send service (src/service/send-service.ts).
import { z } from 'zod';
import { chatIdForPhone } from '../domain.js';
import { OutboxRecordSchema } from '../store/outbox-store.js';
import { type CallOptions, defineOperation, type Services } from './operation.js';
import { messageText, phoneNumber, sendChatId } from './inputs.js';

const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .describe('Any unique string per message (e.g. a UUID). Retrying with the same key returns the first result and never sends twice.');

const SentOutput = z.object({
  ok: z.literal(true),
  status: z.literal('sent'),
  to: z.string(),
  chat_id: z.string(),
  message_id: z.string(),
  timestamp: z.number().int(),
  outbox_id: z.string(),
  replayed: z.literal(true).optional().describe('Present on a retry with the same idempotency key: the first answer again, nothing sent'),
});
const QueuedOutput = z.object({
  ok: z.literal(true),
  status: z.literal('queued'),
  to: z.string(),
  chat_id: z.string(),
  outbox_id: z.string(),
  replayed: z.literal(true).optional(),
});
const SendOutput = z.discriminatedUnion('status', [SentOutput, QueuedOutput]);
const sendOptions = {
  message: messageText,
  queue: z.boolean().default(false).describe('Accept "queued" instead of a not_ready or rate_limited error'),
  idempotency_key: idempotencyKey.optional(),
};
const sendAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };

export const sendMessageOp = defineOperation({
  name: 'whatsapp_send_message',
  title: 'Send a WhatsApp message',
  description:
    'Send a text message to a phone number (with country code). Fails with not_on_whatsapp when the number has no WhatsApp account. ' +
    'With queue=true a send that cannot go out now (not linked, or paced to avoid a ban) is kept and delivered later: status "queued" and an outbox_id to check with whatsapp_get_send_status. ' +
    'Pass an idempotency_key to make retries safe.',
  input: z.object({ phone_number: phoneNumber, ...sendOptions }),
  output: SendOutput,
  annotations: sendAnnotations,
  rest: [{ method: 'POST', path: '/api/send' }],
  httpStatus: (out) => (out.status === 'queued' ? 202 : 200),
  handler: ({ phone_number, ...rest }, services, call) => send(phone_number, chatIdForPhone(phone_number), rest, services, call),
});

export const sendToChatOp = defineOperation({
  name: 'whatsapp_send_to_chat',
  title: 'Send a WhatsApp message to a chat',
  description:
    'Send a text message to a chat by its id: a group ("120363000000000001@g.us") or a person ("15550102030@c.us"); chat ids come from whatsapp_list_chats. ' +
    'Same guarantees and options as whatsapp_send_message (queue, idempotency_key, whatsapp_get_send_status).',
  input: z.object({ chat_id: sendChatId, ...sendOptions }),
  output: SendOutput,
  annotations: sendAnnotations,
  rest: [{ method: 'POST', path: '/api/chats/{chat_id}/messages' }],
  httpStatus: (out) => (out.status === 'queued' ? 202 : 200),
  handler: ({ chat_id, ...rest }, services, call) => send(chat_id, chat_id, rest, services, call),
});

async function send(to: string, chat: string, o: { message: string; queue: boolean; idempotency_key?: string | undefined }, { sender }: Services, call: CallOptions) {
  const r = await sender.send({ chat_id: chat, body: o.message, queue: o.queue || call.preferAsync === true, idempotency_key: o.idempotency_key ?? call.idempotencyKey });
  const replayed = r.replayed ? { replayed: true as const } : {};
  if (r.state === 'queued') return { ok: true as const, status: 'queued' as const, to, chat_id: r.chat_id, outbox_id: r.outbox_id, ...replayed };
  return { ok: true as const, status: 'sent' as const, to, chat_id: r.chat_id, message_id: r.message_id, timestamp: r.timestamp, outbox_id: r.outbox_id, ...replayed };
}

export const sendStatusOp = defineOperation({
  name: 'whatsapp_get_send_status',
  title: 'Check a send',
  description: 'Where a send stands: queued, sending, sent (with the WhatsApp message id) or failed (with the error).',
  input: z.object({ outbox_id: z.string().min(1).max(64).describe('The outbox_id returned by whatsapp_send_message') }),
  output: z.object({ ok: z.literal(true), send: OutboxRecordSchema }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'GET', path: '/api/outbox/{outbox_id}' }],
  handler: async ({ outbox_id }, { sender }) => {
    const { body: _body, idempotency_key: _k, request_hash: _h, attempted_at: _a, ...send } = sender.status(outbox_id);
    return { ok: true as const, send };
  },
});
