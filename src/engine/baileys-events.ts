// Baileys socket events -> engine events. Event names and payloads are Baileys' own (src/Types/Events.ts); every
// handler is bound to the socket's generation, so a retired socket's late events change nothing.
import type { BaileysEventMap } from 'baileys';
import type { GroupUpdate } from './engine.js';
import { ingestHistory } from './baileys-history.js';
import { type BaileysHooks, reportMessage } from './baileys-hooks.js';
import { type GroupMember, identify, personId, toMember } from './baileys-map-people.js';
import { messageKey, toMessageUpdate, toOurId, toReaction, toReceipt } from './baileys-map.js';
import { describeError } from './baileys-send.js';
import type { BaileysSocketLike } from './baileys-socket.js';

export type { BaileysHooks } from './baileys-hooks.js';

type On = <T extends keyof BaileysEventMap>(event: T, handler: (arg: BaileysEventMap[T]) => void | Promise<void>) => void;

export function listenToSocket(engine: BaileysHooks, sock: BaileysSocketLike, gen: number): void {
  const on: On = (event, handler) => {
    sock.ev.on(event, (arg) => {
      if (gen !== engine.generation) return;
      try {
        void Promise.resolve(handler(arg)).catch((err: unknown) => engine.log.error({ event, err: describeError(err) }, 'event handler failed'));
      } catch (err) {
        engine.log.error({ event, err: describeError(err) }, 'event handler failed');
      }
    });
  };
  const nowSeconds = () => Math.floor(engine.nowMs() / 1000);

  on('connection.update', (update) => engine.onConnection(update, gen));
  on('creds.update', () => engine.onCreds(gen));

  // "notify": arrived now; "append": history-like additions, our own sends included (emitOwnEvents). One event per
  // message id either way (emitMessageOnce); reactions, edits, revokes and poll votes come as their own events.
  on('messages.upsert', ({ messages, type }) => {
    for (const raw of messages) {
      const msg = reportMessage(engine, raw);
      const key = messageKey.safeParse(raw.key);
      if (msg && key.success && type === 'notify' && !msg.from_me) engine.recent.noteUnread(msg.chat_id, raw.key);
    }
  });

  on('messages.update', (updates) => {
    for (const raw of updates) {
      const u = toMessageUpdate(raw);
      if (!u) continue;
      if (u.ack) engine.events.emit('message_ack', { id: u.id, chat_id: u.chat_id, ack: u.ack });
      if (u.edit !== null && !engine.echoes.consume('edit', u.id, u.edit)) engine.events.emit('message_edit', { id: u.id, chat_id: u.chat_id, body: u.edit });
      if (u.revoked && !engine.echoes.consume('revoke', u.id)) engine.events.emit('message_revoke', { id: u.id, chat_id: u.chat_id });
    }
  });

  // Receipts of our messages, one per person (groups) or device: delivered, read, played.
  on('message-receipt.update', (receipts) => {
    for (const raw of receipts) {
      const r = toReceipt(raw);
      if (r) engine.events.emit('message_ack', r);
    }
  });

  on('messages.reaction', (reactions) => {
    for (const raw of reactions) {
      const r = toReaction(raw, engine.self(), nowSeconds());
      if (!r) continue;
      if (r.from === engine.self() && engine.echoes.consume('reaction', r.id, r.emoji)) continue;
      engine.events.emit('message_reaction', r);
    }
  });

  // Deleted for me on another of our devices (or echoed from our own chatModify).
  on('messages.delete', (deleted) => {
    if (!('keys' in deleted)) return;
    for (const raw of deleted.keys) {
      const key = messageKey.safeParse(raw);
      const chatId = key.success ? toOurId(key.data.remoteJid) : null;
      if (!key.success || !chatId || engine.echoes.consume('revoke', key.data.id)) continue;
      engine.events.emit('message_revoke', { id: key.data.id, chat_id: chatId });
    }
  });

  on('groups.upsert', (groups) => {
    for (const meta of groups) {
      engine.groups.remember(meta);
      const id = toOurId(meta.id);
      if (id) engine.groups.reportCreated(id, personId(identify(meta.author, { phoneNumber: meta.authorPn })));
    }
  });

  on('groups.update', (updates) => {
    for (const u of updates) {
      const id = toOurId(u.id);
      if (!id || !u.id) continue;
      engine.groups.forget(u.id);
      const changes: Extract<GroupUpdate, { type: 'updated' }>['changes'] = {};
      if (typeof u.subject === 'string') changes.subject = u.subject;
      if ('desc' in u) changes.description = u.desc || null;
      if (typeof u.announce === 'boolean') changes.announce = u.announce;
      if (typeof u.restrict === 'boolean') changes.restrict = u.restrict;
      if (Object.keys(changes).length === 0) continue; // an invite link or add-mode change: nothing we report
      engine.events.emit('group_update', { group_id: id, type: 'updated', by: personId(identify(u.author, { phoneNumber: u.authorPn })), changes });
    }
  });

  on('group-participants.update', (u) => {
    const groupId = toOurId(u.id);
    if (!groupId) return;
    engine.groups.forget(u.id);
    const members = u.participants.map(toMember).filter((m): m is GroupMember => m !== null);
    for (const m of members) if (m.lid && m.phone) engine.contacts.learn(m.lid, m.phone);
    const by = personId(identify(u.author, { phoneNumber: u.authorPn }));
    if (u.action === 'modify' || members.length === 0) return; // a number change: no member came or went
    const byThemselves = members.length === 1 && by !== null && members[0]!.id === by;
    const action = u.action === 'add' && byThemselves ? 'join' : u.action === 'remove' && byThemselves ? 'leave' : u.action;
    engine.events.emit('group_update', { group_id: groupId, type: 'participants', by, action, participants: members.map((m) => m.id) });
  });

  on('contacts.upsert', (contacts) => contacts.forEach((c) => engine.contacts.note(c)));
  on('contacts.update', (contacts) => contacts.forEach((c) => engine.contacts.note(c)));
  on('lid-mapping.update', ({ lid, pn }) => engine.contacts.learn(lid, pn));

  // One batch at a time, in the order Baileys gave them: each is spread over turns, and two running side by side would
  // report their summaries (and an on-demand answer's arrival) out of order.
  // An idle engine starts a batch at once (synchronously, like every other event); a busy one queues it.
  let history: Promise<void> | null = null;
  on('messaging-history.set', (set) => {
    const run = history ? history.then(() => ingestHistory(engine, set, gen, engine.historyBudget)) : ingestHistory(engine, set, gen, engine.historyBudget);
    const settled = run.catch(() => undefined);
    history = settled;
    void settled.then(() => {
      if (history === settled) history = null;
    });
    return run;
  });
}
