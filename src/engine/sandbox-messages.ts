// Messages in the simulated account: ours (recorded, kept in the state file so a restart still has them, acked a
// moment later) and what its contacts do (write to us, with a file or as a reply; react).
import { randomUUID } from 'node:crypto';
import { type Account, type MediaKind, type Message, type SentMessage, chatIdForPhone, mediaUrl, plainExtras } from '../domain.js';
import { AppError } from '../errors.js';
import type { EngineEvents, TypedEmitter } from './engine.js';
import type { SandboxChats } from './sandbox-chats.js';
import type { SandboxContacts } from './sandbox-contacts.js';
import type { DeliveryLog } from './sandbox-deliveries.js';
import { type SandboxBlobs, WA_MEDIA_TYPES, quoteOf } from './sandbox-facets.js';
import { type SandboxGroups, onWhatsApp } from './sandbox-groups.js';

const ACK_DELIVERED_MS = 50;
const ACK_READ_MS = 250;

/** WhatsApp-like message key: 20 upper-case hex characters. */
function messageKey(): string {
  return randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase();
}

export interface SandboxInboundMedia {
  data: Buffer;
  mimetype: string;
  filename: string | null;
  kind: MediaKind;
}

/** The parts of the engine its messages touch. */
export interface SandboxMessagesDeps {
  events: TypedEmitter<EngineEvents>;
  book: SandboxChats;
  blobs: SandboxBlobs;
  deliveries: DeliveryLog;
  /** Read at each use: a subclass may take the facet away. */
  groups(): SandboxGroups | undefined;
  contacts(): SandboxContacts | undefined;
  requireReady(): Account;
  now(): number;
  /** A timer the engine clears on stop and logout. */
  later(ms: number, fn: () => void): void;
}

export class SandboxMessages {
  constructor(private readonly d: SandboxMessagesDeps) {}

  /** Record, deliver and announce a message from us; the acks follow on timers. */
  sendOwn(chatId: string, body: string, extras: Partial<Message>, quotedId?: string): SentMessage {
    const me = this.d.requireReady();
    if (!onWhatsApp(chatId)) {
      const phone = chatId.replace(/@c\.us$/, '');
      throw new AppError('not_on_whatsapp', `${phone} is not on WhatsApp`, { details: { phone_number: phone } });
    }
    this.d.groups()?.checkCanSend(chatId);
    const chat = this.chatFor(chatId);
    const quoted = quoteOf(this.d.book, chat.id, quotedId);
    const msg = { ...this.message(true, chat.id, me.wid, chat.id, body, 'sent'), ...extras, quoted };
    if (msg.media) msg.media = { ...msg.media, url: mediaUrl(msg.id) };
    this.append(msg);
    const { media, location, poll } = msg;
    this.d.deliveries.append({ id: msg.id, chat_id: msg.chat_id, body: msg.body, timestamp: msg.timestamp, type: msg.type, ...(media ? { media } : {}), ...(quoted ? { quoted } : {}), ...(location ? { location } : {}), ...(poll ? { poll } : {}) });
    this.progressAcks(msg);
    return { message_id: msg.id, chat_id: msg.chat_id, timestamp: msg.timestamp };
  }

  /**
   * A contact writes to you: text, a file with a caption, a reply. `from` is a phone number's digits or a linked id
   * ("…@lid"); with `fromPhone` the simulated phone learns the number behind that id, as a contact sync would.
   */
  inbound(from: string, body: string, opts: { media?: SandboxInboundMedia; replyTo?: string; fromPhone?: string } = {}): Message {
    const me = this.d.requireReady();
    const chatId = from.includes('@') ? from : chatIdForPhone(from);
    if (!onWhatsApp(chatId)) throw new AppError('not_on_whatsapp', `+${from} is not on WhatsApp (in the sandbox, numbers ending in 0000 are not): it cannot write to you`);
    if (opts.fromPhone && chatId.endsWith('@lid')) this.d.contacts()?.learn(chatId, opts.fromPhone);
    const chat = this.chatFor(chatId);
    const msg = { ...this.message(false, chat.id, chatId, me.wid, body, null), quoted: quoteOf(this.d.book, chat.id, opts.replyTo) };
    if (opts.media) {
      const { sha256, size } = this.d.blobs.put(opts.media.data);
      const { kind, mimetype, filename } = opts.media;
      msg.type = WA_MEDIA_TYPES[kind];
      msg.has_media = true;
      msg.media = { kind, mimetype, filename, size, sha256, url: mediaUrl(msg.id) };
    }
    chat.unread_count += 1;
    this.append(msg);
    return msg;
  }

  /** A contact reacts to a message ("" takes the reaction back). */
  reactFrom(fromDigits: string, chatId: string, messageId: string, emoji: string): void {
    this.d.requireReady();
    const m = this.d.book.find(chatId, messageId);
    if (!m) throw new AppError('not_found', `No message ${messageId} in ${chatId}`);
    const from = chatIdForPhone(fromDigits);
    const timestamp = Math.floor(this.d.now() / 1000);
    m.reactions = m.reactions.filter((r) => r.from !== from);
    if (emoji !== '') m.reactions.push({ emoji, from, timestamp });
    this.d.events.emit('message_reaction', { id: m.id, chat_id: m.chat_id, emoji, from, timestamp });
  }

  private message(fromMe: boolean, chatId: string, from: string, to: string, body: string, ack: Message['ack']): Message {
    const timestamp = Math.floor(this.d.now() / 1000);
    return { id: `${fromMe}_${chatId}_${messageKey()}`, chat_id: chatId, from, to, author: null, from_me: fromMe, type: 'chat', body, timestamp, has_media: false, ack, ...plainExtras() };
  }

  /** The chat for a message, announced (`chat` event) when it is new. */
  private chatFor(chatId: string) {
    const { chat, created } = this.d.book.ensure(chatId);
    if (created) this.d.events.emit('chat', this.d.book.view(chatId)!);
    return chat;
  }

  private append(msg: Message): void {
    this.d.book.push(msg);
    this.d.events.emit('message', { ...msg, reactions: [...msg.reactions] });
  }

  private progressAcks(msg: Message): void {
    for (const [ms, ack] of [[ACK_DELIVERED_MS, 'delivered'], [ACK_READ_MS, 'read']] as const) {
      this.d.later(ms, () => {
        msg.ack = ack;
        this.d.events.emit('message_ack', { id: msg.id, chat_id: msg.chat_id, ack });
      });
    }
  }
}
