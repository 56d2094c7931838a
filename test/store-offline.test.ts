// The read operations prefer WhatsApp, store what they see, and fall back to the store when it is not connected.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { invokeOperation } from '../src/operations/invoke.js';
import { listChatsOp, readMessagesOp } from '../src/operations/messaging.js';
import type { Services } from '../src/operations/operation.js';
import { memoryStore, servicesFor } from './helpers/store-fixtures.js';

let dir: string;
let services: Services;
let engine: SandboxEngine;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-offline-'));
  const config = loadConfig({ WHATSAPP_AUTH_DIR: dir, WHATSAPP_SANDBOX_LINK_DELAY_MS: '0' });
  engine = new SandboxEngine({ config, logger: silentLogger() });
  // No engine subscription here: whatever the store holds came from the list calls themselves.
  services = servicesFor({ config, engine, store: memoryStore() });
});
afterEach(async () => {
  await engine.stop();
  services.store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Chats = { source: string; chats: Array<{ id: string; name: string }> };
type Read = { source: string; chat: { name: string }; messages: Array<{ id: string; body: string }> };
const listChats = () => invokeOperation(listChatsOp, { limit: 10 }, services) as Promise<Chats>;
const read = (phone_number: string) => invokeOperation(readMessagesOp, { phone_number, limit: 3 }, services) as Promise<Read>;

describe('reads with and without a connection', () => {
  it('before anything was seen: an empty chat list from the store, and not_ready for a chat', async () => {
    expect(await listChats()).toMatchObject({ source: 'store', chats: [] });
    await expect(read('15550001001')).rejects.toMatchObject({ code: 'not_ready', httpStatus: 503 });
  });

  it('live answers go to the store, which then answers the same while offline', async () => {
    await engine.linkNow();
    const liveChats = await listChats();
    const liveRead = await read('15550001001');
    expect([liveChats.source, liveRead.source]).toEqual(['engine', 'engine']);
    await expect(read('15550007777')).rejects.toMatchObject({ code: 'not_found' });

    await engine.stop();
    const storedChats = await listChats();
    expect(storedChats.source).toBe('store');
    expect(storedChats.chats.map((c) => [c.id, c.name])).toEqual(liveChats.chats.map((c) => [c.id, c.name]));
    const storedRead = await read('15550001001');
    expect(storedRead).toMatchObject({ source: 'store', chat: { name: 'Alice Martin' } });
    expect(storedRead.messages).toEqual(liveRead.messages);
  });

  it('connected, a chat WhatsApp no longer has is answered from the archive; one never seen is not_found', async () => {
    await engine.linkNow();
    engine.inbound('15550004444', 'a chat the seed does not have');
    const before = await read('15550004444');
    // Logged out and linked again: the simulated account starts without that chat; the store still holds it.
    await engine.logout();
    await engine.linkNow();
    expect(await engine.getChat('15550004444@c.us')).toBeNull();
    const archived = await read('15550004444');
    expect(archived).toMatchObject({ source: 'store' });
    expect(archived.messages).toEqual(before.messages);
    await expect(read('15550007777')).rejects.toMatchObject({ code: 'not_found' });
  });
});
