// The wwebjs engine's contacts facet, contact events and linked-id resolution over the fake Client: the calls
// made, Contacts mapped, numbers checked, and lid_mapping emitted only for what WhatsApp revealed, without ever
// holding back a message.
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeWhatsApp } from './fakes/fake-wwebjs-client.js';
import { linkedEngine, record, settle } from './fakes/fake-wwebjs-engine.js';

const SELF = '15550109999@c.us';
const ALICE = '15550100001@c.us';
const BOB = '15550100002@c.us';
const SHOP = '15550100008@c.us';
const NOBODY = '15550100999@c.us';
const LID_ALICE = '201234567890121@lid';
const LID_NEW = '201234567890124@lid'; // the page does not know the number yet; the server does
const LID_HIDDEN = '201234567890125@lid';
const LID_UNKNOWN = '201234567890129@lid';
const GROUP = '120363000000000102@g.us';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function seed(world: FakeWhatsApp): void {
  world.registered.add(SHOP.slice(0, 11));
  world.people.addLid(LID_ALICE, ALICE.slice(0, 11));
  world.people.addLid(LID_NEW, '15550100007');
  world.people.unsynced.add(LID_NEW);
  world.people.addLid(LID_HIDDEN, null);
  world.people.people.set(ALICE, { name: 'Alice Liddell', pushname: 'Alice', isMyContact: true });
  world.people.people.set(BOB, { pushname: 'Bobby' });
  world.people.people.set(SHOP, { pushname: 'Shop', isBusiness: true, verifiedName: 'Corner Shop Ltd' });
  world.people.people.set(LID_HIDDEN, { pushname: 'Mystery' });
}

async function linked() {
  const ctx = await linkedEngine(seed);
  closers.push(ctx.close);
  return ctx;
}

describe('wwebjs contacts facet', () => {
  it('looks a person up by number: names from the Contact, the linked id from getContactLidAndPhone', async () => {
    const { engine, world, contacts } = await linked();
    const mappings = record(engine, 'lid_mapping');
    expect(await contacts.getContact(ALICE)).toEqual({
      id: ALICE,
      phone: '15550100001',
      lid: LID_ALICE,
      name: 'Alice Liddell',
      push_name: 'Alice',
      business_name: null,
      is_my_contact: true,
      is_business: false,
    });
    expect(world.last.callsTo('getContactLidAndPhone')).toEqual([[[ALICE]]]);
    expect(world.last.callsTo('getContactById')).toEqual([[ALICE]]);
    expect(mappings).toEqual([{ lid: LID_ALICE, phone: '15550100001' }]);
    expect(await contacts.getContact(SHOP)).toMatchObject({ push_name: 'Shop', business_name: 'Corner Shop Ltd', is_business: true, is_my_contact: false, lid: null });
    expect(await contacts.getContact(BOB)).toMatchObject({ id: BOB, name: null, push_name: 'Bobby' });
  });

  it('looks a person up by linked id: under their number when WhatsApp reveals it, else under the linked id', async () => {
    const { engine, contacts } = await linked();
    const mappings = record(engine, 'lid_mapping');
    expect(await contacts.getContact(LID_NEW)).toMatchObject({ id: '15550100007@c.us', phone: '15550100007', lid: LID_NEW });
    expect(await contacts.getContact(LID_HIDDEN)).toMatchObject({ id: LID_HIDDEN, phone: null, lid: LID_HIDDEN, push_name: 'Mystery' });
    expect(mappings).toEqual([{ lid: LID_NEW, phone: '15550100007' }]);
  });

  it('answers null for someone WhatsApp knows nothing of, or an id that names no person', async () => {
    const { world, contacts } = await linked();
    expect(await contacts.getContact(NOBODY)).toBeNull();
    expect(await contacts.getContact(LID_UNKNOWN)).toBeNull();
    expect(await contacts.getContact(GROUP)).toBeNull();
    expect(await contacts.getContact('status@broadcast')).toBeNull();
    // The library would have made up an empty Contact for each: it is not asked.
    expect(world.last.callsTo('getContactById')).toEqual([]);
  });

  it('falls back on getNumberId when the linked-id lookup fails', async () => {
    const { world, contacts } = await linked();
    world.last.getContactLidAndPhone = async () => {
      throw new Error('Evaluation failed: TypeError: window.WWebJS.enforceLidAndPnRetrieval is not a function');
    };
    expect(await contacts.getContact(BOB)).toMatchObject({ id: BOB, push_name: 'Bobby', lid: null });
    expect(await contacts.getContact(NOBODY)).toBeNull();
    expect(world.last.callsTo('getNumberId')).toEqual([['15550100002'], ['15550100999']]);
  });

  it('checks numbers one getNumberId at a time, with WhatsApp\'s own chat id', async () => {
    const { world, contacts } = await linked();
    expect(await contacts.checkNumbers(['15550100001', '15550100999', '15550100002'])).toEqual([
      { phone_number: '15550100001', on_whatsapp: true, chat_id: ALICE },
      { phone_number: '15550100999', on_whatsapp: false, chat_id: null },
      { phone_number: '15550100002', on_whatsapp: true, chat_id: BOB },
    ]);
    expect(world.last.callsTo('getNumberId')).toEqual([['15550100001'], ['15550100999'], ['15550100002']]);
    await expect(contacts.checkNumbers(['+1 555'])).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('lists everyone the account knows, without itself, one entry per person', async () => {
    const { world, contacts } = await linked();
    // WhatsApp Web can list a person twice: under the linked id and (swapped) under the number.
    world.people.people.set(LID_ALICE, { pushname: 'Alice (lid)' });
    const list = await contacts.listContacts();
    expect(world.last.callsTo('getContacts')).toHaveLength(1);
    expect(list.map((c) => c.id)).toEqual([ALICE, BOB, SHOP, LID_HIDDEN]);
    expect(list[0]).toMatchObject({ name: 'Alice Liddell', push_name: 'Alice', is_my_contact: true });
    expect(list.find((c) => c.id === LID_HIDDEN)).toMatchObject({ phone: null, lid: LID_HIDDEN });
    expect(list.map((c) => c.id)).not.toContain(SELF);
  });

  it('reports a number change (contact_changed) as the person under their new number', async () => {
    const { engine, world } = await linked();
    const seen = record(engine, 'contact');
    const mappings = record(engine, 'lid_mapping');
    world.people.people.set(SHOP, { pushname: 'Bob, new number' });
    world.last.numberChanged(BOB, SHOP);
    await settle();
    expect(seen).toEqual([expect.objectContaining({ id: SHOP, push_name: 'Bob, new number' })]);
    expect(mappings).toEqual([]);
  });

  it('answers not_ready at once when not ready', async () => {
    const { world, contacts } = await linked();
    world.last.emit('disconnected', 'NAVIGATION');
    await settle();
    const before = world.clients[0]!.calls.length;
    await expect(contacts.getContact(ALICE)).rejects.toMatchObject({ code: 'not_ready' });
    await expect(contacts.checkNumbers(['15550100001'])).rejects.toMatchObject({ code: 'not_ready' });
    await expect(contacts.listContacts()).rejects.toMatchObject({ code: 'not_ready' });
    expect(world.clients[0]!.calls.slice(before)).toEqual([]);
  });
});

describe('wwebjs linked-id resolution of message senders', () => {
  it('reports the message at once, then lid_mapping when WhatsApp answers; the next message carries the number', async () => {
    const { engine, world, client } = await linked();
    const order: string[] = [];
    const messages = record(engine, 'message');
    engine.events.on('message', (m) => order.push(`message ${m.body}`));
    engine.events.on('lid_mapping', (m) => order.push(`lid_mapping ${m.lid} ${m.phone}`));
    const release = world.people.holdLookups();
    client.inbound(LID_NEW, 'hello from a linked id');
    // The lookup is still held: the message is out already, without a number.
    await settle();
    expect(order).toEqual(['message hello from a linked id']);
    expect(messages[0]).toMatchObject({ from: LID_NEW, from_phone: null });
    release();
    await settle();
    expect(order).toEqual(['message hello from a linked id', `lid_mapping ${LID_NEW} 15550100007`]);
    client.inbound(LID_NEW, 'again');
    await settle();
    expect(messages[1]).toMatchObject({ from: LID_NEW, from_phone: '15550100007', author_phone: null });
    expect(world.last.callsTo('getContactLidAndPhone')).toEqual([[[LID_NEW]]]);
  });

  it('resolves a group message\'s author, and asks about a linked id once even when WhatsApp does not say', async () => {
    const { engine, world, client } = await linked();
    const messages = record(engine, 'message');
    const mappings = record(engine, 'lid_mapping');
    client.deliver(world.message(GROUP, 'from the group', false, { author: LID_NEW }));
    client.inbound(LID_HIDDEN, 'number hidden');
    await settle();
    client.deliver(world.message(GROUP, 'second', false, { author: LID_NEW }));
    client.inbound(LID_HIDDEN, 'still hidden');
    await settle();
    expect(messages.map((m) => [m.body, m.author_phone, m.from_phone])).toEqual([
      ['from the group', null, null],
      ['number hidden', null, null],
      ['second', '15550100007', null],
      ['still hidden', null, null],
    ]);
    expect(mappings).toEqual([{ lid: LID_NEW, phone: '15550100007' }]);
    expect(world.last.callsTo('getContactLidAndPhone')).toEqual([[[LID_NEW]], [[LID_HIDDEN]]]);
  });

  it('never blocks or fails a message when the lookup throws', async () => {
    const { engine, world, client } = await linked();
    const messages = record(engine, 'message');
    const mappings = record(engine, 'lid_mapping');
    world.last.getContactLidAndPhone = async () => {
      throw new Error('Execution context was destroyed');
    };
    client.inbound(LID_NEW, 'x');
    await settle();
    expect(messages).toHaveLength(1);
    expect(mappings).toEqual([]);
    expect(engine.status().state).toBe('ready');
  });

  it('forgets what it learnt on logout: another account may be linked next', async () => {
    const { engine, world, client } = await linked();
    const messages = record(engine, 'message');
    client.inbound(LID_ALICE, 'one');
    await settle();
    client.inbound(LID_ALICE, 'two');
    await engine.logout();
    await engine.start();
    world.last.link();
    world.last.inbound(LID_ALICE, 'three');
    expect(messages.map((m) => m.from_phone)).toEqual([null, '15550100001', null]);
  });
});
