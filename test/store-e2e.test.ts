// End to end over real HTTP: the sandbox engine reports messages, the store keeps them, search and offline reads
// answer from it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type App, startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { DB_FILE_NAME, openDatabase } from '../src/store/db.js';
import { MessageStore } from '../src/store/message-store.js';

let dir: string;
let app: App;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-e2e-'));
  app = await start();
});
afterEach(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(): Promise<App> {
  const config = loadConfig({
    WHATSAPP_MCP_PORT: '0',
    WHATSAPP_ENGINE: 'sandbox',
    WHATSAPP_AUTH_DIR: path.join(dir, 'auth'),
    WHATSAPP_DATA_DIR: path.join(dir, 'data'),
    WHATSAPP_SANDBOX_LINK_DELAY_MS: '50',
  });
  return startApp(config, { logger: silentLogger() });
}

async function call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${app.url}${url}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function linkAndTalk(): Promise<{ sentId: string }> {
  expect((await call('POST', '/api/sandbox/link', { phone_number: '15550009999' })).status).toBe(200);
  const sent = await call('POST', '/api/send', { phone_number: '+1 555 000 1001', message: 'The zeppelin tickets are booked' });
  expect(sent.status).toBe(200);
  expect((await call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'Great, zeppelin at dawn then!' })).status).toBe(200);
  return { sentId: sent.json.message_id };
}

describe('store over HTTP', () => {
  it('finds sent and received messages by search, pages the chat, and shows context', async () => {
    const { sentId } = await linkAndTalk();
    const found = await call('GET', '/api/search?q=zeppelin');
    expect(found.status).toBe(200);
    expect(found.json.results.map((r: any) => [r.message.body, r.message.from_me])).toEqual([
      ['Great, zeppelin at dawn then!', false],
      ['The zeppelin tickets are booked', true],
    ]);
    expect(found.json.results[1].snippet).toBe('The [zeppelin] tickets are booked');

    const mine = await call('GET', '/api/search?q=zeppelin&from_me=true&order=relevance');
    expect(mine.json.results.map((r: any) => r.message.id)).toEqual([sentId]);
    // Query booleans take the command line's spellings too.
    // (ids only: the sandbox moves the message's ack on between the two calls)
    expect((await call('GET', '/api/search?q=zeppelin&from_me=yes&order=relevance')).json.results.map((r: any) => r.message.id)).toEqual([sentId]);
    expect((await call('GET', '/api/search?q=zeppelin&from_me=No')).json.results.map((r: any) => r.message.id)).not.toContain(sentId);

    const page = await call('GET', `/api/chats/${encodeURIComponent('15550001001@c.us')}/messages?limit=2`);
    expect(page.status).toBe(200);
    expect(page.json.messages.map((m: any) => m.body)).toEqual(['The zeppelin tickets are booked', 'Great, zeppelin at dawn then!']);
    const older = await call('GET', `/api/chats/15550001001@c.us/messages?limit=2&before=${page.json.next_before}`);
    expect(older.json.messages[1].body).toBe('Can you send me the invoice from last week?');

    const ctx = await call('GET', `/api/messages/${encodeURIComponent(sentId)}/context?n=1`);
    expect(ctx.json.after.map((m: any) => m.body)).toEqual(['Great, zeppelin at dawn then!']);
    expect((await call('GET', '/api/chats/120363000000000001@g.us')).json.chat.name).toBe('Family');
    expect((await call('GET', '/api/contacts?q=alice')).json.contacts[0].id).toBe('15550001001@c.us');
  });

  it('answers bad input with 400 and a readable message, never 500', async () => {
    await linkAndTalk();
    const bad = await call('GET', '/api/search?q=%22zeppelin&mode=fts');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(bad.json.error.message).toMatch(/unterminated string/);
    expect((await call('GET', '/api/search?q=zeppelin%20AND%20(')).status).toBe(200);
    expect((await call('GET', '/api/search?q=x&limit=1000')).status).toBe(400);
    expect((await call('GET', '/api/chats/15550001001@c.us/messages?before=bogus')).status).toBe(400);
  });

  it('reads from the store when WhatsApp is not connected, and keeps it across restarts', async () => {
    await linkAndTalk();
    const live = await call('GET', '/api/messages?phone_number=15550001001&limit=3');
    expect(live.json.source).toBe('engine');
    await app.services.engine.stop();

    const chats = await call('GET', '/api/chats?limit=3');
    expect(chats.status).toBe(200);
    expect(chats.json.source).toBe('store');
    expect(chats.json.chats[0]).toMatchObject({ id: '15550001001@c.us', name: 'Alice Martin' });
    expect(chats.json.chats[0].last_message.body).toBe('Great, zeppelin at dawn then!');

    const offline = await call('GET', '/api/messages?phone_number=15550001001&limit=3');
    expect(offline.status).toBe(200);
    expect(offline.json.source).toBe('store');
    const idsAndBodies = (r: { json: { messages: Array<{ id: string; body: string }> } }) => r.json.messages.map((m) => [m.id, m.body]);
    expect(idsAndBodies(offline)).toEqual(idsAndBodies(live));

    const never = await call('GET', '/api/messages?phone_number=15550008888');
    expect(never.status).toBe(503);
    expect(never.json.error.code).toBe('not_ready');

    await app.close();
    const store = new MessageStore(openDatabase(path.join(dir, 'data', DB_FILE_NAME)));
    expect(store.searchMessages({ q: 'dawn', mode: 'words', order: 'newest', limit: 5 }).hits).toHaveLength(1);
    store.close();
  });

  it('updates a sent message as its acks arrive', async () => {
    const { sentId } = await linkAndTalk();
    await vi.waitFor(async () => {
      const ctx = await call('GET', `/api/messages/${encodeURIComponent(sentId)}/context?n=0`);
      expect(ctx.json.message.ack).toBe('read');
    });
  });
});
