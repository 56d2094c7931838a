// The numbers behind linked ids (@lid), as WhatsApp Web tells them: from getContactLidAndPhone answers and from a
// contact it hands back under its number when asked by linked id. Never guessed. Each new or changed pair is one
// lid_mapping event; each linked id is asked about once (a number is asked every time: the answer also says
// whether it is on WhatsApp, which can change).
import { type Message, isLid, parseId } from '../domain.js';
import type { Logger } from '../logger.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import { callLibrary } from './wwebjs-chats.js';
import type { WwebjsClientLike } from './wwebjs-client.js';
import { describeError } from './wwebjs-events.js';
import { type LidAnswer, toLidAnswer } from './wwebjs-map-groups.js';

// One entry per person seen: bounded so a huge account cannot grow it without end (oldest forgotten first).
const MAX_REMEMBERED = 20_000;

export interface LidBookCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly log: Logger;
  /** The client when ready, else null: lookups are best effort and never wait for a link. */
  clientIfReady(): WwebjsClientLike | null;
}

export class LidBook {
  /** lid -> bare digits, and back. */
  private readonly phones = new Map<string, string>();
  private readonly lids = new Map<string, string>();
  /** What WhatsApp Web answered for linked ids we asked about; null: it knows nobody by that id. */
  private readonly answers = new Map<string, LidAnswer | null>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly core: LidBookCore) {}

  phoneOf(lid: string): string | null {
    return this.phones.get(lid) ?? null;
  }

  lidOf(phone: string): string | null {
    return this.lids.get(phone) ?? null;
  }

  /** WhatsApp said this linked id is this number (bare digits or a phone id). */
  learn(lid: string, phone: string): void {
    const l = parseId(lid);
    const p = parseId(phone);
    if (l?.kind !== 'lid' || p?.kind !== 'phone') return;
    if (this.phones.get(l.id) === p.phone) return;
    const before = this.phones.get(l.id);
    if (before !== undefined && this.lids.get(before) === l.id) this.lids.delete(before);
    this.phones.set(l.id, p.phone);
    this.lids.set(p.phone, l.id);
    trim(this.phones);
    trim(this.lids);
    this.core.events.emit('lid_mapping', { lid: l.id, phone: p.phone });
  }

  /**
   * Ask WhatsApp Web about these ids ("…@lid" or "…@c.us"), learning every pair it reveals. Answers only what it
   * could: an id missing from the result was not answered (not ready, the page failed), which is not "nobody".
   */
  async ask(ids: string[]): Promise<Map<string, LidAnswer | null>> {
    const wanted = [...new Set(ids)];
    const fresh = wanted.filter((id) => !isLid(id) || (!this.answers.has(id) && !this.inFlight.has(id)));
    let answered = new Map<string, LidAnswer | null>();
    if (fresh.length > 0) {
      const asking = this.query(fresh);
      const settled = asking.then(noop);
      const lids = fresh.filter(isLid);
      for (const id of lids) this.inFlight.set(id, settled);
      try {
        answered = await asking;
      } finally {
        for (const id of lids) if (this.inFlight.get(id) === settled) this.inFlight.delete(id);
      }
    }
    // Linked ids another call is asking about: wait for its answer rather than ask twice.
    await Promise.all(wanted.filter((id) => !answered.has(id)).map((id) => this.inFlight.get(id)));
    const out = new Map<string, LidAnswer | null>();
    for (const id of wanted) {
      if (answered.has(id)) out.set(id, answered.get(id)!);
      else if (isLid(id) && this.answers.has(id)) out.set(id, this.answers.get(id)!);
    }
    return out;
  }

  /** The message as reported, with the numbers behind its linked ids when already known. */
  enrich(msg: Message): Message {
    const fromPhone = isLid(msg.from) ? this.phoneOf(msg.from) : null;
    const authorPhone = msg.author && isLid(msg.author) ? this.phoneOf(msg.author) : null;
    return fromPhone || authorPhone ? { ...msg, from_phone: fromPhone ?? msg.from_phone, author_phone: authorPhone ?? msg.author_phone } : msg;
  }

  /** In the background, ask once about a message's senders that are linked ids we know nothing of. */
  noticeSenders(msg: Message): void {
    const unknown = [msg.from, msg.author].filter((id): id is string => !!id && isLid(id) && !this.phones.has(id) && !this.answers.has(id));
    if (unknown.length > 0) void this.ask(unknown);
  }

  /** Another account may be linked next: what we learnt belongs to this one. */
  clear(): void {
    this.phones.clear();
    this.lids.clear();
    this.answers.clear();
  }

  private async query(ids: string[]): Promise<Map<string, LidAnswer | null>> {
    const out = new Map<string, LidAnswer | null>();
    const client = this.core.clientIfReady();
    if (!client) return out;
    let raw: unknown[];
    try {
      raw = await callLibrary('look up linked ids', () => client.getContactLidAndPhone(ids));
    } catch (err) {
      this.core.log.debug({ err: describeError(err), count: ids.length }, 'linked id lookup failed');
      return out;
    }
    if (!Array.isArray(raw)) return out;
    ids.forEach((id, i) => {
      if (i >= raw.length) return;
      const answer = toLidAnswer(raw[i]);
      const known = answer && (answer.lid !== null || answer.phone !== null) ? answer : null;
      // Asked by linked id, the answer's own lid is that id; a lid answer for another id would be a library bug.
      if (known && isLid(id) && known.lid !== null && known.lid !== id) return;
      out.set(id, known);
      if (isLid(id)) {
        this.answers.set(id, known);
        trim(this.answers);
      }
      if (known?.lid && known.phone) this.learn(known.lid, known.phone);
    });
    return out;
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as string);
}

function noop(): void {}
