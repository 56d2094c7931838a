// Older history on demand (Baileys' fetchMessageHistory): the phone is asked for messages older than the oldest one
// we hold, and answers, if at all, some time later with a messaging-history.set of syncType ON_DEMAND. Nothing links
// the answer to the question but the request's message id (echoed as peerDataRequestSessionId) and the chat, so a
// waiter takes a batch that names either. The wait is bounded: a phone that is offline never answers.
import type { WAMessageKey } from 'baileys';
import type { Logger } from '../logger.js';
import type { HistoryFacet, MessageRef, OlderHistory } from './engine.js';
import { toJid } from './baileys-map.js';
import type { RecentMessages } from './baileys-recent.js';
import { callLibrary } from './baileys-send.js';
import type { BaileysSocketLike } from './baileys-socket.js';

export const OLDER_WAIT_MS = 5_000;
/** WhatsApp's own clients ask for 50 at a time; more is not known to be honoured. */
export const OLDER_MAX = 50;
const EXHAUSTED_CHATS = 1_000;

export interface OlderHistoryCore {
  readonly log: Logger;
  readonly recent: RecentMessages;
  readySocket(): BaileysSocketLike;
}

interface Waiter {
  chatId: string;
  requestId: string | null;
  done(received: number): void;
}

export interface OnDemandBatch {
  sessionId: string | null;
  /** Chats the batch carried, and how many messages of each it carried. */
  chatIds: readonly string[];
  perChat: ReadonlyMap<string, number>;
}

export class BaileysOlderHistory implements HistoryFacet {
  private readonly waiting = new Set<Waiter>();
  /** chat -> the oldest message id the phone had nothing older than: asked again, answered at once. */
  private readonly exhausted = new Map<string, string>();

  constructor(
    private readonly core: OlderHistoryCore,
    private readonly waitMs = OLDER_WAIT_MS,
  ) {}

  async fetchOlder(oldest: MessageRef & { timestamp: number }, count: number, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<OlderHistory> {
    const sock = this.core.readySocket();
    if (this.exhausted.get(oldest.chat_id) === oldest.id) return { received: 0, answered: true };
    const key: WAMessageKey = this.core.recent.get(oldest.id)?.raw.key ?? { remoteJid: toJid(oldest.chat_id), fromMe: oldest.from_me, id: oldest.id };
    let waiter!: Waiter;
    const answer = new Promise<number>((resolve) => (waiter = { chatId: oldest.chat_id, requestId: null, done: resolve }));
    // Listening before asking: the answer is a separate event that could, in principle, beat the send's promise.
    this.waiting.add(waiter);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      // The protocol field is oldestMsgTimestampMs: milliseconds.
      waiter.requestId = await callLibrary('ask the phone for older messages', () => sock.fetchMessageHistory(Math.min(count, OLDER_MAX), key, oldest.timestamp * 1000));
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), opts.waitMs ?? this.waitMs);
        onAbort = () => resolve(null);
        if (opts.signal?.aborted) resolve(null);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
      const received = await Promise.race([answer, late]);
      if (received === null) return { received: 0, answered: false };
      if (received === 0) this.noteExhausted(oldest.chat_id, oldest.id);
      return { received, answered: true };
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      this.waiting.delete(waiter);
    }
  }

  /** An ON_DEMAND batch was stored (its history_messages emitted): wake whoever asked for it. */
  arrived(batch: OnDemandBatch): void {
    for (const w of this.waiting) {
      const mine = (batch.sessionId !== null && batch.sessionId === w.requestId) || batch.perChat.has(w.chatId) || batch.chatIds.includes(w.chatId);
      if (!mine) continue;
      this.waiting.delete(w);
      w.done(batch.perChat.get(w.chatId) ?? 0);
    }
  }

  clear(): void {
    this.exhausted.clear();
  }

  private noteExhausted(chatId: string, id: string): void {
    this.exhausted.delete(chatId);
    this.exhausted.set(chatId, id);
    if (this.exhausted.size > EXHAUSTED_CHATS) this.exhausted.delete(this.exhausted.keys().next().value as string);
  }
}
