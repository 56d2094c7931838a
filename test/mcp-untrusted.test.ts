// Tool results that carry other people's words say so where the model reads them: untrusted_content_notice in the
// result of every operation marked untrusted, on every MCP path, advertised in its outputSchema (clients validate
// structuredContent against it) and in its description.
import { afterEach, describe, expect, it } from 'vitest';
import { UNTRUSTED_CONTENT_NOTICE } from '../src/events/types.js';
import { OPERATIONS } from '../src/operations/index.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const untrusted = OPERATIONS.filter((op) => op.untrusted && op.mcp !== false).map((op) => op.name);

describe('untrusted content notice', () => {
  it('is in the result, the outputSchema and the description of every untrusted tool, and in no other result', async () => {
    srv = await startTestServer();
    await srv.sandbox.linkNow();
    const { client } = await connectHttpClient(srv.url);
    try {
      const { tools } = await client.listTools();
      const listed = tools.filter((t) => untrusted.includes(t.name));
      expect(listed.length).toBeGreaterThan(5);
      for (const t of listed) {
        expect(t.description, t.name).toContain(UNTRUSTED_CONTENT_NOTICE);
        const success = (t.outputSchema as unknown as { anyOf: Array<{ properties?: Record<string, unknown> }> }).anyOf[0]!;
        expect(Object.keys(success.properties ?? {}), t.name).toContain('untrusted_content_notice');
      }
      // The SDK client checks structuredContent against the advertised schema: these calls would throw if they disagreed.
      for (const [name, args] of [['whatsapp_list_chats', { limit: 3 }], ['whatsapp_read_messages', { phone_number: '15550001001' }], ['whatsapp_search_messages', { q: 'hello' }]] as const) {
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        expect(structured(result).untrusted_content_notice, name).toBe(UNTRUSTED_CONTENT_NOTICE);
      }
      expect(structured(await client.callTool({ name: 'whatsapp_status', arguments: {} })).untrusted_content_notice).toBeUndefined();
      // An error result carries no one's words: no notice.
      expect(structured(await client.callTool({ name: 'whatsapp_list_chats', arguments: { lmit: 1 } })).untrusted_content_notice).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});
