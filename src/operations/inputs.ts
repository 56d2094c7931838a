// Input fields shared by several operations, so each rule (digits, limits, lengths) is written once.
import { z } from 'zod';
import { CHAT_ID_PATTERN, chatIdForPhone, normalizePhone, phoneOfChatId } from '../domain.js';

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
