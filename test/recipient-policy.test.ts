// The recipient rules on their own, over a fake of the store's facts: the allow-list (ids, numbers, the words
// contacts and known, a person under both ids), first-contact confirmation, and what the errors tell a caller.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { AppError } from '../src/errors.js';
import { PREVIEW_CHARS, type RecipientFacts, RecipientPolicy, confirmationDetails, sendPreview } from '../src/service/recipient-policy.js';

const ALICE = '15550001001@c.us';
const ALICE_LID = '99887766554433@lid';
const STRANGER = '15550009999@c.us';
const GROUP = '120363000000000001@g.us';

interface FakeStore {
  twins?: Record<string, string>;
  contacts?: string[];
  withMessages?: string[];
  written?: string[];
  names?: Record<string, string>;
}

function facts(s: FakeStore = {}): RecipientFacts {
  const twins = { ...s.twins, ...Object.fromEntries(Object.entries(s.twins ?? {}).map(([a, b]) => [b, a])) };
  return {
    twinOf: (id) => twins[id] ?? null,
    isMyContact: (id) => (s.contacts ?? []).includes(id),
    hasMessages: (id) => (s.withMessages ?? []).includes(id),
    wroteTo: (id) => (s.written ?? []).includes(id),
    nameOf: (id) => s.names?.[id] ?? null,
  };
}

const policy = (allow: string[], store: FakeStore = {}, confirmNew = false) => new RecipientPolicy({ allow, confirmNew, facts: facts(store) });

function thrown(fn: () => void): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('WHATSAPP_SEND_ALLOW', () => {
  it('an empty list allows anyone', () => {
    expect(policy([]).refusal(STRANGER)).toBeNull();
    expect(policy([]).refusal(GROUP)).toBeNull();
  });

  it('a number, in any spelling, allows that person and nobody else; the refusal names them and the variable', () => {
    const p = policy(['+1 (555) 000-1001']);
    expect(p.refusal(ALICE)).toBeNull();
    const e = p.refusal(STRANGER)!;
    expect(e.code).toBe('recipient_not_allowed');
    expect(e.httpStatus).toBe(403);
    expect(e.message).toContain('+15550009999');
    expect(e.hint).toContain('WHATSAPP_SEND_ALLOW');
    expect(e.details).toEqual({ recipient: '+15550009999', chat_id: STRANGER });
    expect(p.refusal(GROUP)?.code).toBe('recipient_not_allowed');
  });

  it('a group id allows that group only', () => {
    const p = policy([GROUP]);
    expect(p.refusal(GROUP)).toBeNull();
    expect(p.refusal('120363000000000002@g.us')).not.toBeNull();
    expect(p.refusal(ALICE)).not.toBeNull();
  });

  it('a number and its linked id are one person, whichever of the two is listed', () => {
    const store = { twins: { [ALICE]: ALICE_LID } };
    expect(policy(['15550001001'], store).refusal(ALICE_LID)).toBeNull();
    expect(policy([ALICE_LID], store).refusal(ALICE)).toBeNull();
    // Without the mapping the store cannot tell: refused, and the refusal shows the id it got.
    expect(policy(['15550001001']).refusal(ALICE_LID)?.message).toContain(ALICE_LID);
    expect(policy([ALICE_LID], store).refusal(STRANGER)).not.toBeNull();
  });

  it('contacts: people saved on the phone (under either id), never a group', () => {
    const p = policy(['contacts'], { contacts: [ALICE], twins: { [ALICE]: ALICE_LID }, withMessages: [GROUP] });
    expect(p.refusal(ALICE)).toBeNull();
    expect(p.refusal(ALICE_LID)).toBeNull();
    expect(p.refusal(STRANGER)).not.toBeNull();
    expect(p.refusal(GROUP)).not.toBeNull();
  });

  it('known: chats with messages in the store, groups included', () => {
    const p = policy(['known', STRANGER], { withMessages: [GROUP, ALICE_LID], twins: { [ALICE]: ALICE_LID } });
    expect(p.refusal(GROUP)).toBeNull();
    expect(p.refusal(ALICE)).toBeNull();
    expect(p.refusal(STRANGER)).toBeNull();
    expect(p.refusal('15550001002@c.us')).not.toBeNull();
  });

  it('group participants: all must be allowed, and the refusal lists those who are not', () => {
    const p = policy(['15550001001']);
    expect(() => p.admitPeople([ALICE])).not.toThrow();
    const e = thrown(() => p.admitPeople([ALICE, STRANGER, '15550001002@c.us']));
    expect(e.code).toBe('recipient_not_allowed');
    expect(e.details).toEqual({ recipients: ['+15550009999', '+15550001002'], participants: [STRANGER, '15550001002@c.us'] });
  });

  it('config refuses what is neither an id nor a word, and normalises the rest', () => {
    const base = { WHATSAPP_DATA_DIR: '/tmp/x', WHATSAPP_AUTH_DIR: '/tmp/y' };
    expect(loadConfig({ ...base, WHATSAPP_SEND_ALLOW: '+44 7700 900123, Contacts ,120363000000000001@g.us,123456789@lid' }).sendAllow).toEqual([
      '447700900123@c.us',
      'contacts',
      GROUP,
      '123456789@lid',
    ]);
    expect(loadConfig(base).sendAllow).toEqual([]);
    expect(() => loadConfig({ ...base, WHATSAPP_SEND_ALLOW: '15550001001,friends' })).toThrow(/WHATSAPP_SEND_ALLOW.*"friends"/);
    expect(loadConfig({ ...base, WHATSAPP_CONFIRM_NEW_RECIPIENTS: 'yes' }).confirmNewRecipients).toBe(true);
  });
});

describe('WHATSAPP_CONFIRM_NEW_RECIPIENTS', () => {
  it('off: nothing to confirm', () => {
    expect(policy([]).needsConfirmation(STRANGER)).toBe(false);
    expect(() => policy([]).admit(STRANGER, { confirmed: false, preview: 'hi' })).not.toThrow();
  });

  it('a chat never written to needs a confirmation; its error carries what a person must see', () => {
    const p = policy([], { withMessages: [STRANGER], names: { [STRANGER]: 'Someone' } }, true);
    const long = 'x'.repeat(500);
    const e = thrown(() => p.admit(STRANGER, { confirmed: false, preview: long }));
    expect(e.code).toBe('confirmation_required');
    expect(e.httpStatus).toBe(409);
    expect(e.message).toContain('+15550009999');
    expect(e.hint).toBe('Repeat with "confirm": true after a person has checked the recipient.');
    expect(e.mcpHint).toMatch(/elicitation/);
    expect(confirmationDetails(e)).toEqual({ recipient: '+15550009999', chat_id: STRANGER, name: 'Someone', preview: 'x'.repeat(PREVIEW_CHARS) });
    expect(() => p.admit(STRANGER, { confirmed: true, preview: long })).not.toThrow();
  });

  it('a chat written to under either id needs none', () => {
    const p = policy([], { written: [ALICE_LID], twins: { [ALICE]: ALICE_LID } }, true);
    expect(p.needsConfirmation(ALICE)).toBe(false);
    expect(p.needsConfirmation(ALICE_LID)).toBe(false);
    expect(p.needsConfirmation(STRANGER)).toBe(true);
  });

  it('the allow-list comes first: a confirmation does not open it', () => {
    const p = policy(['15550001001'], {}, true);
    expect(thrown(() => p.admit(STRANGER, { confirmed: true, preview: '' })).code).toBe('recipient_not_allowed');
    expect(thrown(() => p.admit(ALICE, { confirmed: false, preview: '' })).code).toBe('confirmation_required');
  });

  it('only confirmation_required errors have confirmation details', () => {
    expect(confirmationDetails(new AppError('recipient_not_allowed', 'no'))).toBeNull();
    expect(confirmationDetails(new Error('x'))).toBeNull();
  });
});

describe('sendPreview', () => {
  it('shows the text or caption, else what the send is', () => {
    expect(sendPreview('hello')).toBe('hello');
    expect(sendPreview('', { kind: 'poll', poll: { question: 'Lunch?', options: ['a', 'b'], multiple: false } })).toBe('Poll: Lunch?');
    expect(sendPreview('', { kind: 'location', location: { latitude: 1.5, longitude: 2.5, name: null, address: null } })).toBe('Location: 1.5, 2.5');
    expect(sendPreview('', { kind: 'media', media: { sha256: 'a', size: 1, mimetype: 'image/png', filename: 'p.png', kind: 'image' } })).toBe('(image p.png)');
    expect(sendPreview('', { kind: 'reaction', message_id: 'm', from_me: false, emoji: '👍' })).toBe('Reaction: 👍');
  });
});
