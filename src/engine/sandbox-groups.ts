// The sandbox's groups, following WhatsApp's rules: only admins change members or (in a restricted group) the
// settings, only admins write in an announce group, numbers ending in 0000 are not on WhatsApp. Kept in memory with
// the rest of the simulated account; others' changes come from POST /api/sandbox/group-event.
import { randomInt } from 'node:crypto';
import { type Group, type ParticipantAction, type ParticipantResult, isLid, phoneOfChatId } from '../domain.js';
import { AppError } from '../errors.js';
import type { EngineEvents, GroupPatch, GroupsFacet, TypedEmitter } from './engine.js';
import type { SandboxChats } from './sandbox-chats.js';
import { SEED_NAMES } from './sandbox-seed.js';

interface Member {
  admin: boolean;
  superAdmin: boolean;
}

interface GroupRecord {
  id: string;
  subject: string;
  description: string | null;
  owner: string | null;
  created_at: number;
  members: Map<string, Member>;
  announce: boolean;
  restrict: boolean;
  invite: string;
}

/** The sandbox's rule for "not on WhatsApp", so that error is testable everywhere. */
export function onWhatsApp(chatId: string): boolean {
  const phone = phoneOfChatId(chatId);
  return phone === null || !phone.endsWith('0000');
}

// WhatsApp invite codes are 22 letters and digits.
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const newInvite = () => Array.from({ length: 22 }, () => ALNUM[randomInt(ALNUM.length)]).join('');

export interface SandboxGroupsCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly book: SandboxChats;
  /** Our own id; throws not_ready when not linked. */
  me(): string;
  nowSeconds(): number;
}

export class SandboxGroups implements GroupsFacet {
  private readonly groups = new Map<string, GroupRecord>();
  private seq = 0;

  constructor(private readonly core: SandboxGroupsCore) {}

  /** The seeded groups: "Family" (Dan owns it, you are a member) and "Project Atlas" (yours). */
  load(me: string, linkedAt: number): void {
    this.groups.clear();
    const add = (id: string, subject: string, owner: string, members: string[]) => {
      const map = new Map<string, Member>(members.map((m) => [m, { admin: m === owner, superAdmin: m === owner }]));
      this.groups.set(id, { id, subject, description: null, owner, created_at: linkedAt - 86_400 * 30, members: map, announce: false, restrict: false, invite: newInvite() });
    };
    add('120363000000000001@g.us', 'Family', '15550001004@c.us', ['15550001004@c.us', '15550001003@c.us', me]);
    add('120363000000000002@g.us', 'Project Atlas', me, [me, '15550001001@c.us', '15550001002@c.us']);
  }

  clear(): void {
    this.groups.clear();
  }

  /** May we write in this group? (An announce group lets only admins.) */
  checkCanSend(groupId: string): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    const mine = g.members.get(this.core.me());
    if (!mine) throw new AppError('not_admin', `You are no longer a member of ${g.subject}`, { details: { group_id: groupId } });
    if (g.announce && !mine.admin) throw new AppError('not_admin', `Only admins can send messages to ${g.subject}`, { details: { group_id: groupId } });
  }

  async listGroups(): Promise<Group[]> {
    const me = this.core.me();
    return [...this.groups.values()].filter((g) => g.members.has(me)).map((g) => this.view(g));
  }

  /** A group you left is still known (as WhatsApp keeps its chat); changing it is not_admin. */
  async getGroup(groupId: string): Promise<Group | null> {
    this.core.me();
    const g = this.groups.get(groupId);
    return g ? this.view(g) : null;
  }

  async createGroup(subject: string, participants: string[]): Promise<{ group: Group; results: ParticipantResult[] }> {
    const me = this.core.me();
    const id = `120363${String(Date.now()).slice(-9)}${String(++this.seq).padStart(3, '0')}@g.us`;
    const g: GroupRecord = { id, subject, description: null, owner: me, created_at: this.core.nowSeconds(), members: new Map([[me, { admin: true, superAdmin: true }]]), announce: false, restrict: false, invite: newInvite() };
    this.groups.set(id, g);
    this.core.book.addGroup(id, subject);
    this.core.events.emit('group_update', { group_id: id, type: 'created', by: me });
    const results = this.apply(g, 'add', participants, me);
    return { group: this.view(g), results };
  }

  async updateParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<ParticipantResult[]> {
    const g = this.adminOf(groupId, 'change its members');
    return this.apply(g, action, participants, this.core.me());
  }

  async updateGroup(groupId: string, patch: GroupPatch): Promise<Group> {
    const me = this.core.me();
    const g = this.member(groupId);
    const mine = g.members.get(me)!;
    const settings = patch.announce !== undefined || patch.restrict !== undefined;
    if ((settings || g.restrict) && !mine.admin) throw notAdmin(g, settings ? 'change its settings' : 'change its info');
    const changes: { subject?: string; description?: string | null; announce?: boolean; restrict?: boolean } = {};
    if (patch.subject !== undefined) g.subject = changes.subject = patch.subject;
    if (patch.description !== undefined) g.description = changes.description = patch.description === '' ? null : patch.description;
    if (patch.announce !== undefined) g.announce = changes.announce = patch.announce;
    if (patch.restrict !== undefined) g.restrict = changes.restrict = patch.restrict;
    if (changes.subject !== undefined) this.core.book.rename(groupId, changes.subject);
    this.core.events.emit('group_update', { group_id: groupId, type: 'updated', by: me, changes });
    return this.view(g);
  }

  async getInvite(groupId: string): Promise<string> {
    return this.adminOf(groupId, 'see its invite link').invite;
  }

  async revokeInvite(groupId: string): Promise<string> {
    const g = this.adminOf(groupId, 'revoke its invite link');
    g.invite = newInvite();
    return g.invite;
  }

  async joinGroup(code: string): Promise<string> {
    const me = this.core.me();
    const g = [...this.groups.values()].find((x) => x.invite === code);
    if (!g) throw new AppError('not_found', 'This invite is not valid (revoked, or never existed)', { details: { invite: code } });
    if (!g.members.has(me)) {
      g.members.set(me, { admin: false, superAdmin: false });
      this.core.book.addGroup(g.id, g.subject);
      this.core.events.emit('group_update', { group_id: g.id, type: 'participants', by: me, action: 'join', participants: [me] });
    }
    return g.id;
  }

  async leaveGroup(groupId: string): Promise<void> {
    const me = this.core.me();
    const g = this.member(groupId);
    g.members.delete(me);
    // WhatsApp never leaves a group without an admin: the longest-standing member becomes one.
    const left = [...g.members.values()];
    if (left.length > 0 && !left.some((m) => m.admin)) left[0]!.admin = true;
    this.core.events.emit('group_update', { group_id: groupId, type: 'participants', by: me, action: 'leave', participants: [me] });
  }

  /** Someone else changes a group (sandbox control). */
  external(groupId: string, action: ParticipantAction | 'join' | 'leave', participants: string[], by: string | null): void {
    this.core.me();
    const g = this.groups.get(groupId);
    if (!g) throw new AppError('not_found', `No group ${groupId}`);
    for (const p of participants) {
      const m = g.members.get(p);
      // Nobody can remove or demote the group's creator.
      if (m?.superAdmin && (action === 'remove' || action === 'demote')) continue;
      if (action === 'add' || action === 'join') g.members.set(p, m ?? { admin: false, superAdmin: false });
      else if (action === 'remove' || action === 'leave') g.members.delete(p);
      else if (m) m.admin = action === 'promote';
    }
    this.core.events.emit('group_update', { group_id: groupId, type: 'participants', by, action, participants });
  }

  private apply(g: GroupRecord, action: ParticipantAction, participants: string[], by: string): ParticipantResult[] {
    const results = participants.map((p): ParticipantResult => {
      const member = g.members.get(p);
      const fail = (code: string, message: string) => ({ participant: p, ok: false, code, message });
      if (action === 'add') {
        if (!onWhatsApp(p)) return fail('not_on_whatsapp', `${p} is not on WhatsApp`);
        if (member) return fail('already_member', `${p} is already in the group`);
        g.members.set(p, { admin: false, superAdmin: false });
      } else if (!member) return fail('not_member', `${p} is not in the group`);
      else if (member.superAdmin && action !== 'promote') return fail('not_admin', `${p} created the group: nobody can remove or demote them`);
      else if (action === 'remove') g.members.delete(p);
      else member.admin = action === 'promote';
      return { participant: p, ok: true, code: null, message: null };
    });
    const done = results.filter((r) => r.ok).map((r) => r.participant);
    if (done.length > 0) this.core.events.emit('group_update', { group_id: g.id, type: 'participants', by, action, participants: done });
    return results;
  }

  private member(groupId: string): GroupRecord {
    const g = this.groups.get(groupId);
    if (!g) throw new AppError('not_found', `No group ${groupId}`, { hint: 'GET /api/groups lists the groups you are in.' });
    if (!g.members.has(this.core.me())) throw new AppError('not_admin', `You are not a member of ${g.subject}`, { details: { group_id: groupId } });
    return g;
  }

  private adminOf(groupId: string, what: string): GroupRecord {
    const g = this.member(groupId);
    if (!g.members.get(this.core.me())!.admin) throw notAdmin(g, what);
    return g;
  }

  private view(g: GroupRecord): Group {
    const participants = [...g.members].map(([id, m]) => ({
      id,
      phone: phoneOfChatId(id),
      lid: isLid(id) ? id : null,
      name: SEED_NAMES[phoneOfChatId(id) ?? ''] ?? null,
      is_admin: m.admin,
      is_super_admin: m.superAdmin,
    }));
    return { id: g.id, subject: g.subject, description: g.description, owner: g.owner, created_at: g.created_at, participants, announce: g.announce, restrict: g.restrict, size: participants.length };
  }
}

function notAdmin(g: GroupRecord, what: string): AppError {
  return new AppError('not_admin', `Only admins of ${g.subject} can ${what}`, { hint: 'Ask an admin of the group to make you admin, or to make the change.', details: { group_id: g.id } });
}
