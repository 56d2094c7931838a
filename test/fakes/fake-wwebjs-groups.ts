// A stand-in for whatsapp-web.js's GroupChat (src/structures/GroupChat.js) and Client.createGroup/acceptInvite,
// with WhatsApp's rules and the library's answers: per-participant codes, setters that answer false, an
// undefined invite code, member changes that always answer {status: 200} and quietly do nothing when refused.
// Every change WhatsApp makes comes back as the GroupNotification event Client.js emits for its gp2 message.
import type { WwebjsGroupChatLike } from '../../src/engine/wwebjs-client.js';
import { FakeChat } from './fake-wwebjs-chat.js';
import type { FakeWhatsApp } from './fake-wwebjs-client.js';
import { type LibraryWid, wid } from './fake-wwebjs-people.js';

export interface FakeMember {
  admin: boolean;
  superAdmin: boolean;
}

/** A refusal from WhatsApp's servers, as puppeteer hands it over from the page (an Error named after its class). */
export function serverRefusal(status: number): Error {
  return Object.assign(new Error(`Server returned status code ${status}`), { name: 'ServerStatusCodeError' });
}

// Client.js attachEventListeners: which event each gp2 subtype is emitted as.
function eventFor(subtype: string): string {
  if (['add', 'invite', 'linked_group_join'].includes(subtype)) return 'group_join';
  if (subtype === 'remove' || subtype === 'leave') return 'group_leave';
  if (subtype === 'promote' || subtype === 'demote') return 'group_admin_changed';
  if (subtype === 'membership_approval_request') return 'group_membership_request';
  return 'group_update';
}

let inviteSeq = 0;
const newInvite = () => `Inv${(++inviteSeq).toString(36).padStart(6, '0')}AbCdEfGhIjKl`;

export class FakeGroupChat extends FakeChat implements WwebjsGroupChatLike {
  description: string | null = null;
  owner: string;
  creation: number;
  announce = false;
  restrict = false;
  invite = newInvite();
  /** By the id WhatsApp stores them under: a number's id, or a linked id. */
  readonly members = new Map<string, FakeMember>();
  /** People who left: WhatsApp refuses to add them back for a while (408). */
  readonly recentlyLeft = new Set<string>();

  constructor(
    private readonly world: FakeWhatsApp,
    chatId: string,
    subject: string,
    owner: string,
  ) {
    super(chatId, subject);
    this.owner = owner;
    this.creation = world.nowMs() / 1000;
  }

  /** Data as getChatModel serialises it: participants' linked ids swapped for known numbers (toPn), the owner not. */
  get groupMetadata() {
    const people = this.world.people;
    return {
      id: wid(this.id._serialized),
      creation: this.creation,
      owner: wid(this.owner),
      subject: this.name,
      desc: this.description ?? undefined,
      announce: this.announce,
      restrict: this.restrict,
      size: this.members.size,
      participants: [...this.members].map(([id, m]) => ({ id: wid(people.toPn(id)), isAdmin: m.admin, isSuperAdmin: m.superAdmin })),
    };
  }
  get participants(): Array<{ id: LibraryWid; isAdmin: boolean; isSuperAdmin: boolean }> {
    return this.groupMetadata.participants;
  }

  /** The stored key of the member an id names (either of their ids). */
  key(id: string): string | null {
    const people = this.world.people;
    for (const k of this.members.keys()) if (k === id || people.toPn(k) === people.toPn(id)) return k;
    return null;
  }

  private get mine(): FakeMember | undefined {
    return this.members.get(this.key(this.world.self) ?? '');
  }

  private record(method: string, args: unknown[]): void {
    this.world.last.calls.push({ method: `group.${method}`, args: [this.id._serialized, ...args] });
  }

  /** Emit the notification WhatsApp sends for a change (to everyone in the group, us included). */
  notify(subtype: string, author: string, recipients: string[] = [], body = ''): void {
    const id = `gp2${this.world.tick()}`;
    this.world.last.emit(eventFor(subtype), {
      id: { fromMe: author === this.world.self, remote: this.id._serialized, id, _serialized: `false_${this.id._serialized}_${id}` },
      body,
      type: subtype,
      timestamp: this.world.nowMs() / 1000,
      chatId: this.id._serialized,
      author,
      recipientIds: recipients,
    });
  }

  async addParticipants(ids: string[], options: { autoSendInviteV4: boolean }): Promise<Record<string, { code: number; message: string; isInviteV4Sent: boolean }> | string> {
    this.record('addParticipants', [ids, options]);
    if (!this.mine?.admin) return 'AddParticipantsError: You have no admin rights to add a participant to a group';
    const people = this.world.people;
    const out: Record<string, { code: number; message: string; isInviteV4Sent: boolean }> = {};
    for (const pId of ids) {
      const number = pId.endsWith('@lid') ? people.phoneOf(pId) : pId.split('@')[0]!;
      // The library swaps a linked id for its number and queries that: null breaks the whole call.
      if (number === null) throw new TypeError("Cannot read properties of null (reading 'server')");
      // The library's own "already a member" check compares the wrong field, so WhatsApp answers 409 itself.
      const code = this.key(pId) ? 409 : !people.exists(`${number}@c.us`) ? 404 : people.privacy.has(number) ? 403 : this.recentlyLeft.has(`${number}@c.us`) ? 408 : 200;
      out[pId] = { code, message: `code ${code}`, isInviteV4Sent: code === 403 && options.autoSendInviteV4 !== false };
      if (code !== 200) continue;
      this.members.set(`${number}@c.us`, { admin: false, superAdmin: false });
      this.notify('add', this.world.self, [`${number}@c.us`]);
    }
    return out;
  }

  // The three member changes resolve {status: 200} whatever happened; WhatsApp refuses a non-admin, and anyone
  // touching the creator, without the library saying so.
  async removeParticipants(ids: string[]): Promise<{ status: number }> {
    return this.change('removeParticipants', 'remove', ids);
  }
  async promoteParticipants(ids: string[]): Promise<{ status: number }> {
    return this.change('promoteParticipants', 'promote', ids);
  }
  async demoteParticipants(ids: string[]): Promise<{ status: number }> {
    return this.change('demoteParticipants', 'demote', ids);
  }
  /** Set true to have WhatsApp ignore member changes even from an admin (a change the server dropped). */
  dropChanges = false;

  private change(method: string, subtype: 'remove' | 'promote' | 'demote', ids: string[]): { status: number } {
    this.record(method, [ids]);
    if (!this.mine?.admin || this.dropChanges) return { status: 200 };
    for (const id of ids) {
      const k = this.key(id);
      const m = k ? this.members.get(k) : undefined;
      if (!k || !m || (m.superAdmin && subtype !== 'promote')) continue;
      if (subtype === 'remove') this.members.delete(k);
      else m.admin = subtype === 'promote';
      this.notify(subtype, this.world.self, [k]);
    }
    return { status: 200 };
  }

  async setSubject(subject: string): Promise<boolean> {
    return this.setting('setSubject', subject, !this.restrict, () => (this.name = subject), 'subject', subject);
  }
  async setDescription(description: string): Promise<boolean> {
    return this.setting('setDescription', description, !this.restrict, () => (this.description = description || null), 'description', description);
  }
  async setMessagesAdminsOnly(adminsOnly = true): Promise<boolean> {
    return this.setting('setMessagesAdminsOnly', adminsOnly, false, () => (this.announce = adminsOnly), 'announce', adminsOnly ? 'on' : 'off');
  }
  async setInfoAdminsOnly(adminsOnly = true): Promise<boolean> {
    return this.setting('setInfoAdminsOnly', adminsOnly, false, () => (this.restrict = adminsOnly), 'restrict', adminsOnly ? 'on' : 'off');
  }

  /** The setters catch WhatsApp's ServerStatusCodeError and answer false. */
  private setting(method: string, value: unknown, membersMay: boolean, apply: () => void, subtype: string, body: string): boolean {
    this.record(method, [value]);
    const mine = this.mine;
    if (!mine || (!mine.admin && !membersMay)) return false;
    apply();
    this.notify(subtype, this.world.self, [], body);
    return true;
  }

  async getInviteCode(): Promise<string | undefined> {
    this.record('getInviteCode', []);
    return this.mine?.admin ? this.invite : undefined;
  }

  async revokeInvite(): Promise<string> {
    this.record('revokeInvite', []);
    if (!this.mine?.admin) throw serverRefusal(401);
    this.invite = newInvite();
    return this.invite;
  }

  async leave(): Promise<void> {
    this.record('leave', []);
    const k = this.key(this.world.self);
    if (!k) return;
    this.members.delete(k);
    this.recentlyLeft.add(this.world.self);
    this.notify('leave', this.world.self, [this.world.self]);
  }

  /** Someone else changes the group (WhatsApp tells us through the same notifications). */
  external(subtype: 'add' | 'invite' | 'remove' | 'leave' | 'promote' | 'demote', author: string, participants: string[]): void {
    for (const p of participants) {
      const k = this.key(p);
      if (subtype === 'add' || subtype === 'invite') this.members.set(k ?? p, this.members.get(k ?? '') ?? { admin: false, superAdmin: false });
      else if (k && (subtype === 'remove' || subtype === 'leave')) this.members.delete(k);
      else if (k) this.members.get(k)!.admin = subtype === 'promote';
    }
    this.notify(subtype, author, participants);
  }
}

type CreateAnswer = { title: string; gid: LibraryWid; participants: Record<string, { statusCode: number; message: string; isGroupCreator: boolean; isInviteV4Sent: boolean }> };

/** Client.createGroup: a string on failure; the result keyed by number, even for a linked id passed in. */
export function createGroupIn(world: FakeWhatsApp, title: string, participants: string[], options: { autoSendInviteV4?: boolean }): CreateAnswer | string {
  if (title.trim() === '') return 'CreateGroupError: An unknown error occupied while creating a group';
  const people = world.people;
  const wanted = participants.filter((p) => people.exists(p));
  const failed = participants.filter((p) => !people.exists(p));
  const group = world.addGroup(`120363${String(900_000_000 + world.tick()).padStart(12, '0')}@g.us`, title, world.self, []);
  const out: CreateAnswer['participants'] = {};
  for (const p of wanted) {
    // The library swaps each linked id WhatsApp answers with for its number, and throws when it has none.
    const number = p.endsWith('@lid') ? people.phoneOf(p) : p.split('@')[0]!;
    if (number === null) throw new TypeError("Cannot read properties of null (reading '_serialized')");
    const code = people.privacy.has(number) ? 403 : 200;
    if (code === 200) group.members.set(`${number}@c.us`, { admin: false, superAdmin: false });
    out[`${number}@c.us`] = { statusCode: code, message: `code ${code}`, isGroupCreator: false, isInviteV4Sent: code === 403 && options.autoSendInviteV4 !== false };
  }
  for (const f of failed) out[f] = { statusCode: 404, message: 'The phone number is not registered on WhatsApp', isGroupCreator: false, isInviteV4Sent: false };
  group.notify('create', world.self, [], title);
  return { title, gid: wid(group.id._serialized), participants: out };
}

export function findByInvite(world: FakeWhatsApp, code: string): FakeGroupChat {
  const group = [...world.chats.values()].find((c): c is FakeGroupChat => c instanceof FakeGroupChat && c.invite === code);
  if (!group) throw serverRefusal(404);
  return group;
}

/** Client.acceptInvite: the group's id; WhatsApp refuses an unknown code, and one for a group we are in (409). */
export function acceptInviteIn(world: FakeWhatsApp, code: string): string {
  const group = findByInvite(world, code);
  if (group.key(world.self)) throw serverRefusal(409);
  group.members.set(world.self, { admin: false, superAdmin: false });
  group.notify('invite', world.self, [world.self]);
  return group.id._serialized;
}
