// The sandbox engine: a simulated WhatsApp account. Deterministic and fast, it is the engine's fake for every
// test above the engine, and lets users build agents without risking their number.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { type Account, type Chat, type EngineState, type EngineStatus, type MediaKind, type Message, type SentMessage, chatIdForPhone, mediaUrl, plainExtras } from '../domain.js';
import { AppError, notReady } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  type ChatsFacet,
  type Engine,
  type EngineEvents,
  type MediaFacet,
  type MessageOpsFacet,
  type RichMessagesFacet,
  type SendTextOptions,
  type StatusBase,
  TypedEmitter,
  buildStatus,
} from './engine.js';
import { SandboxBlobs, type SandboxCore, WA_MEDIA_TYPES, quoteOf, sandboxFacets } from './sandbox-facets.js';
import { SandboxContacts } from './sandbox-contacts.js';
import { SandboxGroups, onWhatsApp } from './sandbox-groups.js';
import { type Amendment, DeliveryLog } from './sandbox-deliveries.js';
import { SandboxChats } from './sandbox-chats.js';
import { simulateHistorySync } from './sandbox-history.js';
import { ensurePrivateDir, writePrivateFile } from '../fs-private.js';

const QR_ROTATE_MS = 20_000;
const RECONNECT_MS = 300;
const ACK_DELIVERED_MS = 50;
const ACK_READ_MS = 250;
const QR_SCAN_NUMBER = '15550009999';
const PAIRING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** WhatsApp-like message key: 20 upper-case hex characters. */
function messageKey(): string {
  return randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase();
}

interface SavedSession {
  account: Account;
  linked_at: number;
}

export interface SandboxOptions {
  config: Pick<Config, 'authDir' | 'sandboxLinkDelayMs' | 'headless'>;
  logger: Logger;
  now?: () => number;
}

export interface SandboxInboundMedia {
  data: Buffer;
  mimetype: string;
  filename: string | null;
  kind: MediaKind;
}

export class SandboxEngine implements Engine, SandboxCore {
  readonly name = 'sandbox' as const;
  readonly events = new TypedEmitter<EngineEvents>();
  // Typed as optional so a test can take a facet away (an engine that lacks it) by subclassing.
  readonly chats: ChatsFacet | undefined = {
    listChats: (limit) => this.listChats(limit),
    getChat: (chatId) => this.getChat(chatId),
    fetchMessages: (chatId, limit) => this.fetchMessages(chatId, limit),
  };
  readonly media: MediaFacet | undefined;
  readonly messageOps: MessageOpsFacet | undefined;
  readonly richMessages: RichMessagesFacet | undefined;
  readonly groups: SandboxGroups | undefined;
  readonly contacts: SandboxContacts | undefined;
  readonly blobs: SandboxBlobs;

  private state: EngineState = 'stopped';
  private account: Account | null = null;
  private lastError: string | null = null;
  private qr: string | null = null;
  private qrShown = false;
  private pairingCode: string | null = null;
  readonly book = new SandboxChats();
  private readonly timers = new Set<NodeJS.Timeout>();
  private linkTimer: NodeJS.Timeout | null = null;
  private readonly deliveries: DeliveryLog;
  /** Bumped by stop() and logout(): a start that was waiting must not carry on afterwards. */
  private generation = 0;
  private readonly sessionDir: string;
  private readonly base: StatusBase;
  private readonly now: () => number;

  constructor(private readonly opts: SandboxOptions) {
    this.sessionDir = path.join(opts.config.authDir, 'session-default');
    this.deliveries = new DeliveryLog(this.sessionDir);
    this.blobs = new SandboxBlobs(path.join(this.sessionDir, 'media'));
    ({ media: this.media, messageOps: this.messageOps, richMessages: this.richMessages } = sandboxFacets(this));
    const core = { events: this.events, book: this.book, me: () => this.requireReady().wid, nowSeconds: () => this.nowSeconds() };
    this.groups = new SandboxGroups(core);
    this.contacts = new SandboxContacts(core);
    this.base = { engine: 'sandbox', auth_dir: opts.config.authDir, chrome_executable: null, headless: opts.config.headless };
    this.now = opts.now ?? Date.now;
  }

  status(): EngineStatus {
    return buildStatus(this.base, { state: this.state, last_error: this.lastError, account: this.account, qr: this.qr, pairing_code: this.pairingCode });
  }

  currentQr(): string | null {
    if (this.state !== 'qr' || !this.qr) return null;
    // The simulated phone scans the QR only once someone has actually been shown it.
    if (!this.qrShown) {
      this.qrShown = true;
      this.scheduleLink(QR_SCAN_NUMBER);
    }
    return this.qr;
  }

  hasSavedSession(): boolean {
    return this.readSession() !== null;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'error' && this.state !== 'auth_failure') return;
    this.lastError = null;
    this.setState('starting');
    const generation = this.generation;
    await this.tick();
    if (generation !== this.generation) return; // stop() or logout() came during the tick
    const saved = this.readSession();
    if (saved) return this.becomeReady(saved);
    this.showQr();
  }

  async requestPairingCode(phoneDigits: string): Promise<string> {
    if (this.state === 'ready') throw new AppError('conflict', 'Already linked', { details: { state: this.state } });
    await this.start();
    this.clearLinkTimer();
    this.qr = null;
    this.pairingCode = Array.from({ length: 8 }, () => PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]).join('');
    this.setState('pairing');
    this.events.emit('pairing_code', this.pairingCode);
    this.scheduleLink(phoneDigits);
    return this.pairingCode;
  }

  async sendText(chatId: string, text: string, opts: SendTextOptions = {}): Promise<SentMessage> {
    return this.sendOwn(chatId, text, {}, opts.quotedId);
  }

  sendOwn(chatId: string, body: string, extras: Partial<Message>, quotedId?: string): SentMessage {
    const me = this.requireReady();
    if (!onWhatsApp(chatId)) {
      const phone = chatId.replace(/@c\.us$/, '');
      throw new AppError('not_on_whatsapp', `${phone} is not on WhatsApp`, { details: { phone_number: phone } });
    }
    this.groups?.checkCanSend(chatId);
    const chat = this.chatFor(chatId);
    const quoted = quoteOf(this.book, chat.id, quotedId);
    const msg = { ...this.message(true, chat.id, me.wid, chat.id, body, 'sent'), ...extras, quoted };
    if (msg.media) msg.media = { ...msg.media, url: mediaUrl(msg.id) };
    this.append(msg);
    const { media, location, poll } = msg;
    this.deliveries.append({ id: msg.id, chat_id: msg.chat_id, body: msg.body, timestamp: msg.timestamp, type: msg.type, ...(media ? { media } : {}), ...(quoted ? { quoted } : {}), ...(location ? { location } : {}), ...(poll ? { poll } : {}) });
    this.progressAcks(msg);
    return { message_id: msg.id, chat_id: msg.chat_id, timestamp: msg.timestamp };
  }

  amend(a: Amendment): void {
    this.deliveries.append(a);
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  async sendTyping(_chatId: string, durationMs: number): Promise<void> {
    this.requireReady();
    await new Promise((r) => setTimeout(r, durationMs));
  }

  async listChats(limit: number): Promise<Chat[]> {
    this.requireReady();
    return this.book.list(limit);
  }

  async getChat(chatId: string): Promise<Chat | null> {
    this.requireReady();
    return this.book.view(chatId);
  }

  async fetchMessages(chatId: string, limit: number): Promise<Message[]> {
    this.requireReady();
    return this.book.messages(chatId, limit);
  }

  async logout(): Promise<void> {
    this.generation++;
    this.clearTimers();
    this.deliveries.close();
    fs.rmSync(this.sessionDir, { recursive: true, force: true });
    this.account = null;
    this.book.clear();
    this.groups?.clear();
    this.contacts?.clear();
    this.setState('stopped');
  }

  async stop(): Promise<void> {
    this.generation++;
    this.clearTimers();
    this.deliveries.close();
    if (this.state !== 'stopped') this.setState('stopped');
  }

  // ---- sandbox controls (POST /api/sandbox/*) ----

  /** Link now, as if the phone had scanned the QR or entered the code. */
  async linkNow(phoneDigits = QR_SCAN_NUMBER): Promise<void> {
    if (this.state === 'ready') return;
    if (this.state === 'stopped' || this.state === 'error') await this.start();
    // start() may have restored a saved session.
    if ((this.state as EngineState) === 'ready') return;
    this.clearLinkTimer();
    this.link(phoneDigits);
  }

  /**
   * A contact writes to you: text, a file with a caption, a reply. `from` is a phone number's digits or a linked id
   * ("…@lid"); with `fromPhone` the simulated phone learns the number behind that id, as a contact sync would.
   */
  inbound(from: string, body: string, opts: { media?: SandboxInboundMedia; replyTo?: string; fromPhone?: string } = {}): Message {
    const me = this.requireReady();
    const chatId = from.includes('@') ? from : chatIdForPhone(from);
    if (!onWhatsApp(chatId)) throw new AppError('not_on_whatsapp', `+${from} is not on WhatsApp (in the sandbox, numbers ending in 0000 are not): it cannot write to you`);
    if (opts.fromPhone && chatId.endsWith('@lid')) this.contacts?.learn(chatId, opts.fromPhone);
    const chat = this.chatFor(chatId);
    const msg = { ...this.message(false, chat.id, chatId, me.wid, body, null), quoted: quoteOf(this.book, chat.id, opts.replyTo) };
    if (opts.media) {
      const { sha256, size } = this.blobs.put(opts.media.data);
      const { kind, mimetype, filename } = opts.media;
      msg.type = WA_MEDIA_TYPES[kind];
      msg.has_media = true;
      msg.media = { kind, mimetype, filename, size, sha256, url: mediaUrl(msg.id) };
    }
    chat.unread_count += 1;
    this.append(msg);
    return msg;
  }

  /** A contact reacts to a message ("" takes the reaction back). */
  reactFrom(fromDigits: string, chatId: string, messageId: string, emoji: string): void {
    this.requireReady();
    const m = this.book.find(chatId, messageId);
    if (!m) throw new AppError('not_found', `No message ${messageId} in ${chatId}`);
    const from = chatIdForPhone(fromDigits);
    const timestamp = this.nowSeconds();
    m.reactions = m.reactions.filter((r) => r.from !== from);
    if (emoji !== '') m.reactions.push({ emoji, from, timestamp });
    this.events.emit('message_reaction', { id: m.id, chat_id: m.chat_id, emoji, from, timestamp });
  }

  /** The phone sends a batch of old messages (history sync): stored, summarised once (sandbox-history.ts). */
  syncHistory(opts: { messages: number; chats: number }) {
    const generation = this.generation;
    const core = { events: this.events, book: this.book, me: () => this.requireReady().wid, nowSeconds: () => this.nowSeconds() };
    return simulateHistorySync({ ...core, stillLinked: () => this.generation === generation && this.state === 'ready' }, opts);
  }

  /** Drop the connection; the engine reconnects by itself. */
  disconnect(): void {
    this.requireReady();
    this.setState('disconnected');
    this.later(RECONNECT_MS, () => {
      if (this.state !== 'disconnected') return;
      this.setState('starting');
      const saved = this.readSession();
      if (saved) this.becomeReady(saved);
      else this.showQr();
    });
  }

  // ---- internals ----

  requireReady(): Account {
    if (this.state !== 'ready' || !this.account) throw notReady(this.state, this.hasSavedSession());
    return this.account;
  }

  private setState(state: EngineState): void {
    this.state = state;
    if (state !== 'qr') this.qr = null;
    if (state !== 'pairing') this.pairingCode = null;
    this.events.emit('status', this.status());
  }

  private showQr(): void {
    this.qrShown = false;
    const rotate = () => {
      this.qr = `2@${randomBytes(24).toString('base64')},${randomBytes(16).toString('base64')},sandbox`;
      this.events.emit('qr', this.qr);
      this.events.emit('status', this.status());
    };
    this.state = 'qr';
    rotate();
    const timer = setInterval(() => (this.state === 'qr' ? rotate() : this.clearInterval(timer)), QR_ROTATE_MS);
    timer.unref();
    this.timers.add(timer);
  }

  private clearInterval(timer: NodeJS.Timeout): void {
    clearInterval(timer);
    this.timers.delete(timer);
  }

  private scheduleLink(phoneDigits: string): void {
    this.clearLinkTimer();
    this.linkTimer = this.later(this.opts.config.sandboxLinkDelayMs, () => this.link(phoneDigits));
  }

  private clearLinkTimer(): void {
    if (this.linkTimer) {
      clearTimeout(this.linkTimer);
      this.timers.delete(this.linkTimer);
      this.linkTimer = null;
    }
  }

  private link(phoneDigits: string): void {
    if (this.state !== 'qr' && this.state !== 'pairing' && this.state !== 'starting') return;
    const session: SavedSession = {
      account: { wid: chatIdForPhone(phoneDigits), pushname: 'Sandbox User', platform: 'sandbox' },
      linked_at: Math.floor(this.now() / 1000),
    };
    ensurePrivateDir(this.sessionDir);
    writePrivateFile(path.join(this.sessionDir, 'sandbox.json'), JSON.stringify(session));
    this.opts.logger.info({ wid: session.account.wid }, 'sandbox linked');
    this.becomeReady(session);
  }

  private becomeReady(session: SavedSession): void {
    this.setState('authenticated');
    this.account = session.account;
    if (this.book.empty) {
      this.book.load(session.account.wid, session.linked_at, this.deliveries.readAll());
      this.groups?.load(session.account.wid, session.linked_at);
    }
    this.setState('ready');
  }

  private readSession(): SavedSession | null {
    try {
      const raw = JSON.parse(fs.readFileSync(path.join(this.sessionDir, 'sandbox.json'), 'utf8')) as SavedSession;
      return raw?.account?.wid ? raw : null;
    } catch {
      return null;
    }
  }

  private message(fromMe: boolean, chatId: string, from: string, to: string, body: string, ack: Message['ack']): Message {
    const timestamp = Math.floor(this.now() / 1000);
    return { id: `${fromMe}_${chatId}_${messageKey()}`, chat_id: chatId, from, to, author: null, from_me: fromMe, type: 'chat', body, timestamp, has_media: false, ack, ...plainExtras() };
  }

  /** The chat for a message, announced (`chat` event) when it is new. */
  private chatFor(chatId: string) {
    const { chat, created } = this.book.ensure(chatId);
    if (created) this.events.emit('chat', this.book.view(chatId)!);
    return chat;
  }

  private append(msg: Message): void {
    this.book.push(msg);
    this.events.emit('message', { ...msg, reactions: [...msg.reactions] });
  }

  private progressAcks(msg: Message): void {
    for (const [ms, ack] of [[ACK_DELIVERED_MS, 'delivered'], [ACK_READ_MS, 'read']] as const) {
      this.later(ms, () => {
        msg.ack = ack;
        this.events.emit('message_ack', { id: msg.id, chat_id: msg.chat_id, ack });
      });
    }
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.linkTimer = null;
  }

  private tick(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
