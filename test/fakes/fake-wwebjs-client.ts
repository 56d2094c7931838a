// A stand-in for whatsapp-web.js's Client: the library's real event names, payloads shaped like its real
// Message/Chat objects (see node_modules/whatsapp-web.js/src/structures), and a record of every call.
import { EventEmitter } from 'node:events';
import type { WwebjsChatLike, WwebjsClientFactory, WwebjsClientLike, WwebjsClientSpec } from '../../src/engine/wwebjs-client.js';

export interface LibraryId {
  fromMe: boolean;
  remote: string;
  id: string;
  _serialized: string;
}

/** Field names as on whatsapp-web.js Message (after Message._patch). */
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
}

export type InitBehaviour = 'qr' | 'linked' | 'hang' | Error;

/** Field names as on whatsapp-web.js Chat. */
export class FakeChat implements WwebjsChatLike {
  readonly id: { server: string; user: string; _serialized: string };
  name: string;
  isGroup: boolean;
  isReadOnly = false;
  unreadCount = 0;
  timestamp = 0;
  archived = false;
  pinned = false;
  isMuted = false;
  lastMessage: LibraryMessage | undefined;
  readonly messages: LibraryMessage[] = [];

  constructor(chatId: string, name: string) {
    const [user = '', server = ''] = chatId.split('@');
    this.id = { server, user, _serialized: chatId };
    this.name = name;
    this.isGroup = server === 'g.us';
  }

  add(msg: LibraryMessage): void {
    this.messages.push(msg);
    this.lastMessage = msg;
    this.timestamp = msg.timestamp;
    if (!msg.fromMe) this.unreadCount++;
  }

  // Like the library: the last `limit` messages, oldest first once it had to trim.
  async fetchMessages(opts: { limit: number }): Promise<LibraryMessage[]> {
    return this.messages.slice(-opts.limit);
  }

  /** Chat states set through sendStateTyping/clearState, in order. */
  readonly states: string[] = [];
  async sendStateTyping(): Promise<boolean> {
    this.states.push('typing');
    return true;
  }
  async clearState(): Promise<boolean> {
    this.states.push('cleared');
    return true;
  }
}

/** The WhatsApp side shared by every client the engine creates: accounts, chats, a clock. */
export class FakeWhatsApp {
  readonly clients: FakeWwebjsClient[] = [];
  readonly registered = new Set<string>(['15550100001', '15550100002', '15550100003']);
  readonly chats = new Map<string, FakeChat>();
  readonly self = '15550109999@c.us';
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

  chat(chatId: string): FakeChat {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = new FakeChat(chatId, `Contact ${chatId.split('@')[0]}`);
      this.chats.set(chatId, chat);
    }
    return chat;
  }

  message(chatId: string, body: string, fromMe: boolean): LibraryMessage {
    const id = `3EB0${(++this.seq).toString(16).toUpperCase().padStart(16, '0')}`;
    return {
      id: { fromMe, remote: chatId, id, _serialized: `${fromMe}_${chatId}_${id}` },
      from: fromMe ? this.self : chatId,
      to: fromMe ? chatId : this.self,
      author: undefined,
      fromMe,
      type: 'chat',
      body,
      timestamp: this.tick(),
      hasMedia: false,
      ack: fromMe ? 0 : 1,
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
    private readonly world: FakeWhatsApp,
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

  /** A contact writes to us: the library emits message_create, then message (it skips `message` for fromMe). */
  inbound(chatId: string, body: string): LibraryMessage {
    const msg = this.world.message(chatId, body, false);
    this.world.chat(chatId).add(msg);
    this.emit('message_create', msg);
    this.emit('message', msg);
    return msg;
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
    return this.world.registered.has(number) ? { server: 'c.us', user: number, _serialized: `${number}@c.us` } : null;
  }

  async sendMessage(chatId: string, content: string, options: { sendSeen: boolean }): Promise<LibraryMessage> {
    this.calls.push({ method: 'sendMessage', args: [chatId, content, options] });
    const msg = this.world.message(chatId, content, true);
    this.world.chat(chatId).add(msg);
    this.emit('message_create', msg);
    return msg;
  }

  async getChats(): Promise<FakeChat[]> {
    this.calls.push({ method: 'getChats', args: [] });
    return [...this.world.chats.values()];
  }

  async getChatById(chatId: string): Promise<FakeChat | undefined> {
    this.calls.push({ method: 'getChatById', args: [chatId] });
    return this.world.chat(chatId);
  }
}
