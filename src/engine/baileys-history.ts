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

/** At most this many messages per chunk, and at most about SLICE_MS of the event loop per turn. */
export const HISTORY_CHUNK = 500;
export const SLICE_MS = 8;
/** A turn takes at least this many messages, however slow the store says it is: the sync always moves on. */
const MIN_CHUNK = 16;
const CHATS_PER_TURN = 100;
/** History messages this recent are remembered like live ones (quotable, downloadable); older ones are not. */
const REMEMBER_HISTORY_SECONDS = 48 * 3600;
// WAProto HistorySync.HistorySyncType names (ON_DEMAND = 6).
const SYNC_TYPES = ['INITIAL_BOOTSTRAP', 'INITIAL_STATUS_V3', 'FULL', 'RECENT', 'PUSH_NAME', 'NON_BLOCKING_DATA', 'ON_DEMAND'];
export const ON_DEMAND = 6;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * How many messages fit one turn of the event loop. A turn is the mapping (timed as it goes) plus the store's write
 * of the chunk, which runs inside emit('history_messages') once the chunk is handed over: that part is learnt from
 * the chunks before (ms per message), so the mapping stops early enough for the whole turn to stay near SLICE_MS.
 * Without it a fast mapping filled 500-message chunks whose writes alone took 10-130 ms (bench:history).
 * One budget per socket, kept across batches: a 200k sync is 40 of them.
 */
export class TurnBudget {
  private listenerMsPerMessage = 0;

  constructor(
    private readonly sliceMs = SLICE_MS,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Mapping started at `started` and holds `n` messages: is the turn full once they are written? */
  full(started: number, n: number): boolean {
    return n >= MIN_CHUNK && this.now() - started + n * this.listenerMsPerMessage >= this.sliceMs;
  }

  /** A slow write raises the estimate at once; a fast one lowers it gradually (one cheap chunk proves little). */
  learn(n: number, ms: number): void {
    if (n < MIN_CHUNK || ms < 0) return;
    const perMessage = ms / n;
    this.listenerMsPerMessage = perMessage > this.listenerMsPerMessage ? perMessage : 0.7 * this.listenerMsPerMessage + 0.3 * perMessage;
  }
}

export type HistorySet = BaileysEventMap['messaging-history.set'];

export async function ingestHistory(engine: BaileysHooks, set: HistorySet, gen: number, budget = new TurnBudget()): Promise<void> {
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
    // store, and a turn longer than a few ms is what a concurrent HTTP request waits for (TurnBudget).
    const sliceStart = budget.now();
    const chunk: Message[] = [];
    let taken = 0;
    while (next < messages.length && chunk.length < HISTORY_CHUNK) {
      const raw = messages[next++]!;
      const msg = historyMessage(engine, raw, { rememberFrom: oldestRemembered });
      if (msg) {
        chunk.push(engine.contacts.enrich(msg));
        engine.contacts.noticeSenders(msg);
        perChat.set(msg.chat_id, (perChat.get(msg.chat_id) ?? 0) + 1);
      }
      if (++taken % 8 === 0 && budget.full(sliceStart, chunk.length)) break;
    }
    count += chunk.length;
    if (chunk.length > 0) {
      const handedOver = budget.now();
      engine.events.emit('history_messages', chunk);
      budget.learn(chunk.length, budget.now() - handedOver);
    }
    if (next < messages.length) await turn();
  }
  if (gen !== engine.generation) return;
  engine.events.emit('history_synced', { count, chats: chats.length, progress: progress ?? null, is_latest: isLatest ?? null, sync_type: syncName });
  if (syncType === ON_DEMAND) engine.older.arrived({ sessionId: set.peerDataRequestSessionId ?? null, chatIds, perChat });
}
