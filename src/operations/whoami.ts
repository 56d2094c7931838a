// Who the presented key is: its name, scopes, chats and accounts, so a client (the dashboard) shows only what the key may do
// instead of finding out from a 403 per control. Never the key itself. REST only: an agent learns its limits from
// tools/list, which already leaves out what it may not call.
import { z } from 'zod';
import { SCOPES } from '../service/keys.js';
import { callerOf } from './access.js';
import { defineOperation } from './operation.js';

export const whoamiOp = defineOperation({
  name: 'whoami',
  scope: 'read',
  chats: { kind: 'none' },
  title: 'Who am I',
  description:
    'The calling key: its name (env for WHATSAPP_API_KEY, anonymous on a keyless loopback server), scopes, the chats it is limited to (null: every chat), the accounts it is limited to (null: every account) and its rate. ' +
    'GET /api/whoami answers any key, whichever accounts it may use: it describes the key, not an account.',
  input: z.object({}),
  output: z.object({
    ok: z.literal(true),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    chats: z.array(z.string()).nullable().describe('The chats the key is limited to; null: every chat'),
    accounts: z.array(z.string()).nullable().describe('The accounts the key is limited to; null: every account'),
    rate_per_minute: z.number().int().nullable(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'GET', path: '/api/whoami' }],
  mcp: false,
  handler: async (_in, _services, call) => {
    const p = callerOf(call);
    return { ok: true as const, name: p.name, scopes: SCOPES.filter((s) => p.scopes.has(s)), chats: p.chats ? [...p.chats] : null, accounts: p.accounts ? [...p.accounts] : null, rate_per_minute: p.ratePerMinute };
  },
});
