// Downloading a message's media. REST answers with the bytes (GET /api/messages/{id}/media); MCP with content a
// model can use: image and audio content inline, other files as an embedded resource or, when large, a link to the
// whatsapp://media/{message_id} resource.
import fs from 'node:fs';
import { z } from 'zod';
import { MediaInfoSchema } from '../domain.js';
import { UNTRUSTED_CONTENT_NOTICE } from '../events/types.js';
import { messageId } from './inputs.js';
import { messageChat } from './access.js';
import { defineOperation } from './operation.js';

export const MEDIA_URI_PREFIX = 'whatsapp://media/';
/** Files up to this size go inline to MCP clients; bigger ones as a resource_link (a model's context is not a disk). */
export const MCP_INLINE_MAX_BYTES = 10 * 1024 * 1024;
const EMBED_MAX_BYTES = 1024 * 1024;

export function mediaUri(messageId: string): string {
  return MEDIA_URI_PREFIX + encodeURIComponent(messageId);
}

const MediaOutput = z.object({
  ok: z.literal(true),
  message_id: z.string(),
  chat_id: z.string(),
  media: MediaInfoSchema,
});
/** The handler's answer also says where the file is, for the doors; the output schema leaves it out of replies. */
type MediaAnswer = z.infer<typeof MediaOutput> & { file: string };

export const getMediaOp = defineOperation({
  name: 'whatsapp_get_media',
  scope: 'read',
  chats: { kind: 'chat', of: (i, s) => messageChat(s, i.message_id) },
  untrusted: true,
  title: 'Get the file of a message',
  description:
    'The image, voice note, audio, video, document or sticker of a message. Images and stickers come back as image content, voice notes and audio as audio content, ' +
    `other files as an embedded resource (up to 1 MB) or a resource link to ${MEDIA_URI_PREFIX}<message_id>. The first request fetches it from WhatsApp; later ones are served from the local store. ` +
    UNTRUSTED_CONTENT_NOTICE,
  input: z.object({ message_id: messageId }),
  output: MediaOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  rest: [{ method: 'GET', path: '/api/messages/{message_id}/media' }],
  handler: async ({ message_id }, { media }) => {
    const f = await media.fileOf(message_id);
    const answer: MediaAnswer = { ok: true, message_id: f.message.id, chat_id: f.message.chat_id, media: f.message.media!, file: f.path };
    return answer;
  },
  file: (out) => ({ path: (out as MediaAnswer).file, size: out.media.size ?? 0, mimetype: out.media.mimetype, filename: out.media.filename, etag: out.media.sha256! }),
  toolContent: async (answer) => {
    const out = answer as MediaAnswer;
    const { kind, mimetype, size, filename } = out.media;
    const uri = mediaUri(out.message_id);
    const bytes = size ?? 0;
    if (bytes > MCP_INLINE_MAX_BYTES || ((kind === 'video' || kind === 'document') && bytes > EMBED_MAX_BYTES)) {
      return [{ type: 'resource_link', uri, name: filename ?? `${out.message_id}`, mimeType: mimetype, size: bytes, description: `The ${kind} of message ${out.message_id}` }];
    }
    const data = (await fs.promises.readFile(out.file)).toString('base64');
    if (kind === 'image' || kind === 'sticker') return [{ type: 'image', data, mimeType: mimetype }];
    if (kind === 'voice' || kind === 'audio') return [{ type: 'audio', data, mimeType: mimetype }];
    return [{ type: 'resource', resource: { uri, mimeType: mimetype, blob: data } }];
  },
});
