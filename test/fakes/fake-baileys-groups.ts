// Groups as WhatsApp keeps them, for the fake Baileys socket: metadata in Baileys' GroupMetadata shape, refusals as
// the Boom errors Baileys' query() throws (statusCode = WhatsApp's error code), per-participant answers with the
// status strings groupParticipantsUpdate returns, and the notifications WhatsApp sends back (w:gp2).
import { randomBytes } from 'node:crypto';
import type { GroupMetadata, GroupParticipant, ParticipantAction } from 'baileys';

/** Baileys throws Boom errors; the engine reads output.statusCode, as Baileys' own DisconnectReason checks do. */
export function boom(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: { statusCode, message } }, data: undefined });
}

const inviteCode = () => randomBytes(16).toString('base64url').slice(0, 22);
const pn = (digits: string) => `${digits}@s.whatsapp.net`;

export interface GroupNotices {
  participants(id: string, author: string, action: ParticipantAction, participants: GroupParticipant[]): void;
  updated(update: Partial<GroupMetadata>): void;
  created(meta: GroupMetadata): void;
}

export class FakeGroup {
  invite = inviteCode();
  constructor(public meta: GroupMetadata) {}

  member(jid: string): GroupParticipant | undefined {
    const digits = jid.split('@')[0]!.split(':')[0];
    return this.meta.participants.find((p) => p.id.split('@')[0] === digits || p.phoneNumber?.split('@')[0] === digits);
  }

  snapshot(): GroupMetadata {
    return structuredClone({ ...this.meta, size: this.meta.participants.length });
  }
}

export class FakeGroups {
  readonly byId = new Map<string, FakeGroup>();
  private next = 100;

  constructor(
    private readonly me: () => string,
    private readonly onWhatsApp: (digits: string) => boolean,
  ) {}

  add(id: string, subject: string, owner: string, members: string[], opts: { restrict?: boolean; announce?: boolean } = {}): FakeGroup {
    const participants: GroupParticipant[] = [{ id: pn(owner), admin: 'superadmin' }, ...members.map((m) => ({ id: pn(m), admin: null }))];
    const g = new FakeGroup({ id, subject, owner: pn(owner), creation: 1_700_000_000, participants, announce: opts.announce ?? false, restrict: opts.restrict ?? false, desc: undefined });
    this.byId.set(id, g);
    return g;
  }

  /** groupMetadata: 404 for a group that does not exist, 403 for one we are not in. */
  visible(jid: string): FakeGroup {
    const g = this.byId.get(jid);
    if (!g) throw boom(404, 'item-not-found');
    if (!g.member(this.me())) throw boom(403, 'forbidden');
    return g;
  }

  admin(jid: string): FakeGroup {
    const g = this.visible(jid);
    if (!g.member(this.me())?.admin) throw boom(403, 'forbidden');
    return g;
  }

  mine(): Record<string, GroupMetadata> {
    const out: Record<string, GroupMetadata> = {};
    for (const [id, g] of this.byId) if (g.member(this.me())) out[id] = g.snapshot();
    return out;
  }

  create(subject: string, jids: string[], notices: GroupNotices): GroupMetadata {
    const id = `1203630000000${this.next++}@g.us`;
    const added = jids.filter((j) => this.onWhatsApp(j.split('@')[0]!));
    const g = new FakeGroup({ id, subject, owner: this.me(), creation: Math.floor(Date.now() / 1000), participants: [{ id: this.me(), admin: 'superadmin' }, ...added.map((j) => ({ id: j, admin: null }))], desc: undefined });
    this.byId.set(id, g);
    notices.created(g.snapshot());
    return g.snapshot();
  }

  participants(jid: string, jids: string[], action: ParticipantAction, notices: GroupNotices): Array<{ status: string; jid: string; content: unknown }> {
    const g = this.admin(jid);
    const done: GroupParticipant[] = [];
    const out = jids.map((j) => {
      const m = g.member(j);
      let status = '200';
      if (action === 'add') {
        if (!this.onWhatsApp(j.split('@')[0]!)) status = '404';
        else if (m) status = '409';
        else g.meta.participants.push({ id: j, admin: null });
      } else if (!m) {
        status = '404';
      } else if (action === 'remove') {
        g.meta.participants = g.meta.participants.filter((p) => p !== m);
      } else if (action === 'promote' || action === 'demote') {
        m.admin = action === 'promote' ? 'admin' : null;
      }
      if (status === '200') done.push({ id: j, admin: null });
      return { status, jid: j, content: { tag: 'participant', attrs: { jid: j, ...(status === '200' ? {} : { error: status }) } } };
    });
    if (done.length > 0) notices.participants(jid, this.me(), action, done);
    return out;
  }

  setInfo(jid: string, change: Partial<Pick<GroupMetadata, 'subject' | 'desc'>>, notices: GroupNotices): void {
    const g = this.visible(jid);
    if (g.meta.restrict && !g.member(this.me())?.admin) throw boom(403, 'forbidden');
    Object.assign(g.meta, change);
    notices.updated({ id: jid, ...change, author: this.me() });
  }

  setting(jid: string, setting: 'announcement' | 'not_announcement' | 'locked' | 'unlocked', notices: GroupNotices): void {
    const g = this.admin(jid);
    const change = setting === 'announcement' || setting === 'not_announcement' ? { announce: setting === 'announcement' } : { restrict: setting === 'locked' };
    Object.assign(g.meta, change);
    notices.updated({ id: jid, ...change, author: this.me() });
  }

  revoke(jid: string): string {
    const g = this.admin(jid);
    g.invite = inviteCode();
    return g.invite;
  }

  byInvite(code: string): FakeGroup {
    const g = [...this.byId.values()].find((x) => x.invite === code);
    if (!g) throw boom(406, 'not-acceptable');
    return g;
  }

  join(code: string, notices: GroupNotices): string {
    const g = this.byInvite(code);
    if (g.member(this.me())) throw boom(409, 'conflict');
    g.meta.participants.push({ id: this.me(), admin: null });
    notices.participants(g.meta.id, this.me(), 'add', [{ id: this.me(), admin: null }]);
    return g.meta.id;
  }

  leave(jid: string, notices: GroupNotices): void {
    const g = this.visible(jid);
    g.meta.participants = g.meta.participants.filter((p) => p !== g.member(this.me()));
    notices.participants(jid, this.me(), 'remove', [{ id: this.me(), admin: null }]);
  }
}
