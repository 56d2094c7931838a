// Builders for store tests: an in-memory store (the store's fake) and messages with sensible defaults.
import { AccountRegistry } from '../../src/accounts/registry.js';
import { AuditService } from '../../src/service/audit.js';
import { KeyService } from '../../src/service/keys.js';
import { openAccessDb } from '../../src/store/access-db.js';
import { type Chat, type Message, plainExtras } from '../../src/domain.js';
import { openDatabase, type OpenOptions } from '../../src/store/db.js';
import { MessageStore } from '../../src/store/message-store.js';
import type { Config } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { silentLogger } from '../../src/logger.js';
import type { Services } from '../../src/operations/operation.js';
import { RateLimiter } from '../../src/service/rate-limiter.js';
import { EventService } from '../../src/events/event-service.js';
import { SendService } from '../../src/service/send-service.js';
import { MediaStore } from '../../src/store/media-store.js';
import { MediaService } from '../../src/service/media-service.js';
import { OutboxStore } from '../../src/store/outbox-store.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ME = '15550009999@c.us';

export function memoryStore(opts: OpenOptions = {}): MessageStore {
  return new MessageStore(openDatabase(':memory:', opts), (err) => {
    throw err;
  });
}

let counter = 0;
/** A received message in a one-to-one chat unless overridden; ids are unique per call. */
export function msg(over: Partial<Message> & { body: string }): Message {
  counter += 1;
  const chat_id = over.chat_id ?? '15550001001@c.us';
  const from_me = over.from_me ?? false;
  return {
    id: `${from_me}_${chat_id}_T${String(counter).padStart(8, '0')}`,
    chat_id,
    from: from_me ? ME : chat_id,
    to: from_me ? chat_id : ME,
    author: null,
    from_me,
    type: 'chat',
    timestamp: 1_700_000_000 + counter,
    has_media: false,
    ack: from_me ? 'sent' : null,
    ...plainExtras(),
    ...over,
  };
}

export function chat(over: Partial<Chat> & { id: string }): Chat {
  return {
    name: 'Someone',
    is_group: over.id.endsWith('@g.us'),
    is_read_only: false,
    unread_count: 0,
    timestamp: 0,
    archived: false,
    pinned: false,
    muted: false,
    last_message: null,
    ...over,
  };
}

/** Services around a given engine and store, as createServices builds them, for tests that call operations directly. */
export function servicesFor(parts: { config: Readonly<Config>; engine: Engine; store: MessageStore }): Services {
  const logger = silentLogger();
  const files = new MediaStore(path.join(parts.config.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wa-media-')), 'media'));
  const { maxMediaBytes: maxBytes, mediaUrlAllowPrivate: allowPrivateUrls, mediaRoots: roots, mediaPathOverHttp: pathOverHttp } = parts.config;
  const media = new MediaService({ files, engine: parts.engine, messages: parts.store, maxBytes, allowPrivateUrls, roots, pathOverHttp });
  const sender = new SendService({
    engine: parts.engine,
    outbox: new OutboxStore(parts.store.db),
    media: files,
    limiter: new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 0 }),
    logger,
    jitterMs: 0,
    typingIndicator: false,
    queueMaxAgeMs: parts.config.queueMaxAgeSeconds * 1000,
  });
  const events = new EventService(parts.store.db, parts.config, logger);
  const access = openAccessDb(':memory:');
  return {
    ...parts,
    account: 'default',
    accounts: new AccountRegistry(parts.config, logger),
    logger,
    media,
    sender,
    events,
    keys: new KeyService(access),
    audit: new AuditService(access, { bodies: false, retentionDays: 90, logger }),
    start: () => undefined,
    close: async () => {
      await sender.stop();
      await parts.engine.stop();
      await events.stop();
      parts.store.close();
    },
  };
}
