// Groups and contacts over MCP: a real SDK client over Streamable HTTP against the real server and the sandbox.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { type TestServer, startTestServer } from './helpers/server.js';

const FAMILY = '120363000000000001@g.us';
const ATLAS = '120363000000000002@g.us';
const ME = '15550009999@c.us';

const GROUP_AND_CONTACT_TOOLS = [
  'whatsapp_list_groups',
  'whatsapp_get_group',
  'whatsapp_create_group',
  'whatsapp_update_group_participants',
  'whatsapp_update_group',
  'whatsapp_get_group_invite',
  'whatsapp_revoke_group_invite',
  'whatsapp_join_group',
  'whatsapp_leave_group',
  'whatsapp_get_contact',
  'whatsapp_check_numbers',
];

let server: TestServer;
let client: Client;

beforeEach(async () => {
  server = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  ({ client } = await connectHttpClient(server.url));
  // As an agent host does: list first, so the client checks every structuredContent against the outputSchema.
  await client.listTools();
});
afterEach(async () => {
  await client.close();
  await server.close();
});

async function call(name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  return { isError: result.isError === true, data: structured(result) };
}

async function link() {
  expect((await server.call('POST', '/api/sandbox/link', {})).status).toBe(200);
}

describe('tools/list', () => {
  it('offers every group and contact tool, with input schemas naming their fields; no sandbox controls', async () => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(GROUP_AND_CONTACT_TOOLS));
    expect(Object.keys(byName).filter((n) => n.startsWith('sandbox_'))).toEqual([]);
    expect(byName.whatsapp_create_group!.inputSchema.required).toEqual(expect.arrayContaining(['subject', 'participants']));
    expect(byName.whatsapp_update_group_participants!.inputSchema.required).toEqual(expect.arrayContaining(['group_id', 'action', 'participants']));
    expect(byName.whatsapp_join_group!.inputSchema.required).toEqual(['invite']);
    expect(byName.whatsapp_check_numbers!.inputSchema.properties).toMatchObject({ phone_numbers: { type: 'array', maxItems: 50 } });
    expect(byName.whatsapp_list_groups!.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.whatsapp_leave_group!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });
});

describe('tools/call', () => {
  it('lists and gets groups', async () => {
    await link();
    const list = await call('whatsapp_list_groups');
    expect(list.isError).toBe(false);
    expect(list.data.groups.map((g: { id: string }) => g.id).sort()).toEqual([FAMILY, ATLAS]);
    const atlas = await call('whatsapp_get_group', { group_id: ATLAS });
    expect(atlas.data.group).toMatchObject({ subject: 'Project Atlas', owner: ME });
    expect(atlas.data.group.participants.find((p: { id: string }) => p.id === ME)).toMatchObject({ is_admin: true, is_super_admin: true });
  });

  it('create a group, then add, promote and remove members: each person gets a result', async () => {
    await link();
    const created = await call('whatsapp_create_group', { subject: 'Release crew', participants: ['+1 555 000 1001', '15550040000'] });
    expect(created.isError).toBe(false);
    const id = created.data.group.id as string;
    expect(id).toMatch(/@g\.us$/);
    expect(created.data.group).toMatchObject({ subject: 'Release crew', owner: ME, size: 2 });
    expect(created.data.results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ participant: '15550001001@c.us', ok: true }),
        expect.objectContaining({ participant: '15550040000@c.us', ok: false, code: 'not_on_whatsapp' }),
      ]),
    );

    const add = await call('whatsapp_update_group_participants', { group_id: id, action: 'add', participants: ['15550001002', '15550001001@s.whatsapp.net'] });
    expect(add.isError).toBe(false);
    expect(add.data).toMatchObject({ ok: true, group_id: id, action: 'add', changed: 1 });
    expect(add.data.results).toEqual([
      { participant: '15550001002@c.us', ok: true, code: null, message: null },
      expect.objectContaining({ participant: '15550001001@c.us', ok: false, code: 'already_member' }),
    ]);
    expect((await call('whatsapp_update_group_participants', { group_id: id, action: 'promote', participants: ['15550001002'] })).data.changed).toBe(1);
    const removed = await call('whatsapp_update_group_participants', { group_id: id, action: 'remove', participants: ['15550001001', '15550001003'] });
    expect(removed.data.results.map((r: { code: string | null }) => r.code)).toEqual([null, 'not_member']);

    const g = (await call('whatsapp_get_group', { group_id: id })).data.group;
    expect(g.size).toBe(2);
    expect(g.participants.find((p: { id: string }) => p.id === '15550001002@c.us')).toMatchObject({ is_admin: true });
    expect((await call('whatsapp_list_groups')).data.groups.map((x: { id: string }) => x.id)).toContain(id);
  });

  it('changes you may not make come back as isError with code not_admin', async () => {
    await link();
    const members = await call('whatsapp_update_group_participants', { group_id: FAMILY, action: 'add', participants: ['15550001001'] });
    expect(members.isError).toBe(true);
    expect(members.data).toMatchObject({ ok: false, error: { code: 'not_admin' } });
    const settings = await call('whatsapp_update_group', { group_id: FAMILY, announce: true });
    expect(settings.isError).toBe(true);
    expect(settings.data.error.code).toBe('not_admin');
    const invite = await call('whatsapp_get_group_invite', { group_id: FAMILY });
    expect(invite.isError).toBe(true);
    expect(invite.data.error.code).toBe('not_admin');
  });

  it('update, invite, revoke and leave a group you own', async () => {
    await link();
    const updated = await call('whatsapp_update_group', { group_id: ATLAS, subject: 'Atlas (done)', restrict: true });
    expect(updated.isError).toBe(false);
    expect(updated.data.group).toMatchObject({ subject: 'Atlas (done)', restrict: true });
    const invite = await call('whatsapp_get_group_invite', { group_id: ATLAS });
    expect(invite.data.invite_link).toBe(`https://chat.whatsapp.com/${invite.data.invite_code}`);
    const revoked = await call('whatsapp_revoke_group_invite', { group_id: ATLAS });
    expect(revoked.isError).toBe(false);
    expect(revoked.data.invite_code).not.toBe(invite.data.invite_code);
    const left = await call('whatsapp_leave_group', { group_id: ATLAS });
    expect(left.data).toEqual({ ok: true, group_id: ATLAS });
    expect((await call('whatsapp_list_groups')).data.groups.map((g: { id: string }) => g.id)).toEqual([FAMILY]);
  });

  it('bad ids and invites are isError invalid_input naming the field; an unknown group is not_found', async () => {
    await link();
    const person = await call('whatsapp_get_group', { group_id: '15550001001@c.us' });
    expect(person.isError).toBe(true);
    expect(person.data.error.code).toBe('invalid_input');
    expect(person.data.error.message).toMatch(/^group_id: is a person/);
    const invite = await call('whatsapp_join_group', { invite: 'https://example.com/join/me' });
    expect(invite.isError).toBe(true);
    expect(invite.data.error.message).toMatch(/^invite: /);
    const unknown = await call('whatsapp_get_group', { group_id: '120363999999999999@g.us' });
    expect(unknown.isError).toBe(true);
    expect(unknown.data.error.code).toBe('not_found');
    const contact = await call('whatsapp_get_contact', { id: FAMILY });
    expect(contact.isError).toBe(true);
    expect(contact.data.error.message).toMatch(/^id: is a group id/);
  });

  it('before linking, group tools answer not_ready', async () => {
    const r = await call('whatsapp_list_groups');
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe('not_ready');
  });

  it('whatsapp_get_contact and whatsapp_check_numbers', async () => {
    await link();
    const contact = await call('whatsapp_get_contact', { id: '15550001002@s.whatsapp.net' });
    expect(contact.isError).toBe(false);
    expect(contact.data.contact).toMatchObject({ id: '15550001002@c.us', phone: '15550001002', name: 'Bob Chen', push_name: 'Bob', is_my_contact: true });
    const check = await call('whatsapp_check_numbers', { phone_numbers: ['15550001002', '15550050000', 'nope'] });
    expect(check.isError).toBe(false);
    expect(check.data.results.map((r: { on_whatsapp: boolean }) => r.on_whatsapp)).toEqual([true, false, false]);
    expect(check.data.results[2].error).toBeTruthy();
    const tooMany = await call('whatsapp_check_numbers', { phone_numbers: Array.from({ length: 51 }, (_, i) => `1555006${String(i).padStart(4, '0')}`) });
    expect(tooMany.isError).toBe(true);
    expect(tooMany.data.error.message).toMatch(/^phone_numbers: /);
  });
});
