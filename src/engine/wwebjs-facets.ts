// The wwebjs engine's media, message-ops and rich-message facets. whatsapp-web.js reports most failures by
// returning undefined or null, or by quietly doing something else; each such case is turned into an AppError here.
import fs from 'node:fs';
import wweb from 'whatsapp-web.js';
import { z } from 'zod';
import { EDIT_WINDOW_SECONDS, type Location, type Message, REVOKE_WINDOW_SECONDS, type SentMessage } from '../domain.js';
import { AppError } from '../errors.js';
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
import { callLibrary, findChat, findMessage, sameChat, selfOf, sendContentVia, type SendContentOptions } from './wwebjs-chats.js';
import type { WwebjsChatLike, WwebjsClientLike, WwebjsContent, WwebjsMessageLike, WwebjsSendOptions } from './wwebjs-client.js';
import { toMessage } from './wwebjs-map.js';

// CommonJS: named imports of these fail at run time under ESM, so take them off the default export.
const { MessageMedia, Location: LibraryLocation, Poll: LibraryPoll } = wweb;

// The library does not check WhatsApp's windows (edit returns null, delete quietly becomes "for me"): we do.
/** What the facets need from the engine. */
export interface WwebjsCore {
  readonly events: TypedEmitter<EngineEvents>;
  /** The client when ready; throws not_ready otherwise. */
  readyClient(): WwebjsClientLike;
  /** Report a message we sent (once: the library's message_create reports it too). */
  emitMessageOnce(msg: Message): void;
  /** Wall clock in ms. */
  now(): number;
}

/** A MessageMedia as downloadMedia resolves it. */
const libraryMedia = z.object({ mimetype: z.string().min(1), data: z.string(), filename: z.string().nullish().catch(null) });

/** sendMessage flags per kind: the library picks voice, sticker or document from these, not from the mimetype. */
function mediaFlags(media: OutgoingMedia, caption: string | undefined): Omit<WwebjsSendOptions, 'sendSeen'> {
  switch (media.kind) {
    case 'voice':
      return { sendAudioAsVoice: true };
    // A sticker has no caption: WhatsApp would drop it.
    case 'sticker':
      return { sendMediaAsSticker: true };
    case 'document':
      return { sendMediaAsDocument: true, ...(caption ? { caption } : {}) };
    default:
      return caption ? { caption } : {};
  }
}

// The library names the uploaded file `filename`, and a missing one becomes the literal name "undefined".
function fileNameFor(media: OutgoingMedia): string {
  if (media.filename) return media.filename;
  const subtype = /^[^/]+\/([a-z0-9.+-]+)/i.exec(media.mimetype)?.[1] ?? 'bin';
  return `${media.kind}.${subtype.replace(/^x-/, '').replace(/\+.*$/, '')}`;
}

async function readBase64(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, { encoding: 'base64' });
  } catch (err) {
    throw new AppError('not_found', 'The file to send is no longer in the media store', { cause: err });
  }
}

/** Send, report the message (the event the library's message_create may beat), and answer its ids. */
export async function sendAndReport(core: WwebjsCore, chatId: string, content: WwebjsContent, opts: SendContentOptions): Promise<SentMessage> {
  const msg = await sendContentVia(core.readyClient(), chatId, content, { ...opts, now: core.now });
  core.emitMessageOnce(msg);
  return { message_id: msg.id, chat_id: msg.chat_id, timestamp: msg.timestamp };
}

export function wwebjsFacets(core: WwebjsCore): { media: MediaFacet; messageOps: MessageOpsFacet; richMessages: RichMessagesFacet } {
  const nowSeconds = () => Math.floor(core.now() / 1000);

  /** The library's Message and what we read of it; not_found when WhatsApp Web has no such message. */
  const target = async (ref: MessageRef): Promise<{ lib: WwebjsMessageLike; msg: Message }> => {
    const client = core.readyClient();
    const lib = await findMessage(client, ref.id);
    const msg = lib ? toMessage(lib, selfOf(client)) : null;
    if (!lib || !msg || !sameChat(msg.chat_id, ref.chat_id)) throw new AppError('not_found', `No message ${ref.id} in ${ref.chat_id}`);
    return { lib, msg };
  };

  const chatOf = async (chatId: string): Promise<WwebjsChatLike> => {
    const chat = await findChat(core.readyClient(), chatId);
    if (!chat) throw new AppError('not_found', `No chat ${chatId}`);
    return chat;
  };

  const media: MediaFacet = {
    async sendMedia(chatId: string, file: OutgoingMedia, opts: { caption?: string; quotedId?: string }): Promise<SentMessage> {
      core.readyClient();
      // The library converts stickers itself (images in the page, videos with ffmpeg) and throws for anything else.
      if (file.kind === 'sticker' && !/^(image|video)\//.test(file.mimetype)) {
        throw new AppError('invalid_input', 'media: a sticker must be an image or a video', { details: { field: 'media', mimetype: file.mimetype } });
      }
      const data = await readBase64(file.path);
      return sendAndReport(core, chatId, new MessageMedia(file.mimetype, data, fileNameFor(file), file.size), {
        quotedId: opts.quotedId,
        extra: mediaFlags(file, opts.caption),
      });
    },

    async downloadMedia(ref: MessageRef): Promise<DownloadedMedia | null> {
      const { lib, msg } = await target(ref);
      if (!msg.has_media || msg.revoked) return null;
      // Undefined when expired (REUPLOADING), not downloadable, or gone from the CDN (404).
      const raw = await callLibrary('download the media', () => lib.downloadMedia());
      const parsed = libraryMedia.safeParse(raw);
      if (!parsed.success) return null;
      const data = Buffer.from(parsed.data.data.replace(/^data:[^,]*,/, ''), 'base64');
      return { data, mimetype: parsed.data.mimetype, filename: parsed.data.filename ?? msg.media?.filename ?? null };
    },
  };

  const messageOps: MessageOpsFacet = {
    // The library's message_reaction event reports the reaction, ours included; wwebjs-events maps it.
    async react(ref: MessageRef, emoji: string): Promise<void> {
      const { lib } = await target(ref);
      await callLibrary('react to the message', () => lib.react(emoji));
    },

    async edit(ref: MessageRef, text: string): Promise<void> {
      const { lib, msg } = await target(ref);
      if (!msg.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be edited');
      if (nowSeconds() - msg.timestamp > EDIT_WINDOW_SECONDS) {
        throw new AppError('invalid_input', 'message_id: WhatsApp allows edits for 15 minutes after sending');
      }
      // The edit itself is reported by the library's message_edit event.
      const edited = await callLibrary('edit the message', () => lib.edit(text));
      if (edited === null || edited === undefined) {
        throw new AppError('invalid_input', 'message_id: WhatsApp does not allow editing this message (only text and captions you sent, within 15 minutes)');
      }
    },

    async delete(ref: MessageRef, forEveryone: boolean): Promise<void> {
      const { lib, msg } = await target(ref);
      // Checked here because the library would quietly delete for me only. Group admins could revoke others'
      // messages; we do not offer that, as the sandbox does not.
      if (forEveryone && !msg.from_me) throw new AppError('invalid_input', 'message_id: only your own messages can be deleted for everyone');
      if (forEveryone && nowSeconds() - msg.timestamp > REVOKE_WINDOW_SECONDS) {
        throw new AppError('invalid_input', 'message_id: WhatsApp allows deleting for everyone for about 60 hours after sending');
      }
      await callLibrary('delete the message', () => lib.delete(forEveryone));
      // A revoke comes back as the library's message_revoke_everyone; a delete for me has no event for older
      // messages, so report it here.
      if (!forEveryone) core.events.emit('message_revoke', { id: msg.id, chat_id: msg.chat_id });
    },

    async markRead(chatId: string): Promise<void> {
      const chat = await chatOf(chatId);
      const seen = await callLibrary('mark the chat read', () => chat.sendSeen());
      if (seen === false) throw new AppError('not_found', `No chat ${chatId}`);
    },

    async setPresence(chatId: string, state: PresenceState): Promise<void> {
      const chat = await chatOf(chatId);
      // WhatsApp shows typing/recording for about 25 s unless cleared or renewed.
      if (state === 'typing') await callLibrary('show typing', () => chat.sendStateTyping());
      else if (state === 'recording') await callLibrary('show recording', () => chat.sendStateRecording());
      else await callLibrary('clear the chat state', () => chat.clearState());
    },
  };

  const richMessages: RichMessagesFacet = {
    async sendLocation(chatId: string, location: Location, opts: { quotedId?: string }): Promise<SentMessage> {
      // The library ignores `description`: it builds "name\naddress" from these two.
      const options = { ...(location.name ? { name: location.name } : {}), ...(location.address ? { address: location.address } : {}) };
      return sendAndReport(core, chatId, new LibraryLocation(location.latitude, location.longitude, options), { quotedId: opts.quotedId });
    },

    async sendPoll(chatId: string, poll: PollDraft, opts: { quotedId?: string }): Promise<SentMessage> {
      // messageSecret undefined: the library draws a random one.
      const content = new LibraryPoll(poll.question, poll.options, { allowMultipleAnswers: poll.multiple, messageSecret: undefined });
      return sendAndReport(core, chatId, content, { quotedId: opts.quotedId });
    },
  };

  return { media, messageOps, richMessages };
}
