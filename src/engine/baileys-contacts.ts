// The Baileys engine's contacts facet, and what it knows of people. Baileys has no contact list to ask: it tells
// us about people in events (contacts.upsert/update, history sync, push names on messages), so those are kept here
// in a bounded map. Numbers behind linked ids come from lid-mapping.update, from message keys (remoteJidAlt,
// participantAlt), and from Baileys' own LID store (signalRepository.lidMapping); never guessed.
import { type Contact, type Message, chatIdForPhone, isLid, parseId } from '../domain.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ContactsFacet, EngineEvents, NumberCheck, TypedEmitter } from './engine.js';
import { mergeContact, toContact } from './baileys-map-people.js';
import { phoneOf, toOurId } from './baileys-map.js';
import { callLibrary } from './baileys-send.js';
import type { BaileysSocketLike } from './baileys-socket.js';

const MAX_PEOPLE = 20_000;
const DIGITS = /^\d{8,15}$/;

export interface BaileysContactsCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly log: Logger;
  readySocket(): BaileysSocketLike;
  /** The socket when connected, else null: lookups on the side never wait for a link. */
  socketIfReady(): BaileysSocketLike | null;
  /** Our own phone chat id once linked. */
  self(): string | null;
}

export class BaileysContacts implements ContactsFacet {
  private readonly people = new Map<string, Contact>();
  private readonly phones = new Map<string, string>(); // lid -> digits
  private readonly lids = new Map<string, string>(); // digits -> lid
  /** Linked ids already looked up in Baileys' LID store: asked once, not on every message. */
  private readonly asked = new Set<string>();

  constructor(private readonly core: BaileysContactsCore) {}

  async getContact(id: string): Promise<Contact | null> {
    const sock = this.core.readySocket();
    const asked = parseId(id);
    if (asked?.kind === 'lid') {
      const phone = this.phoneOf(asked.id) ?? (await this.askPhone(sock, asked.id));
      return this.people.get(phone ? chatIdForPhone(phone) : asked.id) ?? (phone ? this.blank(phone) : null);
    }
    if (asked?.kind !== 'phone') return null;
    const known = this.people.get(asked.id);
    if (known) return known;
    const found = await callLibrary('look up the number', () => sock.onWhatsApp(asked.phone));
    if (!found?.some((r) => r.exists)) return null;
    return this.blank(asked.phone);
  }

  async checkNumbers(phones: string[]): Promise<NumberCheck[]> {
    const sock = this.core.readySocket();
    const bad = phones.find((p) => !DIGITS.test(p));
    if (bad !== undefined) throw new AppError('invalid_input', `phone_numbers: ${bad} is not 8 to 15 digits`, { details: { field: 'phone_numbers' } });
    const out: NumberCheck[] = [];
    // One at a time: Baileys leaves numbers without WhatsApp out of its answer (and may return WhatsApp's own form
    // of a number), so a batch could not be matched back to what was asked; WhatsApp rate-limits bursts anyway.
    for (const phone of phones) {
      const found = await callLibrary('look up the number', () => sock.onWhatsApp(phone));
      const hit = found?.find((r) => r.exists);
      const chatId = hit ? toOurId(hit.jid) : null;
      out.push({ phone_number: phone, on_whatsapp: chatId !== null, chat_id: chatId });
    }
    return out;
  }

  async listContacts(): Promise<Contact[]> {
    const me = this.core.self();
    return [...this.people.values()].filter((c) => c.id !== me);
  }

  /** A contact payload from Baileys (contacts.upsert/update, history sync): remembered, and reported if new. */
  note(raw: unknown): void {
    const parsed = toContact(raw);
    if (!parsed) return;
    if (parsed.lid && parsed.phone) this.learn(parsed.lid, parsed.phone);
    const next = this.withKnownIds(parsed);
    // The same person may first have been seen under their linked id only.
    const lidEntry = next.lid && next.id !== next.lid ? this.people.get(next.lid) : undefined;
    if (lidEntry) this.people.delete(next.lid!);
    const before = this.people.get(next.id) ?? lidEntry;
    const merged = mergeContact(before, next);
    // Baileys sends a contacts.update with the push name on every inbound message: most change nothing.
    if (before && sameContact(before, merged)) return;
    this.people.delete(merged.id);
    this.people.set(merged.id, merged);
    trim(this.people);
    this.core.events.emit('contact', merged);
  }

  /** WhatsApp said this linked id is this number: remembered, and one lid_mapping event when new or changed. */
  learn(lid: string, phone: string): void {
    const l = parseId(lid);
    const digits = phoneOf(phone) ?? (DIGITS.test(phone) ? phone : null);
    if (l?.kind !== 'lid' || !digits || this.phones.get(l.id) === digits) return;
    this.phones.set(l.id, digits);
    this.lids.set(digits, l.id);
    trim(this.phones);
    trim(this.lids);
    this.core.events.emit('lid_mapping', { lid: l.id, phone: digits });
  }

  phoneOf(lid: string): string | null {
    return this.phones.get(lid) ?? null;
  }

  lidOf(phone: string): string | null {
    return this.lids.get(phone) ?? null;
  }

  /** Saved name, else push name, of a person by either id. */
  nameOf(id: string): string | null {
    const phone = isLid(id) ? this.phoneOf(id) : phoneOf(id);
    const c = this.people.get(id) ?? (phone ? this.people.get(chatIdForPhone(phone)) : undefined);
    return c?.name ?? c?.push_name ?? null;
  }

  /** The message with the numbers behind its linked ids filled in, when known. */
  enrich(msg: Message): Message {
    const fromPhone = msg.from_phone ?? (isLid(msg.from) ? this.phoneOf(msg.from) : null);
    const authorPhone = msg.author_phone ?? (msg.author && isLid(msg.author) ? this.phoneOf(msg.author) : null);
    return fromPhone === msg.from_phone && authorPhone === msg.author_phone ? msg : { ...msg, from_phone: fromPhone, author_phone: authorPhone };
  }

  /** In the background, ask Baileys' LID store about linked senders we know no number for. */
  noticeSenders(msg: Message): void {
    const sock = this.core.socketIfReady();
    if (!sock) return;
    for (const id of [msg.from, msg.author]) {
      if (!id || !isLid(id) || this.phones.has(id) || this.asked.has(id)) continue;
      this.asked.add(id);
      if (this.asked.size > MAX_PEOPLE) this.asked.delete(this.asked.values().next().value as string);
      void this.askPhone(sock, id);
    }
  }

  /** Another account may be linked next: what we learnt belongs to this one. */
  clear(): void {
    this.people.clear();
    this.phones.clear();
    this.lids.clear();
    this.asked.clear();
  }

  private async askPhone(sock: BaileysSocketLike, lid: string): Promise<string | null> {
    try {
      const pn = await sock.signalRepository.lidMapping.getPNForLID(lid);
      const phone = phoneOf(pn);
      if (phone) this.learn(lid, phone);
      return phone;
    } catch (err) {
      this.core.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'linked id lookup failed');
      return null;
    }
  }

  private withKnownIds(c: Contact): Contact {
    const phone = c.phone ?? (c.lid ? this.phoneOf(c.lid) : null);
    const lid = c.lid ?? (phone ? this.lidOf(phone) : null);
    return { ...c, id: phone ? chatIdForPhone(phone) : c.id, phone, lid };
  }

  private blank(phone: string): Contact {
    return { id: chatIdForPhone(phone), phone, lid: this.lidOf(phone), name: null, push_name: null, business_name: null, is_my_contact: false, is_business: false };
  }
}

function sameContact(a: Contact, b: Contact): boolean {
  return a.id === b.id && a.phone === b.phone && a.lid === b.lid && a.name === b.name && a.push_name === b.push_name && a.business_name === b.business_name && a.is_my_contact === b.is_my_contact && a.is_business === b.is_business;
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_PEOPLE) map.delete(map.keys().next().value as string);
}
