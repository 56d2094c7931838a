// The dashboard's entry: sign in (when the server has an API key), then the panels, fed by the live event stream.
import { can, forgetAccess, loadAccess } from './access.js';
import { loadAccountSwitch } from './accounts.js';
import { ApiError, accountRefusal, api, getKey, setKey, whenUnauthorized } from './api.js';
import { createChats } from './chats.js';
import { $, debounce, describe } from './dom.js';
import { followEvents } from './events.js';
import { createLink } from './link.js';
import { createNames } from './names.js';
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
  forgetAccess();
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
    await api('GET', '/api/whoami', undefined, { quiet401: true });
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

const names = createNames();
const chats = createChats({ onOpen: (c) => openChat(c), names });
names.useChats((id) => chats.chatName(id));
const thread = createThread({ names, myId: () => link.accountId, onSent: () => outbox.reload() });
const outbox = createOutbox({ nameOf: (id) => names.of(id) });
const deadLetters = createDeadLetters();
const log = createEventLog();
const link = createLink({
  onReady: () => {
    names.load().then(() => chats.load());
    outbox.load();
  },
});

function openChat(c) {
  chats.select(c.id);
  markRead(c.id, chats.markSeen(c.id));
  return thread.open(c);
}

// Opening a chat reads it: the badge goes at once (chats.markSeen); with the send scope WhatsApp is told too, so the
// phone and the sender's blue ticks agree. Without it (a read-only key) the badge is cleared on this page only.
const markReadSoon = debounce((chatId) => markRead(chatId, 1), 500);
async function markRead(chatId, unread) {
  if (!unread || !can('send')) return;
  try {
    await api('POST', `/api/chats/${encodeURIComponent(chatId)}/read`);
    chats.reload();
  } catch {
    // An engine without read receipts (501) or WhatsApp offline (503): the badge stays off here all the same.
  }
}

function onEvent(e) {
  log.add(e);
  if (e.type === 'connection.state') link.refresh();
  else if (e.type === 'auth.qr') link.qrRotated();
  else if (e.type === 'auth.pairing_code') link.refresh();
  else if (e.type === 'message.received' || e.type === 'message.sent') {
    const m = e.data.message;
    thread.message(m);
    // A message into the chat open in a tab someone is looking at is read as it arrives.
    if (m.chat_id === thread.chatId && document.visibilityState === 'visible') {
      chats.markSeen(m.chat_id, m.timestamp);
      if (!m.from_me) markReadSoon(m.chat_id);
    }
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
  await loadAccess();
  // A key limited to other accounts is sent to its own before any panel asks this one.
  if ((await loadAccountSwitch()) === 'moved') return;
  $('send-form').hidden = !can('send');
  stopEvents = followEvents({ onEvent, onState: (s, detail) => log.state(s, detail) });
  await link.refresh();
  await names.load();
  await Promise.all([chats.load(), outbox.load(), deadLetters.load()]);
}

async function boot() {
  if (accountRefusal()) return banner(accountRefusal());
  try {
    // Without a key set on the server this answers at once; with one, a key from this tab's earlier sign-in.
    await api('GET', '/api/whoami', undefined, { quiet401: true });
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
