// The audit trail over REST (admin): who did what, oldest first, paged by cursor. Not an MCP tool, like the keys:
// reading who did what is the owner's job, and its rows would tell an agent what other keys exist.
import { z } from 'zod';
import { AuditRecordSchema } from '../service/audit.js';
import { chatId } from './inputs.js';
import { defineOperation } from './operation.js';

export const listAuditOp = defineOperation({
  name: 'audit_list',
  scope: 'admin',
  chats: { kind: 'none' },
  serverWide: true,
  title: 'Audit trail',
  description:
    'Every state-changing call (sends and their later outcome, reactions, edits, deletes, group and contact changes, linking, logout, key changes) and every refused attempt: ' +
    'time, key name, door, operation, chat, outcome or error code, and the sha256 and length of the text (the text itself only with WHATSAPP_AUDIT_BODIES=true). Oldest first; pass next_after back as after.',
  input: z.object({
    after: z.number().int().min(0).default(0).describe('Rows after this id (the next_after of a previous page)'),
    limit: z.number().int().min(1).max(500).default(100).describe('How many, 1 to 500 (default 100)'),
    key: z.string().min(1).max(64).optional().describe('Only this key name (env, stdio, anonymous, or a stored key)'),
    chat_id: chatId.optional().describe('Only this chat'),
  }),
  output: z.object({ ok: z.literal(true), count: z.number().int(), entries: z.array(AuditRecordSchema), next_after: z.number().int(), has_more: z.boolean() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  rest: [{ method: 'GET', path: '/api/audit' }],
  mcp: false,
  handler: async ({ after, limit, key, chat_id }, { audit }) => {
    const { rows, more } = audit.page({ after, limit, key, chat_id });
    return { ok: true as const, count: rows.length, entries: rows, next_after: rows.at(-1)?.id ?? after, has_more: more };
  },
});
