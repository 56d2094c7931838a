// A stand-in for Baileys' socket (makeWASocket): the library's real event names and payload shapes
// (src/Types/Events.ts, WAMessage with key {remoteJid, fromMe, id, participant, remoteJidAlt, participantAlt}),
// its connection sequence (connecting on the next tick, then a QR, an open, or a close with a DisconnectReason
// status), its echo of our own sends (emitOwnEvents: an "append" upsert, then the reaction/edit/revoke as if
// received), its silence about numbers without WhatsApp, and a record of every call.
import { randomBytes } from 'node:crypto';
import type { AnyMessageContent, BaileysEventMap, ChatModification, Contact, GroupMetadata, MiscMessageGenerationOptions, ParticipantAction, WAMessage, WAMessageKey, WAPresence } from 'baileys';
import type { BaileysSocketFactory, BaileysSocketLike, BaileysSocketSpec } from '../../src/engine/baileys-socket.js';
import { buildContent, type MediaKind, mediaMessage, messageId } from './fake-baileys-content.js';
import { boom, FakeGroups, type GroupNotices } from './fake-baileys-groups.js';

export { boom } from './fake-baileys-groups.js';

type Listener = (arg: never) => void;
const later = (fn: () => void) => setImmediate(fn);

class FakeEv {
  private listeners = new Map<string, Listener[]>();
  /** Listeners as they were when the socket ended: handlers still running in a retired socket may emit to them. */
  private retired = new Map<string, Listener[]>();
  on<T extends keyof BaileysEventMap>(event: T, listener: (arg: BaileysEventMap[T]) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener as Listener]);
  }
  emit<T extends keyof BaileysEventMap>(event: T, arg: BaileysEventMap[T]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a: BaileysEventMap[T]) => void)(arg);
  }
  count(): number {
    return [...this.listeners.values()].reduce((n, l) => n + l.length, 0);
  }
  /** What Baileys' end() does: removeAllListeners('connection.update') and ev.destroy(). */
  destroy(): void {
    this.retired = this.listeners;
    this.listeners = new Map();
  }
  /** An event from a retired socket's unfinished work (a late decrypt, a stray frame). */
  ghost<T extends keyof BaileysEventMap>(event: T, arg: BaileysEventMap[T]): void {
    for (const l of this.retired.get(event) ?? this.listeners.get(event) ?? []) (l as (a: BaileysEventMap[T]) => void)(arg);
  }
}

export class FakeBaileysWorld {
  readonly sockets: FakeBaileysSocket[] = [];
  /**
   * offline: every socket closes with 408 right after connecting, as Baileys does with no network; hang: nothing
   * after "connecting"; restart: every socket closes with 515 right after connecting.
   */
  network: 'online' | 'offline' | 'hang' | 'restart' = 'online';
  readonly me = { phone: '15550109999', lid: '99000000000001@lid', name: 'Harness', device: 7 };
  readonly files = new Map<string, Buffer>();
  /** Linked ids WhatsApp knows the number of (Baileys' LID store answers these). */
  readonly lids = new Map<string, string>();
  readonly groups = new FakeGroups(() => `${this.me.phone}@s.whatsapp.net`, (d) => this.onWhatsApp(d));
  pairingCode = 'K7QX2M9P';
  /** What the phone holds beyond what it synced, per jid, oldest first: fetchMessageHistory answers from it. */
  readonly phoneHistory = new Map<string, WAMessage[]>();
  /** never: the phone is offline and on-demand history requests go unanswered. */
  historyAnswers: 'yes' | 'never' = 'yes';
  /** When each socket was made (Date.now(), faked or not). */
  readonly madeAt: number[] = [];
  readonly factory: BaileysSocketFactory = (spec) => {
    this.madeAt.push(Date.now());
    const s = new FakeBaileysSocket(this, spec);
    this.sockets.push(s);
    return s;
  };

  /** The sandbox's rule: a number ending in 0000 has no WhatsApp. */
  onWhatsApp(digits: string): boolean {
    return /^\d{8,15}$/.test(digits) && !digits.endsWith('0000');
  }

  get last(): FakeBaileysSocket {
    const s = this.sockets.at(-1);
    if (!s) throw new Error('no socket was made');
    return s;
  }
}

export class FakeBaileysSocket implements BaileysSocketLike {
  readonly ev = new FakeEv();
  readonly calls: Array<[string, ...unknown[]]> = [];
  state: 'connecting' | 'qr' | 'open' | 'closed' = 'connecting';
  readonly signalRepository;

  constructor(
    private readonly world: FakeBaileysWorld,
    readonly spec: BaileysSocketSpec,
  ) {
    this.signalRepository = {
      lidMapping: {
        getPNForLID: async (lid: string) => world.lids.get(lid.replace(/:\d+@/, '@')) ?? null,
        getLIDForPN: async (pnJid: string) => [...world.lids].find(([, p]) => p === pnJid)?.[0] ?? null,
      },
    };
    process.nextTick(() => {
      this.ev.emit('connection.update', { connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
      later(() => this.afterHandshake());
    });
  }

  get user(): Contact | undefined {
    return this.spec.auth.creds.me;
  }

  private get linked(): boolean {
    const c = this.spec.auth.creds;
    return c.registered === true || c.account != null;
  }

  private afterHandshake(): void {
    if (this.state === 'closed') return;
    if (this.world.network === 'offline') return this.close(408, 'WebSocket Error (getaddrinfo EAI_AGAIN web.whatsapp.com)');
    if (this.world.network === 'hang') return;
    if (this.world.network === 'restart') return this.close(515, 'Stream Errored (restart required)');
    if (!this.linked) return this.showQr();
    this.state = 'open';
    this.creds({ me: { ...this.spec.auth.creds.me!, lid: `${this.world.me.lid.split('@')[0]}:${this.world.me.device}@lid` } });
    this.ev.emit('connection.update', { connection: 'open' });
  }

  private showQr(): void {
    this.state = 'qr';
    this.ev.emit('connection.update', { qr: `2@${randomBytes(8).toString('base64')},fakeNoise,fakeIdentity,fakeAdv` });
  }

  /** Baileys merges creds.update into auth.creds itself (its own listener runs first), then emits it. */
  creds(update: Partial<BaileysSocketSpec['auth']['creds']>): void {
    Object.assign(this.spec.auth.creds, update);
    this.ev.emit('creds.update', update);
  }

  /** The server ends the connection with this DisconnectReason status (Baileys' end(Boom)). */
  close(statusCode: number | null, message = 'Connection Closed'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const error = statusCode === null ? undefined : boom(statusCode, message);
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.destroy();
  }

  /** The phone scanned the QR (or took the pairing code): pair-success, then WhatsApp's 515 restart request. */
  link(): void {
    if (this.state !== 'qr') throw new Error(`fake socket: nothing to link in state ${this.state}`);
    const { phone, name, lid, device } = this.world.me;
    this.creds({
      me: { id: `${phone}:${device}@s.whatsapp.net`, name, lid: `${lid.split('@')[0]}:${device}@lid` },
      account: { details: new Uint8Array([1]), accountSignatureKey: new Uint8Array([2]), accountSignature: new Uint8Array([3]), deviceSignature: new Uint8Array([4]) },
      platform: 'android',
      ...(this.spec.auth.creds.pairingCode ? { registered: true } : {}),
    });
    this.ev.emit('connection.update', { isNewLogin: true, qr: undefined });
    later(() => this.close(515, 'Stream Errored (restart required)'));
  }

  /** Deliver a message as WhatsApp would: a "notify" upsert (and the push name as contacts.update). */
  receive(msg: WAMessage): WAMessage {
    this.ev.emit('messages.upsert', { messages: [msg], type: 'notify' });
    if (msg.pushName && !msg.key.fromMe) this.ev.emit('contacts.update', [{ id: (msg.key.participant ?? msg.key.remoteJid)!, notify: msg.pushName }]);
    return msg;
  }

  /** A contact writes: `from` is "<digits>@c.us" or a group sender as {group, from}. */
  inbound(from: string, body: string, o: { group?: string; lid?: string; pushName?: string } = {}): WAMessage {
    const pnJid = `${from.split('@')[0]}@s.whatsapp.net`;
    const key: WAMessageKey & { remoteJidAlt?: string; participantAlt?: string } = o.group
      ? { remoteJid: o.group, fromMe: false, id: messageId(), participant: o.lid ?? pnJid, ...(o.lid ? { participantAlt: pnJid } : {}) }
      : { remoteJid: o.lid ?? pnJid, fromMe: false, id: messageId(), ...(o.lid ? { remoteJidAlt: pnJid } : {}) };
    return this.receive({ key, message: { conversation: body }, messageTimestamp: Math.floor(Date.now() / 1000), pushName: o.pushName ?? 'Peer' });
  }

  inboundMedia(from: string, file: { data: Buffer; mimetype: string; filename: string | null; kind: MediaKind; caption?: string }): WAMessage {
    const url = `https://mmg.whatsapp.net/v/fake/${messageId()}`;
    this.world.files.set(url, file.data);
    const message = mediaMessage(file.kind, file.data, url, { mimetype: file.mimetype, caption: file.caption, fileName: file.filename ?? undefined });
    const key = { remoteJid: `${from.split('@')[0]}@s.whatsapp.net`, fromMe: false, id: messageId() };
    return this.receive({ key, message, messageTimestamp: Math.floor(Date.now() / 1000), pushName: 'Peer' });
  }

  callsTo(method: string): unknown[][] {
    return this.calls.filter((c) => c[0] === method).map((c) => c.slice(1));
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push([method, ...args]);
  }

  private connected(): void {
    if (this.state !== 'open') throw boom(428, 'Connection Closed');
  }

  private readonly notices: GroupNotices = {
    participants: (id, author, action, participants) => later(() => this.ev.emit('group-participants.update', { id, author, participants, action })),
    updated: (update) => later(() => this.ev.emit('groups.update', [update])),
    created: (meta) => later(() => this.ev.emit('groups.upsert', [{ ...meta, author: meta.owner }])),
  };

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.record('requestPairingCode', phoneNumber);
    if (this.state !== 'qr') throw boom(428, 'Connection Closed');
    this.creds({ pairingCode: this.world.pairingCode, me: { id: `${phoneNumber}@s.whatsapp.net`, name: '~' } });
    return this.world.pairingCode;
  }

  async logout(msg?: string): Promise<void> {
    this.record('logout', msg);
    this.connected();
    this.close(401, 'Intentional Logout');
  }

  end(error: Error | undefined): void {
    this.record('end', error);
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.destroy();
  }

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    this.record('sendMessage', jid, content, options);
    this.connected();
    const me = `${this.world.me.phone}@s.whatsapp.net`;
    const built = buildContent(content, { me, quoted: options?.quoted, cdn: 'https://mmg.whatsapp.net/v/fake' });
    if (built.file) this.world.files.set(built.file.url, built.file.data);
    const full: WAMessage = { key: { remoteJid: jid, fromMe: true, id: messageId() }, message: built.message, messageTimestamp: Math.floor(Date.now() / 1000), status: 1 };
    later(() => this.echo(full));
    return full;
  }

  /** emitOwnEvents: upsertMessage(fullMsg, 'append'), then processMessage as for a received message. */
  private echo(full: WAMessage): void {
    this.ev.emit('messages.upsert', { messages: [full], type: 'append' });
    const m = full.message!;
    if (m.reactionMessage) this.ev.emit('messages.reaction', [{ key: m.reactionMessage.key!, reaction: { ...m.reactionMessage, key: full.key } }]);
    const p = m.protocolMessage;
    if (p?.type === 0) this.ev.emit('messages.update', [{ key: { ...full.key, id: p.key!.id }, update: { message: null, messageStubType: 1, key: full.key } }]);
    if (p?.type === 14) this.ev.emit('messages.update', [{ key: { ...full.key, id: p.key!.id }, update: { message: { editedMessage: { message: p.editedMessage } }, messageTimestamp: full.messageTimestamp } }]);
  }

  /** As the phone does: the `count` messages before the oldest one named, as an ON_DEMAND history set, later. */
  async fetchMessageHistory(count: number, oldestMsgKey: WAMessageKey, oldestMsgTimestamp: number): Promise<string> {
    this.record('fetchMessageHistory', count, oldestMsgKey, oldestMsgTimestamp);
    this.connected();
    const requestId = messageId();
    if (this.world.historyAnswers === 'never') return requestId;
    const jid = oldestMsgKey.remoteJid!;
    const older = (this.world.phoneHistory.get(jid) ?? []).filter((m) => Number(m.messageTimestamp) * 1000 < oldestMsgTimestamp).slice(-count);
    // processHistoryMessage: the conversation as a chat (its messages taken out), the messages newest first.
    later(() => this.ev.emit('messaging-history.set', { chats: [{ id: jid }], contacts: [], messages: [...older].reverse(), syncType: 6, progress: null, isLatest: undefined, peerDataRequestSessionId: requestId }));
    return requestId;
  }

  async readMessages(keys: WAMessageKey[]): Promise<void> {
    this.record('readMessages', keys);
    this.connected();
  }

  async chatModify(mod: ChatModification, jid: string): Promise<void> {
    this.record('chatModify', mod, jid);
    this.connected();
    if ('deleteForMe' in mod) later(() => this.ev.emit('messages.delete', { keys: [mod.deleteForMe.key] }));
  }

  async sendPresenceUpdate(type: WAPresence, toJid?: string): Promise<void> {
    this.record('sendPresenceUpdate', type, toJid);
    this.connected();
  }

  async onWhatsApp(...phoneNumbers: string[]): Promise<Array<{ jid: string; exists: boolean }> | undefined> {
    this.record('onWhatsApp', ...phoneNumbers);
    this.connected();
    // As Baileys does: results.list.filter(a => !!a.contact): numbers without WhatsApp are left out.
    return phoneNumbers.map((p) => p.replace('+', '').split('@')[0]!).filter((d) => this.world.onWhatsApp(d)).map((d) => ({ jid: `${d}@s.whatsapp.net`, exists: true }));
  }

  async downloadMedia(message: WAMessage): Promise<Buffer> {
    this.record('downloadMedia', message.key.id);
    const inner = Object.values(message.message ?? {}).find((v) => v && typeof v === 'object' && 'url' in v) as { url?: string } | undefined;
    const data = inner?.url ? this.world.files.get(inner.url) : undefined;
    if (!data) throw boom(404, 'Failed to fetch stream');
    return data;
  }

  async groupMetadata(jid: string): Promise<GroupMetadata> {
    this.record('groupMetadata', jid);
    this.connected();
    return this.world.groups.visible(jid).snapshot();
  }

  async groupFetchAllParticipating(): Promise<{ [jid: string]: GroupMetadata }> {
    this.record('groupFetchAllParticipating');
    this.connected();
    return this.world.groups.mine();
  }

  async groupCreate(subject: string, participants: string[]): Promise<GroupMetadata> {
    this.record('groupCreate', subject, participants);
    this.connected();
    return this.world.groups.create(subject, participants, this.notices);
  }

  async groupParticipantsUpdate(jid: string, participants: string[], action: ParticipantAction): Promise<Array<{ status: string; jid: string | undefined }>> {
    this.record('groupParticipantsUpdate', jid, participants, action);
    this.connected();
    return this.world.groups.participants(jid, participants, action, this.notices);
  }

  async groupUpdateSubject(jid: string, subject: string): Promise<void> {
    this.record('groupUpdateSubject', jid, subject);
    this.connected();
    this.world.groups.setInfo(jid, { subject }, this.notices);
  }

  async groupUpdateDescription(jid: string, description?: string): Promise<void> {
    this.record('groupUpdateDescription', jid, description);
    this.connected();
    this.world.groups.setInfo(jid, { desc: description }, this.notices);
  }

  async groupSettingUpdate(jid: string, setting: 'announcement' | 'not_announcement' | 'locked' | 'unlocked'): Promise<void> {
    this.record('groupSettingUpdate', jid, setting);
    this.connected();
    this.world.groups.setting(jid, setting, this.notices);
  }

  async groupInviteCode(jid: string): Promise<string | undefined> {
    this.record('groupInviteCode', jid);
    this.connected();
    return this.world.groups.admin(jid).invite;
  }

  async groupRevokeInvite(jid: string): Promise<string | undefined> {
    this.record('groupRevokeInvite', jid);
    this.connected();
    return this.world.groups.revoke(jid);
  }

  async groupAcceptInvite(code: string): Promise<string | undefined> {
    this.record('groupAcceptInvite', code);
    this.connected();
    return this.world.groups.join(code, this.notices);
  }

  async groupGetInviteInfo(code: string): Promise<GroupMetadata> {
    this.record('groupGetInviteInfo', code);
    this.connected();
    return this.world.groups.byInvite(code).snapshot();
  }

  async groupLeave(jid: string): Promise<void> {
    this.record('groupLeave', jid);
    this.connected();
    this.world.groups.leave(jid, this.notices);
  }
}
