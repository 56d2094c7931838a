// Opening an SQLite file of ours, one way for the message store and access.db: private on disk, WAL, a lock wait.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateDir } from '../fs-private.js';

/**
 * Open (creating it 0600 in a 0700 directory) the SQLite file, or ':memory:' for tests, then `setup` it (its own
 * pragmas, migrations); the handle is closed when setup throws.
 */
export function openSqliteFile(file: string, setup: (db: Database.Database) => void): Database.Database {
  if (file !== ':memory:') {
    ensurePrivateDir(path.dirname(file));
    // Message history, key hashes: create the file 0600 before SQLite does (SQLite would honour the umask, typically
    // 0644). The -wal and -shm files SQLite creates later copy the main file's mode.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
  }
  const db = new Database(file);
  try {
    // WAL: readers never block the single writer; NORMAL sync is durable across process crashes (not power loss)
    // and ~4x faster per commit than FULL (TOOLCHAIN.md). busy_timeout: another connection's write (the server's
    // writer threads, the `keys` CLI on access.db) is waited for, not an error.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    setup(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
