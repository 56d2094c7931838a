// The slice of whatsapp-web.js's Client the engine uses, so tests can hand in a fake with the same shape.
import wweb from 'whatsapp-web.js';
import { browserArgs } from './browser.js';

/** Everything needed to build one Client; the fake records it so tests can check launch settings. */
export interface WwebjsClientSpec {
  authDir: string;
  /** LocalAuth keeps the Chromium profile in <authDir>/session-<clientId>. */
  clientId: 'default';
  puppeteer: {
    executablePath: string;
    headless: boolean;
    args: string[];
    // Signals belong to our composition root's graceful shutdown; puppeteer's own handlers would exit the process.
    // Puppeteer still kills the browser on process exit.
    handleSIGINT: false;
    handleSIGTERM: false;
    handleSIGHUP: false;
  };
}

/** A library Chat: data fields are read through wwebjs-map; these are the methods we call. */
export interface WwebjsChatLike {
  fetchMessages(opts: { limit: number }): Promise<unknown[]>;
  /** False when WhatsApp Web could not find the chat. */
  sendSeen(): Promise<boolean>;
  // The three chat states always resolve true: the library does not await the page call, so errors are lost.
  sendStateTyping(): Promise<unknown>;
  sendStateRecording(): Promise<unknown>;
  clearState(): Promise<unknown>;
}

/** A library Message: data fields are read through wwebjs-map; these are the methods we call. */
export interface WwebjsMessageLike {
  /** Resolves even when nothing happened (an unknown message); "" takes the reaction back. */
  react(emoji: string): Promise<unknown>;
  /** Null, not an error, for someone else's message or one WhatsApp no longer lets you edit. */
  edit(content: string): Promise<unknown>;
  /** Quietly deletes for me only when WhatsApp does not allow a revoke for everyone. */
  delete(everyone?: boolean): Promise<unknown>;
  /** A MessageMedia ({mimetype, data: base64, filename}), or undefined when there is none or it expired. */
  downloadMedia(): Promise<unknown>;
}

/**
 * A library GroupChat (src/structures/GroupChat.js): data fields (groupMetadata) are read through
 * wwebjs-map-groups; these are the methods we call. Most report refusal by value, not by throwing.
 */
export interface WwebjsGroupChatLike extends WwebjsChatLike {
  /** Per requested id {code, message, isInviteV4Sent}, or a string ("AddParticipantsError: ...") when the whole call was refused. */
  addParticipants(ids: string[], options: { autoSendInviteV4: boolean; comment?: string }): Promise<unknown>;
  // These three always resolve {status: 200}: ids that are not members are dropped without a word.
  removeParticipants(ids: string[]): Promise<unknown>;
  promoteParticipants(ids: string[]): Promise<unknown>;
  demoteParticipants(ids: string[]): Promise<unknown>;
  /** The four setters resolve false when WhatsApp refuses (ServerStatusCodeError), e.g. when we are not admin. */
  setSubject(subject: string): Promise<boolean>;
  setDescription(description: string): Promise<boolean>;
  setMessagesAdminsOnly(adminsOnly: boolean): Promise<boolean>;
  setInfoAdminsOnly(adminsOnly: boolean): Promise<boolean>;
  /** The code, or undefined when WhatsApp refuses (not admin). */
  getInviteCode(): Promise<unknown>;
  /** The new code; throws when WhatsApp refuses. */
  revokeInvite(): Promise<unknown>;
  leave(): Promise<unknown>;
}

/** What sendMessage can carry: text, or one of the library's own classes (it checks them with instanceof). */
export type WwebjsContent = string | wweb.MessageMedia | wweb.Location | wweb.Poll;

/** The sendMessage options we use; the library ignores the ones it does not know without a warning. */
export interface WwebjsSendOptions {
  sendSeen: boolean;
  caption?: string;
  quotedMessageId?: string;
  sendAudioAsVoice?: true;
  sendMediaAsSticker?: true;
  sendMediaAsDocument?: true;
}

export interface WwebjsClientLike {
  /** The library emits plain EventEmitter events; payload shapes are checked in wwebjs-map. */
  on(event: string, listener: (...args: any[]) => void): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  logout(): Promise<void>;
  requestPairingCode(phoneNumber: string, showNotification?: boolean, intervalMs?: number): Promise<string>;
  getNumberId(number: string): Promise<{ _serialized: string } | null>;
  /** Undefined when the chat could not be resolved, null for a type the chat kind refuses (channels, status). */
  sendMessage(chatId: string, content: WwebjsContent, options: WwebjsSendOptions): Promise<unknown>;
  getChats(): Promise<unknown[]>;
  /** The library returns undefined for an unknown chat, and for a new number may create an empty one. */
  getChatById(chatId: string): Promise<WwebjsChatLike | undefined>;
  /** Null when the message is in neither the page's store nor WhatsApp's local database. */
  getMessageById(messageId: string): Promise<WwebjsMessageLike | null>;
  /** {title, gid, participants: {[id]: {statusCode, message, ...}}}, or a string ("CreateGroupError: ...") on failure. */
  createGroup(title: string, participants: string[], options: { autoSendInviteV4: boolean }): Promise<unknown>;
  /** The joined group's id (gid._serialized); throws for an invalid or revoked code. */
  acceptInvite(inviteCode: string): Promise<unknown>;
  /** The group an invite code leads to ({id, subject, ...}); throws for an invalid code. */
  getInviteInfo(inviteCode: string): Promise<unknown>;
  /** A Contact for any id: WhatsApp Web makes up an empty one for people it knows nothing of. */
  getContactById(contactId: string): Promise<unknown>;
  getContacts(): Promise<unknown[]>;
  /** One {lid, pn} per id, in order; either side undefined when WhatsApp did not say (both when it knows nobody by that id). */
  getContactLidAndPhone(userIds: string[]): Promise<unknown[]>;
  /** Set by the library just before `ready`. */
  readonly info?: unknown;
}

export type WwebjsClientFactory = (spec: WwebjsClientSpec) => WwebjsClientLike;

/** Production: a real Client with LocalAuth. whatsapp-web.js is CommonJS, hence the default import. */
export const libraryClientFactory: WwebjsClientFactory = (spec) => {
  const { Client, LocalAuth } = wweb;
  return new Client({
    authStrategy: new LocalAuth({ dataPath: spec.authDir, clientId: spec.clientId }),
    puppeteer: spec.puppeteer,
  });
};

export function clientSpec(cfg: { authDir: string; headless: boolean }, executablePath: string, isRoot: boolean): WwebjsClientSpec {
  return {
    authDir: cfg.authDir,
    clientId: 'default',
    puppeteer: { executablePath, headless: cfg.headless, args: browserArgs({ isRoot }), handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false },
  };
}
