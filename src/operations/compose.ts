// What a send carries (text, media, a location or a poll, maybe as a reply), checked and turned into an outbox
// request. Every send operation (REST /api/send, /api/chats/{id}/messages, the MCP send tools) comes through here.
import { z } from 'zod';
import { requireFacet } from '../engine/engine.js';
import { AppError, notReady } from '../errors.js';
import { sendPreview } from '../service/recipient-policy.js';
import type { SendRequest } from '../service/send-service.js';
import type { OutboxContent } from '../store/outbox-store.js';
import { locationInput, mediaInput, messageText, pollInput, replyTo } from './inputs.js';
import type { CallOptions, Services } from './operation.js';

const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .describe('Any unique string per message (e.g. a UUID). Retrying with the same key returns the first result and never sends twice.');

/** Options every send takes. */
export const sendOptions = {
  reply_to: replyTo.optional(),
  queue: z.boolean().default(false).describe('Accept "queued" instead of a not_ready or rate_limited error'),
  idempotency_key: idempotencyKey.optional(),
  expires_in: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Seconds: if still queued this long after it was accepted, the send fails with "expired" and is never sent (default and maximum: WHATSAPP_QUEUE_MAX_AGE_SECONDS, 24 h)'),
};

/**
 * REST only (never in an MCP schema: a model must not confirm for the human; over MCP the door asks the user and
 * passes CallOptions.confirmed).
 */
export const confirmField = {
  confirm: z
    .boolean()
    .optional()
    .describe('With WHATSAPP_CONFIRM_NEW_RECIPIENTS: a person checked the recipient of this first message to a chat never written to'),
};

/** The content fields of the generic send routes: text, or media (with message as its caption), or a location or poll. */
export const contentFields = {
  message: messageText.optional().describe('Text to send (up to 65,536 characters); with media, its caption'),
  media: mediaInput.optional(),
  location: locationInput.optional().describe('Send a location pin instead of text'),
  poll: pollInput.optional().describe('Send a poll instead of text'),
};

export interface ContentInput {
  message?: string | undefined;
  media?: z.output<typeof mediaInput> | undefined;
  location?: z.output<typeof locationInput> | undefined;
  poll?: z.output<typeof pollInput> | undefined;
  reply_to?: string | undefined;
  queue: boolean;
  idempotency_key?: string | undefined;
  expires_in?: number | undefined;
  confirm?: boolean | undefined;
}

/** Check the content against the rules and the store, take in any file, and say what the outbox should send. */
export async function composeSend(chatId: string, f: ContentInput, services: Services, call: CallOptions): Promise<SendRequest> {
  const { engine, store, media } = services;
  const hasMedia = f.media !== undefined || call.upload !== undefined;
  const kinds = [hasMedia && 'media', f.location && 'location', f.poll && 'poll'].filter((k): k is string => Boolean(k));
  if (kinds.length > 1) throw bad(kinds[1]!, `send one of media, location or poll per message (got ${kinds.join(' and ')})`);
  if (kinds.length === 0 && f.message === undefined) throw bad('message', 'is required (or send media, location or poll)');
  if ((f.location || f.poll) && f.message !== undefined) throw bad('message', `a ${kinds[0]} carries no text: leave message out`);
  if (f.reply_to !== undefined) {
    const quoted = store.getMessage(f.reply_to);
    if (!quoted || quoted.chat_id !== chatId) throw bad('reply_to', `no message ${f.reply_to} in ${chatId}`);
  }
  const maxAge = services.config.queueMaxAgeSeconds;
  if (f.expires_in !== undefined && f.expires_in > maxAge) throw bad('expires_in', `at most ${maxAge} seconds (WHATSAPP_QUEUE_MAX_AGE_SECONDS)`);
  const confirmed = f.confirm === true || call.confirmed === true;
  // Before any file is fetched or staged: a refused recipient costs nothing (the send service checks again).
  const early: OutboxContent | undefined = f.poll ? { kind: 'poll', poll: f.poll } : f.location ? { kind: 'location', location: { ...f.location, name: f.location.name ?? null, address: f.location.address ?? null } } : undefined;
  services.sender.recipients.admit(chatId, { confirmed, preview: sendPreview(f.message ?? '', early) });
  const queue = f.queue || call.preferAsync === true;
  // Before any work (a download, a copy): an answer that will be 503 anyway should not cost a fetch.
  const status = engine.status();
  if (!queue && !status.ready) throw notReady(status.state, engine.hasSavedSession());
  const reply = f.reply_to !== undefined ? { reply_to: f.reply_to } : {};
  let content: OutboxContent | undefined = f.reply_to !== undefined ? { kind: 'text', ...reply } : undefined;
  let files: { keepFiles?: () => void; dropFiles?: () => void } = {};
  if (hasMedia) {
    requireFacet(engine, 'media');
    const taken = await media.intake.take(f.media ?? {}, { upload: call.upload, transport: call.transport ?? 'rest', signal: call.signal });
    content = { kind: 'media', media: taken.ref, ...reply };
    files = { keepFiles: taken.commit, dropFiles: taken.discard };
  } else if (f.location) {
    requireFacet(engine, 'richMessages');
    const { latitude, longitude, name, address } = f.location;
    content = { kind: 'location', location: { latitude, longitude, name: name ?? null, address: address ?? null }, ...reply };
  } else if (f.poll) {
    requireFacet(engine, 'richMessages');
    content = { kind: 'poll', poll: f.poll, ...reply };
  }
  return { chat_id: chatId, body: f.message ?? '', content, queue, idempotency_key: f.idempotency_key ?? call.idempotencyKey, expires_in: f.expires_in, confirmed, ...files };
}

function bad(field: string, why: string): AppError {
  return new AppError('invalid_input', `${field}: ${why}`, { details: { field } });
}
