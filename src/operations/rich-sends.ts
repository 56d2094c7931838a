// Focused MCP tools for media, locations and polls: the same sends as whatsapp_send_to_chat, with a schema that
// holds only what each kind takes, so a model sees exactly what to fill in. REST reaches them through /api/send and
// /api/chats/{chat_id}/messages.
import { z } from 'zod';
import { composeSend, sendOptions } from './compose.js';
import { locationInput, mediaInput, messageText, pollInput, sendChatId } from './inputs.js';
import { defineOperation } from './operation.js';
import { SendOutput, send } from './sending.js';

const annotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true };
const chatId = sendChatId.describe('The chat: a phone number with country code, "<digits>@c.us" or a group "<id>@g.us"');

export const sendMediaOp = defineOperation({
  name: 'whatsapp_send_media',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Send a file',
  description:
    'Send an image, video, audio file, voice note, document or sticker to a chat, from a URL, base64 data, or (if the server allows it) a local path. ' +
    'The type is read from the bytes; kind says how to show it (inferred when absent). Same guarantees as whatsapp_send_to_chat.',
  input: z.object({ chat_id: chatId, media: mediaInput, caption: messageText.optional().describe('Text shown under the file'), ...sendOptions }),
  output: SendOutput,
  annotations,
  rest: [],
  facet: 'media',
  handler: async ({ chat_id, caption, ...f }, services, call) => send(chat_id, await composeSend(chat_id, { ...f, message: caption }, services, call), services),
});

export const sendLocationOp = defineOperation({
  name: 'whatsapp_send_location',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Send a location',
  description: 'Send a location pin (latitude, longitude, optional name and address) to a chat. Same guarantees as whatsapp_send_to_chat.',
  input: z.object({ chat_id: chatId, ...locationInput.shape, ...sendOptions }),
  output: SendOutput,
  annotations,
  rest: [],
  facet: 'richMessages',
  handler: async ({ chat_id, latitude, longitude, name, address, ...f }, services, call) =>
    send(chat_id, await composeSend(chat_id, { ...f, location: { latitude, longitude, name, address } }, services, call), services),
});

export const sendPollOp = defineOperation({
  name: 'whatsapp_send_poll',
  scope: 'send',
  chats: { kind: 'chat', of: (i) => i.chat_id },
  title: 'Send a poll',
  description: 'Send a poll: a question and 2 to 12 options; multiple lets people pick more than one. Same guarantees as whatsapp_send_to_chat.',
  input: z.object({ chat_id: chatId, ...pollInput.shape, ...sendOptions }),
  output: SendOutput,
  annotations,
  rest: [],
  facet: 'richMessages',
  handler: async ({ chat_id, question, options, multiple, ...f }, services, call) =>
    send(chat_id, await composeSend(chat_id, { ...f, poll: { question, options, multiple } }, services, call), services),
});
