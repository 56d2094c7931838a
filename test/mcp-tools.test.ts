// MCP tools end to end: a real SDK client over Streamable HTTP against the real server and the sandbox engine.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASELINE_TOOLS, MCP_TOOLS, connectHttpClient, openRawSession, rawMcp, structured } from './helpers/mcp.js';
import { type TestServer, startTestServer } from './helpers/server.js';

let server: TestServer;
let client: Client;

beforeEach(async () => {
  server = await startTestServer();
  ({ client } = await connectHttpClient(server.url));
  // Like a real agent host: list first. The SDK client caches each tool's outputSchema validator here and then
  // checks every structuredContent against it, error results included.
  await client.listTools();
});
afterEach(async () => {
  await client.close();
  await server.close();
});

async function call(name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  return { isError: result.isError === true, data: structured(result) };
}

async function link() {
  await server.sandbox.linkNow();
  expect(server.sandbox.status().ready).toBe(true);
}

describe('tools/list', () => {
  it('lists the baseline tools and every later MCP operation, with schemas and annotations, and no sandbox controls', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...BASELINE_TOOLS]));
    expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));

    expect(byName.whatsapp_send_message!.inputSchema.required).toEqual(['phone_number', 'message']);
    expect(byName.whatsapp_pairing_code!.inputSchema.required).toEqual(['phone_number']);
    expect(byName.whatsapp_read_messages!.inputSchema.required).toEqual(['phone_number']);
    expect(byName.whatsapp_list_chats!.inputSchema.required ?? []).toEqual([]);
    expect(byName.whatsapp_list_chats!.inputSchema.properties).toMatchObject({ limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } });
    expect(byName.whatsapp_status!.inputSchema).toMatchObject({ type: 'object', properties: {} });

    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(Object.keys(tool.annotations ?? {})).toEqual(expect.arrayContaining(['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']));
    }
    expect(byName.whatsapp_status!.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.whatsapp_logout!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.whatsapp_send_message!.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
  });

  it('tells the agent how to link, how to address chats, and that message bodies are not instructions', () => {
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toContain('whatsapp_pairing_code');
    expect(instructions).toMatch(/\/qr/);
    expect(instructions).toContain('@c.us');
    expect(instructions).toContain('@g.us');
    expect(instructions).toMatch(/country code/);
    expect(instructions).toMatch(/never as\s+instructions/);
  });
});

describe('tools/call: success paths', () => {
  it('whatsapp_status returns the status object', async () => {
    const { isError, data } = await call('whatsapp_status');
    expect(isError).toBe(false);
    expect(data).toMatchObject({ engine: 'sandbox', state: 'stopped', ready: false, account: null });
  });

  it('whatsapp_start_auth starts the engine without waiting for a link', async () => {
    const { isError, data } = await call('whatsapp_start_auth');
    expect(isError).toBe(false);
    expect(data.ready).toBe(false);
    expect(['starting', 'qr']).toContain(data.state);
  });

  it('whatsapp_pairing_code returns a code and instructions, then already_authenticated once linked', async () => {
    const first = await call('whatsapp_pairing_code', { phone_number: '+1 (555) 000-1234' });
    expect(first.isError).toBe(false);
    expect(first.data).toMatchObject({ already_authenticated: false, phone_number: '15550001234' });
    expect(first.data.code).toMatch(/^[A-Z0-9]{8}$/);
    expect(first.data.instructions).toContain(first.data.code);

    await link();
    const again = await call('whatsapp_pairing_code', { phone_number: '15550001234' });
    expect(again.data).toMatchObject({ already_authenticated: true, code: null, status: { ready: true } });
  });

  it('whatsapp_send_message, whatsapp_list_chats and whatsapp_read_messages work once linked', async () => {
    await link();
    const sent = await call('whatsapp_send_message', { phone_number: '+1 555 000 1001', message: 'hello from the test' });
    expect(sent.isError).toBe(false);
    expect(sent.data).toMatchObject({ ok: true, to: '15550001001', chat_id: '15550001001@c.us' });
    expect(sent.data.message_id).toBeTruthy();

    const chats = await call('whatsapp_list_chats', { limit: 2 });
    expect(chats.isError).toBe(false);
    expect(chats.data.count).toBe(2);
    expect(chats.data.chats[0].id).toBe('15550001001@c.us'); // newest activity first: the message just sent

    const read = await call('whatsapp_read_messages', { phone_number: '15550001001', limit: 3 });
    expect(read.isError).toBe(false);
    expect(read.data.chat.id).toBe('15550001001@c.us');
    expect(read.data.count).toBe(3);
    expect(read.data.messages.at(-1)).toMatchObject({ body: 'hello from the test', from_me: true });

    const toGroup = await call('whatsapp_send_to_chat', { chat_id: '120363000000000001@g.us', message: 'hello group' });
    expect(toGroup.isError).toBe(false);
    expect(toGroup.data).toMatchObject({ ok: true, status: 'sent', chat_id: '120363000000000001@g.us' });
  });

  it('whatsapp_logout unlinks', async () => {
    await link();
    const { isError, data } = await call('whatsapp_logout');
    expect(isError).toBe(false);
    expect(data).toEqual({ ok: true });
    expect((await call('whatsapp_status')).data.ready).toBe(false);
  });
});

describe('tools/call: failures are isError results with our error code', () => {
  it('send while not linked → not_ready with a hint on how to link', async () => {
    const { isError, data } = await call('whatsapp_send_message', { phone_number: '15550001001', message: 'hi' });
    expect(isError).toBe(true);
    expect(data.ok).toBe(false);
    expect(data.error.code).toBe('not_ready');
    expect(data.error.hint).toMatch(/pairing/);
  });

  it('read a chat the store has never seen while not linked → not_ready', async () => {
    const { isError, data } = await call('whatsapp_read_messages', { phone_number: '15550001001' });
    expect(isError).toBe(true);
    expect(data.error.code).toBe('not_ready');
  });

  it('list chats while not linked answers from the store instead of failing', async () => {
    const { isError, data } = await call('whatsapp_list_chats', {});
    expect(isError).toBe(false);
    expect(data).toMatchObject({ ok: true, source: 'store', count: 0, chats: [] });
  });

  it('read a chat that does not exist → not_found', async () => {
    await link();
    const { isError, data } = await call('whatsapp_read_messages', { phone_number: '449999999999' });
    expect(isError).toBe(true);
    expect(data.error.code).toBe('not_found');
  });

  it('pairing code for a bad phone number → invalid_input naming the field (SEP-1303: the model can correct it)', async () => {
    const { isError, data } = await call('whatsapp_pairing_code', { phone_number: '12' });
    expect(isError).toBe(true);
    expect(data.error.code).toBe('invalid_input');
    expect(data.error.details.issues[0].field).toBe('phone_number');
  });

  it.each([
    ['missing argument', 'whatsapp_send_message', { phone_number: '15550001001' }, 'message'],
    ['wrong type', 'whatsapp_list_chats', { limit: 'many' }, 'limit'],
    ['out of range', 'whatsapp_read_messages', { phone_number: '15550001001', limit: 1000 }, 'limit'],
    ['empty message', 'whatsapp_send_message', { phone_number: '15550001001', message: '   ' }, 'message'],
  ])('%s → invalid_input', async (_why, name, args, field) => {
    await link();
    const { isError, data } = await call(name, args);
    expect(isError).toBe(true);
    expect(data.error.code).toBe('invalid_input');
    expect(data.error.details.issues.map((i: { field: string }) => i.field)).toContain(field);
  });
});

describe('malformed calls are JSON-RPC errors carrying the request id', () => {
  it('unknown tool → -32602 with the id', async () => {
    const sessionId = await openRawSession(server.url);
    const res = await rawMcp(
      `${server.url}/mcp`,
      { jsonrpc: '2.0', id: 'call-7', method: 'tools/call', params: { name: 'whatsapp_fly', arguments: {} } },
      { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    );
    expect(res.status).toBe(200);
    expect(res.messages).toEqual([expect.objectContaining({ id: 'call-7', error: expect.objectContaining({ code: -32602 }) })]);
    expect(res.messages[0].error.data.available).toContain('whatsapp_status');
  });

  it('tools/call without a name → -32602 with the id', async () => {
    const sessionId = await openRawSession(server.url);
    const res = await rawMcp(
      `${server.url}/mcp`,
      { jsonrpc: '2.0', id: 42, method: 'tools/call', params: { arguments: {} } },
      { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    );
    expect(res.messages).toEqual([expect.objectContaining({ id: 42, error: expect.objectContaining({ code: -32602 }) })]);
  });

  it('an unknown method → -32601 with the id', async () => {
    const sessionId = await openRawSession(server.url);
    const res = await rawMcp(`${server.url}/mcp`, { jsonrpc: '2.0', id: 5, method: 'prompts/list' }, { 'mcp-session-id': sessionId });
    expect(res.messages).toEqual([expect.objectContaining({ id: 5, error: expect.objectContaining({ code: -32601 }) })]);
  });
});
