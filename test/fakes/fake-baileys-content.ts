// WAMessages as Baileys builds them (src/Utils/messages.ts generateWAMessageContent / generateWAMessageFromContent):
// the content keys, field names and types the real socket puts on a sent or received message.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AnyMessageContent, WAMessage, WAMessageKey, proto } from 'baileys';

export type MediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker';

/** Baileys' message ids: 3EB0 + hex, upper case. */
export function messageId(): string {
  return `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
}

export const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** The media part of a message: what a file sent or received carries (the bytes stay on the fake CDN). */
export function mediaMessage(kind: MediaKind, data: Buffer, url: string, o: { mimetype: string; caption?: string | undefined; fileName?: string | undefined }): proto.IMessage {
  const common = {
    url,
    directPath: new URL(url).pathname,
    mediaKey: randomBytes(32),
    mimetype: o.mimetype,
    fileSha256: sha256(data),
    fileEncSha256: sha256(Buffer.concat([data, Buffer.from('enc')])),
    fileLength: data.length,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
  const caption = o.caption ? { caption: o.caption } : {};
  switch (kind) {
    case 'image':
      return { imageMessage: { ...common, ...caption } };
    case 'video':
      return { videoMessage: { ...common, ...caption } };
    case 'audio':
      return { audioMessage: { ...common, ptt: false } };
    case 'voice':
      return { audioMessage: { ...common, ptt: true } };
    case 'sticker':
      return { stickerMessage: { ...common } };
    case 'document':
      return { documentMessage: { ...common, fileName: o.fileName ?? 'file', ...caption } };
  }
}

/** The quote Baileys adds for options.quoted: the quoted message's id, sender and content. */
function contextFor(quoted: WAMessage | undefined, me: string): proto.IContextInfo | undefined {
  if (!quoted) return undefined;
  const participant = quoted.key.fromMe ? me : (quoted.key.participant ?? quoted.key.remoteJid ?? undefined);
  return { stanzaId: quoted.key.id, participant, quotedMessage: quoted.message ?? undefined };
}

/** What the file behind a {url: path} upload is, read the way Baileys streams it. */
function upload(ref: unknown): Buffer {
  const url = (ref as { url?: unknown }).url;
  if (typeof url !== 'string') throw new Error('fake socket: only {url: path} uploads are modelled');
  return fs.readFileSync(url);
}

export interface BuiltMessage {
  message: proto.IMessage;
  /** Bytes to put on the fake CDN under the message's url. */
  file?: { url: string; data: Buffer };
}

/** The content of a sent message, as generateWAMessageContent makes it. */
export function buildContent(content: AnyMessageContent, o: { me: string; quoted?: WAMessage | undefined; cdn: string }): BuiltMessage {
  const c = content as Record<string, unknown>;
  const contextInfo = contextFor(o.quoted, o.me);
  if ('react' in c) {
    const react = c.react as { text: string; key: WAMessageKey };
    return { message: { reactionMessage: { key: react.key, text: react.text, senderTimestampMs: Date.now() } } };
  }
  if ('delete' in c) return { message: { protocolMessage: { key: c.delete as WAMessageKey, type: 0 } } };
  if ('text' in c && 'edit' in c) {
    return { message: { protocolMessage: { key: c.edit as WAMessageKey, type: 14, editedMessage: { conversation: c.text as string }, timestampMs: Date.now() } } };
  }
  if ('text' in c) return { message: { extendedTextMessage: { text: c.text as string, ...(contextInfo ? { contextInfo } : {}) } } };
  if ('location' in c) return { message: { locationMessage: { ...(c.location as proto.Message.ILocationMessage), ...(contextInfo ? { contextInfo } : {}) } } };
  if ('poll' in c) {
    const poll = c.poll as { name: string; values: string[]; selectableCount?: number };
    const creation = { name: poll.name, selectableOptionsCount: poll.selectableCount ?? 0, options: poll.values.map((optionName) => ({ optionName })), ...(contextInfo ? { contextInfo } : {}) };
    const key = poll.selectableCount === 1 ? 'pollCreationMessageV3' : 'pollCreationMessage';
    return { message: { [key]: creation, messageContextInfo: { messageSecret: randomBytes(32) } } };
  }
  const kinds: Array<[string, MediaKind]> = [['image', 'image'], ['video', 'video'], ['audio', 'audio'], ['sticker', 'sticker'], ['document', 'document']];
  for (const [field, kind] of kinds) {
    if (!(field in c)) continue;
    const data = upload(c[field]);
    const url = `${o.cdn}/${messageId()}`;
    const voice = kind === 'audio' && c.ptt === true;
    const message = mediaMessage(voice ? 'voice' : kind, data, url, { mimetype: c.mimetype as string, caption: c.caption as string | undefined, fileName: c.fileName as string | undefined });
    if (contextInfo) Object.values(message).forEach((inner) => Object.assign(inner as object, { contextInfo }));
    return { message, file: { url, data } };
  }
  throw new Error(`fake socket: content ${Object.keys(c).join(',')} is not modelled`);
}
