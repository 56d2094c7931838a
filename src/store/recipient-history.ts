// What the recipient rules (src/service/recipient-policy.ts) ask the store about one chat id: has it any message,
// and did this account ever write in it (a message from us, or a send the outbox recorded as sent: an engine that
// does not echo our own sends leaves only the latter).
import type { Database, Statement } from 'better-sqlite3';

export class RecipientHistory {
  private readonly q: Record<'any' | 'fromMe' | 'sent', Statement>;

  constructor(db: Database) {
    const inChat = 'SELECT 1 FROM messages m JOIN chats c ON c.key = m.chat WHERE c.id = ?';
    this.q = {
      any: db.prepare(`${inChat} LIMIT 1`),
      // Walks the chat's own index (messages_by_chat) until a message of ours: short for any chat we wrote in.
      fromMe: db.prepare(`${inChat} AND m.from_me = 1 LIMIT 1`),
      // No index on chat_id: asked only of chats with no message from us, which is rare once confirmation is on.
      sent: db.prepare(`SELECT 1 FROM outbox WHERE chat_id = ? AND state = 'sent' LIMIT 1`),
    };
  }

  hasMessages(chatId: string): boolean {
    return this.q.any.get(chatId) !== undefined;
  }

  wroteTo(chatId: string): boolean {
    return this.q.fromMe.get(chatId) !== undefined || this.q.sent.get(chatId) !== undefined;
  }
}
