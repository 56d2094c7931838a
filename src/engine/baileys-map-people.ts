// Baileys contacts, chats and group metadata -> domain types (checked: every field of these is optional).
import { z } from 'zod';
import { type Account, type Chat, type Contact, chatIdForPhone, parseId } from '../domain.js';
import { longish } from './baileys-map.js';

const text = z.string().nullish().catch(null);

/** Our account from Baileys' user (creds.me); null before WhatsApp told us who we are. */
export function toAccount(user: { id?: string; name?: string; notify?: string } | undefined, platform: string | undefined): Account | null {
  const p = user?.id ? parseId(user.id) : null;
  if (p?.kind !== 'phone') return null;
  // requestPairingCode puts the placeholder name "~" on creds.me until WhatsApp tells the real push name.
  const name = user?.name && user.name !== '~' ? user.name : (user?.notify ?? null);
  return { wid: p.id, pushname: name, platform: platform ?? null };
}

const libraryContact = z.object({
  id: z.string().min(1),
  lid: text,
  phoneNumber: text,
  name: text,
  notify: text,
  verifiedName: text,
});

/** Who a Baileys id names: the number and linked id it reveals, whichever form `id` has. */
export function identify(id: string | null | undefined, alt: { lid?: string | null; phoneNumber?: string | null } = {}): { phone: string | null; lid: string | null } {
  const main = id ? parseId(id) : null;
  const lidAlt = alt.lid ? parseId(alt.lid) : null;
  const pnAlt = alt.phoneNumber ? parseId(alt.phoneNumber) : null;
  const phone = main?.kind === 'phone' ? main.phone : pnAlt?.kind === 'phone' ? pnAlt.phone : null;
  const lid = main?.kind === 'lid' ? main.id : lidAlt?.kind === 'lid' ? lidAlt.id : null;
  return { phone, lid };
}

/** A person's id by our rule: their phone chat id when the number is known, else their linked id. */
export function personId(who: { phone: string | null; lid: string | null }): string | null {
  return who.phone ? chatIdForPhone(who.phone) : who.lid;
}

/** A Baileys Contact (contacts.upsert, contacts.update, history sync) as ours; null for groups and broken ones. */
export function toContact(raw: unknown): Contact | null {
  const parsed = libraryContact.safeParse(raw);
  if (!parsed.success) return null;
  const c = parsed.data;
  const who = identify(c.id, c);
  const id = personId(who);
  if (!id) return null;
  return {
    id,
    phone: who.phone,
    lid: who.lid,
    // `name` is what the phone's address book says (app state sync); `notify` the push name they chose.
    name: c.name || null,
    push_name: c.notify || null,
    business_name: c.verifiedName || null,
    is_my_contact: Boolean(c.name),
    is_business: Boolean(c.verifiedName),
  };
}

/** Merge a partial update (contacts.update carries only what changed) into what we knew. */
export function mergeContact(before: Contact | undefined, next: Contact): Contact {
  if (!before) return next;
  return {
    id: next.id,
    phone: next.phone ?? before.phone,
    lid: next.lid ?? before.lid,
    name: next.name ?? before.name,
    push_name: next.push_name ?? before.push_name,
    business_name: next.business_name ?? before.business_name,
    is_my_contact: next.is_my_contact || before.is_my_contact,
    is_business: next.is_business || before.is_business,
  };
}

const libraryChat = z.object({
  id: z.string().min(1),
  name: text,
  displayName: text,
  unreadCount: z.number().nullish().catch(null),
  conversationTimestamp: longish,
  lastMessageRecvTimestamp: longish,
  archived: z.boolean().nullish().catch(null),
  /** A timestamp when pinned; 0 or absent when not. */
  pinned: longish,
  /** Unix ms until which the chat is muted. */
  muteEndTime: longish,
  readOnly: z.boolean().nullish().catch(null),
});

/** A history-sync conversation as our Chat; `nameOf` supplies the contact's name when the chat has none. */
export function toChat(raw: unknown, nowMs: number, nameOf: (id: string) => string | null): Chat | null {
  const parsed = libraryChat.safeParse(raw);
  if (!parsed.success) return null;
  const c = parsed.data;
  const id = parseId(c.id);
  if (!id) return null;
  const unread = c.unreadCount ?? 0;
  const fallback = id.kind === 'phone' ? id.phone : id.id.split('@')[0]!;
  return {
    id: id.id,
    name: c.name || c.displayName || nameOf(id.id) || fallback,
    is_group: id.kind === 'group',
    is_read_only: c.readOnly ?? false,
    // WhatsApp stores "marked as unread" as -1: at least one unread message as far as a user is concerned.
    unread_count: unread < 0 ? 1 : unread,
    timestamp: c.conversationTimestamp ?? c.lastMessageRecvTimestamp ?? 0,
    archived: c.archived ?? false,
    pinned: (c.pinned ?? 0) > 0,
    muted: (c.muteEndTime ?? 0) > nowMs,
    last_message: null,
  };
}

export interface GroupMember {
  id: string;
  /** The jid WhatsApp lists them under in this group (its addressing mode: phone or linked id). */
  listed: string;
  phone: string | null;
  lid: string | null;
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

const participant = z.object({ id: z.string().min(1), lid: text, phoneNumber: text, admin: z.string().nullish().catch(null) });
const libraryGroup = z.object({
  id: z.string().min(1),
  subject: z.string().catch(''),
  desc: text,
  owner: text,
  ownerPn: text,
  creation: longish,
  announce: z.boolean().nullish().catch(null),
  restrict: z.boolean().nullish().catch(null),
  participants: z.array(z.unknown()).catch([]),
});

/** A participant entry (group metadata, group-participants.update) as a member; null when it names nobody. */
export function toMember(raw: unknown): GroupMember | null {
  const p = participant.safeParse(raw);
  if (!p.success) return null;
  const who = identify(p.data.id, p.data);
  const id = personId(who);
  if (!id) return null;
  const admin = p.data.admin;
  return { id, listed: p.data.id, phone: who.phone, lid: who.lid, is_admin: admin === 'admin' || admin === 'superadmin', is_super_admin: admin === 'superadmin' };
}

export function toGroupRecord(raw: unknown): GroupRecord | null {
  const parsed = libraryGroup.safeParse(raw);
  if (!parsed.success) return null;
  const g = parsed.data;
  const id = parseId(g.id);
  if (id?.kind !== 'group') return null;
  const owner = personId(identify(g.owner, { phoneNumber: g.ownerPn }));
  return {
    id: id.id,
    subject: g.subject,
    description: g.desc || null,
    owner,
    created_at: g.creation ?? null,
    announce: g.announce ?? false,
    restrict: g.restrict ?? false,
    members: g.participants.map(toMember).filter((m): m is GroupMember => m !== null),
  };
}
