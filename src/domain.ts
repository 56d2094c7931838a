import { z } from 'zod';

// Domain types shared by every engine, the store and both doors. Library types never leave an engine adapter.

/** Which ids may name an account (accounts/layout.ts adds the reserved ones). A leading letter or digit: `-` alone,
 * or `-x`, would read as a CLI flag and make a <data>/-/ directory. */
export const ACCOUNT_ID_RULE = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const ACCOUNT_ID_TEXT = 'must be 1 to 32 of a-z 0-9 - starting with a letter or digit';

export const ENGINE_NAMES = ['wwebjs', 'baileys', 'sandbox'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export const ENGINE_STATES = [
  'stopped',
  'starting',
  'qr',
  'pairing',
  'authenticated',
  'ready',
  'disconnected',
  'auth_failure',
  'error',
] as const;
export type EngineState = (typeof ENGINE_STATES)[number];

export const AccountSchema = z.object({
  wid: z.string(),
  pushname: z.string().nullable(),
  platform: z.string().nullable(),
});
export type Account = z.infer<typeof AccountSchema>;

export const EngineStatusSchema = z.object({
  engine: z.enum(ENGINE_NAMES),
  state: z.enum(ENGINE_STATES),
  ready: z.boolean(),
  authenticated: z.boolean(),
  auth_dir: z.string(),
  chrome_executable: z.string().nullable(),
  headless: z.boolean(),
  has_qr: z.boolean(),
  /** The current pairing code while one is waiting to be entered on the phone. */
  pairing_code: z.string().nullable(),
  last_error: z.string().nullable(),
  account: AccountSchema.nullable(),
});
export type EngineStatus = z.infer<typeof EngineStatusSchema>;

/** WhatsApp delivery receipts, in the order they progress. */
export const ACK_STATES = ['error', 'pending', 'sent', 'delivered', 'read', 'played'] as const;
export type AckState = (typeof ACK_STATES)[number];

export const MEDIA_KINDS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** What a file of each kind usually is, for a payload that left its type out. */
export const DEFAULT_MIMETYPES: Record<MediaKind, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/mpeg',
  voice: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

export const MediaInfoSchema = z.object({
  kind: z.enum(MEDIA_KINDS),
  mimetype: z.string(),
  filename: z.string().nullable(),
  /** Bytes; null until known (a received file not downloaded yet, when WhatsApp did not say). */
  size: z.number().int().nullable(),
  /** Hex sha256 of the file; null until known. Also the download's ETag. */
  sha256: z.string().nullable(),
  /** Where to download it: GET this path on this server. */
  url: z.string(),
});
export type MediaInfo = z.infer<typeof MediaInfoSchema>;

export const QuotedSchema = z.object({ id: z.string(), from: z.string().nullable(), body: z.string() });
export type Quoted = z.infer<typeof QuotedSchema>;

export const ReactionSchema = z.object({
  emoji: z.string(),
  from: z.string(),
  /** Unix seconds. */
  timestamp: z.number().int(),
});
export type Reaction = z.infer<typeof ReactionSchema>;

export const LocationSchema = z.object({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().nullable(),
  address: z.string().nullable(),
});
export type Location = z.infer<typeof LocationSchema>;

export const PollSchema = z.object({
  question: z.string(),
  /** votes: how many chose the option, when the engine could count them; null when unknown. */
  options: z.array(z.object({ name: z.string(), votes: z.number().int().nullable() })),
  multiple: z.boolean(),
});
export type Poll = z.infer<typeof PollSchema>;

export const MessageSchema = z.object({
  id: z.string(),
  chat_id: z.string(),
  from: z.string(),
  to: z.string(),
  /** Sender inside a group; null in one-to-one chats. */
  author: z.string().nullable(),
  from_me: z.boolean(),
  type: z.string(),
  body: z.string(),
  /** Unix seconds. */
  timestamp: z.number().int(),
  has_media: z.boolean(),
  ack: z.enum(ACK_STATES).nullable(),
  media: MediaInfoSchema.nullable(),
  /** The message this one replies to. */
  quoted: QuotedSchema.nullable(),
  reactions: z.array(ReactionSchema),
  edited: z.boolean(),
  /** Deleted for everyone by its sender (the body is gone). */
  revoked: z.boolean(),
  location: LocationSchema.nullable(),
  poll: PollSchema.nullable(),
  /** The phone number behind `from` when it is an "@lid" id and the number is known; null otherwise. */
  from_phone: z.string().nullable(),
  /** The same for `author` (the sender inside a group). */
  author_phone: z.string().nullable(),
});
export type Message = z.infer<typeof MessageSchema>;

/** The fields a plain text message has beyond the baseline shape: producers spread this and override what they know. */
export function plainExtras(): Pick<Message, 'media' | 'quoted' | 'reactions' | 'edited' | 'revoked' | 'location' | 'poll' | 'from_phone' | 'author_phone'> {
  return { media: null, quoted: null, reactions: [], edited: false, revoked: false, location: null, poll: null, from_phone: null, author_phone: null };
}

// WhatsApp's own limits on acting on a sent message; engines and operations check them in one place.
/** You may edit your own message for 15 minutes. */
export const EDIT_WINDOW_SECONDS = 15 * 60;
/** "Delete for everyone" is allowed for about two and a half days after sending. */
export const REVOKE_WINDOW_SECONDS = 60 * 60 * 60;

/** The download path of a message's media (the REST route of whatsapp_get_media), on its account's routes. */
export function mediaUrl(messageId: string, account = 'default'): string {
  return `${accountApiBase(account)}/messages/${encodeURIComponent(messageId)}/media`;
}

function accountApiBase(account: string): string {
  return account === 'default' ? '/api' : `/api/accounts/${encodeURIComponent(account)}`;
}

const DEFAULT_MEDIA_PATH = /^\/api\/messages\/[^/]+\/media$/;

/**
 * `value` with every message's `media.url` on the account's routes. Engines and the store know no accounts and write
 * the default account's path (`mediaUrl(id)`); whatever leaves an account (operation answers, events, MCP resources)
 * passes through here, so a message of account `a` links to `/api/accounts/a/...`. Copies only what changes; the
 * default account's values come back as they are.
 */
export function onAccountRoutes<T>(value: T, account: string): T {
  return account === 'default' ? value : (rebaseMedia(value, accountApiBase(account)) as T);
}

function rebaseMedia(v: unknown, base: string): unknown {
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const r = rebaseMedia(v[i], base);
      if (r !== v[i]) (out ??= v.slice())[i] = r;
    }
    return out ?? v;
  }
  // Plain records only: a Buffer or a stream in an answer is a file, not a message.
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  let out: Record<string, unknown> | null = null;
  for (const [k, x] of Object.entries(v)) {
    let r: unknown;
    const media = x as { url?: unknown } | null;
    if (k === 'media' && media && typeof media === 'object' && typeof media.url === 'string' && DEFAULT_MEDIA_PATH.test(media.url)) {
      r = { ...media, url: base + media.url.slice('/api'.length) };
    } else r = rebaseMedia(x, base);
    if (r !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = r;
  }
  return out ?? v;
}

export const MessageSummarySchema = z.object({
  id: z.string(),
  body: z.string(),
  from_me: z.boolean(),
  timestamp: z.number().int(),
});
export type MessageSummary = z.infer<typeof MessageSummarySchema>;

export const ChatSchema = z.object({
  id: z.string(),
  name: z.string(),
  is_group: z.boolean(),
  is_read_only: z.boolean(),
  unread_count: z.number().int(),
  /** Unix seconds of the last activity. */
  timestamp: z.number().int(),
  archived: z.boolean(),
  pinned: z.boolean(),
  muted: z.boolean(),
  last_message: MessageSummarySchema.nullable(),
});
export type Chat = z.infer<typeof ChatSchema>;

export const ContactSchema = z.object({
  /** "<digits>@c.us" when the phone number is known, else "<lid>@lid". */
  id: z.string(),
  /** Bare digits; null when WhatsApp hides the number behind a linked id. */
  phone: z.string().nullable(),
  /** "<lid>@lid", WhatsApp's linked id for this person, when known. */
  lid: z.string().nullable(),
  /** The name saved on your phone. */
  name: z.string().nullable(),
  /** The name they chose for themselves. */
  push_name: z.string().nullable(),
  business_name: z.string().nullable(),
  is_my_contact: z.boolean(),
  is_business: z.boolean(),
});
export type Contact = z.infer<typeof ContactSchema>;

export const ParticipantSchema = z.object({
  id: z.string(),
  phone: z.string().nullable(),
  lid: z.string().nullable(),
  name: z.string().nullable(),
  is_admin: z.boolean(),
  is_super_admin: z.boolean(),
});
export type Participant = z.infer<typeof ParticipantSchema>;

export const GroupSchema = z.object({
  id: z.string(),
  subject: z.string(),
  description: z.string().nullable(),
  /** Who created it (may be null when WhatsApp does not say). */
  owner: z.string().nullable(),
  /** Unix seconds. */
  created_at: z.number().int().nullable(),
  participants: z.array(ParticipantSchema),
  /** Only admins may send messages. */
  announce: z.boolean(),
  /** Only admins may change the subject, description and settings. */
  restrict: z.boolean(),
  size: z.number().int(),
});
export type Group = z.infer<typeof GroupSchema>;

export const PARTICIPANT_ACTIONS = ['add', 'remove', 'promote', 'demote'] as const;
export type ParticipantAction = (typeof PARTICIPANT_ACTIONS)[number];

/** One participant's outcome of a group change: partial success is normal (one number not on WhatsApp, say). */
export const ParticipantResultSchema = z.object({
  participant: z.string(),
  ok: z.boolean(),
  /** Why it failed: not_on_whatsapp, not_admin, already_member, not_member, ... */
  code: z.string().nullable(),
  message: z.string().nullable(),
});
export type ParticipantResult = z.infer<typeof ParticipantResultSchema>;

export interface SentMessage {
  message_id: string;
  chat_id: string;
  /** Unix seconds. */
  timestamp: number;
}

// Phone numbers: users paste "+1 (555) 010-2030"; WhatsApp wants bare digits.
const PHONE_NOISE = /[\s+\-().]/g;

/**
 * Bare digits of a phone number in international form, or null. "00" (the international call prefix in most of
 * the world) counts as "+"; what remains must be 8 to 15 digits (E.164) and cannot start with 0, because no
 * country code does: a leading 0 means a national number without its country code.
 */
export function normalizePhone(input: string): string | null {
  const digits = phoneDigits(input);
  return /^[1-9]\d{7,14}$/.test(digits) ? digits : null;
}

/** A typed number as stored: separators and "+" dropped, the international "00" prefix too. May be partial. */
export function phoneDigits(input: string): string {
  const digits = input.replace(PHONE_NOISE, '');
  return digits.startsWith('00') ? digits.slice(2) : digits;
}

export function chatIdForPhone(digits: string): string {
  return `${digits}@c.us`;
}

export const CHAT_ID_PATTERN = /^(\d{5,20}(@c\.us|@s\.whatsapp\.net|@lid)|[\d-]{5,40}@g\.us|status@broadcast|\d+@newsletter)$/;

export function isGroupId(chatId: string): boolean {
  return chatId.endsWith('@g.us');
}

export function isLid(id: string): boolean {
  return id.endsWith('@lid');
}

/** "1555…@c.us" → "1555…"; null for groups and other non-phone ids. */
export function phoneOfChatId(chatId: string): string | null {
  const m = /^(\d+)@(c\.us|s\.whatsapp\.net)$/.exec(chatId);
  return m ? m[1]! : null;
}

/** What an id or number names: a person by phone, a person by linked id, a group, or another WhatsApp id. */
export type ParsedId =
  | { kind: 'phone'; id: string; phone: string }
  | { kind: 'lid'; id: string }
  | { kind: 'group'; id: string }
  | { kind: 'other'; id: string };

/**
 * The one id rule, for every input that names a chat or a person: "+44 7700 900123", "447700900123@c.us",
 * "447700900123@s.whatsapp.net" (and a device id "447700900123:12@s.whatsapp.net") all name the phone chat
 * "447700900123@c.us"; "<digits>@lid" a linked id; "…@g.us" a group. Case and spaces around are ignored.
 * Null when the text is none of these.
 */
export function parseId(input: string): ParsedId | null {
  const v = input.trim().toLowerCase();
  const at = v.indexOf('@');
  if (at === -1) {
    const phone = normalizePhone(v);
    return phone ? { kind: 'phone', id: chatIdForPhone(phone), phone } : null;
  }
  const server = v.slice(at + 1);
  const user = v.slice(0, at).replace(/:\d+$/, ''); // a device suffix names the same account
  if (server === 'c.us' || server === 's.whatsapp.net') {
    return /^\d{5,20}$/.test(user) ? { kind: 'phone', id: chatIdForPhone(user), phone: user } : null;
  }
  if (server === 'lid') return /^\d{5,20}$/.test(user) ? { kind: 'lid', id: `${user}@lid` } : null;
  if (server === 'g.us') return /^[\d-]{5,40}$/.test(user) ? { kind: 'group', id: `${user}@g.us` } : null;
  return CHAT_ID_PATTERN.test(v) ? { kind: 'other', id: v } : null;
}
