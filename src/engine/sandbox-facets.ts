// The sandbox's media, message-ops and rich-message facets. It keeps every file it is sent or receives (by sha256
// in its session directory), so a download returns the very bytes that went in, after a restart too.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Account, EDIT_WINDOW_SECONDS, type Location, type MediaKind, type Message, REVOKE_WINDOW_SECONDS, type SentMessage, mediaUrl } from '../domain.js';
import { AppError } from '../errors.js';
import { ensurePrivateDir } from '../fs-private.js';
import type {
  DownloadedMedia,
  EngineEvents,
  MediaFacet,
  MessageOpsFacet,
  MessageRef,
  OutgoingMedia,
  PollDraft,
  PresenceState,
  RichMessagesFacet,
  TypedEmitter,
} from './engine.js';
import { type SandboxChats, revoke } from './sandbox-chats.js';
import type { Amendment } from './sandbox-deliveries.js';

/** WhatsApp's message type for each media kind (what whatsapp-web.js reports as `type`). */
export const WA_MEDIA_TYPES: Record<MediaKind, string> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  voice: 'ptt',
  document: 'document',
  sticker: 'sticker',
};


/** What the facets need from the engine. */
export interface SandboxCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly book: SandboxChats;
  readonly blobs: SandboxBlobs;
  requireReady(): Account;
  /** Record, deliver and announce a message from us (as sendText does). */
  sendOwn(chatId: string, body: string, extras: Partial<Message>, quotedId?: string): SentMessage;
  /** Record a change to a message we sent, so it survives a restart like the message itself. */
  amend(a: Amendment): void;
  nowSeconds(): number;
}

export class SandboxBlobs {
  constructor(private readonly dir: string) {}

  put(data: Buffer): { sha256: string; size: number } {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const file = path.join(this.dir, sha256);
    if (!fs.existsSync(file)) {
      ensurePrivateDir(this.dir);
      fs.writeFileSync(file, data, { mode: 0o600 });
    }
    return { sha256, size: data.length };
  }

  read(sha256: string): Buffer | null {
    try {
      return fs.readFileSync(path.join(this.dir, sha256));
    } catch {
      return null;
    }
  }
}

/** The quoted-message field for a reply, refused when the message is not in that chat. */
export function quoteOf(book: SandboxChats, chatId: string, quotedId: string | undefined): Message['quoted'] {
  if (quotedId === undefined) return null;
  const q = book.find(chatId, quotedId);
  if (!q) throw new AppError('invalid_input', `reply_to: no message ${quotedId} in ${chatId}`, { details: { field: 'reply_to' } });
  return { id: q.id, from: q.author ?? q.from, body: q.body };
}

export function sandboxFacets(core: SandboxCore): { media: MediaFacet; messageOps: MessageOpsFacet; richMessages: RichMessagesFacet } {
  const target = (ref: MessageRef): Message => {
    core.requireReady();
    const m = core.book.find(ref.chat_id, ref.id);
    if (!m) throw new AppError('not_found', `No message ${ref.id} in ${ref.chat_id}`);
    return m;
  };

  const media: MediaFacet = {
    async sendMedia(chatId: string, file: OutgoingMedia, opts: { caption?: string; quotedId?: string }): Promise<SentMessage> {
      core.requireReady();
      const { sha256, size } = core.blobs.put(await fs.promises.readFile(file.path));
      const info = { kind: file.kind, mimetype: file.mimetype, filename: file.filename, size, sha256 };
      return core.sendOwn(chatId, opts.caption ?? '', { type: WA_MEDIA_TYPES[file.kind], has_media: true, media: { ...info, url: '' } }, opts.quotedId);
    },
    async downloadMedia(ref: MessageRef): Promise<DownloadedMedia | null> {
      const m = target(ref);
      if (!m.media?.sha256 || m.revoked) return null;
      const data = core.blobs.read(m.media.sha256);
      return data ? { data, mimetype: m.media.mimetype, filename: m.media.filename } : null;
    },
  };

  const messageOps: MessageOpsFacet = {
    async react(ref: MessageRef, emoji: string): Promise<void> {
      const m = target(ref);
      const me = core.requireReady().wid;
      const timestamp = core.nowSeconds();
      m.reactions = m.reactions.filter((r) => r.from !== me);
      if (emoji !== '') m.reactions.push({ emoji, from: me, timestamp });
      core.events.emit('message_reaction', { id: m.id, chat_id: m.chat_id, emoji, from: me, timestamp });
    },
    async edit(ref: MessageRef, text: string): Promise<void> {
      const m = target(ref);
      if (!m.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be edited');
      if (core.nowSeconds() - m.timestamp > EDIT_WINDOW_SECONDS) throw new AppError('invalid_input', 'message_id: WhatsApp allows edits for 15 minutes after sending');
      m.body = text;
      m.edited = true;
      core.amend({ amend: 'edit', id: m.id, chat_id: m.chat_id, body: text });
      core.events.emit('message_edit', { id: m.id, chat_id: m.chat_id, body: text });
    },
    async delete(ref: MessageRef, forEveryone: boolean): Promise<void> {
      const m = target(ref);
      if (forEveryone && !m.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be deleted for everyone');
      if (forEveryone && core.nowSeconds() - m.timestamp > REVOKE_WINDOW_SECONDS) {
        throw new AppError('invalid_input', 'message_id: WhatsApp allows deleting for everyone for about 60 hours after sending');
      }
      revoke(m);
      if (m.from_me) core.amend({ amend: 'revoke', id: m.id, chat_id: m.chat_id });
      core.events.emit('message_revoke', { id: m.id, chat_id: m.chat_id });
    },
    async markRead(chatId: string): Promise<void> {
      core.requireReady();
      const chat = core.book.record(chatId);
      if (!chat) throw new AppError('not_found', `No chat ${chatId}`);
      chat.unread_count = 0;
    },
    async setPresence(chatId: string, _state: PresenceState): Promise<void> {
      core.requireReady();
      if (!core.book.record(chatId)) throw new AppError('not_found', `No chat ${chatId}`);
    },
  };

  const richMessages: RichMessagesFacet = {
    async sendLocation(chatId: string, location: Location, opts: { quotedId?: string }): Promise<SentMessage> {
      core.requireReady();
      return core.sendOwn(chatId, '', { type: 'location', location }, opts.quotedId);
    },
    async sendPoll(chatId: string, poll: PollDraft, opts: { quotedId?: string }): Promise<SentMessage> {
      core.requireReady();
      const options = poll.options.map((name) => ({ name, votes: 0 }));
      return core.sendOwn(chatId, '', { type: 'poll_creation', poll: { question: poll.question, options, multiple: poll.multiple } }, opts.quotedId);
    },
  };

  return { media, messageOps, richMessages };
}

/** The media field as every door shows it: with its download path. */
export function withMediaUrl(m: Message): Message {
  return m.media ? { ...m, media: { ...m.media, url: mediaUrl(m.id) } } : m;
}
