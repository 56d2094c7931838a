// A message's media.url is a link on its own account's routes: engines and the store write the default account's
// path, and everything that leaves another account (reads, search, events, webhooks, MCP) carries that account's.
import { afterEach, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { b64, png, sha256 } from './helpers/media-fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const SECRET = 'media-link-secret-0123456789';
const PHONE = '15550008001';
const CHAT = `${PHONE}@c.us`;

let srv: TestServer | undefined;
let receiver: Receiver | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await srv?.close();
  await receiver?.close();
  srv = receiver = client = undefined;
});

it('links the file of account a’s message at /api/accounts/a/...: reads, search, events, webhooks, MCP; the link downloads it', async () => {
  receiver = await startReceiver();
  srv = await startTestServer({ WHATSAPP_WEBHOOK_SECRET: SECRET });
  const s = srv;
  expect((await s.call('POST', '/api/accounts', { id: 'a', webhooks: { urls: [receiver.url], events: ['message.sent'] } })).status).toBe(201);
  await s.call('POST', '/api/accounts/a/sandbox/link', {});
  const file = png(3, 3);
  const sent = await s.call('POST', '/api/accounts/a/send', { phone_number: PHONE, message: 'okapi chart', media: { data: b64(file), filename: 'chart.png' } });
  expect(sent.status).toBe(200);
  const url = `/api/accounts/a/messages/${encodeURIComponent(sent.json.message_id)}/media`;

  const read = await s.call('GET', `/api/accounts/a/chats/${CHAT}/messages`);
  expect(read.json.messages.find((m: { id: string }) => m.id === sent.json.message_id)?.media.url).toBe(url);
  const hit = await waitFor(async () => (await s.call('GET', '/api/accounts/a/search?q=okapi')).json.results?.[0], 'the caption indexed');
  expect(hit.message.media.url).toBe(url);
  const events = await s.call('GET', '/api/accounts/a/events?types=message.sent');
  expect(events.json.events.at(-1).data.message.media.url).toBe(url);
  const hook = await waitFor(() => receiver!.accepted()[0], 'the webhook');
  expect(hook.event.data.message.media.url).toBe(url);

  const res = await fetch(new URL(url, s.url));
  expect(res.status).toBe(200);
  expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(file));

  client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/accounts/a/mcp', s.url)));
  const resource = await client.readResource({ uri: `whatsapp://chats/${CHAT}` });
  const shown = JSON.parse((resource.contents[0] as { text: string }).text) as { messages: Array<{ id: string; media: { url: string } | null }> };
  expect(shown.messages.find((m) => m.id === sent.json.message_id)?.media?.url).toBe(url);

  // The default account's links are as before.
  await s.call('POST', '/api/sandbox/link', {});
  const mine = await s.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(file) } });
  const ours = await s.call('GET', `/api/chats/${CHAT}/messages`);
  expect(ours.json.messages.find((m: { id: string }) => m.id === mine.json.message_id)?.media.url).toBe(`/api/messages/${encodeURIComponent(mine.json.message_id)}/media`);
});
