// The Baileys engine's media, message-ops and rich-message facets. Baileys acts on message keys (chat, id, from_me
// and, in groups, the sender), which the engine remembers for recent messages (baileys-recent.ts). Our own
// reactions, edits and deletes are reported when the call returns; Baileys' echo of each is dropped (OwnEchoes).
import fs from 'node:fs';
import type { AnyMessageContent, WAMessageKey } from 'baileys';
import { EDIT_WINDOW_SECONDS, type Location, REVOKE_WINDOW_SECONDS, type SentMessage, isGroupId } from '../domain.js';
import { AppError } from '../errors.js';
import type { DownloadedMedia, EngineEvents, MediaFacet, MessageOpsFacet, MessageRef, OutgoingMedia, PollDraft, PresenceState, RichMessagesFacet, SendTextOptions, TypedEmitter } from './engine.js';
import type { Logger } from '../logger.js';
import { toJid, toMessage } from './baileys-map.js';
import type { OwnEchoes } from './baileys-recent.js';
import { type BaileysSendCore, callLibrary, describeError, sameChat, sendContent, statusOf } from './baileys-send.js';

export interface BaileysFacetsCore extends BaileysSendCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly log: Logger;
  readonly echoes: OwnEchoes;
}

const PRESENCE = { typing: 'composing', recording: 'recording', paused: 'paused' } as const;

/** The content Baileys builds a media message from; it streams the file itself ({url: path} reads from disk). */
function mediaContent(file: OutgoingMedia, caption: string | undefined): AnyMessageContent {
  const url = { url: file.path };
  const cap = caption ? { caption } : {};
  switch (file.kind) {
    case 'image':
      return { image: url, mimetype: file.mimetype, ...cap };
    case 'video':
      return { video: url, mimetype: file.mimetype, ...cap };
    case 'audio':
      return { audio: url, mimetype: file.mimetype, ptt: false };
    case 'voice':
      return { audio: url, mimetype: file.mimetype, ptt: true };
    // A sticker has no caption: WhatsApp would drop it.
    case 'sticker':
      return { sticker: url, mimetype: file.mimetype };
    case 'document':
      return { document: url, mimetype: file.mimetype, fileName: file.filename ?? fileNameFor(file), ...cap };
  }
}

function fileNameFor(file: OutgoingMedia): string {
  const subtype = /^[^/]+\/([a-z0-9.+-]+)/i.exec(file.mimetype)?.[1] ?? 'bin';
  return `${file.kind}.${subtype.replace(/^x-/, '').replace(/\+.*$/, '')}`;
}

/** The engine core's own sends: text (optionally a reply, optionally marking the chat seen) and "typing…". */
export interface TextSender {
  sendText(chatId: string, text: string, opts: SendTextOptions): Promise<SentMessage>;
  sendTyping(chatId: string, durationMs: number): Promise<void>;
}

export function baileysFacets(core: BaileysFacetsCore): { media: MediaFacet; messageOps: MessageOpsFacet; richMessages: RichMessagesFacet; texts: TextSender } {
  const nowSeconds = () => Math.floor(core.nowMs() / 1000);

  /** The key of a message, from memory when we saw it; built from the ref otherwise. */
  const keyOf = (ref: MessageRef, what: string): { key: WAMessageKey; timestamp: number | null } => {
    const r = core.recent.get(ref.id);
    if (r && sameChat(r.chatId, ref.chat_id)) return { key: r.raw.key, timestamp: r.timestamp };
    // In a group, someone else's message is known by its sender too; without it WhatsApp would not find it.
    if (isGroupId(ref.chat_id) && !ref.from_me) {
      throw new AppError('not_supported', `The Baileys engine cannot ${what} this group message: it does not remember who sent it`, {
        hint: 'The Baileys engine remembers the senders of the messages it saw since it started (the last few thousand).',
        details: { engine: 'baileys', message_id: ref.id },
      });
    }
    return { key: { remoteJid: toJid(ref.chat_id), fromMe: ref.from_me, id: ref.id }, timestamp: null };
  };

  const inWindow = (timestamp: number | null, seconds: number) => timestamp === null || nowSeconds() - timestamp <= seconds;

  /** Send a reaction, edit or revoke, expecting Baileys' echo of it (dropped when it comes). */
  const act = async (what: string, chatId: string, content: AnyMessageContent, echo: Parameters<OwnEchoes['expect']>): Promise<void> => {
    const sock = core.readySocket();
    core.echoes.expect(...echo);
    try {
      await callLibrary(what, () => sock.sendMessage(toJid(chatId), content));
    } catch (err) {
      core.echoes.consume(...echo);
      throw err;
    }
  };

  const media: MediaFacet = {
    async sendMedia(chatId: string, file: OutgoingMedia, opts: { caption?: string; quotedId?: string }): Promise<SentMessage> {
      core.readySocket();
      // Baileys sends a sticker as it is given (whatsapp-web.js converts); WhatsApp shows only WebP ones.
      if (file.kind === 'sticker' && file.mimetype !== 'image/webp') {
        throw new AppError('invalid_input', 'media: a sticker must be a WebP image on the Baileys engine', { details: { field: 'media', mimetype: file.mimetype } });
      }
      try {
        await fs.promises.access(file.path, fs.constants.R_OK);
      } catch (err) {
        throw new AppError('not_found', 'The file to send is no longer in the media store', { cause: err });
      }
      return sendContent(core, chatId, mediaContent(file, opts.caption), { quotedId: opts.quotedId });
    },

    async downloadMedia(ref: MessageRef): Promise<DownloadedMedia | null> {
      const sock = core.readySocket();
      const r = core.recent.get(ref.id);
      // Only messages seen since start can be downloaded: the media key and path live in the raw message.
      if (!r || !sameChat(r.chatId, ref.chat_id)) return null;
      const msg = toMessage(r.raw, core.self());
      if (!msg?.media || msg.revoked) return null;
      try {
        const data = await sock.downloadMedia(r.raw);
        return { data, mimetype: msg.media.mimetype, filename: msg.media.filename };
      } catch (err) {
        // 404/410: the file is gone from WhatsApp's servers and the sender's phone could not upload it again.
        const status = statusOf(err);
        if (status === 404 || status === 410) return null;
        throw new AppError('engine_error', `WhatsApp (Baileys) could not download the media: ${describeError(err)}`, { cause: err });
      }
    },
  };

  const messageOps: MessageOpsFacet = {
    async react(ref: MessageRef, emoji: string): Promise<void> {
      core.readySocket();
      const { key } = keyOf(ref, 'react to');
      await act('react to the message', ref.chat_id, { react: { text: emoji, key } }, ['reaction', ref.id, emoji]);
      core.events.emit('message_reaction', { id: ref.id, chat_id: ref.chat_id, emoji, from: core.self() ?? '', timestamp: nowSeconds() });
    },

    async edit(ref: MessageRef, text: string): Promise<void> {
      core.readySocket();
      if (!ref.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be edited');
      const { key, timestamp } = keyOf(ref, 'edit');
      if (!inWindow(timestamp, EDIT_WINDOW_SECONDS)) throw new AppError('invalid_input', 'message_id: WhatsApp allows edits for 15 minutes after sending');
      await act('edit the message', ref.chat_id, { text, edit: key }, ['edit', ref.id, text]);
      core.events.emit('message_edit', { id: ref.id, chat_id: ref.chat_id, body: text });
    },

    async delete(ref: MessageRef, forEveryone: boolean): Promise<void> {
      const sock = core.readySocket();
      // Group admins could revoke others' messages; we do not offer that, as the other engines do not.
      if (forEveryone && !ref.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be deleted for everyone');
      const { key, timestamp } = keyOf(ref, 'delete');
      if (forEveryone) {
        if (!inWindow(timestamp, REVOKE_WINDOW_SECONDS)) throw new AppError('invalid_input', 'message_id: WhatsApp allows deleting for everyone for about 60 hours after sending');
        await act('delete the message', ref.chat_id, { delete: key }, ['revoke', ref.id]);
      } else {
        // "For me" is an app-state change synced to our other devices (a messages.delete comes back), not a message.
        core.echoes.expect('revoke', ref.id);
        const deleteForMe = { deleteMedia: false, key, timestamp: timestamp ?? nowSeconds() };
        await callLibrary('delete the message', () => sock.chatModify({ deleteForMe }, toJid(ref.chat_id))).catch((err: unknown) => {
          core.echoes.consume('revoke', ref.id);
          throw err;
        });
      }
      core.events.emit('message_revoke', { id: ref.id, chat_id: ref.chat_id });
    },

    async markRead(chatId: string): Promise<void> {
      const sock = core.readySocket();
      // readMessages wants the key of every message to mark: those that came in since the chat was last read.
      const keys = core.recent.unreadKeys(chatId);
      if (keys.length > 0) await callLibrary('mark the chat read', () => sock.readMessages(keys));
      core.recent.markedRead(chatId);
    },

    async setPresence(chatId: string, state: PresenceState): Promise<void> {
      const sock = core.readySocket();
      await callLibrary('set the chat state', () => sock.sendPresenceUpdate(PRESENCE[state], toJid(chatId)));
    },
  };

  const richMessages: RichMessagesFacet = {
    async sendLocation(chatId: string, location: Location, opts: { quotedId?: string }): Promise<SentMessage> {
      const place = { degreesLatitude: location.latitude, degreesLongitude: location.longitude, ...(location.name ? { name: location.name } : {}), ...(location.address ? { address: location.address } : {}) };
      return sendContent(core, chatId, { location: place }, { quotedId: opts.quotedId });
    },

    async sendPoll(chatId: string, poll: PollDraft, opts: { quotedId?: string }): Promise<SentMessage> {
      // selectableCount 0 lets a voter pick any number; Baileys draws the poll's messageSecret itself.
      return sendContent(core, chatId, { poll: { name: poll.question, values: poll.options, selectableCount: poll.multiple ? 0 : 1 } }, { quotedId: opts.quotedId });
    },
  };

  const texts: TextSender = {
    async sendText(chatId, text, opts) {
      // linkPreview null: Baileys would otherwise fetch every URL in the text from this server to build a preview.
      const sent = await sendContent(core, chatId, { text, linkPreview: null }, { quotedId: opts.quotedId });
      if (opts.markSeen) await messageOps.markRead(sent.chat_id).catch((err: unknown) => core.log.debug({ err: describeError(err) }, 'mark seen failed'));
      return sent;
    },
    async sendTyping(chatId, durationMs) {
      await messageOps.setPresence(chatId, 'typing');
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      await messageOps.setPresence(chatId, 'paused');
    },
  };

  return { media, messageOps, richMessages, texts };
}
