import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { connectStoreToEngine } from '../src/store/ingest.js';
import type { MessageStore } from '../src/store/message-store.js';
import { chat, memoryStore, msg } from './helpers/store-fixtures.js';

const ALICE = '15550001001@c.us';
let dir: string;
let engine: SandboxEngine;
let store: MessageStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-ingest-'));
  const config = loadConfig({ WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data'), WHATSAPP_SANDBOX_LINK_DELAY_MS: '0' });
  engine = new SandboxEngine({ config, logger: silentLogger() });
  store = memoryStore();
  connectStoreToEngine(store, engine, silentLogger());
  await engine.linkNow('15550009999');
  // The sync after connect copies the seeded account; wait until it has landed.
  await vi.waitFor(() => expect(store.getChat('120363000000000002@g.us')?.last_message).not.toBeNull());
});
afterEach(async () => {
  await engine.stop();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const count = (db: MessageStore) => db.db.prepare('SELECT count(*) FROM messages').pluck().get() as number;

describe('ingest from engine events', () => {
  it('copies recent chats and messages after a connect, with chat names and group authors', () => {
    expect(store.getChat(ALICE)?.name).toBe('Alice Martin');
    expect(store.lastMessages(ALICE, 100).map((m) => m.body)).toContain('Can you send me the invoice from last week?');
    const group = store.lastMessages('120363000000000001@g.us', 100);
    expect(group.find((m) => m.body === 'Works for me')?.author).toBe('15550001003@c.us');
    expect(store.searchContacts('Alice', 5).map((c) => c.id)).toEqual([ALICE]);
  });

  it('stores a received message and a sent message exactly once each', async () => {
    const before = count(store);
    const received = engine.inbound('15550001001', 'Inbound hello from Alice');
    const sent = await engine.sendText(ALICE, 'Sent reply');
    // The same message reported again (a list call, a re-emitted event) must not duplicate the row.
    engine.events.emit('message', received);
    store.write([{ kind: 'message', message: received }]);
    store.flush();
    expect(count(store)).toBe(before + 2);
    const last = store.lastMessages(ALICE, 2);
    expect(last.map((m) => [m.body, m.from_me])).toEqual([['Inbound hello from Alice', false], ['Sent reply', true]]);
    expect(last[1]!.id).toBe(sent.message_id);
  });

  it('moves acks forward as the engine reports them, never backwards', async () => {
    const sent = await engine.sendText(ALICE, 'Track my ticks');
    await vi.waitFor(() => expect(store.getMessage(sent.message_id)?.ack).toBe('read'));
    engine.events.emit('message_ack', { id: sent.message_id, chat_id: ALICE, ack: 'delivered' });
    store.flush();
    expect(store.getMessage(sent.message_id)?.ack).toBe('read');
  });

  it('an edit replaces the body and the search index follows', () => {
    const m = engine.inbound('15550001001', 'Meet at the lighthouse');
    store.sync();
    engine.events.emit('message_edit', { id: m.id, chat_id: ALICE, body: 'Meet at the harbour' });
    const q = (word: string) => store.searchMessages({ q: word, mode: 'words', order: 'newest', limit: 5 }).hits.map((h) => h.message.id);
    expect(q('harbour')).toEqual([m.id]);
    expect(q('lighthouse')).toEqual([]);
    expect(store.getMessage(m.id)?.body).toBe('Meet at the harbour');
  });

  it('an edit that lands before the row was indexed is indexed with the new text only', () => {
    const m = msg({ body: 'draft wording' });
    store.write([{ kind: 'message', message: m }, { kind: 'edit', id: m.id, chat_id: m.chat_id, body: 'final wording' }]);
    const q = (word: string) => store.searchMessages({ q: word, mode: 'words', order: 'newest', limit: 5 }).hits.length;
    expect([q('draft'), q('final')]).toEqual([0, 1]);
  });

  it('a revoke removes the text from the row and the index, keeping a tombstone', () => {
    const m = engine.inbound('15550001001', 'Oops wrong secretword');
    store.sync();
    engine.events.emit('message_revoke', { id: m.id, chat_id: ALICE });
    expect(store.searchMessages({ q: 'secretword', mode: 'words', order: 'newest', limit: 5 }).hits).toEqual([]);
    expect(store.getMessage(m.id)).toMatchObject({ body: '', type: 'revoked' });
    // A late edit of a revoked message does not bring the text back.
    engine.events.emit('message_edit', { id: m.id, chat_id: ALICE, body: 'secretword again' });
    expect(store.getMessage(m.id)?.body).toBe('');
    store.db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`);
  });

  it('chat events upsert the chat and its contact; acks and edits for unknown messages are ignored', () => {
    engine.events.emit('chat', chat({ id: '15550002222@c.us', name: 'Erin Park', unread_count: 3, timestamp: 1_700_000_500 }));
    engine.events.emit('message_ack', { id: 'nope', chat_id: ALICE, ack: 'read' });
    engine.events.emit('message_edit', { id: 'nope', chat_id: ALICE, body: 'x' });
    expect(store.getChat('15550002222@c.us')).toMatchObject({ name: 'Erin Park', unread_count: 3, timestamp: 1_700_000_500 });
    expect(store.searchContacts('2222', 5).map((c) => c.name)).toEqual(['Erin Park']);
  });

  it('keeps time order for history older than what is stored (seq allocation)', () => {
    const newest = msg({ body: 'newest', timestamp: 1_800_000_000, chat_id: '15550003333@c.us' });
    const older = [1, 2, 3].map((i) => msg({ body: `older ${i}`, timestamp: 1_750_000_000, chat_id: '15550003333@c.us' }));
    store.write([{ kind: 'message', message: newest }, ...older.map((message) => ({ kind: 'message' as const, message }))]);
    expect(store.lastMessages('15550003333@c.us', 10).map((m) => m.body)).toEqual(['older 1', 'older 2', 'older 3', 'newest']);
  });
});
