// The accounts of this server over REST (admin): add one (its own engine, store and session), list them with their
// state and number, look at one, delete one. Not MCP tools: an agent works inside one account and must not make or
// remove others. Every other route exists per account as /api/accounts/{account}/... (routes.ts).
import { z } from 'zod';
import { DEFAULT_ACCOUNT, accountIdSchema } from '../accounts/layout.js';
import { ENGINE_NAMES } from '../domain.js';
import { EngineStatusSchema } from '../domain.js';
import { defineOperation, type Services } from './operation.js';

const AccountSchema = z.object({
  id: z.string(),
  engine: z.enum(ENGINE_NAMES),
  default: z.boolean().describe('The account /api/* and /mcp serve'),
  created_at: z.number().int().nullable().describe('Unix ms; null for the default account'),
  state: EngineStatusSchema.shape.state,
  ready: z.boolean(),
  number: z.string().nullable().describe('The linked phone number (digits), null until linked'),
  name: z.string().nullable().describe('The linked account’s profile name, null until linked'),
  last_error: z.string().nullable(),
});
type Account = z.infer<typeof AccountSchema>;

function describeAccount(runtime: Services): Account {
  const status = runtime.engine.status();
  const wid = status.account?.wid ?? null;
  return {
    id: runtime.account,
    engine: runtime.config.engine,
    default: runtime.account === DEFAULT_ACCOUNT,
    created_at: runtime.accounts.createdAt(runtime.account),
    state: status.state,
    ready: status.ready,
    number: wid ? wid.split('@')[0]!.split(':')[0]! : null,
    name: status.account?.pushname ?? null,
    last_error: status.last_error ?? null,
  };
}

const adminRead = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const one = z.object({ ok: z.literal(true), account: AccountSchema });

export const listAccountsOp = defineOperation({
  name: 'accounts_list',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'List accounts',
  description: 'Every WhatsApp account of this server (the default one first) with its engine, state and linked number.',
  input: z.object({}),
  output: z.object({ ok: z.literal(true), count: z.number().int(), accounts: z.array(AccountSchema) }),
  annotations: adminRead,
  rest: [{ method: 'GET', path: '/api/accounts' }],
  mcp: false,
  handler: async (_in, { accounts }) => {
    const list = accounts.list().map((a) => describeAccount(a.runtime));
    return { ok: true as const, count: list.length, accounts: list };
  },
});

export const createAccountOp = defineOperation({
  name: 'accounts_create',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Add an account',
  description:
    'Add a WhatsApp account with its own engine, store, outbox, events and session (under <data>/<id>/ and <auth>/<id>/). ' +
    'Link it like the default one, on its own routes: POST /api/accounts/{id}/pairing-code, or the whatsapp_get_qr tool at /accounts/{id}/mcp. It comes back after a restart.',
  input: z.object({
    id: accountIdSchema,
    engine: z.enum(ENGINE_NAMES).optional().describe('Its engine; default: the server’s (WHATSAPP_ENGINE)'),
  }),
  output: one,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  rest: [{ method: 'POST', path: '/api/accounts' }],
  mcp: false,
  httpStatus: () => 201,
  handler: async ({ id, engine }, { accounts }) => ({ ok: true as const, account: describeAccount(await accounts.create(id, engine)) }),
});

export const getAccountOp = defineOperation({
  name: 'accounts_get',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Get an account',
  description: 'One account: engine, state, linked number.',
  input: z.object({ id: accountIdSchema }),
  output: one,
  annotations: adminRead,
  rest: [{ method: 'GET', path: '/api/accounts/{id}' }],
  mcp: false,
  handler: async ({ id }, { accounts }) => ({ ok: true as const, account: describeAccount(accounts.require(id)) }),
});

export const deleteAccountOp = defineOperation({
  name: 'accounts_delete',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Delete an account',
  description:
    'Log the account out of WhatsApp, stop it and remove it with its session and store (keep_data=true keeps the store, for an account of the same id later). ' +
    'The default account cannot be deleted (POST /api/logout unlinks it).',
  input: z.object({
    id: accountIdSchema,
    keep_data: z.boolean().default(false).describe('Keep its messages, media and events on disk'),
  }),
  output: z.object({ ok: z.literal(true), id: z.string(), logged_out: z.boolean().describe('WhatsApp confirmed the logout'), kept_data: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  rest: [{ method: 'DELETE', path: '/api/accounts/{id}' }],
  mcp: false,
  handler: async ({ id, keep_data }, { accounts }) => {
    const { loggedOut } = await accounts.remove(id, keep_data);
    return { ok: true as const, id, logged_out: loggedOut, kept_data: keep_data };
  },
});
