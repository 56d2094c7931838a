// WHATSAPP_SEND_ALLOW end to end over HTTP on the sandbox: every send path (text, reply, media, location, poll,
// reactions and deletes, groups and who they add), the words contacts and known, a person under both ids, and a
// queued send whose recipient the list stopped allowing across a restart.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { b64, deliveries, formData, mediaFiles, png } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ALICE = '15550001001';
const BOB = '15550001002';
const DAN = '15550001004'; // a saved contact with no chat of their own (only in the Family group)
const STRANGER = '15550007777';
const FAMILY = '120363000000000001@g.us';
const LID = '99887766554433@lid';
const FAST = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(env: Record<string, string>, dir?: string): Promise<TestServer> {
  srv = await startTestServer({ ...FAST, ...env }, {}, dir);
  await srv.call('POST', '/api/sandbox/link', {});
  // The saved contacts reach the store with the sync that follows linking.
  await waitFor(() => srv.app.services.store.getContact(`${DAN}@c.us`)?.is_my_contact, 'contacts synced');
  return srv;
}

function expectRefused(r: { status: number; json: any }, recipient: string) {
  expect(r.status).toBe(403);
  expect(r.json.error.code).toBe('recipient_not_allowed');
  expect(r.json.error.message).toContain(recipient);
  expect(r.json.error.hint).toContain('WHATSAPP_SEND_ALLOW');
}

const lastOf = async (phone: string) => (await srv.call('GET', `/api/messages?phone_number=${phone}&limit=5`)).json.messages as Array<{ id: string; from_me: boolean }>;

describe('the allow-list on every send path', () => {
  it('text, queued or not: only the listed number gets it; nothing refused reaches the outbox or WhatsApp', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: `+1 555 000 1001` });
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'allowed' })).status).toBe(200);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, message: 'no' }), `+${BOB}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, message: 'no', queue: true }), `+${BOB}`);
    expectRefused(await srv.call('POST', `/api/chats/${BOB}@c.us/messages`, { message: 'no' }), `+${BOB}`);
    expectRefused(await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'no' }), FAMILY);
    expect(deliveries(srv).map((d) => d.chat_id)).toEqual([`${ALICE}@c.us`]);
    const failed = (await srv.call('GET', '/api/events?after=0&types=outbox.*')).json.events.filter((e: any) => e.chat_id !== `${ALICE}@c.us`);
    expect(failed).toEqual([]);
  });

  it('replies, locations, polls, media (JSON, multipart, a URL never fetched: no file kept), reactions and deletes for everyone', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: ALICE, WHATSAPP_MEDIA_URL_ALLOW_PRIVATE: 'true' });
    let fetched = 0;
    const files = http.createServer((_req, res) => {
      fetched += 1;
      res.writeHead(200, { 'content-type': 'image/png' }).end(png());
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    const fileUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/p.png`;
    const bobs = await lastOf(BOB);
    const theirs = bobs.find((m) => !m.from_me)!;
    const mine = bobs.find((m) => m.from_me)!;
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, message: 're', reply_to: theirs.id }), `+${BOB}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, location: { latitude: 1, longitude: 2 } }), `+${BOB}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, poll: { question: 'Q?', options: ['a', 'b'] } }), `+${BOB}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, media: { data: b64(png(1, 1, [9, 9, 9, 255])) } }), `+${BOB}`);
    const form = formData({ phone_number: BOB, message: 'caption' }, { data: png(1, 1, [8, 8, 8, 255]), filename: 'p.png', type: 'image/png' });
    const multipart = await fetch(`${srv.url}/api/send`, { method: 'POST', body: form });
    expectRefused({ status: multipart.status, json: await multipart.json() }, `+${BOB}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, media: { url: fileUrl } }), `+${BOB}`);
    expect(fetched).toBe(0);
    expect(mediaFiles(srv)).toEqual([]);
    expectRefused(await srv.call('POST', `/api/messages/${theirs.id}/reaction`, { emoji: '👍' }), `+${BOB}`);
    expectRefused(await srv.call('DELETE', `/api/messages/${mine.id}`, { for: 'everyone' }), `+${BOB}`);
    // Deleting for me reaches nobody: not a send to anyone.
    expect((await srv.call('DELETE', `/api/messages/${theirs.id}`, { for: 'me' })).status).toBe(200);
    // The allowed chat takes every kind.
    const alices = await lastOf(ALICE);
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 're', reply_to: alices[0]!.id })).status).toBe(200);
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, media: { url: fileUrl } })).status).toBe(200);
    expect(fetched).toBe(1);
    files.close();
    expect((await srv.call('POST', `/api/messages/${alices[0]!.id}/reaction`, { emoji: '👍' })).status).toBe(200);
    expect(deliveries(srv).every((d) => d.chat_id === `${ALICE}@c.us`)).toBe(true);
  });

  it('groups: a listed group can be sent to; creating a group or adding people needs each of them allowed', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: `${FAMILY},${ALICE}` });
    expect((await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'hi all' })).status).toBe(200);
    expectRefused(await srv.call('POST', '/api/chats/120363000000000002@g.us/messages', { message: 'no' }), '120363000000000002@g.us');
    const refused = await srv.call('POST', '/api/groups', { subject: 'New', participants: [ALICE, STRANGER] });
    expectRefused(refused, `+${STRANGER}`);
    expect(refused.json.error.details).toEqual({ recipients: [`+${STRANGER}`], participants: [`${STRANGER}@c.us`] });
    expect((await srv.call('GET', '/api/groups')).json.groups.map((g: { subject: string }) => g.subject)).not.toContain('New');
    const made = await srv.call('POST', '/api/groups', { subject: 'New', participants: [ALICE] });
    expect(made.status).toBe(201);
    expectRefused(await srv.call('POST', `/api/groups/${made.json.group.id}/participants`, { action: 'add', participants: [BOB] }), `+${BOB}`);
    // Removing someone contacts nobody.
    const removed = await srv.call('POST', `/api/groups/${made.json.group.id}/participants`, { action: 'remove', participants: [ALICE] });
    expect(removed.status).toBe(200);
  });

  it('contacts: people saved on the phone, even with no chat yet; not strangers, not groups', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: 'contacts' });
    expect((await srv.call('POST', '/api/send', { phone_number: DAN, message: 'hello Dan' })).status).toBe(200);
    expect((await srv.call('POST', '/api/send', { phone_number: BOB, message: 'hello Bob' })).status).toBe(200);
    await srv.call('POST', '/api/sandbox/inbound', { from: STRANGER, body: 'hi, who is this?' });
    expectRefused(await srv.call('POST', '/api/send', { phone_number: STRANGER, message: 'no' }), `+${STRANGER}`);
    expectRefused(await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'no' }), FAMILY);
  });

  it('known: chats with messages in the store, including one a stranger just opened', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: 'known' });
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'a' })).status).toBe(200);
    expect((await srv.call('POST', `/api/chats/${FAMILY}/messages`, { message: 'f' })).status).toBe(200);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: DAN, message: 'no' }), `+${DAN}`);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: STRANGER, message: 'no' }), `+${STRANGER}`);
    await srv.call('POST', '/api/sandbox/inbound', { from: STRANGER, body: 'hello' });
    expect((await srv.call('POST', '/api/send', { phone_number: STRANGER, message: 'hello back' })).status).toBe(200);
  });

  it('a number and its linked id are one person, whichever is listed', async () => {
    await linked({ WHATSAPP_SEND_ALLOW: ALICE });
    expectRefused(await srv.call('POST', `/api/chats/${LID}/messages`, { message: 'no' }), LID);
    // The phone learns the number behind the linked id (as from a contact sync).
    await srv.call('POST', '/api/sandbox/inbound', { from: LID, from_phone: ALICE, body: 'from my other id' });
    const r = await srv.call('POST', `/api/chats/${LID}/messages`, { message: 'to the linked id' });
    expect(r.status).toBe(200);
    await srv.close();

    await linked({ WHATSAPP_SEND_ALLOW: LID }, srv.dir);
    expect((await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'to the number' })).status).toBe(200);
    expectRefused(await srv.call('POST', '/api/send', { phone_number: BOB, message: 'no' }), `+${BOB}`);
  });
});

describe('checked again when a queued send goes out', () => {
  it('a recipient the list stopped allowing across a restart: failed recipient_not_allowed, in the outbox and the events, never sent', async () => {
    srv = await startTestServer({ ...FAST, WHATSAPP_SEND_ALLOW: `${ALICE},${BOB}` });
    const dropped = await srv.call('POST', '/api/send', { phone_number: BOB, message: 'queued for Bob', queue: true });
    const kept = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'queued for Alice', queue: true });
    expect([dropped.status, kept.status]).toEqual([202, 202]);
    const dir = srv.dir;
    await srv.close();

    srv = await startTestServer({ ...FAST, WHATSAPP_SEND_ALLOW: ALICE }, {}, dir);
    await srv.call('POST', '/api/sandbox/link', {});
    const failed = await waitFor(async () => {
      const s = (await srv.call('GET', `/api/outbox/${dropped.json.outbox_id}`)).json.send;
      return s.state === 'failed' ? s : null;
    }, 'the queued send failed');
    expect(failed.error.code).toBe('recipient_not_allowed');
    expect(failed.error.message).toContain(`+${BOB}`);
    await waitFor(async () => (await srv.call('GET', `/api/outbox/${kept.json.outbox_id}`)).json.send.state === 'sent', 'the allowed one sent');
    const events = (await srv.call('GET', '/api/events?after=0&types=outbox.failed')).json.events;
    expect(events).toEqual([
      expect.objectContaining({ chat_id: `${BOB}@c.us`, data: expect.objectContaining({ outbox_id: dropped.json.outbox_id, error: expect.objectContaining({ code: 'recipient_not_allowed' }) }) }),
    ]);
    expect(deliveries(srv).map((d) => d.body)).toEqual(['queued for Alice']);
  });
});
