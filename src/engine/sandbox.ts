// The sandbox engine: a simulated WhatsApp account. Deterministic and fast, it is the engine's fake for every
// test above the engine, and lets users build agents without risking their number.
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { type Account, type Chat, type EngineState, type EngineStatus, type Message, type SentMessage, chatIdForPhone } from '../domain.js';
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
import { SandboxBlobs, type SandboxCore, sandboxFacets } from './sandbox-facets.js';
import { SandboxContacts } from './sandbox-contacts.js';
import { SandboxGroups } from './sandbox-groups.js';
import { type Amendment, DeliveryLog } from './sandbox-deliveries.js';
import { SandboxChats } from './sandbox-chats.js';
import { simulateHistorySync } from './sandbox-history.js';
import { type SandboxInboundMedia, SandboxMessages } from './sandbox-messages.js';
import { type SavedSession, readSandboxSession, saveSandboxSession } from './sandbox-session.js';
import { SandboxTimers } from './sandbox-timers.js';

export type { SandboxInboundMedia } from './sandbox-messages.js';

const QR_ROTATE_MS = 20_000;
const RECONNECT_MS = 300;
const QR_SCAN_NUMBER = '15550009999';
const PAIRING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface SandboxOptions {
  config: Pick<Config, 'authDir' | 'sandboxLinkDelayMs' | 'headless'>;
  logger: Logger;
  now?: () => number;
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
  private readonly timers = new SandboxTimers();
  private readonly messages: SandboxMessages;
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
    const { events, book, blobs, deliveries } = this;
    const live = { groups: () => this.groups, contacts: () => this.contacts, requireReady: () => this.requireReady(), now: () => this.now() };
    this.messages = new SandboxMessages({ events, book, blobs, deliveries, ...live, later: (ms, fn) => this.timers.later(ms, fn) });
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
    return this.messages.sendOwn(chatId, body, extras, quotedId);
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

  /** A contact writes to you (sandbox-messages.ts). */
  inbound(from: string, body: string, opts: { media?: SandboxInboundMedia; replyTo?: string; fromPhone?: string } = {}): Message {
    return this.messages.inbound(from, body, opts);
  }

  /** A contact reacts to a message ("" takes the reaction back). */
  reactFrom(fromDigits: string, chatId: string, messageId: string, emoji: string): void {
    this.messages.reactFrom(fromDigits, chatId, messageId, emoji);
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
    this.timers.later(RECONNECT_MS, () => {
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
    const timer = this.timers.every(QR_ROTATE_MS, () => (this.state === 'qr' ? rotate() : this.timers.cancel(timer)));
  }

  private scheduleLink(phoneDigits: string): void {
    this.clearLinkTimer();
    this.linkTimer = this.timers.later(this.opts.config.sandboxLinkDelayMs, () => this.link(phoneDigits));
  }

  private clearLinkTimer(): void {
    if (this.linkTimer) {
      this.timers.cancel(this.linkTimer);
      this.linkTimer = null;
    }
  }

  private link(phoneDigits: string): void {
    if (this.state !== 'qr' && this.state !== 'pairing' && this.state !== 'starting') return;
    const session: SavedSession = {
      account: { wid: chatIdForPhone(phoneDigits), pushname: 'Sandbox User', platform: 'sandbox' },
      linked_at: Math.floor(this.now() / 1000),
    };
    saveSandboxSession(this.sessionDir, session);
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
    return readSandboxSession(this.sessionDir);
  }

  private clearTimers(): void {
    this.timers.clear();
    this.linkTimer = null;
  }

  private tick(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
