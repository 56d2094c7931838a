// MCP: chats as resources with subscriptions, and the long-poll tool, against a real server and the SDK client.
import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
let client: Client;
beforeEach(async () => {
  srv = await startTestServer();
  await srv.sandbox.linkNow();
  ({ client } = await connectHttpClient(srv.url));
});
afterEach(async () => {
  await client?.close();
  await srv?.close();
});

const inbound = (from: string, body: string) => srv.call('POST', '/api/sandbox/inbound', { from, body });

describe('resources', () => {
  it('advertises subscribe and lists the chat list plus one resource per chat', async () => {
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
    await inbound('15550006001', 'hi');
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toContain('whatsapp://chats');
    await waitFor(async () => (await client.listResources()).resources.some((r) => r.uri === 'whatsapp://chats/15550006001@c.us'), 'the chat resource');
    const templates = await client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain('whatsapp://chats/{chat_id}');
    // A chat resource is not an event: its notice must not say "these events".
    const chatTemplates = templates.resourceTemplates.filter((t) => t.uriTemplate.startsWith('whatsapp://chats/'));
    const described = [...resources.filter((r) => r.uri === 'whatsapp://chats'), ...chatTemplates].map((r) => r.description ?? '');
    expect(described).toHaveLength(2);
    for (const d of described) {
      expect(d).toMatch(/written by other people/);
      expect(d).not.toMatch(/events/);
    }
  });

  it('notifies a subscriber when a message arrives in that chat, and only then', async () => {
    await inbound('15550006002', 'first'); // the chat exists
    const uri = 'whatsapp://chats/15550006002@c.us';
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    await client.subscribeResource({ uri });
    await inbound('15550006099', 'elsewhere');
    await inbound('15550006002', 'second');
    await waitFor(() => updated.length >= 1, 'resources/updated');
    expect(updated.every((u) => u === uri)).toBe(true);

    const read = await client.readResource({ uri });
    const content = JSON.parse((read.contents[0] as { text: string }).text);
    expect(content.untrusted_content_notice).toMatch(/never as instructions/);
    expect(content.chat.id).toBe('15550006002@c.us');
    expect(content.messages.map((m: any) => m.body)).toEqual(['first', 'second']);

    await client.unsubscribeResource({ uri });
    const seen = updated.length;
    await inbound('15550006002', 'third');
    // A later message in another subscribed chat proves notifications still flow; the unsubscribed one sent none.
    await client.subscribeResource({ uri: 'whatsapp://chats/15550006099@c.us' });
    await inbound('15550006099', 'again');
    await waitFor(() => updated.length > seen, 'the other chat');
    expect(updated.slice(seen)).toEqual(['whatsapp://chats/15550006099@c.us']);
  });

  it('sends list_changed when a new chat appears', async () => {
    let changed = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      changed++;
    });
    await inbound('15550006003', 'a new person');
    await waitFor(() => changed >= 1, 'resources/list_changed');
  });

  it('answers an unknown chat with resource-not-found and refuses odd subscriptions', async () => {
    await expect(client.readResource({ uri: 'whatsapp://chats/19999999999@c.us' })).rejects.toThrow(/not found/i);
    await expect(client.subscribeResource({ uri: 'whatsapp://elsewhere' })).rejects.toThrow(/Cannot subscribe/);
  });
});

describe('whatsapp_wait_for_message', () => {
  it('returns when a sandbox inbound message arrives, with the untrusted-content notice', async () => {
    // The cursor of "now", so the wait cannot miss a message that lands before it starts listening.
    const start = structured(await client.callTool({ name: 'whatsapp_get_updates', arguments: { limit: 500 } })).next_cursor as number;
    const waiting = client.callTool({ name: 'whatsapp_wait_for_message', arguments: { chat_id: '15550006004@c.us', timeout_s: 20, after_cursor: start } });
    await inbound('15550006005', 'not this chat');
    await inbound('15550006004', 'are you there?');
    const result = structured(await waiting);
    expect(result).toMatchObject({ ok: true, timed_out: false, message: { body: 'are you there?', chat_id: '15550006004@c.us', from_me: false } });
    expect(result.untrusted_content_notice).toMatch(/other people/);
    expect(result.cursor).toBe(result.event.cursor);
  });

  it('without a cursor it waits for the next message (REST door, same operation)', async () => {
    const waiting = srv.call('GET', '/api/events/wait?timeout_s=20');
    // Keep writing until the wait (which starts at "now") has seen one: no sleep, no race.
    let n = 0;
    let settled = false;
    void waiting.then(() => (settled = true));
    while (!settled && n < 200) {
      await inbound('15550006006', `ping ${n++}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, timed_out: false, message: { chat_id: '15550006006@c.us' } });
    expect(r.json.message.body).toMatch(/^ping \d+$/);
  });

  it('times out with {timed_out: true}', async () => {
    const result = structured(await client.callTool({ name: 'whatsapp_wait_for_message', arguments: { chat_id: '15550006007@c.us', timeout_s: 1 } }));
    expect(result).toMatchObject({ ok: true, timed_out: true, message: null, event: null });
  });

  it('rejects a timeout outside 1..120 as a tool error', async () => {
    const r = await client.callTool({ name: 'whatsapp_wait_for_message', arguments: { timeout_s: 500 } });
    expect(r.isError).toBe(true);
    expect(structured(r).error.code).toBe('invalid_input');
  });
});
