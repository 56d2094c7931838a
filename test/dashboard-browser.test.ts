// The dashboard in a real Chromium over real HTTP (sandbox engine, API key set), driven by accessible names the way
// a screen reader user would find the controls: sign in (a wrong key is refused), link, open a chat, send, receive
// live, see a refused send in the outbox, long lists scrolling inside their cards; a scoped key sees no admin
// controls; no console errors, no request to another origin.
// Screenshots of each step go to test-artifacts/dashboard/ (gitignored); SCREENSHOTS=docs also copies the README's
// ones into docs/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, ElementHandle, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBrowser } from '../src/engine/browser.js';
import { b64, png } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const KEY = 'dashboard-browser-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const ARTIFACTS = 'test-artifacts/dashboard';
// The step screenshots README shows, by the name they get in docs/screenshots/.
const FOR_DOCS: Record<string, string> = { '03-qr': 'dashboard-link.png', '07-inbound': 'dashboard-chat.png', '08-outbox': 'dashboard-outbox.png', '09-docs': 'docs-page.png' };

const browser = findBrowser(process.env.WHATSAPP_CHROME_EXECUTABLE);

describe.skipIf(!browser.ok)(`dashboard in Chromium${browser.ok ? '' : ` (skipped: ${browser.reason})`}`, () => {
  let srv: TestServer;
  let chrome: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    // The simulated phone scans a QR this long after it is shown: long enough to see it on the page.
    // No pacing: step 9 makes a long outbox with many sends at once.
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY, WHATSAPP_SANDBOX_LINK_DELAY_MS: '1500', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0' });
    const { default: puppeteer } = await import('puppeteer');
    chrome = await puppeteer.launch({ executablePath: browser.ok ? browser.path : undefined, args: ['--no-sandbox'] });
    page = await watchedPage();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  async function watchedPage(): Promise<Page> {
    const p = await chrome.newPage();
    await p.setViewport({ width: 1440, height: 900 });
    // The suite runs in parallel on two cores beside this browser: each step gets room, not a fixed pace.
    p.setDefaultTimeout(60_000);
    p.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    // Chromium's console line for a refused request names no URL: this one does.
    p.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url().replace(srv.url, '')}`);
    });
    p.on('request', (r) => {
      if (!r.url().startsWith(srv.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push(`request to ${r.url()}`);
    });
    return p;
  }

  afterAll(async () => {
    await chrome?.close();
    await srv?.close();
  });

  async function shot(name: string) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file });
    const doc = FOR_DOCS[name];
    if (doc && process.env.SCREENSHOTS === 'docs') {
      fs.mkdirSync('docs/screenshots', { recursive: true });
      fs.copyFileSync(file, path.join('docs/screenshots', doc));
    }
  }

  const refusedLine = (status: number, text: string) => `console: Failed to load resource: the server responded with a status of ${status} (${text})`;
  /** The problems seen so far are exactly these (each `times` times, in any order); then starts over. */
  function expectOnly(expected: string[], times: number) {
    expect([...problems].sort()).toEqual(expected.flatMap((p) => Array(times).fill(p)).sort());
    problems.length = 0;
  }

  /** The text of an element found by accessible name, once it contains `text`. */
  const waitForText = (selector: string, text: string) =>
    page.waitForFunction((sel, t) => document.querySelector(sel)?.textContent?.includes(t), {}, selector, text);

  it('signs in, links, chats, sends and receives live', async () => {
    try {
      await journey();
    } catch (err) {
      await shot('failed').catch(() => undefined); // what the page showed when a step gave up
      throw err;
    }
  }, 180_000);

  async function journey() {
    // 1. With a key on the server the page asks for it; a wrong one is refused in words, and never put in the URL.
    await page.goto(`${srv.url}/`, { waitUntil: 'networkidle0' });
    const keyField = await page.waitForSelector('::-p-aria(API key)');
    await keyField!.type('not-the-key-at-all-000');
    await page.locator('::-p-aria([name="Sign in"][role="button"])').click();
    await waitForText('#login-error', 'Wrong API key');
    await shot('01-login-wrong-key');
    expect(page.url()).toBe(`${srv.url}/`);
    // Refused requests this step made on purpose (Chromium logs each as a console error): the page's first look,
    // with no key yet, and the wrong key. Nothing else.
    expectOnly(['401 GET /api/whoami', refusedLine(401, 'Unauthorized')], 2);

    await keyField!.click({ count: 3 });
    await keyField!.type(KEY);
    await page.locator('::-p-aria([name="Sign in"][role="button"])').click();
    await page.locator('::-p-aria([name="Link"][role="button"])').wait();
    await waitForText('#events-state', 'Live');
    await shot('02-not-linked');
    expect(page.url()).not.toContain(KEY);
    expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0); // sessionStorage only

    // 2. Link by QR: the page shows the code; the simulated phone scans it.
    await page.locator('::-p-aria([name="Link"][role="button"])').click();
    const qr = await page.waitForSelector('::-p-aria(QR code to scan with WhatsApp)', { visible: true });
    expect(await qr!.evaluate((img) => (img as HTMLImageElement).src)).toMatch(/^blob:/);
    await page.waitForFunction(() => ((document.querySelector('img#qr') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
    await shot('03-qr');
    await waitForText('#connection', 'Connected');
    await page.waitForSelector('::-p-aria([name="Unlink WhatsApp"][role="button"])'); // an admin key: the owner's controls

    // 3. The chat list (the sandbox's seeded account), then one chat's history. Opening a chat reads it: its unread
    // badge goes, and (the key has the send scope) WhatsApp is told, so the server's count is 0 too.
    await page.waitForSelector('[data-chat="15550001001@c.us"] .unread');
    await page.locator('::-p-aria([name="Alice Martin"][role="button"])').click();
    await waitForText('#messages', 'Can you send me the invoice from last week?');
    await page.waitForFunction(() => document.querySelector('[data-chat="15550001001@c.us"]') !== null && document.querySelector('[data-chat="15550001001@c.us"] .unread') === null);
    await waitFor(async () => (await srv.call('GET', '/api/chats/15550001001@c.us', undefined, auth)).json.chat?.unread_count === 0, 'the chat read on the server', 20_000);
    await shot('05-chat');
    expect(await page.$eval('::-p-aria(Phone number or chat)', (el) => (el as HTMLInputElement).value)).toBe('15550001001@c.us');

    // 4. Send from the page: it appears in the thread (from the live stream), and WhatsApp has it.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42)); // gone if the page reloads
    await page.locator('::-p-aria(Message)').fill('Sent from the dashboard');
    await page.locator('::-p-aria([name="Send"][role="button"])').click();
    await page.waitForFunction(() => [...document.querySelectorAll('#messages .msg.mine .body')].some((e) => e.textContent === 'Sent from the dashboard'));
    await shot('06-sent');
    const history = await srv.call('GET', '/api/chats/15550001001@c.us/messages?limit=5', undefined, auth);
    expect(history.json.messages.at(-1)).toMatchObject({ from_me: true, body: 'Sent from the dashboard' });

    // 5. A contact writes: it shows up without a reload, in the thread and in the events panel.
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'Got it, thanks!', reply_to: history.json.messages.at(-1).id }, auth);
    expect(inbound.status).toBe(200);
    await page.waitForFunction(() => [...document.querySelectorAll('#messages .msg:not(.mine) .body')].some((e) => e.textContent === 'Got it, thanks!'));
    await waitForText('#messages .quote', 'You: Sent from the dashboard'); // the quote of the reply
    await waitForText('#events', 'message.received');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);

    // 6. Media both ways: a received picture is previewed (fetched with the key, shown from a blob: URL), and a file
    // picked on the page goes out as a multipart upload with its caption.
    const picture = await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'The receipt', media: { data: b64(png(40, 30, [0, 168, 132, 255])), mimetype: 'image/png' } }, auth);
    expect(picture.status).toBe(200);
    await page.waitForFunction(() => {
      const img = document.querySelector('#messages img[alt="The receipt"]') as HTMLImageElement | null;
      return img !== null && img.src.startsWith('blob:') && img.naturalWidth === 40;
    });
    const file = path.join(srv.dir, 'chart.png');
    fs.writeFileSync(file, png(64, 48, [37, 99, 235, 255]));
    // Chromium names the file input's inner button "Attachment" (its label), but that button lives in the input's
    // user-agent shadow tree, which aria/ selectors do not return: check the name, then pick the input itself.
    const named: string[] = [];
    const walk = (n: { role: string; name?: string; children?: unknown[] }) => {
      named.push(`${n.role} ${n.name ?? ''}`);
      for (const c of n.children ?? []) walk(c as typeof n);
    };
    walk((await page.accessibility.snapshot())!);
    expect(named).toContain('button Attachment');
    const picker = (await page.$('input[type=file]')) as ElementHandle<HTMLInputElement>;
    await picker.uploadFile(file);
    await page.locator('::-p-aria(Message)').fill('The chart, as promised');
    await page.locator('::-p-aria([name="Send"][role="button"])').click();
    await page.waitForFunction(() => {
      const img = document.querySelector('#messages .msg.mine img[alt="The chart, as promised"]') as HTMLImageElement | null;
      return img !== null && img.naturalWidth === 64;
    });
    const sent = await srv.call('GET', '/api/chats/15550001001@c.us/messages?limit=1', undefined, auth);
    expect(sent.json.messages[0]).toMatchObject({ from_me: true, type: 'image', body: 'The chart, as promised', media: { mimetype: 'image/png', filename: 'chart.png' } });
    // A reaction to our message arrives live too.
    expect((await srv.call('POST', '/api/sandbox/react', { from: '15550001001', message_id: history.json.messages.at(-1).id, emoji: '👍' }, auth)).status).toBe(200);
    await page.waitForFunction((id) => document.querySelector(`#messages [data-id="${CSS.escape(id)}"] .reactions`)?.textContent === '👍', {}, history.json.messages.at(-1).id);
    await shot('07-inbound');

    // 7. The search box: chat names filter the list; message text is searched in the store.
    await page.locator('::-p-aria(Search chats and messages)').fill('invoice');
    await page.waitForSelector('#message-results mark');
    // The snippet's match markers are <mark>s, never shown as brackets; the rest stays text.
    expect(await page.$$eval('#message-results mark', (ms) => [...new Set(ms.map((m) => m.textContent!.toLowerCase()))])).toEqual(['invoice']);
    expect(await page.$eval('#message-results', (el) => el.textContent)).not.toContain('[');
    expect(await page.$$eval('#chat-list button', (b) => b.length)).toBe(0);
    await page.locator('::-p-aria(Search chats and messages)').click({ count: 3 });
    await page.keyboard.press('Backspace');
    await page.locator('::-p-aria([name="Bob Chen"][role="button"])').wait();

    // 8. A send the server refuses: its message is shown as it is, and the outbox lists it with Retry.
    await page.locator('::-p-aria(Phone number or chat)').fill('15550100000');
    await page.locator('::-p-aria(Message)').fill('Anyone there?');
    await page.locator('::-p-aria([name="Send"][role="button"])').click();
    await waitForText('#send-error', 'is not on WhatsApp');
    const failed = await srv.call('GET', '/api/outbox?state=failed', undefined, auth);
    expect(failed.json.sends[0]).toMatchObject({ chat_id: '15550100000@c.us', error: { code: 'not_on_whatsapp' } });
    await page.waitForSelector(`::-p-aria(Retry send ${failed.json.sends[0].outbox_id})`);
    await shot('08-outbox');
    expectOnly(['404 POST /api/send', refusedLine(404, 'Not Found')], 1);

    // 9. A group: authors by their contacts' names, never raw ids; our reply to our own message quotes "You".
    await page.locator('::-p-aria([name="Family"][role="button"])').click();
    await waitForText('#messages', 'On my way');
    expect((await page.$$eval('#messages .who', (els) => [...new Set(els.map((e) => e.textContent))])).sort()).toEqual(['Carla Souza', 'Dan Okafor']);
    const dessert = (await srv.call('GET', '/api/chats/120363000000000001@g.us/messages?limit=50', undefined, auth)).json.messages.find((m: { body: string }) => m.body === 'I will bring dessert');
    expect((await srv.call('POST', '/api/chats/120363000000000001@g.us/messages', { message: 'And ice cream', reply_to: dessert.id }, auth)).status).toBe(200);
    await page.waitForFunction(() => [...document.querySelectorAll('#messages .msg.mine')].some((e) => e.querySelector('.body')?.textContent === 'And ice cream' && e.querySelector('.quote')?.textContent === 'You: I will bring dessert'));

    // 10. A long outbox scrolls inside its card: its rows never run over the next card.
    for (let i = 0; i < 20; i++) expect((await srv.call('POST', '/api/send', { phone_number: '15550001002', message: `Batch ${i}` }, auth)).status).toBe(200);
    await page.select('::-p-aria(Outbox state)', 'sent');
    await page.waitForFunction(() => document.querySelectorAll('#outbox li[data-outbox]').length === 20);
    const layout = await page.evaluate(() => {
      const box = (id: string) => document.getElementById(id)!.getBoundingClientRect();
      const list = document.getElementById('outbox')!;
      return { list: box('outbox').bottom, card: box('outbox-card').bottom, next: box('dead-card').top, scrolls: list.scrollHeight > list.clientHeight };
    });
    expect(layout.list).toBeLessThanOrEqual(layout.card);
    expect(layout.card).toBeLessThanOrEqual(layout.next);
    expect(layout.scrolls).toBe(true);
    await shot('10-outbox-long');
    expect(problems).toEqual([]);
  }

  it('the API docs page, for the README', async () => {
    await page.goto(`${srv.url}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#operations-session-whatsapp_status');
    await shot('09-docs');
    expect(problems).toEqual([]);
  }, 120_000);

  it('a key limited to reading and sending in one chat sees no admin controls and no refusals', async () => {
    const made = await srv.call('POST', '/api/keys', { name: 'assistant', scopes: ['read', 'send'], chats: ['15550001001'] }, auth);
    expect(made.status).toBe(201);
    const p = await watchedPage(); // a new tab: its own sessionStorage, so no key yet
    try {
      await p.goto(`${srv.url}/`, { waitUntil: 'networkidle0' });
      await (await p.waitForSelector('::-p-aria(API key)'))!.type(made.json.key);
      await p.locator('::-p-aria([name="Sign in"][role="button"])').click();
      await p.waitForFunction(() => document.querySelector('#connection')?.textContent?.includes('Connected'));
      await p.locator('::-p-aria([name="Alice Martin"][role="button"])').click();
      await p.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('Got it, thanks!'));
      await p.waitForSelector('::-p-aria(Outbox sends) li'); // the send scope: its outbox is shown (loaded, no failed send)
      expect(await p.$$eval('#chat-list button', (b) => b.map((x) => x.getAttribute('aria-label')))).toEqual(['Alice Martin']);
      expect(await p.$('::-p-aria([name="Unlink WhatsApp"][role="button"])')).toBeNull();
      expect(await p.$eval('#dead-card', (el) => (el as HTMLElement).hidden)).toBe(true);
      expect(await p.$eval('#dead-error', (el) => el.textContent)).toBe('');
      await p.screenshot({ path: path.join(ARTIFACTS, '11-scoped-key.png') });
      expectOnly(['401 GET /api/whoami', refusedLine(401, 'Unauthorized')], 1); // the first look, before the key
    } finally {
      await p.close();
    }
  }, 120_000);
});
