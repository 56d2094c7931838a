// Reads of the people the store has seen (contacts, with the lid map's other half of each person).
import { type Contact, parseId, phoneDigits } from '../domain.js';
import type { Db } from './db.js';
import type { LidMap } from './lid-map.js';

interface ContactRow {
  id: string;
  name: string | null;
  pushname: string | null;
  number: string | null;
  lid: string | null;
  business_name: string | null;
  is_my_contact: number;
  is_business: number;
}

/** The store's contact reads; the store flushes its write queue before it asks. */
export class ContactReads {
  private readonly s: ReturnType<typeof prepare>;

  constructor(db: Db, private readonly lids: LidMap) {
    this.s = prepare(db);
  }

  /** People whose name, push name or number contains `q`; `chatIds`: only the people of those chats. */
  search(q: string, limit: number, chatIds?: readonly string[] | null): Contact[] {
    const text = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const digits = phoneDigits(q);
    const number = /^\d{3,}$/.test(digits) ? `%${digits}%` : null;
    const chats = chatIds ? JSON.stringify(chatIds) : null;
    const rows = this.s.contacts.all({ text, number, prefix: `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, chats, limit }) as ContactRow[];
    return rows.map(this.toContact);
  }

  /** A stored person by phone chat id or linked id (either finds them once the mapping is known). */
  get(id: string): Contact | null {
    const parsed = parseId(id);
    if (!parsed || (parsed.kind !== 'phone' && parsed.kind !== 'lid')) return null;
    const phone = parsed.kind === 'phone' ? parsed.phone : this.lids.phoneOf(parsed.id);
    const lid = parsed.kind === 'lid' ? parsed.id : this.lids.lidOf(parsed.phone);
    const row = (this.s.contactById.get({ phone_id: phone ? `${phone}@c.us` : null, lid }) as ContactRow | undefined) ?? null;
    if (row) return this.toContact(row);
    // Known only through the lid map (a sender whose number WhatsApp revealed): a bare record of both halves.
    return phone && lid ? { id: `${phone}@c.us`, phone, lid, name: null, push_name: null, business_name: null, is_my_contact: false, is_business: false } : null;
  }

  private readonly toContact = (r: ContactRow): Contact => {
    const lid = r.lid ?? (r.number ? this.lids.lidOf(r.number) : null);
    const phone = r.number ?? (r.id.endsWith('@lid') ? this.lids.phoneOf(r.id) : null);
    return {
      id: phone ? `${phone}@c.us` : r.id,
      phone,
      lid: lid ?? (r.id.endsWith('@lid') ? r.id : null),
      name: r.name,
      push_name: r.pushname,
      business_name: r.business_name,
      is_my_contact: r.is_my_contact === 1,
      is_business: r.is_business === 1,
    };
  };
}

function prepare(db: Db) {
  return {
    contactById: db.prepare('SELECT * FROM contacts WHERE id = @phone_id OR id = @lid OR (@lid IS NOT NULL AND lid = @lid) ORDER BY id = @phone_id DESC LIMIT 1'),
    contacts: db.prepare(`SELECT * FROM contacts
      WHERE (name LIKE @text ESCAPE '\\' OR pushname LIKE @text ESCAPE '\\' OR (@number IS NOT NULL AND number LIKE @number))
        AND (@chats IS NULL OR id IN (SELECT value FROM json_each(@chats)) OR lid IN (SELECT value FROM json_each(@chats))
          OR number || '@c.us' IN (SELECT value FROM json_each(@chats)))
      ORDER BY (name LIKE @prefix ESCAPE '\\') DESC, is_my_contact DESC, name IS NULL, name LIMIT @limit`),
  };
}
