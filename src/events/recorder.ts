// Engine and outbox happenings → the event log. One listener per engine event; the log batches the writes.
import type { Database, Statement } from 'better-sqlite3';
import type { Message } from '../domain.js';
import type { Engine } from '../engine/engine.js';
import type { OutboxOutcome } from '../service/send-service.js';
import type { EventLog } from './event-log.js';

/** Subscribe the log to an engine. Returns the unsubscribe function. */
export function recordEngineEvents(log: EventLog, engine: Engine, db: Database, annotate: (m: Message) => Message = (m) => m): () => void {
  const chats = new KnownChats(db);
  let lastState = engine.status().state;
  const noteChat = (chatId: string, chat: unknown) => {
    if (chats.isNew(chatId)) void log.append('chat.created', chatId, { chat });
  };
  const offs = [
    engine.events.on('chat', (chat) => noteChat(chat.id, chat)),
    engine.events.on('message', (message) => {
      noteChat(message.chat_id, { id: message.chat_id });
      void log.append(message.from_me ? 'message.sent' : 'message.received', message.chat_id, { message: annotate(message) });
    }),
    engine.events.on('message_ack', (e) => void log.append('message.ack', e.chat_id, e)),
    engine.events.on('message_edit', (e) => void log.append('message.edited', e.chat_id, e)),
    engine.events.on('message_revoke', (e) => void log.append('message.revoked', e.chat_id, e)),
    engine.events.on('message_reaction', (e) => void log.append('message.reaction', e.chat_id, e)),
    engine.events.on('group_update', (g) => {
      const { type, group_id, ...data } = g;
      void log.append(type === 'created' ? 'group.created' : type === 'updated' ? 'group.updated' : 'group.participants', group_id, { group_id, ...data });
    }),
    engine.events.on('contact', (contact) => void log.append('contact.updated', null, { contact })),
    // History is stored, not announced message by message (a first sync can carry 100k+): one summary per batch.
    engine.events.on('history_synced', (s) => void log.append('history.synced', null, { ...s })),
    // The engine reports every status change (a QR rotation too); the log records state transitions only.
    engine.events.on('status', (s) => {
      if (s.state === lastState) return;
      lastState = s.state;
      void log.append('connection.state', null, { state: s.state, ready: s.ready, last_error: s.last_error, account: s.account });
    }),
    // The codes go to the log (a headless client needs them to link) but never to the logger.
    engine.events.on('qr', (qr) => void log.append('auth.qr', null, { qr })),
    engine.events.on('pairing_code', (code) => void log.append('auth.pairing_code', null, { code })),
  ];
  return () => offs.forEach((off) => off());
}

/** SendService outcomes → outbox.* events. */
export function recordOutboxOutcome(log: EventLog, o: OutboxOutcome): void {
  void log.append(`outbox.${o.state}`, o.chat_id, { ...o });
}

/**
 * Which chats exist already, to tell a new chat (chat.created, MCP list_changed) from a known one. A miss is checked
 * against the chats table once; hits are cached. The table can lag the engine by a few ms (the store batches), which
 * is why ids seen here are cached at once.
 */
class KnownChats {
  private readonly seen = new Set<string>();
  private readonly exists: Statement;

  constructor(db: Database) {
    this.exists = db.prepare('SELECT 1 FROM chats WHERE id = ?').pluck();
  }

  isNew(chatId: string): boolean {
    if (this.seen.has(chatId)) return false;
    this.seen.add(chatId);
    return this.exists.get(chatId) === undefined;
  }
}
