// Acting on messages and chats: react, edit, delete (through the outbox: durable, idempotent and paced like a send),
// and mark read / presence (momentary, straight to the engine).
import { z } from 'zod';
import { EDIT_WINDOW_SECONDS, type Message, REVOKE_WINDOW_SECONDS } from '../domain.js';
import { PRESENCE_STATES, requireFacet } from '../engine/engine.js';
import { AppError } from '../errors.js';
import type { OutboxContent } from '../store/outbox-store.js';
import { confirmField } from './compose.js';
import { chatId, emoji, messageId, messageText } from './inputs.js';
import { messageChat } from './access.js';
import { type CallOptions, defineOperation, type Services } from './operation.js';

const ActOutput = z.object({
  ok: z.literal(true),
  status: z.enum(['sent', 'queued']),
  message_id: z.string(),
  chat_id: z.string(),
  outbox_id: z.string(),
  replayed: z.literal(true).optional(),
});
const act = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };
const idem = { idempotency_key: z.string().min(1).max(200).optional().describe('Makes a retry safe: the same key never acts twice') };

function stored({ store }: Services, id: string): Message {
  const m = store.getMessage(id);
  if (!m) throw new AppError('not_found', `No message ${id}`, { hint: 'Message ids come from reads, search results and events.', details: { message_id: id } });
  return m;
}

async function perform(m: Message, body: string, content: OutboxContent, key: string | undefined, services: Services, call: CallOptions, confirm = false) {
  // The recipient rules (WHATSAPP_SEND_ALLOW, first-contact confirmation) are the send service's: it checks them.
  const confirmed = confirm || call.confirmed === true;
  const r = await services.sender.send({ chat_id: m.chat_id, body, content, queue: call.preferAsync === true, idempotency_key: key ?? call.idempotencyKey, confirmed });
  return { ok: true as const, status: r.state, message_id: m.id, chat_id: m.chat_id, outbox_id: r.outbox_id, ...(r.replayed ? { replayed: true as const } : {}) };
}

export const reactOp = defineOperation({
  name: 'whatsapp_react',
  scope: 'send',
  chats: { kind: 'chat', of: (i, s) => messageChat(s, i.message_id) },
  title: 'React to a message',
  description: 'React to a message with one emoji; "" takes your reaction back. Everyone in the chat sees it.',
  // A reaction in a chat never written to is a first contact: REST confirms it with "confirm", MCP by asking the user.
  input: z.object({ message_id: messageId, emoji, ...idem, ...confirmField }),
  mcpInput: z.strictObject({ message_id: messageId, emoji, ...idem }),
  output: ActOutput,
  annotations: act,
  rest: [{ method: 'POST', path: '/api/messages/{message_id}/reaction' }],
  facet: 'messageOps',
  handler: async ({ message_id, emoji, idempotency_key, confirm }, services, call) => {
    const m = stored(services, message_id);
    if (m.revoked) throw new AppError('invalid_input', 'message_id: this message was deleted', { details: { field: 'message_id' } });
    return perform(m, '', { kind: 'reaction', message_id: m.id, from_me: m.from_me, emoji }, idempotency_key, services, call, confirm === true);
  },
});

export const editOp = defineOperation({
  name: 'whatsapp_edit_message',
  scope: 'send',
  chats: { kind: 'chat', of: (i, s) => messageChat(s, i.message_id) },
  title: 'Edit a message',
  description: 'Change the text of a message you sent, within 15 minutes of sending it (WhatsApp\'s limit). The chat shows it as edited.',
  input: z.object({ message_id: messageId, message: messageText.describe('The new text'), ...idem }),
  output: ActOutput,
  annotations: act,
  rest: [{ method: 'PATCH', path: '/api/messages/{message_id}' }],
  facet: 'messageOps',
  handler: async ({ message_id, message, idempotency_key }, services, call) => {
    const m = stored(services, message_id);
    const why =
      !m.from_me ? 'only your own messages can be edited' :
      m.revoked ? 'this message was deleted' :
      m.location || m.poll ? 'locations and polls cannot be edited' :
      Date.now() / 1000 - m.timestamp > EDIT_WINDOW_SECONDS ? 'WhatsApp allows edits for 15 minutes after sending' : null;
    if (why) throw new AppError('invalid_input', `message_id: ${why}`, { details: { field: 'message_id' } });
    return perform(m, message, { kind: 'edit', message_id: m.id, from_me: m.from_me }, idempotency_key, services, call);
  },
});

export const deleteOp = defineOperation({
  name: 'whatsapp_delete_message',
  scope: 'send',
  chats: { kind: 'chat', of: (i, s) => messageChat(s, i.message_id) },
  title: 'Delete a message',
  description:
    'Delete a message: for "everyone" (your own messages, within about 60 hours) or for "me" (only from this account\'s devices). Cannot be undone.',
  input: z.object({ message_id: messageId, for: z.enum(['everyone', 'me'], { error: (iss) => (iss.input === undefined ? 'is required: everyone or me' : 'must be everyone or me') }).describe('everyone: take it back from the chat; me: remove it from your devices only'), ...idem }),
  output: ActOutput,
  annotations: { ...act, destructiveHint: true },
  rest: [{ method: 'DELETE', path: '/api/messages/{message_id}' }],
  facet: 'messageOps',
  handler: async ({ message_id, for: scope, idempotency_key }, services, call) => {
    const m = stored(services, message_id);
    if (m.revoked) throw new AppError('invalid_input', 'message_id: this message was already deleted for everyone', { details: { field: 'message_id' } });
    if (scope === 'everyone' && !m.from_me) {
      throw new AppError('invalid_input', 'for: only your own messages can be deleted for everyone; use for=me', { details: { field: 'for' } });
    }
    if (scope === 'everyone' && Date.now() / 1000 - m.timestamp > REVOKE_WINDOW_SECONDS) {
      throw new AppError('invalid_input', 'for: WhatsApp allows deleting for everyone for about 60 hours after sending; use for=me', { details: { field: 'for' } });
    }
    return perform(m, '', { kind: 'delete', message_id: m.id, from_me: m.from_me, for_everyone: scope === 'everyone' }, idempotency_key, services, call);
  },
});

const ChatActOutput = z.object({ ok: z.literal(true), chat_id: z.string() });

export const markReadOp = defineOperation({
  name: 'whatsapp_mark_read',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Mark a chat read',
  description: 'Mark every message of a chat as read; the sender sees blue ticks if they have read receipts on.',
  input: z.object({ chat_id: chatId }),
  output: ChatActOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/chats/{chat_id}/read' }],
  facet: 'messageOps',
  handler: async ({ chat_id }, { engine }) => {
    await requireFacet(engine, 'messageOps').markRead(chat_id);
    return { ok: true as const, chat_id };
  },
});

export const presenceOp = defineOperation({
  name: 'whatsapp_set_presence',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Show typing or recording',
  description: 'Show "typing…" or "recording audio…" in a chat (WhatsApp clears it after ~25 s), or "paused" to stop.',
  input: z.object({ chat_id: chatId, state: z.enum(PRESENCE_STATES).describe('typing | recording | paused') }),
  output: ChatActOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/chats/{chat_id}/presence' }],
  facet: 'messageOps',
  handler: async ({ chat_id, state }, { engine }) => {
    await requireFacet(engine, 'messageOps').setPresence(chat_id, state);
    return { ok: true as const, chat_id };
  },
});
