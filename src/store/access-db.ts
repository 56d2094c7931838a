// Who may do what, and what they did: API keys and the audit trail, in their own SQLite file beside the message
// store. Server-wide, not per account (the message store becomes one file per WhatsApp account; keys and the audit
// outlive that split), and readable by the `keys` CLI while the server runs (WAL, busy_timeout).
import type Database from 'better-sqlite3';
import { openSqliteFile } from './sqlite-file.js';

export type AccessDb = Database.Database;

export const ACCESS_DB_FILE = 'access.db';

interface AccessMigration {
  version: number;
  sql: string;
}

const MIGRATIONS: readonly AccessMigration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,           -- the key's public id: the 8 characters after "wak_" in the key itself
  name TEXT NOT NULL UNIQUE,
  hash BLOB NOT NULL,            -- sha256 of the whole key; the key itself is never stored
  scopes TEXT NOT NULL,          -- comma list: read, send, manage, admin
  chats TEXT,                    -- JSON array of chat ids the key is limited to; NULL = every chat
  rate_per_minute INTEGER,       -- NULL = no limit of its own
  created_at INTEGER NOT NULL,   -- unix ms
  last_used_at INTEGER           -- unix ms, written at most once a minute per key
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor of GET /api/audit; never reused after pruning
  at INTEGER NOT NULL,                   -- unix ms
  account TEXT NOT NULL DEFAULT 'default',
  key_name TEXT NOT NULL,
  door TEXT NOT NULL,                    -- rest | mcp | stdio
  operation TEXT NOT NULL,
  chat_id TEXT,
  outcome TEXT NOT NULL,                 -- ok | queued | sent | failed | an error code
  outbox_id TEXT,
  text_sha256 TEXT,
  text_length INTEGER,
  text TEXT                              -- only with WHATSAPP_AUDIT_BODIES=true
);
CREATE INDEX audit_by_at ON audit (at);
CREATE INDEX audit_by_key ON audit (key_name, id);
CREATE INDEX audit_by_chat ON audit (chat_id, id);
CREATE INDEX audit_by_outbox ON audit (outbox_id) WHERE outbox_id IS NOT NULL;
`,
  },
  {
    version: 2,
    // What a call acted on that is not a chat: the key created or revoked (chat_id is null for those).
    sql: `ALTER TABLE audit ADD COLUMN target TEXT;`,
  },
  {
    version: 3,
    // The accounts a key is limited to: JSON array of account ids; NULL = every account (every key made before).
    sql: `ALTER TABLE api_keys ADD COLUMN accounts TEXT;`,
  },
];

export const ACCESS_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Open (creating 0600 in a 0700 directory) the access file; ':memory:' for tests. */
export function openAccessDb(file: string): AccessDb {
  // WAL and busy_timeout (openSqliteFile): the CLI writes keys while the server reads them and appends audit rows.
  return openSqliteFile(file, (db) => migrate(db, file));
}

function migrate(db: AccessDb, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > ACCESS_SCHEMA_VERSION) {
    throw new Error(`${file} has schema version ${current}, newer than this build supports (${ACCESS_SCHEMA_VERSION}); upgrade whatsapp-mcp-api`);
  }
  if (current === 0) {
    // Version 0 with tables in it is some other SQLite file (the message store, say), not a fresh access file.
    const n = (db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number }).n;
    if (n > 0) throw new Error(`${file} is an SQLite file of something else, not the keys and audit file`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
