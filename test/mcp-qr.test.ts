// Linking from any MCP client: whatsapp_get_qr gives the QR as an image, and not_ready hints over MCP name tools
// (over stdio there is no /qr page nor REST route to point at).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect, it } from 'vitest';
import { createMcpServer } from '../src/mcp/server.js';
import { structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
let client: Client;
afterEach(async () => {
  await client?.close();
  await srv?.close();
});

async function stdioLike(env: Record<string, string> = {}) {
  srv = await startTestServer(env);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await createMcpServer(srv.app.services, { transport: 'stdio' }).connect(a);
  client = new Client({ name: 'stdio-like', version: '1.0.0' });
  await client.connect(b);
  return client;
}

it('not_ready over MCP names the linking tools, not HTTP routes', async () => {
  const c = await stdioLike();
  const r = (await c.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'hi' } })) as CallToolResult;
  expect(r.isError).toBe(true);
  const { error } = structured(r);
  expect(error.code).toBe('not_ready');
  expect(error.hint).toMatch(/whatsapp_pairing_code/);
  expect(error.hint).toMatch(/whatsapp_get_qr/);
  expect(error.hint).not.toMatch(/\/qr|\/api\//);
  // REST keeps its own wording.
  const rest = await srv.call('POST', '/api/send', { phone_number: '15550001001', message: 'hi' });
  expect(rest.json.error.hint).toMatch(/\/api\/pairing-code/);
});

it('whatsapp_get_qr starts WhatsApp and returns the QR as a PNG image with instructions; scanning it links', async () => {
  // Long enough that the QR is still the current one when it is compared below, on a loaded machine too.
  const c = await stdioLike({ WHATSAPP_SANDBOX_LINK_DELAY_MS: '3000' });
  const r = (await c.callTool({ name: 'whatsapp_get_qr', arguments: {} })) as CallToolResult;
  expect(r.isError).toBeFalsy();
  const out = structured(r);
  expect(out).toMatchObject({ ok: true, state: 'qr', linked: false });
  expect(out.qr).toBe(srv.sandbox.currentQr());
  expect(out.instructions).toMatch(/Linked devices/);
  const image = r.content.find((b) => b.type === 'image') as { data: string; mimeType: string };
  expect(image.mimeType).toBe('image/png');
  expect(Buffer.from(image.data, 'base64').subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  // The simulated phone scans a QR once it has been shown.
  await waitFor(async () => structured(await c.callTool({ name: 'whatsapp_status', arguments: {} })).ready, 'linked by scanning', 15_000);
  const after = structured((await c.callTool({ name: 'whatsapp_get_qr', arguments: {} })) as CallToolResult);
  expect(after).toMatchObject({ linked: true, qr: null });
  expect(after.instructions).toMatch(/Already linked/);
});
