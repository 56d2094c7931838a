// Row <-> domain mapping and the small encodings the store uses (ack ranks, id hashes, seq numbers, cursors).
import { createHash } from 'node:crypto';
import { ACK_STATES, type AckState, type Chat, type Message, isGroupId, mediaUrl, phoneOfChatId, plainExtras } from '../domain.js';
import { AppError } from '../errors.js';

/** seq = timestamp * SEQ_PER_SECOND + n. 2^53 / 1e6 seconds is year 2255, so every seq is a safe JS integer. */
export const SEQ_PER_SECOND = 1_000_000;

export const MESSAGE_COLUMNS = `m.seq, m.id, c.id AS chat_id, m.from_id, m.to_id, m.author, m.from_me, m.type, m.body,
  m.timestamp, m.has_media, m.ack, m.edited, m.revoked, m.extra`;

export interface MessageRow {
  seq: number;
  id: string;
  chat_id: string;
  from_id: string;
  to_id: string;
  author: string | null;
  from_me: number;
  type: string;
  body: string;
  timestamp: number;
  has_media: number;
  ack: number | null;
  edited: number;
  revoked: number;
  /** JSON of MessageExtra, null for a plain text message. */
  extra: string | null;
}

/** What a message has beyond text, as stored in messages.extra (the media url is derived, not stored). */
export interface MessageExtra {
  media?: Omit<NonNullable<Message['media']>, 'url'>;
  quoted?: Message['quoted'];
  location?: Message['location'];
  poll?: Message['poll'];
  reactions?: Message['reactions'];
}

/** The extra JSON for a message, or null when it has nothing beyond text (most rows: no JSON to parse on read). */
export function encodeExtra(m: Pick<Message, 'media' | 'quoted' | 'location' | 'poll' | 'reactions'>): string | null {
  const x: MessageExtra = {};
  if (m.media) {
    const { url: _url, ...media } = m.media;
    x.media = media;
  }
  if (m.quoted) x.quoted = m.quoted;
  if (m.location) x.location = m.location;
  if (m.poll) x.poll = m.poll;
  if (m.reactions.length > 0) x.reactions = m.reactions;
  return Object.keys(x).length === 0 ? null : JSON.stringify(x);
}

export function decodeExtra(json: string | null): MessageExtra {
  if (json === null) return {};
  try {
    return JSON.parse(json) as MessageExtra;
  } catch {
    return {};
  }
}

export interface ChatRow {
  key: number;
  id: string;
  name: string | null;
  is_group: number;
  is_read_only: number;
  unread_count: number;
  timestamp: number;
  archived: number;
  pinned: number;
  muted: number;
}

export function toMessage(r: MessageRow): Message {
  return {
    id: r.id,
    chat_id: r.chat_id,
    from: r.from_id,
    to: r.to_id,
    author: r.author,
    from_me: r.from_me === 1,
    type: r.type,
    body: r.body,
    timestamp: r.timestamp,
    has_media: r.has_media === 1 && r.revoked !== 1,
    ack: r.ack === null ? null : (ACK_STATES[r.ack] ?? null),
    ...withExtra(r),
  };
}

function withExtra(r: MessageRow): ReturnType<typeof plainExtras> {
  const base = plainExtras();
  base.edited = r.edited === 1;
  base.revoked = r.revoked === 1;
  if (r.extra === null) return base;
  const x = decodeExtra(r.extra);
  // A revoked message keeps no content: its sender took it back.
  if (x.media && !base.revoked) base.media = { ...x.media, url: mediaUrl(r.id) };
  if (x.quoted) base.quoted = x.quoted;
  if (x.location && !base.revoked) base.location = x.location;
  if (x.poll && !base.revoked) base.poll = x.poll;
  if (x.reactions) base.reactions = x.reactions;
  return base;
}

export function toChat(r: ChatRow, last: MessageRow | undefined): Chat {
  return {
    id: r.id,
    name: r.name ?? fallbackChatName(r.id),
    is_group: r.is_group === 1,
    is_read_only: r.is_read_only === 1,
    unread_count: r.unread_count,
    timestamp: Math.max(r.timestamp, last?.timestamp ?? 0),
    archived: r.archived === 1,
    pinned: r.pinned === 1,
    muted: r.muted === 1,
    last_message: last ? { id: last.id, body: last.body, from_me: last.from_me === 1, timestamp: last.timestamp } : null,
  };
}

/** A chat first seen through a message has no name yet: show the number, as WhatsApp does for unknown contacts. */
export function fallbackChatName(chatId: string): string {
  const phone = phoneOfChatId(chatId);
  return phone ? `+${phone}` : isGroupId(chatId) ? 'Group' : chatId;
}

export function ackRank(ack: AckState | null): number | null {
  return ack === null ? null : ACK_STATES.indexOf(ack);
}

/**
 * 53-bit hash of a message id (two 32-bit FNV-style lanes). Only an index key: lookups always compare the full id
 * too, so a collision costs one extra row read, never a wrong answer.
 */
export function idKey(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x1b873593;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (b >>> 11) * 0x1_0000_0000 + (a >>> 0);
}

// Cursors are opaque to callers: "c1:<seq>" in base64url. The version prefix lets the format change later.
// A cursor names its chat (a short hash of the id), so one chat's cursor used on another is refused, not misread.
function chatTag(chatId: string): string {
  return createHash('sha256').update(chatId).digest('base64url').slice(0, 6);
}

export function encodeCursor(chatId: string, seq: number): string {
  return Buffer.from(`c1:${chatTag(chatId)}:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string, field: string, chatId: string): number {
  const text = /^[A-Za-z0-9_-]{1,60}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  const m = /^c1:([A-Za-z0-9_-]{6}):(\d{1,16})$/.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[2]))) {
    throw new AppError('invalid_input', `${field}: not a cursor returned by this server`, {
      hint: 'Pass next_before or next_after from a previous page unchanged, or leave it out for the newest page.',
    });
  }
  if (m[1] !== chatTag(chatId)) {
    throw new AppError('invalid_input', `${field}: this cursor belongs to another chat`, { hint: `Use cursors from pages of ${chatId} only.` });
  }
  return Number(m[2]);
}
