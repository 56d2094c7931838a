// The slice of Baileys' socket the engine uses, and the factory that makes a real one. Tests hand the engine a
// fake with the same shape (test/fakes/fake-baileys-socket.ts) that emits the library's real events.
import makeWASocket, {
  type AnyMessageContent,
  type AuthenticationState,
  type BaileysEventMap,
  type ChatModification,
  type Contact,
  type GroupMetadata,
  type MiscMessageGenerationOptions,
  type ParticipantAction,
  type WAMessage,
  type WAMessageKey,
  type WAPresence,
  type proto,
  Browsers,
  downloadMediaMessage,
} from 'baileys';
import type { Logger } from '../logger.js';

export interface BaileysEventsLike {
  on<T extends keyof BaileysEventMap>(event: T, listener: (arg: BaileysEventMap[T]) => void): void;
}

export interface BaileysSocketLike {
  readonly ev: BaileysEventsLike;
  /** Our own account once logged in: id "<digits>:<device>@s.whatsapp.net", lid "<lid>:<device>@lid". */
  readonly user: Contact | undefined;
  readonly signalRepository: {
    readonly lidMapping: {
      getPNForLID(lid: string): Promise<string | null>;
      getLIDForPN(pn: string): Promise<string | null>;
    };
  };
  /** Only once the socket is connected and showing QR codes (Baileys' own example asks on the first `qr`). */
  requestPairingCode(phoneNumber: string): Promise<string>;
  logout(msg?: string): Promise<void>;
  end(error: Error | undefined): void | Promise<void>;
  sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined>;
  readMessages(keys: WAMessageKey[]): Promise<void>;
  chatModify(mod: ChatModification, jid: string): Promise<void>;
  sendPresenceUpdate(type: WAPresence, toJid?: string): Promise<void>;
  /** Numbers that have no WhatsApp are left out of the answer, not answered `exists: false`. */
  onWhatsApp(...phoneNumbers: string[]): Promise<Array<{ jid: string; exists: boolean }> | undefined>;
  groupMetadata(jid: string): Promise<GroupMetadata>;
  groupFetchAllParticipating(): Promise<{ [jid: string]: GroupMetadata }>;
  groupCreate(subject: string, participants: string[]): Promise<GroupMetadata>;
  groupParticipantsUpdate(jid: string, participants: string[], action: ParticipantAction): Promise<Array<{ status: string; jid: string | undefined }>>;
  groupUpdateSubject(jid: string, subject: string): Promise<void>;
  groupUpdateDescription(jid: string, description?: string): Promise<void>;
  groupSettingUpdate(jid: string, setting: 'announcement' | 'not_announcement' | 'locked' | 'unlocked'): Promise<void>;
  groupInviteCode(jid: string): Promise<string | undefined>;
  groupRevokeInvite(jid: string): Promise<string | undefined>;
  groupAcceptInvite(code: string): Promise<string | undefined>;
  groupGetInviteInfo(code: string): Promise<GroupMetadata>;
  groupLeave(jid: string): Promise<void>;
  /**
   * Ask the phone for `count` messages older than this one (timestamp in ms); resolves with the request's message id.
   * The messages come later, if at all, as a messaging-history.set with syncType ON_DEMAND.
   */
  fetchMessageHistory(count: number, oldestMsgKey: WAMessageKey, oldestMsgTimestamp: number): Promise<string>;
  /** downloadMediaMessage bound to this socket (an expired file is re-requested through it). */
  downloadMedia(message: WAMessage): Promise<Buffer>;
}

export interface BaileysSocketSpec {
  /** The auth store's state: creds plus the cached signal key store. */
  auth: AuthenticationState;
  logger: Logger;
  /** For message retries and poll vote decryption: the raw message we sent or received. */
  getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined>;
  /** Group metadata we already fetched, so sends to a group need no query first. */
  cachedGroupMetadata(jid: string): Promise<GroupMetadata | undefined>;
  /** Another WhatsApp WebSocket endpoint (a wire-level test server such as crabline); unset: WhatsApp's own. */
  waWebSocketUrl?: string | undefined;
}

export type BaileysSocketFactory = (spec: BaileysSocketSpec) => BaileysSocketLike;

/** Baileys logs every frame at debug and a lot at info; only warnings and up unless we are debugging. */
function libraryLogger(logger: Logger): Logger {
  const child = logger.child({ part: 'baileys' });
  child.level = logger.isLevelEnabled('debug') ? logger.level : 'warn';
  return child;
}

export const librarySocketFactory: BaileysSocketFactory = (spec) => {
  const logger = libraryLogger(spec.logger);
  const sock = makeWASocket({
    auth: spec.auth,
    logger,
    browser: Browsers.ubuntu('Chrome'),
    // Online on connect stops the phone from getting notifications; we only send, read and listen.
    markOnlineOnConnect: false,
    getMessage: spec.getMessage,
    cachedGroupMetadata: spec.cachedGroupMetadata,
    ...(spec.waWebSocketUrl ? { waWebSocketUrl: spec.waWebSocketUrl } : {}),
  });
  // The compiler checks here that the real socket has the slice's shape.
  const slice: Omit<BaileysSocketLike, 'downloadMedia'> = sock;
  return Object.assign(slice, {
    downloadMedia: (message: WAMessage) => downloadMediaMessage(message, 'buffer', {}, { logger, reuploadRequest: sock.updateMediaMessage }),
  });
};

/** Close a socket we are done with; Baileys' end() is idempotent and its failures are of no interest any more. */
export function endQuietly(sock: BaileysSocketLike): void {
  try {
    void Promise.resolve(sock.end(undefined)).catch(() => undefined);
  } catch {
    // already closed
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
