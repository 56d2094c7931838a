// The wwebjs engine's groups facet over the fake Client: the library calls each method makes, its answers
// (per-participant codes, false setters, silent member changes) mapped to results and error codes, and the
// library's group notifications reported as group_update events.
import { afterEach, describe, expect, it } from 'vitest';
import { addOutcome } from '../src/engine/wwebjs-group-results.js';
import type { FakeWhatsApp } from './fakes/fake-wwebjs-client.js';
import { linkedEngine, record, settle } from './fakes/fake-wwebjs-engine.js';
import { serverRefusal } from './fakes/fake-wwebjs-groups.js';

const SELF = '15550109999@c.us';
const ALICE = '15550100001@c.us';
const BOB = '15550100002@c.us';
const CAROL = '15550100003@c.us';
const DAVE = '15550100004@c.us';
const SHY = '15550100005@c.us'; // privacy: only an invitation can add them
const NOBODY = '15550100999@c.us';
const LID_SYNCED = '201234567890123@lid'; // the page knows the number: the library lists them under it
const LID_UNSYNCED = '201234567890124@lid'; // the number comes from getContactLidAndPhone
const LID_HIDDEN = '201234567890125@lid'; // WhatsApp does not reveal the number
const MINE = '120363000000000101@g.us';
const THEIRS = '120363000000000102@g.us';
const LOCKED = '120363000000000103@g.us';
const LEFT = '120363000000000104@g.us';
const UNKNOWN = '120363999999999999@g.us';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function seed(world: FakeWhatsApp): void {
  world.registered.add(DAVE.slice(0, 11));
  world.registered.add(SHY.slice(0, 11));
  world.people.privacy.add(SHY.slice(0, 11));
  world.people.addLid(LID_SYNCED, '15550100006');
  world.people.addLid(LID_UNSYNCED, '15550100007');
  world.people.unsynced.add(LID_UNSYNCED);
  world.people.addLid(LID_HIDDEN, null);
  world.people.people.set(ALICE, { name: 'Alice Liddell', pushname: 'Alice', isMyContact: true });
  world.people.people.set(BOB, { pushname: 'Bobby' });
  const mine = world.addGroup(MINE, 'Mine', SELF, [ALICE, BOB, LID_SYNCED, LID_UNSYNCED, LID_HIDDEN]);
  mine.description = 'our plans';
  world.addGroup(THEIRS, 'Theirs', CAROL, [SELF, ALICE]);
  world.addGroup(LOCKED, 'Locked', CAROL, [SELF]).restrict = true;
  world.addGroup(LEFT, 'Left', CAROL, [ALICE]);
}

async function linked() {
  const ctx = await linkedEngine(seed);
  closers.push(ctx.close);
  return ctx;
}

const calls = (client: { calls: Array<{ method: string; args: unknown[] }> }, prefix: string) => client.calls.filter((c) => c.method.startsWith(prefix));

describe('wwebjs groups: reading', () => {
  it('lists the groups we are in, with numbers behind linked ids, names, admin flags and settings', async () => {
    const { engine, world, groups } = await linked();
    const mappings = record(engine, 'lid_mapping');
    const list = await groups.listGroups();
    expect(list.map((g) => g.id).sort()).toEqual([MINE, THEIRS, LOCKED]);
    const mine = list.find((g) => g.id === MINE)!;
    expect(mine).toMatchObject({ subject: 'Mine', description: 'our plans', owner: SELF, created_at: world.nowMs() / 1000, announce: false, restrict: false, size: 6 });
    expect(mine.participants).toEqual([
      { id: SELF, phone: '15550109999', lid: null, name: null, is_admin: true, is_super_admin: true },
      { id: ALICE, phone: '15550100001', lid: null, name: 'Alice Liddell', is_admin: false, is_super_admin: false },
      { id: BOB, phone: '15550100002', lid: null, name: 'Bobby', is_admin: false, is_super_admin: false },
      // Listed under the number by the library; its linked id is not in the payload.
      { id: '15550100006@c.us', phone: '15550100006', lid: null, name: null, is_admin: false, is_super_admin: false },
      // Listed under the linked id; getContactLidAndPhone gave the number.
      { id: LID_UNSYNCED, phone: '15550100007', lid: LID_UNSYNCED, name: null, is_admin: false, is_super_admin: false },
      { id: LID_HIDDEN, phone: null, lid: LID_HIDDEN, name: null, is_admin: false, is_super_admin: false },
    ]);
    expect(list.find((g) => g.id === LOCKED)).toMatchObject({ restrict: true, owner: CAROL });
    // One batch lookup for the linked ids; a mapping only for the one WhatsApp revealed.
    expect(world.last.callsTo('getContactLidAndPhone')).toEqual([[[LID_UNSYNCED, LID_HIDDEN]]]);
    expect(mappings).toEqual([{ lid: LID_UNSYNCED, phone: '15550100007' }]);
    // Asked once: the next read answers from what was learnt.
    await groups.listGroups();
    expect(world.last.callsTo('getContactLidAndPhone')).toHaveLength(1);
  });

  it('reads one group; null for one WhatsApp Web does not know, or a person', async () => {
    const { groups, world } = await linked();
    expect(await groups.getGroup(THEIRS)).toMatchObject({ id: THEIRS, owner: CAROL, participants: [{ id: CAROL, is_super_admin: true }, { id: SELF, is_admin: false }, { id: ALICE }] });
    expect(await groups.getGroup(UNKNOWN)).toBeNull();
    expect(await groups.getGroup(ALICE)).toBeNull();
    expect(world.last.callsTo('getChatById')).toContainEqual([UNKNOWN]);
  });

  it('shows an owner the library gives as a linked id under their number, once known', async () => {
    const { groups, world } = await linked();
    world.addGroup('120363000000000105@g.us', 'Owned by lid', LID_UNSYNCED, [SELF]);
    expect(await groups.getGroup('120363000000000105@g.us')).toMatchObject({ owner: '15550100007@c.us' });
  });
});

describe('wwebjs groups: creating', () => {
  it('creates through the library without invitations, one result per person, and reports the creation once', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    const { group, results } = await groups.createGroup('Trip', [ALICE, NOBODY, SHY, LID_UNSYNCED, LID_HIDDEN]);
    // Linked ids go as their numbers (the library crashes on one it cannot turn into a number).
    expect(world.last.callsTo('createGroup')).toEqual([['Trip', [ALICE, NOBODY, SHY, '15550100007@c.us'], { autoSendInviteV4: false }]]);
    expect(results).toEqual([
      { participant: ALICE, ok: true, code: null, message: null },
      { participant: NOBODY, ok: false, code: 'not_on_whatsapp', message: expect.any(String) },
      { participant: SHY, ok: false, code: 'not_admin', message: expect.stringMatching(/invit/) },
      { participant: LID_UNSYNCED, ok: true, code: null, message: null },
      { participant: LID_HIDDEN, ok: false, code: 'engine_error', message: expect.stringMatching(/number/) },
    ]);
    expect(group).toMatchObject({ subject: 'Trip', owner: SELF, size: 3 });
    expect(group.participants.map((p) => [p.id, p.is_super_admin])).toEqual([[SELF, true], [ALICE, false], ['15550100007@c.us', false]]);
    await settle();
    // The library's own "create" notification came too: still one `created`.
    expect(updates).toEqual([
      { group_id: group.id, type: 'created', by: SELF },
      { group_id: group.id, type: 'participants', by: SELF, action: 'add', participants: [ALICE, LID_UNSYNCED] },
    ]);
  });

  it('turns the library\'s string answer into engine_error', async () => {
    const { groups } = await linked();
    await expect(groups.createGroup('  ', [ALICE])).rejects.toMatchObject({ code: 'engine_error', message: expect.stringContaining('CreateGroupError') });
  });
});

describe('wwebjs groups: members', () => {
  it('adds with the library\'s per-person codes; members already in are not asked about', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    world.group(MINE).recentlyLeft.add(CAROL);
    const results = await groups.updateParticipants(MINE, 'add', [DAVE, ALICE, NOBODY, SHY, CAROL, LID_HIDDEN]);
    expect(world.last.callsTo('group.addParticipants')).toEqual([[MINE, [DAVE, NOBODY, SHY, CAROL], { autoSendInviteV4: false }]]);
    expect(results.map((r) => [r.participant, r.ok, r.code])).toEqual([
      [DAVE, true, null],
      [ALICE, false, 'already_member'],
      [NOBODY, false, 'not_on_whatsapp'],
      [SHY, false, 'not_admin'],
      [CAROL, false, 'not_admin'],
      [LID_HIDDEN, false, 'already_member'],
    ]);
    await settle();
    expect(updates).toEqual([{ group_id: MINE, type: 'participants', by: SELF, action: 'add', participants: [DAVE] }]);
  });

  it.each([
    [200, true, null],
    [400, false, 'engine_error'],
    [401, false, 'not_admin'],
    [403, false, 'not_admin'],
    [404, false, 'not_on_whatsapp'],
    [408, false, 'not_admin'],
    [409, false, 'already_member'],
    [417, false, 'not_admin'],
    [419, false, 'not_admin'],
    [500, false, 'engine_error'],
  ])('maps the library\'s status %i to ok %s, code %s', (status, isOk, code) => {
    expect(addOutcome(ALICE, { code: status, message: 'x', isInviteV4Sent: false })).toMatchObject({ ok: isOk, code });
    expect(addOutcome(ALICE, { statusCode: status, message: 'x', isGroupCreator: false, isInviteV4Sent: false })).toMatchObject({ ok: isOk, code });
    expect(addOutcome(ALICE, undefined)).toMatchObject({ ok: false, code: 'engine_error' });
  });

  it('turns the library\'s "no admin rights" string into not_admin', async () => {
    const { world, groups } = await linked();
    world.group(MINE).addParticipants = async () => 'AddParticipantsError: You have no admin rights to add a participant to a group';
    await expect(groups.updateParticipants(MINE, 'add', [DAVE])).rejects.toMatchObject({ code: 'not_admin', httpStatus: 403 });
  });

  it('removes, promotes and demotes, checking each change happened, since the library always answers 200', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    expect(await groups.updateParticipants(MINE, 'promote', [ALICE, LID_UNSYNCED])).toEqual([
      { participant: ALICE, ok: true, code: null, message: null },
      { participant: LID_UNSYNCED, ok: true, code: null, message: null },
    ]);
    expect(world.last.callsTo('group.promoteParticipants')).toEqual([[MINE, [ALICE, LID_UNSYNCED]]]);
    // Already an admin: nothing to ask.
    expect(await groups.updateParticipants(MINE, 'promote', [ALICE])).toMatchObject([{ ok: true }]);
    expect(world.last.callsTo('group.promoteParticipants')).toHaveLength(1);
    expect(await groups.updateParticipants(MINE, 'demote', [ALICE])).toMatchObject([{ ok: true }]);
    const removed = await groups.updateParticipants(MINE, 'remove', [BOB, DAVE, SELF]);
    expect(removed.map((r) => [r.participant, r.code])).toEqual([[BOB, null], [DAVE, 'not_member'], [SELF, 'not_admin']]);
    expect(world.last.callsTo('group.removeParticipants')).toEqual([[MINE, [BOB]]]);
    expect((await groups.getGroup(MINE))!.participants.map((p) => p.id)).not.toContain(BOB);
    await settle();
    expect(updates.map((u) => u.type === 'participants' && [u.action, u.participants])).toEqual([
      ['promote', [ALICE]],
      ['promote', [LID_UNSYNCED]],
      ['demote', [ALICE]],
      ['remove', [BOB]],
    ]);
  });

  it('reports a change WhatsApp silently dropped as engine_error for that person', async () => {
    const { world, groups } = await linked();
    world.group(MINE).dropChanges = true;
    expect(await groups.updateParticipants(MINE, 'remove', [ALICE])).toEqual([
      { participant: ALICE, ok: false, code: 'engine_error', message: 'WhatsApp did not apply the change' },
    ]);
  });

  it('refuses member changes as a plain member or outsider, before asking the library', async () => {
    const { world, groups } = await linked();
    for (const action of ['add', 'remove', 'promote', 'demote'] as const) {
      await expect(groups.updateParticipants(THEIRS, action, [ALICE])).rejects.toMatchObject({ code: 'not_admin' });
    }
    await expect(groups.updateParticipants(LEFT, 'add', [BOB])).rejects.toMatchObject({ code: 'not_admin', message: expect.stringMatching(/not a member/) });
    await expect(groups.updateParticipants(UNKNOWN, 'add', [BOB])).rejects.toMatchObject({ code: 'not_found', httpStatus: 404 });
    expect(calls(world.last, 'group.')).toEqual([]);
  });
});

describe('wwebjs groups: info, settings, invites', () => {
  it('changes subject, description and settings through the setters; the notifications become updates', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    const after = await groups.updateGroup(MINE, { subject: 'Ours', description: 'new plans', announce: true, restrict: true });
    expect(calls(world.last, 'group.').map((c) => [c.method, c.args[1]])).toEqual([
      ['group.setSubject', 'Ours'],
      ['group.setDescription', 'new plans'],
      ['group.setMessagesAdminsOnly', true],
      ['group.setInfoAdminsOnly', true],
    ]);
    expect(after).toMatchObject({ subject: 'Ours', description: 'new plans', announce: true, restrict: true });
    await settle();
    expect(updates).toEqual([
      { group_id: MINE, type: 'updated', by: SELF, changes: { subject: 'Ours' } },
      { group_id: MINE, type: 'updated', by: SELF, changes: { description: 'new plans' } },
      { group_id: MINE, type: 'updated', by: SELF, changes: { announce: true } },
      { group_id: MINE, type: 'updated', by: SELF, changes: { restrict: true } },
    ]);
  });

  it('lets a member change the info of an open group, not its settings nor a restricted one\'s info', async () => {
    const { world, groups } = await linked();
    await expect(groups.updateGroup(THEIRS, { subject: 'Renamed by a member' })).resolves.toMatchObject({ subject: 'Renamed by a member' });
    const before = world.last.calls.length;
    await expect(groups.updateGroup(THEIRS, { subject: 'x', announce: true })).rejects.toMatchObject({ code: 'not_admin' });
    await expect(groups.updateGroup(LOCKED, { description: 'x' })).rejects.toMatchObject({ code: 'not_admin' });
    await expect(groups.updateGroup(LEFT, { subject: 'x' })).rejects.toMatchObject({ code: 'not_admin' });
    expect(calls({ calls: world.last.calls.slice(before) }, 'group.')).toEqual([]);
    await expect(groups.updateGroup(UNKNOWN, { subject: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('turns a setter that answers false (WhatsApp refused) into not_admin', async () => {
    const { world, groups } = await linked();
    world.group(THEIRS).setSubject = async () => false;
    await expect(groups.updateGroup(THEIRS, { subject: 'refused' })).rejects.toMatchObject({ code: 'not_admin', httpStatus: 403 });
  });

  it('gives and revokes the invite code as admin; not_admin otherwise, also when the library says so', async () => {
    const { world, groups } = await linked();
    const code = await groups.getInvite(MINE);
    expect(code).toBe(world.group(MINE).invite);
    const next = await groups.revokeInvite(MINE);
    expect(next).not.toBe(code);
    expect(await groups.getInvite(MINE)).toBe(next);
    await expect(groups.getInvite(THEIRS)).rejects.toMatchObject({ code: 'not_admin' });
    await expect(groups.revokeInvite(THEIRS)).rejects.toMatchObject({ code: 'not_admin' });
    expect(world.last.callsTo('group.getInviteCode')).toHaveLength(2);
    // Rights taken away since the metadata was read: undefined, and a 401 refusal.
    world.group(MINE).getInviteCode = async () => undefined;
    await expect(groups.getInvite(MINE)).rejects.toMatchObject({ code: 'not_admin' });
    world.group(MINE).revokeInvite = async () => {
      throw serverRefusal(401);
    };
    await expect(groups.revokeInvite(MINE)).rejects.toMatchObject({ code: 'not_admin' });
    world.group(MINE).revokeInvite = async () => {
      throw new Error('Protocol error (Runtime.callFunctionOn): Target closed');
    };
    await expect(groups.revokeInvite(MINE)).rejects.toMatchObject({ code: 'engine_error' });
  });

  it('joins by code or link, reports the join, answers the id when already in, not_found for a bad code', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    const code = world.group(LEFT).invite;
    expect(await groups.joinGroup(`https://chat.whatsapp.com/${code}`)).toBe(LEFT);
    expect(world.last.callsTo('acceptInvite')).toEqual([[code]]);
    expect(await groups.joinGroup(code)).toBe(LEFT);
    expect(world.last.callsTo('getInviteInfo')).toEqual([[code]]);
    await expect(groups.joinGroup('NoSuchInvite123')).rejects.toMatchObject({ code: 'not_found' });
    await settle();
    expect(updates).toEqual([{ group_id: LEFT, type: 'participants', by: SELF, action: 'join', participants: [SELF] }]);
  });

  it('leaves a group, reported by the library; leaving again is refused', async () => {
    const { engine, world, groups } = await linked();
    const updates = record(engine, 'group_update');
    await groups.leaveGroup(THEIRS);
    expect(world.last.callsTo('group.leave')).toEqual([[THEIRS]]);
    expect((await groups.listGroups()).map((g) => g.id)).not.toContain(THEIRS);
    await expect(groups.leaveGroup(THEIRS)).rejects.toMatchObject({ code: 'not_admin' });
    await expect(groups.leaveGroup(UNKNOWN)).rejects.toMatchObject({ code: 'not_found' });
    await settle();
    expect(updates).toEqual([{ group_id: THEIRS, type: 'participants', by: SELF, action: 'leave', participants: [SELF] }]);
  });
});

describe('wwebjs groups: others\' changes', () => {
  it('reports what the library\'s group_join, group_leave and group_admin_changed say, in order', async () => {
    const { engine, world } = await linked();
    const updates = record(engine, 'group_update');
    const theirs = world.group(THEIRS);
    theirs.external('add', CAROL, [BOB, DAVE]);
    theirs.external('invite', LID_HIDDEN, [LID_HIDDEN]);
    theirs.external('promote', CAROL, [ALICE]);
    theirs.external('demote', CAROL, [ALICE]);
    theirs.external('remove', CAROL, [BOB]);
    theirs.external('leave', DAVE, [DAVE]);
    await settle();
    expect(updates).toEqual([
      { group_id: THEIRS, type: 'participants', by: CAROL, action: 'add', participants: [BOB, DAVE] },
      { group_id: THEIRS, type: 'participants', by: LID_HIDDEN, action: 'join', participants: [LID_HIDDEN] },
      { group_id: THEIRS, type: 'participants', by: CAROL, action: 'promote', participants: [ALICE] },
      { group_id: THEIRS, type: 'participants', by: CAROL, action: 'demote', participants: [ALICE] },
      { group_id: THEIRS, type: 'participants', by: CAROL, action: 'remove', participants: [BOB] },
      { group_id: THEIRS, type: 'participants', by: DAVE, action: 'leave', participants: [DAVE] },
    ]);
  });

  it('reads a subject change back from the group, reports a creation, and skips what a Group does not show', async () => {
    const { engine, world } = await linked();
    const updates = record(engine, 'group_update');
    const theirs = world.group(THEIRS);
    theirs.name = 'Carol renamed it';
    theirs.notify('subject', CAROL, [], 'Carol renamed it');
    theirs.external('add', CAROL, [DAVE]);
    theirs.notify('picture', CAROL);
    theirs.notify('membership_approval_request', DAVE);
    const fresh = world.addGroup('120363000000000106@g.us', 'New', CAROL, [SELF]);
    fresh.notify('create', CAROL, [], 'New');
    fresh.notify('create', CAROL, [], 'New');
    await settle();
    expect(updates).toEqual([
      { group_id: THEIRS, type: 'updated', by: CAROL, changes: { subject: 'Carol renamed it' } },
      { group_id: THEIRS, type: 'participants', by: CAROL, action: 'add', participants: [DAVE] },
      { group_id: '120363000000000106@g.us', type: 'created', by: CAROL },
    ]);
  });

  it('learns the number behind a linked id a notification names, on the side', async () => {
    const { engine, world } = await linked();
    const mappings = record(engine, 'lid_mapping');
    world.group(THEIRS).external('invite', LID_UNSYNCED, [LID_UNSYNCED]);
    await settle();
    expect(mappings).toEqual([{ lid: LID_UNSYNCED, phone: '15550100007' }]);
  });
});

describe('wwebjs groups when not ready', () => {
  it('answer not_ready at once, without touching the library', async () => {
    const { world, groups } = await linked();
    world.last.emit('disconnected', 'NAVIGATION');
    await settle();
    const before = world.clients[0]!.calls.length;
    for (const call of [
      () => groups.listGroups(),
      () => groups.getGroup(MINE),
      () => groups.createGroup('x', [ALICE]),
      () => groups.updateParticipants(MINE, 'add', [DAVE]),
      () => groups.updateGroup(MINE, { subject: 'x' }),
      () => groups.getInvite(MINE),
      () => groups.revokeInvite(MINE),
      () => groups.joinGroup('abc'),
      () => groups.leaveGroup(MINE),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'not_ready', httpStatus: 503 });
    }
    expect(world.clients[0]!.calls.slice(before)).toEqual([]);
  });
});
