// whatsapp-web.js objects -> domain types. The library hands over whatever WhatsApp Web serialised, so every
// payload is checked here and library types go no further than this file.
import { z } from 'zod';
import {
  type Account,
  type AckState,
  type Chat,
  type Location,
  LocationSchema,
  type MediaInfo,
  type MediaKind,
  type Message,
  type MessageSummary,
  type Poll,
  type Quoted,
  mediaUrl,
  DEFAULT_MIMETYPES,
} from '../domain.js';
import type { EngineEvents } from './engine.js';

// Ids arrive as objects with `_serialized`; `from`/`to`/`author` are already strings after Message._patch,
// but older payloads and group notifications still carry the object form.
const serializedId = z.object({ _serialized: z.string().min(1) }).transform((v) => v._serialized);
const jid = z.union([z.string(), serializedId]);
const optionalJid = jid.nullish().catch(null);
const text = z.string().nullish().catch(null);
const num = z.number().nullish().catch(null);
const pollOptions = z.array(z.object({ name: z.string() })).nullish().catch(null);

/** The raw WhatsApp Web model (`message._data`): where media details, quotes and edits live. */
const rawData = z
  .object({
    mimetype: text,
    filename: text,
    size: num,
    /** Base64 of the sha256 of the plain file. */
    filehash: text,
    quotedMsg: z.object({ type: text, body: text, caption: text, pollName: text }).nullish().catch(null),
    /** The quoted message's short id (id.id), not its serialized id. */
    quotedStanzaID: text,
    quotedParticipant: optionalJid,
    /** Only when the quote comes from another chat. */
    quotedRemoteJid: optionalJid,
    latestEditMsgKey: z.unknown().optional(),
    lat: num,
    lng: num,
    loc: text,
    pollName: text,
    pollOptions,
    pollSelectableOptionsCount: num,
  })
  .nullish()
  .catch(null);

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
  body: text,
  timestamp: num,
  hasMedia: z.boolean().nullish().catch(null),
  ack: num,
  _data: rawData,
  // Set by Message._patch for the types they belong to (location, poll_creation) and only when truthy (edits).
  location: z.object({ latitude: z.number(), longitude: z.number(), name: text, address: text }).nullish().catch(null),
  pollName: text,
  pollOptions,
  allowMultipleAnswers: z.boolean().nullish().catch(null),
  latestEditMsgKey: z.unknown().optional(),
});
type LibraryMessage = z.infer<typeof libraryMessage>;
type RawData = NonNullable<LibraryMessage['_data']>;

const libraryChat = z.object({
  id: z.object({ _serialized: z.string().min(1), user: z.string().optional() }),
  name: text,
  isGroup: z.boolean().nullish().catch(null),
  isReadOnly: z.boolean().nullish().catch(null),
  unreadCount: num,
  timestamp: num,
  archived: z.boolean().nullish().catch(null),
  pinned: z.boolean().nullish().catch(null),
  isMuted: z.boolean().nullish().catch(null),
  lastMessage: z.unknown(),
});

const libraryInfo = z.object({
  wid: jid,
  pushname: text,
  platform: text,
});

/** A Reaction as the library emits it (src/structures/Reaction.js); timestamp is seconds, maybe fractional. */
const libraryReaction = z.object({
  msgId: z.object({ _serialized: z.string().min(1), remote: jid.optional().catch(undefined) }),
  senderId: jid,
  reaction: text,
  timestamp: num,
});

// MessageAck in src/util/Constants.js: ACK_ERROR -1, ACK_PENDING 0, ACK_SERVER 1, ACK_DEVICE 2, ACK_READ 3, ACK_PLAYED 4.
const ACKS: Record<string, AckState> = { '-1': 'error', '0': 'pending', '1': 'sent', '2': 'delivered', '3': 'read', '4': 'played' };

export function toAckState(ack: unknown): AckState | null {
  return typeof ack === 'number' ? (ACKS[String(ack)] ?? null) : null;
}

// MessageTypes (src/util/Constants.js) that carry a file. A voice note is `ptt`; `ptv` is a round video note.
const MEDIA_TYPES = new Map<string, MediaKind>([
  ['image', 'image'],
  ['video', 'video'],
  ['ptv', 'video'],
  ['audio', 'audio'],
  ['ptt', 'voice'],
  ['document', 'document'],
  ['sticker', 'sticker'],
]);
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

function fromMeOf(m: LibraryMessage): boolean {
  return m.fromMe ?? m.id.fromMe ?? false;
}

/** The chat a message belongs to: id.remote when present; else the other side of a one-to-one message. */
function chatIdOf(m: LibraryMessage): string {
  if (m.id.remote) return m.id.remote;
  return (fromMeOf(m) ? m.to : m.from) ?? '';
}

function mediaOf(m: LibraryMessage, d: RawData): MediaInfo | null {
  const kind = MEDIA_TYPES.get(m.type) ?? (m.hasMedia ? 'document' : null);
  if (!kind) return null;
  const size = d.size;
  return {
    kind,
    mimetype: d.mimetype || DEFAULT_MIMETYPES[kind],
    filename: d.filename || null,
    size: typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : null,
    sha256: d.filehash && BASE64_SHA256.test(d.filehash) ? Buffer.from(d.filehash, 'base64').toString('hex') : null,
    url: mediaUrl(m.id._serialized),
  };
}

/**
 * The library gives a quote's short id and sender, not its serialized id; we rebuild that the way WhatsApp Web
 * builds message keys: `${fromMe}_${chat}_${id}`, plus `_${participant}` in groups (own messages included).
 * Whether the quote is ours is a guess from the sender: our own id (`self`) or our side of this message. A quote
 * of a message that arrived under an @lid we do not know as ours gets `false_` and may not match a stored id.
 */
function quotedOf(m: LibraryMessage, d: RawData, chatId: string, self: string | null): Quoted | null {
  if (!d.quotedStanzaID) return null;
  const participant = d.quotedParticipant ?? null;
  const remote = d.quotedRemoteJid ?? chatId;
  const ownSide = fromMeOf(m) ? m.from : m.to;
  const mine = participant !== null && (participant === self || participant === ownSide);
  const suffix = remote.endsWith('@g.us') && participant ? `_${participant}` : '';
  const q = d.quotedMsg;
  // A quoted file or place carries its thumbnail as body; its text is the caption.
  const body = !q ? '' : MEDIA_TYPES.has(q.type ?? '') || q.type === 'location' ? (q.caption ?? '') : (q.body ?? q.pollName ?? '');
  return { id: `${mine}_${remote}_${d.quotedStanzaID}${suffix}`, from: participant, body };
}

function locationOf(m: LibraryMessage, d: RawData): Location | null {
  // Message._patch splits `loc` ("name\naddress") into name and address; raw payloads only have lat/lng/loc.
  const [name, address] = (d.loc ?? '').split('\n');
  const loc = m.location ?? { latitude: d.lat, longitude: d.lng, name, address };
  const parsed = LocationSchema.safeParse({ latitude: loc.latitude, longitude: loc.longitude, name: loc.name || null, address: loc.address || null });
  return parsed.success ? parsed.data : null;
}

function pollOf(m: LibraryMessage, d: RawData): Poll {
  const options = (m.pollOptions ?? d.pollOptions ?? []).map((o) => ({ name: o.name, votes: null }));
  // WhatsApp stores "one answer" as pollSelectableOptionsCount 1 and "any number" as 0 (the library's reading).
  const multiple = m.allowMultipleAnswers ?? !d.pollSelectableOptionsCount;
  // The library offers no tally (only per-voter vote_update events), so counts are unknown here.
  return { question: m.pollName ?? d.pollName ?? m.body ?? '', options, multiple };
}

/**
 * Null when the payload has no usable id (nothing downstream could store or dedupe it). `self` (our account's
 * wid) lets quotes of our own messages get their right id.
 */
export function toMessage(raw: unknown, self: string | null = null): Message | null {
  const parsed = libraryMessage.safeParse(raw);
  if (!parsed.success) return null;
  const m = parsed.data;
  const d: RawData = m._data ?? {};
  const chatId = chatIdOf(m);
  const location = m.type === 'location' ? locationOf(m, d) : null;
  return {
    id: m.id._serialized,
    chat_id: chatId,
    from: m.from ?? '',
    to: m.to ?? '',
    author: m.author || null,
    from_me: fromMeOf(m),
    type: m.type,
    // A location's body is its base64 thumbnail, not text anyone wrote.
    body: m.type === 'location' ? '' : (m.body ?? ''),
    timestamp: m.timestamp ?? 0,
    has_media: m.hasMedia ?? false,
    ack: toAckState(m.ack),
    media: mediaOf(m, d),
    quoted: quotedOf(m, d, chatId, self),
    // Reactions arrive as message_reaction events; reading them per message would cost a page call each.
    reactions: [],
    edited: Boolean(m.latestEditMsgKey ?? d.latestEditMsgKey),
    revoked: m.type === 'revoked',
    location,
    poll: m.type === 'poll_creation' ? pollOf(m, d) : null,
    // Filled from the store's lid map (fed by lid_mapping events) when a sender is an @lid id.
    from_phone: null,
    author_phone: null,
  };
}

/** A library Reaction as the engine's message_reaction payload; null without the message it belongs to. */
export function toReaction(raw: unknown, nowSeconds: number): EngineEvents['message_reaction'][0] | null {
  const parsed = libraryReaction.safeParse(raw);
  if (!parsed.success) return null;
  const r = parsed.data;
  // A serialized id is `${fromMe}_${chat}_${id}[_${participant}]`: the chat is its second part.
  const chatId = r.msgId.remote ?? r.msgId._serialized.split('_')[1];
  if (!chatId) return null;
  const timestamp = typeof r.timestamp === 'number' && r.timestamp > 0 ? Math.floor(r.timestamp) : nowSeconds;
  return { id: r.msgId._serialized, chat_id: chatId, emoji: r.reaction ?? '', from: r.senderId, timestamp };
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
