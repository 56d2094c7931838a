// The sandbox's history sync: what a phone sends a newly linked device (or one back after a while), simulated.
// Like the Baileys engine, it reports the messages as history_messages chunks, the event loop free between them,
// and closes the batch with one history_synced summary: stored and searchable, never announced message by message.
import { randomBytes } from 'node:crypto';
import { type Message, plainExtras } from '../domain.js';
import type { EngineEvents, HistorySyncSummary, TypedEmitter } from './engine.js';
import type { SandboxChats } from './sandbox-chats.js';

export const SANDBOX_HISTORY_CHUNK = 500;
export const SANDBOX_HISTORY_MAX = 200_000;
/** The simulated history ends this long before now, one message a minute going back. */
const HISTORY_ENDS_S = 7 * 24 * 3600;

export interface SandboxHistoryCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly book: SandboxChats;
  /** Our own chat id (throws not_ready when not linked). */
  me(): string;
  nowSeconds(): number;
  /** False once the engine stopped or unlinked: a running sync stops. */
  stillLinked(): boolean;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `messages` old messages spread over `chats` people (15550020001 on, created as needed), oldest first in each chunk.
 * Numbered from 0001: a sandbox number ending in 0000 is not on WhatsApp (sandbox-groups.ts onWhatsApp).
 */
export async function simulateHistorySync(core: SandboxHistoryCore, opts: { messages: number; chats: number }): Promise<HistorySyncSummary> {
  const me = core.me();
  const chatIds = Array.from({ length: opts.chats }, (_, i) => `1555002${String(i + 1).padStart(4, '0')}@c.us`);
  for (const id of chatIds) {
    const { created } = core.book.ensure(id);
    if (created) core.events.emit('chat', core.book.view(id)!);
  }
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const newest = core.nowSeconds() - HISTORY_ENDS_S;
  let count = 0;
  for (let start = 0; start < opts.messages; start += SANDBOX_HISTORY_CHUNK) {
    if (!core.stillLinked()) break;
    const chunk: Message[] = [];
    for (let i = start; i < Math.min(opts.messages, start + SANDBOX_HISTORY_CHUNK); i++) {
      const chatId = chatIds[i % chatIds.length]!;
      const fromMe = i % 3 === 0;
      chunk.push({
        ...plainExtras(),
        id: `HIST_${tag}_${i}`,
        chat_id: chatId,
        from: fromMe ? me : chatId,
        to: fromMe ? chatId : me,
        author: null,
        from_me: fromMe,
        type: 'chat',
        body: `Old message ${i + 1} of ${opts.messages}`,
        timestamp: newest - (opts.messages - i) * 60,
        has_media: false,
        ack: fromMe ? 'read' : null,
      });
    }
    count += chunk.length;
    core.events.emit('history_messages', chunk);
    await turn();
  }
  const summary: HistorySyncSummary = { count, chats: chatIds.length, progress: 100, is_latest: true, sync_type: 'FULL' };
  if (core.stillLinked()) core.events.emit('history_synced', summary);
  return summary;
}
