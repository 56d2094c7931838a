// Events for callers that poll or wait: the JSON twin of the SSE stream (GET /api/events), a long-poll for the next
// message, and the webhook dead letters (REST only: operating the server is not an agent's job).
import { z } from 'zod';
import { MessageSchema } from '../domain.js';
import { AppError } from '../errors.js';
import { EVENT_TYPES, EventRecordSchema, UNTRUSTED_CONTENT_NOTICE, parseTypeFilter, splitList } from '../events/types.js';
import { waitForEvent } from '../events/wait.js';
import { DeadLetterSchema } from '../events/webhook-store.js';
import { chatId } from './inputs.js';
import { eventAllowed, narrowEvents } from './access.js';
import { maskedUrl } from './accounts.js';
import { allowedChatIds } from './chat-scope.js';
import { defineOperation } from './operation.js';

const localRead = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const cursor = z.number().int().min(0);
const notice = z.string().describe('Reminder that message content in this result comes from other people');

const typesInput = z
  .string()
  .max(1000)
  .describe('Comma list of event types or prefixes, e.g. "message.*,outbox.failed" (default: all)')
  .transform((v, ctx) => {
    try {
      return parseTypeFilter(splitList(v));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

// What a chat-limited key sees of the events that name no chat, asked of the one rule (access.ts eventAllowed).
const CHATLESS_FOR_LIMITED = EVENT_TYPES.filter((type) => eventAllowed({ type, chat_id: null }, () => false));

export const getUpdatesOp = defineOperation({
  name: 'whatsapp_get_updates',
  scope: 'read',
  chats: { kind: 'filter', filter: (out, ok) => narrowEvents(out, ok) },
  untrusted: true,
  title: 'Get updates (events)',
  description:
    'Events after a cursor, oldest first: message.received, message.sent, message.ack, message.edited, message.revoked, chat.created, connection.state, auth.qr, auth.pairing_code, outbox.queued/sent/failed. Pass next_cursor back as after_cursor to get only what is new. Events are kept for WHATSAPP_EVENT_RETENTION_HOURS. ' +
    UNTRUSTED_CONTENT_NOTICE,
  input: z.object({
    after_cursor: cursor.optional().describe('Return events after this cursor (default 0: everything still kept)'),
    /** The REST spelling (`?after=`), same meaning. */
    after: cursor.optional().describe('Same as after_cursor'),
    limit: z.number().int().min(1).max(500).default(100).describe('How many events at most, 1 to 500 (default 100)'),
    types: typesInput.optional(),
  }),
  output: z.object({
    ok: z.literal(true),
    count: z.number().int(),
    events: z.array(EventRecordSchema),
    /** Give this back as after_cursor (REST: after). */
    next_cursor: z.number().int(),
    /** Same value as next_cursor (the REST spelling). */
    next_after: z.number().int(),
    has_more: z.boolean(),
    untrusted_content_notice: notice,
  }),
  annotations: localRead,
  rest: [{ method: 'GET', path: '/api/events' }],
  handler: async (input, { events, store }, call) => {
    if (input.after !== undefined && input.after_cursor !== undefined && input.after !== input.after_cursor) {
      throw new AppError('invalid_input', 'after, after_cursor: give one cursor, not two different ones');
    }
    const chatIds = allowedChatIds(call, { store });
    const page = events.log.after(input.after_cursor ?? input.after ?? 0, input.limit, input.types, chatIds ? { chatIds, chatless: CHATLESS_FOR_LIMITED } : undefined);
    return {
      ok: true as const,
      count: page.events.length,
      events: page.events,
      next_cursor: page.scanned,
      next_after: page.scanned,
      has_more: page.more,
      untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE,
    };
  },
});

const receivedOnly = parseTypeFilter(['message.received']);

export const waitForMessageOp = defineOperation({
  name: 'whatsapp_wait_for_message',
  scope: 'read',
  chats: { kind: 'handler', of: (i) => i.chat_id },
  untrusted: true,
  title: 'Wait for a message',
  description:
    'Wait until someone writes to you (optionally in one chat) and return that message, or {timed_out: true} after timeout_s. Without after_cursor it waits for a message that arrives after the call; pass the returned cursor as after_cursor next time so nothing that arrived in between is missed. Many MCP clients give up on a request after 60 s: keep timeout_s below that unless yours allows more. ' +
    UNTRUSTED_CONTENT_NOTICE,
  input: z.object({
    chat_id: chatId.optional().describe('Only a message in this chat ("<digits>@c.us" or "<id>@g.us"); default any chat'),
    timeout_s: z.number().int().min(1).max(120).default(30).describe('Seconds to wait, 1 to 120 (default 30)'),
    after_cursor: cursor.optional().describe('Look for messages after this event cursor (a cursor from an earlier call)'),
  }),
  output: z.object({
    ok: z.literal(true),
    timed_out: z.boolean(),
    message: MessageSchema.nullable(),
    event: EventRecordSchema.nullable(),
    /** Pass as after_cursor to continue from here. */
    cursor: z.number().int(),
    untrusted_content_notice: notice,
  }),
  annotations: localRead,
  rest: [{ method: 'GET', path: '/api/events/wait' }],
  handler: async (input, { events }, call) => {
    const { event, position } = await waitForEvent(events.log, events.bus, {
      after: input.after_cursor ?? events.log.latestCursor(),
      filter: receivedOnly,
      // A chat-limited key waits only on its own chats (chatAllowed is absent for a key with every chat).
      ...(input.chat_id || call.chatAllowed ? { match: (e) => (input.chat_id ? e.chat_id === input.chat_id : true) && (call.chatAllowed?.(e.chat_id) ?? true) } : {}),
      timeoutMs: input.timeout_s * 1000,
      ...(call.signal ? { signal: call.signal } : {}),
    });
    const message = event ? MessageSchema.parse(event.data.message) : null;
    return { ok: true as const, timed_out: event === null, message, event, cursor: event?.cursor ?? position, untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE };
  },
});

const admin = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

export const listDeadLettersOp = defineOperation({
  name: 'webhooks_list_dead_letters',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Webhook dead letters',
  description: 'Events a webhook URL did not accept after every try (or refused with a 4xx), oldest first.',
  input: z.object({
    after_id: z.number().int().min(0).default(0).describe('Page on from this dead-letter id'),
    limit: z.number().int().min(1).max(100).default(50).describe('How many, 1 to 100 (default 50)'),
  }),
  output: z.object({ ok: z.literal(true), count: z.number().int(), dead_letters: z.array(DeadLetterSchema), next_after_id: z.number().int() }),
  annotations: admin,
  rest: [{ method: 'GET', path: '/api/webhooks/dead-letters' }],
  mcp: false,
  handler: async ({ after_id, limit }, { events }) => {
    const list = events.webhooks.store.deadLetters(after_id, limit);
    // Shown like the accounts API shows webhook URLs: no credentials or query token in an answer.
    const shown = list.map((d) => ({ ...d, url: maskedUrl(d.url) }));
    return { ok: true as const, count: list.length, dead_letters: shown, next_after_id: list.at(-1)?.id ?? after_id };
  },
});

export const redeliverDeadLetterOp = defineOperation({
  name: 'webhooks_redeliver_dead_letter',
  scope: 'admin',
  chats: { kind: 'none' },
  title: 'Redeliver a webhook dead letter',
  description: 'POST a dead-lettered event to its URL once more, now (same X-Webhook-Id). Delivered: it leaves the dead-letter list.',
  input: z.object({ id: z.number().int().min(1).describe('Dead-letter id') }),
  output: z.object({ ok: z.literal(true), id: z.number().int(), delivered: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  rest: [{ method: 'POST', path: '/api/webhooks/dead-letters/{id}/redeliver' }],
  mcp: false,
  handler: async ({ id }, { events }) => ({ ok: true as const, id, ...(await events.webhooks.redeliver(id)) }),
});
