// What deciding who sends a request costs (RequestGuard.authenticate over KeyService on a real access.db in WAL mode),
// per kind of server: the per-request price of noticing keys the CLI adds or revokes from another process. "before"
// is the same guard over the lookups as they were (lookupsBefore), in the same run on the same kind of file; the
// change of hash (createHash → crypto.hash) is timed on its own below, with the signals that could tell us about a
// change from another process.
// The signals that could tell us about such a change, and the two ways to hash a key, are timed below it.
// Run: npx tsx bench/auth.ts [calls = 200000]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { RequestGuard, type SecurityConfig } from '../src/http/security.js';
import { KEYLESS_RECHECK_MS, KeyService, digest } from '../src/service/keys.js';
import { ACCESS_DB_FILE, openAccessDb } from '../src/store/access-db.js';

const CALLS = Number(process.argv[2] ?? 200_000);
const ENV_KEY = 'bench-env-key-0123456789abcdef';

/** A server's access.db with its KeyService. `everyLook`: the clock passes KEYLESS_RECHECK_MS at every read, so each
 * lookup reads data_version, as every lookup did before the window. */
function server(name: string, everyLook: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wa-auth-${name}-`));
  const file = path.join(dir, ACCESS_DB_FILE);
  const db = openAccessDb(file);
  let t = 0;
  const keys = new KeyService(db, everyLook ? () => (t += KEYLESS_RECHECK_MS) : Date.now);
  return { file, db, keys };
}

const request = (headers: Record<string, string>) => ({ headers: { host: '127.0.0.1:8790', ...headers } }) as unknown as IncomingMessage;

/**
 * ns per call of each function, best of 6 rounds taken in turn (the machine is shared: the best round is the least
 * disturbed), the order reversed every other round: whichever runs second pays for the garbage of the first (~1.3x
 * on the control row when the order was fixed).
 */
function time(...fns: (() => unknown)[]): number[] {
  const best = fns.map(() => Infinity);
  for (let round = 0; round < 6; round++) {
    const order = round % 2 === 0 ? [...fns.keys()] : [...fns.keys()].reverse();
    order.forEach((k) => {
      const fn = fns[k]!;
      for (let i = 0; i < CALLS / 10; i++) fn();
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) fn();
      best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t) / CALLS);
    });
  }
  return best;
}

const cfg = (apiKey?: string): SecurityConfig => ({ host: '127.0.0.1', apiKey, allowedHosts: [], corsOrigins: [] });

interface Case {
  name: string;
  note: string;
  apiKey?: string;
  withKey: boolean;
  headers: (storedKey: string) => Record<string, string>;
  fails?: boolean;
}
const CASES: Case[] = [
  { name: 'WHATSAPP_API_KEY presented', note: 'control: the same code in both columns', apiKey: ENV_KEY, withKey: false, headers: () => ({ authorization: `Bearer ${ENV_KEY}` }) },
  { name: 'no key anywhere, keyless request', note: 'loopback dev server, bench:mcp', withKey: false, headers: () => ({}) },
  { name: 'stored key presented', note: 'an agent with its own key', withKey: true, headers: (k) => ({ authorization: `Bearer ${k}` }) },
  { name: 'stored keys, keyless request (401)', note: 'includes building the AppError', withKey: true, headers: () => ({}), fails: true },
];

/**
 * The lookups as they were before KEYLESS_RECHECK_MS: every one reads data_version (the clock jumps past the window at
 * each read), and a presented key costs two (the guard asked "any key stored?" before verifying it).
 */
function lookupsBefore(keys: KeyService): Pick<KeyService, 'verify' | 'hasKeys'> {
  return {
    verify: (presented, door) => (keys.hasKeys, keys.verify(presented, door)),
    get hasKeys() {
      return keys.hasKeys;
    },
  };
}

const opened: { db: { close(): void } }[] = [];
function caller(c: Case, before: boolean): () => void {
  const s = server(c.name.replace(/\W+/g, '-'), before);
  opened.push(s);
  const key = c.withKey ? s.keys.create({ name: 'agent', scopes: ['read', 'send'] }).key : '';
  // Built once, as the server does.
  const guard = new RequestGuard(cfg(c.apiKey), before ? lookupsBefore(s.keys) : s.keys);
  return () => {
    try {
      guard.authenticate(request(c.headers(key)));
    } catch (err) {
      if (!c.fails) throw err;
    }
  };
}

console.log(`${'case'.padEnd(38)} ${'before'.padStart(9)} ${'now'.padStart(9)}  now/before  note`);
for (const c of CASES) {
  const [before, now] = time(caller(c, true), caller(c, false)) as [number, number];
  console.log(`${c.name.padEnd(38)} ${`${before.toFixed(0)} ns`.padStart(9)} ${`${now.toFixed(0)} ns`.padStart(9)}  ${(now / before).toFixed(2).padStart(9)}x  ${c.note}`);
}

// Signals that could say "another process changed the keys", and the two ways to hash a presented key.
const probe = server('signals', false);
opened.push(probe);
probe.keys.create({ name: 'agent', scopes: ['read'] });
const dataVersion = probe.db.prepare('PRAGMA data_version').pluck();
const wal = `${probe.file}-wal`;
const sample = `wak_abcdefgh_${'x'.repeat(32)}`;
const signals: [string, () => unknown, string][] = [
  ['PRAGMA data_version', () => dataVersion.get(), 'exact: counts other connections\' commits'],
  ['fs.statSync(access.db-wal)', () => fs.statSync(wal), 'not exact: mtime ticks are coarser than commits'],
  ['Date.now()', () => Date.now(), 'the window check'],
  ['createHash(sha256)', () => createHash('sha256').update(sample).digest(), 'digest() before'],
  ['digest() now', () => digest(sample), 'crypto.hash where Node has it'],
];
const times = time(...signals.map(([, fn]) => fn));
console.log(`\n${'signal'.padEnd(38)} ${'ns'.padStart(9)}  vs data_version`);
for (const [k, [name, , note]] of signals.entries()) {
  const ns = times[k]!;
  const unit = times[0]!;
  console.log(`${name.padEnd(38)} ${`${ns.toFixed(0)} ns`.padStart(9)}  ${(ns / unit).toFixed(2).padStart(9)}x  ${note}`);
}
for (const s of opened) s.db.close();
