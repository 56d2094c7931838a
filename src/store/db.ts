// Opening the store: file permissions, pragmas, migrations. Everything else talks to the Database this returns.
import type Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';
import { openSqliteFile } from './sqlite-file.js';

export type Db = Database.Database;

export const DB_FILE_NAME = 'whatsapp.db';
/**
 * SQLite's own checkpoint, in the committing writer, once the WAL holds this many pages (~80 MB): the bound on the
 * WAL if the checkpoint worker falls behind or is not running. With the worker it rarely fires, and then finds only
 * the last few ms of WAL left to copy.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 20_000;

export interface OpenOptions {
  /** Stop at this schema version (tests of upgrades); default: the latest. */
  targetVersion?: number;
  migrations?: readonly Migration[];
}

/** Open (or create) the store at `file`, or an in-memory store for ':memory:' (the fake used in tests). */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  return openSqliteFile(file, (db) => {
    // History bursts insert into two random-order indexes (by id, by chat): keep their pages in memory.
    db.pragma('cache_size = -65536');
    db.pragma('mmap_size = 268435456');
    // Checkpoints are copied by a worker thread (wal-checkpointer.ts, started by MessageStore), because SQLite's own
    // runs inside the commit that crosses the threshold: 350–900 ms of event loop at 10,000 pages in bench:history.
    // The auto-checkpoint stays as the bound; the WAL file is cut back to 64 MB whenever it starts over.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma('journal_size_limit = 67108864');
    db.pragma('temp_store = MEMORY');
    migrate(db, opts.migrations ?? MIGRATIONS, opts.targetVersion);
  });
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
