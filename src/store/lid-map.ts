// The phone number behind each linked id (@lid) WhatsApp told us about: fed by engines (lid_mapping events), never
// guessed. Small (one row per person), so all of it is kept in memory too: every message read asks it.
import type { Database, Statement } from 'better-sqlite3';
import { type Message, isLid } from '../domain.js';

export const LID_MAP_SCHEMA = `
CREATE TABLE lid_map (
  lid TEXT PRIMARY KEY,          -- "<digits>@lid"
  phone TEXT NOT NULL,           -- bare digits
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX lid_map_by_phone ON lid_map (phone);
`;

export class LidMap {
  private readonly byLid = new Map<string, string>();
  private readonly byPhone = new Map<string, string>();
  private readonly upsert: Statement;

  constructor(db: Database) {
    for (const r of db.prepare('SELECT lid, phone FROM lid_map').all() as Array<{ lid: string; phone: string }>) this.remember(r.lid, r.phone);
    this.upsert = db.prepare(`INSERT INTO lid_map (lid, phone, updated_at) VALUES (?, ?, ?)
      ON CONFLICT(lid) DO UPDATE SET phone = excluded.phone, updated_at = excluded.updated_at WHERE phone != excluded.phone`);
  }

  /** Record a mapping (inside the caller's transaction). Returns true when it is new or changed. */
  set(lid: string, phone: string): boolean {
    if (this.byLid.get(lid) === phone) return false;
    this.upsert.run(lid, phone, Date.now());
    this.remember(lid, phone);
    return true;
  }

  phoneOf(lid: string): string | null {
    return this.byLid.get(lid) ?? null;
  }

  lidOf(phone: string): string | null {
    return this.byPhone.get(phone) ?? null;
  }

  /** from_phone / author_phone for a message whose sender is a linked id, when the number is known. */
  annotate(m: Message): Message {
    const fromPhone = m.from_phone ?? (isLid(m.from) ? this.phoneOf(m.from) : null);
    const authorPhone = m.author_phone ?? (m.author && isLid(m.author) ? this.phoneOf(m.author) : null);
    return fromPhone === m.from_phone && authorPhone === m.author_phone ? m : { ...m, from_phone: fromPhone, author_phone: authorPhone };
  }

  /** Forget what a rolled-back transaction wrote. */
  reload(db: Database): void {
    this.byLid.clear();
    this.byPhone.clear();
    for (const r of db.prepare('SELECT lid, phone FROM lid_map').all() as Array<{ lid: string; phone: string }>) this.remember(r.lid, r.phone);
  }

  private remember(lid: string, phone: string): void {
    const old = this.byLid.get(lid);
    if (old !== undefined && this.byPhone.get(old) === lid) this.byPhone.delete(old);
    this.byLid.set(lid, phone);
    this.byPhone.set(phone, lid);
  }
}
