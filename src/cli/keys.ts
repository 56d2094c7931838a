// `whatsapp-mcp-api keys add | list | revoke`: API keys, straight on the local data directory's access.db (WAL, so
// it works while the server runs, and the server sees the change on its next request). No server is needed, so the
// owner of the machine can always make the first admin key.
import path from 'node:path';
import { OPTIONS } from '../config.js';
import { AppError } from '../errors.js';
import { type FlagSpec, type ParsedArgs, UsageError, stringFlag } from './args.js';
import { CliError } from './client.js';
import type { Terminal } from './terminal.js';

export const KEYS_FLAGS: FlagSpec[] = [
  { name: 'name', value: 'name', help: 'add: the key\'s name (a-z 0-9 _ -, up to 64), shown in the audit trail.' },
  { name: 'scopes', value: 'list', help: 'add: comma list of read, send, manage, admin.' },
  { name: 'chats', value: 'list', help: 'add: limit the key to these chats (comma list of phone numbers or chat ids).' },
  { name: 'accounts', value: 'list', help: 'add: limit the key to these accounts (comma list of account ids). Not with admin.' },
  { name: 'rate', value: 'per-minute', help: 'add: calls a minute the key may make (bursts of a third).' },
  { name: 'data-dir', value: 'dir', help: 'The server\'s data directory (env WHATSAPP_DATA_DIR; default ./data).' },
];

/** What each scope opens, as README's "Keys with scopes" lists it (a test holds the two together). */
export const SCOPE_DESCRIPTIONS = {
  read: 'chats, messages, search, media download, contacts, groups, events and their stream, /metrics',
  send: 'send, react, edit, delete, read receipts, presence, send status, outbox',
  manage: 'group and contact changes',
  admin: 'linking, logout, webhook dead letters, keys, audit, sandbox controls, /qr',
} as const;

export const KEYS_DETAILS = [
  'add prints the new key on stdout, once: it is stored only as a hash and cannot be shown again.',
  '  whatsapp-mcp-api keys add --name assistant --scopes read,send --chats "+44 7700 900123,120363000000000001@g.us" --rate 30',
  '  whatsapp-mcp-api keys add --name work-bot --scopes read,send --accounts work',
  '--accounts: the key may use only those accounts (/api/accounts/<id>/..., /accounts/<id>/mcp; "default" is /api/...',
  'and /mcp); an id not added yet is accepted. Elsewhere it is refused (403), also on the server\'s keys, audit, /metrics.',
  'list shows names, scopes, chats, rate, accounts, created and last used (never the key). revoke deletes a key; a',
  'running server refuses it from its next request on. Once any key exists, a request without a key is refused (401).',
  'Scopes (they do not include each other: an owner key lists all four, --scopes read,send,manage,admin):',
  ...Object.entries(SCOPE_DESCRIPTIONS).map(([scope, what]) => `  ${scope.padEnd(7)}${what}`),
  'Works on the data directory itself (no server needed, and fine while it runs).',
];

export interface KeysContext {
  args: ParsedArgs;
  term: Terminal;
  json: boolean;
  env: Record<string, string | undefined>;
}

export async function runKeys({ args, term, json, env }: KeysContext): Promise<number> {
  const [sub, ...rest] = args.positionals;
  if (sub !== 'add' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`keys needs add, list or revoke${sub ? `, not ${JSON.stringify(sub)}` : ''} (see whatsapp-mcp-api keys --help)`);
  const addFlags = ['name', 'scopes', 'chats', 'accounts', 'rate'].filter((f) => args.flags[f] !== undefined);
  if (sub !== 'add' && addFlags.length > 0) throw new UsageError(`--${addFlags[0]} is for keys add`);
  if (sub === 'add' && rest.length > 0) throw new UsageError(`keys add takes flags only, got ${JSON.stringify(rest[0])}`);
  if (sub === 'list' && rest.length > 0) throw new UsageError(`keys list takes no arguments, got ${JSON.stringify(rest[0])}`);
  if (sub === 'revoke' && rest.length !== 1) throw new UsageError('keys revoke needs one key name: whatsapp-mcp-api keys revoke <name>');

  // Loaded here: the other client commands must not pay for SQLite.
  const [{ ACCESS_DB_FILE, openAccessDb }, { KeyService }, { AuditService }, { silentLogger }] = await Promise.all([
    import('../store/access-db.js'),
    import('../service/keys.js'),
    import('../service/audit.js'),
    import('../logger.js'),
  ]);
  const dataDir = path.resolve(stringFlag(args, 'data-dir') ?? env.WHATSAPP_DATA_DIR ?? OPTIONS.find((o) => o.key === 'dataDir')!.default!);
  const db = openAccessDb(path.join(dataDir, ACCESS_DB_FILE));
  try {
    const keys = new KeyService(db);
    // Retention is the server's to apply; this only appends.
    const audit = new AuditService(db, { bodies: false, retentionDays: 3650, logger: silentLogger() });
    const record = (operation: string, outcome: string, target: string) => {
      audit.record({ key: 'cli', door: 'cli', operation, chat_id: null, outcome, target });
      audit.flush();
    };
    if (sub === 'list') {
      const list = keys.list();
      if (json) term.json({ ok: true, count: list.length, keys: list });
      else if (list.length === 0) term.line(`No keys in ${dataDir}. Add one: whatsapp-mcp-api keys add --name <name> --scopes read,send`);
      else for (const k of list) term.line(describe(k));
      return 0;
    }
    if (sub === 'revoke') {
      const name = rest[0]!;
      if (!keys.revoke(name)) throw new CliError(`no key named ${JSON.stringify(name)} in ${dataDir} (whatsapp-mcp-api keys list shows them)`);
      record('keys_revoke', 'ok', name);
      if (json) term.json({ ok: true, name, revoked: true });
      else term.line(`Revoked ${name}: a running server refuses it from its next request on.`);
      return 0;
    }
    const name = stringFlag(args, 'name');
    const scopes = stringFlag(args, 'scopes');
    if (!name) throw new UsageError('keys add needs --name <name>');
    if (!scopes) throw new UsageError('keys add needs --scopes <list> (read, send, manage, admin)');
    const chats = stringFlag(args, 'chats');
    const accounts = stringFlag(args, 'accounts');
    const rate = stringFlag(args, 'rate');
    if (rate !== undefined && !/^\d{1,6}$/.test(rate)) throw new UsageError(`--rate must be a whole number of calls a minute, not ${JSON.stringify(rate)}`);
    const { key, info } = keys.create({
      name,
      scopes: scopes.split(','),
      chats: chats === undefined ? null : chats.split(','),
      accounts: accounts === undefined ? null : accounts.split(','),
      ratePerMinute: rate === undefined ? null : Number(rate),
    });
    record('keys_create', 'ok', name);
    if (json) term.json({ ok: true, key, ...info });
    else {
      term.line(key);
      term.error(`Key ${describe(info)}\nThis is the only time the key is shown: store it now. Send it as "Authorization: Bearer <key>".`);
    }
    return 0;
  } catch (err) {
    // The rules' own errors (bad name, unknown scope, taken name) as the CLI's: usage errors exit 2, the rest 1.
    if (err instanceof AppError) throw err.code === 'invalid_input' ? new UsageError(err.message) : new CliError(err.message);
    throw err;
  } finally {
    db.close();
  }
}

function describe(k: { name: string; scopes: string[]; chats: string[] | null; accounts: string[] | null; rate_per_minute: number | null; created_at: number; last_used_at: number | null }): string {
  const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  return [
    k.name,
    `scopes ${k.scopes.join(',')}`,
    `chats ${k.chats ? k.chats.join(',') : 'all'}`,
    `rate ${k.rate_per_minute === null ? 'none' : `${k.rate_per_minute}/min`}`,
    `accounts ${k.accounts ? k.accounts.join(',') : 'all'}`,
    `created ${when(k.created_at)}`,
    `last used ${when(k.last_used_at)}`,
  ].join('  ');
}
