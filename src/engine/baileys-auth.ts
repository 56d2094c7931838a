// Baileys' auth state (creds and signal keys) in its own SQLite file. Baileys' README calls useMultiFileAuthState
// unfit for production: one file per key, written without atomicity, so a crash mid-batch can leave a session
// that no longer matches its pre-keys. Here every batch is one transaction and every commit is fsynced.
import fs from 'node:fs';
import path from 'node:path';
import { type AuthenticationCreds, type AuthenticationState, type SignalKeyStore, initAuthCreds, makeCacheableSignalKeyStore } from 'baileys';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { ensurePrivateDir } from '../fs-private.js';
import { type AuthDb, AUTH_SCHEMA_VERSION, decodeValue, encodeValue, migrateAuthDb, sqlKeyStore } from './baileys-auth-keys.js';

export const BAILEYS_AUTH_FILE = 'baileys-auth.db';

export interface BaileysAuthStore {
  /** For makeWASocket({ auth: store.state }): creds, and the signal keys in SQLite behind makeCacheableSignalKeyStore. */
  readonly state: AuthenticationState;
  /** Write state.creds now; call on every 'creds.update' (Baileys mutates state.creds in place, then emits). */
  saveCreds(): void;
  /** True once this device was linked (creds.registered, or creds.me set after pairing). */
  linked(): boolean;
  /** Delete every row and the file (logout). The store is unusable after. */
  clear(): void;
  close(): void;
}

const RELINK_FIX = 'log out, or delete the file to link WhatsApp again';

function unreadable(file: string, why: string, opts: { fix?: string; cause?: unknown } = {}): AppError {
  return new AppError('engine_error', `The Baileys auth store ${file} ${why}; ${opts.fix ?? RELINK_FIX}`, { cause: opts.cause });
}

/** Opens (creating 0600, dir 0700) <file>; a file that is not a valid store throws AppError('engine_error', ...). */
export function openBaileysAuthStore(file: string, opts: { logger?: Logger } = {}): BaileysAuthStore {
  let db: AuthDb | undefined;
  try {
    ensurePrivateDir(path.dirname(file));
    // Signal keys are the account: create the file 0600 before SQLite does (it would honour the umask).
    // SQLite gives the -wal and -shm files the main file's mode.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    db = new Database(file);
    // FULL, not the message store's NORMAL: auth writes are small and rare, and a key lost to a power cut
    // breaks the session (Bad MAC until relinked), where a lost message is only a gap.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const migrated = migrateAuthDb(db);
    if (!migrated.ok) {
      throw migrated.reason === 'newer'
        ? unreadable(file, `has schema version ${migrated.version}, newer than this build supports (${AUTH_SCHEMA_VERSION})`, {
            fix: `upgrade whatsapp-mcp-api, or ${RELINK_FIX}`,
          })
        : unreadable(file, 'is an SQLite file of something else, not an auth store');
    }
    return new SqlAuthStore(file, db, opts.logger);
  } catch (err) {
    db?.close();
    if (err instanceof AppError) throw err;
    throw unreadable(file, `cannot be read (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

class SqlAuthStore implements BaileysAuthStore {
  readonly state: AuthenticationState;
  private readonly writeCreds: (text: string) => void;
  private open = true;

  constructor(
    private readonly file: string,
    private readonly db: AuthDb,
    logger: Logger | undefined,
  ) {
    const upsert = db.prepare<[string]>(`INSERT INTO creds (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value`);
    this.writeCreds = (text) => void upsert.run(text);
    const row = db.prepare<[], { value: string }>(`SELECT value FROM creds WHERE id = 1`).get();
    let creds: AuthenticationCreds;
    if (row) {
      creds = decodeValue(row.value) as AuthenticationCreds;
      if (!looksLikeCreds(creds)) throw unreadable(file, 'holds credentials in a shape this build does not know');
    } else {
      // Written at once so the noise and identity keys a QR code is built from survive a restart before linking.
      creds = initAuthCreds();
      this.writeCreds(encodeValue(creds));
    }
    const cached = makeCacheableSignalKeyStore(sqlKeyStore(db), logger);
    // The cache would still answer after clear()/close(); check first so a socket left running cannot use stale keys.
    const keys: SignalKeyStore = {
      get: async (type, ids) => {
        this.live();
        return cached.get(type, ids);
      },
      set: async (data) => {
        this.live();
        return cached.set(data);
      },
    };
    this.state = { creds, keys };
    logger?.debug({ file, registered: creds.registered, linked: this.linked() }, 'baileys auth store opened');
  }

  saveCreds(): void {
    this.live();
    this.writeCreds(encodeValue(this.state.creds));
  }

  linked(): boolean {
    const creds = this.state.creds;
    // `me` alone is not proof: requestPairingCode sets it (with name '~') before the phone confirms anything.
    // `account` (the signed device identity) is set only by a successful pairing, QR or code; `registered`
    // is set when a pairing code was accepted.
    return creds.registered === true || creds.account != null;
  }

  clear(): void {
    this.live();
    this.db.transaction(() => {
      this.db.exec('DELETE FROM keys; DELETE FROM creds;');
    })();
    this.close();
    for (const f of [this.file, `${this.file}-wal`, `${this.file}-shm`]) fs.rmSync(f, { force: true });
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }

  private live(): void {
    if (!this.open) throw new AppError('engine_error', `The Baileys auth store ${this.file} is closed`);
  }
}

function looksLikeCreds(value: unknown): value is AuthenticationCreds {
  const c = value as Partial<AuthenticationCreds> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    Buffer.isBuffer(c.noiseKey?.private) &&
    Buffer.isBuffer(c.signedIdentityKey?.private) &&
    typeof c.registrationId === 'number'
  );
}
