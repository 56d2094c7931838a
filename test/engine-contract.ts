// Behaviour every Engine shares, whatever drives it. Each engine's test file calls engineContract() with a
// harness that knows how to link its engine and make a contact write to it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../src/domain.js';
import type { Engine } from '../src/engine/engine.js';

export interface Harness {
  engine: Engine;
  /** Chat ids of contacts that are on WhatsApp in this harness (at least two). */
  peers: readonly string[];
  /** A group the linked account is in. */
  group: string;
  /** Brings the engine from stopped to ready (start, then whatever stands for the phone linking). */
  link(): Promise<void>;
  /** A contact writes to the linked account. */
  inbound(from: string, body: string): Promise<void>;
  close(): Promise<void>;
}

export function engineContract(name: string, makeHarness: () => Promise<Harness>): void {
  describe(`${name} engine contract`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    const peer = (i: number): string => {
      const id = h.peers[i];
      if (!id) throw new Error(`harness needs at least ${i + 1} peers`);
      return id;
    };

    it('starts stopped, unlinked', () => {
      const s = h.engine.status();
      expect(s).toMatchObject({ state: 'stopped', ready: false, authenticated: false, account: null, has_qr: false });
    });

    it('refuses to send before it is ready, at once', async () => {
      await expect(h.engine.sendText(peer(0), 'hello')).rejects.toMatchObject({ code: 'not_ready', httpStatus: 503 });
    });

    it('is ready with an account after linking', async () => {
      await h.link();
      const s = h.engine.status();
      expect(s).toMatchObject({ state: 'ready', ready: true, authenticated: true, has_qr: false, pairing_code: null });
      expect(s.account?.wid).toMatch(/@/);
    });

    it('sends text: returns the ids and reports the message once, as from_me', async () => {
      await h.link();
      const seen: Message[] = [];
      h.engine.events.on('message', (m) => seen.push(m));
      const sent = await h.engine.sendText(peer(0), 'hello there');
      expect(sent.message_id).toBeTruthy();
      expect(sent.chat_id).toBe(peer(0));
      expect(sent.timestamp).toBeGreaterThan(1_600_000_000);
      await Promise.resolve();
      const mine = seen.filter((m) => m.id === sent.message_id);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ from_me: true, chat_id: peer(0), body: 'hello there' });
    });

    it('sends text to a group: the message is reported in that chat, as from_me', async () => {
      await h.link();
      const seen: Message[] = [];
      h.engine.events.on('message', (m) => seen.push(m));
      const sent = await h.engine.sendText(h.group, 'hello group');
      expect(sent.chat_id).toBe(h.group);
      await Promise.resolve();
      expect(seen.filter((m) => m.id === sent.message_id)).toMatchObject([{ from_me: true, chat_id: h.group, body: 'hello group' }]);
    });

    it('reports an inbound message as not from_me', async () => {
      await h.link();
      const seen: Message[] = [];
      h.engine.events.on('message', (m) => seen.push(m));
      await h.inbound(peer(1), 'ping');
      const inbound = seen.filter((m) => m.body === 'ping');
      expect(inbound).toHaveLength(1);
      expect(inbound[0]).toMatchObject({ from_me: false, chat_id: peer(1), from: peer(1) });
    });

    it('logs out: stopped, and no saved session remains', async () => {
      await h.link();
      expect(h.engine.hasSavedSession()).toBe(true);
      await h.engine.logout();
      expect(h.engine.status()).toMatchObject({ state: 'stopped', ready: false, account: null });
      expect(h.engine.hasSavedSession()).toBe(false);
      await expect(h.engine.sendText(peer(0), 'after logout')).rejects.toMatchObject({ code: 'not_ready' });
    });

    // The live chat list is a facet: an engine without it (Baileys) answers chat reads from the store, so these
    // cases are reported as skipped for it, never as passed.
    describe('chats (live chat list)', () => {
      const needsChats = (ctx: { skip: (condition: boolean, note?: string) => void }) =>
        ctx.skip(!h.engine.chats, `the ${h.engine.name} engine has no live chat list (reads come from the store)`);

      it('lists chats newest first and respects the limit', async (ctx) => {
        needsChats(ctx);
        await h.link();
        await h.engine.sendText(peer(0), 'first');
        await h.inbound(peer(1), 'second');
        const all = await h.engine.chats!.listChats(100);
        expect(all.map((c) => c.id)).toEqual(expect.arrayContaining([peer(0), peer(1)]));
        for (let i = 1; i < all.length; i++) expect(all[i - 1]!.timestamp).toBeGreaterThanOrEqual(all[i]!.timestamp);
        const one = await h.engine.chats!.listChats(1);
        expect(one).toHaveLength(1);
        expect(one[0]!.timestamp).toBe(all[0]!.timestamp);
      });

      it('fetches the last messages of a chat, oldest first, within the limit', async (ctx) => {
        needsChats(ctx);
        await h.link();
        const ids: string[] = [];
        for (const body of ['one', 'two', 'three']) ids.push((await h.engine.sendText(peer(0), body)).message_id);
        const got = await h.engine.chats!.fetchMessages(peer(0), 2);
        expect(got.map((m) => m.id)).toEqual(ids.slice(1));
        expect(got.map((m) => m.body)).toEqual(['two', 'three']);
        expect(got[0]!.timestamp).toBeLessThanOrEqual(got[1]!.timestamp);
      });

      it('fetches a message sent to a group from that chat', async (ctx) => {
        needsChats(ctx);
        await h.link();
        const sent = await h.engine.sendText(h.group, 'hello group');
        expect((await h.engine.chats!.fetchMessages(h.group, 5)).at(-1)).toMatchObject({ id: sent.message_id, body: 'hello group' });
      });
    });
  });
}
