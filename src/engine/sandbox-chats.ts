// The simulated account's chats and history, in memory (the seed plus what happened since; sends are restored
// from the delivery log after a restart). The engine decides when to tell the world; this only keeps the books.
import { type Chat, type Message, isGroupId, plainExtras } from '../domain.js';
import { AppError } from '../errors.js';
import type { Amendment, Delivery } from './sandbox-deliveries.js';
import { SEED_NAMES, seedAccount } from './sandbox-seed.js';

type ChatRecord = Omit<Chat, 'last_message' | 'timestamp'>;

export class SandboxChats {
  private readonly chats = new Map<string, ChatRecord>();
  private readonly history = new Map<string, Message[]>();

  get empty(): boolean {
    return this.chats.size === 0;
  }

  /** The seeded account, plus what we sent in earlier runs (WhatsApp keeps your sent messages). */
  load(myWid: string, linkedAt: number, delivered: ReadonlyArray<Delivery | Amendment>): void {
    for (const { chat, messages } of seedAccount(myWid, linkedAt)) {
      this.chats.set(chat.id, { ...chat });
      this.history.set(chat.id, [...messages]);
    }
    for (const d of delivered) {
      if ('amend' in d) {
        const m = this.find(d.chat_id, d.id);
        if (m && d.amend === 'edit') Object.assign(m, { body: d.body ?? '', edited: true });
        if (m && d.amend === 'revoke') revoke(m);
        continue;
      }
      this.ensure(d.chat_id);
      this.history.get(d.chat_id)!.push({ ...plainExtras(), ...d, from: myWid, to: d.chat_id, author: null, from_me: true, type: d.type ?? 'chat', has_media: Boolean(d.media), ack: 'read' });
    }
  }

  clear(): void {
    this.chats.clear();
    this.history.clear();
  }

  /** The chat, created for a phone number seen for the first time; `created` says whether it is new. */
  ensure(chatId: string): { chat: ChatRecord; created: boolean } {
    const known = this.chats.get(chatId);
    if (known) return { chat: known, created: false };
    if (isGroupId(chatId)) throw new AppError('not_found', `No group ${chatId}`, { hint: 'List chats to find group ids.' });
    const digits = chatId.split('@')[0]!;
    const chat: ChatRecord = { id: chatId, name: SEED_NAMES[digits] ?? `+${digits}`, is_group: false, is_read_only: false, unread_count: 0, archived: false, pinned: false, muted: false };
    this.chats.set(chatId, chat);
    this.history.set(chatId, []);
    return { chat, created: true };
  }

  /** A group chat appears (created or joined). */
  addGroup(id: string, name: string): void {
    if (this.chats.has(id)) return;
    this.chats.set(id, { id, name, is_group: true, is_read_only: false, unread_count: 0, archived: false, pinned: false, muted: false });
    this.history.set(id, []);
  }

  rename(id: string, name: string): void {
    const chat = this.chats.get(id);
    if (chat) chat.name = name;
  }

  push(msg: Message): void {
    this.history.get(msg.chat_id)!.push(msg);
  }

  /** A message by id in a chat, or null. */
  find(chatId: string, id: string): Message | null {
    return this.history.get(chatId)?.find((m) => m.id === id) ?? null;
  }

  /** A chat's record (unread count and flags), or null. */
  record(chatId: string): ChatRecord | null {
    return this.chats.get(chatId) ?? null;
  }

  view(chatId: string): Chat | null {
    const chat = this.chats.get(chatId);
    if (!chat) return null;
    const msgs = this.history.get(chatId) ?? [];
    const last = msgs[msgs.length - 1];
    return {
      ...chat,
      timestamp: last?.timestamp ?? 0,
      last_message: last ? { id: last.id, body: last.body, from_me: last.from_me, timestamp: last.timestamp } : null,
    };
  }

  /** Newest activity first. */
  list(limit: number): Chat[] {
    return [...this.chats.keys()]
      .map((id) => this.view(id)!)
      .sort((a, b) => b.timestamp - a.timestamp)
      .slice(0, limit);
  }

  /** The last `limit` messages, oldest first. */
  messages(chatId: string, limit: number): Message[] {
    return (this.history.get(chatId) ?? []).slice(-limit);
  }
}

/** Deleted for everyone: the message stays as a tombstone, its content gone (as WhatsApp shows it). */
export function revoke(m: Message): void {
  Object.assign(m, { revoked: true, body: '', type: 'revoked', has_media: false, media: null, location: null, poll: null, quoted: null });
}
