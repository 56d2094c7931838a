// The Baileys engine's short-term memory, all bounded. Baileys keeps no messages: quoting, reacting in a group,
// downloading a file, retrying a send (getMessage) and decrypting poll votes each need the raw message, and our store
// keeps no raw protobufs. So the last N messages sent or received since start are kept here, in memory only: after
// a restart, or once evicted, those messages can no longer be quoted, downloaded or re-sent on a retry request.
import type { WAMessage, WAMessageKey, proto } from 'baileys';
import { type Key, messageKey } from './baileys-map.js';

export const RECENT_MESSAGES = 2_000;
const UNREAD_CHATS = 500;
const UNREAD_PER_CHAT = 200;

export interface Remembered {
  raw: WAMessage;
  key: Key;
  /** Our chat id. */
  chatId: string;
  timestamp: number;
}

export class RecentMessages {
  private readonly byId = new Map<string, Remembered>();
  /** Inbound keys per chat since we last marked it read: readMessages wants each message's key. */
  private readonly unread = new Map<string, WAMessageKey[]>();

  constructor(private readonly limit = RECENT_MESSAGES) {}

  remember(raw: WAMessage, chatId: string, timestamp: number): void {
    const key = messageKey.safeParse(raw.key);
    if (!key.success) return;
    const before = this.byId.get(key.data.id);
    this.byId.delete(key.data.id);
    // A later copy without content (an "append" echo, a stub) must not replace the one that has it.
    const keep = before && !raw.message ? before.raw : raw;
    this.byId.set(key.data.id, { raw: keep, key: key.data, chatId, timestamp });
    trim(this.byId, this.limit);
  }

  get(id: string): Remembered | undefined {
    return this.byId.get(id);
  }

  /** For Baileys' getMessage: the content of a message we sent or received (retries, poll votes). */
  content(key: WAMessageKey): proto.IMessage | undefined {
    return key.id ? (this.byId.get(key.id)?.raw.message ?? undefined) : undefined;
  }

  noteUnread(chatId: string, key: WAMessageKey): void {
    const keys = this.unread.get(chatId) ?? [];
    this.unread.delete(chatId);
    keys.push(key);
    if (keys.length > UNREAD_PER_CHAT) keys.splice(0, keys.length - UNREAD_PER_CHAT);
    this.unread.set(chatId, keys);
    trim(this.unread, UNREAD_CHATS);
  }

  unreadKeys(chatId: string): WAMessageKey[] {
    return this.unread.get(chatId) ?? [];
  }

  markedRead(chatId: string): void {
    this.unread.delete(chatId);
  }

  clear(): void {
    this.byId.clear();
    this.unread.clear();
  }
}

/**
 * Our own reactions, edits and deletes are reported when the call returns; Baileys echoes each one a moment later
 * (emitOwnEvents: the sent protocol or reaction message is processed like a received one). The echo is dropped.
 */
export class OwnEchoes {
  private readonly pending = new Map<string, number>();

  expect(kind: 'reaction' | 'edit' | 'revoke', id: string, detail = ''): void {
    const k = `${kind}\u0000${id}\u0000${detail}`;
    this.pending.set(k, (this.pending.get(k) ?? 0) + 1);
    trim(this.pending, 1_000);
  }

  /** True (and forgotten) when this is the echo of something we reported ourselves. */
  consume(kind: 'reaction' | 'edit' | 'revoke', id: string, detail = ''): boolean {
    const k = `${kind}\u0000${id}\u0000${detail}`;
    const n = this.pending.get(k);
    if (!n) return false;
    if (n === 1) this.pending.delete(k);
    else this.pending.set(k, n - 1);
    return true;
  }

  clear(): void {
    this.pending.clear();
  }
}

/** Ids already reported: our own sends come back as an "append" upsert, and history may repeat a live message. */
export class SeenIds {
  private readonly ids = new Set<string>();
  /** True the first time an id is seen (among the last 5,000). */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > 5_000) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
  clear(): void {
    this.ids.clear();
  }
}

function trim(map: Map<string, unknown>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as string);
}
