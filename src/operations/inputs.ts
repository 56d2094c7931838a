// Input fields shared by several operations, so each rule (digits, limits, lengths) is written once.
import { z } from 'zod';
import { CHAT_ID_PATTERN, MEDIA_KINDS, chatIdForPhone, normalizePhone, phoneOfChatId } from '../domain.js';

export const phoneNumber = z
  .string()
  .max(64)
  .describe('Phone number with country code, e.g. "+1 555 010 2030"; spaces, dashes, brackets and + are ignored')
  .transform((raw, ctx) => {
    const v = raw.trim().toLowerCase();
    if (/@g\.us$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'is a group chat id, not a phone number: send to it with POST /api/chats/{chat_id}/messages (MCP: whatsapp_send_to_chat)' });
      return z.NEVER;
    }
    // The person's chat id ("15550102030@c.us", as chat lists show it) names the same number.
    const digits = normalizePhone(phoneOfChatId(v) ?? v);
    if (!digits) {
      ctx.addIssue({ code: 'custom', message: 'must be a phone number with country code (e.g. +44 7700 900123): 8 to 15 digits after removing + spaces dashes and brackets, not starting with 0' });
      return z.NEVER;
    }
    return digits;
  });

export const chatId = z
  .string()
  .max(128)
  // A bare phone number names that person's chat; "@s.whatsapp.net" (the server's spelling) is "@c.us" here.
  .transform((raw) => {
    const v = raw.trim().toLowerCase().replace(/@s\.whatsapp\.net$/, '@c.us');
    const digits = v.includes('@') ? null : normalizePhone(v);
    return digits ? chatIdForPhone(digits) : v;
  })
  .pipe(z.string().regex(CHAT_ID_PATTERN, 'must be a WhatsApp chat id such as "15550102030@c.us" or "120363000000000001@g.us", or a phone number'))
  .describe('WhatsApp chat id: "<digits>@c.us" for a person (a phone number works too), "<id>@g.us" for a group');

/** Where a message may be sent: a person or a group. Status updates (status@broadcast) and channels are not chats. */
export const sendChatId = chatId
  .refine((id) => /^\d+@c\.us$|@g\.us$/.test(id), 'can be a person ("15550102030@c.us" or a phone number) or a group ("…@g.us"); status, channel and other ids cannot be sent to')
  .describe('The chat to send to: a group "<id>@g.us", or a person "<digits>@c.us" (a phone number works too)');

export const limit = (dflt: number, max = 100) =>
  z.number().int().min(1).max(max).default(dflt).describe(`How many to return, 1 to ${max} (default ${dflt})`);

// WhatsApp rejects text messages above 65,536 characters.
export const messageText = z
  .string()
  .max(65_536)
  .refine((s) => s.trim().length > 0, 'must not be empty')
  .describe('Text to send (up to 65,536 characters)');

export const messageId = z.string().trim().min(1).max(256).describe('A message id, as reads, search results and events show it');

export const mediaInput = z
  .strictObject({
    url: z.string().max(4096).optional().describe('http(s) URL to fetch the file from (private and loopback addresses are refused unless allowed)'),
    data: z.string().optional().describe('The file, base64 (or a data: URL)'),
    path: z.string().max(4096).optional().describe('MCP only: an absolute local path inside WHATSAPP_MEDIA_ROOTS'),
    mimetype: z.string().max(255).optional().describe('Only used when the bytes have no recognisable signature (plain text, CSV): the type is sniffed from the file'),
    filename: z.string().min(1).max(255).optional().describe('Shown to the recipient for documents'),
    kind: z.enum(MEDIA_KINDS).optional().describe('image | video | audio | voice (Opus/OGG push-to-talk) | document | sticker (WebP); inferred from the bytes when absent'),
  })
  .describe('A file to send: exactly one of url, data or path (REST also takes a multipart file part)');

export const locationInput = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().trim().min(1).max(256).optional(),
  address: z.string().trim().min(1).max(512).optional(),
});

export const pollInput = z.strictObject({
  question: z.string().trim().min(1, 'must not be empty').max(255),
  options: z
    .array(z.string().trim().min(1, 'must not be empty').max(100))
    .min(2, 'a poll needs 2 to 12 options')
    .max(12, 'a poll needs 2 to 12 options')
    .refine((o) => new Set(o).size === o.length, 'options must differ from each other'),
  multiple: z.boolean().default(false).describe('Let people choose more than one option'),
});

export const replyTo = messageId.describe('Id of a message in the same chat that this one replies to (quotes)');

// A reaction is one emoji (one grapheme: flags and skin tones are several code points), or "" to take it back.
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
export const emoji = z
  .string()
  .max(32)
  .refine((s) => s === '' || ([...segmenter.segment(s)].length === 1 && /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u.test(s)), 'must be one emoji, or "" to remove your reaction')
  .describe('One emoji, or "" to remove your reaction');
