// What the Baileys event wiring (baileys-events.ts, baileys-history.ts) may touch on the engine, and the one way a
// library message becomes a `message` event (or, from history, a stored message that is not announced).
import type { ConnectionState, WAMessage } from 'baileys';
import type { Message } from '../domain.js';
import type { Logger } from '../logger.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import type { BaileysContacts } from './baileys-contacts.js';
import type { BaileysGroups } from './baileys-groups.js';
import type { BaileysOlderHistory } from './baileys-history-demand.js';
import type { TurnBudget } from './baileys-history.js';
import { lidPairsOf, messageOf, parseLibraryMessage } from './baileys-map.js';
import type { OwnEchoes, RecentMessages } from './baileys-recent.js';

export interface BaileysHooks {
  readonly log: Logger;
  readonly events: TypedEmitter<EngineEvents>;
  readonly generation: number;
  readonly recent: RecentMessages;
  readonly echoes: OwnEchoes;
  readonly contacts: BaileysContacts;
  readonly groups: BaileysGroups;
  readonly older: BaileysOlderHistory;
  /** How much of a history batch one event-loop turn takes (learns the store's write cost). */
  readonly historyBudget: TurnBudget;
  self(): string | null;
  nowMs(): number;
  emitMessageOnce(msg: Message): void;
  onConnection(update: Partial<ConnectionState>, gen: number): void;
  onCreds(gen: number): void;
}

/** Which messages to keep raw in RecentMessages: all (live), none, or those stamped at or after `from` (unix s). */
export interface RememberOptions {
  remember?: boolean;
  rememberFrom?: number;
}

/** Map, remember and report one message (once per id); learns the linked ids its key reveals. Null when skipped. */
export function reportMessage(engine: BaileysHooks, raw: WAMessage, opts: RememberOptions = {}): Message | null {
  const msg = historyMessage(engine, raw, opts);
  if (msg) engine.emitMessageOnce(msg);
  return msg;
}

/** Map and remember one message without reporting it (history: the caller hands it to the store in bulk). */
export function historyMessage(engine: BaileysHooks, raw: WAMessage, opts: RememberOptions = {}): Message | null {
  // Parsed once: the key for the linked ids, the rest for the mapping (history maps each of 100k+ messages).
  const parsed = parseLibraryMessage(raw);
  if (!parsed) return null;
  for (const { lid, phone } of lidPairsOf(parsed.key)) engine.contacts.learn(lid, phone);
  const msg = messageOf(parsed, engine.self());
  if (!msg) return null;
  if (opts.remember !== false && msg.timestamp >= (opts.rememberFrom ?? -Infinity)) engine.recent.remember(raw, msg.chat_id, msg.timestamp);
  return msg;
}
