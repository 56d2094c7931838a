// whatsapp-web.js objects -> domain types. The library hands over whatever WhatsApp Web serialised, so every
// payload is checked here and library types go no further than this file.
import { z } from 'zod';
import type { Account, AckState, Chat, Message, MessageSummary } from '../domain.js';

// Ids arrive as objects with `_serialized`; `from`/`to`/`author` are already strings after Message._patch,
// but older payloads and group notifications still carry the object form.
const serializedId = z.object({ _serialized: z.string().min(1) }).transform((v) => v._serialized);
const jid = z.union([z.string(), serializedId]);
const optionalJid = jid.nullish().catch(null);

const libraryMessage = z.object({
  id: z.object({
    _serialized: z.string().min(1),
    fromMe: z.boolean().optional(),
    remote: jid.optional().catch(undefined),
  }),
  from: optionalJid,
  to: optionalJid,
  author: optionalJid,
  fromMe: z.boolean().optional(),
  type: z.string().catch('unknown'),
  body: z.string().nullish().catch(null),
  timestamp: z.number().nullish().catch(null),
  hasMedia: z.boolean().nullish().catch(null),
  ack: z.number().nullish().catch(null),
});
type LibraryMessage = z.infer<typeof libraryMessage>;

const libraryChat = z.object({
  id: z.object({ _serialized: z.string().min(1), user: z.string().optional() }),
  name: z.string().nullish().catch(null),
  isGroup: z.boolean().nullish().catch(null),
  isReadOnly: z.boolean().nullish().catch(null),
  unreadCount: z.number().nullish().catch(null),
  timestamp: z.number().nullish().catch(null),
  archived: z.boolean().nullish().catch(null),
  pinned: z.boolean().nullish().catch(null),
  isMuted: z.boolean().nullish().catch(null),
  lastMessage: z.unknown(),
});

const libraryInfo = z.object({
  wid: jid,
  pushname: z.string().nullish().catch(null),
  platform: z.string().nullish().catch(null),
});

// MessageAck in src/util/Constants.js: ACK_ERROR -1, ACK_PENDING 0, ACK_SERVER 1, ACK_DEVICE 2, ACK_READ 3, ACK_PLAYED 4.
const ACKS: Record<string, AckState> = { '-1': 'error', '0': 'pending', '1': 'sent', '2': 'delivered', '3': 'read', '4': 'played' };

export function toAckState(ack: unknown): AckState | null {
  return typeof ack === 'number' ? (ACKS[String(ack)] ?? null) : null;
}

function fromMeOf(m: LibraryMessage): boolean {
  return m.fromMe ?? m.id.fromMe ?? false;
}

/** The chat a message belongs to: id.remote when present; else the other side of a one-to-one message. */
function chatIdOf(m: LibraryMessage): string {
  if (m.id.remote) return m.id.remote;
  return (fromMeOf(m) ? m.to : m.from) ?? '';
}

/** Null when the payload has no usable id (nothing downstream could store or dedupe it). */
export function toMessage(raw: unknown): Message | null {
  const parsed = libraryMessage.safeParse(raw);
  if (!parsed.success) return null;
  const m = parsed.data;
  return {
    id: m.id._serialized,
    chat_id: chatIdOf(m),
    from: m.from ?? '',
    to: m.to ?? '',
    author: m.author || null,
    from_me: fromMeOf(m),
    type: m.type,
    body: m.body ?? '',
    timestamp: m.timestamp ?? 0,
    has_media: m.hasMedia ?? false,
    ack: toAckState(m.ack),
  };
}

/** Just the id and chat of a message, for ack/edit/revoke events whose payload may be partial. */
export function messageRef(raw: unknown): { id: string; chat_id: string } | null {
  const msg = toMessage(raw);
  return msg ? { id: msg.id, chat_id: msg.chat_id } : null;
}

function toSummary(raw: unknown): MessageSummary | null {
  const msg = toMessage(raw);
  return msg ? { id: msg.id, body: msg.body, from_me: msg.from_me, timestamp: msg.timestamp } : null;
}

export function toChat(raw: unknown): Chat | null {
  const parsed = libraryChat.safeParse(raw);
  if (!parsed.success) return null;
  const c = parsed.data;
  const unread = c.unreadCount ?? 0;
  return {
    id: c.id._serialized,
    name: c.name || c.id.user || c.id._serialized,
    is_group: c.isGroup ?? false,
    is_read_only: c.isReadOnly ?? false,
    // WhatsApp stores "marked as unread" as -1: at least one unread message as far as a user is concerned.
    unread_count: unread < 0 ? 1 : unread,
    timestamp: c.timestamp ?? 0,
    archived: c.archived ?? false,
    pinned: c.pinned ?? false,
    muted: c.isMuted ?? false,
    last_message: c.lastMessage ? toSummary(c.lastMessage) : null,
  };
}

export function toAccount(raw: unknown): Account | null {
  const parsed = libraryInfo.safeParse(raw);
  if (!parsed.success) return null;
  return { wid: parsed.data.wid, pushname: parsed.data.pushname ?? null, platform: parsed.data.platform ?? null };
}
