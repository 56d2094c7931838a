// GET /qr: a page that refreshes itself every 5 s and shows the current QR, or says why there is none.
import QRCode from 'qrcode';
import type { Engine } from '../engine/engine.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function renderQrPage(engine: Engine): Promise<string> {
  const status = engine.status();
  // Opening the page is how people link: start the engine if nothing is running yet.
  if (status.state === 'stopped' || status.state === 'error' || status.state === 'auth_failure') void engine.start();
  const qr = engine.currentQr();
  let body: string;
  if (status.ready && status.account) {
    body = `<h1>Linked</h1><p>WhatsApp is linked as <b>${esc(status.account.pushname ?? '')}</b> (${esc(status.account.wid)}). You can close this page.</p>`;
  } else if (qr) {
    const img = await QRCode.toDataURL(qr, { margin: 2, width: 320 });
    body = `<h1>Scan to link WhatsApp</h1><img alt="WhatsApp QR code" src="${img}" width="320" height="320"><p>On your phone: WhatsApp &gt; Settings &gt; Linked devices &gt; Link a device. The code changes every 20 seconds; this page follows.</p>`;
  } else if (status.state === 'pairing' && status.pairing_code) {
    body = `<h1>Enter the pairing code</h1><p style="font-size:2em;letter-spacing:.2em"><b>${esc(status.pairing_code)}</b></p><p>On your phone: Linked devices &gt; Link a device &gt; Link with phone number instead.</p>`;
  } else {
    const err = status.last_error ? `<p>Last error: ${esc(status.last_error)}</p>` : '';
    body = `<h1>No QR code yet</h1><p>State: <b>${esc(status.state)}</b>. The code appears here once WhatsApp Web has loaded.</p>${err}`;
  }
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>whatsapp-mcp-api: link</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}</style></head><body>${body}</body></html>`;
}
