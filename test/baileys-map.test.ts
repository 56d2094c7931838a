// Baileys payloads -> our types, one content type at a time: the shapes are WAProto's (every field optional,
// numbers sometimes protobufjs Longs, bytes as Uint8Array), wrapped the ways WhatsApp wraps them.
import { describe, expect, it } from 'vitest';
import { toChat, toContact, toGroupRecord } from '../src/engine/baileys-map-people.js';
import { MessageSchema } from '../src/domain.js';
import { lidPairsOf, toAck, toJid, toMessage, toOurId, toReaction, toReceipt } from '../src/engine/baileys-map.js';

const ME = '15550109999@c.us';
const key = { remoteJid: '15550100001@s.whatsapp.net', fromMe: false, id: 'ABC' };
const msg = (message: unknown, extra: Record<string, unknown> = {}) => toMessage({ key, message, messageTimestamp: 1_700_000_000, ...extra }, ME);
// A protobufjs Long: two signed 32-bit halves.
const long = (n: number) => ({ low: (n % 2 ** 32) | 0, high: Math.floor(n / 2 ** 32), unsigned: false });

describe('baileys ids', () => {
  it('phone jids (device suffix too) are @c.us; linked ids, groups and broadcasts stay; back again for Baileys', () => {
    expect(toOurId('15550100001@s.whatsapp.net')).toBe('15550100001@c.us');
    expect(toOurId('15550100001:23@s.whatsapp.net')).toBe('15550100001@c.us');
    expect(toOurId('201234567890123:4@lid')).toBe('201234567890123@lid');
    expect(toOurId('120363000000000077@g.us')).toBe('120363000000000077@g.us');
    expect(toOurId('status@broadcast')).toBe('status@broadcast');
    expect(toOurId('')).toBeNull();
    expect(toJid('15550100001@c.us')).toBe('15550100001@s.whatsapp.net');
    expect(toJid('120363000000000077@g.us')).toBe('120363000000000077@g.us');
    expect(lidPairsOf({ remoteJid: '1203@g.us', participant: '201234567890123@lid', participantAlt: '15550100002@s.whatsapp.net' })).toEqual([{ lid: '201234567890123@lid', phone: '15550100002' }]);
    expect(lidPairsOf({ remoteJid: '15550100001@s.whatsapp.net', remoteJidAlt: '201234567890123@lid' })).toEqual([{ lid: '201234567890123@lid', phone: '15550100001' }]);
  });
});

describe('baileys messages', () => {
  it('text: conversation and extendedTextMessage, with its quote', () => {
    expect(msg({ conversation: 'hi' })).toMatchObject({ id: 'ABC', type: 'chat', body: 'hi', from: '15550100001@c.us', to: ME, from_me: false, timestamp: 1_700_000_000, quoted: null });
    const quoted = { stanzaId: 'Q1', participant: '15550109999@s.whatsapp.net', quotedMessage: { conversation: 'question?' } };
    expect(msg({ extendedTextMessage: { text: 'answer', contextInfo: quoted } })?.quoted).toEqual({ id: 'Q1', from: ME, body: 'question?' });
  });

  it('media: kind, mimetype, size from a Long, sha256 from bytes, the caption as body; a voice note is ptt', () => {
    const sha = new Uint8Array(32).fill(7);
    const image = msg({ imageMessage: { mimetype: 'image/png', caption: 'look', fileLength: long(1234), fileSha256: sha } });
    expect(image).toMatchObject({ type: 'image', body: 'look', has_media: true, media: { kind: 'image', mimetype: 'image/png', size: 1234, sha256: '07'.repeat(32), url: '/api/messages/ABC/media' } });
    expect(msg({ audioMessage: { mimetype: 'audio/ogg; codecs=opus', ptt: true } })).toMatchObject({ type: 'ptt', media: { kind: 'voice' } });
    expect(msg({ documentWithCaptionMessage: { message: { documentMessage: { fileName: 'a.pdf', caption: 'doc', mimetype: 'application/pdf' } } } })).toMatchObject({ type: 'document', body: 'doc', media: { filename: 'a.pdf' } });
    expect(msg({ stickerMessage: {} })).toMatchObject({ type: 'sticker', media: { mimetype: 'image/webp', size: null, sha256: null } });
  });

  it('wrappers (disappearing, view once) are unwrapped; an edited message says so', () => {
    expect(msg({ ephemeralMessage: { message: { extendedTextMessage: { text: 'vanishing' } } } })).toMatchObject({ body: 'vanishing', type: 'chat' });
    expect(msg({ viewOnceMessageV2: { message: { imageMessage: { mimetype: 'image/jpeg' } } } })).toMatchObject({ type: 'image' });
    expect(msg({ editedMessage: { message: { conversation: 'new' } } })).toMatchObject({ body: 'new', edited: true });
  });

  it('location and polls (one answer is selectableOptionsCount 1, any number 0)', () => {
    expect(msg({ locationMessage: { degreesLatitude: 48.85, degreesLongitude: 2.29, name: 'Tower' } })).toMatchObject({ type: 'location', body: '', location: { latitude: 48.85, longitude: 2.29, name: 'Tower', address: null } });
    const options = [{ optionName: 'Yes' }, { optionName: 'No' }];
    expect(msg({ pollCreationMessageV3: { name: 'Lunch?', options, selectableOptionsCount: 1 } })?.poll).toEqual({ question: 'Lunch?', options: [{ name: 'Yes', votes: null }, { name: 'No', votes: null }], multiple: false });
    expect(msg({ pollCreationMessage: { name: 'Toppings', options, selectableOptionsCount: 0 } })?.poll?.multiple).toBe(true);
  });

  it('not messages: reactions, protocol messages, stubs other than a revoke, no content; a revoke stub is revoked', () => {
    expect(msg({ reactionMessage: { text: '👍', key } })).toBeNull();
    expect(msg({ protocolMessage: { type: 0, key } })).toBeNull();
    expect(msg(null, { messageStubType: 27 })).toBeNull();
    expect(msg(null)).toBeNull();
    expect(msg(null, { messageStubType: 1 })).toMatchObject({ type: 'revoked', revoked: true, body: '' });
    expect(toMessage({ key: { fromMe: true }, message: { conversation: 'x' } }, ME)).toBeNull();
  });

  it('our own messages: from us to the chat; in a group the sender is the author; timestamps as Longs', () => {
    expect(toMessage({ key: { ...key, fromMe: true }, message: { conversation: 'out' }, messageTimestamp: long(1_700_000_001), status: 4 }, ME)).toMatchObject({ from: ME, to: '15550100001@c.us', from_me: true, timestamp: 1_700_000_001, ack: 'read' });
    const group = toMessage({ key: { remoteJid: '120363000000000077@g.us', id: 'G', participant: '201234567890123@lid', participantAlt: '15550100002@s.whatsapp.net' }, message: { conversation: 'x' } }, ME);
    expect(group).toMatchObject({ chat_id: '120363000000000077@g.us', from: '120363000000000077@g.us', author: '201234567890123@lid', author_phone: '15550100002' });
  });

  it('acks, receipts and reactions', () => {
    expect([0, 1, 2, 3, 4, 5, 9, undefined].map(toAck)).toEqual(['error', 'pending', 'sent', 'delivered', 'read', 'played', null, null]);
    expect(toReceipt({ key, receipt: { userJid: 'x', receiptTimestamp: 1 } })).toEqual({ id: 'ABC', chat_id: '15550100001@c.us', ack: 'delivered' });
    expect(toReceipt({ key, receipt: { userJid: 'x', playedTimestamp: long(5) } })?.ack).toBe('played');
    const reaction = { key, reaction: { key: { remoteJid: key.remoteJid, fromMe: true, id: 'R' }, text: '🔥', senderTimestampMs: long(1_700_000_000_500) } };
    expect(toReaction(reaction, ME, 1)).toEqual({ id: 'ABC', chat_id: '15550100001@c.us', emoji: '🔥', from: ME, timestamp: 1_700_000_000 });
  });
});

describe('baileys people', () => {
  it('contacts by phone when known, else by linked id', () => {
    expect(toContact({ id: '201234567890123@lid', phoneNumber: '15550100001@s.whatsapp.net', notify: 'ali' })).toMatchObject({ id: '15550100001@c.us', phone: '15550100001', lid: '201234567890123@lid', push_name: 'ali', is_my_contact: false });
    expect(toContact({ id: '201234567890123@lid', verifiedName: 'Shop' })).toMatchObject({ id: '201234567890123@lid', phone: null, business_name: 'Shop', is_business: true });
    expect(toContact({ id: '120363000000000077@g.us' })).toBeNull();
  });

  it('chats: a muted one until a time in ms, pinned as a timestamp, marked unread (-1) as one', () => {
    const chat = toChat({ id: '15550100001@s.whatsapp.net', unreadCount: -1, pinned: 1_700_000_000, muteEndTime: long(2_000), conversationTimestamp: long(1_700_000_100) }, 1_000, () => 'Alice');
    expect(chat).toEqual({ id: '15550100001@c.us', name: 'Alice', is_group: false, is_read_only: false, unread_count: 1, timestamp: 1_700_000_100, archived: false, pinned: true, muted: true, last_message: null });
    expect(toChat({ id: '15550100002@s.whatsapp.net' }, 0, () => null)?.name).toBe('15550100002');
  });

  it('group metadata: members by phone when known, admin flags, owner', () => {
    const g = toGroupRecord({
      id: '120363000000000077@g.us',
      subject: 'G',
      owner: '201234567890123@lid',
      ownerPn: '15550100001@s.whatsapp.net',
      creation: 1_700_000_000,
      participants: [{ id: '201234567890123@lid', phoneNumber: '15550100001@s.whatsapp.net', admin: 'superadmin' }, { id: '15550100002@s.whatsapp.net', admin: 'admin' }, { id: '301234567890123@lid', admin: null }],
    });
    expect(g).toMatchObject({ owner: '15550100001@c.us', created_at: 1_700_000_000, announce: false, restrict: false });
    expect(g?.members).toEqual([
      { id: '15550100001@c.us', listed: '201234567890123@lid', phone: '15550100001', lid: '201234567890123@lid', is_admin: true, is_super_admin: true },
      { id: '15550100002@c.us', listed: '15550100002@s.whatsapp.net', phone: '15550100002', lid: null, is_admin: true, is_super_admin: false },
      { id: '301234567890123@lid', listed: '301234567890123@lid', phone: null, lid: '301234567890123@lid', is_admin: false, is_super_admin: false },
    ]);
  });
});

describe('baileys messages as the library hands them over', () => {
  // Baileys gives proto.Message class instances, not plain objects; zod 4's record() refuses those, which once
  // dropped every real inbound message (found at the wire, against crabline).
  it('maps proto.Message instances, quotes included', async () => {
    const { proto } = await import('baileys');
    const text = proto.Message.fromObject({ conversation: 'from the wire' });
    expect(msg(text)).toMatchObject({ body: 'from the wire', type: 'chat' });
    const reply = proto.Message.fromObject({
      extendedTextMessage: { text: 'answer', contextInfo: { stanzaId: 'Q1', participant: '15550100001@s.whatsapp.net', quotedMessage: { conversation: 'question' } } },
    });
    expect(msg(reply)).toMatchObject({ body: 'answer', quoted: { id: expect.stringContaining('Q1'), body: 'question' } });
  });
});

describe('baileys messages: one shape for every kind', () => {
  // toMessage builds each Message as one literal (history maps 100k+ of them): every kind must still carry exactly
  // the schema's fields, no more, none missing.
  it('text, reply, media, location, poll, other content and a revoke all parse as a strict Message', () => {
    const kinds = [
      msg({ conversation: 'hi' }),
      msg({ extendedTextMessage: { text: 'answer', contextInfo: { stanzaId: 'Q1', participant: '15550100001@s.whatsapp.net', quotedMessage: { conversation: 'q' } } } }),
      msg({ imageMessage: { mimetype: 'image/jpeg', caption: 'look', fileLength: long(40_000) } }),
      msg({ locationMessage: { degreesLatitude: 52.5, degreesLongitude: 13.4, name: 'here' } }),
      msg({ pollCreationMessageV3: { name: 'lunch?', options: [{ optionName: 'yes' }], selectableOptionsCount: 1 } }),
      msg({ contactMessage: { displayName: 'Bob' } }),
      msg(null, { messageStubType: 1 }),
      toMessage({ key: { remoteJid: '120363000000000077@g.us', fromMe: false, id: 'G', participant: '201234567890123@lid', participantAlt: '15550100002@s.whatsapp.net' }, message: { conversation: 'g' }, messageTimestamp: 1 }, ME),
    ];
    expect(kinds.map((m) => m?.type)).toEqual(['chat', 'chat', 'image', 'location', 'poll_creation', 'vcard', 'revoked', 'chat']);
    for (const m of kinds) expect(MessageSchema.strict().parse(m)).toEqual(m);
    expect(kinds[7]).toMatchObject({ from: '120363000000000077@g.us', author: '201234567890123@lid', author_phone: '15550100002' });
  });
});
