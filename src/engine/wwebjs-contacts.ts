// The wwebjs engine's contacts facet. WhatsApp Web makes up an empty Contact for any id it is asked about, so
// whether WhatsApp knows someone comes from getContactLidAndPhone (a number it cannot find answers {}) and,
// failing that, getNumberId.
import { type Contact, chatIdForPhone, parseId } from '../domain.js';
import { AppError } from '../errors.js';
import type { ContactsFacet, NumberCheck } from './engine.js';
import { callLibrary } from './wwebjs-chats.js';
import type { WwebjsClientLike } from './wwebjs-client.js';
import type { LidBook } from './wwebjs-lids.js';
import { type ContactRecord, toContactRecord } from './wwebjs-map-groups.js';

export interface WwebjsContactsCore {
  readonly lids: LidBook;
  /** The client when ready; throws not_ready otherwise. */
  readyClient(): WwebjsClientLike;
}

const DIGITS = /^\d{8,15}$/;

export class WwebjsContacts implements ContactsFacet {
  constructor(private readonly core: WwebjsContactsCore) {}

  async getContact(id: string): Promise<Contact | null> {
    const client = this.core.readyClient();
    const asked = parseId(id);
    if (!asked || (asked.kind !== 'phone' && asked.kind !== 'lid')) return null;
    const answer = (await this.core.lids.ask([asked.id])).get(asked.id);
    if (answer === null) return null; // WhatsApp knows nobody by this id (for a number: not on WhatsApp)
    if (answer === undefined && asked.kind === 'phone') {
      const wid = await callLibrary('look up the number', () => client.getNumberId(asked.phone));
      if (!wid) return null;
    }
    const raw = await callLibrary('look up the contact', () => client.getContactById(asked.id));
    const found = toContactRecord(raw) ?? blank(asked.id);
    // Asked by linked id, the library answers under the number when WhatsApp Web knows it: that is a pair.
    if (asked.kind === 'lid' && found.phone !== null) {
      this.core.lids.learn(asked.id, found.phone);
      found.lid = asked.id;
    }
    return this.toContact(found);
  }

  async checkNumbers(phones: string[]): Promise<NumberCheck[]> {
    const client = this.core.readyClient();
    const bad = phones.find((p) => !DIGITS.test(p));
    if (bad !== undefined) throw new AppError('invalid_input', `phone_numbers: ${bad} is not 8 to 15 digits`, { details: { field: 'phone_numbers' } });
    const out: NumberCheck[] = [];
    // One at a time: each is a query to WhatsApp's servers, which rate-limit bursts of them.
    for (const phone of phones) {
      const wid = await callLibrary('look up the number', () => client.getNumberId(phone));
      // WhatsApp's own id for the number, which is not always the digits typed (some countries' old formats).
      const chatId = wid && typeof wid._serialized === 'string' ? wid._serialized : null;
      out.push({ phone_number: phone, on_whatsapp: chatId !== null, chat_id: chatId });
    }
    return out;
  }

  async listContacts(): Promise<Contact[]> {
    const byId = new Map<string, Contact>();
    for (const record of await this.records()) {
      if (record.is_me) continue;
      const c = this.toContact(record);
      const seen = byId.get(c.id);
      // The same person can be listed under both ids once WhatsApp Web swaps a linked id for the number.
      byId.set(c.id, seen ? merge(seen, c) : c);
    }
    return [...byId.values()];
  }

  /** Names of everyone the account knows, by id ("…@c.us" and "…@lid"): saved name, else push name. */
  async names(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const r of await this.records()) {
      const name = r.name ?? r.push_name;
      if (name) names.set(r.id, name);
    }
    return names;
  }

  private async records(): Promise<ContactRecord[]> {
    const client = this.core.readyClient();
    const raw = await callLibrary('list contacts', () => client.getContacts());
    return (Array.isArray(raw) ? raw : []).map(toContactRecord).filter((c): c is ContactRecord => c !== null);
  }

  private toContact(r: ContactRecord): Contact {
    const lids = this.core.lids;
    const phone = r.phone ?? (r.lid ? lids.phoneOf(r.lid) : null);
    const lid = r.lid ?? (phone ? lids.lidOf(phone) : null);
    return {
      id: phone ? chatIdForPhone(phone) : r.id,
      phone,
      lid,
      name: r.name,
      push_name: r.push_name,
      business_name: r.business_name,
      is_my_contact: r.is_my_contact,
      is_business: r.is_business,
    };
  }
}

function blank(id: string): ContactRecord {
  const parsed = parseId(id);
  const phone = parsed?.kind === 'phone' ? parsed.phone : null;
  return { id, phone, lid: parsed?.kind === 'lid' ? parsed.id : null, name: null, push_name: null, business_name: null, is_my_contact: false, is_business: false, is_me: false };
}

function merge(a: Contact, b: Contact): Contact {
  return {
    ...a,
    lid: a.lid ?? b.lid,
    name: a.name ?? b.name,
    push_name: a.push_name ?? b.push_name,
    business_name: a.business_name ?? b.business_name,
    is_my_contact: a.is_my_contact || b.is_my_contact,
    is_business: a.is_business || b.is_business,
  };
}
