// Domain types shared by every engine, the store and both doors. Library types never leave an engine adapter.

export const ENGINE_NAMES = ['wwebjs', 'sandbox'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export const ENGINE_STATES = [
  'stopped',
  'starting',
  'qr',
  'pairing',
  'authenticated',
  'ready',
  'disconnected',
  'auth_failure',
  'error',
] as const;
export type EngineState = (typeof ENGINE_STATES)[number];

export interface Account {
  wid: string;
  pushname: string | null;
  platform: string | null;
}

export interface EngineStatus {
  engine: EngineName;
  state: EngineState;
  ready: boolean;
  authenticated: boolean;
  auth_dir: string;
  chrome_executable: string | null;
  headless: boolean;
  has_qr: boolean;
  /** The current pairing code while one is waiting to be entered on the phone. */
  pairing_code: string | null;
  last_error: string | null;
  account: Account | null;
}

/** WhatsApp delivery receipts, in the order they progress. */
export const ACK_STATES = ['error', 'pending', 'sent', 'delivered', 'read', 'played'] as const;
export type AckState = (typeof ACK_STATES)[number];

export interface Message {
  id: string;
  chat_id: string;
  from: string;
  to: string;
  /** Sender inside a group; null in one-to-one chats. */
  author: string | null;
  from_me: boolean;
  type: string;
  body: string;
  /** Unix seconds. */
  timestamp: number;
  has_media: boolean;
  ack: AckState | null;
}

export interface MessageSummary {
  id: string;
  body: string;
  from_me: boolean;
  timestamp: number;
}

export interface Chat {
  id: string;
  name: string;
  is_group: boolean;
  is_read_only: boolean;
  unread_count: number;
  /** Unix seconds of the last activity. */
  timestamp: number;
  archived: boolean;
  pinned: boolean;
  muted: boolean;
  last_message: MessageSummary | null;
}

export interface Contact {
  id: string;
  name: string | null;
  pushname: string | null;
  number: string | null;
  is_my_contact: boolean;
}

export interface SentMessage {
  message_id: string;
  chat_id: string;
  /** Unix seconds. */
  timestamp: number;
}

// Phone numbers: users paste "+1 (555) 010-2030"; WhatsApp wants bare digits.
const PHONE_NOISE = /[\s+\-().]/g;

/** Bare digits of a phone number, or null when fewer than 8 or more than 15 digits (E.164) remain. */
export function normalizePhone(input: string): string | null {
  const digits = input.replace(PHONE_NOISE, '');
  return /^\d{8,15}$/.test(digits) ? digits : null;
}

export function chatIdForPhone(digits: string): string {
  return `${digits}@c.us`;
}

export const CHAT_ID_PATTERN = /^(\d{5,20}(@c\.us|@s\.whatsapp\.net|@lid)|[\d-]{5,40}@g\.us|status@broadcast|\d+@newsletter)$/;

export function isGroupId(chatId: string): boolean {
  return chatId.endsWith('@g.us');
}

/** "1555…@c.us" → "1555…"; null for groups and other non-phone ids. */
export function phoneOfChatId(chatId: string): string | null {
  const m = /^(\d+)@(c\.us|s\.whatsapp\.net)$/.exec(chatId);
  return m ? m[1]! : null;
}
