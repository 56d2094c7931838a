// The store half of chat-limited pages: while WhatsApp is offline the chat list comes from the store, narrowed in its
// query to the key's chats and their linked-id twins; the store's chat filters are exact for every read they serve.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Chat } from '../src/domain.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { invokeOperation } from '../src/operations/invoke.js';
import { listChatsOp } from '../src/operations/messaging.js';
import type { Services } from '../src/operations/operation.js';
import type { Principal } from '../src/service/keys.js';
import { memoryStore, msg, servicesFor } from './helpers/store-fixtures.js';

let dir: string;
let services: Services;
let engine: SandboxEngine;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-chat-scope-'));
  const config = loadConfig({ WHATSAPP_AUTH_DIR: dir, WHATSAPP_SANDBOX_LINK_DELAY_MS: '0' });
  engine = new SandboxEngine({ config, logger: silentLogger() });
  services = servicesFor({ config, engine, store: memoryStore() });
});
afterEach(async () => {
  await engine.stop();
  services.store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const chat = (id: string, timestamp: number): Chat => ({ id, name: id, is_group: false, is_read_only: false, unread_count: 0, timestamp, archived: false, pinned: false, muted: false, last_message: null });
const limitedTo = (chats: string[]): Principal => ({ name: 'limited', scopes: new Set(['read']), chats, accounts: null, ratePerMinute: null, door: 'rest' });
const QUIET = '447700900001@c.us';
const QUIET_LID = '201234567890123@lid';

it('offline, a limited key\'s chat list is its own chats (and the @lid twin) though 30 others are newer', async () => {
  const { store } = services;
  store.write([chat(QUIET, 100), chat(QUIET_LID, 90), ...Array.from({ length: 30 }, (_, i) => chat(`4477009002${String(i).padStart(2, '0')}@c.us`, 1000 + i))].map((c) => ({ kind: 'chat' as const, chat: c })));
  store.learnLid(QUIET_LID, '447700900001');
  const page = (await invokeOperation(listChatsOp, { limit: 20 }, services, { principal: limitedTo([QUIET]) })) as { source: string; chats: Chat[] };
  expect(page.source).toBe('store');
  expect(page.chats.map((c) => c.id)).toEqual([QUIET, QUIET_LID]);
  const all = (await invokeOperation(listChatsOp, { limit: 20 }, services)) as { chats: Chat[] };
  expect(all.chats).toHaveLength(20);
  expect(all.chats[0]!.id).toBe('447700900229@c.us');
});

it('store reads take a chat list: chats, search (newest and relevance) and contacts return only those chats', () => {
  const { store } = services;
  const other = '447700900002@c.us';
  store.write([
    ...Array.from({ length: 5 }, (_, i) => ({ kind: 'message' as const, message: msg({ chat_id: QUIET, body: `otter ${i}`, timestamp: 100 + i }) })),
    ...Array.from({ length: 50 }, (_, i) => ({ kind: 'message' as const, message: msg({ chat_id: other, body: `otter ${i}`, timestamp: 200 + i }) })),
  ]);
  store.sync();
  expect(store.listChats(1, [QUIET]).map((c) => c.id)).toEqual([QUIET]);
  expect(store.listChats(5, []).length).toBe(0);
  for (const order of ['newest', 'relevance'] as const) {
    const hits = store.searchMessages({ q: 'otter', mode: 'words', order, limit: 5, chat_ids: [QUIET] }).hits;
    expect(hits.map((h) => h.message.chat_id), order).toEqual(Array(5).fill(QUIET));
  }
  // Two chats at once, and an unknown chat id among them, which matches nothing.
  const both = store.searchMessages({ q: 'otter', mode: 'words', order: 'newest', limit: 100, chat_ids: [QUIET, other, 'nobody@c.us'] }).hits;
  expect(both).toHaveLength(55);
  expect(store.searchMessages({ q: 'otter', mode: 'words', order: 'newest', limit: 5, chat_ids: ['nobody@c.us'] }).hits).toEqual([]);
  // chat_id, when given, is the one that counts.
  expect(store.searchMessages({ q: 'otter', mode: 'words', order: 'newest', limit: 100, chat_id: QUIET, chat_ids: [QUIET, other] }).hits).toHaveLength(5);
});
