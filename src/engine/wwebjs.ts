// The whatsapp-web.js engine: drives WhatsApp Web in Chromium and maps it onto the Engine interface.
// Every client gets a generation number; retiring a client bumps it, so late events and late-settling
// promises from a browser we gave up on can never change the state of its successor.
import type { Chat, EngineStatus, Message, SentMessage } from '../domain.js';
import { notReady } from '../errors.js';
import type { Logger } from '../logger.js';
import { Backoff } from './backoff.js';
import { findBrowser, runningAsRoot, type BrowserLookup } from './browser.js';
import { buildStatus, nextSnapshot, TypedEmitter, type ChatsFacet, type Engine, type EngineEvents, type MediaFacet, type MessageOpsFacet, type RichMessagesFacet, type SendTextOptions } from './engine.js';
import { fetchMessagesVia, getChatVia, listChatsVia, sendTypingVia } from './wwebjs-chats.js';
import { clientSpec, libraryClientFactory, type WwebjsClientFactory, type WwebjsClientLike } from './wwebjs-client.js';
import { WwebjsContacts } from './wwebjs-contacts.js';
import { describeError, listenToClient, startFailure, type EngineHooks } from './wwebjs-events.js';
import { sendAndReport, wwebjsFacets, type WwebjsCore } from './wwebjs-facets.js';
import { WwebjsGroups } from './wwebjs-groups.js';
import { LidBook } from './wwebjs-lids.js';
import { applyPairingCode, isLinked, requestPairingCodeVia } from './wwebjs-pairing.js';
import type { Snapshot, WwebjsEngineOptions } from './wwebjs-options.js';
import { ensureSessionDirs, hasSavedSession, markSession, removeSession } from './wwebjs-session.js';

export type { Snapshot, WwebjsEngineOptions } from './wwebjs-options.js';

const DESTROY_TIMEOUT_MS = 15_000;

export function createWwebjsEngine(opts: WwebjsEngineOptions): Engine {
  return new WwebjsEngine(opts);
}

class WwebjsEngine implements Engine, EngineHooks, WwebjsCore {
  readonly name = 'wwebjs' as const;
  readonly events = new TypedEmitter<EngineEvents>();
  readonly chats: ChatsFacet = {
    listChats: (limit) => this.listChats(limit),
    getChat: (chatId) => this.getChat(chatId),
    fetchMessages: (chatId, limit) => this.fetchMessages(chatId, limit),
  };
  readonly media: MediaFacet;
  readonly messageOps: MessageOpsFacet;
  readonly richMessages: RichMessagesFacet;
  readonly groups: WwebjsGroups;
  readonly contacts: WwebjsContacts;
  /** Numbers behind linked ids, as WhatsApp Web revealed them (lid_mapping events). */
  readonly lids = new LidBook(this);
  readonly now: () => number;

  snap: Snapshot = { state: 'stopped', last_error: null, account: null, qr: null, pairing_code: null };
  client: WwebjsClientLike | null = null;
  generation = 0;
  readonly log: Logger;
  readonly cfg: WwebjsEngineOptions['config'];
  /** False after stop(), logout() or a logout from the phone: nothing reconnects on its own then. */
  private wanted = false;
  private chromeExecutable: string | null;
  /** Why no browser was found at the last look (construction or a start): status says so even while stopped. */
  private browserMissing: string | null;
  private startPromise: Promise<void> | null = null;
  private abortStart: (() => void) | null = null;
  private destroying: Promise<void> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readyTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly clientFactory: WwebjsClientFactory;
  private readonly locateBrowser: () => BrowserLookup;

  constructor(private readonly opts: WwebjsEngineOptions) {
    this.cfg = opts.config;
    this.log = opts.logger.child({ engine: 'wwebjs' });
    this.clientFactory = opts.clientFactory ?? libraryClientFactory;
    this.locateBrowser = opts.locateBrowser ?? (() => findBrowser(this.cfg.chromeExecutable));
    this.backoff = new Backoff({ ...(opts.reconnect ?? { baseMs: 2_000, maxMs: 5 * 60_000 }), random: opts.random });
    const found = this.locateBrowser();
    this.chromeExecutable = found.ok ? found.path : null;
    this.browserMissing = found.ok ? null : found.reason;
    this.now = opts.now ?? Date.now;
    ({ media: this.media, messageOps: this.messageOps, richMessages: this.richMessages } = wwebjsFacets(this));
    this.contacts = new WwebjsContacts(this);
    this.groups = new WwebjsGroups(this);
  }

  status(): EngineStatus {
    const base = { engine: this.name, auth_dir: this.cfg.authDir, chrome_executable: this.chromeExecutable, headless: this.cfg.headless };
    // Before any start (or after a stop) a missing browser is already known: say so, not a silent `stopped`.
    const missing = this.snap.state === 'stopped' && this.snap.last_error === null ? this.browserMissing : null;
    return buildStatus(base, missing ? { ...this.snap, last_error: missing } : this.snap);
  }

  currentQr(): string | null {
    return this.snap.state === 'qr' ? this.snap.qr : null;
  }

  hasSavedSession(): boolean {
    return hasSavedSession(this.cfg.authDir);
  }

  update(patch: Partial<Snapshot>): void {
    const next = nextSnapshot(this.snap, patch, this.log);
    if (!next) return;
    this.snap = next;
    this.events.emit('status', this.status());
  }

  start(): Promise<void> {
    this.wanted = true;
    if (this.startPromise) return this.startPromise;
    if (this.client) return Promise.resolve();
    this.clearReconnect();
    return this.run(false);
  }

  private run(retrying: boolean): Promise<void> {
    const p = this.launch(retrying).finally(() => {
      if (this.startPromise === p) this.startPromise = null;
    });
    this.startPromise = p;
    return p;
  }

  private async launch(retrying: boolean): Promise<void> {
    // Chromium locks its profile: the previous browser must be gone before the next one opens the same directory.
    await this.destroying;
    if (!this.wanted) return; // stop() or logout() came while the previous browser was closing
    const found = this.locateBrowser();
    this.chromeExecutable = found.ok ? found.path : null;
    this.browserMissing = found.ok ? null : found.reason;
    if (!found.ok) return this.fail(found.reason, retrying);
    try {
      ensureSessionDirs(this.cfg.authDir);
    } catch (err) {
      return this.fail(`Cannot create ${this.cfg.authDir}: ${describeError(err)}`, false);
    }
    const gen = ++this.generation;
    this.update({ state: 'starting', qr: null, pairing_code: null });
    const client = this.clientFactory(clientSpec(this.cfg, found.path, this.opts.isRoot ?? runningAsRoot()));
    this.client = client;
    listenToClient(this, client, gen);
    const init = Promise.resolve().then(() => client.initialize());
    // An initialize we stopped waiting for may still launch its browser later; close it whenever it settles.
    void init.then(noop, noop).then(() => (gen === this.generation ? undefined : this.destroyQuietly(client)));

    const limitMs = this.opts.startTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    let failure: string | null = null;
    try {
      const outcome = await Promise.race([
        init.then(() => 'ok' as const),
        new Promise<'aborted'>((resolve) => (this.abortStart = () => resolve('aborted'))),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs))),
      ]);
      if (outcome === 'timeout') failure = startFailure({ timeoutMs: limitMs });
    } catch (err) {
      failure = startFailure({ error: err });
    } finally {
      clearTimeout(timer);
      this.abortStart = null;
    }
    if (failure === null || gen !== this.generation) return;
    await this.retire();
    // A linked account keeps trying (a reboot before the network is up must not need a person); an unlinked one
    // stops in `error`, since someone is waiting to scan and will see why.
    this.fail(failure, retrying || this.hasSavedSession());
  }

  private fail(reason: string, retrying: boolean): void {
    this.log.warn({ reason }, 'WhatsApp Web start failed');
    if (retrying && this.wanted) {
      this.update({ state: 'disconnected', last_error: reason });
      this.scheduleReconnect();
    } else {
      this.update({ state: 'error', last_error: reason, qr: null, pairing_code: null });
    }
  }

  /** Detach the current client at once (its events stop counting) and close its browser. */
  retire(): Promise<void> {
    const client = this.client;
    this.generation++;
    this.client = null;
    this.clearReadyTimer();
    this.abortStart?.();
    return client ? this.destroyQuietly(client) : Promise.resolve();
  }

  private destroyQuietly(client: WwebjsClientLike): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const done = Promise.race([
      Promise.resolve().then(() => client.destroy()),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, DESTROY_TIMEOUT_MS))),
    ])
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'closing the browser failed'))
      .finally(() => clearTimeout(timer));
    this.destroying = done;
    return done;
  }

  /** After a disconnect or a stuck start: try again later, unless the user stopped or logged out. */
  scheduleReconnect(): void {
    if (!this.wanted || this.reconnectTimer) return;
    const delayMs = this.backoff.next();
    this.log.info({ delay_ms: delayMs, attempt: this.backoff.attempts }, 'reconnecting to WhatsApp');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.run(true);
    }, delayMs);
    this.reconnectTimer.unref?.();
  }

  /** Authenticated but no `ready`: WhatsApp Web can hang while syncing; a fresh browser usually gets through. */
  armReadyTimer(gen: number): void {
    this.clearReadyTimer();
    const seconds = this.cfg.readyTimeoutSeconds;
    this.readyTimer = setTimeout(() => {
      this.readyTimer = null;
      if (gen !== this.generation) return;
      const retired = this.retire();
      this.update({ state: 'disconnected', last_error: `WhatsApp Web was not ready ${seconds} s after authenticating; restarting the browser` });
      void retired.then(() => this.scheduleReconnect());
    }, seconds * 1000);
    this.readyTimer.unref?.();
  }

  clearReadyTimer(): void {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  resetBackoff(): void {
    this.backoff.reset();
  }

  /** The phone removed this device: WhatsApp Web already deleted the keys; nothing to reconnect to. */
  async onRemoteLogout(): Promise<void> {
    this.wanted = false;
    this.clearReconnect();
    await this.retire();
    // LocalAuth deletes the profile itself on LOGOUT, but only if its navigation handler got that far.
    await removeSession(this.cfg.authDir).catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'removing the session failed'));
    this.lids.clear();
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: 'Logged out from the phone; link again to continue' });
  }

  markSession(linked: boolean): void {
    try {
      markSession(this.cfg.authDir, linked, this.snap.account?.wid ?? null);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not record the session state');
    }
  }

  requestPairingCode(phone: string): Promise<string> {
    return requestPairingCodeVia(this, phone, this.opts.pairingWaitMs ?? 60_000);
  }

  onPairingCode(code: string): void {
    applyPairingCode(this, code);
  }

  async sendText(chatId: string, text: string, opts: SendTextOptions = {}): Promise<SentMessage> {
    return sendAndReport(this, chatId, text, { markSeen: opts.markSeen, quotedId: opts.quotedId });
  }

  async sendTyping(chatId: string, durationMs: number): Promise<void> {
    return sendTypingVia(this.readyClient(), chatId, durationMs);
  }

  async listChats(limit: number): Promise<Chat[]> {
    return listChatsVia(this.readyClient(), limit);
  }

  async getChat(chatId: string): Promise<Chat | null> {
    return getChatVia(this.readyClient(), chatId);
  }

  async fetchMessages(chatId: string, limit: number): Promise<Message[]> {
    return fetchMessagesVia(this.readyClient(), chatId, limit);
  }

  clientIfReady(): WwebjsClientLike | null {
    return this.snap.state === 'ready' ? this.client : null;
  }

  /** Operations fail at once when not ready: callers get not_ready instead of waiting on a link that may never come. */
  readyClient(): WwebjsClientLike {
    if (this.snap.state !== 'ready' || !this.client) throw notReady(this.snap.state, this.hasSavedSession());
    return this.client;
  }

  private readonly seen = new Set<string>();
  /** `message_create` and `message` both fire for inbound messages, and sendText reports its own: one event per id. */
  emitMessageOnce(msg: Message): void {
    if (this.seen.has(msg.id)) return;
    this.seen.add(msg.id);
    if (this.seen.size > 5_000) this.seen.delete(this.seen.values().next().value as string);
    // At once, with the numbers already known; a linked id we know nothing of is looked up after, on the side.
    this.events.emit('message', this.lids.enrich(msg));
    this.lids.noticeSenders(msg);
  }

  async logout(): Promise<void> {
    this.wanted = false;
    this.clearReconnect();
    const client = this.client;
    const linked = this.client !== null && (isLinked(this.snap) || this.snap.account !== null);
    // Detach before logging out: the LOGOUT `disconnected` the library emits meanwhile is ours, not the phone's.
    this.generation++;
    this.client = null;
    this.clearReadyTimer();
    this.abortStart?.();
    if (client && linked) {
      await client.logout().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'WhatsApp logout failed; removing the local session anyway'));
    }
    if (client) await this.destroyQuietly(client);
    await this.startPromise;
    await removeSession(this.cfg.authDir);
    this.lids.clear();
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: null });
  }

  async stop(): Promise<void> {
    this.wanted = false;
    this.clearReconnect();
    await this.retire();
    await this.startPromise;
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: null });
  }
}

function noop(): void {}
