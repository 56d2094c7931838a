// History sync (messaging-history.set): the chats, contacts and messages the phone sends after linking and on
// reconnects. Baileys has no "list my chats" call, so this is where the store's chat list comes from. A first sync
// can carry tens of thousands of messages in one event: they are reported in chunks, yielding to the event loop
// between chunks so HTTP requests keep being answered, and dropped if the socket is retired meanwhile.
import type { BaileysEventMap } from 'baileys';
import { type BaileysHooks, reportMessage } from './baileys-hooks.js';
import { toChat } from './baileys-map-people.js';
import { parseLibraryMessage } from './baileys-map.js';

export const HISTORY_CHUNK = 500;
/** History messages this recent are remembered like live ones (quotable, downloadable); older ones are not. */
const REMEMBER_HISTORY_SECONDS = 48 * 3600;
// WAProto HistorySync.HistorySyncType names, for the log.
const SYNC_TYPES = ['INITIAL_BOOTSTRAP', 'INITIAL_STATUS_V3', 'FULL', 'RECENT', 'PUSH_NAME', 'NON_BLOCKING_DATA', 'ON_DEMAND'];

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function ingestHistory(engine: BaileysHooks, set: BaileysEventMap['messaging-history.set'], gen: number): Promise<void> {
  const { chats, contacts, messages, lidPnMappings, isLatest, progress, syncType } = set;
  engine.log.info(
    { chats: chats.length, contacts: contacts.length, messages: messages.length, is_latest: isLatest ?? null, progress: progress ?? null, sync_type: typeof syncType === 'number' ? (SYNC_TYPES[syncType] ?? syncType) : null },
    'history sync',
  );
  for (const m of lidPnMappings ?? []) engine.contacts.learn(m.lid, m.pn);
  for (const c of contacts) engine.contacts.note(c);
  const nowMs = engine.nowMs();
  for (const raw of chats) {
    const chat = toChat(raw, nowMs, (id) => engine.contacts.nameOf(id));
    if (chat) engine.events.emit('chat', chat);
  }
  const oldestRemembered = Math.floor(nowMs / 1000) - REMEMBER_HISTORY_SECONDS;
  // The store orders messages by timestamp, so they go in the order given.
  for (let start = 0; start < messages.length; start += HISTORY_CHUNK) {
    if (gen !== engine.generation) return;
    for (const raw of messages.slice(start, start + HISTORY_CHUNK)) {
      const ts = parseLibraryMessage(raw)?.messageTimestamp ?? 0;
      reportMessage(engine, raw, { remember: ts >= oldestRemembered });
    }
    if (start + HISTORY_CHUNK < messages.length) await turn();
  }
}
