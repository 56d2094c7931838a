// The wwebjs engine's media, message-ops and rich-message facets, over the fake Client: the library calls and
// options each facet makes, and the library's quiet failures turned into error codes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import wweb from 'whatsapp-web.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type MediaKind, type Message, mediaUrl } from '../src/domain.js';
import type { Engine, EngineEvents, OutgoingMedia } from '../src/engine/engine.js';
import { createWwebjsEngine } from '../src/engine/wwebjs.js';
import { silentLogger } from '../src/logger.js';
import { FakeWhatsApp, type LibraryMessage } from './fakes/fake-wwebjs-client.js';

const { MessageMedia, Location, Poll } = wweb;
const ALICE = '15550100001@c.us';
const NOBODY = '15550100999@c.us';
const GROUP = '120363041234567890@g.us';
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255])]);
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

async function linked() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-facets-'));
  const world = new FakeWhatsApp();
  const engine = createWwebjsEngine({
    config: { authDir: path.join(dir, 'auth'), chromeExecutable: undefined, headless: true, readyTimeoutSeconds: 30 },
    logger: silentLogger(),
    clientFactory: world.factory,
    locateBrowser: () => ({ ok: true, path: '/opt/fake/chromium', source: 'system' }),
    isRoot: false,
    now: world.nowMs,
  });
  cleanups.push(async () => {
    await engine.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await engine.start();
  world.last.link();
  const file = (data: Buffer, kind: MediaKind, mimetype: string, filename: string | null = null): OutgoingMedia => {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const p = path.join(dir, sha256);
    fs.writeFileSync(p, data);
    return { path: p, kind, mimetype, filename, size: data.length, sha256 };
  };
  return { engine, world, client: world.last, file, media: engine.media!, ops: engine.messageOps!, rich: engine.richMessages! };
}

function record<K extends keyof EngineEvents>(engine: Engine, event: K): EngineEvents[K][0][] {
  const seen: EngineEvents[K][0][] = [];
  engine.events.on(event, ((...args: EngineEvents[K]) => seen.push(args[0])) as never);
  return seen;
}

/** The one sendMessage call made, as [chatId, content, options]. */
function lastSend(client: { callsTo(m: string): unknown[][] }): [string, unknown, Record<string, unknown>] {
  return client.callsTo('sendMessage').at(-1) as [string, unknown, Record<string, unknown>];
}

const refOf = (m: LibraryMessage) => ({ id: m.id._serialized, chat_id: m.id.remote, from_me: m.fromMe });

describe('wwebjs media facet', () => {
  it('sends the file bytes as a MessageMedia, with caption and quote, and reports the media message', async () => {
    const { engine, client, file, media } = await linked();
    const seen: Message[] = record(engine, 'message');
    const question = client.inbound(ALICE, 'send me the logo?');
    const sent = await media.sendMedia(ALICE, file(PNG, 'image', 'image/png', 'logo.png'), { caption: 'here', quotedId: question.id._serialized });
    const [chatId, content, options] = lastSend(client);
    expect(chatId).toBe(ALICE);
    expect(content).toBeInstanceOf(MessageMedia);
    const mm = content as InstanceType<typeof MessageMedia>;
    expect(mm.data).toBe(PNG.toString('base64'));
    expect(createHash('sha256').update(Buffer.from(mm.data, 'base64')).digest('hex')).toBe(createHash('sha256').update(PNG).digest('hex'));
    expect([mm.mimetype, mm.filename, mm.filesize]).toEqual(['image/png', 'logo.png', PNG.length]);
    expect(options).toEqual({ sendSeen: false, caption: 'here', quotedMessageId: question.id._serialized });
    const mine = seen.filter((m) => m.id === sent.message_id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      from_me: true,
      type: 'image',
      body: 'here',
      has_media: true,
      media: { kind: 'image', mimetype: 'image/png', size: PNG.length, sha256: createHash('sha256').update(PNG).digest('hex'), url: mediaUrl(sent.message_id) },
      quoted: { id: question.id._serialized, from: ALICE, body: 'send me the logo?' },
    });
  });

  it('asks the library for a voice note, a sticker or a document with its flags', async () => {
    const { client, file, media } = await linked();
    await media.sendMedia(ALICE, file(Buffer.from('OggS voice'), 'voice', 'audio/ogg; codecs=opus'), {});
    expect(lastSend(client)[2]).toEqual({ sendSeen: false, sendAudioAsVoice: true });
    // WhatsApp stickers carry no caption.
    await media.sendMedia(ALICE, file(PNG, 'sticker', 'image/png'), { caption: 'dropped' });
    expect(lastSend(client)[2]).toEqual({ sendSeen: false, sendMediaAsSticker: true });
    await media.sendMedia(ALICE, file(Buffer.from('%PDF-1.7'), 'document', 'application/pdf', 'report.pdf'), { caption: 'the report' });
    expect(lastSend(client)[2]).toEqual({ sendSeen: false, sendMediaAsDocument: true, caption: 'the report' });
    expect((lastSend(client)[1] as InstanceType<typeof MessageMedia>).filename).toBe('report.pdf');
    await media.sendMedia(ALICE, file(Buffer.from('%PDF-1.4'), 'document', 'application/pdf'), {});
    // Without a name the library would upload the file as "undefined".
    expect((lastSend(client)[1] as InstanceType<typeof MessageMedia>).filename).toBe('document.pdf');
    const types = client.world.chat(ALICE).messages.map((m) => m.type);
    expect(types).toEqual(['ptt', 'sticker', 'document', 'document']);
  });

  it('refuses what the library would fail on or quietly change, before sending', async () => {
    const { client, file, media } = await linked();
    await expect(media.sendMedia(ALICE, file(Buffer.from('%PDF'), 'sticker', 'application/pdf'), {})).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(media.sendMedia(ALICE, file(PNG, 'image', 'image/png'), { quotedId: 'false_15550100001@c.us_3EB0NOPE' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^reply_to: /),
    });
    await expect(media.sendMedia(ALICE, file(PNG, 'image', 'image/png'), { quotedId: 'not-an-id' })).rejects.toMatchObject({ code: 'invalid_input' });
    const elsewhere = client.inbound('15550100002@c.us', 'in another chat');
    await expect(media.sendMedia(ALICE, file(PNG, 'image', 'image/png'), { quotedId: elsewhere.id._serialized })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(media.sendMedia(NOBODY, file(PNG, 'image', 'image/png'), {})).rejects.toMatchObject({ code: 'not_on_whatsapp' });
    const gone = file(PNG, 'image', 'image/png');
    fs.rmSync(gone.path);
    await expect(media.sendMedia(ALICE, gone, {})).rejects.toMatchObject({ code: 'not_found' });
    expect(client.callsTo('sendMessage')).toEqual([]);
  });

  it('turns a send the library answers with undefined or null into engine_error', async () => {
    const { world, file, media, rich } = await linked();
    world.unresolvable.add(ALICE);
    await expect(media.sendMedia(ALICE, file(PNG, 'image', 'image/png'), {})).rejects.toMatchObject({ code: 'engine_error', httpStatus: 502 });
    // The library refuses a location on status with a console.warn and null.
    await expect(rich.sendLocation('status@broadcast', { latitude: 1, longitude: 2, name: null, address: null }, {})).rejects.toMatchObject({ code: 'engine_error' });
  });

  it('downloads the exact bytes of a received file, and null when there is none or it expired', async () => {
    const { engine, world, client, media } = await linked();
    const seen: Message[] = record(engine, 'message');
    const doc = Buffer.from([0, 255, 1, 254, 2, 253, 10, 13]);
    const got = client.inboundMedia(ALICE, { data: doc, mimetype: 'application/octet-stream', type: 'document', filename: 'blob.bin' });
    expect(seen.at(-1)?.media).toMatchObject({ kind: 'document', filename: 'blob.bin', size: doc.length, sha256: createHash('sha256').update(doc).digest('hex') });
    const down = await media.downloadMedia(refOf(got));
    expect(down?.data.equals(doc)).toBe(true);
    expect(down).toMatchObject({ mimetype: 'application/octet-stream', filename: 'blob.bin' });
    await expect(media.downloadMedia(refOf(client.inbound(ALICE, 'just text')))).resolves.toBeNull();
    world.files.delete(got.id._serialized);
    await expect(media.downloadMedia(refOf(got))).resolves.toBeNull();
    await expect(media.downloadMedia({ id: 'false_15550100001@c.us_3EB0NOPE', chat_id: ALICE, from_me: false })).rejects.toMatchObject({ code: 'not_found' });
    await expect(media.downloadMedia({ id: 'garbage', chat_id: ALICE, from_me: false })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('downloads what it sent, byte for byte', async () => {
    const { file, media } = await linked();
    const sent = await media.sendMedia(ALICE, file(PNG, 'image', 'image/png', 'logo.png'), {});
    const down = await media.downloadMedia({ id: sent.message_id, chat_id: ALICE, from_me: true });
    expect(down?.data.equals(PNG)).toBe(true);
  });
});

describe('wwebjs message-ops facet', () => {
  it('reacts through the message and reports the reaction from the library event', async () => {
    const { engine, world, client, ops } = await linked();
    const reactions = record(engine, 'message_reaction');
    const msg = client.inbound(ALICE, 'lunch?');
    await ops.react(refOf(msg), '👍');
    await ops.react(refOf(msg), '');
    expect(client.callsTo('message.react')).toEqual([
      [msg.id._serialized, '👍'],
      [msg.id._serialized, ''],
    ]);
    expect(reactions).toEqual([
      { id: msg.id._serialized, chat_id: ALICE, emoji: '👍', from: world.self, timestamp: expect.any(Number) },
      { id: msg.id._serialized, chat_id: ALICE, emoji: '', from: world.self, timestamp: expect.any(Number) },
    ]);
    expect(Number.isInteger(reactions[0]!.timestamp)).toBe(true);
    await expect(ops.react({ id: 'true_15550100001@c.us_3EB0NOPE', chat_id: ALICE, from_me: true }, '👍')).rejects.toMatchObject({ code: 'not_found' });
    await expect(ops.react({ ...refOf(msg), chat_id: '15550100002@c.us' }, '👍')).rejects.toMatchObject({ code: 'not_found' });
    expect(client.callsTo('message.react')).toHaveLength(2);
  });

  it('edits its own recent message; refuses others\' and old ones before asking the library', async () => {
    const { engine, world, client, ops } = await linked();
    const edits = record(engine, 'message_edit');
    const sent = await engine.sendText(ALICE, 'draft');
    const ref = { id: sent.message_id, chat_id: ALICE, from_me: true };
    await ops.edit(ref, 'final');
    expect(client.callsTo('message.edit')).toEqual([[sent.message_id, 'final']]);
    expect(edits).toEqual([{ id: sent.message_id, chat_id: ALICE, body: 'final' }]);
    expect((await engine.chats!.fetchMessages(ALICE, 1))[0]).toMatchObject({ body: 'final', edited: true });

    const theirs = client.inbound(ALICE, 'mine, not yours');
    await expect(ops.edit(refOf(theirs), 'x')).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^message_id: /) });
    world.advance(16 * 60);
    await expect(ops.edit(ref, 'too late')).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^message_id: .*15 minutes/) });
    expect(client.callsTo('message.edit')).toHaveLength(1);
    await expect(ops.edit({ ...ref, id: 'true_15550100001@c.us_3EB0NOPE' }, 'x')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('turns an edit the library answers with null into invalid_input', async () => {
    const { engine, client, ops, rich } = await linked();
    // WhatsApp lets you edit text and captions only: the library returns null for a location.
    const sent = await rich.sendLocation(ALICE, { latitude: 52.37, longitude: 4.89, name: 'Dam', address: null }, {});
    await expect(ops.edit({ id: sent.message_id, chat_id: ALICE, from_me: true }, 'moved')).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^message_id: /),
    });
    expect(client.callsTo('message.edit')).toHaveLength(1);
    expect(engine.status().state).toBe('ready');
  });

  it('deletes for everyone (revoke) or for me, each reported once as message_revoke', async () => {
    const { engine, world, client, ops } = await linked();
    const revokes = record(engine, 'message_revoke');
    const a = await engine.sendText(ALICE, 'oops');
    await ops.delete({ id: a.message_id, chat_id: ALICE, from_me: true }, true);
    expect(client.callsTo('message.delete')).toEqual([[a.message_id, true]]);
    expect(world.store.get(a.message_id)?.type).toBe('revoked');
    const theirs = client.inbound(ALICE, 'rude');
    await ops.delete(refOf(theirs), false);
    expect(client.callsTo('message.delete').at(-1)).toEqual([theirs.id._serialized, false]);
    expect(world.store.has(theirs.id._serialized)).toBe(false);
    expect(revokes).toEqual([
      { id: a.message_id, chat_id: ALICE },
      { id: theirs.id._serialized, chat_id: ALICE },
    ]);
  });

  it('refuses a delete for everyone the library would quietly turn into "for me"', async () => {
    const { engine, world, client, ops } = await linked();
    const theirs = client.inbound(ALICE, 'not yours to revoke');
    await expect(ops.delete(refOf(theirs), true)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^message_id: /) });
    const old = await engine.sendText(ALICE, 'ancient');
    world.advance(3 * 24 * 3600);
    await expect(ops.delete({ id: old.message_id, chat_id: ALICE, from_me: true }, true)).rejects.toMatchObject({ code: 'invalid_input' });
    expect(client.callsTo('message.delete')).toEqual([]);
    await expect(ops.delete({ id: 'true_15550100001@c.us_3EB0NOPE', chat_id: ALICE, from_me: true }, false)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('marks a chat read and sets the chat state', async () => {
    const { world, client, ops } = await linked();
    client.inbound(ALICE, 'one');
    client.inbound(ALICE, 'two');
    expect(world.chat(ALICE).unreadCount).toBe(2);
    await ops.markRead(ALICE);
    expect(world.chat(ALICE).unreadCount).toBe(0);
    await ops.setPresence(ALICE, 'typing');
    await ops.setPresence(ALICE, 'recording');
    await ops.setPresence(ALICE, 'paused');
    expect(world.chat(ALICE).states).toEqual(['seen', 'typing', 'recording', 'cleared']);
    await expect(ops.markRead(NOBODY)).rejects.toMatchObject({ code: 'not_found' });
    await expect(ops.setPresence(NOBODY, 'typing')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('turns a chat the library cannot find (sendSeen false) into not_found, and a library throw into engine_error', async () => {
    const { world, client, ops } = await linked();
    world.chat(ALICE).sendSeen = async () => false;
    await expect(ops.markRead(ALICE)).rejects.toMatchObject({ code: 'not_found' });
    const msg = client.inbound(ALICE, 'x');
    client.getMessageById = async () => {
      throw new Error('Evaluation failed: Error: Execution context was destroyed');
    };
    await expect(ops.react(refOf(msg), '👍')).rejects.toMatchObject({ code: 'engine_error' });
  });
});

describe('wwebjs rich-messages facet', () => {
  it('sends a Location with name and address, reported without its thumbnail body', async () => {
    const { engine, client, rich } = await linked();
    const seen: Message[] = record(engine, 'message');
    const sent = await rich.sendLocation(ALICE, { latitude: 52.3731, longitude: 4.8926, name: 'Dam Square', address: 'Amsterdam' }, {});
    const [, content, options] = lastSend(client);
    expect(content).toBeInstanceOf(Location);
    expect(content).toMatchObject({ latitude: 52.3731, longitude: 4.8926, name: 'Dam Square', address: 'Amsterdam', description: 'Dam Square\nAmsterdam' });
    expect(options).toEqual({ sendSeen: false });
    expect(seen.find((m) => m.id === sent.message_id)).toMatchObject({
      type: 'location',
      body: '',
      location: { latitude: 52.3731, longitude: 4.8926, name: 'Dam Square', address: 'Amsterdam' },
    });
  });

  it('sends a Poll, single or multiple choice, as a reply when asked', async () => {
    const { engine, client, rich } = await linked();
    const seen: Message[] = record(engine, 'message');
    const q = client.inbound(GROUP, 'when shall we meet?');
    const sent = await rich.sendPoll(GROUP, { question: 'Day?', options: ['Mon', 'Tue'], multiple: true }, { quotedId: q.id._serialized });
    const [, content, options] = lastSend(client);
    expect(content).toBeInstanceOf(Poll);
    expect(content).toMatchObject({ pollName: 'Day?', pollOptions: [{ name: 'Mon', localId: 0 }, { name: 'Tue', localId: 1 }], options: { allowMultipleAnswers: true } });
    expect(options).toEqual({ sendSeen: false, quotedMessageId: q.id._serialized });
    expect(seen.find((m) => m.id === sent.message_id)).toMatchObject({
      type: 'poll_creation',
      poll: { question: 'Day?', options: [{ name: 'Mon', votes: null }, { name: 'Tue', votes: null }], multiple: true },
    });
    await rich.sendPoll(GROUP, { question: 'One?', options: ['a', 'b'], multiple: false }, {});
    expect(lastSend(client)[1]).toMatchObject({ options: { allowMultipleAnswers: false } });
  });

  it('passes a text reply on as quotedMessageId', async () => {
    const { engine, client } = await linked();
    const q = client.inbound(ALICE, 'ping');
    await engine.sendText(ALICE, 'pong', { quotedId: q.id._serialized });
    expect(lastSend(client)).toEqual([ALICE, 'pong', { sendSeen: false, quotedMessageId: q.id._serialized }]);
    expect((await engine.chats!.fetchMessages(ALICE, 1))[0]?.quoted).toEqual({ id: q.id._serialized, from: ALICE, body: 'ping' });
  });
});

describe('wwebjs facets when not ready', () => {
  it('answer not_ready at once, without touching the library', async () => {
    const { engine, world, file, media, ops, rich } = await linked();
    const ref = { id: 'true_15550100001@c.us_3EB0AAAA', chat_id: ALICE, from_me: true };
    const png = file(PNG, 'image', 'image/png');
    world.last.emit('disconnected', 'NAVIGATION');
    await new Promise((r) => setImmediate(r));
    const before = world.clients[0]!.calls.length;
    for (const call of [
      () => media.sendMedia(ALICE, png, {}),
      () => media.downloadMedia(ref),
      () => ops.react(ref, '👍'),
      () => ops.edit(ref, 'x'),
      () => ops.delete(ref, true),
      () => ops.markRead(ALICE),
      () => ops.setPresence(ALICE, 'typing'),
      () => rich.sendLocation(ALICE, { latitude: 0, longitude: 0, name: null, address: null }, {}),
      () => rich.sendPoll(ALICE, { question: 'q', options: ['a', 'b'], multiple: false }, {}),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'not_ready', httpStatus: 503 });
    }
    expect(engine.status().state).toBe('disconnected');
    expect(world.clients[0]!.calls.slice(before).map((c) => c.method)).toEqual([]);
  });
});
