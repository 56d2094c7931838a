// The fast paths write a tool result with toolResultJson (src/mcp/tools.ts), which splices the structuredContent's
// JSON in instead of serializing it a second time. These check that it is JSON.stringify byte for byte, for results
// of every kind callOperation makes (success, isError, a tool with image content, text that needs escaping) and for
// results someone changed after callOperation made them; and, over HTTP, that a message whose text needs escaping
// comes back from both fast paths exactly as the SDK paths give it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createMcpDoor, type McpHttpDoor } from '../src/mcp/http.js';
import { callOperation, toolResultJson, toolSet } from '../src/mcp/tools.js';
import { MCP_ACCEPT, openRawSession } from './helpers/mcp.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Quotes, backslashes, control characters, the two JavaScript line terminators JSON leaves unescaped, an emoji, a
// lone surrogate (JSON.stringify escapes it as \udXXX) and markup.
const TRICKY = 'say "hi" \\ back\n\ttab \u0001 \u2028 \u2029 😀 \ud800 </script> ünïcödé';
const STAMP = { resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'whatsapp-mcp-api', version: '1' } } };

let srv: TestServer;
let door: McpHttpDoor;
let sdkOnly: { url: string; door: McpHttpDoor; server: http.Server } | undefined;
afterEach(async () => {
  if (sdkOnly) {
    await sdkOnly.door.close();
    await new Promise((r) => sdkOnly!.server.close(r));
    sdkOnly = undefined;
  }
  await srv?.close();
});

describe('toolResultJson', () => {
  it('is JSON.stringify of the result (and of the result with the stamp) for every kind of result', async () => {
    srv = await startTestServer();
    const services = srv.app.services;
    const { byName } = toolSet(services);
    const run = (name: string, args: unknown) => callOperation(byName.get(name)!, args, services, { transport: 'mcp-http' });
    const results = [
      await run('whatsapp_status', {}),
      await run('whatsapp_list_chats', { lmit: 3 }), // isError: invalid_input with a did-you-mean
      await run('whatsapp_send_message', { phone_number: '15550001001', message: 'hi' }), // isError: not_ready
      await run('whatsapp_get_qr', {}), // JSON text, then an image block: not a plain result
    ];
    await srv.sandbox.linkNow();
    srv.sandbox.inbound('15550002002', TRICKY);
    results.push(await run('whatsapp_list_chats', { limit: 5 })); // untrusted_content_notice added
    results.push(await run('whatsapp_read_messages', { phone_number: '15550002002', limit: 5 }));
    expect(results[3]!.content.map((c) => c.type)).toEqual(['text', 'image']);
    expect(JSON.stringify(results[5])).toContain('\\ud800');
    for (const r of results) {
      expect(toolResultJson(r)).toBe(JSON.stringify(r));
      expect(toolResultJson(r, STAMP)).toBe(JSON.stringify({ ...r, ...STAMP }));
    }
    // Changed after callOperation made it: no longer what the splice assumes, so it is serialized as it now is.
    const changed: CallToolResult[] = [
      { ...results[0]!, extra: 1 },
      Object.assign(await run('whatsapp_status', {}), { resultType: 'partial' }),
      Object.assign(await run('whatsapp_status', {}), { structuredContent: { other: true } }),
      Object.assign(await run('whatsapp_status', {}), { content: [{ type: 'text' as const, text: 'edited' }] }),
    ];
    const pushed = await run('whatsapp_status', {});
    pushed.content.push({ type: 'text', text: 'more' });
    changed.push(pushed);
    for (const r of changed) {
      expect(toolResultJson(r)).toBe(JSON.stringify(r));
      expect(toolResultJson(r, STAMP)).toBe(JSON.stringify({ ...r, ...STAMP }));
    }
  });
});

describe('fast paths over HTTP, text that needs escaping', () => {
  it('answers read_messages byte for byte as the SDK does, modern and legacy', async () => {
    srv = await startTestServer({}, { mcp: (services) => (door = createMcpDoor(services, silentLogger())) });
    const sdkDoor = createMcpDoor(srv.app.services, silentLogger(), { fastPath: false });
    const server = http.createServer((req, res) => void sdkDoor.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    sdkOnly = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, door: sdkDoor, server };
    await srv.sandbox.linkNow();
    srv.sandbox.inbound('15550002002', TRICKY);
    const args = { phone_number: '15550002002', limit: 5 };

    const post = async (base: string, body: unknown, headers: Record<string, string>) => {
      const res = await fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers }, body: JSON.stringify(body) });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };
    const both = async (body: unknown, ours: Record<string, string>, sdk: Record<string, string>) => {
      const before = door.fastAnswered;
      const a = await post(srv.url, body, ours);
      expect(door.fastAnswered).toBe(before + 1);
      const b = await post(sdkOnly!.url, body, sdk);
      expect(a).toEqual(b);
      expect(JSON.parse(a.text).result.structuredContent.messages.some((m: { body: string }) => m.body === TRICKY)).toBe(true);
    };

    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'escape-test', version: '1' } };
    const modernHeaders = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whatsapp_read_messages' };
    await both({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whatsapp_read_messages', arguments: args, _meta: meta } }, modernHeaders, modernHeaders);

    const legacy = { ours: await openRawSession(srv.url, '2025-11-25'), sdk: await openRawSession(sdkOnly.url, '2025-11-25') };
    const session = (id: string) => ({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    await both({ jsonrpc: '2.0', id: 'r-2', method: 'tools/call', params: { name: 'whatsapp_read_messages', arguments: args } }, session(legacy.ours), session(legacy.sdk));
  });
});
