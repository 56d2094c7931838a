// API keys with scopes: who a presented key is (a Principal), kept hashed in access.db, managed by `keys add/list/
// revoke` (CLI, straight on the file) and /api/keys. The server sees the CLI's changes without a restart: a lookup
// first asks SQLite whether another connection committed since (PRAGMA data_version, ~2 µs). A presented key is
// always checked that way, so a key the CLI revoked is refused on the very next request; only the question a keyless
// request asks ("is any key stored?") may be answered from a look up to KEYLESS_RECHECK_MS old (bench/auth.ts).
import crypto, { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { accountIdSchema } from '../accounts/layout.js';
import { parseId } from '../domain.js';
import { AppError } from '../errors.js';
import type { AccessDb } from '../store/access-db.js';
import { RateLimiter } from './rate-limiter.js';

export const SCOPES = ['read', 'send', 'manage', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
export type Door = 'rest' | 'mcp' | 'stdio';

/** Who is calling: a stored key, WHATSAPP_API_KEY (`env`), stdio, or nobody on a server without keys (`anonymous`). */
export interface Principal {
  name: string;
  scopes: ReadonlySet<Scope>;
  /** Normalised chat ids (domain.parseId) the key is limited to; null = every chat. */
  chats: readonly string[] | null;
  /** Account ids the key is limited to; null = every account (env, stdio, anonymous and keys without a list). */
  accounts: readonly string[] | null;
  ratePerMinute: number | null;
  door: Door;
  /** The stored key's id (KeyService.stillValid re-checks it); absent for env, stdio and anonymous, which never lapse. */
  keyId?: string;
}

export interface KeyInfo {
  name: string;
  scopes: Scope[];
  chats: string[] | null;
  accounts: string[] | null;
  rate_per_minute: number | null;
  /** Unix ms. */
  created_at: number;
  last_used_at: number | null;
}

export interface KeySpec {
  name: string;
  /** Checked here (parseScopes): an unknown one is an error naming it. */
  scopes: readonly string[];
  chats?: string[] | null;
  /** Account ids (accountIdSchema); one not created yet is allowed: the key then works once it exists. */
  accounts?: string[] | null;
  ratePerMinute?: number | null;
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

export function adminPrincipal(name: string, door: Door): Principal {
  return { name, scopes: ALL_SCOPES, chats: null, accounts: null, ratePerMinute: null, door };
}

export const KEY_NAME_RULE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// Names the server gives principals that are not stored keys: a stored key by one of these would blur the audit.
const RESERVED_NAMES = new Set(['env', 'stdio', 'anonymous', 'internal']);
// wak_<id: 8 of [a-z0-9]>_<secret: 32 base64url characters = 192 random bits>
const KEY_FORMAT = /^wak_([a-z0-9]{8})_([A-Za-z0-9_-]{32})$/;
const LAST_USED_EVERY_MS = 60_000;
/**
 * How old the answer to "is any key stored?" may be for a request that presents none. So a loopback server without
 * keys pays nothing per request, and a first key added by the CLI closes it within this time (it was open a moment
 * before), as the last revoked one reopens it. Never applied to a presented key, nor to changes made through this
 * KeyService (REST /api/keys): those take effect on the next request.
 */
export const KEYLESS_RECHECK_MS = 250;

export function checkKeyName(name: string): string {
  if (!KEY_NAME_RULE.test(name)) {
    throw new AppError('invalid_input', `name: ${JSON.stringify(name)} must be 1 to 64 of a-z 0-9 _ - (starting with a letter or digit)`, { details: { field: 'name' } });
  }
  if (RESERVED_NAMES.has(name)) throw new AppError('invalid_input', `name: "${name}" is reserved (the server uses it for keys that are not stored)`, { details: { field: 'name' } });
  return name;
}

/** "read,send" → scopes; an unknown one is an error naming it. */
export function parseScopes(items: readonly string[]): Scope[] {
  const out = new Set<Scope>();
  for (const raw of items.map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (!(SCOPES as readonly string[]).includes(raw)) {
      throw new AppError('invalid_input', `scopes: unknown scope ${JSON.stringify(raw)} (scopes: ${SCOPES.join(', ')})`, { details: { field: 'scopes', scope: raw } });
    }
    out.add(raw as Scope);
  }
  if (out.size === 0) throw new AppError('invalid_input', `scopes: give at least one of ${SCOPES.join(', ')}`, { details: { field: 'scopes' } });
  return SCOPES.filter((s) => out.has(s));
}

/** Phone numbers and chat ids → normalised chat ids (the one id rule, domain.parseId). */
export function parseChats(items: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of items.map((s) => s.trim()).filter(Boolean)) {
    const id = parseId(raw);
    if (!id || id.kind === 'other') throw new AppError('invalid_input', `chats: ${JSON.stringify(raw)} is not a phone number with country code nor a chat id (…@c.us, …@g.us, …@lid)`, { details: { field: 'chats', chat: raw } });
    out.add(id.id);
  }
  if (out.size === 0) throw new AppError('invalid_input', 'chats: give at least one phone number or chat id, or leave chats out for every chat', { details: { field: 'chats' } });
  return [...out];
}

/**
 * Account ids as accountIdSchema spells them; an invalid one is an error naming it. Ids of accounts that do not exist
 * (yet) are kept: keys live beside the accounts, not inside them (the CLI writes keys with no server to ask), and a
 * key made before its account is added is as limited as one made after.
 */
export function parseAccounts(items: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of items.map((s) => s.trim()).filter(Boolean)) {
    const checked = accountIdSchema.safeParse(raw);
    if (!checked.success) throw new AppError('invalid_input', `accounts: ${JSON.stringify(raw)} ${checked.error.issues[0]!.message}`, { details: { field: 'accounts', account: raw } });
    out.add(checked.data);
  }
  if (out.size === 0) throw new AppError('invalid_input', 'accounts: give at least one account id, or leave accounts out for every account', { details: { field: 'accounts' } });
  return [...out];
}

interface KeyRow {
  id: string;
  name: string;
  hash: Buffer;
  scopes: string;
  chats: string | null;
  accounts: string | null;
  rate_per_minute: number | null;
  created_at: number;
  last_used_at: number | null;
}

interface CachedKey {
  row: KeyRow;
  principal: Omit<Principal, 'door'>;
}

export class KeyService {
  private readonly dataVersion: Statement;
  private readonly selectAll: Statement;
  private readonly insert: Statement;
  private readonly remove: Statement;
  private readonly touch: Statement;
  private version = -1;
  /** When data_version was last read (this.now()); -Infinity forces the next lookup to read it. */
  private checkedAt = Number.NEGATIVE_INFINITY;
  private byId = new Map<string, CachedKey>();
  private readonly lastTouched = new Map<string, number>();
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    private readonly db: AccessDb,
    private readonly now: () => number = Date.now,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.selectAll = db.prepare('SELECT * FROM api_keys');
    this.insert = db.prepare('INSERT INTO api_keys (id, name, hash, scopes, chats, accounts, rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM api_keys WHERE name = ?');
    this.touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?');
  }

  /**
   * True once any key is stored: then a request without a key is refused (unless WHATSAPP_API_KEY says otherwise).
   * Possibly KEYLESS_RECHECK_MS old when another process changed the keys; exact right after verify().
   */
  get hasKeys(): boolean {
    return this.fresh(KEYLESS_RECHECK_MS).size > 0;
  }

  /** Make a key; the key itself is in the answer only, never stored. A taken name is a 409. */
  create(spec: KeySpec): { key: string; info: KeyInfo } {
    const name = checkKeyName(spec.name);
    const scopes = parseScopes(spec.scopes);
    const chats = spec.chats == null ? null : parseChats(spec.chats);
    // admin manages keys, accounts and linking: with it, a chat limit would be one POST /api/keys away from none.
    if (chats !== null && scopes.includes('admin')) {
      throw new AppError('invalid_input', 'chats: a key limited to some chats cannot have the admin scope', { hint: 'Give admin to a separate key without --chats.', details: { field: 'chats' } });
    }
    const accounts = spec.accounts == null ? null : parseAccounts(spec.accounts);
    // The same for accounts: admin adds accounts and keys, so it is the server's, never one account's.
    if (accounts !== null && scopes.includes('admin')) {
      throw new AppError('invalid_input', 'accounts: a key limited to some accounts cannot have the admin scope', { hint: 'Give admin to a separate key without --accounts.', details: { field: 'accounts' } });
    }
    const rate = spec.ratePerMinute ?? null;
    if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > 100_000)) {
      throw new AppError('invalid_input', 'rate: must be a whole number of calls per minute from 1 to 100000', { details: { field: 'rate' } });
    }
    if ([...this.fresh().values()].some((k) => k.row.name === name)) throw taken(name);
    const secret = randomBytes(24).toString('base64url');
    let id = newId();
    while (this.byId.has(id)) id = newId();
    const key = `wak_${id}_${secret}`;
    const createdAt = this.now();
    try {
      this.insert.run(id, name, digest(key), scopes.join(','), chats ? JSON.stringify(chats) : null, accounts ? JSON.stringify(accounts) : null, rate, createdAt);
    } catch (err) {
      // Another process (the CLI) took the name between our check and the insert.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw taken(name);
      throw err;
    }
    this.invalidate();
    return { key, info: { name, scopes, chats, accounts, rate_per_minute: rate, created_at: createdAt, last_used_at: null } };
  }

  list(): KeyInfo[] {
    return (this.selectAll.all() as KeyRow[]).sort((a, b) => a.created_at - b.created_at).map(info);
  }

  /** Revoke by name; false when there is no such key. Takes effect on the next request, here or in the server. */
  revoke(name: string): boolean {
    const gone = this.remove.run(name).changes > 0;
    this.invalidate();
    return gone;
  }

  /** The principal of a presented stored key, or null when it is none of ours. Reads the keys as they are now. */
  verify(presented: string, door: Door): Principal | null {
    const m = KEY_FORMAT.exec(presented);
    if (!m) return null;
    const k = this.fresh().get(m[1]!);
    // The id is public (it is how a key is found); the secret is checked in constant time through its hash.
    if (!k || !timingSafeEqual(digest(presented), k.row.hash)) return null;
    this.noteUse(k.row.id);
    return { ...k.principal, door, keyId: k.row.id };
  }

  /**
   * Would the key behind `p` still be let in with these same limits? For streams opened with a key (SSE events, MCP
   * notifications), asked before each event: a revoked key (here or by the CLI in another process, seen through
   * data_version, ~2 µs) ends them, as does one revoked and re-added under its name (a new id). Principals that are
   * not stored keys (WHATSAPP_API_KEY, stdio, anonymous) never lapse.
   */
  stillValid(p: Principal): boolean {
    if (p.keyId === undefined) return true;
    const k = this.fresh().get(p.keyId)?.principal;
    return (
      k !== undefined &&
      k.name === p.name &&
      k.ratePerMinute === p.ratePerMinute &&
      sameScopes(k.scopes, p.scopes) &&
      JSON.stringify(k.chats) === JSON.stringify(p.chats) &&
      JSON.stringify(k.accounts) === JSON.stringify(p.accounts)
    );
  }

  /** 0 when the key may make a call now (and counts it), else the ms until it may. */
  takeRate(p: Principal): number {
    if (p.ratePerMinute === null) return 0;
    // One limiter per key name and rate: a key re-added with another rate gets a bucket of that size.
    const id = `${p.name}/${p.ratePerMinute}`;
    let limiter = this.limiters.get(id);
    if (!limiter) this.limiters.set(id, (limiter = new RateLimiter({ globalPerMinute: p.ratePerMinute, recipientPerMinute: 0 }, this.now)));
    const r = limiter.tryTake('');
    return r.ok ? 0 : r.retryAfterMs;
  }

  private noteUse(id: string): void {
    const now = this.now();
    // One write a minute per key, not one per request: last_used_at says "in use lately", not an access log.
    if (now - (this.lastTouched.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastTouched.set(id, now);
    this.touch.run(now, id);
  }

  /** Our own writes do not move data_version (it counts other connections' commits): forget what we read. */
  private invalidate(): void {
    this.version = -1;
    this.checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** The keys, re-read if another connection committed since; `maxAgeMs`: trust a look that recent (0: look now). */
  private fresh(maxAgeMs = 0): Map<string, CachedKey> {
    const now = this.now();
    // `now >= checkedAt`: a clock stepped back must not stretch the window.
    if (now - this.checkedAt < maxAgeMs && now >= this.checkedAt) return this.byId;
    this.checkedAt = now;
    const v = this.dataVersion.get() as number;
    if (v === this.version) return this.byId;
    this.version = v;
    const next = new Map<string, CachedKey>();
    for (const row of this.selectAll.all() as KeyRow[]) {
      const i = info(row);
      next.set(row.id, { row, principal: { name: row.name, scopes: new Set(i.scopes), chats: i.chats, accounts: i.accounts, ratePerMinute: i.rate_per_minute } });
    }
    this.byId = next;
    return next;
  }
}

function info(row: KeyRow): KeyInfo {
  return {
    name: row.name,
    scopes: row.scopes.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    chats: row.chats === null ? null : (JSON.parse(row.chats) as string[]),
    accounts: row.accounts === null ? null : (JSON.parse(row.accounts) as string[]),
    rate_per_minute: row.rate_per_minute,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
  };
}

function sameScopes(a: ReadonlySet<Scope>, b: ReadonlySet<Scope>): boolean {
  return a.size === b.size && [...a].every((s) => b.has(s));
}

function taken(name: string): AppError {
  return new AppError('conflict', `A key named "${name}" exists already`, { hint: 'Pick another name, or revoke that key first.', details: { name } });
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function newId(): string {
  // The id is not secret: the slight bias of a byte modulo 36 costs nothing.
  return [...randomBytes(8)].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

/**
 * sha256, not a slow password hash: the secret is 192 random bits from the CSPRNG, so no dictionary or brute force
 * can invert its digest, and a fast hash keeps every request's check in microseconds. crypto.hash (Node >= 20.12)
 * skips the Hash object: ~1 µs instead of ~3 per request here (bench/auth.ts).
 */
export const digest: (s: string) => Buffer =
  typeof crypto.hash === 'function' ? (s) => crypto.hash('sha256', s, 'buffer') : (s) => createHash('sha256').update(s).digest();
