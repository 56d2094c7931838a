// The dashboard's entry: sign in (when the server has an API key), then the panels, fed by the live event stream.
import { ApiError, api, getKey, setKey, whenUnauthorized } from './api.js';
import { createChats } from './chats.js';
import { $, describe } from './dom.js';
import { followEvents } from './events.js';
import { createLink } from './link.js';
import { createDeadLetters, createEventLog, createOutbox } from './side.js';
import { createThread } from './thread.js';

// Never a blank screen: whatever goes wrong in a script is said at the top of the page.
function banner(err) {
  $('banner').textContent = describe(err);
  $('banner').hidden = !err;
}
window.addEventListener('error', (e) => banner(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => banner(e.reason));

let stopEvents = null;

function showLogin(message) {
  stopEvents?.();
  stopEvents = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('sign-out').hidden = true;
  $('connection').textContent = 'Signed out';
  $('login-error').textContent = message ?? '';
  $('login-key').focus();
}

whenUnauthorized(() => {
  setKey(null);
  showLogin('The API key was refused: sign in again.');
});

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('login-key').value.trim();
  setKey(key);
  try {
    await api('GET', '/api/status', undefined, { quiet401: true });
  } catch (err) {
    setKey(null);
    $('login-error').textContent = err instanceof ApiError && err.status === 401 ? 'Wrong API key: the server refused it.' : describe(err);
    return;
  }
  $('login-key').value = '';
  start();
});

$('sign-out').addEventListener('click', () => {
  setKey(null);
  showLogin();
});

const chats = createChats({ onOpen: (c) => openChat(c) });
const thread = createThread({ nameOf: (id) => chats.nameOf(id), onSent: () => outbox.reload() });
const outbox = createOutbox({ nameOf: (id) => chats.nameOf(id) });
const deadLetters = createDeadLetters();
const log = createEventLog();
const link = createLink({
  onReady: () => {
    chats.load();
    outbox.load();
  },
});

function openChat(c) {
  chats.select(c.id);
  return thread.open(c);
}

function onEvent(e) {
  log.add(e);
  if (e.type === 'connection.state') link.refresh();
  else if (e.type === 'auth.qr') link.qrRotated();
  else if (e.type === 'auth.pairing_code') link.refresh();
  else if (e.type === 'message.received' || e.type === 'message.sent') {
    thread.message(e.data.message);
    chats.reload();
  } else if (e.type.startsWith('message.')) thread.changed(e.chat_id);
  else if (e.type === 'chat.created' || e.type.startsWith('group.')) chats.reload();
  else if (e.type.startsWith('outbox.')) outbox.reload();
}

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = !getKey();
  stopEvents?.();
  stopEvents = followEvents({ onEvent, onState: (s, detail) => log.state(s, detail) });
  await link.refresh();
  await Promise.all([chats.load(), outbox.load(), deadLetters.load()]);
}

async function boot() {
  try {
    // Without a key set on the server this answers at once; with one, a key from this tab's earlier sign-in.
    await api('GET', '/api/status', undefined, { quiet401: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      const hadKey = getKey() !== null;
      setKey(null);
      return showLogin(hadKey ? 'The API key was refused: sign in again.' : '');
    }
    return banner(err);
  }
  await start();
}

boot();
