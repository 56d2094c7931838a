// Opening the store: file permissions, pragmas, migrations. Everything else talks to the Database this returns.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export const DB_FILE_NAME = 'whatsapp.db';

export interface OpenOptions {
  /** Stop at this schema version (tests of upgrades); default: the latest. */
  targetVersion?: number;
  migrations?: readonly Migration[];
}

/** Open (or create) the store at `file`, or an in-memory store for ':memory:' (the fake used in tests). */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // The file holds message history: create it 0600 before SQLite does (SQLite would honour the umask,
    // typically 0644). The -wal and -shm files SQLite creates later copy the main file's mode.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
  }
  const db = new Database(file);
  try {
    // WAL: readers never block the single writer; NORMAL sync is durable across process crashes (not power loss)
    // and ~4x faster per commit than FULL (TOOLCHAIN.md).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // History bursts insert into two random-order indexes (by id, by chat). Keeping their pages in memory and
    // checkpointing the WAL every ~40 MB instead of every 4 MB took bulk writes from ~71k to ~97k msg/s (bench/).
    db.pragma('cache_size = -65536');
    db.pragma('mmap_size = 268435456');
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('temp_store = MEMORY');
    migrate(db, opts.migrations ?? MIGRATIONS, opts.targetVersion);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Apply every migration above the current `PRAGMA user_version`, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[], target?: number): void {
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  const to = target ?? latest;
  const current = schemaVersion(db);
  if (current > latest) {
    // A newer build wrote this file; an older one must not guess at a schema it does not know.
    throw new Error(`The store at this path has schema version ${current}, newer than this build supports (${latest}); upgrade whatsapp-mcp-api`);
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > to) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
