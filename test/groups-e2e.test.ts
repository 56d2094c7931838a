// Groups end to end over real HTTP on the sandbox: list, read, create, members, settings, invites, join and leave,
// others' changes (POST /api/sandbox/group-event), and the group.* events a script would see.
import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer, waitFor } from './helpers/server.js';

const FAMILY = '120363000000000001@g.us'; // owned by Dan (15550001004); you are a plain member
const ATLAS = '120363000000000002@g.us'; // yours
const ME = '15550009999@c.us'; // the number POST /api/sandbox/link links
const DAN = '15550001004@c.us';
const INVITE_CODE = /^[A-Za-z0-9]{16,32}$/; // what POST /api/groups/join accepts

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(): Promise<TestServer> {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  expect((await srv.call('POST', '/api/sandbox/link', {})).status).toBe(200);
  return srv;
}

/** The group.* (or other) events recorded so far, oldest first. */
async function events(types: string): Promise<Array<{ type: string; chat_id: string | null; data: any }>> {
  const r = await srv.call('GET', `/api/events?types=${encodeURIComponent(types)}&limit=500`);
  expect(r.status).toBe(200);
  return r.json.events;
}

async function group(id: string) {
  const r = await srv.call('GET', `/api/groups/${id}`);
  expect(r.status).toBe(200);
  return r.json.group;
}

const member = (g: { participants: Array<{ id: string }> }, id: string) => g.participants.find((p) => p.id === id);
const listedIds = async () => ((await srv.call('GET', '/api/groups')).json.groups as Array<{ id: string }>).map((g) => g.id);

async function createGroup(subject: string, participants: string[]) {
  const r = await srv.call('POST', '/api/groups', { subject, participants });
  expect(r.status).toBe(201);
  return r.json;
}

describe('reading groups', () => {
  it('lists both seeded groups with their members and who is admin', async () => {
    await linked();
    const r = await srv.call('GET', '/api/groups');
    expect(r.status).toBe(200);
    expect(r.json.count).toBe(2);
    const byId = Object.fromEntries(r.json.groups.map((g: { id: string }) => [g.id, g]));
    const family = byId[FAMILY];
    expect(family).toMatchObject({ subject: 'Family', owner: DAN, size: 3, announce: false, restrict: false });
    expect(member(family, DAN)).toEqual({ id: DAN, phone: '15550001004', lid: null, name: 'Dan Okafor', is_admin: true, is_super_admin: true });
    expect(member(family, ME)).toMatchObject({ is_admin: false, is_super_admin: false });
    expect(member(family, '15550001003@c.us')).toMatchObject({ name: 'Carla Souza', is_admin: false });
    const atlas = byId[ATLAS];
    expect(atlas).toMatchObject({ subject: 'Project Atlas', owner: ME, size: 3 });
    expect(member(atlas, ME)).toMatchObject({ is_admin: true, is_super_admin: true });
    expect(atlas.participants.map((p: { id: string }) => p.id).sort()).toEqual(['15550001001@c.us', '15550001002@c.us', ME].sort());
  });

  it('gets one group; an unknown group is 404, a person id or a bad id is 400 naming group_id', async () => {
    await linked();
    expect(await group(ATLAS)).toMatchObject({ id: ATLAS, subject: 'Project Atlas', size: 3 });
    const unknown = await srv.call('GET', '/api/groups/120363999999999999@g.us');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ ok: false, error: { code: 'not_found' } });
    for (const person of ['15550001001@c.us', '15550001001', '987654321012345@lid']) {
      const r = await srv.call('GET', `/api/groups/${person}`);
      expect(r.status, person).toBe(400);
      expect(r.json.error.code).toBe('invalid_input');
      expect(r.json.error.message).toMatch(/^group_id: is a person/);
    }
    const junk = await srv.call('GET', '/api/groups/not-a-group');
    expect(junk.status).toBe(400);
    expect(junk.json.error.message).toMatch(/^group_id:/);
  });

  it('answers 503 not_ready before the account is linked', async () => {
    srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
    const r = await srv.call('GET', '/api/groups');
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('not_ready');
  });
});

describe('creating a group', () => {
  it('answers 201 with the group and one result per person, a 0000 number being not_on_whatsapp', async () => {
    await linked();
    const r = await srv.call('POST', '/api/groups', { subject: '  Offsite 2025  ', participants: ['+1 555 000 1001', '15550010000', '15550001002@s.whatsapp.net'] });
    expect(r.status).toBe(201);
    expect(r.json.group).toMatchObject({ subject: 'Offsite 2025', owner: ME, size: 3, announce: false, restrict: false });
    expect(r.json.group.id).toMatch(/@g\.us$/);
    expect(member(r.json.group, ME)).toMatchObject({ is_admin: true, is_super_admin: true });
    expect(member(r.json.group, '15550001001@c.us')).toMatchObject({ name: 'Alice Martin', is_admin: false });
    expect(member(r.json.group, '15550010000@c.us')).toBeUndefined();
    expect(r.json.results).toHaveLength(3);
    const result = (p: string) => r.json.results.find((x: { participant: string }) => x.participant === p);
    expect(result('15550001001@c.us')).toEqual({ participant: '15550001001@c.us', ok: true, code: null, message: null });
    expect(result('15550001002@c.us')).toMatchObject({ ok: true, code: null });
    expect(result('15550010000@c.us')).toMatchObject({ ok: false, code: 'not_on_whatsapp' });
    expect(result('15550010000@c.us').message).toMatch(/not on WhatsApp/);
  });

  it('the new group is listed by GET /api/groups and /api/chats, and group.created then group.participants are recorded', async () => {
    await linked();
    const { group: g } = await createGroup('Book club', ['15550001003']);
    expect(await listedIds()).toContain(g.id);
    expect(await group(g.id)).toMatchObject({ subject: 'Book club', size: 2 });
    const chats = (await srv.call('GET', '/api/chats?limit=100')).json.chats;
    expect(chats.find((c: { id: string }) => c.id === g.id)).toMatchObject({ name: 'Book club', is_group: true });
    const seen = await waitFor(async () => {
      const evs = (await events('group.*')).filter((e) => e.chat_id === g.id);
      return evs.length >= 2 ? evs : null;
    }, 'group events of the new group');
    expect(seen.map((e) => e.type)).toEqual(['group.created', 'group.participants']);
    expect(seen[0]!.data).toMatchObject({ group_id: g.id, by: ME });
    expect(seen[1]!.data).toEqual({ group_id: g.id, by: ME, action: 'add', participants: ['15550001003@c.us'] });
  });

  it('refuses a group of nobody with 400 listing why each person failed, and creates nothing', async () => {
    await linked();
    const r = await srv.call('POST', '/api/groups', { subject: 'Ghosts', participants: ['15550010000', '+44 7700 900000'] });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_input');
    expect(r.json.error.message).toMatch(/^participants: nobody could be added/);
    expect(r.json.error.message).toContain('15550010000@c.us: not_on_whatsapp');
    expect(r.json.error.message).toContain('447700900000@c.us: not_on_whatsapp');
    expect(r.json.error.details.results).toEqual([
      expect.objectContaining({ participant: '15550010000@c.us', ok: false, code: 'not_on_whatsapp' }),
      expect.objectContaining({ participant: '447700900000@c.us', ok: false, code: 'not_on_whatsapp' }),
    ]);
    expect((await srv.call('GET', '/api/groups')).json.count).toBe(2);
  });

  it('400 for an empty subject, no participants, or a group id among the participants', async () => {
    await linked();
    const empty = await srv.call('POST', '/api/groups', { subject: '   ', participants: ['15550001001'] });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toBe('subject: must not be empty');
    const nobody = await srv.call('POST', '/api/groups', { subject: 'Alone', participants: [] });
    expect(nobody.status).toBe(400);
    expect(nobody.json.error.message).toMatch(/^participants:/);
    const groupAsPerson = await srv.call('POST', '/api/groups', { subject: 'Nested', participants: ['15550001001', FAMILY] });
    expect(groupAsPerson.status).toBe(400);
    expect(groupAsPerson.json.error.message).toMatch(/^participants\.1: is a group id; a person is expected/);
    expect((await srv.call('GET', '/api/groups')).json.count).toBe(2);
  });
});

describe('members', () => {
  it('add, remove, promote, demote in a group you own report each person, partial success included', async () => {
    await linked();
    const post = (action: string, participants: string[]) => srv.call('POST', `/api/groups/${ATLAS}/participants`, { action, participants });

    const add = await post('add', ['15550001003', '15550001001@c.us', '15550030000']);
    expect(add.status).toBe(200);
    expect(add.json).toMatchObject({ ok: true, group_id: ATLAS, action: 'add', changed: 1 });
    expect(add.json.results).toEqual([
      { participant: '15550001003@c.us', ok: true, code: null, message: null },
      expect.objectContaining({ participant: '15550001001@c.us', ok: false, code: 'already_member' }),
      expect.objectContaining({ participant: '15550030000@c.us', ok: false, code: 'not_on_whatsapp' }),
    ]);
    expect(member(await group(ATLAS), '15550001003@c.us')).toMatchObject({ name: 'Carla Souza', is_admin: false });

    const promote = await post('promote', ['15550001001']);
    expect(promote.json).toMatchObject({ changed: 1, results: [{ participant: '15550001001@c.us', ok: true }] });
    expect(member(await group(ATLAS), '15550001001@c.us')).toMatchObject({ is_admin: true, is_super_admin: false });
    const demote = await post('demote', ['15550001001', ME]);
    expect(demote.json.changed).toBe(1);
    expect(demote.json.results[1]).toMatchObject({ participant: ME, ok: false, code: 'not_admin' }); // the creator stays admin
    const after = await group(ATLAS);
    expect(member(after, '15550001001@c.us')).toMatchObject({ is_admin: false });
    expect(member(after, ME)).toMatchObject({ is_admin: true, is_super_admin: true });

    const remove = await post('remove', ['15550001003', '15550004444']);
    expect(remove.json.changed).toBe(1);
    expect(remove.json.results).toEqual([
      expect.objectContaining({ participant: '15550001003@c.us', ok: true }),
      expect.objectContaining({ participant: '15550004444@c.us', ok: false, code: 'not_member' }),
    ]);
    expect(member(await group(ATLAS), '15550001003@c.us')).toBeUndefined();

    const seen = await waitFor(async () => {
      const evs = (await events('group.participants')).filter((e) => e.chat_id === ATLAS);
      return evs.length >= 4 ? evs : null;
    }, 'four member changes recorded');
    expect(seen.map((e) => [e.data.action, e.data.participants, e.data.by])).toEqual([
      ['add', ['15550001003@c.us'], ME],
      ['promote', ['15550001001@c.us'], ME],
      ['demote', ['15550001001@c.us'], ME],
      ['remove', ['15550001003@c.us'], ME],
    ]);
  });

  it('changing members where you are not admin is 403 not_admin, and changes nothing', async () => {
    await linked();
    for (const action of ['add', 'remove', 'promote', 'demote']) {
      const r = await srv.call('POST', `/api/groups/${FAMILY}/participants`, { action, participants: ['15550001001'] });
      expect(r.status, action).toBe(403);
      expect(r.json.error.code).toBe('not_admin');
      expect(r.json.error.details).toMatchObject({ group_id: FAMILY });
    }
    expect((await group(FAMILY)).size).toBe(3);
  });

  it('an unknown action, a missing list or an unknown group is refused', async () => {
    await linked();
    const badAction = await srv.call('POST', `/api/groups/${ATLAS}/participants`, { action: 'kick', participants: ['15550001001'] });
    expect(badAction.status).toBe(400);
    expect(badAction.json.error.message).toMatch(/^action:/);
    const noList = await srv.call('POST', `/api/groups/${ATLAS}/participants`, { action: 'add' });
    expect(noList.status).toBe(400);
    expect(noList.json.error.message).toMatch(/^participants:/);
    const unknown = await srv.call('POST', '/api/groups/120363999999999999@g.us/participants', { action: 'add', participants: ['15550001003'] });
    expect(unknown.status).toBe(404);
  });
});

describe('settings', () => {
  it('PATCH changes subject, description and announce in a group you own; the chat is renamed; group.updated recorded', async () => {
    await linked();
    const r = await srv.call('PATCH', `/api/groups/${ATLAS}`, { subject: 'Atlas v2', description: 'Ship it', announce: true });
    expect(r.status).toBe(200);
    expect(r.json.group).toMatchObject({ id: ATLAS, subject: 'Atlas v2', description: 'Ship it', announce: true, restrict: false });
    expect(await group(ATLAS)).toMatchObject({ subject: 'Atlas v2', description: 'Ship it', announce: true });
    const chats = (await srv.call('GET', '/api/chats?limit=100')).json.chats;
    expect(chats.find((c: { id: string }) => c.id === ATLAS)).toMatchObject({ name: 'Atlas v2', is_group: true });
    // "" removes the description.
    expect((await srv.call('PATCH', `/api/groups/${ATLAS}`, { description: '' })).json.group.description).toBeNull();
    const updated = await waitFor(async () => {
      const evs = await events('group.updated');
      return evs.length >= 2 ? evs : null;
    }, 'group.updated twice');
    expect(updated[0]).toMatchObject({ chat_id: ATLAS, data: { group_id: ATLAS, by: ME, changes: { subject: 'Atlas v2', description: 'Ship it', announce: true } } });
    expect(updated[1]!.data.changes).toEqual({ description: null });
  });

  it('a plain member may rename an open group but not change its settings: 403 not_admin', async () => {
    await linked();
    for (const patch of [{ announce: true }, { restrict: true }, { subject: 'Ours', announce: false }]) {
      const r = await srv.call('PATCH', `/api/groups/${FAMILY}`, patch);
      expect(r.status, JSON.stringify(patch)).toBe(403);
      expect(r.json.error.code).toBe('not_admin');
    }
    expect(await group(FAMILY)).toMatchObject({ subject: 'Family', announce: false, restrict: false });
    // Not restricted: anyone in it may change the subject (WhatsApp's default).
    expect((await srv.call('PATCH', `/api/groups/${FAMILY}`, { subject: 'The Family' })).json.group.subject).toBe('The Family');
  });

  it('PATCH with no field is 400; an unknown group is 404', async () => {
    await linked();
    const none = await srv.call('PATCH', `/api/groups/${ATLAS}`, {});
    expect(none.status).toBe(400);
    expect(none.json.error.message).toMatch(/at least one of subject, description, announce, restrict/);
    const blank = await srv.call('PATCH', `/api/groups/${ATLAS}`, { subject: ' ' });
    expect(blank.status).toBe(400);
    expect(blank.json.error.message).toBe('subject: must not be empty');
    expect((await srv.call('PATCH', '/api/groups/120363999999999999@g.us', { subject: 'x' })).status).toBe(404);
  });

  it('made admin by the owner you may lock the group; demoted again, restricted info and announce sends are 403', async () => {
    await linked();
    const ev = (body: object) => srv.call('POST', '/api/sandbox/group-event', { group_id: FAMILY, by: DAN, ...body });
    expect((await ev({ action: 'promote', participants: [ME] })).status).toBe(200);
    expect(member(await group(FAMILY), ME)).toMatchObject({ is_admin: true });
    const lock = await srv.call('PATCH', `/api/groups/${FAMILY}`, { announce: true, restrict: true });
    expect(lock.status).toBe(200);
    expect(lock.json.group).toMatchObject({ announce: true, restrict: true });
    expect((await ev({ action: 'demote', participants: [ME] })).status).toBe(200);
    expect(member(await group(FAMILY), ME)).toMatchObject({ is_admin: false });

    const rename = await srv.call('PATCH', `/api/groups/${FAMILY}`, { subject: 'Mine now' });
    expect(rename.status).toBe(403);
    expect(rename.json.error.code).toBe('not_admin');
    const send = await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'Can I still write?' });
    expect(send.status).toBe(403);
    expect(send.json.error.code).toBe('not_admin');
    expect(send.json.error.message).toMatch(/Only admins can send/);
  });

  it('in an announce group you administer, you can still send', async () => {
    await linked();
    expect((await srv.call('PATCH', `/api/groups/${ATLAS}`, { announce: true })).status).toBe(200);
    const send = await srv.call('POST', `/api/chats/${ATLAS}/messages`, { message: 'Admins only from now on' });
    expect(send.status).toBe(200);
    expect(send.json).toMatchObject({ ok: true, status: 'sent', chat_id: ATLAS });
  });
});

describe('invites', () => {
  it('gets the invite as a code and a chat.whatsapp.com link; a revoke changes it and the old one no longer joins', async () => {
    await linked();
    const r = await srv.call('GET', `/api/groups/${ATLAS}/invite`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, group_id: ATLAS });
    expect(r.json.invite_code).toMatch(INVITE_CODE);
    expect(r.json.invite_link).toBe(`https://chat.whatsapp.com/${r.json.invite_code}`);
    expect((await srv.call('GET', `/api/groups/${ATLAS}/invite`)).json.invite_code).toBe(r.json.invite_code); // stable until revoked

    const revoked = await srv.call('POST', `/api/groups/${ATLAS}/invite/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.invite_code).toMatch(INVITE_CODE);
    expect(revoked.json.invite_code).not.toBe(r.json.invite_code);
    expect((await srv.call('GET', `/api/groups/${ATLAS}/invite`)).json.invite_code).toBe(revoked.json.invite_code);
    const old = await srv.call('POST', '/api/groups/join', { invite: r.json.invite_link });
    expect(old.status).toBe(404);
    expect(old.json.error.code).toBe('not_found');
  });

  it('every invite code the server hands out is one POST /api/groups/join accepts', async () => {
    await linked();
    const codes = [(await srv.call('GET', `/api/groups/${ATLAS}/invite`)).json.invite_code];
    for (let i = 0; i < 20; i++) codes.push((await srv.call('POST', `/api/groups/${ATLAS}/invite/revoke`)).json.invite_code);
    expect(codes.filter((c) => !INVITE_CODE.test(c))).toEqual([]);
  });

  it('a plain member cannot see or revoke the invite: 403 not_admin', async () => {
    await linked();
    for (const [method, path] of [['GET', `/api/groups/${FAMILY}/invite`], ['POST', `/api/groups/${FAMILY}/invite/revoke`]] as const) {
      const r = await srv.call(method, path);
      expect(r.status, path).toBe(403);
      expect(r.json.error.code).toBe('not_admin');
    }
  });

  it('after leaving a group you rejoin it by code and by link, as a plain member', async () => {
    await linked();
    const { group: g } = await createGroup('Climbing', ['15550001001']);
    const { invite_code, invite_link } = (await srv.call('GET', `/api/groups/${g.id}/invite`)).json;
    expect((await srv.call('POST', `/api/groups/${g.id}/leave`)).json).toEqual({ ok: true, group_id: g.id });
    expect(await listedIds()).not.toContain(g.id);

    const byCode = await srv.call('POST', '/api/groups/join', { invite: invite_code });
    expect(byCode.status).toBe(200);
    expect(byCode.json).toEqual({ ok: true, group_id: g.id });
    expect(await listedIds()).toContain(g.id);
    expect(member(await group(g.id), ME)).toMatchObject({ is_admin: false, is_super_admin: false });

    expect((await srv.call('POST', `/api/groups/${g.id}/leave`)).status).toBe(200);
    const byLink = await srv.call('POST', '/api/groups/join', { invite: invite_link });
    expect(byLink.json).toEqual({ ok: true, group_id: g.id });
    expect(await listedIds()).toContain(g.id);

    const mine = await waitFor(async () => {
      const evs = (await events('group.participants')).filter((e) => e.chat_id === g.id && e.data.by === ME);
      return evs.length >= 5 ? evs : null;
    }, 'leave and join events');
    expect(mine.map((e) => e.data.action)).toEqual(['add', 'leave', 'join', 'leave', 'join']);
    expect(mine[1]!.data.participants).toEqual([ME]);
  });

  it('an invite that is neither a code nor a chat.whatsapp.com link is 400 naming invite', async () => {
    await linked();
    for (const invite of ['hello there', 'https://example.com/AbCdEfGhIjKlMnOpQrSt', 'short', '']) {
      const r = await srv.call('POST', '/api/groups/join', { invite });
      expect(r.status, invite).toBe(400);
      expect(r.json.error.message).toMatch(/^invite: /);
    }
    // Well formed, but no group has it.
    expect((await srv.call('POST', '/api/groups/join', { invite: 'https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv' })).status).toBe(404);
  });
});

describe('leaving', () => {
  it('a group you left is no longer listed; you cannot leave it again or change it: 403 not_admin', async () => {
    await linked();
    const left = await srv.call('POST', `/api/groups/${FAMILY}/leave`);
    expect(left.status).toBe(200);
    expect(await listedIds()).toEqual([ATLAS]);
    const again = await srv.call('POST', `/api/groups/${FAMILY}/leave`);
    expect(again.status).toBe(403);
    expect(again.json.error.code).toBe('not_admin');
    expect((await srv.call('PATCH', `/api/groups/${FAMILY}`, { subject: 'x' })).json.error.code).toBe('not_admin');
    const evs = await waitFor(async () => {
      const e = (await events('group.participants')).filter((x) => x.chat_id === FAMILY);
      return e.length ? e : null;
    }, 'leave recorded');
    expect(evs[0]!.data).toEqual({ group_id: FAMILY, by: ME, action: 'leave', participants: [ME] });
  });

  it('sending to a group you left is 403 not_admin, queued or not, and nothing is delivered', async () => {
    await linked();
    expect((await srv.call('POST', `/api/groups/${FAMILY}/leave`)).status).toBe(200);
    const now = await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'still here?' });
    expect(now.status).toBe(403);
    expect(now.json.error.code).toBe('not_admin');
    expect(now.json.error.message).toMatch(/no longer a member/);
    // A queued send is refused for good too: being outside the group is not a hiccup that a retry gets past.
    const queued = await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'and now?', queue: true });
    expect(queued.status).toBe(403);
    expect(queued.json.error.code).toBe('not_admin');
    const row = (await srv.call('GET', `/api/outbox/${queued.json.error.details.outbox_id}`)).json.send;
    expect(row).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'not_admin' } });
    const page = (await srv.call('GET', `/api/chats/${FAMILY}/messages?limit=5`)).json.messages;
    expect(page.map((m: { body: string }) => m.body)).not.toEqual(expect.arrayContaining(['still here?', 'and now?']));
  });
});

describe('others change a group (POST /api/sandbox/group-event)', () => {
  it('adds, promotes, removes and joins show in the group and as group.participants events with by', async () => {
    await linked();
    const ev = (body: object) => srv.call('POST', '/api/sandbox/group-event', { group_id: FAMILY, ...body });
    expect((await ev({ action: 'add', participants: ['+1 555 000 4444', '15550001001'], by: DAN })).json).toEqual({ ok: true });
    expect((await ev({ action: 'promote', participants: ['15550001003'], by: '15550001004@s.whatsapp.net' })).status).toBe(200);
    expect((await ev({ action: 'join', participants: ['987654321012345@lid'] })).status).toBe(200);
    expect((await ev({ action: 'remove', participants: ['15550004444'], by: DAN })).status).toBe(200);
    const g = await group(FAMILY);
    expect(g.size).toBe(5);
    expect(member(g, '15550001001@c.us')).toMatchObject({ name: 'Alice Martin', is_admin: false });
    expect(member(g, '15550001003@c.us')).toMatchObject({ is_admin: true });
    expect(member(g, '987654321012345@lid')).toEqual({ id: '987654321012345@lid', phone: null, lid: '987654321012345@lid', name: null, is_admin: false, is_super_admin: false });
    expect(member(g, '15550004444@c.us')).toBeUndefined();

    const seen = await waitFor(async () => {
      const e = (await events('group.participants')).filter((x) => x.chat_id === FAMILY);
      return e.length >= 4 ? e : null;
    }, 'four group.participants events');
    expect(seen.map((e) => e.data)).toEqual([
      { group_id: FAMILY, action: 'add', participants: ['15550004444@c.us', '15550001001@c.us'], by: DAN },
      { group_id: FAMILY, action: 'promote', participants: ['15550001003@c.us'], by: DAN },
      { group_id: FAMILY, action: 'join', participants: ['987654321012345@lid'], by: null },
      { group_id: FAMILY, action: 'remove', participants: ['15550004444@c.us'], by: DAN },
    ]);
  });

  it('removed by the owner, the group is no longer listed for you', async () => {
    await linked();
    await srv.call('POST', '/api/sandbox/group-event', { group_id: FAMILY, action: 'remove', participants: [ME], by: DAN });
    expect(await listedIds()).toEqual([ATLAS]);
    const r = await srv.call('POST', `/api/groups/${FAMILY}/participants`, { action: 'add', participants: ['15550001001'] });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('not_admin');
  });

  it('an unknown group is 404; a person id as group_id is 400', async () => {
    await linked();
    const unknown = await srv.call('POST', '/api/sandbox/group-event', { group_id: '120363999999999999@g.us', action: 'add', participants: ['15550001001'] });
    expect(unknown.status).toBe(404);
    const person = await srv.call('POST', '/api/sandbox/group-event', { group_id: '15550001001', action: 'add', participants: ['15550001002'] });
    expect(person.status).toBe(400);
    expect(person.json.error.message).toMatch(/^group_id:/);
  });
});
