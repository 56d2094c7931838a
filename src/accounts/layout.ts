// Where an account's files live, and which ids may name one. `default` keeps the single-account layout of earlier
// versions in place (<data>/whatsapp.db, <data>/media, <auth>/session-default): nothing moves, so an upgrade needs no
// step, a downgrade still finds its store, and a crash can never leave a half-moved account. Every other account gets
// its own directories, <data>/<id>/ and <auth>/<id>/, with the same layout inside.
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';
import { ACCOUNT_ID_RULE, ACCOUNT_ID_TEXT } from '../domain.js';
import { AppError } from '../errors.js';

export const DEFAULT_ACCOUNT = 'default';

// The id rule lives in domain.ts: config.ts checks --account with it and must not import this file.
export { ACCOUNT_ID_RULE, ACCOUNT_ID_TEXT } from '../domain.js';

/**
 * Names the default account's own entries in <data> and <auth> already use: an account called `media` would share
 * the default's media directory, one called `session-default` its session. `accounts` is the route segment.
 */
const RESERVED = new Set(['media', 'accounts']);
function reserved(id: string): boolean {
  return RESERVED.has(id) || id.startsWith('session-');
}

export const accountIdSchema = z
  .string()
  .regex(ACCOUNT_ID_RULE, ACCOUNT_ID_TEXT)
  .refine((id) => !reserved(id), { message: 'is reserved (media, accounts and session-* name directories of the default account)' })
  .describe('Account id: 1 to 32 of a-z 0-9 -, starting with a letter or digit');

/** The config an account's parts are built from: the server's, with its own engine and directories. */
export function accountConfig(server: Readonly<Config>, id: string, engine: Config['engine']): Readonly<Config> {
  if (id === DEFAULT_ACCOUNT) return server;
  return Object.freeze({ ...server, engine, dataDir: path.join(server.dataDir, id), authDir: path.join(server.authDir, id) });
}

export function unknownAccount(id: string): AppError {
  return new AppError('not_found', `No account ${JSON.stringify(id)}`, { hint: 'GET /api/accounts lists them; POST /api/accounts {"id"} adds one.', details: { account: id } });
}
