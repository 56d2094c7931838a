// Baileys events as the engine reports them: ids mapped to ours, linked ids learnt (never guessed), receipts, edits,
// revokes and reactions from others, group and contact changes, and history sync in batches.
import type { WAMessage } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_CHUNK, TurnBudget } from '../src/engine/baileys-history.js';
import { ADMIN_GROUP, linkedBaileys, PEERS, record, settle, until } from './fakes/fake-baileys-engine.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

async function linked() {
  const ctx = await linkedBaileys();
  cleanups.push(ctx.close);
  return { ...ctx, sock: ctx.world.last };
}

const LID = '201234567890123@lid';
const ts = () => Math.floor(Date.now() / 1000);

describe('baileys events: ids', () => {
  it('maps jids to our ids: @s.whatsapp.net (device suffix too) is @c.us, groups and linked ids stay', async () => {
    const { engine, sock } = await linked();
    const seen = record(engine, 'message');
    sock.receive({ key: { remoteJid: ADMIN_GROUP, fromMe: false, id: 'G1', participant: '15550100002:14@s.whatsapp.net' }, message: { conversation: 'in the group' }, messageTimestamp: ts() });
    sock.receive({ key: { remoteJid: '15550100001@s.whatsapp.net', fromMe: false, id: 'P1' }, message: { extendedTextMessage: { text: 'direct' } }, messageTimestamp: ts() });
    expect(seen).toMatchObject([
      { id: 'G1', chat_id: ADMIN_GROUP, from: ADMIN_GROUP, author: '15550100002@c.us', to: '15550109999@c.us', body: 'in the group', from_me: false },
      { id: 'P1', chat_id: '15550100001@c.us', from: '15550100001@c.us', author: null, body: 'direct' },
    ]);
    await engine.sendText(PEERS[0], 'out');
    expect(sock.callsTo('sendMessage')[0]![0]).toBe('15550100001@s.whatsapp.net');
    expect(sock.callsTo('sendMessage')[0]![1]).toEqual({ text: 'out', linkPreview: null });
  });

  it('a group sender known by linked id: participantAlt gives the number, once, as lid_mapping and author_phone', async () => {
    const { engine, sock } = await linked();
    const seen = record(engine, 'message');
    const lids = record(engine, 'lid_mapping');
    sock.inbound(PEERS[1], 'hi from a lid', { group: ADMIN_GROUP, lid: LID });
    sock.inbound(PEERS[1], 'again', { group: ADMIN_GROUP, lid: LID });
    expect(lids).toEqual([{ lid: LID, phone: '15550100002' }]);
    expect(seen.map((m) => [m.author, m.author_phone])).toEqual([[LID, '15550100002'], [LID, '15550100002']]);
  });

  it('a one-to-one chat under a linked id: remoteJidAlt gives from_phone; lid-mapping.update is learnt too', async () => {
    const { engine, sock } = await linked();
    const seen = record(engine, 'message');
    const lids = record(engine, 'lid_mapping');
    sock.inbound(PEERS[0], 'lid chat', { lid: LID });
    expect(seen[0]).toMatchObject({ chat_id: LID, from: LID, from_phone: '15550100001' });
    sock.ev.emit('lid-mapping.update', { lid: '301234567890123@lid', pn: '15550100003@s.whatsapp.net' });
    sock.ev.emit('lid-mapping.update', { lid: '301234567890123@lid', pn: '15550100003@s.whatsapp.net' });
    expect(lids).toEqual([{ lid: LID, phone: '15550100001' }, { lid: '301234567890123@lid', phone: '15550100003' }]);
  });

  it('a linked sender with no number on the key is looked up in Baileys\' LID store, on the side', async () => {
    const { engine, sock, world } = await linked();
    world.lids.set('401234567890123@lid', '15550100004@s.whatsapp.net');
    const lids = record(engine, 'lid_mapping');
    sock.receive({ key: { remoteJid: '401234567890123@lid', fromMe: false, id: 'L9' }, message: { conversation: 'who am I' }, messageTimestamp: ts() });
    await settle();
    expect(lids).toEqual([{ lid: '401234567890123@lid', phone: '15550100004' }]);
    expect(await engine.contacts!.getContact('401234567890123@lid')).toMatchObject({ id: '15550100004@c.us', phone: '15550100004', lid: '401234567890123@lid' });
  });
});

describe('baileys events: message changes', () => {
  it('acks from messages.update status and message-receipt.update', async () => {
    const { engine, sock } = await linked();
    const acks = record(engine, 'message_ack');
    const sent = await engine.sendText(PEERS[0], 'ack me');
    const key = { remoteJid: '15550100001@s.whatsapp.net', fromMe: true, id: sent.message_id };
    sock.ev.emit('messages.update', [{ key, update: { status: 2 } }, { key, update: { status: 3 } }]);
    sock.ev.emit('message-receipt.update', [{ key, receipt: { userJid: '15550100001@s.whatsapp.net', readTimestamp: ts() } }]);
    expect(acks.map((a) => a.ack)).toEqual(['sent', 'delivered', 'read']);
    expect(acks[0]).toMatchObject({ id: sent.message_id, chat_id: PEERS[0] });
  });

  it("someone else's edit, revoke and reaction are reported as theirs", async () => {
    const { engine, sock } = await linked();
    const edits = record(engine, 'message_edit');
    const revokes = record(engine, 'message_revoke');
    const reactions = record(engine, 'message_reaction');
    const msg = sock.inbound(PEERS[0], 'original');
    const key = msg.key;
    sock.ev.emit('messages.update', [{ key, update: { message: { editedMessage: { message: { conversation: 'changed' } } }, messageTimestamp: ts() } }]);
    sock.ev.emit('messages.reaction', [{ key, reaction: { key: { remoteJid: key.remoteJid, fromMe: false, id: 'R1' }, text: '🎉', senderTimestampMs: Date.now() } }]);
    sock.ev.emit('messages.reaction', [{ key, reaction: { key: { remoteJid: key.remoteJid, fromMe: false, id: 'R2' }, text: '', senderTimestampMs: Date.now() } }]);
    sock.ev.emit('messages.update', [{ key, update: { message: null, messageStubType: 1, key } }]);
    expect(edits).toEqual([{ id: key.id, chat_id: PEERS[0], body: 'changed' }]);
    expect(reactions.map((r) => [r.emoji, r.from])).toEqual([['🎉', PEERS[0]], ['', PEERS[0]]]);
    expect(revokes).toEqual([{ id: key.id, chat_id: PEERS[0] }]);
  });

  it('our own sends are reported once: the "append" echo and a repeat in history are dropped', async () => {
    const { engine, sock } = await linked();
    const seen = record(engine, 'message');
    const sent = await engine.sendText(PEERS[0], 'once');
    await settle();
    const echo = sock.callsTo('sendMessage').length;
    expect(echo).toBe(1);
    sock.ev.emit('messages.upsert', { type: 'notify', messages: [{ key: { remoteJid: '15550100001@s.whatsapp.net', fromMe: true, id: sent.message_id }, message: { conversation: 'once' } }] });
    expect(seen.filter((m) => m.id === sent.message_id)).toHaveLength(1);
  });

  it('reactions, protocol messages, poll votes and group notices in messages.upsert are not messages', async () => {
    const { engine, sock } = await linked();
    const seen = record(engine, 'message');
    const key = (id: string) => ({ remoteJid: '15550100001@s.whatsapp.net', fromMe: false, id });
    sock.receive({ key: key('X1'), message: { reactionMessage: { key: key('P0'), text: '👍' } } });
    sock.receive({ key: key('X2'), message: { protocolMessage: { type: 0, key: key('P0') } } });
    sock.receive({ key: key('X3'), message: { pollUpdateMessage: { pollCreationMessageKey: key('P0') } } });
    sock.receive({ key: { remoteJid: ADMIN_GROUP, id: 'X4', participant: '15550100002@s.whatsapp.net' }, messageStubType: 27, messageStubParameters: ['{}'] });
    sock.receive({ key: key('X5'), messageStubType: 2 }); // CIPHERTEXT: could not be decrypted (yet)
    expect(seen).toEqual([]);
  });
});

describe('baileys events: groups and people', () => {
  it('group changes: settings and subject as updated, members as participants (join and leave told apart)', async () => {
    const { engine, sock } = await linked();
    const updates = record(engine, 'group_update');
    sock.ev.emit('groups.update', [{ id: ADMIN_GROUP, subject: 'New name', author: '15550100001@s.whatsapp.net' }]);
    sock.ev.emit('groups.update', [{ id: ADMIN_GROUP, announce: true, author: '15550100001@s.whatsapp.net' }]);
    sock.ev.emit('groups.update', [{ id: ADMIN_GROUP, inviteCode: 'abc' }]);
    sock.ev.emit('group-participants.update', { id: ADMIN_GROUP, author: '15550100001@s.whatsapp.net', participants: [{ id: '15550100003@s.whatsapp.net' }], action: 'add' });
    sock.ev.emit('group-participants.update', { id: ADMIN_GROUP, author: LID, authorPn: '15550100002@s.whatsapp.net', participants: [{ id: LID, phoneNumber: '15550100002@s.whatsapp.net' }], action: 'remove' });
    expect(updates).toEqual([
      { group_id: ADMIN_GROUP, type: 'updated', by: PEERS[0], changes: { subject: 'New name' } },
      { group_id: ADMIN_GROUP, type: 'updated', by: PEERS[0], changes: { announce: true } },
      { group_id: ADMIN_GROUP, type: 'participants', by: PEERS[0], action: 'add', participants: [PEERS[2]] },
      { group_id: ADMIN_GROUP, type: 'participants', by: PEERS[1], action: 'leave', participants: [PEERS[1]] },
    ]);
  });

  it('contacts: upserts and partial updates merge into one person, reported each time they change', async () => {
    const { engine, sock } = await linked();
    const contacts = record(engine, 'contact');
    sock.ev.emit('contacts.upsert', [{ id: '15550100001@s.whatsapp.net', name: 'Alice', lid: LID }]);
    sock.ev.emit('contacts.update', [{ id: LID, notify: 'ali' }]);
    sock.ev.emit('contacts.update', [{ id: LID, notify: 'ali' }]);
    expect(contacts).toEqual([
      { id: PEERS[0], phone: '15550100001', lid: LID, name: 'Alice', push_name: null, business_name: null, is_my_contact: true, is_business: false },
      { id: PEERS[0], phone: '15550100001', lid: LID, name: 'Alice', push_name: 'ali', business_name: null, is_my_contact: true, is_business: false },
    ]);
    expect(await engine.contacts!.listContacts()).toHaveLength(1);
  });
});

describe('baileys events: history sync', () => {
  function history(n: number): WAMessage[] {
    return Array.from({ length: n }, (_, i) => ({
      key: { remoteJid: i % 2 ? '15550100001@s.whatsapp.net' : ADMIN_GROUP, fromMe: i % 3 === 0, id: `H${i}`, ...(i % 2 ? {} : { participant: '15550100002@s.whatsapp.net' }) },
      message: { conversation: `old ${i}` },
      messageTimestamp: 1_700_000_000 + i,
    }));
  }

  it('chats, contacts, linked ids and messages, the messages in chunks with the event loop free between them', async () => {
    const { engine, sock } = await linked();
    const chats = record(engine, 'chat');
    const contacts = record(engine, 'contact');
    const lids = record(engine, 'lid_mapping');
    const chunks = record(engine, 'history_messages');
    const synced = record(engine, 'history_synced');
    const live = record(engine, 'message');
    const total = HISTORY_CHUNK * 2 + 100;
    let chunksAtFirstTurn = -1;
    setImmediate(() => (chunksAtFirstTurn = chunks.length));
    sock.ev.emit('messaging-history.set', {
      chats: [{ id: '15550100001@s.whatsapp.net', unreadCount: 2, conversationTimestamp: 1_700_000_999, archived: true }, { id: ADMIN_GROUP, name: 'Harness admins', conversationTimestamp: 1_700_000_500 }],
      contacts: [{ id: '15550100001@s.whatsapp.net', name: 'Alice' }],
      messages: history(total),
      lidPnMappings: [{ lid: LID, pn: '15550100002@s.whatsapp.net' }],
      isLatest: true,
      progress: 100,
      syncType: 3,
    });
    expect(chats).toEqual([
      { id: PEERS[0], name: 'Alice', is_group: false, is_read_only: false, unread_count: 2, timestamp: 1_700_000_999, archived: true, pinned: false, muted: false, last_message: null },
      expect.objectContaining({ id: ADMIN_GROUP, name: 'Harness admins', is_group: true }),
    ]);
    expect(contacts).toMatchObject([{ id: PEERS[0], name: 'Alice' }]);
    expect(lids).toEqual([{ lid: LID, phone: '15550100002' }]);
    // The first turn took one chunk at most, the rest came on later turns, none over HISTORY_CHUNK.
    expect(chunks).toHaveLength(1);
    expect(synced).toEqual([]);
    await until(() => synced.length === 1);
    expect(chunksAtFirstTurn).toBeLessThanOrEqual(1);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(HISTORY_CHUNK);
    expect(chunks.flat()).toHaveLength(total);
    const all = chunks.flat();
    expect(all[1]).toMatchObject({ id: 'H1', chat_id: PEERS[0], body: 'old 1', timestamp: 1_700_000_001 });
    expect(all[0]).toMatchObject({ id: 'H0', chat_id: ADMIN_GROUP, from_me: true });
    // Stored, not announced: history is never a message event, and the batch ends with one summary.
    expect(live).toEqual([]);
    expect(synced).toEqual([{ count: total, chats: 2, progress: 100, is_latest: true, sync_type: 'RECENT' }]);
  });

  it('a slow store makes the chunks smaller, and the batch still lands complete and in order', async () => {
    // A clock the test moves: each message the store is handed costs it 1 ms, mapping costs nothing. With 8 ms a
    // turn, once the budget has seen a chunk written it hands over chunks of its minimum (16) instead of 500.
    let clock = 0;
    const ctx = await linkedBaileys({ historyBudget: new TurnBudget(8, () => clock) });
    cleanups.push(ctx.close);
    const chunks: string[][] = [];
    ctx.engine.events.on('history_messages', (messages) => {
      chunks.push(messages.map((m) => m.id));
      clock += messages.length;
    });
    const synced = record(ctx.engine, 'history_synced');
    const total = HISTORY_CHUNK + 200;
    const messages = history(total);
    ctx.world.last.ev.emit('messaging-history.set', { chats: [], contacts: [], messages, isLatest: true, progress: 100 });
    await until(() => synced.length === 1);
    expect(chunks[0]).toHaveLength(HISTORY_CHUNK);
    expect(Math.max(...chunks.slice(1).map((c) => c.length))).toBe(16);
    expect(chunks.flat()).toEqual(messages.map((m) => m.key.id));
    expect(synced[0]).toMatchObject({ count: total });
  });

  it('batches emitted back to back are taken one at a time, in order: a long first one is not overtaken', async () => {
    const { engine, sock } = await linked();
    const synced = record(engine, 'history_synced');
    const chunks = record(engine, 'history_messages');
    sock.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: history(HISTORY_CHUNK * 3), isLatest: false, progress: 40 });
    sock.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: history(1).map((m) => ({ ...m, key: { ...m.key, id: 'LATE' } })), isLatest: true, progress: 100 });
    await until(() => synced.length === 2);
    expect(synced.map((s) => s.progress)).toEqual([40, 100]);
    // The second batch's one message came after every chunk of the first.
    expect(chunks.flat().at(-1)).toMatchObject({ id: 'LATE' });
  });

  it('a history batch still running when its socket is retired stops, with no summary', async () => {
    const { engine, sock } = await linked();
    const chunks = record(engine, 'history_messages');
    const synced = record(engine, 'history_synced');
    sock.ev.emit('messaging-history.set', { chats: [], contacts: [], messages: history(HISTORY_CHUNK * 3), isLatest: false });
    const firstTurn = chunks.flat().length;
    await engine.stop();
    await settle(10);
    expect(firstTurn).toBeGreaterThan(0);
    expect(chunks.flat()).toHaveLength(firstTurn);
    expect(synced).toEqual([]);
  });
});
