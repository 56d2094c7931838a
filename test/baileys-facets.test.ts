// What the Baileys engine's facets send over the socket (the calls Baileys documents), and the refusals the engine
// makes itself where Baileys would fail silently or not know.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MediaKind } from '../src/domain.js';
import type { OutgoingMedia } from '../src/engine/engine.js';
import { ADMIN_GROUP, linkedBaileys, MEMBER_GROUP, NOT_ON_WHATSAPP, PEERS, record, settle } from './fakes/fake-baileys-engine.js';
import { boom } from './fakes/fake-baileys-socket.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

async function linked(opts: Parameters<typeof linkedBaileys>[0] = {}) {
  const ctx = await linkedBaileys(opts);
  cleanups.push(ctx.close);
  return { ...ctx, sock: ctx.world.last, ops: ctx.engine.messageOps!, media: ctx.engine.media!, groups: ctx.engine.groups! };
}

function file(kind: MediaKind, mimetype: string, data = Buffer.from('RIFF....WEBPVP8 ')): OutgoingMedia {
  const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-media-')), 'f');
  fs.writeFileSync(p, data);
  return { path: p, kind, mimetype, filename: null, size: data.length, sha256: '' };
}

describe('baileys messageOps', () => {
  it('markRead sends readMessages with the keys of the messages that came in since the chat was last read', async () => {
    const { sock, ops } = await linked();
    const a = sock.inbound(PEERS[1], 'one');
    const b = sock.inbound(PEERS[1], 'two');
    sock.inbound(PEERS[0], 'other chat');
    await ops.markRead(PEERS[1]);
    expect(sock.callsTo('readMessages')).toEqual([[[a.key, b.key]]]);
    await ops.markRead(PEERS[1]);
    expect(sock.callsTo('readMessages')).toHaveLength(1);
  });

  it('presence: typing is composing, recording and paused as they are, to the chat jid', async () => {
    const { sock, ops } = await linked();
    await ops.setPresence(PEERS[0], 'typing');
    await ops.setPresence(ADMIN_GROUP, 'recording');
    await ops.setPresence(PEERS[0], 'paused');
    expect(sock.callsTo('sendPresenceUpdate')).toEqual([['composing', '15550100001@s.whatsapp.net'], ['recording', ADMIN_GROUP], ['paused', '15550100001@s.whatsapp.net']]);
  });

  it('delete for me is a chatModify deleteForMe with the key, reported once (the messages.delete echo dropped)', async () => {
    const { engine, sock, ops } = await linked();
    const revokes = record(engine, 'message_revoke');
    const msg = sock.inbound(PEERS[0], 'for me only');
    await ops.delete({ id: msg.key.id!, chat_id: PEERS[0], from_me: false }, false);
    await settle();
    const [[mod, jid]] = sock.callsTo('chatModify') as [[{ deleteForMe: { key: unknown; deleteMedia: boolean } }, string]];
    expect(mod.deleteForMe).toMatchObject({ key: msg.key, deleteMedia: false });
    expect(jid).toBe('15550100001@s.whatsapp.net');
    expect(revokes).toEqual([{ id: msg.key.id, chat_id: PEERS[0] }]);
  });

  it('reacting to a group message keeps its sender on the key; one it never saw is refused, not sent astray', async () => {
    const { sock, ops } = await linked();
    const msg = sock.inbound(PEERS[1], 'in group', { group: ADMIN_GROUP });
    await ops.react({ id: msg.key.id!, chat_id: ADMIN_GROUP, from_me: false }, '❤️');
    expect(sock.callsTo('sendMessage').at(-1)).toEqual([ADMIN_GROUP, { react: { text: '❤️', key: msg.key } }, undefined]);
    await expect(ops.react({ id: 'UNSEEN', chat_id: ADMIN_GROUP, from_me: false }, '❤️')).rejects.toMatchObject({ code: 'not_supported' });
  });

  it('edits: the key of the message with the new text; someone else\'s is refused before anything is sent', async () => {
    const { sock, ops, engine } = await linked();
    const sent = await engine.sendText(PEERS[0], 'typo');
    await ops.edit({ id: sent.message_id, chat_id: PEERS[0], from_me: true }, 'fixed');
    expect(sock.callsTo('sendMessage').at(-1)).toEqual(['15550100001@s.whatsapp.net', { text: 'fixed', edit: { remoteJid: '15550100001@s.whatsapp.net', fromMe: true, id: sent.message_id } }, undefined]);
  });
});

describe('baileys send', () => {
  it('a number without WhatsApp is not_on_whatsapp before anything is sent; known numbers are not asked again', async () => {
    const { engine, sock } = await linked();
    await expect(engine.sendText(NOT_ON_WHATSAPP, 'hello?')).rejects.toMatchObject({ code: 'not_on_whatsapp' });
    expect(sock.callsTo('sendMessage')).toHaveLength(0);
    await engine.sendText(PEERS[0], 'one');
    await engine.sendText(PEERS[0], 'two');
    expect(sock.callsTo('onWhatsApp')).toEqual([['15550190000'], ['15550100001']]);
  });

  it('a reply needs the quoted message in memory: an unknown one is an invalid reply_to', async () => {
    const { engine } = await linked();
    await expect(engine.sendText(PEERS[0], 'answer', { quotedId: 'NEVER_SEEN' })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'reply_to' } });
  });

  it('media kinds: a voice note is audio with ptt, a document keeps its name, a non-WebP sticker is refused', async () => {
    const { sock, media } = await linked();
    await media.sendMedia(PEERS[0], file('voice', 'audio/ogg; codecs=opus'), {});
    await media.sendMedia(PEERS[0], { ...file('document', 'application/pdf'), filename: 'notes.pdf' }, { caption: 'read this' });
    const [voice, doc] = sock.callsTo('sendMessage').map((c) => c[1]) as Array<Record<string, unknown>>;
    expect(voice).toMatchObject({ audio: { url: expect.any(String) }, ptt: true, mimetype: 'audio/ogg; codecs=opus' });
    expect(doc).toMatchObject({ document: { url: expect.any(String) }, fileName: 'notes.pdf', caption: 'read this', mimetype: 'application/pdf' });
    await expect(media.sendMedia(PEERS[0], file('sticker', 'image/png'), {})).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a download Baileys cannot fetch any more (404) is null; a message from before start is null', async () => {
    const { sock, media, world } = await linked();
    const msg = sock.inboundMedia(PEERS[0], { data: Buffer.from('x'), mimetype: 'image/jpeg', filename: null, kind: 'image' });
    world.files.clear();
    expect(await media.downloadMedia({ id: msg.key.id!, chat_id: PEERS[0], from_me: false })).toBeNull();
    expect(await media.downloadMedia({ id: 'FROM_BEFORE', chat_id: PEERS[0], from_me: false })).toBeNull();
  });

  it("getMessage (retries, poll votes) answers from the recent messages, then from the engine's dependency", async () => {
    const asked: string[] = [];
    const { engine, sock } = await linked({ getMessage: async (key) => (asked.push(key.id!), { conversation: 'from the store' }) });
    const sent = await engine.sendText(PEERS[0], 'retry me');
    expect(await sock.spec.getMessage({ remoteJid: '15550100001@s.whatsapp.net', fromMe: true, id: sent.message_id })).toEqual({ extendedTextMessage: { text: 'retry me' } });
    expect(await sock.spec.getMessage({ id: 'OLDER' })).toEqual({ conversation: 'from the store' });
    expect(asked).toEqual(['OLDER']);
  });
});

describe('baileys groups', () => {
  it('caches metadata for cachedGroupMetadata, and forgets it when the group changes', async () => {
    const { sock, groups } = await linked();
    expect(await sock.spec.cachedGroupMetadata(ADMIN_GROUP)).toBeUndefined();
    await groups.getGroup(ADMIN_GROUP);
    expect(await sock.spec.cachedGroupMetadata(ADMIN_GROUP)).toMatchObject({ id: ADMIN_GROUP, subject: 'Harness admins' });
    sock.ev.emit('groups.update', [{ id: ADMIN_GROUP, subject: 'Changed' }]);
    expect(await sock.spec.cachedGroupMetadata(ADMIN_GROUP)).toBeUndefined();
  });

  it("WhatsApp's per-participant answers map to our codes; a whole-call refusal is not_admin", async () => {
    const { sock, groups, world } = await linked();
    const answers = ['403', '408', '419', '500'];
    sock.groupParticipantsUpdate = async (_jid, jids) => jids.map((jid, i) => ({ status: answers[i]!, jid }));
    const people = ['15550100003@c.us', '15550100004@c.us', '15550100005@c.us', '15550100006@c.us'];
    const results = await groups.updateParticipants(ADMIN_GROUP, 'add', people);
    expect(results.map((r) => [r.ok, r.code])).toEqual([[false, 'not_admin'], [false, 'not_admin'], [false, 'not_admin'], [false, 'engine_error']]);
    sock.groupParticipantsUpdate = async () => {
      throw boom(403, 'forbidden');
    };
    await expect(groups.updateParticipants(ADMIN_GROUP, 'add', ['15550100003@c.us'])).rejects.toMatchObject({ code: 'not_admin' });
    expect(world.groups.byId.get(ADMIN_GROUP)!.meta.participants).toHaveLength(3);
  });

  it('in a group addressed by linked ids, a member named by phone is changed under the id the group lists', async () => {
    const { sock, groups, world } = await linked();
    const g = world.groups.add('120363000000000080@g.us', 'Lid group', world.me.phone, []);
    g.meta.addressingMode = 'lid' as never;
    g.meta.participants.push({ id: '201234567890123@lid', phoneNumber: '15550100001@s.whatsapp.net', admin: null });
    const [result] = await groups.updateParticipants('120363000000000080@g.us', 'promote', [PEERS[0]]);
    expect(sock.callsTo('groupParticipantsUpdate')).toEqual([['120363000000000080@g.us', ['201234567890123@lid'], 'promote']]);
    expect(result).toMatchObject({ participant: PEERS[0], ok: true });
    const group = await groups.getGroup('120363000000000080@g.us');
    expect(group?.participants.find((p) => p.id === PEERS[0])).toMatchObject({ lid: '201234567890123@lid', is_admin: true });
  });

  it('removing someone not in the group, or the creator, is answered without asking WhatsApp', async () => {
    const { sock, groups } = await linked();
    const results = await groups.updateParticipants(ADMIN_GROUP, 'remove', [PEERS[2], '15550109999@c.us']);
    expect(results.map((r) => r.code)).toEqual(['not_member', 'not_admin']);
    expect(sock.callsTo('groupParticipantsUpdate')).toHaveLength(0);
  });

  it('settings and description: the Baileys calls; a plain member changing settings is refused before any call', async () => {
    const { sock, groups } = await linked();
    const after = await groups.updateGroup(ADMIN_GROUP, { announce: true, restrict: true, description: '' });
    expect(sock.callsTo('groupUpdateDescription')).toEqual([[ADMIN_GROUP, undefined]]);
    expect(sock.callsTo('groupSettingUpdate')).toEqual([[ADMIN_GROUP, 'announcement'], [ADMIN_GROUP, 'locked']]);
    expect(after).toMatchObject({ announce: true, restrict: true });
    await expect(groups.updateGroup(MEMBER_GROUP, { announce: true })).rejects.toMatchObject({ code: 'not_admin' });
    expect(sock.callsTo('groupSettingUpdate')).toHaveLength(2);
  });

  it('joins by invite (a link works too); already a member answers the group id; leaves', async () => {
    const { groups, world } = await linked();
    const other = world.groups.add('120363000000000079@g.us', 'Open group', '15550100003', ['15550100001']);
    expect(await groups.joinGroup(`https://chat.whatsapp.com/${other.invite}`)).toBe('120363000000000079@g.us');
    expect(await groups.joinGroup(other.invite)).toBe('120363000000000079@g.us');
    await groups.leaveGroup('120363000000000079@g.us');
    expect(await groups.getGroup('120363000000000079@g.us')).toBeNull();
    await expect(groups.joinGroup('nonsense-code')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a created group is reported once, though WhatsApp announces it too', async () => {
    const { engine, groups } = await linked();
    const updates = record(engine, 'group_update');
    const { group } = await groups.createGroup('Once', [PEERS[0]]);
    await settle();
    expect(updates.filter((u) => u.type === 'created')).toEqual([{ group_id: group.id, type: 'created', by: '15550109999@c.us' }]);
  });
});

describe('baileys contacts', () => {
  it('checkNumbers asks one number at a time (Baileys drops the ones without WhatsApp from a batch)', async () => {
    const { sock, engine } = await linked();
    const checks = await engine.contacts!.checkNumbers(['15550100001', '15550190000', '15550100002']);
    expect(checks.map((c) => c.on_whatsapp)).toEqual([true, false, true]);
    expect(sock.callsTo('onWhatsApp')).toEqual([['15550100001'], ['15550190000'], ['15550100002']]);
    await expect(engine.contacts!.checkNumbers(['12'])).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('getContact: what contact events said; a number WhatsApp does not know is null', async () => {
    const { sock, engine } = await linked();
    sock.ev.emit('contacts.upsert', [{ id: '15550100001@s.whatsapp.net', name: 'Alice', notify: 'ali' }]);
    expect(await engine.contacts!.getContact(PEERS[0])).toMatchObject({ id: PEERS[0], name: 'Alice', push_name: 'ali', is_my_contact: true });
    expect(await engine.contacts!.getContact(NOT_ON_WHATSAPP)).toBeNull();
    expect(await engine.contacts!.getContact('999999999999999@lid')).toBeNull();
  });
});
