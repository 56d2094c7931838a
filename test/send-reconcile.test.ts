// Crash safety: a send left in `sending` by a crash is looked up in the chat before anything is sent again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { RateLimiter } from '../src/service/rate-limiter.js';
import { type OutboxOutcome, SendService } from '../src/service/send-service.js';
import { openDatabase } from '../src/store/db.js';
import { MediaStore } from '../src/store/media-store.js';
import { OutboxStore } from '../src/store/outbox-store.js';
import { waitFor } from './helpers/server.js';

const DAY = 86_400_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-reconcile-'));
  const engine = new SandboxEngine({ config: { authDir: dir, sandboxLinkDelayMs: 0, headless: true }, logger: silentLogger() });
  const db = openDatabase(':memory:');
  const outbox = new OutboxStore(db);
  const sendTexts: string[] = [];
  const realSend = engine.sendText.bind(engine);
  engine.sendText = async (chatId, text) => {
    sendTexts.push(text);
    return realSend(chatId, text);
  };
  const makeSender = () =>
    new SendService({ engine, outbox, media: new MediaStore(path.join(dir, 'media')), limiter: new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 0 }), logger: silentLogger(), jitterMs: 0, typingIndicator: false, queueMaxAgeMs: DAY });
  cleanups.push(async () => {
    await engine.stop();
    db.close();
  });
  return { engine, outbox, sendTexts, makeSender, realSend };
}

it('marks an interrupted send as sent when the message is already in the chat, without sending again', async () => {
  const { engine, outbox, sendTexts, makeSender, realSend } = await setup();
  // The crash: the row says `sending`, WhatsApp has the message, the process died before recording it.
  const row = await outbox.create({ chat_id: '15550102030@c.us', body: 'made it', state: 'sending', expires_in_ms: DAY });
  await engine.linkNow('15559990000');
  const delivered = await realSend('15550102030@c.us', 'made it');
  const sender = makeSender();
  sender.kick();
  const after = await waitFor(() => (outbox.get(row.outbox_id)!.state === 'sent' ? outbox.get(row.outbox_id) : null), 'reconciled');
  expect(after!.message_id).toBe(delivered.message_id);
  expect(sendTexts).toEqual([]);
  await sender.stop();
});

it('sends an interrupted send again, once, when the chat does not have it', async () => {
  const { engine, outbox, sendTexts, makeSender } = await setup();
  const row = await outbox.create({ chat_id: '15550102030@c.us', body: 'lost', state: 'sending', expires_in_ms: DAY });
  await engine.linkNow('15559990000');
  const sender = makeSender();
  sender.kick();
  await waitFor(() => outbox.get(row.outbox_id)!.state === 'sent', 'resent');
  expect(sendTexts).toEqual(['lost']);
  await sender.stop();
});

it('does not resend an interrupted send past its deadline: failed as expired, with an outbox.failed outcome', async () => {
  const { engine, outbox, sendTexts } = await setup();
  const row = await outbox.create({ chat_id: '15550102030@c.us', body: 'too late', state: 'sending', expires_in_ms: -1 });
  await engine.linkNow('15559990000');
  const outcomes: OutboxOutcome[] = [];
  const sender = new SendService({ engine, outbox, media: new MediaStore(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-media-'))), limiter: new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 0 }), logger: silentLogger(), jitterMs: 0, typingIndicator: false, queueMaxAgeMs: DAY, onOutcome: (o) => outcomes.push(o) });
  sender.kick();
  await waitFor(() => outbox.get(row.outbox_id)!.state === 'failed', 'expired');
  expect(outbox.get(row.outbox_id)!.error).toMatchObject({ code: 'expired', message: expect.stringMatching(/never be sent/) });
  expect(outcomes).toEqual([{ state: 'failed', outbox_id: row.outbox_id, chat_id: '15550102030@c.us', error: expect.objectContaining({ code: 'expired' }) }]);
  expect(sendTexts).toEqual([]);
  await sender.stop();
});

it('still marks an interrupted send past its deadline as sent when the chat has it (it did go out)', async () => {
  const { engine, outbox, sendTexts, makeSender, realSend } = await setup();
  const row = await outbox.create({ chat_id: '15550102030@c.us', body: 'made it late', state: 'sending', expires_in_ms: -1 });
  await engine.linkNow('15559990000');
  await realSend('15550102030@c.us', 'made it late');
  const sender = makeSender();
  sender.kick();
  await waitFor(() => outbox.get(row.outbox_id)!.state === 'sent', 'reconciled as sent');
  expect(sendTexts).toEqual([]);
  await sender.stop();
});

it('does not take one earlier identical message as proof for two interrupted sends', async () => {
  const { engine, outbox, sendTexts, makeSender, realSend } = await setup();
  const a = await outbox.create({ chat_id: '15550102030@c.us', body: 'ping', state: 'sending', expires_in_ms: DAY });
  const b = await outbox.create({ chat_id: '15550102030@c.us', body: 'ping', state: 'sending', expires_in_ms: DAY });
  await engine.linkNow('15559990000');
  await realSend('15550102030@c.us', 'ping');
  const sender = makeSender();
  sender.kick();
  await waitFor(() => outbox.get(a.outbox_id)!.state === 'sent' && outbox.get(b.outbox_id)!.state === 'sent', 'both settled');
  expect(outbox.get(a.outbox_id)!.message_id).not.toBe(outbox.get(b.outbox_id)!.message_id);
  expect(sendTexts).toEqual(['ping']);
  await sender.stop();
});

it('a permanent engine error marks the send failed with the error', async () => {
  const { engine, outbox, makeSender } = await setup();
  await engine.linkNow('15559990000');
  engine.sendText = async () => {
    const { AppError } = await import('../src/errors.js');
    throw new AppError('not_on_whatsapp', 'No WhatsApp account');
  };
  const sender = makeSender();
  const err = await sender.send({ chat_id: '15550102030@c.us', body: 'x', queue: true }).catch((e: unknown) => e as { code: string; details: { outbox_id: string } });
  expect(err).toMatchObject({ code: 'not_on_whatsapp' });
  expect(outbox.get((err as { details: { outbox_id: string } }).details.outbox_id)).toMatchObject({ state: 'failed', error: { code: 'not_on_whatsapp' } });
  expect(outbox.list('queued')).toEqual([]);
  await sender.stop();
});

it('spaces queued sends by the random jitter, even within the burst allowance', async () => {
  const { engine, outbox, sendTexts } = await setup();
  const sender = new SendService({ engine, outbox, media: new MediaStore(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-media-'))), limiter: new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 0 }), logger: silentLogger(), jitterMs: 400, typingIndicator: false, queueMaxAgeMs: DAY, random: () => 0.5 });
  for (const body of ['a', 'b', 'c']) await sender.send({ chat_id: '15550102030@c.us', body, queue: true });
  const started = Date.now();
  await engine.linkNow('15559990000');
  await waitFor(() => sendTexts.length === 3, 'three queued sends', 5000);
  // Two gaps of 200 ms (random 0.5 of 400) between three sends; no upper bound is asserted.
  expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  await sender.stop();
});

it('a fresh send written while a crashed one is being reconciled is not taken for a crashed one (sent once)', async () => {
  const { engine, outbox, sendTexts, makeSender } = await setup();
  const realSend = engine.sendText;
  // Slow enough that a wrongful requeue of 'fresh' would be sent again while its first attempt still runs.
  engine.sendText = async (chatId, text) => {
    await new Promise((r) => setTimeout(r, text === 'fresh' ? 300 : 10));
    return realSend(chatId, text);
  };
  await outbox.create({ chat_id: '15550102030@c.us', body: 'crashed', state: 'sending', expires_in_ms: DAY });
  await engine.linkNow('15559990000');
  const sender = makeSender();
  const realFetch = engine.fetchMessages.bind(engine);
  let fresh: Promise<unknown> | null = null;
  engine.fetchMessages = async (chatId, limit) => {
    const history = await realFetch(chatId, limit);
    fresh ??= sender.send({ chat_id: '15550004444@c.us', body: 'fresh', queue: true });
    return history;
  };
  sender.kick();
  await waitFor(() => fresh !== null, 'the fresh send to start');
  await fresh;
  await waitFor(() => sendTexts.includes('crashed'), 'the crashed send to be resent');
  await new Promise((r) => setTimeout(r, 400));
  expect(sendTexts.filter((t) => t === 'fresh')).toHaveLength(1);
  expect(sendTexts.filter((t) => t === 'crashed')).toHaveLength(1);
  await sender.stop();
});

it('a queued send written just as the engine became ready still goes out', async () => {
  const { engine, outbox, sendTexts, makeSender } = await setup();
  const sender = makeSender();
  await engine.start(); // showing a QR: not ready
  const queued = sender.send({ chat_id: '15550102030@c.us', body: 'late', queue: true });
  // The phone links in this same turn: `ready` fires, and finds an empty queue, before the row is written.
  (engine as unknown as { link(digits: string): void }).link('15559990000');
  expect(engine.status().ready).toBe(true);
  await queued;
  await waitFor(() => sendTexts.includes('late'), 'the queued send', 3000);
  await waitFor(() => outbox.list('queued').length === 0 && outbox.list('sending').length === 0, 'settled');
  await sender.stop();
});
