// The store's reads of chats and messages (pages, context, search). MessageStore (message-store.ts) adds the write
// queue and the indexer, and says what must happen before a read (flush the queue, index what waits).
import type { Chat, Contact, Message } from '../domain.js';
import { parseId } from '../domain.js';
import { ContactReads } from './contact-reads.js';
import type { Db } from './db.js';
import type { LidMap } from './lid-map.js';
import type { MessageWriter } from './message-writer.js';
import { type ChatRow, MESSAGE_COLUMNS, type MessageRow, toChat, toMessage as rowToMessage } from './rows.js';
import { type SearchQuery, type SearchResult, searchMessages } from './search.js';

export interface ChatPage {
  messages: Message[];
  /** seq of the first and last message on the page. */
  first: number | null;
  last: number | null;
  has_older: boolean;
  has_newer: boolean;
}

export interface MessageContext {
  message: Message;
  before: Message[];
  after: Message[];
}

export abstract class MessageReads {
  private readonly s: ReturnType<typeof prepare>;
  private readonly contacts: ContactReads;

  constructor(readonly db: Db, protected readonly writer: MessageWriter) {
    this.s = prepare(db);
    this.contacts = new ContactReads(db, writer.lids);
  }

  /** Before each read: the queued writes land, and (for search) what waits is indexed. */
  protected abstract beforeRead(index: boolean): void;

  getChat(chatId: string): Chat | null {
    this.beforeRead(false);
    const row = this.s.chat.get(chatId) as ChatRow | undefined;
    return row ? toChat(row, this.s.lastMessage.get(row.key) as MessageRow | undefined) : null;
  }

  /** Chats, newest activity first; `chatIds`: only those (a chat-limited key's). */
  listChats(limit: number, chatIds?: readonly string[] | null): Chat[] {
    this.beforeRead(false);
    const rows = (chatIds ? this.s.chatsIn.all(JSON.stringify(chatIds), limit) : this.s.chats.all(limit)) as ChatRow[];
    return rows.map((r) => toChat(r, this.s.lastMessage.get(r.key) as MessageRow | undefined));
  }

  messageCount(chatId: string): number {
    this.beforeRead(false);
    const key = this.writer.chatKey(chatId, false);
    return key === null ? 0 : (this.s.countInChat.get(key) as number);
  }

  /** A page of a chat, oldest first: the newest `limit`, or the `limit` just before / just after a seq. */
  chatPage(chatId: string, opts: { before?: number; after?: number; limit: number }): ChatPage | null {
    this.beforeRead(false);
    const key = this.writer.chatKey(chatId, false);
    if (key === null) return null;
    const { limit } = opts;
    let rows: MessageRow[];
    if (opts.after !== undefined) rows = this.s.pageAfter.all(key, opts.after, limit + 1) as MessageRow[];
    else rows = (this.s.pageBefore.all(key, opts.before ?? Number.MAX_SAFE_INTEGER, limit + 1) as MessageRow[]).reverse();
    const more = rows.length > limit;
    if (more) rows = opts.after !== undefined ? rows.slice(0, limit) : rows.slice(1);
    const first = rows[0]?.seq ?? null;
    const last = rows[rows.length - 1]?.seq ?? null;
    return {
      messages: rows.map(this.toMessage),
      first,
      last,
      has_older: opts.after !== undefined ? this.exists(key, '<', first ?? opts.after + 1) : more,
      has_newer: opts.after !== undefined ? more : opts.before !== undefined ? this.exists(key, '>', last ?? opts.before - 1) : false,
    };
  }

  /** The last `limit` messages of a chat, oldest first (the offline twin of engine.fetchMessages). */
  lastMessages(chatId: string, limit: number): Message[] {
    return this.chatPage(chatId, { limit })?.messages ?? [];
  }

  getMessage(id: string): (Message & { seq: number }) | null {
    this.beforeRead(false);
    const row = this.byId(id);
    return row ? { ...this.toMessage(row), seq: row.seq } : null;
  }

  /** `n` messages either side of one message, in the same chat. */
  context(id: string, n: number): MessageContext | null {
    this.beforeRead(false);
    const row = this.byId(id);
    if (!row) return null;
    const before = (this.s.pageBefore.all(row.chat, row.seq, n) as MessageRow[]).reverse();
    const after = this.s.pageAfter.all(row.chat, row.seq, n) as MessageRow[];
    return { message: this.toMessage(row), before: before.map(this.toMessage), after: after.map(this.toMessage) };
  }

  searchMessages(q: SearchQuery): SearchResult {
    this.beforeRead(true);
    const chats = q.chat_id !== undefined ? [q.chat_id] : q.chat_ids;
    const chatKeys = chats?.flatMap((id) => this.writer.chatKey(id, false) ?? []);
    if (chatKeys?.length === 0) return { hits: [], candidates_capped: false };
    // One person, two ids: a search by phone also finds what they wrote under their linked id, and the reverse.
    const sender = q.sender === undefined ? undefined : parseId(q.sender);
    const alt = sender?.kind === 'phone' ? this.lids.lidOf(sender.phone) : sender?.kind === 'lid' ? this.lids.phoneOf(sender.id) : null;
    const sender_alt = alt === null ? undefined : sender?.kind === 'lid' ? `${alt}@c.us` : alt;
    return searchMessages(this.db, { ...q, sender_alt }, chatKeys, this.toMessage);
  }

  /** People whose name, push name or number contains `q`; `chatIds`: only the people of those chats. */
  searchContacts(q: string, limit: number, chatIds?: readonly string[] | null): Contact[] {
    this.beforeRead(false);
    return this.contacts.search(q, limit, chatIds);
  }

  /** A stored person by phone chat id or linked id (either finds them once the mapping is known). */
  getContact(id: string): Contact | null {
    this.beforeRead(false);
    return this.contacts.get(id);
  }

  /** The linked-id map (lid ↔ phone) engines have told us. */
  get lids(): LidMap {
    return this.writer.lids;
  }

  private readonly toMessage = (r: MessageRow): Message => this.writer.lids.annotate(rowToMessage(r));

  private byId(id: string): (MessageRow & { chat: number }) | undefined {
    const seq = this.writer.ids.find(id);
    return seq === undefined ? undefined : (this.s.messageBySeq.get(seq) as (MessageRow & { chat: number }) | undefined);
  }

  private exists(key: number, op: '<' | '>', seq: number): boolean {
    return (op === '<' ? this.s.olderExists : this.s.newerExists).get(key, seq) !== undefined;
  }
}

function prepare(db: Db) {
  const msg = `SELECT ${MESSAGE_COLUMNS}, m.chat FROM messages m JOIN chats c ON c.key = m.chat`;
  return {
    chat: db.prepare('SELECT * FROM chats WHERE id = ?'),
    chats: db.prepare('SELECT * FROM chats ORDER BY timestamp DESC, key DESC LIMIT ?'),
    // By the unique id (a few rows), then sorted: a walk of chats_by_time would pass every other chat first.
    chatsIn: db.prepare('SELECT * FROM chats WHERE id IN (SELECT value FROM json_each(?)) ORDER BY timestamp DESC, key DESC LIMIT ?'),
    lastMessage: db.prepare(`${msg} WHERE m.chat = ? ORDER BY m.seq DESC LIMIT 1`),
    countInChat: db.prepare('SELECT count(*) FROM messages WHERE chat = ?').pluck(),
    pageBefore: db.prepare(`${msg} WHERE m.chat = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`),
    pageAfter: db.prepare(`${msg} WHERE m.chat = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`),
    olderExists: db.prepare('SELECT 1 FROM messages WHERE chat = ? AND seq < ? LIMIT 1'),
    newerExists: db.prepare('SELECT 1 FROM messages WHERE chat = ? AND seq > ? LIMIT 1'),
    messageBySeq: db.prepare(`${msg} WHERE m.seq = ?`),
  };
}
