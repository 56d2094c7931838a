// History sync (messaging-history.set): the chats, contacts and messages the phone sends after linking, on
// reconnects, and in answer to fetchMessageHistory (ON_DEMAND). Baileys has no "list my chats" call, so this is where
// the store's chat list comes from. A first sync can carry tens of thousands of messages in one event: they are
// reported as history_messages chunks (stored, never announced one by one as message events), yielding to the event
// loop between chunks so HTTP requests keep being answered, and dropped if the socket is retired meanwhile. One
// history_synced summary closes each batch.
import type { BaileysEventMap } from 'baileys';
import type { Message } from '../domain.js';
import { type BaileysHooks, historyMessage } from './baileys-hooks.js';
import { toChat } from './baileys-map-people.js';
import { parseLibraryMessage } from './baileys-map.js';

/** At most this many messages per chunk, and at most about SLICE_MS of the event loop per turn. */
export const HISTORY_CHUNK = 500;
export const SLICE_MS = 8;
const CHATS_PER_TURN = 100;
/** History messages this recent are remembered like live ones (quotable, downloadable); older ones are not. */
const REMEMBER_HISTORY_SECONDS = 48 * 3600;
// WAProto HistorySync.HistorySyncType names (ON_DEMAND = 6).
const SYNC_TYPES = ['INITIAL_BOOTSTRAP', 'INITIAL_STATUS_V3', 'FULL', 'RECENT', 'PUSH_NAME', 'NON_BLOCKING_DATA', 'ON_DEMAND'];
export const ON_DEMAND = 6;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export type HistorySet = BaileysEventMap['messaging-history.set'];

export async function ingestHistory(engine: BaileysHooks, set: HistorySet, gen: number): Promise<void> {
  const { chats, contacts, messages, lidPnMappings, isLatest, progress, syncType } = set;
  const syncName = typeof syncType === 'number' ? (SYNC_TYPES[syncType] ?? String(syncType)) : null;
  engine.log.info({ chats: chats.length, contacts: contacts.length, messages: messages.length, is_latest: isLatest ?? null, progress: progress ?? null, sync_type: syncName }, 'history sync');
  for (const m of lidPnMappings ?? []) engine.contacts.learn(m.lid, m.pn);
  for (const c of contacts) engine.contacts.note(c);
  const nowMs = engine.nowMs();
  const chatIds: string[] = [];
  for (const [n, raw] of chats.entries()) {
    const chat = toChat(raw, nowMs, (id) => engine.contacts.nameOf(id));
    if (!chat) continue;
    chatIds.push(chat.id);
    // An on-demand answer names a chat we asked about: its bare conversation record must not overwrite what we know.
    if (syncType !== ON_DEMAND) engine.events.emit('chat', chat);
    // Each new chat is a store row and an event-log row: a first sync's thousand chats are spread over turns too.
    if (n % CHATS_PER_TURN === CHATS_PER_TURN - 1) await turn();
    if (gen !== engine.generation) return;
  }
  const oldestRemembered = Math.floor(nowMs / 1000) - REMEMBER_HISTORY_SECONDS;
  /** Messages reported per chat: what an on-demand request is waiting to hear. */
  const perChat = new Map<string, number>();
  let count = 0;
  let next = 0;
  // Baileys gives them newest first; the store orders by timestamp, so the order here does not matter.
  while (next < messages.length) {
    if (gen !== engine.generation) return;
    // A slice of the loop per turn rather than a fixed count: what a message costs varies with the machine and the
    // store, and a turn longer than a few ms is what a concurrent HTTP request waits for. Mapping is about half of
    // a message's cost, the store's write of the chunk (in the history_messages listener) the other half.
    const sliceStart = performance.now();
    const chunk: Message[] = [];
    while (next < messages.length && chunk.length < HISTORY_CHUNK) {
      const raw = messages[next++]!;
      const ts = parseLibraryMessage(raw)?.messageTimestamp ?? 0;
      const msg = historyMessage(engine, raw, { remember: ts >= oldestRemembered });
      if (msg) {
        chunk.push(engine.contacts.enrich(msg));
        engine.contacts.noticeSenders(msg);
        perChat.set(msg.chat_id, (perChat.get(msg.chat_id) ?? 0) + 1);
      }
      if (next % 16 === 0 && performance.now() - sliceStart > SLICE_MS / 2) break;
    }
    count += chunk.length;
    if (chunk.length > 0) engine.events.emit('history_messages', chunk);
    if (next < messages.length) await turn();
  }
  if (gen !== engine.generation) return;
  engine.events.emit('history_synced', { count, chats: chats.length, progress: progress ?? null, is_latest: isLatest ?? null, sync_type: syncName });
  if (syncType === ON_DEMAND) engine.older.arrived({ sessionId: set.peerDataRequestSessionId ?? null, chatIds, perChat });
}
