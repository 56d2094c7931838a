// whatsapp://status: the connection state as a resource, updated when it changes, so a client hears link and unlink
// without polling: a 2026-07-28 client through subscriptions/listen, a legacy session through resources/subscribe.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectHttpClient } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const STATUS = 'whatsapp://status';
let srv: TestServer;
let modern: Client | undefined;
let legacy: LegacyClient | undefined;
afterEach(async () => {
  await modern?.close().catch(() => undefined);
  await legacy?.close().catch(() => undefined);
  modern = legacy = undefined;
  await srv?.close();
});

async function modernClient(): Promise<Client> {
  modern = new Client({ name: 'status-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await modern.connect(new StreamableHTTPClientTransport(new URL('/mcp', srv.url)));
  return modern;
}

/** The status JSON a resource read returns. */
async function readStatus(c: Pick<Client, 'readResource'>): Promise<Record<string, unknown>> {
  const read = await c.readResource({ uri: STATUS });
  expect(read.contents[0]).toMatchObject({ uri: STATUS, mimeType: 'application/json' });
  return JSON.parse((read.contents[0] as { text: string }).text);
}

describe('whatsapp://status', () => {
  it('a modern client listening to it sees the account link and unlink, and reads what whatsapp_status says', async () => {
    srv = await startTestServer();
    const c = await modernClient();
    expect((await c.listResources()).resources.map((r) => r.uri)).toContain(STATUS);
    expect(await readStatus(c)).toMatchObject({ engine: 'sandbox', state: 'stopped', ready: false });

    const updates: string[] = [];
    c.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const sub = await c.listen({ resourceSubscriptions: [STATUS] });
    expect(sub.honoredFilter.resourceSubscriptions).toEqual([STATUS]);

    expect((await srv.call('POST', '/api/sandbox/link', {})).status).toBe(200);
    await waitFor(() => updates.length > 0, 'an update on linking');
    const linked = await readStatus(c);
    expect(linked).toMatchObject({ state: 'ready', ready: true, account: { wid: expect.any(String) } });
    const tool = await c.callTool({ name: 'whatsapp_status', arguments: {} });
    expect(linked).toEqual(tool.structuredContent);

    const seen = updates.length;
    expect((await srv.call('POST', '/api/logout')).status).toBe(200);
    await waitFor(() => updates.length > seen, 'an update on unlinking');
    expect(updates.every((u) => u === STATUS)).toBe(true);
    expect(await readStatus(c)).toMatchObject({ ready: false, account: null });
    await sub.close();
  });

  it('a legacy session subscribed to it is notified of state changes; one not subscribed is not', async () => {
    srv = await startTestServer();
    ({ client: legacy } = await connectHttpClient(srv.url));
    const updates: string[] = [];
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await legacy.subscribeResource({ uri: STATUS });
    const other = (await connectHttpClient(srv.url)).client;
    const otherUpdates: string[] = [];
    other.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void otherUpdates.push(n.params.uri));
    try {
      await srv.sandbox.linkNow();
      await waitFor(() => updates.includes(STATUS), 'the update');
      const read = await legacy.readResource({ uri: STATUS });
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ state: 'ready', ready: true });
      // The other session listed the same state change; it asked for no updates and got none.
      expect(otherUpdates).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
