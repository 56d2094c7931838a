// Engine events → the store. Every event is queued and written in batches (see MessageStore.enqueue), so a burst
// of messages costs the HTTP door one transaction per event-loop turn, not one commit per message.
import type { Chat, Message } from '../domain.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { MessageStore } from './message-store.js';

/** On each (re)connect, copy this much of the account so reads keep working while offline. */
export const SYNC_CHATS = 100;
export const SYNC_MESSAGES_PER_CHAT = 50;

export interface IngestOptions {
  /** Copy recent chats and messages after each connect (default true). */
  syncOnReady?: boolean;
}

/** Subscribe the store to an engine. Returns the unsubscribe function. */
export function connectStoreToEngine(store: MessageStore, engine: Engine, logger: Logger, opts: IngestOptions = {}): () => void {
  const offs = [
    engine.events.on('message', (message) => store.enqueue({ kind: 'message', message })),
    engine.events.on('message_ack', (e) => store.enqueue({ kind: 'ack', ...e })),
    engine.events.on('message_edit', (e) => store.enqueue({ kind: 'edit', ...e })),
    engine.events.on('message_revoke', (e) => store.enqueue({ kind: 'revoke', ...e })),
    engine.events.on('message_reaction', (e) => store.enqueue({ kind: 'reaction', ...e })),
    engine.events.on('chat', (chat) => store.enqueue({ kind: 'chat', chat })),
    engine.events.on('contact', (contact) => store.enqueue({ kind: 'contact', contact })),
    engine.events.on('lid_mapping', (e) => store.learnLid(e.lid, e.phone)),
    // History comes in chunks the engine already spaced out over event-loop turns: each is written at once, in one
    // transaction, so a chunk costs one commit and the queue never holds a whole sync.
    engine.events.on('history_messages', (messages) => {
      try {
        store.write(messages.map((message) => ({ kind: 'message' as const, message })));
      } catch (err) {
        logger.error({ err: err instanceof Error ? err.message : String(err), messages: messages.length }, 'storing history failed');
      }
    }),
  ];
  let wasReady = engine.status().ready;
  if (opts.syncOnReady !== false) {
    offs.push(
      engine.events.on('status', (s) => {
        if (s.ready && !wasReady) void syncRecent(store, engine, logger);
        wasReady = s.ready;
      }),
    );
  }
  return () => offs.forEach((off) => off());
}

/**
 * What a list call saw goes to the store too: the chats, and the messages of one chat. Queued, not written, so a
 * read request never pays for a commit; store reads flush the queue first, so nothing seen is missing from them.
 */
export function storeChats(store: MessageStore, chats: readonly Chat[]): void {
  for (const chat of chats) store.enqueue({ kind: 'chat', chat });
}

export function storeMessages(store: MessageStore, chat: Chat | null, messages: readonly Message[]): void {
  if (chat) store.enqueue({ kind: 'chat', chat });
  for (const message of messages) store.enqueue({ kind: 'message', message });
}

/**
 * The engine reports new messages, not history: copy the recent chats and their last messages after a connect.
 * Failures are logged, never thrown: the live events keep flowing either way.
 */
export async function syncRecent(store: MessageStore, engine: Engine, logger: Logger): Promise<void> {
  try {
    // Without a live chat list (Baileys) the engine pushes its history itself (history sync events).
    const chats = engine.chats ? await engine.chats.listChats(SYNC_CHATS) : [];
    storeChats(store, chats);
    // Names, push names and the numbers behind linked ids, so reads and search know people while offline.
    if (engine.contacts) for (const contact of await engine.contacts.listContacts()) store.enqueue({ kind: 'contact', contact });
    if (!engine.chats) return;
    for (const chat of chats) {
      if (!engine.status().ready) return;
      storeMessages(store, null, await engine.chats.fetchMessages(chat.id, SYNC_MESSAGES_PER_CHAT));
    }
    logger.debug({ chats: chats.length }, 'store synced recent history');
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'store sync after connect failed');
  }
}
