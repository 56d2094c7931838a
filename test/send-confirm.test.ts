// WHATSAPP_CONFIRM_NEW_RECIPIENTS end to end on the sandbox: a first message to a chat this account never wrote to
// is refused 409 confirmation_required with what a person must check, goes out with "confirm": true (REST only;
// MCP schemas refuse the field), and the chat needs no confirmation after that.
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from './helpers/media-fixtures.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ALICE = '15550001001'; // the seeded account wrote to Alice
const DAN = '15550001004'; // a saved contact this account never wrote to
const STRANGER = '15550007777';
const ENV = { WHATSAPP_CONFIRM_NEW_RECIPIENTS: 'true', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };
const HINT = 'Repeat with "confirm": true after a person has checked the recipient.';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(): Promise<TestServer> {
  srv = await startTestServer(ENV);
  await srv.call('POST', '/api/sandbox/link', {});
  await waitFor(() => srv.app.services.store.getContact(`${DAN}@c.us`)?.name, 'contacts synced');
  return srv;
}

describe('REST', () => {
  it('first send refused with details, confirmed goes out, the next one needs nothing', async () => {
    await linked();
    const text = `Hello Dan, ${'x'.repeat(300)}`;
    const first = await srv.call('POST', '/api/send', { phone_number: DAN, message: text });
    expect(first.status).toBe(409);
    expect(first.json.error).toMatchObject({ code: 'confirmation_required', hint: HINT });
    expect(first.json.error.message).toContain(`+${DAN}`);
    expect(first.json.error.details).toEqual({ recipient: `+${DAN}`, chat_id: `${DAN}@c.us`, name: 'Dan Okafor', preview: text.slice(0, 200) });
    expect(deliveries(srv)).toEqual([]);
    const confirmed = await srv.call('POST', '/api/send', { phone_number: DAN, message: 'Hello Dan', confirm: true });
    expect(confirmed.status).toBe(200);
    expect((await srv.call('POST', `/api/chats/${DAN}@c.us/messages`, { message: 'again' })).status).toBe(200);
    // A chat the seeded account already wrote in needs none at all.
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'hi' })).status).toBe(200);
    expect(deliveries(srv).map((d) => d.body)).toEqual(['Hello Dan', 'again', 'hi']);
  });

  it('a chat where only they wrote still needs confirmation, for a reaction too', async () => {
    await linked();
    const inbound = (await srv.call('POST', '/api/sandbox/inbound', { from: STRANGER, body: 'hi, remember me?' })).json.message;
    const send = await srv.call('POST', '/api/send', { phone_number: STRANGER, poll: { question: 'Do I?', options: ['yes', 'no'] } });
    expect(send.status).toBe(409);
    expect(send.json.error.details.preview).toBe('Poll: Do I?');
    const react = await srv.call('POST', `/api/messages/${inbound.id}/reaction`, { emoji: '👋' });
    expect(react.status).toBe(409);
    expect(react.json.error.details).toMatchObject({ chat_id: `${STRANGER}@c.us`, preview: 'Reaction: 👋' });
    expect((await srv.call('POST', `/api/messages/${inbound.id}/reaction`, { emoji: '👋', confirm: true })).status).toBe(200);
    // The reaction was a first contact; the chat is known now.
    expect((await srv.call('POST', '/api/send', { phone_number: STRANGER, message: 'yes' })).status).toBe(200);
  });

  it('a refusal is not stored: the same Idempotency-Key confirmed is a new send, then replays', async () => {
    await linked();
    const key = { 'idempotency-key': 'first-to-dan' };
    expect((await srv.call('POST', '/api/send', { phone_number: DAN, message: 'hi' }, key)).status).toBe(409);
    const sent = await srv.call('POST', '/api/send', { phone_number: DAN, message: 'hi', confirm: true }, key);
    expect(sent.status).toBe(200);
    expect(sent.json.replayed).toBeUndefined();
    const again = await srv.call('POST', '/api/send', { phone_number: DAN, message: 'hi', confirm: true }, key);
    expect(again.json).toMatchObject({ replayed: true, message_id: sent.json.message_id });
    expect(deliveries(srv)).toHaveLength(1);
  });

  it('a queued send confirmed at acceptance goes out without asking again', async () => {
    srv = await startTestServer(ENV);
    // Not linked: the store knows no chat yet, so every recipient is new.
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'later', queue: true })).status).toBe(409);
    const q = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'later', queue: true, confirm: true });
    expect(q.status).toBe(202);
    await srv.call('POST', '/api/sandbox/link', {});
    await waitFor(async () => (await srv.call('GET', `/api/outbox/${q.json.outbox_id}`)).json.send.state === 'sent', 'queued send delivered');
    expect(deliveries(srv).map((d) => d.body)).toEqual(['later']);
  });
});

describe('MCP', () => {
  it('the tools take no confirm field, and a first send without elicitation is an isError confirmation_required', async () => {
    await linked();
    const { client } = await connectHttpClient(srv.url);
    try {
      const { tools } = await client.listTools();
      for (const name of ['whatsapp_send_message', 'whatsapp_send_to_chat', 'whatsapp_send_media', 'whatsapp_send_location', 'whatsapp_send_poll', 'whatsapp_react']) {
        const tool = tools.find((t) => t.name === name)!;
        expect(Object.keys(tool.inputSchema.properties ?? {}), name).not.toContain('confirm');
      }
      const smuggled = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: DAN, message: 'hi', confirm: true } });
      expect(smuggled.isError).toBe(true);
      expect(structured(smuggled).error).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('confirm: unknown field') });
      const asked = await client.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: DAN, message: 'hi' } });
      expect(asked.isError).toBe(true);
      expect(structured(asked).error).toMatchObject({ code: 'confirmation_required', details: { chat_id: `${DAN}@c.us`, preview: 'hi' } });
      expect(deliveries(srv)).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
