// An account's own webhook URLs in the event service: a removed URL stops pinning retention and forgets its lane; a
// URL both the server and the account name is one lane that takes the events either asks for.
import { afterEach, describe, expect, it } from 'vitest';
import { EventService } from '../src/events/event-service.js';
import type { PostResult } from '../src/events/http-post.js';
import { silentLogger } from '../src/logger.js';
import { openDatabase } from '../src/store/db.js';
import { waitFor } from './helpers/server.js';

const HOUR = 3_600_000;
const SERVER_URL = 'http://127.0.0.1:9/server';
const OWN_URL = 'http://127.0.0.1:9/own';
let service: EventService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

function setup(serverUrls: string[], own: { urls: string[]; events: string[] }, answer: (url: string) => number, serverEvents: string[] = []) {
  let now = 1_800_000_000_000;
  const posted: Array<[string, string]> = [];
  const db = openDatabase(':memory:');
  service = new EventService(
    db,
    {
      eventRetentionHours: 1,
      webhookUrls: serverUrls,
      webhookEvents: serverEvents,
      webhookSecret: 'own-webhooks-test-secret-0123',
      webhookAllowUnsigned: false,
      webhookMaxAttempts: 3,
      webhookTimeoutSeconds: 1,
      webhookConcurrency: 1,
      webhookStart: 'now',
    },
    silentLogger(),
    {
      now: () => now,
      ownWebhooks: own,
      webhook: {
        // Long (in the injected clock too): a failing lane sits on its first event.
        backoff: { baseMs: HOUR, maxMs: HOUR },
        post: async (url, headers): Promise<PostResult> => {
          posted.push([url, headers['x-webhook-event']!]);
          return { status: answer(url), retryAfter: null };
        },
      },
    },
  );
  service.webhooks.start();
  return {
    posted,
    advance: (ms: number) => void (now += ms),
    events: () => db.prepare('SELECT cursor FROM events ORDER BY cursor').pluck().all() as number[],
    lanes: () => db.prepare('SELECT url FROM webhook_lanes ORDER BY url').pluck().all() as string[],
  };
}

describe('own webhooks of an account', () => {
  it('a removed URL no longer pins retention, and its progress is forgotten', async () => {
    const h = setup([], { urls: [OWN_URL], events: [] }, () => 503);
    const a = (await service!.log.append('message.received', 'a@c.us', { n: 1 }))!;
    await waitFor(() => h.posted.length === 1 || null, 'the first try');
    h.advance(2 * HOUR);
    service!.prune();
    expect(h.events()).toEqual([a.cursor]);

    await service!.setOwnWebhooks([], []);
    expect(service!.webhooks.urls()).toEqual([]);
    expect(h.lanes()).toEqual([]);
    service!.prune();
    expect(h.events()).toEqual([]);
    // Nothing more was tried after the removal.
    expect(h.posted).toHaveLength(1);
  });

  it('a URL both name is one lane: each event once, when either filter takes it', async () => {
    const h = setup([SERVER_URL], { urls: [SERVER_URL], events: ['outbox.*'] }, () => 200, ['message.received']);
    expect(service!.webhooks.urls()).toEqual([SERVER_URL]);
    await service!.log.append('message.received', 'a@c.us', { n: 1 });
    await service!.log.append('connection.state', null, { state: 'ready' });
    await service!.log.append('outbox.sent', 'a@c.us', { n: 2 });
    await waitFor(() => h.posted.length === 2 || null, 'two deliveries');
    expect(h.posted).toEqual([
      [SERVER_URL, 'message.received'],
      [SERVER_URL, 'outbox.sent'],
    ]);
    // The account drops it: the server's URL stays, with the server's filter only.
    await service!.setOwnWebhooks([], []);
    expect(h.lanes()).toEqual([SERVER_URL]);
    await service!.log.append('outbox.sent', 'a@c.us', { n: 3 });
    const last = (await service!.log.append('message.received', 'a@c.us', { n: 4 }))!;
    await waitFor(() => h.posted.length === 3 || null, 'the next delivery');
    expect(h.posted[2]).toEqual([SERVER_URL, 'message.received']);
    await waitFor(() => (service!.webhooks.deliveredFloor() === last.cursor ? true : null), 'the lane past the last event');
    expect(h.posted).toHaveLength(3);
  });
});
