// The chat list (newest activity first, unread counts, groups marked) and the search box: chat names here,
// people from /api/contacts and message text from /api/search.
import { api } from './api.js';
import { $, debounce, h, highlighted, showError, when } from './dom.js';

export function createChats({ onOpen, names }) {
  let chats = [];
  let current = null;
  // Chats opened here, with the time of their last message then: their unread badge stays off until a newer one
  // arrives (a key without the send scope cannot mark them read on the server, so the list would bring it back).
  const seen = new Map();

  const list = $('chat-list');

  function unread(c) {
    const at = seen.get(c.id);
    return at !== undefined && (c.last_message?.timestamp ?? 0) <= at ? 0 : c.unread_count;
  }

  function chatButton(c) {
    const n = unread(c);
    // The name alone is the button's accessible name (what a screen reader user types to find it); the rest is said after.
    const about = [c.is_group ? 'group' : null, n ? `${n} unread` : null].filter(Boolean).join(', ');
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', 'aria-label': c.name, 'aria-description': about || null, 'aria-current': c.id === current ? 'true' : 'false', 'data-chat': c.id, onclick: () => onOpen(c) },
        h('span', { class: 'chat-name' }, c.name, c.is_group ? h('span', { class: 'tag' }, 'group') : null),
        n ? h('span', { class: 'unread', 'aria-hidden': 'true' }, n) : null,
        h('span', { class: 'chat-last' }, c.last_message ? `${c.last_message.from_me ? 'You: ' : ''}${c.last_message.body || '(media)'} · ${when(c.last_message.timestamp)}` : ''),
      ),
    );
  }

  function render() {
    const q = $('search').value.trim().toLowerCase();
    const shown = q ? chats.filter((c) => c.name.toLowerCase().includes(q) || c.id.includes(q)) : chats;
    list.replaceChildren(...(shown.length ? shown.map(chatButton) : [h('li', { class: 'empty' }, q ? 'No chat by that name' : 'No chats yet')]));
  }

  async function load() {
    try {
      const r = await api('GET', '/api/chats?limit=100');
      chats = r.chats;
      showError($('chats-error'), null);
      render();
    } catch (err) {
      if (err.status !== 401) showError($('chats-error'), err);
    }
  }

  const search = debounce(async () => {
    const q = $('search').value.trim();
    render();
    $('search-results').hidden = q === '';
    if (!q) return;
    try {
      const [people, found] = await Promise.all([api('GET', `/api/contacts?q=${encodeURIComponent(q)}&limit=10`), api('GET', `/api/search?q=${encodeURIComponent(q)}&limit=20`)]);
      $('contact-results').replaceChildren(
        ...(people.contacts.length
          ? people.contacts.map((p) => h('li', {}, h('button', { type: 'button', onclick: () => onOpen({ id: p.id, name: p.name ?? p.push_name ?? p.phone ?? p.id, is_group: false }) }, h('span', { class: 'chat-name' }, p.name ?? p.push_name ?? p.id), h('span', { class: 'chat-last' }, p.phone ? `+${p.phone}` : p.id))))
          : [h('li', { class: 'empty' }, 'Nobody')]),
      );
      $('message-results').replaceChildren(
        ...(found.results.length
          ? found.results.map((r) => h('li', {}, h('button', { type: 'button', onclick: () => onOpen(chats.find((c) => c.id === r.message.chat_id) ?? { id: r.message.chat_id, name: nameOf(r.message.chat_id), is_group: r.message.chat_id.endsWith('@g.us') }) }, h('span', { class: 'sub' }, `${nameOf(r.message.chat_id)} · ${when(r.message.timestamp)}`), h('div', {}, highlighted(r.snippet, q)))))
          : [h('li', { class: 'empty' }, 'No message matches')]),
      );
      showError($('chats-error'), null);
    } catch (err) {
      showError($('chats-error'), err);
    }
  }, 250);

  function nameOf(chatId) {
    return names.of(chatId);
  }

  $('search').addEventListener('input', search);
  // The clear button of a search field fires 'search', not always 'input'.
  $('search').addEventListener('search', search);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });

  return {
    load,
    reload: debounce(load, 300),
    nameOf,
    select(id) {
      current = id;
      render();
    },
    /** The chat was opened: its badge goes now, whatever the server is told. */
    markSeen(id, at) {
      const c = chats.find((x) => x.id === id);
      seen.set(id, Math.max(at ?? 0, c?.last_message?.timestamp ?? Math.floor(Date.now() / 1000)));
      render();
      return c?.unread_count ?? 0;
    },
    /** The name of a chat this list has, or null. */
    chatName(id) {
      return chats.find((c) => c.id === id)?.name ?? null;
    },
  };
}
