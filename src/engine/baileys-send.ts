// Sending through Baileys: the target's jid (phone numbers checked against WhatsApp first: Baileys would "send" to
// a number without an account and say nothing), the quoted message, and the report of what went out.
import type { AnyMessageContent, WAMessage } from 'baileys';
import { z } from 'zod';
import { type Message, type SentMessage, parseId } from '../domain.js';
import { AppError } from '../errors.js';
import { toJid, toMessage, toOurId } from './baileys-map.js';
import type { RecentMessages } from './baileys-recent.js';
import type { BaileysSocketLike } from './baileys-socket.js';

const KNOWN_NUMBERS = 5_000;

export interface BaileysSendCore {
  readonly recent: RecentMessages;
  readySocket(): BaileysSocketLike;
  self(): string | null;
  /** Report a message (once: Baileys echoes our own sends as an "append" upsert too). */
  emitMessageOnce(msg: Message): void;
  /** Numbers found on WhatsApp: digits -> their jid. */
  readonly numbers: Map<string, string>;
  nowMs(): number;
}

const boom = z.object({ output: z.object({ statusCode: z.number() }) });

/** The status of a Baileys error (a Boom: query errors carry WhatsApp's code), or null. */
export function statusOf(err: unknown): number | null {
  const parsed = boom.safeParse(err);
  return parsed.success ? parsed.data.output.statusCode : null;
}

export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const firstLine = text.split('\n')[0] ?? '';
  return firstLine.length > 300 ? `${firstLine.slice(0, 297)}...` : firstLine;
}

/** Library failures become engine_error (or the refusal named for their status); our own AppErrors pass through. */
export async function callLibrary<T>(what: string, fn: () => Promise<T>, refusals: Record<number, () => AppError> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const status = statusOf(err);
    const refusal = status === null ? undefined : refusals[status];
    if (refusal) throw refusal();
    throw new AppError('engine_error', `WhatsApp (Baileys) could not ${what}: ${describeError(err)}`, { cause: err, details: status === null ? undefined : { status } });
  }
}

/** An "@lid" id names a person under another form than their phone id, so it matches any chat (as in wwebjs). */
export function sameChat(a: string, b: string): boolean {
  return a.endsWith('@lid') || b.endsWith('@lid') || toOurId(a) === toOurId(b);
}

/** The jid to send to; for a phone number, WhatsApp's own jid for it, or not_on_whatsapp. */
export async function resolveJid(core: BaileysSendCore, sock: BaileysSocketLike, chatId: string): Promise<string> {
  const p = parseId(chatId);
  if (p?.kind !== 'phone') return toJid(chatId);
  const known = core.numbers.get(p.phone);
  if (known) return known;
  const found = await callLibrary('look up the number', () => sock.onWhatsApp(p.phone));
  const hit = found?.find((r) => r.exists);
  const jid = hit ? toOurId(hit.jid) : null;
  if (!jid) throw new AppError('not_on_whatsapp', `${p.phone} is not on WhatsApp`, { details: { phone_number: p.phone } });
  core.numbers.set(p.phone, toJid(jid));
  while (core.numbers.size > KNOWN_NUMBERS) core.numbers.delete(core.numbers.keys().next().value as string);
  return toJid(jid);
}

/** The message a reply quotes: Baileys needs the whole message, so it must be one this engine still remembers. */
export function quotedFor(core: BaileysSendCore, chatId: string, quotedId: string): WAMessage {
  const r = core.recent.get(quotedId);
  if (!r || !sameChat(r.chatId, chatId)) {
    throw new AppError('invalid_input', `reply_to: no message ${quotedId} in ${chatId}`, {
      hint: 'The Baileys engine can quote only messages it saw since it started (the last few thousand).',
      details: { field: 'reply_to' },
    });
  }
  return r.raw;
}

export interface SendOptions {
  quotedId?: string | undefined;
}

/** Send any content, remember and report the message, and answer its ids. */
export async function sendContent(core: BaileysSendCore, chatId: string, content: AnyMessageContent, opts: SendOptions = {}): Promise<SentMessage> {
  const sock = core.readySocket();
  const jid = await resolveJid(core, sock, chatId);
  const quoted = opts.quotedId !== undefined ? quotedFor(core, chatId, opts.quotedId) : undefined;
  const sent = await callLibrary('send the message', () => sock.sendMessage(jid, content, quoted ? { quoted } : undefined));
  const msg = sent ? toMessage(sent, core.self()) : null;
  if (!sent || !msg) throw new AppError('engine_error', 'WhatsApp (Baileys) did not return the sent message');
  const timestamp = msg.timestamp || Math.floor(core.nowMs() / 1000);
  core.recent.remember(sent, msg.chat_id, timestamp);
  core.emitMessageOnce({ ...msg, timestamp });
  return { message_id: msg.id, chat_id: msg.chat_id, timestamp };
}
