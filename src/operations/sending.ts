// Sending text: durable, idempotent and paced through the send service (src/service/send-service.ts).
import { z } from 'zod';
import { chatIdForPhone } from '../domain.js';
import { OutboxRecordSchema } from '../store/outbox-store.js';
import type { SendRequest } from '../service/send-service.js';
import { composeSend, confirmField, contentFields, sendOptions } from './compose.js';
import { outboxChat } from './access.js';
import { defineOperation, type Services } from './operation.js';
import { messageText, phoneNumber, sendChatId } from './inputs.js';

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
export const SendOutput = z.discriminatedUnion('status', [SentOutput, QueuedOutput]);
const sendAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
const whatGoes =
  'Text, or a file (media: url, base64 data, or over REST a multipart file part; message is then its caption), or a location, or a poll; reply_to quotes a message of the chat. ';

export const sendMessageOp = defineOperation({
  name: 'whatsapp_send_message',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => chatIdForPhone(i.phone_number) },
  title: 'Send a WhatsApp message',
  description:
    'Send a message to a phone number (with country code). ' + whatGoes +
    '(Over MCP this tool sends text, optionally as a reply; whatsapp_send_media, whatsapp_send_location and whatsapp_send_poll send the rest.) ' +
    'Fails with not_on_whatsapp when the number has no WhatsApp account. ' +
    'With queue=true a send that cannot go out now (not linked, or paced to avoid a ban) is kept and delivered later: status "queued" and an outbox_id to check with whatsapp_get_send_status. ' +
    'Pass an idempotency_key to make retries safe.',
  input: z.object({ phone_number: phoneNumber, ...contentFields, ...sendOptions, ...confirmField }),
  mcpInput: z.strictObject({ phone_number: phoneNumber, message: messageText, ...sendOptions }),
  output: SendOutput,
  annotations: sendAnnotations,
  rest: [{ method: 'POST', path: '/api/send' }],
  acceptsMedia: true,
  httpStatus: (out) => (out.status === 'queued' ? 202 : 200),
  handler: async ({ phone_number, ...f }, services, call) => send(phone_number, await composeSend(chatIdForPhone(phone_number), f, services, call), services),
});

export const sendToChatOp = defineOperation({
  name: 'whatsapp_send_to_chat',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Send a WhatsApp message to a chat',
  description:
    'Send a message to a chat by its id: a group ("120363000000000001@g.us") or a person ("15550102030@c.us"); chat ids come from whatsapp_list_chats. ' + whatGoes +
    '(Over MCP this tool sends text, optionally as a reply; whatsapp_send_media, whatsapp_send_location and whatsapp_send_poll send the rest.) ' +
    'Same guarantees and options as whatsapp_send_message (queue, idempotency_key, whatsapp_get_send_status).',
  input: z.object({ chat_id: sendChatId, ...contentFields, ...sendOptions, ...confirmField }),
  mcpInput: z.strictObject({ chat_id: sendChatId, message: messageText, ...sendOptions }),
  output: SendOutput,
  annotations: sendAnnotations,
  rest: [{ method: 'POST', path: '/api/chats/{chat_id}/messages' }],
  acceptsMedia: true,
  httpStatus: (out) => (out.status === 'queued' ? 202 : 200),
  handler: async ({ chat_id, ...f }, services, call) => send(chat_id, await composeSend(chat_id, f, services, call), services),
});

/** The outbox's answer in the send routes' shape. */
export async function send(to: string, req: SendRequest, { sender }: Services) {
  const r = await sender.send(req);
  const replayed = r.replayed ? { replayed: true as const } : {};
  if (r.state === 'queued') return { ok: true as const, status: 'queued' as const, to, chat_id: r.chat_id, outbox_id: r.outbox_id, ...replayed };
  return { ok: true as const, status: 'sent' as const, to, chat_id: r.chat_id, message_id: r.message_id, timestamp: r.timestamp, outbox_id: r.outbox_id, ...replayed };
}

export const sendStatusOp = defineOperation({
  name: 'whatsapp_get_send_status',
  scope: 'send',
  chats: { kind: 'chat', of: (i, s) => outboxChat(s, i.outbox_id) },
  title: 'Check a send',
  description: 'Where a send stands: queued, sending, sent (with the WhatsApp message id) or failed (with the error).',
  input: z.object({ outbox_id: z.string().min(1).max(64).describe('The outbox_id returned by whatsapp_send_message') }),
  output: z.object({ ok: z.literal(true), send: OutboxRecordSchema }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'GET', path: '/api/outbox/{outbox_id}' }],
  handler: async ({ outbox_id }, { sender }) => {
    const { body: _body, content: _c, idempotency_key: _k, request_hash: _h, attempted_at: _a, ...send } = sender.status(outbox_id);
    return { ok: true as const, send };
  },
});
