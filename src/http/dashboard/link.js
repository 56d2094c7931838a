// Connection state in the header, and linking: by QR (shown while the state is qr) or by pairing code.
import { can } from './access.js';
import { api, blobUrl } from './api.js';
import { $, describe, showError } from './dom.js';

const STATE_TEXT = {
  stopped: 'Not linked. Press Link to show a QR code, or ask for a pairing code.',
  starting: 'Starting WhatsApp…',
  qr: 'Scan the QR code with the phone.',
  pairing: 'Enter the pairing code on the phone.',
  authenticated: 'Linked; loading chats…',
  ready: 'Linked.',
  disconnected: 'Connection lost; reconnecting…',
  auth_failure: 'WhatsApp refused the saved session: link again.',
  error: 'WhatsApp could not start.',
};

export function createLink({ onReady }) {
  let status = null;
  let qrUrl = null;
  let wasReady = false;

  $('link-qr').addEventListener('click', async () => {
    showError($('link-error'), null);
    try {
      render(await api('POST', '/api/auth/start'));
    } catch (err) {
      showError($('link-error'), err);
    }
  });

  $('pair-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    showError($('link-error'), null);
    const button = e.submitter;
    if (button) button.disabled = true;
    try {
      const r = await api('POST', '/api/pairing-code', { phone_number: $('pair-phone').value });
      $('pair-code').textContent = r.code ?? 'Already linked';
    } catch (err) {
      showError($('link-error'), err);
    } finally {
      if (button) button.disabled = false;
    }
  });

  $('unlink').addEventListener('click', async () => {
    if (!confirm('Unlink this server from WhatsApp? The saved session is deleted; linking again needs the phone.')) return;
    try {
      await api('POST', '/api/logout');
      await refresh();
    } catch (err) {
      showError($('link-error'), err);
    }
  });

  async function showQr() {
    try {
      const url = await blobUrl('/qr.svg');
      if (qrUrl) URL.revokeObjectURL(qrUrl);
      qrUrl = url;
      $('qr').src = url;
      $('qr').hidden = false;
    } catch (err) {
      // The code rotated or linking finished between the status and this fetch: the next event shows the truth.
      if (err.status !== 404) showError($('link-error'), err);
    }
  }

  function render(s) {
    status = s;
    const badge = $('connection');
    badge.textContent = s.ready ? `Connected · ${s.engine}` : `${s.state.replace('_', ' ')} · ${s.engine}`;
    badge.className = `badge${s.ready ? ' ready' : s.state === 'error' || s.state === 'auth_failure' ? ' bad' : ''}`;
    $('account').textContent = s.account ? `${s.account.pushname ?? ''} ${s.account.wid}`.trim() : '';
    // Linking and unlinking are the owner's (admin scope): other keys see the state only.
    $('unlink').hidden = !can('admin') || (!s.authenticated && !s.ready);
    $('link-ways').hidden = !can('admin');
    $('link-not-yours').hidden = can('admin');
    $('link-panel').hidden = s.ready;
    $('link-state').textContent = `${STATE_TEXT[s.state] ?? s.state}${s.last_error ? ` Last error: ${s.last_error}` : ''}`;
    if (s.pairing_code) $('pair-code').textContent = s.pairing_code;
    else if (s.state !== 'pairing') $('pair-code').textContent = '';
    if (s.state === 'qr' && s.has_qr && can('admin')) {
      showQr();
    } else {
      $('qr').hidden = true;
    }
    if (s.ready && !wasReady) onReady();
    wasReady = s.ready;
  }

  async function refresh() {
    try {
      render(await api('GET', '/api/status'));
    } catch (err) {
      if (err.status !== 401) $('connection').textContent = describe(err);
    }
  }

  return {
    refresh,
    /** An auth.qr event: the code rotated. */
    qrRotated: () => status?.state === 'qr' && showQr(),
    /** The linked account's own id: a quote of it is "You". */
    get accountId() {
      return status?.account?.wid ?? null;
    },
    get ready() {
      return status?.ready ?? false;
    },
  };
}
