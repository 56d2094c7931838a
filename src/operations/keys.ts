// API keys over REST (admin): list, create (the key is in the answer once), revoke. The same as `whatsapp-mcp-api
// keys ...` on the machine. Not MCP tools: an agent must not mint or widen its own keys; that is the owner's job.
import { z } from 'zod';
import { AppError } from '../errors.js';
import { KEY_NAME_RULE, SCOPES } from '../service/keys.js';
import { defineOperation } from './operation.js';

const KeySchema = z.object({
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  chats: z.array(z.string()).nullable().describe('The chats the key is limited to; null: every chat'),
  accounts: z.array(z.string()).nullable().describe('The accounts the key is limited to; null: every account'),
  rate_per_minute: z.number().int().nullable(),
  /** Unix ms. */
  created_at: z.number().int(),
  last_used_at: z.number().int().nullable().describe('Unix ms, updated at most once a minute'),
});

const adminRead = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const keyName = z.string().max(64).regex(KEY_NAME_RULE, 'must be 1 to 64 of a-z 0-9 _ - (starting with a letter or digit)');

export const listKeysOp = defineOperation({
  name: 'keys_list',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'List API keys',
  description: 'The stored API keys: name, scopes, chats, accounts, rate, created, last used. Never the key itself (only its hash is kept).',
  input: z.object({}),
  output: z.object({ ok: z.literal(true), count: z.number().int(), keys: z.array(KeySchema) }),
  annotations: adminRead,
  rest: [{ method: 'GET', path: '/api/keys' }],
  mcp: false,
  handler: async (_in, { keys }) => {
    const list = keys.list();
    return { ok: true as const, count: list.length, keys: list };
  },
});

export const createKeyOp = defineOperation({
  name: 'keys_create',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Add an API key',
  description:
    'Make an API key with scopes (read, send, manage, admin), optionally limited to some chats, to some accounts and to a rate of calls a minute. ' +
    'The answer carries the key once; it cannot be shown again.',
  input: z.object({
    name: keyName.describe('A name for the key (who or what uses it), e.g. "assistant"'),
    scopes: z.array(z.string().max(32)).min(1).max(SCOPES.length * 2).describe(`Any of ${SCOPES.join(', ')}`),
    chats: z.array(z.string().max(128)).min(1).max(1000).optional().describe('Phone numbers or chat ids the key may read and send to; leave out for every chat'),
    accounts: z
      .array(z.string().max(64))
      .min(1)
      .max(1000)
      .optional()
      .describe('Account ids the key may use (default: the account of /api/* and /mcp); leave out for every account. An id not created yet is allowed. Not with admin'),
    rate_per_minute: z.number().int().min(1).max(100_000).optional().describe('Calls a minute this key may make (bursts of a third); leave out for no limit of its own'),
  }),
  output: KeySchema.extend({ ok: z.literal(true), key: z.string().describe('The key: shown this once, store it now') }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  rest: [{ method: 'POST', path: '/api/keys' }],
  mcp: false,
  httpStatus: () => 201,
  handler: async ({ name, scopes, chats, accounts, rate_per_minute }, { keys }) => {
    const { key, info } = keys.create({ name, scopes, chats: chats ?? null, accounts: accounts ?? null, ratePerMinute: rate_per_minute ?? null });
    return { ok: true as const, key, ...info };
  },
});

export const revokeKeyOp = defineOperation({
  name: 'keys_revoke',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Revoke an API key',
  description: 'Delete an API key: the next request with it is refused (401), here and in a running server.',
  input: z.object({ name: keyName }),
  output: z.object({ ok: z.literal(true), name: z.string(), revoked: z.literal(true) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'DELETE', path: '/api/keys/{name}' }],
  mcp: false,
  handler: async ({ name }, { keys }) => {
    if (!keys.revoke(name)) throw new AppError('not_found', `No key named "${name}"`, { hint: 'GET /api/keys lists them.', details: { name } });
    return { ok: true as const, name, revoked: true as const };
  },
});
