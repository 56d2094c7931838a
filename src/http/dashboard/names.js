// Names for ids: a chat's name, else the contact's (saved name, then their own), else the number, never a bare
// "…@c.us". Contacts come from /api/contacts (the first 100) and from each opened group's participants.
import { api } from './api.js';

export function createNames() {
  const people = new Map(); // "<digits>@c.us" or "<lid>@lid" → name
  let chatName = () => null;

  function remember(id, name) {
    if (id && name) people.set(id, name);
  }

  return {
    /** Where chat names come from (the chat list). */
    useChats(fn) {
      chatName = fn;
    },
    async load() {
      try {
        const r = await api('GET', '/api/contacts?limit=100');
        for (const c of r.contacts) {
          const name = c.name ?? c.push_name ?? c.business_name;
          remember(c.id, name);
          remember(c.lid, name);
        }
      } catch {
        // Names are a nicety: without them the numbers show.
      }
    },
    /** A group's participants (GET /api/groups/{id}), for the authors of its messages. */
    async loadGroup(groupId) {
      try {
        const r = await api('GET', `/api/groups/${encodeURIComponent(groupId)}`);
        for (const p of r.group.participants) {
          remember(p.id, p.name);
          remember(p.lid, p.name);
        }
      } catch {}
    },
    /** The best name for an id; `phone` is the number behind a linked id when the message says it. */
    of(id, phone = null) {
      if (!id) return '';
      const viaPhone = phone ? `${phone}@c.us` : null;
      const name = chatName(id) ?? people.get(id) ?? (viaPhone ? (chatName(viaPhone) ?? people.get(viaPhone)) : null);
      if (name) return name;
      const digits = phone ?? /^(\d+)@(c\.us|s\.whatsapp\.net)$/.exec(id)?.[1];
      return digits ? `+${digits}` : id;
    },
  };
}
