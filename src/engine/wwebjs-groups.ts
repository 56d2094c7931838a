// The wwebjs engine's groups facet. The library reports most refusals by value (a setter's false, an undefined
// invite code, a string instead of results) and some not at all (remove/promote/demote always answer
// {status: 200}), so rights are checked first the way WhatsApp applies them, and those three are verified after.
import { z } from 'zod';
import { type Group, type ParticipantAction, type ParticipantResult, chatIdForPhone, isGroupId, isLid, phoneOfChatId } from '../domain.js';
import { AppError } from '../errors.js';
import type { EngineEvents, GroupPatch, GroupsFacet, TypedEmitter } from './engine.js';
import { callLibrary, selfOf } from './wwebjs-chats.js';
import type { WwebjsChatLike, WwebjsClientLike, WwebjsGroupChatLike } from './wwebjs-client.js';
import type { WwebjsContacts } from './wwebjs-contacts.js';
import { addOutcome, callRefusable, failed, ok, participantAnswers } from './wwebjs-group-results.js';
import type { LidBook } from './wwebjs-lids.js';
import { type GroupMember, type GroupRecord, toGroupRecord } from './wwebjs-map-groups.js';

export interface WwebjsGroupsCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly lids: LidBook;
  readonly contacts: WwebjsContacts;
  readyClient(): WwebjsClientLike;
  /** Wall clock in ms. */
  now(): number;
}

interface Loaded {
  chat: WwebjsGroupChatLike;
  group: GroupRecord;
  /** Our own entry in it; null when we are not (or no longer) a member. */
  me: GroupMember | null;
}

const INVITE_PREFIX = /^https?:\/\/chat\.whatsapp\.com\//i;
const createAnswer = z.object({ gid: z.union([z.string(), z.object({ _serialized: z.string() }).transform((g) => g._serialized)]), participants: participantAnswers.catch({}) });
// The three member changes, and how to tell afterwards that WhatsApp applied each.
const CHANGES = {
  remove: { method: 'removeParticipants', verb: 'remove participants', applied: (m: GroupMember | null) => m === null },
  promote: { method: 'promoteParticipants', verb: 'promote participants', applied: (m: GroupMember | null) => m?.is_admin === true },
  demote: { method: 'demoteParticipants', verb: 'demote participants', applied: (m: GroupMember | null) => m !== null && !m.is_admin },
} as const;

function isGroupChat(chat: WwebjsChatLike | undefined): chat is WwebjsGroupChatLike {
  return typeof (chat as Partial<WwebjsGroupChatLike> | undefined)?.addParticipants === 'function';
}

const notFound = (groupId: string) => new AppError('not_found', `No group ${groupId}`, { hint: 'GET /api/groups lists the groups you are in.', details: { group_id: groupId } });

function notAdmin(g: GroupRecord, what: string): AppError {
  return new AppError('not_admin', `Only admins of ${g.subject} can ${what}`, { hint: 'Ask an admin of the group to make you admin, or to make the change.', details: { group_id: g.id } });
}

function notMember(g: GroupRecord): AppError {
  return new AppError('not_admin', `You are not a member of ${g.subject}`, { details: { group_id: g.id } });
}

export class WwebjsGroups implements GroupsFacet {
  /** Groups whose creation was reported: the library's own "create" notification and ours make one event. */
  private readonly created = new Set<string>();

  constructor(private readonly core: WwebjsGroupsCore) {}

  async listGroups(): Promise<Group[]> {
    const client = this.core.readyClient();
    const chats = await callLibrary('list chats', () => client.getChats());
    const groups = chats.map(toGroupRecord).filter((g): g is GroupRecord => g !== null);
    await this.learnLids(groups);
    // WhatsApp Web keeps the chats of groups you left; they are not yours any more.
    const mine = groups.filter((g) => this.memberIn(g, selfOf(client)) !== null);
    const names = await this.core.contacts.names();
    return mine.map((g) => this.view(g, names));
  }

  async getGroup(groupId: string): Promise<Group | null> {
    try {
      const { group } = await this.load(groupId);
      return this.view(group, await this.core.contacts.names());
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null;
      throw err;
    }
  }

  /** The group as the library shows it now, without names (what a notification changed); null when unknown. */
  async current(groupId: string): Promise<GroupRecord | null> {
    try {
      return (await this.load(groupId)).group;
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null;
      throw err;
    }
  }

  async createGroup(subject: string, participants: string[]): Promise<{ group: Group; results: ParticipantResult[] }> {
    const client = this.core.readyClient();
    const { send, results } = await this.addable(participants);
    // autoSendInviteV4 off: the library would otherwise message an invitation to people whose privacy refuses adds.
    const raw = await callLibrary('create the group', () => client.createGroup(subject, send.map((s) => s.libId), { autoSendInviteV4: false }));
    const answer = createAnswer.safeParse(raw);
    if (!answer.success || !isGroupId(answer.data.gid)) {
      throw new AppError('engine_error', `WhatsApp Web did not create the group${typeof raw === 'string' ? ` (${raw})` : ''}`);
    }
    const groupId = answer.data.gid;
    // Keyed by the number even for a linked id we passed as a number; people not on WhatsApp by what we passed.
    for (const s of send) results.set(s.requested, addOutcome(s.requested, answer.data.participants[s.libId]));
    const me = selfOf(client);
    this.reportCreated(groupId, me);
    const added = participants.filter((p) => results.get(p)?.ok);
    if (added.length > 0) this.core.events.emit('group_update', { group_id: groupId, type: 'participants', by: me, action: 'add', participants: added });
    const group = (await this.getGroup(groupId).catch(() => null)) ?? this.justCreated(groupId, subject, me, added);
    return { group, results: participants.map((p) => results.get(p)!) };
  }

  async updateParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<ParticipantResult[]> {
    const { chat, group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    if (!me.is_admin) throw notAdmin(group, 'change its members');
    await this.core.lids.ask(participants.filter(isLid));
    return action === 'add' ? this.add(chat, group, participants) : this.change(chat, group, action, participants);
  }

  async updateGroup(groupId: string, patch: GroupPatch): Promise<Group> {
    const { chat, group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    const settings = patch.announce !== undefined || patch.restrict !== undefined;
    // Checked first so a patch WhatsApp would refuse halfway changes nothing.
    if ((settings || group.restrict) && !me.is_admin) throw notAdmin(group, settings ? 'change its settings' : 'change its info');
    const steps: Array<[string, () => Promise<boolean>]> = [];
    const { subject, description, announce, restrict } = patch;
    if (subject !== undefined) steps.push(['change its subject', () => chat.setSubject(subject)]);
    if (description !== undefined) steps.push(['change its description', () => chat.setDescription(description)]);
    if (announce !== undefined) steps.push(['change who may send messages', () => chat.setMessagesAdminsOnly(announce)]);
    if (restrict !== undefined) steps.push(['change who may edit its info', () => chat.setInfoAdminsOnly(restrict)]);
    // Each setter answers false when WhatsApp refused it (ServerStatusCodeError), whatever our metadata said.
    for (const [what, run] of steps) if ((await callLibrary(what, run)) !== true) throw notAdmin(group, what);
    // The changes come back as the library's group_update notifications (wwebjs-group-events).
    const after = await this.getGroup(groupId);
    if (!after) throw notFound(groupId);
    return after;
  }

  async getInvite(groupId: string): Promise<string> {
    const { chat, group } = await this.adminOf(groupId, 'see its invite link');
    // undefined when WhatsApp refused (ServerStatusCodeError), e.g. our admin rights were just taken away.
    const code = await callLibrary('get the invite code', () => chat.getInviteCode());
    if (code === undefined) throw notAdmin(group, 'see its invite link');
    if (typeof code !== 'string' || code === '') throw new AppError('engine_error', 'WhatsApp Web did not return the invite code');
    return code;
  }

  async revokeInvite(groupId: string): Promise<string> {
    const { chat, group } = await this.adminOf(groupId, 'revoke its invite link');
    const refused = () => notAdmin(group, 'revoke its invite link');
    const code = await callRefusable('revoke the invite', () => chat.revokeInvite(), { 401: refused, 403: refused });
    if (typeof code !== 'string' || code === '') throw new AppError('engine_error', 'WhatsApp Web did not return the new invite code');
    return code;
  }

  async joinGroup(code: string): Promise<string> {
    const client = this.core.readyClient();
    const invite = code.trim().replace(INVITE_PREFIX, '');
    const invalid = () => new AppError('not_found', 'This invite is not valid (revoked, or never existed)', { details: { invite } });
    const refused = () => new AppError('not_admin', 'WhatsApp does not let you join this group (you may have been removed from it)', { details: { invite } });
    const already = () => new AppError('conflict', 'already a member');
    try {
      const id = await callRefusable('join the group', () => client.acceptInvite(invite), { 400: invalid, 404: invalid, 406: invalid, 410: invalid, 401: refused, 403: refused, 409: already });
      if (typeof id === 'string' && isGroupId(id)) return id;
      throw new AppError('engine_error', 'WhatsApp Web did not say which group it joined');
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      // Already a member: WhatsApp refuses the join with 409; the invite still names the group.
      const info = await callRefusable('read the invite', () => client.getInviteInfo(invite), { 404: invalid, 410: invalid });
      const id = z.object({ id: z.union([z.string(), z.object({ _serialized: z.string() }).transform((v) => v._serialized)]) }).safeParse(info);
      if (id.success && isGroupId(id.data.id)) return id.data.id;
      throw new AppError('engine_error', 'WhatsApp Web did not say which group the invite is for');
    }
  }

  async leaveGroup(groupId: string): Promise<void> {
    const { chat, group, me } = await this.load(groupId);
    if (!me) throw notMember(group);
    // Reported back by the library as a group_leave notification.
    await callLibrary('leave the group', () => chat.leave());
  }

  /** Report a group's creation once, whichever comes first: our createGroup or the library's notification. */
  reportCreated(groupId: string, by: string | null): void {
    if (this.created.has(groupId)) return;
    this.created.add(groupId);
    if (this.created.size > 1_000) this.created.delete(this.created.values().next().value as string);
    this.core.events.emit('group_update', { group_id: groupId, type: 'created', by });
  }

  private async add(chat: WwebjsGroupChatLike, group: GroupRecord, participants: string[]): Promise<ParticipantResult[]> {
    const { send, results } = await this.addable(participants);
    for (const p of participants) if (this.memberIn(group, p)) results.set(p, failed(p, 'already_member', 'Already in the group'));
    const todo = send.filter((s) => !results.has(s.requested));
    if (todo.length > 0) {
      const raw = await callLibrary('add participants', () => chat.addParticipants(todo.map((s) => s.libId), { autoSendInviteV4: false }));
      // A string is the whole call refused: "AddParticipantsError: You have no admin rights ..." or an empty group.
      if (typeof raw === 'string') throw /admin/i.test(raw) ? notAdmin(group, 'change its members') : new AppError('engine_error', `WhatsApp Web could not add participants: ${raw}`);
      const answers = participantAnswers.safeParse(raw);
      for (const s of todo) results.set(s.requested, addOutcome(s.requested, answers.success ? answers.data[s.libId] : undefined));
    }
    return participants.map((p) => results.get(p)!);
  }

  private async change(chat: WwebjsGroupChatLike, group: GroupRecord, action: keyof typeof CHANGES, participants: string[]): Promise<ParticipantResult[]> {
    const spec = CHANGES[action];
    const results = new Map<string, ParticipantResult>();
    const pending = new Map<string, string>(); // requested id -> the id the group lists them under
    for (const p of participants) {
      const m = this.memberIn(group, p);
      if (!m) results.set(p, failed(p, 'not_member', 'Not in the group'));
      else if (m.is_super_admin && action !== 'promote') results.set(p, failed(p, 'not_admin', 'They created the group: nobody can remove or demote them'));
      else if (spec.applied(m)) results.set(p, ok(p)); // already so: nothing to ask
      else pending.set(p, m.id);
    }
    if (pending.size > 0) {
      await callLibrary(spec.verb, () => chat[spec.method]([...new Set(pending.values())]));
      const after = (await this.load(group.id)).group;
      for (const [p, listed] of pending) {
        results.set(p, spec.applied(this.memberIn(after, listed)) ? ok(p) : failed(p, 'engine_error', 'WhatsApp did not apply the change'));
      }
    }
    return participants.map((p) => results.get(p)!);
  }

  /** The ids to hand the library for adding: a linked id goes as its number, which the library needs. */
  private async addable(participants: string[]): Promise<{ send: Array<{ requested: string; libId: string }>; results: Map<string, ParticipantResult> }> {
    await this.core.lids.ask(participants.filter(isLid));
    const send: Array<{ requested: string; libId: string }> = [];
    const results = new Map<string, ParticipantResult>();
    for (const p of new Set(participants)) {
      const phone = isLid(p) ? this.core.lids.phoneOf(p) : phoneOfChatId(p);
      // The library looks a linked id's number up itself and fails on null, after creating the group.
      if (phone !== null) send.push({ requested: p, libId: chatIdForPhone(phone) });
      else if (isLid(p)) results.set(p, failed(p, 'engine_error', 'WhatsApp Web does not know the number behind this linked id; use the phone number'));
      else results.set(p, failed(p, 'not_on_whatsapp', `${p} does not name a person`));
    }
    return { send, results };
  }

  private async load(groupId: string): Promise<Loaded> {
    const client = this.core.readyClient();
    if (!isGroupId(groupId)) throw notFound(groupId);
    const chat = await callRefusable('open the group', () => client.getChatById(groupId), { 404: () => notFound(groupId) });
    const group = chat ? toGroupRecord(chat) : null;
    if (!isGroupChat(chat) || !group) throw notFound(groupId);
    await this.learnLids([group]);
    return { chat, group, me: this.memberIn(group, selfOf(client)) };
  }

  private async adminOf(groupId: string, what: string): Promise<Loaded> {
    const loaded = await this.load(groupId);
    if (!loaded.me) throw notMember(loaded.group);
    if (!loaded.me.is_admin) throw notAdmin(loaded.group, what);
    return loaded;
  }

  /** Ask once about the linked ids in these groups, so their numbers can be shown. */
  private async learnLids(groups: GroupRecord[]): Promise<void> {
    const ids = groups.flatMap((g) => [...g.members.map((m) => m.id), g.owner ?? '']).filter(isLid);
    if (ids.length > 0) await this.core.lids.ask(ids);
  }

  /** The member this id names, under either of their ids. */
  private memberIn(group: GroupRecord, id: string | null): GroupMember | null {
    if (!id) return null;
    const key = this.phoneKey(id);
    return group.members.find((m) => m.id === id || (key !== null && this.phoneKey(m.id) === key)) ?? null;
  }

  private phoneKey(id: string): string | null {
    return isLid(id) ? this.core.lids.phoneOf(id) : phoneOfChatId(id);
  }

  private view(g: GroupRecord, names: Map<string, string>): Group {
    const lids = this.core.lids;
    const participants = g.members.map((m) => {
      const phone = this.phoneKey(m.id);
      const lid = isLid(m.id) ? m.id : phone ? lids.lidOf(phone) : null;
      const name = names.get(m.id) ?? (phone ? names.get(chatIdForPhone(phone)) : undefined) ?? (lid ? names.get(lid) : undefined) ?? null;
      return { id: m.id, phone, lid, name, is_admin: m.is_admin, is_super_admin: m.is_super_admin };
    });
    const ownerPhone = g.owner && isLid(g.owner) ? lids.phoneOf(g.owner) : null;
    const owner = ownerPhone ? chatIdForPhone(ownerPhone) : g.owner;
    return { id: g.id, subject: g.subject, description: g.description, owner, created_at: g.created_at, participants, announce: g.announce, restrict: g.restrict, size: participants.length };
  }

  /** What we know of a group we just created, when WhatsApp Web cannot show it yet. */
  private justCreated(groupId: string, subject: string, me: string | null, added: string[]): Group {
    const people = [...(me ? [{ id: me, admin: true }] : []), ...added.map((id) => ({ id, admin: false }))];
    const participants = people.map((p) => ({ id: p.id, phone: this.phoneKey(p.id), lid: isLid(p.id) ? p.id : null, name: null, is_admin: p.admin, is_super_admin: p.admin }));
    const createdAt = Math.floor(this.core.now() / 1000);
    return { id: groupId, subject, description: null, owner: me, created_at: createdAt, participants, announce: false, restrict: false, size: participants.length };
  }
}
