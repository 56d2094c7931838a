// A stand-in for whatsapp-web.js's Client: the library's real event names, payloads shaped like its real
// Message/Chat/Reaction objects (see node_modules/whatsapp-web.js/src/structures), its quiet failure style
// (null/undefined instead of errors), and a record of every call.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import wweb from 'whatsapp-web.js';
import type {
  WwebjsClientFactory,
  WwebjsClientLike,
  WwebjsClientSpec,
  WwebjsContent,
  WwebjsSendOptions,
} from '../../src/engine/wwebjs-client.js';
import { FakeChat } from './fake-wwebjs-chat.js';
import { FakeMessage } from './fake-wwebjs-message.js';
import { acceptInviteIn, createGroupIn, FakeGroupChat, findByInvite } from './fake-wwebjs-groups.js';
import { FakePeople, wid } from './fake-wwebjs-people.js';

export { FakeChat } from './fake-wwebjs-chat.js';
export { FakeMessage } from './fake-wwebjs-message.js';
export { FakeGroupChat } from './fake-wwebjs-groups.js';

const { MessageMedia, Location, Poll } = wweb;

export interface LibraryId {
  fromMe: boolean;
  remote: string;
  id: string;
  participant?: string;
  _serialized: string;
}

/** Raw WhatsApp Web model fields (`message._data`) for media, quotes, edits, locations and polls. */
export interface RawMessageData {
  body?: string;
  mimetype?: string;
  filename?: string;
  size?: number;
  /** Base64 sha256 of the plain file. */
  filehash?: string;
  directPath?: string;
  caption?: string;
  quotedMsg?: { type: string; body?: string; caption?: string };
  quotedStanzaID?: string;
  quotedParticipant?: string;
  quotedRemoteJid?: string;
  latestEditMsgKey?: LibraryId;
  latestEditSenderTimestampMs?: number;
  lat?: number;
  lng?: number;
  loc?: string;
  pollName?: string;
  pollOptions?: Array<{ name: string; localId: number }>;
  pollSelectableOptionsCount?: number;
}

/** Field names as on whatsapp-web.js Message (after Message._patch), `_data` included. */
export interface LibraryMessage {
  id: LibraryId;
  from: string;
  to: string;
  author: string | undefined;
  fromMe: boolean;
  type: string;
  body: string;
  timestamp: number;
  hasMedia: boolean;
  ack: number;
  hasQuotedMsg?: boolean;
  _data?: RawMessageData;
  location?: { latitude: number; longitude: number; name?: string; address?: string; description?: string };
  pollName?: string;
  pollOptions?: Array<{ name: string; localId: number }>;
  allowMultipleAnswers?: boolean;
  latestEditMsgKey?: LibraryId;
}

export type InitBehaviour = 'qr' | 'linked' | 'hang' | Error;
export type FakeMediaType = 'image' | 'video' | 'audio' | 'ptt' | 'document' | 'sticker';

// The send path puts a JPEG preview in _data.body of media and locations; Message.body shows it for locations.
export const THUMBNAIL = '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA==';

/** The WhatsApp side shared by every client the engine creates: accounts, chats, messages, files, a clock. */
export class FakeWhatsApp {
  readonly clients: FakeWwebjsClient[] = [];
  readonly registered = new Set<string>(['15550100001', '15550100002', '15550100003']);
  readonly chats = new Map<string, FakeChat>();
  /** The page's message store by serialized id (what getMessageById finds). */
  readonly store = new Map<string, LibraryMessage>();
  /** What the media CDN holds, by message id; delete an entry to make the file expire. */
  readonly files = new Map<string, Buffer>();
  /** Chats sendMessage cannot resolve: it returns undefined for them, as the library does. */
  readonly unresolvable = new Set<string>();
  readonly self = '15550109999@c.us';
  /** Who is on WhatsApp, linked ids and their numbers, saved contacts. */
  readonly people = new FakePeople(this.registered, this.self);
  /** What each next initialize() does; 'qr' once the queue is empty. */
  readonly initQueue: InitBehaviour[] = [];
  private clock = 1_700_000_000;
  private seq = 0;

  readonly factory: WwebjsClientFactory = (spec) => {
    const client = new FakeWwebjsClient(spec, this, this.initQueue.shift() ?? 'qr');
    this.clients.push(client);
    return client;
  };

  get last(): FakeWwebjsClient {
    const client = this.clients.at(-1);
    if (!client) throw new Error('no client was created');
    return client;
  }

  tick(): number {
    return ++this.clock;
  }
  advance(seconds: number): void {
    this.clock += seconds;
  }
  /** The wall clock the engine should use with this world (ms). */
  readonly nowMs = (): number => this.clock * 1000;

  /** The chat, made up on first use; a group seen first through a message is Bob's, with us as a member. */
  chat(chatId: string): FakeChat {
    let chat = this.chats.get(chatId);
    if (!chat) {
      if (chatId.endsWith('@g.us')) return this.addGroup(chatId, `Group ${chatId.split('@')[0]}`, '15550100002@c.us', [this.self]);
      chat = new FakeChat(chatId, `Contact ${chatId.split('@')[0]}`);
      this.chats.set(chatId, chat);
    }
    return chat;
  }

  /** A group owned (created) by `owner`, its superadmin; `members` join as plain members. */
  addGroup(groupId: string, subject: string, owner: string, members: string[]): FakeGroupChat {
    const group = new FakeGroupChat(this, groupId, subject, owner);
    group.members.set(owner, { admin: true, superAdmin: true });
    for (const m of members) if (m !== owner) group.members.set(m, { admin: false, superAdmin: false });
    this.chats.set(groupId, group);
    return group;
  }

  group(groupId: string): FakeGroupChat {
    const g = this.chats.get(groupId);
    if (!(g instanceof FakeGroupChat)) throw new Error(`no group ${groupId} in the fake`);
    return g;
  }

  /** A message as the library shows it; in groups, `author` is the sender and part of the id (ours too). */
  message(chatId: string, body: string, fromMe: boolean, extra: Partial<LibraryMessage> = {}): LibraryMessage {
    const id = `3EB0${(++this.seq).toString(16).toUpperCase().padStart(16, '0')}`;
    const participant = chatId.endsWith('@g.us') ? (fromMe ? this.self : extra.author) : undefined;
    const key: LibraryId = { fromMe, remote: chatId, id, _serialized: `${fromMe}_${chatId}_${id}${participant ? `_${participant}` : ''}` };
    if (participant) key.participant = participant;
    return {
      id: key,
      from: fromMe ? this.self : chatId,
      to: fromMe ? chatId : this.self,
      author: undefined,
      fromMe,
      type: 'chat',
      body,
      timestamp: this.tick(),
      hasMedia: false,
      ack: fromMe ? 0 : 1,
      _data: { body },
      ...extra,
    };
  }

  /** A media message whose file the CDN holds, with the raw fields WhatsApp Web sets. */
  mediaMessage(chatId: string, fromMe: boolean, m: { data: Buffer; mimetype: string; type: FakeMediaType; filename?: string; caption?: string }): LibraryMessage {
    const msg = this.message(chatId, m.caption ?? '', fromMe, { type: m.type, hasMedia: true });
    msg._data = {
      body: THUMBNAIL,
      mimetype: m.mimetype,
      size: m.data.length,
      filehash: createHash('sha256').update(m.data).digest('base64'),
      directPath: `/v/t62.7118-24/${msg.id.id}.enc`,
      ...(m.filename ? { filename: m.filename } : {}),
      ...(m.caption ? { caption: m.caption } : {}),
    };
    this.files.set(msg.id._serialized, m.data);
    return msg;
  }

  /** Put a message in its chat and in the page's store. */
  keep(msg: LibraryMessage): LibraryMessage {
    this.store.set(msg.id._serialized, msg);
    this.chat(msg.id.remote).add(msg);
    return msg;
  }

  /** The quote fields WhatsApp Web puts on a reply (short id and sender, not the serialized id). */
  quoteFields(chatId: string, q: LibraryMessage): RawMessageData {
    return {
      quotedMsg: { type: q.type, body: q._data?.body ?? q.body, ...(q._data?.caption ? { caption: q._data.caption } : {}) },
      quotedStanzaID: q.id.id,
      quotedParticipant: q.fromMe ? this.self : (q.author ?? q.from),
      ...(q.id.remote !== chatId ? { quotedRemoteJid: q.id.remote } : {}),
    };
  }
}

export class FakeWwebjsClient extends EventEmitter implements WwebjsClientLike {
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  info: unknown = undefined;
  destroyed = false;
  /** The real requestPairingCode needs the page that initialize() loads; before that it throws. */
  private pageLoaded = false;
  private rejectInit: ((err: Error) => void) | null = null;

  constructor(
    readonly spec: WwebjsClientSpec,
    readonly world: FakeWhatsApp,
    private readonly behaviour: InitBehaviour,
  ) {
    super();
  }

  callsTo(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async initialize(): Promise<void> {
    this.calls.push({ method: 'initialize', args: [] });
    const b = this.behaviour;
    if (b instanceof Error) throw b;
    if (b === 'hang') {
      // Like page.goto on a black-holed network: settles only when the browser is closed under it.
      return new Promise((_, reject) => (this.rejectInit = reject));
    }
    this.pageLoaded = true;
    // The library emits the first QR from inside initialize() (inject), before initialize resolves.
    if (b === 'qr') this.emit('qr', '2@fakeRef,fakeStaticKey,fakeIdentityKey,fakeAdvSecret,1');
    if (b === 'linked') this.emit('authenticated');
  }

  /** The phone scanned the QR or entered the code, and WhatsApp Web finished syncing. */
  link(): void {
    this.emit('authenticated');
    this.becomeReady();
  }

  becomeReady(): void {
    // ClientInfo: wid is a ContactId object, as in whatsapp-web.js src/structures/ClientInfo.js.
    this.info = { pushname: 'Test Phone', platform: 'android', wid: { server: 'c.us', user: '15550109999', _serialized: this.world.self } };
    this.emit('ready');
  }

  /** A message arrives from a contact: the library emits message_create, then message (it skips `message` for fromMe). */
  deliver(msg: LibraryMessage): LibraryMessage {
    this.world.keep(msg);
    this.emit('message_create', new FakeMessage(this, msg));
    if (!msg.fromMe) this.emit('message', new FakeMessage(this, msg));
    return msg;
  }

  inbound(chatId: string, body: string): LibraryMessage {
    return this.deliver(this.world.message(chatId, body, false));
  }

  inboundMedia(chatId: string, m: { data: Buffer; mimetype: string; type: FakeMediaType; filename?: string; caption?: string }): LibraryMessage {
    return this.deliver(this.world.mediaMessage(chatId, false, m));
  }

  /** A Reaction as the library emits it from its reaction-table hook (timestamp: seconds, fractional). */
  emitReaction(sender: string, target: LibraryMessage, emoji: string): void {
    const fromMe = sender === this.world.self;
    const id = `R${target.id.id}${this.world.tick()}`;
    this.emit('message_reaction', {
      id: { fromMe, remote: target.id.remote, id, _serialized: `${fromMe}_${target.id.remote}_${id}` },
      orphan: 0,
      orphanReason: null,
      timestamp: this.world.nowMs() / 1000 + 0.25,
      reaction: emoji,
      read: fromMe,
      msgId: target.id,
      senderId: sender,
      ack: fromMe ? 1 : undefined,
    });
  }

  async destroy(): Promise<void> {
    this.calls.push({ method: 'destroy', args: [] });
    this.destroyed = true;
    this.rejectInit?.(new Error('Protocol error: Connection closed.'));
    this.rejectInit = null;
  }

  async logout(): Promise<void> {
    this.calls.push({ method: 'logout', args: [] });
    this.destroyed = true;
  }

  async requestPairingCode(phoneNumber: string, showNotification?: boolean, intervalMs?: number): Promise<string> {
    this.calls.push({ method: 'requestPairingCode', args: [phoneNumber, showNotification, intervalMs] });
    if (!this.pageLoaded) throw new TypeError("Cannot read properties of null (reading 'evaluate')");
    const code = 'ABCD1234';
    // The library emits `code` from onCodeReceivedEvent and then returns the same value.
    this.emit('code', code);
    return code;
  }

  async getNumberId(number: string): Promise<{ server: string; user: string; _serialized: string } | null> {
    this.calls.push({ method: 'getNumberId', args: [number] });
    return this.world.people.isRegistered(number) ? { server: 'c.us', user: number, _serialized: `${number}@c.us` } : null;
  }

  async sendMessage(chatId: string, content: WwebjsContent, options: WwebjsSendOptions): Promise<FakeMessage | null | undefined> {
    this.calls.push({ method: 'sendMessage', args: [chatId, content, options] });
    // Client.sendMessage: channels and status refuse some types with a console.warn and null.
    const isLocation = content instanceof Location;
    if (chatId.endsWith('@newsletter') && (isLocation || options.sendMediaAsDocument || options.quotedMessageId)) return null;
    if (chatId.endsWith('@broadcast') && (isLocation || content instanceof Poll || options.sendMediaAsDocument || options.sendMediaAsSticker || options.quotedMessageId)) return null;
    if (this.world.unresolvable.has(chatId)) return undefined;
    const msg = this.compose(chatId, content, options);
    // ignoreQuoteErrors (default true): a quote that cannot be found is dropped without a word.
    const quoted = options.quotedMessageId ? this.world.store.get(options.quotedMessageId) : undefined;
    if (quoted) Object.assign(msg, { hasQuotedMsg: true, _data: { ...msg._data, ...this.world.quoteFields(chatId, quoted) } });
    if (options.sendSeen !== false) void this.world.chat(chatId).sendSeen();
    this.world.keep(msg);
    this.emit('message_create', new FakeMessage(this, msg));
    return new FakeMessage(this, msg);
  }

  private compose(chatId: string, content: WwebjsContent, options: WwebjsSendOptions): LibraryMessage {
    const w = this.world;
    if (typeof content === 'string') return w.message(chatId, content, true);
    if (content instanceof MessageMedia) {
      const data = Buffer.from(content.data, 'base64');
      const mime = content.mimetype;
      if (options.sendMediaAsSticker && !/image|video/.test(mime)) throw new Error('Invalid media format');
      // The library converts a sticker to webp (in the page or with ffmpeg); the fake keeps the bytes.
      if (options.sendMediaAsSticker) return w.mediaMessage(chatId, true, { data, mimetype: 'image/webp', type: 'sticker' });
      const type: FakeMediaType = options.sendMediaAsDocument
        ? 'document'
        : mime.startsWith('image/') ? 'image' : mime.startsWith('video/') ? 'video' : mime.startsWith('audio/') ? (options.sendAudioAsVoice ? 'ptt' : 'audio') : 'document';
      const filename = type === 'document' ? (content.filename ?? undefined) : undefined;
      return w.mediaMessage(chatId, true, { data, mimetype: mime, type, ...(filename ? { filename } : {}), ...(options.caption ? { caption: options.caption } : {}) });
    }
    if (content instanceof Location) {
      // Message._patch splits `loc` back into name and address; the body is the map thumbnail.
      const [name, address] = (content.description ?? '').split('\n');
      // index.d.ts types latitude as a string; at run time it is the number passed in.
      const lat = Number(content.latitude);
      const lng = Number(content.longitude);
      const location = { latitude: lat, longitude: lng, name, address, description: content.description };
      return w.message(chatId, THUMBNAIL, true, { type: 'location', location, _data: { body: THUMBNAIL, lat, lng, loc: content.description } });
    }
    if (content instanceof Poll) {
      const multi = content.options.allowMultipleAnswers === true;
      const poll = { pollName: content.pollName, pollOptions: content.pollOptions, allowMultipleAnswers: multi };
      return w.message(chatId, content.pollName, true, { type: 'poll_creation', ...poll, _data: { ...poll, pollSelectableOptionsCount: multi ? 0 : 1 } });
    }
    throw new Error('the fake does not send this content');
  }

  async getChats(): Promise<FakeChat[]> {
    this.calls.push({ method: 'getChats', args: [] });
    return [...this.world.chats.values()];
  }

  // A group WhatsApp Web has never seen cannot be opened; any person's chat can (it makes an empty one).
  async getChatById(chatId: string): Promise<FakeChat | undefined> {
    this.calls.push({ method: 'getChatById', args: [chatId] });
    if (chatId.endsWith('@g.us') && !this.world.chats.has(chatId)) return undefined;
    return this.world.chat(chatId);
  }

  async createGroup(title: string, participants: string[], options: { autoSendInviteV4: boolean }): Promise<unknown> {
    this.calls.push({ method: 'createGroup', args: [title, participants, options] });
    return createGroupIn(this.world, title, participants, options);
  }

  async acceptInvite(code: string): Promise<string> {
    this.calls.push({ method: 'acceptInvite', args: [code] });
    return acceptInviteIn(this.world, code);
  }

  async getInviteInfo(code: string): Promise<unknown> {
    this.calls.push({ method: 'getInviteInfo', args: [code] });
    const g = findByInvite(this.world, code);
    return { id: wid(g.id._serialized), subject: g.name, size: g.members.size, owner: wid(g.owner) };
  }

  async getContactById(contactId: string): Promise<unknown> {
    this.calls.push({ method: 'getContactById', args: [contactId] });
    return this.world.people.contact(contactId);
  }

  async getContacts(): Promise<unknown[]> {
    this.calls.push({ method: 'getContacts', args: [] });
    return this.world.people.contacts();
  }

  async getContactLidAndPhone(userIds: string[]): Promise<unknown[]> {
    this.calls.push({ method: 'getContactLidAndPhone', args: [userIds] });
    return this.world.people.lidAndPhone(userIds);
  }

  /** A person changed their number: the library's contact_changed (message, oldId, newId, isContact). */
  numberChanged(oldId: string, newId: string): void {
    const msg = this.world.message(newId, '', false, { type: 'notification_template' });
    this.emit('contact_changed', new FakeMessage(this, msg), oldId, newId, true);
  }

  // Store first; an id not in it must split into 3 or 4 parts, or the page throws.
  async getMessageById(messageId: string): Promise<FakeMessage | null> {
    this.calls.push({ method: 'getMessageById', args: [messageId] });
    const m = this.world.store.get(messageId);
    if (m) return new FakeMessage(this, m);
    const parts = messageId.split('_').length;
    if (parts !== 3 && parts !== 4) throw new Error('Evaluation failed: Error: Invalid serialized message id specified');
    return null;
  }
}
