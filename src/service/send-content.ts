// What a send carries: its delivery to the engine, the idempotency fingerprint of a request, and whether a message
// found in a chat's history is the one an outbox row sent (crash reconciliation).
import { createHash } from 'node:crypto';
import type { Message, SentMessage } from '../domain.js';
import { type Engine, requireFacet } from '../engine/engine.js';
import { AppError } from '../errors.js';
import type { MediaStore } from '../store/media-store.js';
import type { OutboxContent, OutboxRow } from '../store/outbox-store.js';
import type { SendRequest } from './send-types.js';

// A send WhatsApp Web never answers must not stall the queue for the life of the process; the row stays `sending`
// and reconciliation decides later whether it went out.
const SEND_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('timeout', `WhatsApp did not confirm the send within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One attempt at the engine, for whatever kind the row carries, bounded in time. */
export function deliver(row: OutboxRow, engine: Engine, files: MediaStore): Promise<SentMessage> {
  return withTimeout(deliverOnce(row, engine, files), SEND_TIMEOUT_MS);
}

async function deliverOnce(row: OutboxRow, engine: Engine, files: MediaStore): Promise<SentMessage> {
  const c = row.content;
  if (c === null || c.kind === 'text') return engine.sendText(row.chat_id, row.body, c?.reply_to ? { quotedId: c.reply_to } : {});
  const quoted = 'reply_to' in c && c.reply_to ? { quotedId: c.reply_to } : {};
  switch (c.kind) {
    case 'media': {
      const media = requireFacet(engine, 'media');
      const file = files.pathOf(c.media.sha256);
      if (!file) throw new AppError('not_found', `The file of this send (sha256 ${c.media.sha256}) is no longer in the media store`);
      return media.sendMedia(row.chat_id, { ...c.media, path: file }, { ...(row.body ? { caption: row.body } : {}), ...quoted });
    }
    case 'location':
      return requireFacet(engine, 'richMessages').sendLocation(row.chat_id, c.location, quoted);
    case 'poll':
      return requireFacet(engine, 'richMessages').sendPoll(row.chat_id, c.poll, quoted);
    default: {
      const ops = requireFacet(engine, 'messageOps');
      const ref = { id: c.message_id, chat_id: row.chat_id, from_me: c.from_me };
      if (c.kind === 'reaction') await ops.react(ref, c.emoji);
      else if (c.kind === 'edit') await ops.edit(ref, row.body);
      else await ops.delete(ref, c.for_everyone);
      return { message_id: c.message_id, chat_id: row.chat_id, timestamp: Math.floor(Date.now() / 1000) };
    }
  }
}

/** The message an act (reaction, edit, delete) is about; undefined for kinds that make a new message. */
export function targetOf(c: OutboxContent | null): string | undefined {
  return c && 'message_id' in c ? c.message_id : undefined;
}

/**
 * Is this message in the chat the one this row sent? Text by its text, media by kind, file hash (when the engine
 * knows it) and caption, a location by its coordinates, a poll by its question.
 */
export function sameContent(m: Message, row: OutboxRow): boolean {
  const c = row.content;
  if (c === null || c.kind === 'text') return m.media === null && m.location === null && m.poll === null && m.body === row.body;
  if (c.kind === 'media') return m.media !== null && m.media.kind === c.media.kind && (m.media.sha256 ?? c.media.sha256) === c.media.sha256 && m.body === row.body;
  if (c.kind === 'location') return m.location !== null && m.location.latitude === c.location.latitude && m.location.longitude === c.location.longitude;
  if (c.kind === 'poll') return m.poll !== null && m.poll.question === c.poll.question;
  return false;
}

export function requestHash(req: Pick<SendRequest, 'chat_id' | 'body' | 'content'>): string {
  // Plain text hashes as before migration 7, so keys recorded then still replay.
  const parts = req.content === undefined ? [req.chat_id, req.body] : [req.chat_id, req.body, req.content];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
