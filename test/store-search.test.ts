import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Message } from '../src/domain.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { AppError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { invokeOperation } from '../src/operations/invoke.js';
import type { Services } from '../src/operations/operation.js';
import { searchContactsOp, searchMessagesOp } from '../src/operations/search.js';
import { RELEVANCE_WINDOW, wordsToFts } from '../src/store/search.js';
import { ME, chat, memoryStore, msg, servicesFor } from './helpers/store-fixtures.js';

const ALICE = '15550001001@c.us';
const BOB = '15550001002@c.us';
const GROUP = '120363000000000001@g.us';
const T = 1_700_000_000;
let services: Services;

interface Found {
  count: number;
  candidates_capped: boolean;
  results: Array<{ message: Message; snippet: string; score: number | null }>;
}
const search = (input: Record<string, unknown>) => invokeOperation(searchMessagesOp, input, services) as Promise<Found>;
const bodies = (f: Found) => f.results.map((r) => r.message.body);

beforeEach(() => {
  const config = loadConfig({});
  services = servicesFor({ config, engine: new SandboxEngine({ config, logger: silentLogger() }), store: memoryStore() });
  const rows: Message[] = [
    msg({ chat_id: ALICE, body: 'Invoice for March attached, the long version with many other words around it', timestamp: T + 10 }),
    msg({ chat_id: ALICE, body: 'invoice invoice', timestamp: T + 20, from_me: true }),
    msg({ chat_id: BOB, body: 'Did you pay the invoice? Café at noon', timestamp: T + 30 }),
    msg({ chat_id: GROUP, from: GROUP, author: BOB, body: 'Group: the invoice is approved', timestamp: T + 40 }),
    msg({ chat_id: GROUP, from: GROUP, author: ALICE, body: 'Lunch plans for the team', timestamp: T + 50 }),
  ];
  services.store.write([
    ...rows.map((message) => ({ kind: 'message' as const, message })),
    { kind: 'chat', chat: chat({ id: ALICE, name: 'Alice Martin' }) },
    { kind: 'chat', chat: chat({ id: BOB, name: 'Bob Chen' }) },
  ]);
});

describe('search messages', () => {
  it('defaults to newest first and marks matches in the snippet', async () => {
    const f = await search({ q: 'invoice' });
    expect(bodies(f)).toEqual([
      'Group: the invoice is approved',
      'Did you pay the invoice? Café at noon',
      'invoice invoice',
      'Invoice for March attached, the long version with many other words around it',
    ]);
    expect(f.results[0]!.snippet).toBe('Group: the [invoice] is approved');
    expect(f.results[0]!.score).toBeNull();
  });

  it('order=relevance puts the short message that repeats the word first and the long one last', async () => {
    const f = await search({ q: 'invoice', order: 'relevance' });
    expect(bodies(f)[0]).toBe('invoice invoice');
    expect(bodies(f)[f.count - 1]).toMatch(/^Invoice for March/);
    const scores = f.results.map((r) => r.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(f.results[0]!.snippet).toBe('[invoice] [invoice]');
  });

  it('relevance counts every query word, prefixes and accents folded like the index does', async () => {
    const f = await search({ q: 'CAFÉ noon* pay', order: 'relevance' });
    expect(bodies(f)).toEqual(['Did you pay the invoice? Café at noon']);
    const both = await search({ q: 'invoice OR lunch', order: 'relevance', limit: 2 });
    expect(both.results.map((r) => r.score! > 0)).toEqual([true, true]);
  });

  it.each([
    ['chat_id', { chat_id: ALICE }, ['invoice invoice', 'Invoice for March attached, the long version with many other words around it']],
    ['a group chat_id', { chat_id: GROUP }, ['Group: the invoice is approved']],
    ['sender as a phone number', { sender: '+1 555 000 1002' }, ['Group: the invoice is approved', 'Did you pay the invoice? Café at noon']],
    ['sender as an id', { sender: ME }, ['invoice invoice']],
    ['from_me=true', { from_me: true }, ['invoice invoice']],
    ['from_me=false', { from_me: false, chat_id: ALICE }, ['Invoice for March attached, the long version with many other words around it']],
    ['after (exclusive)', { after: T + 30 }, ['Group: the invoice is approved']],
    ['before (exclusive)', { before: T + 20 }, ['Invoice for March attached, the long version with many other words around it']],
    ['after and before', { after: T + 10, before: T + 40 }, ['Did you pay the invoice? Café at noon', 'invoice invoice']],
  ])('filters by %s', async (_name, filter, expected) => {
    expect(bodies(await search({ q: 'invoice', ...filter }))).toEqual(expected);
    // The same filter holds in relevance order (filters apply before the candidate window).
    expect(bodies(await search({ q: 'invoice', order: 'relevance', ...filter })).sort()).toEqual([...expected].sort());
  });

  it('finds nothing, in either order, for a word nobody wrote or a chat with no stored messages', async () => {
    for (const order of ['newest', 'relevance']) {
      expect((await search({ q: 'zebra', order })).count).toBe(0);
      expect((await search({ q: 'invoice', order, chat_id: '15550007777@c.us' })).count).toBe(0);
    }
  });

  it('finds accented words without the accent, prefixes, phrases and OR', async () => {
    expect(bodies(await search({ q: 'cafe' }))).toEqual(['Did you pay the invoice? Café at noon']);
    expect((await search({ q: 'invo*' })).count).toBe(4);
    expect(bodies(await search({ q: '"invoice is approved"' }))).toEqual(['Group: the invoice is approved']);
    expect((await search({ q: 'lunch OR cafe' })).count).toBe(2);
    expect((await search({ q: 'lunch cafe' })).count).toBe(0);
  });

  it('treats FTS operators and punctuation in plain text as words, never as a syntax error', async () => {
    for (const q of ['AND', 'invoice AND', '(invoice', 'group: invoice', 'invoice -march', 'NEAR(', '"unterminated', 'a*b', 'OR invoice OR']) {
      await expect(search({ q })).resolves.toMatchObject({ source: 'store' });
    }
    expect(wordsToFts('group: "x y" pay* OR "q""')).toBe('"group:" "x y" "pay"* OR "q"');
    // A NUL or other control character separates words (FTS5 would stop reading at a NUL: "unterminated string").
    expect(wordsToFts('invoice\u0000paid\tnow')).toBe('"invoice" "paid" "now"');
    expect((await search({ q: 'invoice\u0000approved' })).count).toBeGreaterThan(0);
  });

  it.each([
    ['unbalanced quotes', { q: '"invoice', mode: 'fts' }, /unterminated string/],
    ['a dangling operator', { q: 'invoice AND', mode: 'fts' }, /syntax error/],
    ['an unknown column', { q: 'nosuch: invoice', mode: 'fts' }, /no such column/],
    ['only punctuation', { q: '!!! ...' }, /nothing to search for/],
    ['an empty q', { q: '' }, /q:/],
    ['after >= before', { q: 'x', after: T, before: T }, /after must be earlier/],
    ['an unknown order', { q: 'x', order: 'oldest' }, /order/],
    ['a bad sender', { q: 'x', sender: 'bob' }, /sender/],
    ['a time in milliseconds', { q: 'x', after: 1_795_499_965_000 }, /after: must be unix seconds/],
  ])('rejects %s with a readable invalid_input', async (_name, input, message) => {
    const err = await search(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'invalid_input', httpStatus: 400 });
    expect((err as AppError).message).toMatch(message);
  });

  it('mode=fts passes real FTS5 syntax through', async () => {
    expect(bodies(await search({ q: 'invoice NOT group', mode: 'fts', chat_id: GROUP }))).toEqual([]);
    expect((await search({ q: 'NEAR(pay noon, 5)', mode: 'fts' })).count).toBe(1);
  });

  it(`relevance ranks only the newest ${RELEVANCE_WINDOW} matches and says so`, async () => {
    const many = Array.from({ length: RELEVANCE_WINDOW + 5 }, (_, i) => msg({ chat_id: BOB, body: `filler common ${i}`, timestamp: T + 100 + i }));
    services.store.write(many.map((message) => ({ kind: 'message' as const, message })));
    expect((await search({ q: 'common', order: 'relevance' })).candidates_capped).toBe(true);
    expect((await search({ q: 'invoice', order: 'relevance' })).candidates_capped).toBe(false);
  });
});

describe('search contacts', () => {
  const contacts = async (q: string) =>
    ((await invokeOperation(searchContactsOp, { q }, services)) as { contacts: Array<{ id: string }> }).contacts.map((c) => c.id);

  it('matches part of a name, case-insensitively, or part of a number', async () => {
    expect(await contacts('alice')).toEqual([ALICE]);
    expect(await contacts('Chen')).toEqual([BOB]);
    expect(await contacts('+1 555 000 1002')).toEqual([BOB]);
    expect(await contacts('001 555 000 1002')).toEqual([BOB]);
    expect((await contacts('5550001')).sort()).toEqual([ALICE, BOB]);
    expect(await contacts('%')).toEqual([]);
  });
});

describe('relevance scoring', () => {
  it('takes the words of a query and leaves operators and column names out', async () => {
    const { queryTerms, rankCandidates } = await import('../src/store/relevance.js');
    expect(queryTerms('body: "Hello wörld" pay* NOT x OR NEAR(a b, 3)')).toEqual([
      { text: 'hello', prefix: false },
      { text: 'world', prefix: false },
      { text: 'pay', prefix: true },
      { text: 'x', prefix: false },
      { text: 'a', prefix: false },
      { text: 'b', prefix: false },
      { text: '3', prefix: false },
    ]);
    const ranked = rankCandidates('tea', [
      { seq: 3, body: 'tea and a long list of other things to say here' },
      { seq: 2, body: 'tea tea' },
      { seq: 1, body: 'tea' },
    ]);
    expect(ranked.map((r) => r.seq)).toEqual([2, 1, 3]);
  });
});
