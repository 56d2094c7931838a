// The send service's shapes: what a caller asks (SendRequest), what it gets (SendOutcome), what the service is built
// from, and what it reports of each send's fate (OutboxOutcome: the event log and the audit listen).
import type { Message } from '../domain.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { MediaStore } from '../store/media-store.js';
import type { OutboxContent, OutboxStore } from '../store/outbox-store.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RecipientPolicy } from './recipient-policy.js';

export interface SendRequest {
  chat_id: string;
  /** The text; a media caption; an edit's new text; '' for the other kinds. */
  body: string;
  /** Absent: plain text. Media must already be in the media store. */
  content?: OutboxContent | undefined;
  /** The caller accepts 202 queued instead of 503/429. */
  queue: boolean;
  idempotency_key?: string | undefined;
  /** Seconds after which the send, if still queued, fails as expired (default: the queue's max age). */
  expires_in?: number | undefined;
  /** Called just before the outbox row is written: the files the send needs become part of the store then. */
  keepFiles?: () => void;
  /** Called when the send is over, whatever happened (files not kept are removed). */
  dropFiles?: () => void;
  /** A person confirmed this send to a chat never written to (REST "confirm": true, an MCP elicitation). */
  confirmed?: boolean | undefined;
}

export type SendOutcome = (
  | { state: 'sent'; outbox_id: string; chat_id: string; message_id: string; timestamp: number }
  | { state: 'queued'; outbox_id: string; chat_id: string }
) & {
  /** The answer of an earlier request with the same idempotency key: nothing was sent this time. */
  replayed?: true;
};

export interface SendServiceOptions {
  engine: Engine;
  outbox: OutboxStore;
  /** Where the files of media sends are. */
  media: MediaStore;
  /** A chat's recent messages from the store, for crash reconciliation on an engine with no live history. */
  storedHistory?: (chatId: string, limit: number) => Message[];
  limiter: RateLimiter;
  logger: Logger;
  /** Random extra delay (ms, up to) between queued sends, so a drained queue does not look like a bot. */
  jitterMs: number;
  /** Show "typing…" for a time in proportion to the text before sending. */
  typingIndicator: boolean;
  /** WHATSAPP_QUEUE_MAX_AGE_SECONDS in ms: the deadline of a send that names none (queue-expiry.ts). */
  queueMaxAgeMs: number;
  random?: () => number;
  /** Told of every send's fate (queued, sent, failed) after it is recorded in the outbox: feeds the event log. */
  onOutcome?: (outcome: OutboxOutcome) => void;
  /** Who may be sent to (WHATSAPP_SEND_ALLOW, WHATSAPP_CONFIRM_NEW_RECIPIENTS); absent: anyone. */
  recipients?: RecipientPolicy;
}

export type OutboxOutcome =
  | { state: 'queued'; outbox_id: string; chat_id: string; error: { code: string; message: string } | null }
  | { state: 'sent'; outbox_id: string; chat_id: string; message_id: string; timestamp: number }
  | { state: 'failed'; outbox_id: string; chat_id: string; error: { code: string; message: string } };
