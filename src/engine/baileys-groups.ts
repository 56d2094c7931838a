// The Baileys engine's groups facet. Rights are checked first against fresh metadata, the way WhatsApp applies them,
// so a change WhatsApp would refuse halfway changes nothing; WhatsApp's own refusals (a Boom with its status) are
// mapped too. Metadata we fetch is cached for Baileys' cachedGroupMetadata (sends to a group need no query first).
import type { GroupMetadata } from 'baileys';
import { type Group, type ParticipantAction, type ParticipantResult, chatIdForPhone, isGroupId, parseId } from '../domain.js';
import { AppError } from '../errors.js';
import type { EngineEvents, GroupPatch, GroupsFacet, TypedEmitter } from './engine.js';
import type { BaileysContacts } from './baileys-contacts.js';
import { failed, ok, participantOutcome } from './baileys-group-results.js';
import { type GroupMember, type GroupRecord, toGroupRecord } from './baileys-map-people.js';
import { phoneOf, toJid } from './baileys-map.js';
import { type BaileysSendCore, callLibrary, resolveJid } from './baileys-send.js';

const CACHED_GROUPS = 500;
const INVITE_PREFIX = /^https?:\/\/chat\.whatsapp\.com\//i;

export interface BaileysGroupsCore extends BaileysSendCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly contacts: BaileysContacts;
  /** Our own linked id, once known. */
  selfLid(): string | null;
}

interface Loaded {
  group: GroupRecord;
  me: GroupMember | null;
}

const notFound = (groupId: string) => new AppError('not_found', `No group ${groupId}`, { hint: 'GET /api/groups lists the groups you are in.', details: { group_id: groupId } });
const notAdmin = (g: { id: string; subject: string }, what: string) =>
  new AppError('not_admin', `Only admins of ${g.subject} can ${what}`, { hint: 'Ask an admin of the group to make you admin, or to make the change.', details: { group_id: g.id } });
const notMember = (g: GroupRecord) => new AppError('not_admin', `You are not a member of ${g.subject}`, { details: { group_id: g.id } });

export class BaileysGroups implements GroupsFacet {
  private readonly cache = new Map<string, GroupMetadata>();
  /** Groups whose creation was reported: our createGroup and WhatsApp's "create" notification make one event. */
  private readonly created = new Set<string>();

  constructor(private readonly core: BaileysGroupsCore) {}

  /** For Baileys' cachedGroupMetadata. */
  cached(jid: string): GroupMetadata | undefined {
    return this.cache.get(jid);
  }

  remember(meta: GroupMetadata): void {
    this.cache.delete(meta.id);
    this.cache.set(meta.id, meta);
    while (this.cache.size > CACHED_GROUPS) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** A group changed: its cached metadata is stale. */
  forget(jid: string): void {
    this.cache.delete(jid);
  }

  async listGroups(): Promise<Group[]> {
    const sock = this.core.readySocket();
    const all = await callLibrary('list groups', () => sock.groupFetchAllParticipating());
    const out: Group[] = [];
    for (const meta of Object.values(all)) {
      this.remember(meta);
      const record = toGroupRecord(meta);
      if (record && this.meIn(record)) out.push(this.view(record));
    }
    return out;
  }

  async getGroup(groupId: string): Promise<Group | null> {
    try {
      return this.view((await this.load(groupId)).group);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null;
      throw err;
    }
  }

  async createGroup(subject: string, participants: string[]): Promise<{ group: Group; results: ParticipantResult[] }> {
    const sock = this.core.readySocket();
    const { send, results } = await this.addable(participants);
    const meta = await callLibrary('create the group', () => sock.groupCreate(subject, send.map((s) => s.jid)));
    const group = toGroupRecord(meta);
    if (!group) throw new AppError('engine_error', 'WhatsApp (Baileys) did not say which group it created');
    this.remember(meta);
    const me = this.core.self();
    this.reportCreated(group.id, me);
    // Baileys answers with the group's metadata only: whoever WhatsApp did not add is simply not in it.
    for (const s of send) {
      results.set(s.requested, this.memberIn(group, s.requested) ? ok(s.requested) : failed(s.requested, 'not_admin', "WhatsApp did not add them (their privacy settings may allow only an invitation: send them the group's invite link)"));
    }
    const added = participants.filter((p) => results.get(p)?.ok);
    if (added.length > 0) this.core.events.emit('group_update', { group_id: group.id, type: 'participants', by: me, action: 'add', participants: added });
    return { group: this.view(group), results: participants.map((p) => results.get(p)!) };
  }

  async updateParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<ParticipantResult[]> {
    const sock = this.core.readySocket();
    const { group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    if (!me.is_admin) throw notAdmin(group, 'change its members');
    const results = new Map<string, ParticipantResult>();
    const send: Array<{ requested: string; jid: string }> = [];
    if (action === 'add') {
      const addable = await this.addable(participants.filter((p) => !this.memberIn(group, p)));
      for (const p of participants) if (this.memberIn(group, p)) results.set(p, failed(p, 'already_member', 'Already in the group'));
      for (const [p, r] of addable.results) results.set(p, r);
      send.push(...addable.send);
    } else {
      for (const p of new Set(participants)) {
        const m = this.memberIn(group, p);
        if (!m) results.set(p, failed(p, 'not_member', 'Not in the group'));
        else if (m.is_super_admin && action !== 'promote') results.set(p, failed(p, 'not_admin', 'They created the group: nobody can remove or demote them'));
        else if ((action === 'promote' && m.is_admin) || (action === 'demote' && !m.is_admin)) results.set(p, ok(p));
        else send.push({ requested: p, jid: m.listed });
      }
    }
    if (send.length > 0) {
      const refused = () => notAdmin(group, 'change its members');
      const answer = await callLibrary(`${action} participants`, () => sock.groupParticipantsUpdate(toJid(group.id), send.map((s) => s.jid), action), { 401: refused, 403: refused });
      this.forget(toJid(group.id));
      for (const s of send) {
        // WhatsApp may answer a number under its linked id: a lone answer is taken as the lone request's.
        const entry = answer.find((a) => a.jid !== undefined && this.samePerson(a.jid, s.jid)) ?? (send.length === 1 && answer.length === 1 ? answer[0] : undefined);
        results.set(s.requested, participantOutcome(s.requested, action, entry?.status));
      }
    }
    return participants.map((p) => results.get(p)!);
  }

  async updateGroup(groupId: string, patch: GroupPatch): Promise<Group> {
    const sock = this.core.readySocket();
    const { group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    const settings = patch.announce !== undefined || patch.restrict !== undefined;
    if ((settings || group.restrict) && !me.is_admin) throw notAdmin(group, settings ? 'change its settings' : 'change its info');
    const jid = toJid(group.id);
    const steps: Array<[string, () => Promise<void>]> = [];
    const { subject, description, announce, restrict } = patch;
    if (subject !== undefined) steps.push(['change its subject', () => sock.groupUpdateSubject(jid, subject)]);
    // An empty description removes it (Baileys sends a delete for undefined).
    if (description !== undefined) steps.push(['change its description', () => sock.groupUpdateDescription(jid, description === '' ? undefined : description)]);
    if (announce !== undefined) steps.push(['change who may send messages', () => sock.groupSettingUpdate(jid, announce ? 'announcement' : 'not_announcement')]);
    if (restrict !== undefined) steps.push(['change who may edit its info', () => sock.groupSettingUpdate(jid, restrict ? 'locked' : 'unlocked')]);
    for (const [what, run] of steps) {
      const refused = () => notAdmin(group, what);
      await callLibrary(what, run, { 401: refused, 403: refused });
    }
    // WhatsApp's notifications of the change come back as groups.update (baileys-events).
    this.forget(jid);
    const after = await this.getGroup(groupId);
    if (!after) throw notFound(groupId);
    return after;
  }

  async getInvite(groupId: string): Promise<string> {
    const group = await this.adminOf(groupId, 'see its invite link');
    const refused = () => notAdmin(group, 'see its invite link');
    const code = await callLibrary('get the invite code', () => this.core.readySocket().groupInviteCode(toJid(group.id)), { 401: refused, 403: refused });
    if (!code) throw new AppError('engine_error', 'WhatsApp (Baileys) did not return the invite code');
    return code;
  }

  async revokeInvite(groupId: string): Promise<string> {
    const group = await this.adminOf(groupId, 'revoke its invite link');
    const refused = () => notAdmin(group, 'revoke its invite link');
    const code = await callLibrary('revoke the invite', () => this.core.readySocket().groupRevokeInvite(toJid(group.id)), { 401: refused, 403: refused });
    if (!code) throw new AppError('engine_error', 'WhatsApp (Baileys) did not return the new invite code');
    return code;
  }

  async joinGroup(code: string): Promise<string> {
    const sock = this.core.readySocket();
    const invite = code.trim().replace(INVITE_PREFIX, '');
    const invalid = () => new AppError('not_found', 'This invite is not valid (revoked, or never existed)', { details: { invite } });
    const refused = () => new AppError('not_admin', 'WhatsApp does not let you join this group (you may have been removed from it)', { details: { invite } });
    const already = () => new AppError('conflict', 'already a member');
    try {
      const id = await callLibrary('join the group', () => sock.groupAcceptInvite(invite), { 400: invalid, 404: invalid, 406: invalid, 410: invalid, 401: refused, 403: refused, 409: already });
      const parsed = id ? parseId(id.includes('@') ? id : `${id}@g.us`) : null;
      if (parsed?.kind === 'group') return parsed.id;
      throw new AppError('engine_error', 'WhatsApp (Baileys) did not say which group it joined');
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      // Already a member: WhatsApp refuses the join with 409; the invite still names the group.
      const info = await callLibrary('read the invite', () => sock.groupGetInviteInfo(invite), { 404: invalid, 410: invalid });
      const parsed = toGroupRecord(info);
      if (parsed) return parsed.id;
      throw new AppError('engine_error', 'WhatsApp (Baileys) did not say which group the invite is for');
    }
  }

  async leaveGroup(groupId: string): Promise<void> {
    const { group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    await callLibrary('leave the group', () => this.core.readySocket().groupLeave(toJid(group.id)));
    this.forget(toJid(group.id));
  }

  /** Report a group's creation once, whichever comes first: our createGroup or WhatsApp's notification. */
  reportCreated(groupId: string, by: string | null): void {
    if (this.created.has(groupId)) return;
    this.created.add(groupId);
    if (this.created.size > 1_000) this.created.delete(this.created.values().next().value as string);
    this.core.events.emit('group_update', { group_id: groupId, type: 'created', by });
  }

  clear(): void {
    this.cache.clear();
    this.created.clear();
  }

  /** Phone numbers checked with WhatsApp first (Baileys would not say); linked ids go as they are. */
  private async addable(participants: string[]): Promise<{ send: Array<{ requested: string; jid: string }>; results: Map<string, ParticipantResult> }> {
    const sock = this.core.readySocket();
    const send: Array<{ requested: string; jid: string }> = [];
    const results = new Map<string, ParticipantResult>();
    for (const p of new Set(participants)) {
      const parsed = parseId(p);
      if (parsed?.kind !== 'phone' && parsed?.kind !== 'lid') {
        results.set(p, failed(p, 'not_on_whatsapp', `${p} does not name a person`));
        continue;
      }
      try {
        send.push({ requested: p, jid: await resolveJid(this.core, sock, parsed.id) });
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'not_on_whatsapp') throw err;
        results.set(p, failed(p, 'not_on_whatsapp', 'This number is not on WhatsApp'));
      }
    }
    return { send, results };
  }

  private async load(groupId: string): Promise<Loaded> {
    const sock = this.core.readySocket();
    if (!isGroupId(groupId)) throw notFound(groupId);
    const gone = () => notFound(groupId);
    // Fresh, not cached: rights are decided on what WhatsApp says now. A group we are not in answers 403 or 404.
    const meta = await callLibrary('read the group', () => sock.groupMetadata(toJid(groupId)), { 403: gone, 404: gone, 406: gone });
    const group = toGroupRecord(meta);
    if (!group) throw gone();
    this.remember(meta);
    return { group, me: this.meIn(group) };
  }

  private async adminOf(groupId: string, what: string): Promise<GroupRecord> {
    const { group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    if (!me.is_admin) throw notAdmin(group, what);
    return group;
  }

  private meIn(group: GroupRecord): GroupMember | null {
    const self = this.core.self();
    const lid = this.core.selfLid();
    return group.members.find((m) => (self !== null && m.id === self) || (lid !== null && m.lid === lid)) ?? null;
  }

  /** The member this id names, under either of their ids. */
  private memberIn(group: GroupRecord, id: string): GroupMember | null {
    return group.members.find((m) => this.sameMember(m, id)) ?? null;
  }

  private sameMember(m: GroupMember, id: string): boolean {
    const p = parseId(id);
    if (!p) return false;
    if (p.kind === 'phone') return m.phone === p.phone || (m.lid !== null && this.core.contacts.phoneOf(m.lid) === p.phone);
    return p.kind === 'lid' && (m.lid === p.id || (m.phone !== null && this.core.contacts.lidOf(m.phone) === p.id));
  }

  private samePerson(a: string, b: string): boolean {
    const pa = parseId(a);
    const pb = parseId(b);
    return pa !== null && pb !== null && pa.id === pb.id;
  }

  private view(g: GroupRecord): Group {
    const contacts = this.core.contacts;
    const participants = g.members.map((m) => {
      const phone = m.phone ?? (m.lid ? contacts.phoneOf(m.lid) : null);
      const lid = m.lid ?? (phone ? contacts.lidOf(phone) : null);
      const id = phone ? chatIdForPhone(phone) : m.id;
      return { id, phone, lid, name: contacts.nameOf(id) ?? (lid ? contacts.nameOf(lid) : null), is_admin: m.is_admin, is_super_admin: m.is_super_admin };
    });
    const ownerPhone = g.owner?.endsWith('@lid') ? contacts.phoneOf(g.owner) : phoneOf(g.owner);
    const owner = ownerPhone ? chatIdForPhone(ownerPhone) : g.owner;
    return { id: g.id, subject: g.subject, description: g.description, owner, created_at: g.created_at, participants, announce: g.announce, restrict: g.restrict, size: participants.length };
  }
}
