// What the server log says about a webhook receiver: enough to tell two receivers of one host apart (scheme, host,
// port and the hash /metrics labels use), never the path or query a token may sit in; and each key once per line.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { receiverLabel } from '../src/events/receiver-label.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer | undefined;
let hooks: Receiver | undefined;
afterEach(async () => {
  await srv?.close();
  await hooks?.close();
  srv = hooks = undefined;
});

describe('webhook log lines', () => {
  it('name each receiver by origin and hash, without its path or token, and carry `part` once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    hooks = await startReceiver(() => 500);
    const origin = new URL(hooks.url).origin;
    const [first, second] = [`${origin}/one?token=secret-one`, `${origin}/two?token=secret-two`];
    srv = await startTestServer({ WHATSAPP_WEBHOOK_SECRET: 'log-lines-webhook-secret-0123' }, { logger, events: { webhook: { backoff: { baseMs: 5, maxMs: 20 } } } });
    const added = await srv.call('POST', '/api/accounts', { id: 'shop', webhooks: { urls: [first, second], events: ['message.received'] } });
    expect(added.status, JSON.stringify(added.json)).toBe(201);
    await srv.call('POST', '/api/accounts/shop/sandbox/link', {});
    await srv.call('POST', '/api/accounts/shop/sandbox/inbound', { from: '15550004001', body: 'hello' });

    const failed = () => lines.filter((l) => l.includes('webhook delivery failed'));
    await waitFor(() => new Set(failed().map((l) => JSON.parse(l).webhook)).size === 2, 'a failed delivery logged for both receivers');
    const named = new Set(failed().map((l) => JSON.parse(l).webhook));
    expect(named).toEqual(new Set([receiverLabel(first), receiverLabel(second)]));
    for (const label of named) expect(label).toMatch(new RegExp(`^${origin.replace(/[.]/g, '\\.')}#[0-9a-f]{8}$`));
    for (const line of failed()) {
      expect(line).not.toMatch(/\/one|\/two|token|secret/);
      // JSON.parse keeps the last of two equal keys; the raw line shows a duplicate.
      expect(line.match(/"part":/g)).toEqual(['"part":']);
      expect(JSON.parse(line)).toMatchObject({ account: 'shop', part: 'webhooks' });
    }
  });
});
