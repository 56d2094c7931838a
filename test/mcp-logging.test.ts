// The MCP logging capability: connection state changes reach the client as log notifications; setLevel filters them.
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect, it } from 'vitest';
import { connectHttpClient } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

it('sends whatsapp state changes as log messages, never the QR or pairing code, and honours setLevel', async () => {
  server = await startTestServer();
  const { client } = await connectHttpClient(server.url);
  expect(client.getServerCapabilities()?.logging).toBeDefined();
  const seen: Array<{ level: string; data: Record<string, unknown> }> = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    seen.push(n.params as { level: string; data: Record<string, unknown> });
  });
  await client.setLoggingLevel('info');
  await new Promise((r) => setTimeout(r, 100)); // let the client's GET stream open
  await server.call('POST', '/api/pairing-code', { phone_number: '15550102030' });
  await waitFor(() => seen.some((m) => m.data.state === 'ready'), 'a ready log message');
  expect(seen.map((m) => m.data.state)).toEqual(expect.arrayContaining(['starting', 'pairing', 'ready']));
  expect(JSON.stringify(seen)).not.toMatch(/pairing_code|"code"|2@/);

  await client.setLoggingLevel('error');
  const before = seen.length;
  await server.call('POST', '/api/sandbox/disconnect', {});
  await waitFor(async () => (await server.call('GET', '/api/status')).json.ready, 'reconnected');
  await new Promise((r) => setTimeout(r, 100));
  expect(seen.slice(before)).toEqual([]);
  await client.close();
});
