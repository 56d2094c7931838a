// The outbox (queued, failed, retry), webhook dead letters (redeliver) and the live events log.
import { can, refusedScope } from './access.js';
import { api } from './api.js';
import { $, debounce, h, showError, when } from './dom.js';

const MAX_EVENTS = 200;

export function createOutbox({ nameOf }) {
  const list = $('outbox');

  function row(s) {
    const retry = s.state === 'failed'
      ? h('button', {
          type: 'button',
          class: 'small',
          'aria-label': `Retry send ${s.outbox_id}`,
          onclick: async (e) => {
            e.currentTarget.disabled = true;
            try {
              await api('POST', `/api/outbox/${encodeURIComponent(s.outbox_id)}/retry`);
              showError($('outbox-error'), null);
              await load();
            } catch (err) {
              showError($('outbox-error'), err);
              e.currentTarget.disabled = false;
            }
          },
        }, 'Retry')
      : null;
    return h(
      'li',
      { 'data-outbox': s.outbox_id },
      h('div', { class: 'line' }, h('span', { class: `state ${s.state}` }, s.state), h('span', {}, `${s.kind} to ${nameOf(s.chat_id)}`), retry),
      h('span', { class: 'sub' }, `${when(s.updated_at, true)} · ${s.attempts} attempt${s.attempts === 1 ? '' : 's'} · ${s.outbox_id}`),
      s.error ? h('span', { class: 'error' }, `${s.error.code}: ${s.error.message}`) : null,
    );
  }

  async function load() {
    $('outbox-card').hidden = !can('send');
    if (!can('send')) return;
    const state = $('outbox-state').value;
    try {
      const r = await api('GET', `/api/outbox?limit=20${state ? `&state=${state}` : ''}`);
      list.replaceChildren(...(r.sends.length ? r.sends.map(row) : [h('li', { class: 'empty' }, `No ${state || ''} sends`)]));
      showError($('outbox-error'), null);
    } catch (err) {
      // The key's scopes were not known before (see access.js): the card is not for it.
      if (refusedScope(err)) $('outbox-card').hidden = true;
      else if (err.status !== 401) showError($('outbox-error'), err);
    }
  }
  $('outbox-state').addEventListener('change', load);
  return { load, reload: debounce(load, 300) };
}

export function createDeadLetters() {
  const list = $('dead-letters');

  function row(d) {
    const result = h('span', { class: 'sub', 'aria-live': 'polite' });
    return h(
      'li',
      {},
      h('div', { class: 'line' }, h('span', {}, `${d.event_type} → ${d.url}`), h('button', {
        type: 'button',
        class: 'small',
        'aria-label': `Redeliver dead letter ${d.id}`,
        onclick: async (e) => {
          const b = e.currentTarget;
          b.disabled = true;
          try {
            const r = await api('POST', `/api/webhooks/dead-letters/${d.id}/redeliver`);
            result.textContent = r.delivered ? `Delivered (HTTP ${r.status})` : `Not delivered: ${r.error ?? `HTTP ${r.status}`}`;
            if (r.delivered) setTimeout(load, 1500);
          } catch (err) {
            showError($('dead-error'), err);
          } finally {
            b.disabled = false;
          }
        },
      }, 'Redeliver')),
      h('span', { class: 'sub' }, `${when(d.failed_at, true)} · ${d.attempts} tries · ${d.last_status ? `HTTP ${d.last_status}` : d.last_error}`),
      result,
    );
  }

  async function load() {
    $('dead-card').hidden = !can('admin');
    if (!can('admin')) return;
    try {
      const r = await api('GET', '/api/webhooks/dead-letters?limit=20');
      list.replaceChildren(...(r.dead_letters.length ? r.dead_letters.map(row) : [h('li', { class: 'empty' }, 'None: every webhook delivery was accepted')]));
      showError($('dead-error'), null);
    } catch (err) {
      if (refusedScope(err)) $('dead-card').hidden = true;
      else if (err.status !== 401) showError($('dead-error'), err);
    }
  }
  return { load };
}

/** One line per event, newest on top; message text is summarised, never interpreted. */
export function createEventLog() {
  const list = $('events');
  function summary(e) {
    const d = e.data ?? {};
    if (d.message) return `${d.message.from_me ? 'to' : 'from'} ${d.message.chat_id}: ${(d.message.body || d.message.type).slice(0, 60)}`;
    if (e.type === 'connection.state') return `${d.state}${d.last_error ? ` (${d.last_error})` : ''}`;
    if (e.type.startsWith('outbox.')) return `${d.outbox_id}${d.error ? ` ${d.error.code}` : ''}`;
    if (e.type === 'auth.qr') return 'new QR code';
    if (e.type === 'auth.pairing_code') return 'pairing code issued';
    return e.chat_id ?? '';
  }
  return {
    add(e) {
      list.prepend(h('li', {}, h('span', { class: 'sub' }, `${when(e.at, true)} #${e.cursor} `), h('span', { class: 'type' }, e.type), ` ${summary(e)}`));
      while (list.children.length > MAX_EVENTS) list.lastChild.remove();
    },
    state(s, detail) {
      $('events-state').textContent = s === 'live' ? 'Live' : `${s}${detail ? `: ${detail}` : ''}`;
    },
  };
}
