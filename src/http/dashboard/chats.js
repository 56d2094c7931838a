// The chat list (newest activity first, unread counts, groups marked) and the search box: chat names here,
// people from /api/contacts and message text from /api/search.
import { api } from './api.js';
import { $, debounce, h, showError, when } from './dom.js';

export function createChats({ onOpen }) {
  let chats = [];
  let current = null;

  const list = $('chat-list');

  function chatButton(c) {
    // The name alone is the button's accessible name (what a screen reader user types to find it); the rest is said after.
    const about = [c.is_group ? 'group' : null, c.unread_count ? `${c.unread_count} unread` : null].filter(Boolean).join(', ');
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', 'aria-label': c.name, 'aria-description': about || null, 'aria-current': c.id === current ? 'true' : 'false', 'data-chat': c.id, onclick: () => onOpen(c) },
        h('span', { class: 'chat-name' }, c.name, c.is_group ? h('span', { class: 'tag' }, 'group') : null),
        c.unread_count ? h('span', { class: 'unread', 'aria-hidden': 'true' }, c.unread_count) : null,
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
          ? found.results.map((r) => h('li', {}, h('button', { type: 'button', onclick: () => onOpen(chats.find((c) => c.id === r.message.chat_id) ?? { id: r.message.chat_id, name: r.message.chat_id, is_group: r.message.chat_id.endsWith('@g.us') }) }, h('span', { class: 'sub' }, `${nameOf(r.message.chat_id)} · ${when(r.message.timestamp)}`), h('div', {}, r.snippet))))
          : [h('li', { class: 'empty' }, 'No message matches')]),
      );
      showError($('chats-error'), null);
    } catch (err) {
      showError($('chats-error'), err);
    }
  }, 250);

  function nameOf(chatId) {
    return chats.find((c) => c.id === chatId)?.name ?? chatId;
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
  };
}
