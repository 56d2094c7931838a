// The accounts of this server over REST (admin): add one (its own engine, store and session), list them with their
// state, number and webhooks, look at one, change its webhooks, delete one. Not MCP tools: an agent works inside one
// account and must not make or remove others, nor point their events elsewhere. Every other route exists per account
// as /api/accounts/{account}/... (routes.ts).
import { z } from 'zod';
import { DEFAULT_ACCOUNT, accountIdSchema } from '../accounts/layout.js';
import { AccountWebhooksSchema } from '../accounts/registry.js';
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
  webhooks: z
    .array(
      z.object({
        url: z.string().describe('Credentials and query string shown as ***'),
        for: z.enum(['all', 'account']).describe('all: WHATSAPP_WEBHOOK_URL, where every account posts; account: this account’s own'),
        events: z.array(z.string()).nullable().describe('The event types (or prefixes like message.*) sent there; null: every type, no filter'),
      }),
    )
    .describe('Every URL this account’s events are POSTed to'),
});
type Account = z.infer<typeof AccountSchema>;

function describeAccount(runtime: Services): Account {
  const status = runtime.engine.status();
  const wid = status.account?.wid ?? null;
  const own = runtime.accounts.webhooksOf(runtime.account);
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
    webhooks: [
      ...runtime.config.webhookUrls.map((url) => ({ url: maskedUrl(url), for: 'all' as const, events: typeFilterShown(runtime.config.webhookEvents) })),
      ...own.urls.map((url) => ({ url: maskedUrl(url), for: 'account' as const, events: typeFilterShown(own.events) })),
    ],
  };
}

/** No filter is stored as [], which an answer would read as "no types": null says "every type". */
function typeFilterShown(events: readonly string[]): string[] | null {
  return events.length > 0 ? [...events] : null;
}

/**
 * A webhook URL as answers show it: credentials, query and fragment as `***` (`https://***@host/path?***`), since
 * receivers take their tokens there and answers end up in logs and screenshots. What is stored and posted to is
 * the whole URL; the path stays, to tell receivers apart.
 */
export function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    const userinfo = u.username || u.password ? '***@' : '';
    return `${u.protocol}//${userinfo}${u.host}${u.pathname}${u.search ? '?***' : ''}${u.hash ? '#***' : ''}`;
  } catch {
    return '***';
  }
}

/** Input of create and update: strict like the top level, so a misspelt field inside is a 400 too. */
const webhooksInput = AccountWebhooksSchema.strict();

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
    webhooks: webhooksInput.optional().describe('Its own webhooks, besides WHATSAPP_WEBHOOK_URL (signed with WHATSAPP_WEBHOOK_SECRET)'),
  }),
  output: one,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  rest: [{ method: 'POST', path: '/api/accounts' }],
  mcp: false,
  httpStatus: () => 201,
  handler: async ({ id, engine, webhooks }, { accounts }) => ({ ok: true as const, account: describeAccount(await accounts.create(id, engine, webhooks)) }),
});

export const updateAccountOp = defineOperation({
  name: 'accounts_update',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Change an account’s webhooks',
  description:
    'Replace the account’s own webhook URLs and event types (the default account’s too), live: an added URL starts at the next event (WHATSAPP_WEBHOOK_START=oldest: at the oldest kept), ' +
    'a removed one stops (answered once its request in flight ended); urls [] removes them all. WHATSAPP_WEBHOOK_URL applies to every account besides and is not changed here.',
  input: z.object({ id: accountIdSchema, webhooks: webhooksInput }),
  output: one,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'PATCH', path: '/api/accounts/{id}' }],
  mcp: false,
  handler: async ({ id, webhooks }, { accounts }) => ({ ok: true as const, account: describeAccount(await accounts.setWebhooks(id, webhooks)) }),
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
