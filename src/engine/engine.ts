// The engine seam: everything that talks to WhatsApp sits behind this interface.
// Implementations: sandbox.ts (simulated account, the fake for every test above the engine) and wwebjs.ts.
import { EventEmitter } from 'node:events';
import type {
  AckState,
  Chat,
  Contact,
  EngineName,
  EngineStatus,
  Group,
  Location,
  MediaKind,
  Message,
  ParticipantAction,
  ParticipantResult,
  SentMessage,
} from '../domain.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface EngineEvents {
  /** Emitted on every status change (state, qr, pairing code, account, error). */
  status: [EngineStatus];
  qr: [string];
  pairing_code: [string];
  /** A message seen for the first time: received, sent through us, or sent from the phone. */
  message: [Message];
  message_ack: [{ id: string; chat_id: string; ack: AckState }];
  message_edit: [{ id: string; chat_id: string; body: string }];
  message_revoke: [{ id: string; chat_id: string }];
  /** Someone (you too) reacted to a message; emoji "" means the reaction was taken back. */
  message_reaction: [{ id: string; chat_id: string; emoji: string; from: string; timestamp: number }];
  chat: [Chat];
  /** A group was created, changed (subject, description, settings), or its members changed. */
  group_update: [GroupUpdate];
  /** What WhatsApp told us about a person (a contact sync, a push name seen). */
  contact: [Contact];
  /** WhatsApp revealed the phone number behind a linked id. Never guessed: only what the engine was told. */
  lid_mapping: [{ lid: string; phone: string }];
  /**
   * Old messages WhatsApp sent in bulk (history sync after linking, on reconnects, or asked for): stored, never
   * announced one by one (a first sync can carry hundreds of thousands). Chunks of one sync, in order.
   */
  history_messages: [Message[]];
  /** A history sync batch is done (all its history_messages emitted): one summary per batch. */
  history_synced: [HistorySyncSummary];
}

export interface HistorySyncSummary {
  /** Messages in this batch. */
  count: number;
  /** Chats in this batch. */
  chats: number;
  /** 0–100 as the phone reports it; null when it did not say. */
  progress: number | null;
  /** The last batch of the initial sync; null when the engine does not know (on-demand batches). */
  is_latest: boolean | null;
  /** WhatsApp's name for the kind of sync (INITIAL_BOOTSTRAP, RECENT, FULL, ON_DEMAND, ...); null when unknown. */
  sync_type: string | null;
}

export type GroupUpdate =
  | { group_id: string; type: 'created'; by: string | null }
  | { group_id: string; type: 'updated'; by: string | null; changes: { subject?: string; description?: string | null; announce?: boolean; restrict?: boolean } }
  | { group_id: string; type: 'participants'; by: string | null; action: ParticipantAction | 'join' | 'leave'; participants: string[] };

export interface SendTextOptions {
  /** Mark the chat as seen after sending. WhatsApp shows it to the contact; off by default. */
  markSeen?: boolean;
  /** Id of a message in the same chat that this one replies to (quotes). */
  quotedId?: string;
}

/** A file already in the media store, ready to go out. */
export interface OutgoingMedia {
  path: string;
  kind: MediaKind;
  mimetype: string;
  filename: string | null;
  size: number;
  sha256: string;
}

export interface DownloadedMedia {
  data: Buffer;
  mimetype: string;
  filename: string | null;
}

/** Enough to find a message again on any engine (Baileys needs the key: chat, id, from_me). */
export interface MessageRef {
  id: string;
  chat_id: string;
  from_me: boolean;
}

export const PRESENCE_STATES = ['typing', 'recording', 'paused'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

export interface PollDraft {
  question: string;
  options: string[];
  multiple: boolean;
}

// Facets: optional groups of capability. An engine without one makes the operations that need it answer
// 501 not_supported (and leaves them out of MCP tools/list), instead of every engine stubbing every method.

export interface MediaFacet {
  sendMedia(chatId: string, media: OutgoingMedia, opts: { caption?: string; quotedId?: string }): Promise<SentMessage>;
  /** The file of a message; null when it has none, or WhatsApp no longer has it. */
  downloadMedia(ref: MessageRef): Promise<DownloadedMedia | null>;
}

export interface MessageOpsFacet {
  /** "" takes your reaction back. */
  react(ref: MessageRef, emoji: string): Promise<void>;
  /** Your own message only; WhatsApp allows it for 15 minutes. */
  edit(ref: MessageRef, text: string): Promise<void>;
  delete(ref: MessageRef, forEveryone: boolean): Promise<void>;
  markRead(chatId: string): Promise<void>;
  setPresence(chatId: string, state: PresenceState): Promise<void>;
}

export interface RichMessagesFacet {
  sendLocation(chatId: string, location: Location, opts: { quotedId?: string }): Promise<SentMessage>;
  sendPoll(chatId: string, poll: PollDraft, opts: { quotedId?: string }): Promise<SentMessage>;
}

/** The account's chats, live: what WhatsApp Web shows. */
export interface ChatsFacet {
  /** Chats, newest activity first. */
  listChats(limit: number): Promise<Chat[]>;
  /** Null when the chat does not exist. */
  getChat(chatId: string): Promise<Chat | null>;
  /** The last `limit` messages of a chat, oldest first. */
  fetchMessages(chatId: string, limit: number): Promise<Message[]>;
}

export interface GroupPatch {
  subject?: string | undefined;
  description?: string | undefined;
  announce?: boolean | undefined;
  restrict?: boolean | undefined;
}

/** Group management. Changes you may not make throw AppError not_admin; an unknown group not_found. */
export interface GroupsFacet {
  listGroups(): Promise<Group[]>;
  getGroup(groupId: string): Promise<Group | null>;
  /** Participants are person chat ids ("…@c.us" or "…@lid"); those that could not be added are in `results`. */
  createGroup(subject: string, participants: string[]): Promise<{ group: Group; results: ParticipantResult[] }>;
  updateParticipants(groupId: string, action: ParticipantAction, participants: string[]): Promise<ParticipantResult[]>;
  updateGroup(groupId: string, patch: GroupPatch): Promise<Group>;
  /** The invite code (the part after https://chat.whatsapp.com/). */
  getInvite(groupId: string): Promise<string>;
  /** Revoke the invite; returns the new code. */
  revokeInvite(groupId: string): Promise<string>;
  /** Join by invite code; returns the group id. */
  joinGroup(code: string): Promise<string>;
  leaveGroup(groupId: string): Promise<void>;
}

export interface NumberCheck {
  phone_number: string;
  on_whatsapp: boolean;
  chat_id: string | null;
}

export interface ContactsFacet {
  /** A person by "…@c.us" or "…@lid"; null when WhatsApp knows nothing of them. */
  getContact(id: string): Promise<Contact | null>;
  /** Which of these bare-digit numbers have WhatsApp. */
  checkNumbers(phones: string[]): Promise<NumberCheck[]>;
  /** Everyone the account knows (saved contacts and people seen), for the store. */
  listContacts(): Promise<Contact[]>;
}

/** What came back from asking the phone for older messages of a chat. */
export interface OlderHistory {
  /** Messages of the chat that arrived (and were stored) in answer. */
  received: number;
  /** False when the phone did not answer within the wait: the messages may still arrive later. */
  answered: boolean;
}

/**
 * Older history on demand: an engine whose store can be filled from the phone beyond what it synced (Baileys'
 * fetchMessageHistory). The answer arrives as history_messages (so it lands in the store) before this resolves.
 */
export interface HistoryFacet {
  /** Ask for up to `count` messages older than `oldest` (the oldest one stored); waits at most `waitMs`. */
  fetchOlder(oldest: MessageRef & { timestamp: number }, count: number, opts?: { waitMs?: number; signal?: AbortSignal }): Promise<OlderHistory>;
}

export const FACETS = ['chats', 'media', 'messageOps', 'richMessages', 'groups', 'contacts', 'history'] as const;
export type FacetName = (typeof FACETS)[number];
type Facets = { chats: ChatsFacet; media: MediaFacet; messageOps: MessageOpsFacet; richMessages: RichMessagesFacet; groups: GroupsFacet; contacts: ContactsFacet; history: HistoryFacet };

const FACET_WHAT: Record<FacetName, string> = {
  chats: 'list chats live',
  media: 'send or download media',
  messageOps: 'react to, edit or delete messages, mark chats read or set presence',
  richMessages: 'send locations or polls',
  groups: 'manage groups',
  contacts: 'look up contacts or check numbers',
  history: 'fetch older history from the phone',
};

/** The facet, or the 501 every door shows when this engine lacks it. */
export function requireFacet<K extends FacetName>(engine: Engine, facet: K): Facets[K] {
  const f = engine[facet] as Facets[K] | undefined;
  if (f) return f;
  throw new AppError('not_supported', `The ${engine.name} engine cannot ${FACET_WHAT[facet]}`, {
    hint: `Run an engine that can (WHATSAPP_ENGINE=wwebjs or sandbox); GET /api/status shows the engine in use.`,
    details: { engine: engine.name, facet },
  });
}

export interface Engine {
  readonly name: EngineName;
  readonly events: TypedEmitter<EngineEvents>;
  /** Absent on an engine with no live chat list (Baileys): reads then come from the store, and say so. */
  readonly chats?: ChatsFacet;
  readonly media?: MediaFacet;
  readonly messageOps?: MessageOpsFacet;
  readonly richMessages?: RichMessagesFacet;
  readonly groups?: GroupsFacet;
  readonly contacts?: ContactsFacet;
  readonly history?: HistoryFacet;

  status(): EngineStatus;
  /** The current QR payload while state is `qr`. */
  currentQr(): string | null;
  /** True when a linked session is saved on disk, so a start needs no user step. */
  hasSavedSession(): boolean;

  /**
   * Begin connecting. Resolves once the attempt has settled (linked, waiting for QR/pairing, or failed:
   * failures land in status().last_error, never as a rejection). Concurrent calls share one attempt.
   */
  start(): Promise<void>;
  /** Ask WhatsApp for an 8-character pairing code for this phone number (bare digits). */
  requestPairingCode(phoneDigits: string): Promise<string>;

  /** Send text to a chat id. Throws AppError not_on_whatsapp when the number has no account. */
  sendText(chatId: string, text: string, opts?: SendTextOptions): Promise<SentMessage>;
  /** Show "typing…" in the chat for about this long (optional capability). */
  sendTyping?(chatId: string, durationMs: number): Promise<void>;

  /** Unlink the device and delete the saved session. */
  logout(): Promise<void>;
  /** Disconnect and release resources (browser, sockets, timers); the saved session stays. */
  stop(): Promise<void>;
}

/** EventEmitter with typed event names and payloads. */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly ee = new EventEmitter();
  constructor() {
    // Many SSE/MCP listeners may subscribe; the default cap of 10 would print a false leak warning.
    this.ee.setMaxListeners(0);
  }
  on<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): () => void {
    this.ee.on(event, fn as (...args: unknown[]) => void);
    return () => this.ee.off(event, fn as (...args: unknown[]) => void);
  }
  once<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): void {
    this.ee.once(event, fn as (...args: unknown[]) => void);
  }
  emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.ee.emit(event, ...args);
  }
  /** For leak checks. */
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }
}

/** Status fields that do not depend on the engine's current state. */
export interface StatusBase {
  engine: EngineName;
  auth_dir: string;
  chrome_executable: string | null;
  headless: boolean;
}

/** What a connection-holding engine (wwebjs, Baileys) knows of its state; the status is built from it. */
export interface EngineSnapshot extends Pick<EngineStatus, 'state' | 'last_error' | 'account'> {
  qr: string | null;
  pairing_code: string | null;
}

/**
 * The snapshot after `patch`, or null when nothing changed (no status event then); a state change is logged here, the
 * same way for every engine.
 */
export function nextSnapshot(prev: EngineSnapshot, patch: Partial<EngineSnapshot>, log: Pick<Logger, 'info'>): EngineSnapshot | null {
  const next = { ...prev, ...patch };
  if (JSON.stringify(next) === JSON.stringify(prev)) return null;
  if (next.state !== prev.state) log.info({ from: prev.state, to: next.state, last_error: next.last_error }, 'engine state');
  return next;
}

export function buildStatus(base: StatusBase, s: EngineSnapshot): EngineStatus {
  // Fields spelled out: an object spread here measured ~5 µs per call, on every status read.
  return {
    engine: base.engine,
    auth_dir: base.auth_dir,
    chrome_executable: base.chrome_executable,
    headless: base.headless,
    state: s.state,
    ready: s.state === 'ready',
    authenticated: s.state === 'ready' || s.state === 'authenticated' || (s.state === 'disconnected' && s.account !== null),
    has_qr: s.state === 'qr' && s.qr !== null,
    pairing_code: s.state === 'pairing' ? s.pairing_code : null,
    last_error: s.last_error,
    account: s.account,
  };
}
