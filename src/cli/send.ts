// `whatsapp-mcp-api send <number or chat id> <text...>`: one text message through the running server's outbox.
// A phone number (or a person's @c.us id) goes to POST /api/send, any other chat (a group, an @lid) to
// POST /api/chats/{id}/messages; both are the same send service on the server.
import { parseId } from '../domain.js';
import { UsageError } from './args.js';
import type { ServerClient } from './client.js';
import type { Terminal } from './terminal.js';

export interface SendOptions {
  to: string;
  text: string;
  queue: boolean;
  json: boolean;
}

export async function runSend(client: ServerClient, term: Terminal, opts: SendOptions): Promise<number> {
  const id = parseId(opts.to);
  if (!id) {
    throw new UsageError(
      `${JSON.stringify(opts.to)} is neither a phone number (with country code, e.g. +15550102030) nor a chat id (…@c.us, …@g.us, …@lid)`,
    );
  }
  const queue = opts.queue ? { queue: true } : {};
  const answer =
    id.kind === 'phone'
      ? await client.call('POST', '/api/send', { phone_number: id.phone, message: opts.text, ...queue })
      : await client.call('POST', `/api/chats/${encodeURIComponent(id.id)}/messages`, { message: opts.text, ...queue });
  if (opts.json) term.json(answer);
  else if (answer.status === 'queued') {
    term.line(answer.outbox_id);
    term.error(`Queued, not sent yet (outbox id ${answer.outbox_id}): it goes once WhatsApp is linked and pacing allows. GET ${client.route(`/api/outbox/${answer.outbox_id}`)} shows where it stands.`);
  } else {
    term.line(answer.message_id);
    term.error(`Sent to ${answer.chat_id}.`);
  }
  return 0;
}
