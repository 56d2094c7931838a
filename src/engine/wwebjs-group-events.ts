// The library's group and contact events -> group_update, contact and lid_mapping. Client.js turns every gp2
// message into one of group_join (add, invite, linked_group_join), group_leave (remove, leave),
// group_admin_changed (promote, demote), group_membership_request, or group_update (everything else, creation
// included); contact_changed is a person's number change, as (message, oldId, newId, isContact).
import { isLid } from '../domain.js';
import type { Logger } from '../logger.js';
import type { EngineEvents, GroupUpdate, TypedEmitter } from './engine.js';
import type { WwebjsContacts } from './wwebjs-contacts.js';
import { describeError } from './wwebjs-events.js';
import type { WwebjsGroups } from './wwebjs-groups.js';
import type { LidBook } from './wwebjs-lids.js';
import { type GroupNotice, toGroupNotice } from './wwebjs-map-groups.js';

export interface PeopleEventsCore {
  readonly events: TypedEmitter<EngineEvents>;
  readonly log: Logger;
  readonly lids: LidBook;
  readonly groups: WwebjsGroups;
  readonly contacts: WwebjsContacts;
}

export type OnClientEvent = (event: string, handler: (...args: unknown[]) => void | Promise<void>) => void;

type Changes = Extract<GroupUpdate, { type: 'updated' }>['changes'];

export function listenToPeople(core: PeopleEventsCore, on: OnClientEvent): void {
  // One at a time, in arrival order: an update reads the group back, and must not overtake the next notification.
  let queue: Promise<void> = Promise.resolve();
  const onNotice = (raw: unknown) => {
    const notice = toGroupNotice(raw);
    if (!notice) return core.log.debug('ignored a group notification we do not report');
    queue = queue.then(() => report(core, notice)).catch((err: unknown) => core.log.warn({ err: describeError(err) }, 'group notification failed'));
  };
  for (const event of ['group_join', 'group_leave', 'group_admin_changed', 'group_update']) on(event, onNotice);

  on('contact_changed', async (_message, _oldId, newId) => {
    // A new number is a new id, not a linked id's number: nothing here is a lid mapping.
    if (typeof newId !== 'string') return;
    const contact = await core.contacts.getContact(newId).catch((err: unknown) => core.log.debug({ err: describeError(err) }, 'could not read a changed contact'));
    if (contact) core.events.emit('contact', contact);
  });
}

async function report(core: PeopleEventsCore, n: GroupNotice): Promise<void> {
  // In groups that address people by linked id, notifications carry @lid ids: learn their numbers on the side.
  const lids = [n.by ?? '', ...n.participants].filter(isLid);
  if (lids.length > 0) void core.lids.ask(lids);
  const m = n.meaning;
  if (m.kind === 'created') return core.groups.reportCreated(n.group_id, n.by);
  if (m.kind === 'participants') {
    if (n.participants.length === 0) return;
    core.events.emit('group_update', { group_id: n.group_id, type: 'participants', by: n.by, action: m.action, participants: n.participants });
    return;
  }
  // The notification's body is not documented for every kind (settings have none): read the group back instead.
  const changes: Changes = {};
  const group = await core.groups.current(n.group_id).catch(() => null);
  if (group) {
    if (m.field === 'subject') changes.subject = group.subject;
    else if (m.field === 'description') changes.description = group.description;
    else if (m.field === 'announce') changes.announce = group.announce;
    else changes.restrict = group.restrict;
  }
  core.events.emit('group_update', { group_id: n.group_id, type: 'updated', by: n.by, changes });
}
