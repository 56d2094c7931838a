import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Message } from '../src/domain.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { AppError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { getChatMessagesOp, getChatOp, getMessageContextOp } from '../src/operations/history.js';
import { invokeOperation } from '../src/operations/invoke.js';
import type { Services } from '../src/operations/operation.js';
import { encodeCursor } from '../src/store/rows.js';
import { chat, memoryStore, msg, servicesFor } from './helpers/store-fixtures.js';

const GROUP = '120363000000000042@g.us';
const EMPTY = '15550004444@c.us';
let services: Services;
let sent: Message[];

interface Page {
  count: number;
  messages: Message[];
  next_before: string | null;
  next_after: string | null;
  has_older: boolean;
  has_newer: boolean;
}
const page = (input: Record<string, unknown>) => invokeOperation(getChatMessagesOp, { chat_id: GROUP, ...input }, services) as Promise<Page>;
const bodies = (p: Page) => p.messages.map((m) => m.body);

beforeEach(() => {
  const config = loadConfig({});
  const store = memoryStore();
  services = servicesFor({ config, engine: new SandboxEngine({ config, logger: silentLogger() }), store });
  // 7 group messages, two of them in the same second (order must still be stable).
  sent = [0, 1, 2, 3, 3, 4, 5].map((dt, i) => msg({ chat_id: GROUP, author: '15550001002@c.us', from: GROUP, body: `m${i}`, timestamp: 1_700_000_000 + dt }));
  store.write([...sent.map((message) => ({ kind: 'message' as const, message })), { kind: 'chat', chat: chat({ id: EMPTY, name: 'Quiet' }) }]);
});

describe('chat pages with cursors', () => {
  it('walks a group chat back to the start and forward again, oldest first within each page', async () => {
    const newest = await page({ limit: 3 });
    expect(bodies(newest)).toEqual(['m4', 'm5', 'm6']);
    expect([newest.has_older, newest.has_newer]).toEqual([true, false]);

    const middle = await page({ limit: 3, before: newest.next_before });
    expect(bodies(middle)).toEqual(['m1', 'm2', 'm3']);
    expect([middle.has_older, middle.has_newer]).toEqual([true, true]);

    const first = await page({ limit: 3, before: middle.next_before });
    expect(bodies(first)).toEqual(['m0']);
    expect(first.next_before).toBeNull();
    expect(first.has_older).toBe(false);

    const forward = await page({ limit: 4, after: first.next_after });
    expect(bodies(forward)).toEqual(['m1', 'm2', 'm3', 'm4']);
    const rest = await page({ limit: 4, after: forward.next_after });
    expect(bodies(rest)).toEqual(['m5', 'm6']);
    expect(rest.has_newer).toBe(false);
  });

  it('the last page forward is empty and keeps a cursor to poll for new messages', async () => {
    const newest = await page({ limit: 50 });
    expect(newest.count).toBe(7);
    const poll = await page({ after: newest.next_after });
    expect(poll).toMatchObject({ count: 0, has_newer: false, has_older: true, next_after: newest.next_after });
    services.store.write([{ kind: 'message', message: msg({ chat_id: GROUP, body: 'late', timestamp: 1_700_000_100 }) }]);
    expect(bodies(await page({ after: poll.next_after }))).toEqual(['late']);
  });

  it('an empty chat gives an empty page with no cursors; an unknown chat is not_found', async () => {
    const empty = await page({ chat_id: EMPTY });
    expect(empty).toMatchObject({ count: 0, messages: [], next_before: null, next_after: null, has_older: false, has_newer: false });
    await expect(page({ chat_id: '15550005555@c.us' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it.each([
    ['not base64', { before: '%%%' }],
    ['base64 of junk', { before: Buffer.from('hello').toString('base64url') }],
    ['a negative seq', { after: Buffer.from('c1:-5').toString('base64url') }],
    ['both cursors', { before: encodeCursor(GROUP, 1), after: encodeCursor(GROUP, 2) }],
    ['a cursor from another chat', { before: encodeCursor('15550001001@c.us', 1) }],
    ['limit 0', { limit: 0 }],
    ['limit 201', { limit: 201 }],
    ['a bad chat id', { chat_id: 'not-a-chat' }],
  ])('rejects %s with invalid_input', async (_name, input) => {
    const err = await page(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_input');
    expect((err as AppError).httpStatus).toBe(400);
  });

  it('get_chat and message context read the same rows', async () => {
    const got = (await invokeOperation(getChatOp, { chat_id: GROUP }, services)) as { chat: { name: string; last_message: { body: string } }; stored_messages: number };
    expect(got.stored_messages).toBe(7);
    expect(got.chat.last_message.body).toBe('m6');
    const ctx = (await invokeOperation(getMessageContextOp, { message_id: sent[3]!.id, n: 2 }, services)) as { before: Message[]; message: Message; after: Message[] };
    expect([ctx.before.map((m) => m.body), ctx.message.body, ctx.after.map((m) => m.body)]).toEqual([['m1', 'm2'], 'm3', ['m4', 'm5']]);
    const edge = (await invokeOperation(getMessageContextOp, { message_id: sent[0]!.id, n: 5 }, services)) as { before: Message[]; after: Message[] };
    expect([edge.before.length, edge.after.length]).toEqual([0, 5]);
    await expect(invokeOperation(getMessageContextOp, { message_id: 'missing' }, services)).rejects.toMatchObject({ code: 'not_found' });
  });
});
