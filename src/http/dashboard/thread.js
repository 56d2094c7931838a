// One chat's history (oldest first, older pages on demand), with media previews, quotes and reactions; the send box.
import { can } from './access.js';
import { api, blobUrl } from './api.js';
import { $, debounce, h, showError, when } from './dom.js';

const REACTIONS = ['👍', '❤️', '😂', '😮', '🙏'];
// Images up to this size are fetched for a preview at once; other files wait for a click.
const AUTO_PREVIEW_BYTES = 5 * 1024 * 1024;

export function createThread({ names, myId, onSent, onOpened }) {
  const nameOf = (id) => names.of(id);
  let chat = null;
  let olderCursor = null;
  let replyTo = null;
  let blobs = [];
  const shown = new Map();
  // Our own ids as messages show them (the account's wid, and the "from" of our messages: a linked id may differ).
  const mine = new Set();
  const byId = new Map();
  const list = $('messages');

  function quotedIsMine(q) {
    return byId.get(q.id)?.from_me === true || mine.has(q.from) || q.from === myId();
  }

  function mediaBlock(m) {
    const box = h('div', { class: 'media' });
    const { kind, mimetype, filename, size } = m.media;
    const show = async (button) => {
      if (button) button.disabled = true;
      try {
        const url = await blobUrl(m.media.url);
        blobs.push(url);
        const label = filename ?? `${kind} from ${when(m.timestamp)}`;
        const el =
          kind === 'image' || kind === 'sticker' ? h('img', { src: url, alt: m.body || label }) :
          kind === 'video' ? h('video', { src: url, controls: true, 'aria-label': label }) :
          kind === 'audio' || kind === 'voice' ? h('audio', { src: url, controls: true, 'aria-label': label }) :
          h('a', { href: url, download: filename ?? 'file' }, `Save ${filename ?? 'file'}`);
        // A picture that loads after the thread was scrolled down must not leave the newest messages out of view.
        const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        if (atBottom) el.addEventListener(el.tagName === 'IMG' ? 'load' : 'loadedmetadata', () => (list.scrollTop = list.scrollHeight), { once: true });
        box.replaceChildren(el);
      } catch (err) {
        box.replaceChildren(h('span', { class: 'error' }, `${kind}: ${err.message}`));
      }
    };
    const sizeText = size ? ` · ${Math.ceil(size / 1024)} KB` : '';
    if ((kind === 'image' || kind === 'sticker') && (size ?? 0) <= AUTO_PREVIEW_BYTES) {
      box.append(h('span', { class: 'sub' }, `Loading ${kind}…`));
      show(null);
    } else {
      const b = h('button', { type: 'button', class: 'small', onclick: () => show(b) }, `Show ${kind}${filename ? ` ${filename}` : ''}`);
      box.append(b, h('span', { class: 'sub' }, ` ${mimetype}${sizeText}`));
    }
    return box;
  }

  function reactions(m) {
    if (!m.reactions.length) return null;
    const counts = new Map();
    for (const r of m.reactions) counts.set(r.emoji, (counts.get(r.emoji) ?? 0) + 1);
    return h('div', { class: 'reactions', 'aria-label': 'Reactions' }, [...counts].map(([e, n]) => h('span', {}, n > 1 ? `${e} ${n}` : e)));
  }

  function reactRow(m, holder) {
    const row = h(
      'div',
      { class: 'emoji-row' },
      REACTIONS.map((e) =>
        h('button', {
          type: 'button',
          'aria-label': `React with ${e}`,
          onclick: async () => {
            try {
              await api('POST', `/api/messages/${encodeURIComponent(m.id)}/reaction`, { emoji: e });
              row.remove();
            } catch (err) {
              showError($('send-error'), err);
            }
          },
        }, e),
      ),
    );
    holder.append(row);
  }

  function item(m) {
    const author = chat?.is_group && !m.from_me ? h('div', { class: 'who' }, names.of(m.author ?? m.from, m.author_phone)) : null;
    const quote = m.quoted ? h('div', { class: 'quote' }, h('span', { class: 'sub' }, m.quoted.from ? `${quotedIsMine(m.quoted) ? 'You' : nameOf(m.quoted.from)}: ` : ''), m.quoted.body || '(media)') : null;
    const body = m.revoked ? h('div', { class: 'revoked' }, 'This message was deleted') : m.body ? h('div', { class: 'body' }, m.body) : null;
    const extra = m.location ? h('div', { class: 'body' }, `📍 ${m.location.name ?? ''} ${m.location.latitude}, ${m.location.longitude}`) : m.poll ? h('div', { class: 'body' }, `📊 ${m.poll.question}: ${m.poll.options.map((o) => o.name).join(' / ')}`) : null;
    const li = h('li', { class: `msg${m.from_me ? ' mine' : ''}`, 'data-id': m.id });
    const meta = h(
      'div',
      { class: 'meta' },
      h('span', {}, `${when(m.timestamp)}${m.edited ? ' · edited' : ''}${m.from_me && m.ack ? ` · ${m.ack}` : ''}`),
      can('send') ? h('button', { type: 'button', class: 'quiet small', 'aria-label': 'Reply', onclick: () => setReply(m) }, 'Reply') : null,
      can('send') ? h('button', { type: 'button', class: 'quiet small', 'aria-label': 'React', onclick: () => reactRow(m, li) }, 'React') : null,
    );
    li.append(...[author, quote, m.has_media && m.media ? mediaBlock(m) : null, body, extra, reactions(m), meta].filter(Boolean));
    return li;
  }

  function put(m, where = 'end') {
    if (m.from_me) mine.add(m.from);
    byId.set(m.id, m);
    const old = shown.get(m.id);
    const li = item(m);
    shown.set(m.id, li);
    if (old) old.replaceWith(li);
    else if (where === 'start') list.prepend(li);
    else list.append(li);
  }

  function setReply(m) {
    replyTo = m;
    $('reply-to').hidden = false;
    $('reply-to-text').textContent = `Replying to: ${m.body.slice(0, 80) || '(media)'}`;
    $('send-text').focus();
  }
  function clearReply() {
    replyTo = null;
    $('reply-to').hidden = true;
  }
  $('reply-cancel').addEventListener('click', clearReply);

  async function open(c) {
    chat = c;
    clearReply();
    for (const u of blobs) URL.revokeObjectURL(u);
    blobs = [];
    shown.clear();
    byId.clear();
    list.replaceChildren();
    $('thread-title').textContent = c.name;
    $('thread-sub').textContent = `${c.is_group ? 'Group · ' : ''}${c.id}`;
    $('send-to').value = c.id;
    // A group's members name the authors; asked first so the first page already shows names.
    if (c.is_group) await names.loadGroup(c.id);
    await loadNewest();
    onOpened?.(c);
  }

  async function loadNewest() {
    if (!chat) return;
    try {
      const page = await api('GET', `/api/chats/${encodeURIComponent(chat.id)}/messages?limit=50`);
      for (const m of page.messages) put(m);
      olderCursor = page.next_before;
      $('older').hidden = !page.has_older;
      if (!page.messages.length && !shown.size) list.append(h('li', { class: 'empty' }, 'No messages stored for this chat yet'));
      list.scrollTop = list.scrollHeight;
      showError($('send-error'), null);
    } catch (err) {
      // A chat the store has not seen yet (a new number): nothing to show until the first message.
      if (err.code === 'not_found') list.replaceChildren(h('li', { class: 'empty' }, 'No messages yet'));
      else showError($('send-error'), err);
    }
  }

  $('older').addEventListener('click', async () => {
    if (!chat || !olderCursor) return;
    try {
      const page = await api('GET', `/api/chats/${encodeURIComponent(chat.id)}/messages?limit=50&before=${encodeURIComponent(olderCursor)}`);
      for (const m of [...page.messages].reverse()) if (!shown.has(m.id)) put(m, 'start');
      olderCursor = page.next_before;
      $('older').hidden = !page.has_older;
    } catch (err) {
      showError($('send-error'), err);
    }
  });

  $('send-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = e.submitter;
    const to = $('send-to').value.trim();
    const text = $('send-text').value;
    const file = $('send-file').files[0];
    const path = to.includes('@') ? `/api/chats/${encodeURIComponent(to)}/messages` : '/api/send';
    const fields = { ...(to.includes('@') ? {} : { phone_number: to }), ...(text.trim() ? { message: text } : {}), ...(replyTo ? { reply_to: replyTo.id } : {}), ...($('send-queue').checked ? { queue: true } : {}) };
    let body = fields;
    if (file) {
      body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.append(k, String(v));
      body.append('file', file, file.name);
    }
    showError($('send-error'), null);
    if (button) button.disabled = true;
    try {
      const r = await api('POST', path, body);
      $('send-text').value = '';
      $('send-file').value = '';
      clearReply();
      onSent(r);
      if (chat?.id !== r.chat_id) await open({ id: r.chat_id, name: nameOf(r.chat_id), is_group: r.chat_id.endsWith('@g.us') });
      else reloadNewest();
    } catch (err) {
      showError($('send-error'), err);
    } finally {
      if (button) button.disabled = false;
    }
  });

  const reloadNewest = debounce(loadNewest, 250);

  return {
    open,
    get chatId() {
      return chat?.id ?? null;
    },
    /** A message event for the open chat: shown at once, without a reload. */
    message(m) {
      if (!chat || m.chat_id !== chat.id) return;
      list.querySelector('.empty')?.remove();
      put(m);
      list.scrollTop = list.scrollHeight;
    },
    /** A reaction, edit, revoke or ack on the open chat: the stored page is read again. */
    changed(chatId) {
      if (chat && chatId === chat.id) reloadNewest();
    },
  };
}
