// Received whatsapp-web.js payloads -> the domain's media, quoted, location, poll, edited/revoked fields and
// reaction events. Bad fields become null; nothing here throws.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import wweb from 'whatsapp-web.js';
import { afterEach, describe, expect, it } from 'vitest';
import { mediaUrl } from '../src/domain.js';
import type { EngineEvents } from '../src/engine/engine.js';
import { createWwebjsEngine } from '../src/engine/wwebjs.js';
import { toMessage, toReaction } from '../src/engine/wwebjs-map.js';
import { silentLogger } from '../src/logger.js';
import { FakeWhatsApp, THUMBNAIL, type FakeMediaType } from './fakes/fake-wwebjs-client.js';

const ALICE = '15550100001@c.us';
const BOB = '15550100002@c.us';
const GROUP = '120363041234567890@g.us';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
type Structure = new (client: unknown, data: unknown) => unknown;
// index.d.ts declares Message as an interface only, and Reaction is not exported from the package root.
const LibraryMessage = (wweb as unknown as { Message: Structure }).Message;
const Reaction = createRequire(import.meta.url)('whatsapp-web.js/src/structures/Reaction.js') as Structure;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

describe('received media', () => {
  const world = new FakeWhatsApp();

  it('maps each media type to its kind, with the file details WhatsApp Web gave', () => {
    const cases: Array<[FakeMediaType, string, string]> = [
      ['image', 'image/jpeg', 'image'],
      ['video', 'video/mp4', 'video'],
      ['audio', 'audio/mpeg', 'audio'],
      ['ptt', 'audio/ogg; codecs=opus', 'voice'],
      ['document', 'application/pdf', 'document'],
      ['sticker', 'image/webp', 'sticker'],
    ];
    for (const [type, mimetype, kind] of cases) {
      const data = Buffer.from(`${type} bytes`);
      const lib = world.mediaMessage(ALICE, false, { data, mimetype, type, caption: `a ${type}`, ...(type === 'document' ? { filename: 'a.pdf' } : {}) });
      expect(toMessage(lib)).toMatchObject({
        type,
        has_media: true,
        body: `a ${type}`,
        media: { kind, mimetype, filename: type === 'document' ? 'a.pdf' : null, size: data.length, sha256: sha(data), url: mediaUrl(lib.id._serialized) },
      });
    }
  });

  it('turns bad or missing file fields into defaults and nulls', () => {
    const lib = world.mediaMessage(ALICE, false, { data: Buffer.from('x'), mimetype: 'image/png', type: 'image' });
    const bad = { ...lib, _data: { mimetype: 5, size: -3, filehash: 'not-a-hash', filename: '' } };
    expect(toMessage(bad)?.media).toEqual({ kind: 'image', mimetype: 'image/jpeg', filename: null, size: null, sha256: null, url: mediaUrl(lib.id._serialized) });
    expect(toMessage({ ...lib, _data: 'junk' })?.media).toMatchObject({ kind: 'image', size: null });
    // A file of a type we do not know is still a file.
    expect(toMessage({ ...lib, type: 'ptv_future_type' })?.media?.kind).toBe('document');
    expect(toMessage(world.message(ALICE, 'text', false))?.media).toBeNull();
  });
});

describe('received replies, locations, polls, edits and revokes', () => {
  const world = new FakeWhatsApp();

  it('rebuilds the quoted message id: ours and theirs, one-to-one and in groups', () => {
    const ours = world.message(ALICE, 'are you coming?', true);
    const reply = world.message(ALICE, 'yes', false, { hasQuotedMsg: true, _data: { body: 'yes', ...world.quoteFields(ALICE, ours) } });
    expect(toMessage(reply)?.quoted).toEqual({ id: ours.id._serialized, from: world.self, body: 'are you coming?' });
    // Our own side of a one-to-one message is enough to know the quote is ours, without our wid.
    expect(toMessage(reply, world.self)?.quoted?.id).toBe(ours.id._serialized);

    const alices = world.message(GROUP, 'pizza?', false, { author: ALICE });
    const bobs = world.message(GROUP, 'sure', false, { author: BOB, _data: { body: 'sure', ...world.quoteFields(GROUP, alices) } });
    expect(toMessage(bobs, world.self)?.quoted).toEqual({ id: alices.id._serialized, from: ALICE, body: 'pizza?' });
    const mineInGroup = world.message(GROUP, 'me', true);
    const answer = world.message(GROUP, 'you', false, { author: BOB, _data: world.quoteFields(GROUP, mineInGroup) });
    expect(toMessage(answer, world.self)?.quoted?.id).toBe(mineInGroup.id._serialized);
  });

  it('takes a quoted file\'s caption, not its thumbnail, and no quote without a stanza id', () => {
    const photo = world.mediaMessage(ALICE, false, { data: Buffer.from('jpg'), mimetype: 'image/jpeg', type: 'image', caption: 'the view' });
    const reply = world.message(ALICE, 'nice', true, { _data: world.quoteFields(ALICE, photo) });
    expect(toMessage(reply)?.quoted).toEqual({ id: photo.id._serialized, from: ALICE, body: 'the view' });
    expect(toMessage(world.message(ALICE, 'no quote', false, { _data: { quotedMsg: { type: 'chat', body: 'x' } } }))?.quoted).toBeNull();
  });

  it('maps a location, from Message.location or the raw fields, and drops one out of range', () => {
    const patched = world.message(ALICE, THUMBNAIL, false, {
      type: 'location',
      location: { latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower', address: 'Paris', description: 'Eiffel Tower\nParis' },
      _data: { body: THUMBNAIL, lat: 48.8584, lng: 2.2945, loc: 'Eiffel Tower\nParis' },
    });
    expect(toMessage(patched)).toMatchObject({ body: '', has_media: false, media: null, location: { latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower', address: 'Paris' } });
    const raw = world.message(ALICE, '', false, { type: 'location', _data: { lat: -33.86, lng: 151.21 } });
    expect(toMessage(raw)?.location).toEqual({ latitude: -33.86, longitude: 151.21, name: null, address: null });
    expect(toMessage({ ...raw, _data: { lat: 123, lng: 0 } })?.location).toBeNull();
    expect(toMessage({ ...raw, location: { latitude: 'north' } })?.location).toEqual({ latitude: -33.86, longitude: 151.21, name: null, address: null });
    expect(toMessage(world.message(ALICE, 'text', false))?.location).toBeNull();
  });

  it('maps a poll with unknown counts, single or multiple choice', () => {
    const options = [{ name: 'Tea', localId: 0 }, { name: 'Coffee', localId: 1 }];
    const single = world.message(ALICE, 'Drink?', false, { type: 'poll_creation', pollName: 'Drink?', pollOptions: options, allowMultipleAnswers: false });
    expect(toMessage(single)?.poll).toEqual({ question: 'Drink?', options: [{ name: 'Tea', votes: null }, { name: 'Coffee', votes: null }], multiple: false });
    // Raw only: 0 (or nothing) selectable means any number.
    const raw = world.message(ALICE, 'Snacks?', false, { type: 'poll_creation', _data: { pollName: 'Snacks?', pollOptions: options, pollSelectableOptionsCount: 0 } });
    expect(toMessage(raw)?.poll).toMatchObject({ question: 'Snacks?', multiple: true });
    expect(toMessage({ ...raw, _data: { pollOptions: 'junk' } })?.poll).toEqual({ question: 'Snacks?', options: [], multiple: true });
  });

  it('flags edits by latestEditMsgKey and revokes by type', () => {
    const m = world.message(ALICE, 'v2', true);
    expect(toMessage(m)).toMatchObject({ edited: false, revoked: false });
    expect(toMessage({ ...m, latestEditMsgKey: { ...m.id } })?.edited).toBe(true);
    expect(toMessage({ ...m, _data: { latestEditMsgKey: { ...m.id } } })?.edited).toBe(true);
    expect(toMessage({ ...m, type: 'revoked', body: '' })).toMatchObject({ revoked: true, body: '' });
  });
});

describe('reaction events', () => {
  it('maps the library Reaction, received and our own, with whole seconds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-react-'));
    const world = new FakeWhatsApp();
    const engine = createWwebjsEngine({
      config: { authDir: dir, chromeExecutable: undefined, headless: true, readyTimeoutSeconds: 30 },
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
    const seen: EngineEvents['message_reaction'][0][] = [];
    engine.events.on('message_reaction', (r) => seen.push(r));
    const sent = await engine.sendText(ALICE, 'good news');
    const lib = world.store.get(sent.message_id)!;
    world.last.emitReaction(ALICE, lib, '🎉');
    world.last.emitReaction(ALICE, lib, '');
    world.last.emit('message_reaction', { reaction: '👍' });
    expect(seen).toEqual([
      { id: sent.message_id, chat_id: ALICE, emoji: '🎉', from: ALICE, timestamp: Math.floor(world.nowMs() / 1000) - 1 },
      { id: sent.message_id, chat_id: ALICE, emoji: '', from: ALICE, timestamp: Math.floor(world.nowMs() / 1000) },
    ]);
  });

  it('finds the chat in the serialized id when the key has no remote, and needs a message id', () => {
    const r = { msgId: { _serialized: `false_${GROUP}_3EB0AB_${ALICE}` }, senderId: BOB, reaction: '😂', timestamp: 1_700_000_000.9 };
    expect(toReaction(r, 5)).toEqual({ id: `false_${GROUP}_3EB0AB_${ALICE}`, chat_id: GROUP, emoji: '😂', from: BOB, timestamp: 1_700_000_000 });
    expect(toReaction({ ...r, timestamp: undefined }, 5)?.timestamp).toBe(5);
    expect(toReaction({ senderId: BOB, reaction: 'x' }, 5)).toBeNull();
    expect(toReaction(null, 5)).toBeNull();
  });
});

describe('real library structures', () => {
  // Raw models as WhatsApp Web serialises them (getMessageModel), run through the library's own Message._patch.
  const key = (fromMe: boolean, remote: string, id: string, participant?: string) => ({
    fromMe,
    remote,
    id,
    ...(participant ? { participant } : {}),
    _serialized: `${fromMe}_${remote}_${id}${participant ? `_${participant}` : ''}`,
  });
  const me = '15550109999@c.us';
  const base = (id: ReturnType<typeof key>, extra: Record<string, unknown>) => new LibraryMessage({}, { id, from: id.fromMe ? me : id.remote, to: id.fromMe ? id.remote : me, t: 1_700_000_100, ack: 1, ...extra });

  it('maps a received voice note with a quote of our message', () => {
    const data = Buffer.from('OggS...opus');
    const msg = base(key(false, ALICE, '3A11'), {
      type: 'ptt',
      body: THUMBNAIL,
      directPath: '/v/t62.7117-24/x.enc',
      mimetype: 'audio/ogg; codecs=opus',
      size: data.length,
      filehash: createHash('sha256').update(data).digest('base64'),
      duration: '3',
      quotedMsg: { type: 'chat', body: 'call me?' },
      quotedStanzaID: '3EB0FF',
      quotedParticipant: me,
    });
    expect(toMessage(msg, me)).toMatchObject({
      id: `false_${ALICE}_3A11`,
      type: 'ptt',
      body: '',
      has_media: true,
      media: { kind: 'voice', mimetype: 'audio/ogg; codecs=opus', size: data.length, sha256: sha(data) },
      quoted: { id: `true_${ALICE}_3EB0FF`, from: me, body: 'call me?' },
    });
  });

  it('maps a location and a poll as Message._patch leaves them', () => {
    const loc = base(key(false, ALICE, '3A12'), { type: 'location', body: THUMBNAIL, lat: 40.6892, lng: -74.0445, loc: 'Statue of Liberty\nNew York', clientUrl: 'https://example.org' });
    expect(toMessage(loc)).toMatchObject({ body: '', location: { latitude: 40.6892, longitude: -74.0445, name: 'Statue of Liberty', address: 'New York' } });
    const poll = base(key(false, GROUP, '3A13', ALICE), {
      type: 'poll_creation',
      author: ALICE,
      pollName: 'Venue?',
      pollOptions: [{ name: 'Bar', localId: 0 }, { name: 'Park', localId: 1 }],
      pollSelectableOptionsCount: 1,
      latestEditMsgKey: key(false, GROUP, '3A14', ALICE),
    });
    expect(toMessage(poll)).toMatchObject({
      chat_id: GROUP,
      author: ALICE,
      body: 'Venue?',
      edited: true,
      poll: { question: 'Venue?', options: [{ name: 'Bar', votes: null }, { name: 'Park', votes: null }], multiple: false },
    });
  });

  it('maps a Reaction built by the library from its reaction-table payload', () => {
    const parent = key(true, ALICE, '3EB0AA');
    const r = new Reaction({}, { msgKey: key(false, ALICE, 'R1'), parentMsgKey: parent, senderUserJid: ALICE, reactionText: '🙏', timestamp: 1_700_000_200.431, orphan: 0, read: false });
    expect(toReaction(r, 0)).toEqual({ id: parent._serialized, chat_id: ALICE, emoji: '🙏', from: ALICE, timestamp: 1_700_000_200 });
  });
});
