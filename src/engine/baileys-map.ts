// Baileys payloads -> domain types. Baileys hands over decoded protobufs (WAProto) whose every field is optional and
// whose numbers may be Long objects, so each payload is checked here; library types go no further than baileys-*.ts.
import { z } from 'zod';
import {
  type AckState,
  type Location,
  LocationSchema,
  type MediaInfo,
  type MediaKind,
  type Message,
  type Poll,
  type Quoted,
  mediaUrl,
  parseId,
  DEFAULT_MIMETYPES,
} from '../domain.js';

// Baileys hands over proto.Message class instances, which zod 4's record() refuses (it wants plain objects): any
// non-null, non-array object is accepted here, and its fields are read like any other.
const protoObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v));

/** Our id for a Baileys jid: "<digits>@c.us" for "<digits>[:<device>]@s.whatsapp.net"; "@lid" and "@g.us" stay. */
export function toOurId(jid: string | null | undefined): string | null {
  return jid ? (parseId(jid)?.id ?? null) : null;
}

/** The jid Baileys wants for one of our ids. */
export function toJid(id: string): string {
  const p = parseId(id);
  return p?.kind === 'phone' ? `${p.phone}@s.whatsapp.net` : (p?.id ?? id);
}

/** Bare digits of a phone jid or id; null for anything else. */
export function phoneOf(jid: string | null | undefined): string | null {
  const p = jid ? parseId(jid) : null;
  return p?.kind === 'phone' ? p.phone : null;
}

/** Long (protobufjs), number or decimal string -> number; null when absent or not a number. */
export const longish = z
  .union([
    z.number(),
    z.string().regex(/^\d+$/).transform(Number),
    z.object({ low: z.number(), high: z.number() }).transform((l) => l.high * 2 ** 32 + (l.low >>> 0)),
  ])
  .nullish()
  .catch(null);
const text = z.string().nullish().catch(null);
const bytes = z
  .union([z.instanceof(Uint8Array).transform((b) => Buffer.from(b)), z.string().min(1).transform((s) => Buffer.from(s, 'base64'))])
  .nullish()
  .catch(null);

export const messageKey = z.object({
  remoteJid: z.string().min(1),
  fromMe: z.boolean().nullish(),
  id: z.string().min(1),
  participant: z.string().nullish(),
  /** The other form of remoteJid (its phone jid for a "@lid" chat, or the reverse), when WhatsApp sent it. */
  remoteJidAlt: z.string().nullish(),
  participantAlt: z.string().nullish(),
});
export type Key = z.infer<typeof messageKey>;

const contextInfo = z
  .object({ stanzaId: text, participant: text, remoteJid: text, quotedMessage: protoObject.nullish().catch(null) })
  .nullish()
  .catch(null);
const media = z.object({ mimetype: text, caption: text, fileName: text, fileLength: longish, fileSha256: bytes, ptt: z.boolean().nullish().catch(null), contextInfo });
const textContent = z.object({ text: text, contextInfo });
const withContext = z.object({ contextInfo });
const textLike = z.object({ text, caption: text, name: text });
const location = z.object({ degreesLatitude: z.number().nullish(), degreesLongitude: z.number().nullish(), name: text, address: text, contextInfo });
const poll = z.object({ name: text, options: z.array(z.object({ optionName: text })).nullish().catch(null), selectableOptionsCount: z.number().nullish().catch(null), contextInfo });

const libraryMessage = z.object({
  key: messageKey,
  message: protoObject.nullish().catch(null),
  messageTimestamp: longish,
  status: z.number().nullish().catch(null),
  messageStubType: z.number().nullish().catch(null),
  pushName: text,
});
export type LibraryMessage = z.infer<typeof libraryMessage>;

// WAProto: WebMessageInfo.StubType.REVOKE; WebMessageInfo.Status ERROR 0 … PLAYED 5.
const STUB_REVOKE = 1;
const ACKS: readonly AckState[] = ['error', 'pending', 'sent', 'delivered', 'read', 'played'];

export function toAck(status: unknown): AckState | null {
  return typeof status === 'number' ? (ACKS[status] ?? null) : null;
}

// The wrappers Baileys' normalizeMessageContent unwraps (disappearing, view once, captioned documents, edits).
const WRAPPERS = ['ephemeralMessage', 'viewOnceMessage', 'documentWithCaptionMessage', 'viewOnceMessageV2', 'viewOnceMessageV2Extension', 'editedMessage', 'associatedChildMessage'];

export function unwrap(content: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  let c = content ?? null;
  for (let i = 0; i < 5 && c; i++) {
    const wrapper = WRAPPERS.find((w) => c![w] && typeof c![w] === 'object');
    if (!wrapper) break;
    const inner = (c[wrapper] as { message?: unknown }).message;
    c = inner && typeof inner === 'object' ? (inner as Record<string, unknown>) : null;
  }
  return c;
}

// Content that is not a chat message: reactions, edits and revokes (protocolMessage), poll votes, key exchange.
const NOT_MESSAGES = new Set(['reactionMessage', 'encReactionMessage', 'protocolMessage', 'pollUpdateMessage', 'senderKeyDistributionMessage', 'messageContextInfo', 'keepInChatMessage', 'pinInChatMessage', 'encEventResponseMessage']);
const MEDIA: Record<string, { type: string; kind: MediaKind }> = {
  imageMessage: { type: 'image', kind: 'image' },
  videoMessage: { type: 'video', kind: 'video' },
  ptvMessage: { type: 'ptv', kind: 'video' },
  audioMessage: { type: 'audio', kind: 'audio' },
  documentMessage: { type: 'document', kind: 'document' },
  stickerMessage: { type: 'sticker', kind: 'sticker' },
};
const POLLS = ['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3'];
// Type names as whatsapp-web.js reports them, so stored messages read the same whichever engine wrote them.
const OTHER_TYPES: Record<string, string> = { contactMessage: 'vcard', contactsArrayMessage: 'multi_vcard', liveLocationMessage: 'location', locationMessage: 'location' };

/** The content key Baileys' getContentType picks. */
export function contentType(content: Record<string, unknown> | null): string | null {
  if (!content) return null;
  return Object.keys(content).find((k) => content[k] != null && (k === 'conversation' || k.includes('Message')) && k !== 'senderKeyDistributionMessage' && k !== 'messageContextInfo') ?? null;
}

/** The text of a message content (plain, extended, or a caption): what a quote or an edit shows. */
export function textOf(content: Record<string, unknown> | null): string {
  const c = unwrap(content);
  const type = contentType(c);
  if (!c || !type) return '';
  if (type === 'conversation') return typeof c.conversation === 'string' ? c.conversation : '';
  const inner = textLike.safeParse(c[type]);
  return inner.success ? (inner.data.text ?? inner.data.caption ?? (POLLS.includes(type) ? inner.data.name : null) ?? '') : '';
}

function quotedOf(ctx: z.infer<typeof contextInfo>): Quoted | null {
  if (!ctx?.stanzaId) return null;
  return { id: ctx.stanzaId, from: toOurId(ctx.participant), body: textOf(ctx.quotedMessage ?? null) };
}

function mediaOf(id: string, kind: MediaKind, m: z.infer<typeof media>): MediaInfo {
  const size = m.fileLength;
  return {
    kind,
    mimetype: m.mimetype || DEFAULT_MIMETYPES[kind],
    filename: m.fileName || null,
    size: typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : null,
    sha256: m.fileSha256 && m.fileSha256.length === 32 ? m.fileSha256.toString('hex') : null,
    url: mediaUrl(id),
  };
}

function locationOf(raw: unknown): Location | null {
  const l = location.safeParse(raw);
  if (!l.success) return null;
  const parsed = LocationSchema.safeParse({ latitude: l.data.degreesLatitude, longitude: l.data.degreesLongitude, name: l.data.name || null, address: l.data.address || null });
  return parsed.success ? parsed.data : null;
}

function pollOf(raw: unknown): Poll | null {
  const p = poll.safeParse(raw);
  if (!p.success) return null;
  const options = (p.data.options ?? []).map((o) => ({ name: o.optionName ?? '', votes: null }));
  // selectableOptionsCount 1 is "one answer" (Baileys sends those as V3); 0 is any number. Votes arrive encrypted
  // per voter (pollUpdates), so no tally here.
  return { question: p.data.name ?? '', options, multiple: p.data.selectableOptionsCount !== 1 };
}

/** What a message's content makes of it; everything else comes from its key, timestamp and status. */
interface Content {
  type: string;
  body: string;
  has_media: boolean;
  edited?: boolean;
  revoked?: boolean;
  media?: MediaInfo | null;
  quoted?: Quoted | null;
  location?: Location | null;
  poll?: Poll | null;
}

/**
 * The Message, built as one object literal: a history sync maps hundreds of thousands of messages, and building it
 * from spreads (`{...plainExtras(), ...people(), ...}`, then `{...base, type, ...}`) took ~10 of the ~15 us each
 * one cost, in V8's slow copy path, and allocated twice. Senders and addressees as wwebjs reports them: in a group
 * `from` is the group and `author` the person. Keys keep the order the spreads gave them.
 */
function assemble(m: LibraryMessage, chatId: string, self: string | null, c: Content): Message {
  const k = m.key;
  const fromMe = k.fromMe ?? false;
  const group = chatId.endsWith('@g.us');
  const author = group && !fromMe ? toOurId(k.participant) : null;
  const from = fromMe ? (self ?? '') : chatId;
  return {
    media: c.media ?? null,
    quoted: c.quoted ?? null,
    reactions: [],
    edited: c.edited ?? false,
    revoked: c.revoked ?? false,
    location: c.location ?? null,
    poll: c.poll ?? null,
    // The phone behind an "@lid" sender, when WhatsApp put it on the key (remoteJidAlt / participantAlt).
    from_phone: !group && from.endsWith('@lid') ? phoneOf(k.remoteJidAlt) : null,
    author_phone: author?.endsWith('@lid') ? phoneOf(k.participantAlt) : null,
    id: k.id,
    chat_id: chatId,
    from,
    to: fromMe ? chatId : (self ?? ''),
    author,
    from_me: fromMe,
    timestamp: m.messageTimestamp ?? 0,
    ack: toAck(m.status),
    type: c.type,
    body: c.body,
    has_media: c.has_media,
  };
}

/**
 * A WAMessage as our Message; null when it is not a chat message (a reaction, an edit, a revoke notice, a poll
 * vote, a group notification, a message that could not be decrypted) or has no usable key.
 */
export function toMessage(raw: unknown, self: string | null): Message | null {
  const parsed = parseLibraryMessage(raw);
  return parsed ? messageOf(parsed, self) : null;
}

/** toMessage for a message already parsed (parseLibraryMessage): history parses each message once. */
export function messageOf(m: LibraryMessage, self: string | null): Message | null {
  const chatId = toOurId(m.key.remoteJid);
  if (!chatId) return null;
  if (m.messageStubType === STUB_REVOKE) return assemble(m, chatId, self, { type: 'revoked', body: '', has_media: false, revoked: true });
  const edited = Boolean(m.message && typeof m.message.editedMessage === 'object');
  const content = unwrap(m.message);
  const type = contentType(content);
  if (!content || !type || NOT_MESSAGES.has(type)) return null;
  const inner = content[type];
  if (type === 'conversation') return assemble(m, chatId, self, { type: 'chat', body: typeof inner === 'string' ? inner : '', has_media: false, edited });
  if (type === 'extendedTextMessage') {
    const t = textContent.safeParse(inner).data;
    return assemble(m, chatId, self, { type: 'chat', body: t?.text ?? '', has_media: false, edited, quoted: quotedOf(t?.contextInfo) });
  }
  const file = MEDIA[type];
  if (file) {
    const parsedMedia = media.safeParse(inner);
    const mm = parsedMedia.success ? parsedMedia.data : { mimetype: null, caption: null, fileName: null, fileLength: null, fileSha256: null, ptt: null, contextInfo: null };
    const voice = type === 'audioMessage' && mm.ptt === true;
    const kind: MediaKind = voice ? 'voice' : file.kind;
    return assemble(m, chatId, self, { type: voice ? 'ptt' : file.type, body: mm.caption ?? '', has_media: true, edited, media: mediaOf(m.key.id, kind, mm), quoted: quotedOf(mm.contextInfo) });
  }
  const ctx = withContext.safeParse(inner).data?.contextInfo ?? null;
  if (POLLS.includes(type)) return assemble(m, chatId, self, { type: 'poll_creation', body: '', has_media: false, poll: pollOf(inner), quoted: quotedOf(ctx) });
  if (type === 'locationMessage' || type === 'liveLocationMessage') return assemble(m, chatId, self, { type: 'location', body: '', has_media: false, location: locationOf(inner), quoted: quotedOf(ctx) });
  return assemble(m, chatId, self, { type: OTHER_TYPES[type] ?? type.replace(/Message$/, ''), body: '', has_media: false, quoted: quotedOf(ctx) });
}

/** The parsed key and raw content of a WAMessage, or null. */
export function parseLibraryMessage(raw: unknown): LibraryMessage | null {
  const parsed = libraryMessage.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Linked id <-> phone pairs a message key reveals (remoteJidAlt, participantAlt). */
export function lidPairsOf(k: Pick<Key, 'remoteJid' | 'remoteJidAlt' | 'participant' | 'participantAlt'>): Array<{ lid: string; phone: string }> {
  const out: Array<{ lid: string; phone: string }> = [];
  for (const [a, b] of [[k.remoteJid, k.remoteJidAlt], [k.participant, k.participantAlt]] as const) {
    const pa = a ? parseId(a) : null;
    const pb = b ? parseId(b) : null;
    if (pa?.kind === 'lid' && pb?.kind === 'phone') out.push({ lid: pa.id, phone: pb.phone });
    else if (pa?.kind === 'phone' && pb?.kind === 'lid') out.push({ lid: pb.id, phone: pa.phone });
  }
  return out;
}

const reactionEntry = z.object({
  key: messageKey,
  reaction: z.object({ key: messageKey.partial().nullish().catch(null), text: text, senderTimestampMs: longish }),
});

/** One `messages.reaction` entry as our event; the reactor is the reaction message's own sender. */
export function toReaction(raw: unknown, self: string | null, nowSeconds: number): { id: string; chat_id: string; emoji: string; from: string; timestamp: number } | null {
  const parsed = reactionEntry.safeParse(raw);
  if (!parsed.success) return null;
  const { key, reaction } = parsed.data;
  const chatId = toOurId(key.remoteJid);
  const by = reaction.key;
  const from = by?.fromMe ? self : toOurId(by?.participant || by?.remoteJid);
  if (!chatId || !from) return null;
  const ms = reaction.senderTimestampMs;
  return { id: key.id, chat_id: chatId, emoji: reaction.text ?? '', from, timestamp: ms && ms > 0 ? Math.floor(ms / 1000) : nowSeconds };
}

const messageUpdate = z.object({
  key: messageKey,
  update: z.object({
    status: z.number().nullish().catch(null),
    messageStubType: z.number().nullish().catch(null),
    message: protoObject.nullish(),
  }),
});

/** What one `messages.update` entry says: a new ack, an edit's new text, or a revoke. */
export function toMessageUpdate(raw: unknown): { id: string; chat_id: string; ack: AckState | null; edit: string | null; revoked: boolean } | null {
  const parsed = messageUpdate.safeParse(raw);
  if (!parsed.success) return null;
  const { key, update } = parsed.data;
  const chatId = toOurId(key.remoteJid);
  if (!chatId) return null;
  const edited = update.message?.editedMessage as { message?: Record<string, unknown> } | undefined;
  return {
    id: key.id,
    chat_id: chatId,
    ack: toAck(update.status),
    edit: edited && typeof edited === 'object' ? textOf(edited.message ?? null) : null,
    revoked: update.messageStubType === STUB_REVOKE,
  };
}

const receipt = z.object({ key: messageKey, receipt: z.object({ receiptTimestamp: longish, readTimestamp: longish, playedTimestamp: longish }) });

/** A `message-receipt.update` entry (one person's receipt of our message) as an ack. */
export function toReceipt(raw: unknown): { id: string; chat_id: string; ack: AckState } | null {
  const parsed = receipt.safeParse(raw);
  if (!parsed.success) return null;
  const { key, receipt: r } = parsed.data;
  const chatId = toOurId(key.remoteJid);
  const ack: AckState | null = r.playedTimestamp ? 'played' : r.readTimestamp ? 'read' : r.receiptTimestamp ? 'delivered' : null;
  return chatId && ack ? { id: key.id, chat_id: chatId, ack } : null;
}
