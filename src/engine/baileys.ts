// The Baileys engine: WhatsApp over Baileys' WebSocket, no browser. A new socket per connection attempt, each with a
// generation number; retiring a socket bumps it, so a retired socket's late events change nothing. Closes decide
// what happens next by their status (Baileys' DisconnectReason): 515 right after pairing reconnects at once, 401
// ends the session, everything else reconnects after a capped, jittered backoff (offline, Baileys closes with 408
// within milliseconds of every attempt, forever: without the backoff this loop would spin).
import type { ConnectionState } from 'baileys';
import type { Message, SentMessage } from '../domain.js';
import { notReady } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BaileysAuthStore } from './baileys-auth.js';
import { BaileysContacts } from './baileys-contacts.js';
import { listenToSocket } from './baileys-events.js';
import { type TextSender, baileysFacets } from './baileys-facets.js';
import { BaileysGroups } from './baileys-groups.js';
import { BaileysOlderHistory } from './baileys-history-demand.js';
import { TurnBudget } from './baileys-history.js';
import type { BaileysHooks } from './baileys-hooks.js';
import { toAccount } from './baileys-map-people.js';
import { toOurId } from './baileys-map.js';
import { type BaileysEngineOptions, type Snapshot, STABLE_OPEN_MS, afterClose } from './baileys-options.js';
import { requestPairingCodeVia } from './baileys-pairing.js';
import { OwnEchoes, RecentMessages, SeenIds } from './baileys-recent.js';
import { type BaileysSendCore, describeError, statusOf } from './baileys-send.js';
import { type OpenAuthStore, authFile, defaultOpenAuthStore, deleteStore, foreignSession, savedAndLinked } from './baileys-session.js';
import { type BaileysSocketLike, endQuietly, librarySocketFactory, withTimeout } from './baileys-socket.js';
import { Backoff } from './backoff.js';
import { buildStatus, nextSnapshot, type Engine, type EngineEvents, type HistoryFacet, type MediaFacet, type MessageOpsFacet, type RichMessagesFacet, type SendTextOptions, TypedEmitter } from './engine.js';

export type { BaileysEngineOptions } from './baileys-options.js';

export function createBaileysEngine(opts: BaileysEngineOptions): Engine {
  return new BaileysEngine(opts);
}

export class BaileysEngine implements Engine, BaileysHooks, BaileysSendCore {
  readonly name = 'baileys' as const;
  readonly events = new TypedEmitter<EngineEvents>();
  readonly media: MediaFacet;
  readonly messageOps: MessageOpsFacet;
  readonly richMessages: RichMessagesFacet;
  private readonly texts: TextSender;
  readonly groups: BaileysGroups;
  readonly contacts: BaileysContacts;
  /** Older history asked of the phone (the store's page of a chat ran out). */
  readonly older: BaileysOlderHistory;
  readonly history: HistoryFacet;
  readonly historyBudget: TurnBudget;
  readonly recent: RecentMessages;
  readonly echoes = new OwnEchoes();
  readonly numbers = new Map<string, string>();
  readonly log: Logger;
  generation = 0;
  private snap: Snapshot = { state: 'stopped', last_error: null, account: null, qr: null, pairing_code: null };
  private sock: BaileysSocketLike | null = null;
  private store: BaileysAuthStore | null = null;
  private wanted = false;
  private startPromise: Promise<void> | null = null;
  private settleAttempt: (() => void) | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private quickRestarts = 0;
  private openedAt: number | null = null;
  private readonly backoff: Backoff;
  private readonly file: string;
  private readonly openStore: OpenAuthStore;
  private readonly seen = new SeenIds();

  constructor(private readonly opts: BaileysEngineOptions) {
    this.log = opts.logger.child({ engine: 'baileys' });
    this.file = authFile(opts.config.authDir);
    this.openStore = opts.openAuthStore ?? defaultOpenAuthStore({ logger: this.log });
    this.backoff = new Backoff({ ...(opts.reconnect ?? { baseMs: 2_000, maxMs: 5 * 60_000 }), random: opts.random });
    this.recent = new RecentMessages(opts.recentMessages);
    this.historyBudget = opts.historyBudget ?? new TurnBudget();
    this.contacts = new BaileysContacts(this);
    this.groups = new BaileysGroups(this);
    this.history = this.older = new BaileysOlderHistory(this, opts.olderHistoryWaitMs);
    ({ media: this.media, messageOps: this.messageOps, richMessages: this.richMessages, texts: this.texts } = baileysFacets(this));
  }

  status() {
    return buildStatus({ engine: this.name, auth_dir: this.opts.config.authDir, chrome_executable: null, headless: this.opts.config.headless }, this.snap);
  }

  currentQr(): string | null {
    return this.snap.state === 'qr' ? this.snap.qr : null;
  }

  hasSavedSession(): boolean {
    return savedAndLinked(this.file, this.openStore, this.store);
  }

  get socket(): BaileysSocketLike | null {
    return this.sock;
  }

  nowMs(): number {
    return (this.opts.now ?? Date.now)();
  }

  self(): string | null {
    return this.snap.account?.wid ?? null;
  }

  selfLid(): string | null {
    return toOurId(this.sock?.user?.lid ?? this.store?.state.creds.me?.lid);
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
    if (this.sock) return Promise.resolve();
    this.clearReconnect();
    return this.run();
  }

  private run(): Promise<void> {
    if (this.startPromise) return this.startPromise;
    const p = this.launch().finally(() => {
      if (this.startPromise === p) this.startPromise = null;
    });
    this.startPromise = p;
    return p;
  }

  private async launch(): Promise<void> {
    if (!this.wanted) return;
    const refusal = foreignSession(this.opts.config.authDir);
    if (refusal) return this.fail(refusal);
    let store: BaileysAuthStore;
    try {
      store = this.store ??= this.openStore(this.file);
    } catch (err) {
      // A corrupt store: said once, with the path and the fix, not retried in a loop.
      return this.fail(describeError(err));
    }
    const gen = ++this.generation;
    this.update({ state: this.snap.state === 'authenticated' ? 'authenticated' : 'starting', qr: null, pairing_code: null });
    const settled = new Promise<void>((resolve) => (this.settleAttempt = resolve));
    try {
      this.sock = (this.opts.socketFactory ?? librarySocketFactory)({
        auth: store.state,
        logger: this.log,
        getMessage: async (key) => this.recent.content(key) ?? (await this.opts.getMessage?.(key)),
        cachedGroupMetadata: async (jid) => this.groups.cached(jid),
        waWebSocketUrl: this.opts.config.baileysWsUrl,
      });
      listenToSocket(this, this.sock, gen);
    } catch (err) {
      this.onClose(gen, null, `Baileys could not open a connection: ${describeError(err)}`);
    }
    const limitMs = this.opts.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => this.onClose(gen, null, `WhatsApp did not answer within ${Math.round(limitMs / 1000)} s`), limitMs);
    timer.unref?.();
    await settled;
    clearTimeout(timer);
  }

  private fail(reason: string): void {
    this.log.warn({ reason }, 'Baileys start refused');
    this.wanted = false;
    this.update({ state: 'error', last_error: reason, qr: null, pairing_code: null });
  }

  private settle(): void {
    this.settleAttempt?.();
    this.settleAttempt = null;
  }

  onCreds(gen: number): void {
    if (gen !== this.generation || !this.store) return;
    try {
      // Baileys has already merged the update into state.creds; the store writes them as they are now.
      this.store.saveCreds();
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'saving the Baileys credentials failed');
    }
  }

  onConnection(update: Partial<ConnectionState>, gen: number): void {
    if (gen !== this.generation) return;
    if (update.qr) {
      // Once a pairing code was asked for, the socket keeps rotating QRs; the code stays what the user sees.
      this.update({ qr: update.qr, state: this.snap.state === 'pairing' ? 'pairing' : 'qr', last_error: null });
      this.events.emit('qr', update.qr);
      this.settle();
    }
    // The phone accepted the QR or the code; WhatsApp now closes with 515 and the next connection logs in.
    if (update.isNewLogin) this.update({ state: 'authenticated', qr: null, pairing_code: null, last_error: null });
    if (update.connection === 'open') this.onOpen();
    if (update.connection === 'close') {
      const err = update.lastDisconnect?.error;
      this.onClose(gen, statusOf(err), err ? describeError(err) : 'connection closed');
    }
  }

  private onOpen(): void {
    this.quickRestarts = 0;
    this.openedAt = this.nowMs();
    const account = toAccount(this.sock?.user ?? this.store?.state.creds.me, this.store?.state.creds.platform) ?? this.snap.account;
    const lid = this.selfLid();
    if (lid && account) this.contacts.learn(lid, account.wid);
    this.update({ state: 'ready', account, qr: null, pairing_code: null, last_error: null });
    this.settle();
  }

  private onClose(gen: number, code: number | null, why: string): void {
    if (gen !== this.generation) return;
    const openFor = this.openedAt === null ? 0 : this.nowMs() - this.openedAt;
    this.openedAt = null;
    if (openFor >= STABLE_OPEN_MS) this.backoff.reset();
    const next = afterClose(code, this.quickRestarts);
    if (next === 'logged_out') return void this.onRemoteLogout();
    this.retire();
    if (next === 'restart_now') {
      this.quickRestarts++;
      this.log.info('WhatsApp asked for a restart (normal right after linking); reconnecting at once');
      this.update({ state: this.linked() ? 'authenticated' : 'starting', qr: null, pairing_code: null, last_error: null });
      return this.scheduleReconnect(0);
    }
    this.update({ state: 'disconnected', qr: null, pairing_code: null, last_error: `Disconnected from WhatsApp: ${why}${code === null ? '' : ` (${code})`}` });
    this.scheduleReconnect(this.backoff.next());
  }

  /** Detach the current socket at once (its events stop counting) and close it. */
  private retire(): void {
    const sock = this.sock;
    this.generation++;
    this.sock = null;
    this.settle();
    if (sock) endQuietly(sock);
  }

  private scheduleReconnect(delayMs: number): void {
    if (!this.wanted || this.reconnectTimer) return;
    this.log.info({ delay_ms: delayMs, attempt: this.backoff.attempts }, 'reconnecting to WhatsApp');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.run();
    }, delayMs);
    this.reconnectTimer.unref?.();
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  /** The phone removed this device (or WhatsApp did): the keys are void; nothing to reconnect to. */
  private onRemoteLogout(): void {
    this.wanted = false;
    this.clearReconnect();
    this.retire();
    this.forgetAccount();
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: 'Logged out from the phone (or by WhatsApp); link again to continue' });
  }

  private forgetAccount(): void {
    deleteStore(this.file, this.openStore, this.store);
    this.store = null;
    this.recent.clear();
    this.echoes.clear();
    this.numbers.clear();
    this.contacts.clear();
    this.groups.clear();
    this.older.clear();
    this.seen.clear();
  }

  requestPairingCode(phone: string): Promise<string> {
    return requestPairingCodeVia(this, phone, this.opts.pairingWaitMs ?? 30_000);
  }

  /** A code we asked for, while the socket is still showing its linking screen. */
  applyPairingCode(code: string, gen: number): void {
    if (gen !== this.generation || !['starting', 'qr', 'pairing'].includes(this.snap.state)) return;
    const changed = code !== this.snap.pairing_code;
    this.update({ state: 'pairing', pairing_code: code });
    if (changed) this.events.emit('pairing_code', code);
  }

  linked(): boolean {
    return this.store?.linked() ?? false;
  }

  sendText(chatId: string, text: string, opts: SendTextOptions = {}): Promise<SentMessage> {
    return this.texts.sendText(chatId, text, opts);
  }

  sendTyping(chatId: string, durationMs: number): Promise<void> {
    return this.texts.sendTyping(chatId, durationMs);
  }

  socketIfReady(): BaileysSocketLike | null {
    return this.snap.state === 'ready' ? this.sock : null;
  }

  /** Operations fail at once when not ready: callers get not_ready instead of waiting on a link that may never come. */
  readySocket(): BaileysSocketLike {
    if (this.snap.state !== 'ready' || !this.sock) throw notReady(this.snap.state, this.hasSavedSession());
    return this.sock;
  }

  /** One event per message id (see SeenIds), with the numbers behind linked ids filled in when known. */
  emitMessageOnce(msg: Message): void {
    if (!this.seen.first(msg.id)) return;
    this.events.emit('message', this.contacts.enrich(msg));
    this.contacts.noticeSenders(msg);
  }

  async logout(): Promise<void> {
    this.wanted = false;
    this.clearReconnect();
    const sock = this.sock;
    const connected = sock !== null && this.snap.state === 'ready';
    // Detach first: the 401 close that Baileys' logout() ends with is ours, not the phone's.
    this.generation++;
    this.sock = null;
    this.settle();
    if (sock && connected && this.linked()) {
      // Tells WhatsApp to remove this device from the phone's list; needs the connection, so only when it is up.
      await withTimeout(sock.logout(), 10_000).catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'WhatsApp logout failed; removing the local session anyway'));
    }
    if (sock) endQuietly(sock);
    await this.startPromise;
    this.forgetAccount();
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: null });
  }

  async stop(): Promise<void> {
    this.wanted = false;
    this.clearReconnect();
    this.retire();
    await this.startPromise;
    this.store?.close();
    this.store = null;
    this.update({ state: 'stopped', account: null, qr: null, pairing_code: null, last_error: null });
  }
}
