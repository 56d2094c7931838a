// The SQL half of the Baileys auth store: schema, value encoding, and the signal key store over the `keys` table.
// Baileys' own useMultiFileAuthState writes one JSON file per key with no atomicity across a batch; here a batch
// (a session and the pre-key it consumed, say) commits or vanishes as one.
import { BufferJSON, proto, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore } from 'baileys';
import type Database from 'better-sqlite3';

export type AuthDb = Database.Database;

interface AuthMigration {
  version: number;
  up(db: AuthDb): void;
}

export const AUTH_MIGRATIONS: readonly AuthMigration[] = [
  {
    version: 1,
    up(db) {
      db.exec(`
        CREATE TABLE creds (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);
        CREATE TABLE keys (
          type TEXT NOT NULL,
          id TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (type, id)
        ) WITHOUT ROWID;
      `);
    },
  },
];

export const AUTH_SCHEMA_VERSION = AUTH_MIGRATIONS[AUTH_MIGRATIONS.length - 1]!.version;

export type MigrateOutcome = { ok: true } | { ok: false; reason: 'newer'; version: number } | { ok: false; reason: 'foreign' };

/** Bring the schema up to date. A version above ours, or an unversioned file that already has tables, is refused. */
export function migrateAuthDb(db: AuthDb): MigrateOutcome {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > AUTH_SCHEMA_VERSION) return { ok: false, reason: 'newer', version: current };
  if (current === 0) {
    // Version 0 with tables in it is some other SQLite file (the message store, say), not a fresh auth store.
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number };
    if (tables.n > 0) return { ok: false, reason: 'foreign' };
  }
  for (const m of AUTH_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { ok: true };
}

/** Baileys' own encoding (BufferJSON): Buffers and Uint8Arrays become {type:'Buffer', data:<base64>}. */
export function encodeValue(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

export function decodeValue(text: string): unknown {
  return JSON.parse(text, BufferJSON.reviver) as unknown;
}

function decodeKey<T extends keyof SignalDataTypeMap>(type: T, text: string): SignalDataTypeMap[T] {
  const value = decodeValue(text);
  // Baileys reads app-state keys as proto objects (useMultiFileAuthState does the same fromObject on read);
  // a plain object would lose its Long timestamp and fail the proto checks in app-state decoding.
  if (type === 'app-state-sync-key') {
    return proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>) as unknown as SignalDataTypeMap[T];
  }
  return value as SignalDataTypeMap[T];
}

/** The uncached key store. Every call is synchronous; Baileys accepts plain values where it awaits promises. */
export function sqlKeyStore(db: AuthDb): SignalKeyStore & { clear(): void } {
  // One statement for any number of ids: the id list goes in as a JSON array (json_each), still a primary-key lookup.
  const select = db.prepare<[string, string], { id: string; value: string }>(
    `SELECT id, value FROM keys WHERE type = ? AND id IN (SELECT value FROM json_each(?))`,
  );
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO keys (type, id, value) VALUES (?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value`,
  );
  const remove = db.prepare<[string, string]>(`DELETE FROM keys WHERE type = ? AND id = ?`);
  const removeAll = db.prepare(`DELETE FROM keys`);

  const writeBatch = db.transaction((data: SignalDataSet) => {
    for (const [type, entries] of Object.entries(data)) {
      for (const [id, value] of Object.entries(entries ?? {})) {
        if (value == null) remove.run(type, id);
        else upsert.run(type, id, encodeValue(value));
      }
    }
  });

  return {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
      const found: { [id: string]: SignalDataTypeMap[T] } = {};
      if (ids.length === 0) return found;
      for (const row of select.all(type, JSON.stringify(ids))) found[row.id] = decodeKey(type, row.value);
      return found;
    },
    set(data: SignalDataSet): void {
      writeBatch(data);
    },
    clear(): void {
      removeAll.run();
    },
  };
}
