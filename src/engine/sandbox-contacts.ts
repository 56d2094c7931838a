// The sandbox's address book: the seeded people are saved contacts with push names of their own, like a real
// phone's; anyone else is a WhatsApp user we know nothing about, unless their number ends in 0000 (not on WhatsApp).
// Linked ids (@lid) the sandbox was told the number of (POST /api/sandbox/inbound from_phone) resolve to it.
import { type Contact, chatIdForPhone, parseId } from '../domain.js';
import type { ContactsFacet, EngineEvents, NumberCheck, TypedEmitter } from './engine.js';
import { onWhatsApp } from './sandbox-groups.js';
import { SEED_NAMES } from './sandbox-seed.js';

export class SandboxContacts implements ContactsFacet {
  /** lid → phone digits, as the simulated phone learnt them. */
  private readonly lids = new Map<string, string>();

  constructor(private readonly core: { readonly events: TypedEmitter<EngineEvents>; me(): string }) {}

  /** The phone learnt the number behind a linked id (a contact sync, a message): tell the store. */
  learn(lid: string, phone: string): void {
    if (this.lids.get(lid) === phone) return;
    this.lids.set(lid, phone);
    this.core.events.emit('lid_mapping', { lid, phone });
    const c = this.build(chatIdForPhone(phone));
    if (c) this.core.events.emit('contact', c);
  }

  clear(): void {
    this.lids.clear();
  }

  async getContact(id: string): Promise<Contact | null> {
    this.core.me();
    return this.build(id);
  }

  async checkNumbers(phones: string[]): Promise<NumberCheck[]> {
    this.core.me();
    return phones.map((p) => {
      const on = onWhatsApp(chatIdForPhone(p));
      return { phone_number: p, on_whatsapp: on, chat_id: on ? chatIdForPhone(p) : null };
    });
  }

  async listContacts(): Promise<Contact[]> {
    this.core.me();
    return Object.keys(SEED_NAMES).map((digits) => this.build(chatIdForPhone(digits))!);
  }

  private build(id: string): Contact | null {
    const parsed = parseId(id);
    if (!parsed || (parsed.kind !== 'phone' && parsed.kind !== 'lid')) return null;
    const phone = parsed.kind === 'phone' ? parsed.phone : (this.lids.get(parsed.id) ?? null);
    if (phone !== null && !onWhatsApp(chatIdForPhone(phone))) return null;
    const lid = parsed.kind === 'lid' ? parsed.id : ([...this.lids].find(([, p]) => p === phone)?.[0] ?? null);
    const saved = phone ? SEED_NAMES[phone] : undefined;
    return {
      id: phone ? chatIdForPhone(phone) : parsed.id,
      phone,
      lid,
      name: saved ?? null,
      // The seeded people chose a first name for themselves, as most people do.
      push_name: saved ? saved.split(' ')[0]! : null,
      business_name: null,
      is_my_contact: saved !== undefined,
      is_business: false,
    };
  }
}
