// Small DOM helpers: elements from data with textContent only (message bodies are other people's text, never HTML).

/** h('li', { class: 'x', onclick: fn }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = (id) => document.getElementById(id);

/** Unix seconds (or ms when `ms`) → a short local time, with the date when it is not today. */
export function when(t, ms = false) {
  const d = new Date(ms ? t : t * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** Runs fn at most once per `ms`, after the last call (bursts of events become one reload). */
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** Shows an error in a role=alert element: the server's message as it is, with its hint. */
export function showError(el, err) {
  el.textContent = err ? describe(err) : '';
}

export function describe(err) {
  if (!err) return '';
  const hint = err.hint ? ` (${err.hint})` : '';
  return `${err.message ?? String(err)}${hint}`;
}

// FTS5 wraps each matched term in [ ] (store/search.ts). A message's own brackets look the same, so only a bracketed
// run that matches a word of the query is marked; anything else stays as the text it is.
const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** A search snippet as text nodes and <mark>s (never innerHTML: the snippet is someone's message). */
export function highlighted(snippet, query) {
  const words = fold(query).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const out = [];
  let last = 0;
  for (const m of snippet.matchAll(/\[([^\[\]\n]+)\]/g)) {
    const inner = fold(m[1]);
    if (!words.some((w) => inner.includes(w) || w.startsWith(inner))) continue;
    if (m.index > last) out.push(snippet.slice(last, m.index));
    out.push(h('mark', {}, m[1]));
    last = m.index + m[0].length;
  }
  if (last < snippet.length) out.push(snippet.slice(last));
  return out;
}
