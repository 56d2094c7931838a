// whatsapp-web.js groups, contacts, group notifications and lid/phone pairs -> plain records. Like wwebjs-map, every
// payload is checked here; the facets add what needs more calls (numbers behind linked ids, names).
import { z } from 'zod';
import { type ParticipantAction, parseId } from '../domain.js';

const serializedId = z.object({ _serialized: z.string().min(1) }).transform((v) => v._serialized);
const jid = z.union([z.string().min(1), serializedId]);
const optionalJid = jid.nullish().catch(null);
const text = z.string().nullish().catch(null);
const flag = z.union([z.boolean(), z.number().transform((n) => n !== 0)]).nullish().catch(null);

/** A participant as GroupChat.participants has it: the library already swapped linked ids for numbers it knows. */
const libraryParticipant = z.object({ id: jid, isAdmin: flag, isSuperAdmin: flag });

const libraryGroup = z.object({
  id: z.object({ _serialized: z.string().regex(/@g\.us$/) }),
  name: text,
  isGroup: z.literal(true),
  groupMetadata: z.object({
    subject: text,
    desc: text,
    // Not swapped like the participants: may be an @lid even when that person's number is known.
    owner: optionalJid,
    /** Unix seconds. */
    creation: z.number().nullish().catch(null),
    announce: flag,
    restrict: flag,
    participants: z.array(z.unknown()).catch([]),
  }),
});

export interface GroupMember {
  id: string;
  is_admin: boolean;
  is_super_admin: boolean;
}

export interface GroupRecord {
  id: string;
  subject: string;
  description: string | null;
  owner: string | null;
  created_at: number | null;
  announce: boolean;
  restrict: boolean;
  members: GroupMember[];
}

/** A GroupChat as a record; null for anything else (a person's chat, a group WhatsApp Web has no metadata for). */
export function toGroupRecord(raw: unknown): GroupRecord | null {
  const parsed = libraryGroup.safeParse(raw);
  if (!parsed.success) return null;
  const { id, name, groupMetadata: g } = parsed.data;
  const members: GroupMember[] = [];
  for (const p of g.participants) {
    const m = libraryParticipant.safeParse(p);
    if (!m.success) continue;
    // A superadmin (the creator) is an admin too, whether or not the payload says so.
    members.push({ id: m.data.id, is_admin: Boolean(m.data.isAdmin || m.data.isSuperAdmin), is_super_admin: Boolean(m.data.isSuperAdmin) });
  }
  return {
    id: id._serialized,
    subject: g.subject || name || id._serialized,
    description: g.desc || null,
    owner: g.owner ?? null,
    created_at: typeof g.creation === 'number' && g.creation > 0 ? Math.floor(g.creation) : null,
    announce: g.announce ?? false,
    restrict: g.restrict ?? false,
    members,
  };
}

const libraryContact = z.object({
  id: jid,
  name: text,
  pushname: text,
  verifiedName: text,
  isBusiness: flag,
  isEnterprise: flag,
  isMyContact: flag,
  isMe: flag,
  isGroup: flag,
});

export interface ContactRecord {
  /** "<digits>@c.us" or "<digits>@lid", normalised. */
  id: string;
  phone: string | null;
  lid: string | null;
  name: string | null;
  push_name: string | null;
  business_name: string | null;
  is_my_contact: boolean;
  is_business: boolean;
  is_me: boolean;
}

/** A library Contact; null for groups, broadcasts and ids that name no person. */
export function toContactRecord(raw: unknown): ContactRecord | null {
  const parsed = libraryContact.safeParse(raw);
  if (!parsed.success || parsed.data.isGroup) return null;
  const c = parsed.data;
  const id = parseId(c.id);
  if (!id || (id.kind !== 'phone' && id.kind !== 'lid')) return null;
  const business = Boolean(c.isBusiness || c.isEnterprise);
  return {
    id: id.id,
    phone: id.kind === 'phone' ? id.phone : null,
    lid: id.kind === 'lid' ? id.id : null,
    name: c.name || null,
    push_name: c.pushname || null,
    business_name: business ? c.verifiedName || null : null,
    is_my_contact: Boolean(c.isMyContact),
    is_business: business,
    is_me: Boolean(c.isMe),
  };
}

/** What getContactLidAndPhone said about one id: each side normalised, null when it did not say. */
export interface LidAnswer {
  lid: string | null;
  phone: string | null;
}

const libraryLidAndPhone = z.object({ lid: text, pn: text });

export function toLidAnswer(raw: unknown): LidAnswer | null {
  const parsed = libraryLidAndPhone.safeParse(raw);
  if (!parsed.success) return null;
  const lid = parsed.data.lid ? parseId(parsed.data.lid) : null;
  const pn = parsed.data.pn ? parseId(parsed.data.pn) : null;
  return { lid: lid?.kind === 'lid' ? lid.id : null, phone: pn?.kind === 'phone' ? pn.phone : null };
}

// A GroupNotification (src/structures/GroupNotification.js): `type` is the gp2 subtype; ids may be objects or strings.
const libraryNotification = z.object({
  id: z.object({ remote: jid.optional().catch(undefined) }).passthrough(),
  chatId: text,
  type: z.string(),
  author: optionalJid,
  recipientIds: z.array(jid).catch([]),
});

export type NotificationMeaning =
  | { kind: 'created' }
  | { kind: 'updated'; field: 'subject' | 'description' | 'announce' | 'restrict' }
  | { kind: 'participants'; action: ParticipantAction | 'join' | 'leave' };

// gp2 subtypes (GroupNotificationTypes in src/util/Constants.js, and the ones Client.js dispatches on). Others
// (picture, ephemeral, membership_approval_request, modify, ...) change nothing a Group shows and are skipped.
const SUBTYPES: Record<string, NotificationMeaning> = {
  create: { kind: 'created' },
  subject: { kind: 'updated', field: 'subject' },
  description: { kind: 'updated', field: 'description' },
  announce: { kind: 'updated', field: 'announce' },
  restrict: { kind: 'updated', field: 'restrict' },
  add: { kind: 'participants', action: 'add' },
  // Joined through an invite link (or a community's linked group): nobody added them.
  invite: { kind: 'participants', action: 'join' },
  linked_group_join: { kind: 'participants', action: 'join' },
  remove: { kind: 'participants', action: 'remove' },
  leave: { kind: 'participants', action: 'leave' },
  promote: { kind: 'participants', action: 'promote' },
  demote: { kind: 'participants', action: 'demote' },
};

export interface GroupNotice {
  group_id: string;
  meaning: NotificationMeaning;
  by: string | null;
  participants: string[];
}

/** A group notification we report; null for ones we do not (or a payload without its group). */
export function toGroupNotice(raw: unknown): GroupNotice | null {
  const parsed = libraryNotification.safeParse(raw);
  if (!parsed.success) return null;
  const n = parsed.data;
  const groupId = n.chatId ?? n.id.remote ?? '';
  const meaning = Object.hasOwn(SUBTYPES, n.type) ? SUBTYPES[n.type] : undefined;
  if (!groupId.endsWith('@g.us') || !meaning) return null;
  // Someone who joins by link or leaves is the author; the recipients are usually them too, but not always sent.
  const self = meaning.kind === 'participants' && (meaning.action === 'join' || meaning.action === 'leave');
  const participants = n.recipientIds.length > 0 ? n.recipientIds : self && n.author ? [n.author] : [];
  return { group_id: groupId, meaning, by: n.author ?? null, participants };
}
