// The facet contracts: what an engine with `media`, `messageOps` or `richMessages` must do, whatever drives it.
// Each engine's test file calls facetContracts() with its harness (sandbox; wwebjs over the fake Client; Baileys over
// the fake socket).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MediaKind, Message } from '../src/domain.js';
import type { Engine, OutgoingMedia } from '../src/engine/engine.js';
import type { Harness } from './engine-contract.js';
import { pdf, png } from './helpers/media-fixtures.js';

export interface FacetHarness extends Harness {
  /** A contact sends a file to the linked account; resolves with the message as the engine reported it. */
  inboundMedia(from: string, file: { data: Buffer; mimetype: string; filename: string | null; kind: MediaKind }): Promise<Message>;
  /** A group the linked account administers, one where it is a plain member, and a number not on WhatsApp. */
  adminGroup: string;
  memberGroup: string;
  notOnWhatsApp: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fileOf(data: Buffer, kind: MediaKind, mimetype: string, filename: string | null = null): OutgoingMedia {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-facet-')), 'f');
  fs.writeFileSync(file, data);
  return { path: file, kind, mimetype, filename, size: data.length, sha256: sha(data) };
}

export function facetContracts(name: string, makeHarness: () => Promise<FacetHarness>): void {
  describe(`${name} facet contracts`, () => {
    let h: FacetHarness;
    let engine: Engine;
    let seen: Message[];
    beforeEach(async () => {
      h = await makeHarness();
      engine = h.engine;
      seen = [];
      engine.events.on('message', (m) => seen.push(m));
    });
    afterEach(async () => {
      await h.close();
    });
    const peer = () => h.peers[0]!;
    const reported = (id: string) => seen.filter((m) => m.id === id);

    describe('media', () => {
      it('is declared', () => {
        expect(engine.media).toBeDefined();
      });

      it('refuses before it is ready, at once', async () => {
        await expect(engine.media!.sendMedia(peer(), fileOf(png(), 'image', 'image/png'), {})).rejects.toMatchObject({ code: 'not_ready' });
      });

      it('sends a file with a caption: reported once, from_me, as that kind, and downloads as the same bytes', async () => {
        await h.link();
        const image = png();
        const sent = await engine.media!.sendMedia(peer(), fileOf(image, 'image', 'image/png', 'dot.png'), { caption: 'a dot' });
        expect(sent).toMatchObject({ chat_id: peer() });
        await Promise.resolve();
        expect(reported(sent.message_id)).toHaveLength(1);
        const m = reported(sent.message_id)[0]!;
        expect(m).toMatchObject({ from_me: true, body: 'a dot', has_media: true, media: { kind: 'image', mimetype: 'image/png' } });
        const got = await engine.media!.downloadMedia({ id: m.id, chat_id: m.chat_id, from_me: true });
        expect(got && sha(got.data)).toBe(sha(image));
      });

      it('receives a file: the message says what it is, and the download is the bytes the contact sent', async () => {
        await h.link();
        const doc = pdf();
        const m = await h.inboundMedia(h.peers[1]!, { data: doc, mimetype: 'application/pdf', filename: 'notes.pdf', kind: 'document' });
        expect(m).toMatchObject({ from_me: false, has_media: true, media: { kind: 'document', mimetype: 'application/pdf', filename: 'notes.pdf' } });
        expect(m.media!.url).toContain(encodeURIComponent(m.id));
        const got = await engine.media!.downloadMedia({ id: m.id, chat_id: m.chat_id, from_me: false });
        expect(got?.data.equals(doc)).toBe(true);
      });

      it('a text message has no media to download', async () => {
        await h.link();
        const sent = await engine.sendText(peer(), 'just words');
        expect(await engine.media!.downloadMedia({ id: sent.message_id, chat_id: peer(), from_me: true })).toBeNull();
      });

      it('replies: the sent message quotes the one it answers', async () => {
        await h.link();
        const first = await engine.sendText(peer(), 'question?');
        const reply = await engine.sendText(peer(), 'answer', { quotedId: first.message_id });
        await Promise.resolve();
        expect(reported(reply.message_id)[0]?.quoted).toMatchObject({ id: first.message_id });
      });
    });

    describe('messageOps', () => {
      it('is declared', () => {
        expect(engine.messageOps).toBeDefined();
      });

      it('reacts and takes the reaction back, reporting both', async () => {
        await h.link();
        const sent = await engine.sendText(peer(), 'react to me');
        const reactions: Array<{ id: string; emoji: string; from: string }> = [];
        engine.events.on('message_reaction', (r) => reactions.push(r));
        const ref = { id: sent.message_id, chat_id: peer(), from_me: true };
        await engine.messageOps!.react(ref, '👍');
        await engine.messageOps!.react(ref, '');
        await Promise.resolve();
        expect(reactions.map((r) => [r.id, r.emoji])).toEqual([[sent.message_id, '👍'], [sent.message_id, '']]);
        expect(reactions[0]!.from).toBe(engine.status().account!.wid);
      });

      it('edits your own message and reports it; refuses someone else\'s', async () => {
        await h.link();
        const sent = await engine.sendText(peer(), 'typo');
        const edits: Array<{ id: string; body: string }> = [];
        engine.events.on('message_edit', (e) => edits.push(e));
        await engine.messageOps!.edit({ id: sent.message_id, chat_id: peer(), from_me: true }, 'fixed');
        await Promise.resolve();
        expect(edits).toEqual([expect.objectContaining({ id: sent.message_id, body: 'fixed' })]);
        await h.inbound(h.peers[1]!, 'not yours');
        const theirs = seen.find((m) => m.body === 'not yours')!;
        await expect(engine.messageOps!.edit({ id: theirs.id, chat_id: theirs.chat_id, from_me: false }, 'x')).rejects.toMatchObject({ code: 'invalid_input' });
      });

      it('deletes your message for everyone and reports the revoke', async () => {
        await h.link();
        const sent = await engine.sendText(peer(), 'oops');
        const revokes: Array<{ id: string }> = [];
        engine.events.on('message_revoke', (r) => revokes.push(r));
        await engine.messageOps!.delete({ id: sent.message_id, chat_id: peer(), from_me: true }, true);
        await Promise.resolve();
        expect(revokes.map((r) => r.id)).toEqual([sent.message_id]);
      });

      it('marks a chat read and sets presence', async () => {
        await h.link();
        await h.inbound(h.peers[1]!, 'unread one');
        await expect(engine.messageOps!.markRead(h.peers[1]!)).resolves.toBeUndefined();
        await expect(engine.messageOps!.setPresence(h.peers[1]!, 'typing')).resolves.toBeUndefined();
        await expect(engine.messageOps!.setPresence(h.peers[1]!, 'paused')).resolves.toBeUndefined();
      });
    });

    // Only an engine with a live chat list can show the unread count falling; for the others (Baileys) these are
    // reported as skipped, and their own tests check what markRead sends.
    describe('chats', () => {
      it('marking a chat read clears its unread count', async (ctx) => {
        ctx.skip(!engine.chats, `the ${engine.name} engine has no live chat list (reads come from the store)`);
        await h.link();
        await h.inbound(h.peers[1]!, 'unread one');
        expect((await engine.chats!.getChat(h.peers[1]!))?.unread_count).toBeGreaterThan(0);
        await engine.messageOps!.markRead(h.peers[1]!);
        expect((await engine.chats!.getChat(h.peers[1]!))?.unread_count).toBe(0);
      });
    });

    describe('richMessages', () => {
      it('is declared', () => {
        expect(engine.richMessages).toBeDefined();
      });

      it('sends a location and a poll, each reported with what it holds', async () => {
        await h.link();
        const loc = await engine.richMessages!.sendLocation(peer(), { latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower', address: null }, {});
        const poll = await engine.richMessages!.sendPoll(peer(), { question: 'Lunch?', options: ['Yes', 'No'], multiple: false }, {});
        await Promise.resolve();
        expect(reported(loc.message_id)[0]).toMatchObject({ from_me: true, location: { latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower' } });
        expect(reported(poll.message_id)[0]).toMatchObject({ from_me: true, poll: { question: 'Lunch?', multiple: false } });
        expect(reported(poll.message_id)[0]!.poll!.options.map((o) => o.name)).toEqual(['Yes', 'No']);
      });
    });

    describe('groups', () => {
      it('is declared', () => {
        expect(engine.groups).toBeDefined();
      });

      it('lists the groups, with members and admin flags', async () => {
        await h.link();
        const groups = await engine.groups!.listGroups();
        const me = engine.status().account!.wid;
        const admin = groups.find((g) => g.id === h.adminGroup);
        const member = groups.find((g) => g.id === h.memberGroup);
        expect(admin?.participants.find((p) => p.id === me)?.is_admin).toBe(true);
        expect(member?.participants.find((p) => p.id === me)?.is_admin).toBe(false);
        expect(admin!.size).toBe(admin!.participants.length);
        expect(await engine.groups!.getGroup('120363999999999999@g.us')).toBeNull();
      });

      it('adds and removes members where it is admin, reporting each person; refuses as a plain member', async () => {
        await h.link();
        const results = await engine.groups!.updateParticipants(h.adminGroup, 'add', [h.peers[1]!, h.notOnWhatsApp]);
        const byId = Object.fromEntries(results.map((r) => [r.participant, r]));
        expect(byId[h.notOnWhatsApp]).toMatchObject({ ok: false, code: 'not_on_whatsapp' });
        const updates: unknown[] = [];
        engine.events.on('group_update', (u) => updates.push(u));
        const removed = await engine.groups!.updateParticipants(h.adminGroup, 'remove', [h.peers[1]!]);
        expect(removed).toEqual([expect.objectContaining({ participant: h.peers[1], ok: true })]);
        await expect(engine.groups!.updateParticipants(h.memberGroup, 'add', [h.peers[0]!])).rejects.toMatchObject({ code: 'not_admin' });
      });

      it('creates a group it administers, and changes its subject', async () => {
        await h.link();
        const { group, results } = await engine.groups!.createGroup('Contract test', [h.peers[0]!]);
        expect(group).toMatchObject({ subject: 'Contract test' });
        expect(group.id).toMatch(/@g\.us$/);
        expect(results.find((r) => r.participant === h.peers[0])?.ok).toBe(true);
        const renamed = await engine.groups!.updateGroup(group.id, { subject: 'Renamed' });
        expect(renamed.subject).toBe('Renamed');
      });

      it('gives an invite code where it is admin', async () => {
        await h.link();
        const code = await engine.groups!.getInvite(h.adminGroup);
        expect(code).toMatch(/^[A-Za-z0-9_-]{10,}$/);
        const next = await engine.groups!.revokeInvite(h.adminGroup);
        expect(next).not.toBe(code);
      });
    });

    describe('contacts', () => {
      it('is declared', () => {
        expect(engine.contacts).toBeDefined();
      });

      it('checks numbers and looks a person up', async () => {
        await h.link();
        const phone = (id: string) => id.replace(/@c\.us$/, '');
        const checks = await engine.contacts!.checkNumbers([phone(h.peers[0]!), phone(h.notOnWhatsApp)]);
        expect(checks).toEqual([
          { phone_number: phone(h.peers[0]!), on_whatsapp: true, chat_id: h.peers[0] },
          { phone_number: phone(h.notOnWhatsApp), on_whatsapp: false, chat_id: null },
        ]);
        const c = await engine.contacts!.getContact(h.peers[0]!);
        expect(c).toMatchObject({ id: h.peers[0], phone: phone(h.peers[0]!) });
        expect(Array.isArray(await engine.contacts!.listContacts())).toBe(true);
      });
    });
  });
}
