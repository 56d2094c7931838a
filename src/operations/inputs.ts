// Input fields shared by several operations, so each rule (digits, limits, lengths) is written once.
import { z } from 'zod';
import { MEDIA_KINDS, normalizePhone, parseId } from '../domain.js';

const PHONE_RULE = 'must be a phone number with country code (e.g. +44 7700 900123): 8 to 15 digits after removing + spaces dashes and brackets, not starting with 0';

export const phoneNumber = z
  .string()
  .max(64)
  .describe('Phone number with country code, e.g. "+1 555 010 2030"; spaces, dashes, brackets and + are ignored')
  .transform((raw, ctx) => {
    // The person's chat id ("15550102030@c.us", as chat lists show it, or "@s.whatsapp.net") names the same number.
    const id = parseId(raw);
    const digits = id?.kind === 'phone' ? normalizePhone(id.phone) : null;
    if (digits) return digits;
    const message =
      id?.kind === 'group' ? 'is a group chat id, not a phone number: send to it with POST /api/chats/{chat_id}/messages (MCP: whatsapp_send_to_chat)' :
      id?.kind === 'lid' ? 'is a linked id (@lid), not a phone number: use the chat_id routes and tools, which take it' : PHONE_RULE;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

// The one id rule (domain.parseId): a bare phone number names that person's chat; "@s.whatsapp.net" (the server's
// spelling, with or without a device suffix) is "@c.us" here.
export const chatId = z
  .string()
  .max(128)
  .transform((raw, ctx) => {
    const id = parseId(raw);
    if (id) return id.id;
    ctx.addIssue({ code: 'custom', message: 'must be a WhatsApp chat id such as "15550102030@c.us", "120363000000000001@g.us" or "<digits>@lid", or a phone number' });
    return z.NEVER;
  })
  .describe('WhatsApp chat id: "<digits>@c.us" for a person (a phone number works too, and "<digits>@lid"), "<id>@g.us" for a group');

/** Where a message may be sent: a person or a group. Status updates (status@broadcast) and channels are not chats. */
export const sendChatId = chatId
  .refine((id) => /^\d+@(c\.us|lid)$|@g\.us$/.test(id), 'can be a person ("15550102030@c.us", a phone number, or "<digits>@lid") or a group ("…@g.us"); status, channel and other ids cannot be sent to')
  .describe('The chat to send to: a group "<id>@g.us", or a person "<digits>@c.us" (a phone number works too)');

/** A person: phone number, "…@c.us", "…@s.whatsapp.net" or "…@lid"; a group id is refused with a clear message. */
export const personId = z
  .string()
  .max(128)
  .transform((raw, ctx) => {
    const id = parseId(raw);
    if (id?.kind === 'phone' || id?.kind === 'lid') return id.id;
    ctx.addIssue({ code: 'custom', message: id?.kind === 'group' ? 'is a group id; a person is expected (a phone number, "…@c.us" or "…@lid")' : `a person is expected: ${PHONE_RULE}, or "…@c.us", "…@s.whatsapp.net", "…@lid"` });
    return z.NEVER;
  })
  .describe('A person: phone number with country code, "<digits>@c.us", "<digits>@s.whatsapp.net" or "<digits>@lid"');

export const groupId = z
  .string()
  .max(128)
  .transform((raw, ctx) => {
    const id = parseId(raw);
    if (id?.kind === 'group') return id.id;
    ctx.addIssue({ code: 'custom', message: id?.kind === 'phone' || id?.kind === 'lid' ? 'is a person; a group id "…@g.us" is expected' : 'must be a group id such as "120363000000000001@g.us"' });
    return z.NEVER;
  })
  .describe('A group id, "<id>@g.us" (GET /api/groups lists them)');

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
