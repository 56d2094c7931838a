// The dashboard with two accounts, in a real Chromium over real HTTP (sandbox engines, API key set): the header's
// account switcher, and on the second account linking by its QR, sending and receiving live, every call on that
// account's routes and nothing of the default account on screen.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, HTTPRequest, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBrowser } from '../src/engine/browser.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const KEY = 'dashboard-accounts-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const ARTIFACTS = 'test-artifacts/dashboard';
const browser = findBrowser(process.env.WHATSAPP_CHROME_EXECUTABLE);

describe.skipIf(!browser.ok)(`dashboard with two accounts in Chromium${browser.ok ? '' : ` (skipped: ${browser.reason})`}`, () => {
  let srv: TestServer;
  let chrome: Browser;
  let page: Page;
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    // The simulated phone scans the QR this long after it is shown: long enough to see it on the page.
    srv = await startTestServer({ WHATSAPP_API_KEY: KEY, WHATSAPP_SANDBOX_LINK_DELAY_MS: '1500' });
    await srv.call('POST', '/api/sandbox/link', { phone_number: '15550105555' }, auth);
    expect((await srv.call('POST', '/api/accounts', { id: 'shop' }, auth)).status).toBe(201);
    const { default: puppeteer } = await import('puppeteer');
    chrome = await puppeteer.launch({ executablePath: browser.ok ? browser.path : undefined, args: ['--no-sandbox'] });
    page = await chrome.newPage();
    await page.setViewport({ width: 1440, height: 900 });
    page.setDefaultTimeout(60_000);
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url().replace(srv.url, '')}`);
    });
    page.on('request', (r: HTTPRequest) => requests.push(`${r.method()} ${r.url().replace(srv.url, '')}`));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await chrome?.close();
    await srv?.close();
  });

  const waitForText = (selector: string, text: string) =>
    page.waitForFunction((sel, t) => document.querySelector(sel)?.textContent?.includes(t), {}, selector, text);
  const threadHas = (text: string, mine: boolean) =>
    page.waitForFunction((t, m) => [...document.querySelectorAll(`#messages .msg${m ? '.mine' : ':not(.mine)'} .body`)].some((e) => e.textContent === t), {}, text, mine);

  it('switches to the second account, links it by its QR, sends and receives there', async () => {
    try {
      await journey();
    } catch (err) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-failed.png') }).catch(() => undefined);
      throw err;
    }
  }, 180_000);

  async function journey() {
    await page.goto(`${srv.url}/`, { waitUntil: 'networkidle0' });
    await (await page.waitForSelector('::-p-aria(API key)'))!.type(KEY);
    await page.locator('::-p-aria([name="Sign in"][role="button"])').click();
    await waitForText('#connection', 'Connected');
    await waitForText('#account', '15550105555@c.us');

    // The switcher lists both accounts; the default is the one shown.
    const picker = await page.waitForSelector('::-p-aria([name="Account"][role="combobox"])', { visible: true });
    const options = await picker!.$$eval('option', (os) => os.map((o) => [o.value, o.selected]));
    expect(options).toEqual([
      ['default', true],
      ['shop', false],
    ]);
    problems.length = 0; // the first look before the key (401): the other dashboard test checks it
    requests.length = 0;

    // Switch: the page opens on the shop account, still signed in (the key is this tab's).
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.select('#account-switch', 'shop')]);
    expect(new URL(page.url()).searchParams.get('account')).toBe('shop');
    expect(page.url()).not.toContain(KEY);
    await page.locator('::-p-aria([name="Link"][role="button"])').wait();
    await waitForText('#events-state', 'Live');
    expect(await page.$eval('#account-switch', (s) => (s as HTMLSelectElement).value)).toBe('shop');
    expect(await page.$eval('#account', (el) => el.textContent)).toBe(''); // not the default's number

    // Link it by QR: the image is the shop's (/accounts/shop/qr.svg), the simulated phone scans it.
    await page.locator('::-p-aria([name="Link"][role="button"])').click();
    await page.waitForSelector('::-p-aria(QR code to scan with WhatsApp)', { visible: true });
    await waitForText('#connection', 'Connected');
    await waitForText('#account', '@c.us');
    expect((await srv.call('GET', '/api/accounts/shop/status', undefined, auth)).json.ready).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-shop-linked.png') });

    // Send from the shop's composer: the shop's store has it, the default's does not.
    await page.locator('::-p-aria([name="Alice Martin"][role="button"])').click();
    await page.locator('::-p-aria(Message)').fill('Sent from the shop dashboard');
    await page.locator('::-p-aria([name="Send"][role="button"])').click();
    await threadHas('Sent from the shop dashboard', true);
    const shopHistory = await srv.call('GET', '/api/accounts/shop/chats/15550001001@c.us/messages?limit=5', undefined, auth);
    expect(shopHistory.json.messages.at(-1)).toMatchObject({ from_me: true, body: 'Sent from the shop dashboard' });
    const defaultHistory = await srv.call('GET', '/api/chats/15550001001@c.us/messages?limit=50', undefined, auth);
    expect(JSON.stringify(defaultHistory.json)).not.toContain('Sent from the shop dashboard');

    // Receive live: the shop's stream brings the shop's message; the default's, sent first, never shows here.
    expect((await srv.call('POST', '/api/sandbox/inbound', { from: '15550001001', body: 'For the default account' }, auth)).status).toBe(200);
    expect((await srv.call('POST', '/api/accounts/shop/sandbox/inbound', { from: '15550001001', body: 'For the shop' }, auth)).status).toBe(200);
    await threadHas('For the shop', false);
    await waitFor(async () => (await srv.call('GET', '/api/search?q=default', undefined, auth)).json.count >= 1, 'the default message stored');
    expect(await page.$eval('#messages', (el) => el.textContent)).not.toContain('For the default account');
    await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-shop-chat.png') });

    // Every call the page made on the shop was on its routes (or the server-wide account list).
    const api = requests.filter((r) => / \/(api|qr|accounts)/.test(r));
    expect(api.length).toBeGreaterThan(5);
    // whoami describes the key, not an account: its one server-wide form.
    expect(api.filter((r) => !/ \/api\/accounts\/shop\/| \/accounts\/shop\/qr\.svg$| \/api\/accounts$| \/api\/whoami$/.test(r))).toEqual([]);
    expect(api).toContain('GET /accounts/shop/qr.svg');
    expect(api).toContain('GET /api/accounts/shop/events');
    expect(api.some((r) => /^POST \/api\/accounts\/shop\/chats\/[^/]+\/messages$/.test(r))).toBe(true);
    expect(problems).toEqual([]);

    // And back: the default account again, its own number in the header.
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.select('#account-switch', 'default')]);
    expect(new URL(page.url()).searchParams.has('account')).toBe(false);
    await waitForText('#account', '15550105555@c.us');
    expect(problems).toEqual([]);
  }

  it('a key limited to the shop account opens on it, with no refusal from the default account', async () => {
    const made = await srv.call('POST', '/api/keys', { name: 'shop-clerk', scopes: ['read', 'send'], accounts: ['shop'] }, auth);
    expect(made.status).toBe(201);
    const p = await chrome.newPage(); // a new tab: its own sessionStorage, so no key yet
    const seen: string[] = [];
    p.on('response', (r) => {
      if (r.status() >= 400) seen.push(`${r.status()} ${r.request().method()} ${r.url().replace(srv.url, '')}`);
    });
    p.on('console', (m) => {
      if (m.type() === 'error' && !/401/.test(m.text())) seen.push(`console: ${m.text()}`);
    });
    try {
      await p.goto(`${srv.url}/`, { waitUntil: 'networkidle0' });
      await (await p.waitForSelector('::-p-aria(API key)'))!.type(made.json.key);
      await Promise.all([p.waitForNavigation({ waitUntil: 'load' }), p.locator('::-p-aria([name="Sign in"][role="button"])').click()]);
      expect(new URL(p.url()).searchParams.get('account')).toBe('shop');
      await p.waitForFunction(() => document.querySelector('#connection')?.textContent?.includes('Connected'));
      await p.waitForFunction(() => document.querySelector('#account')?.textContent?.includes('@c.us'));
      // Its own number, not the default account's.
      expect(await p.$eval('#account', (el) => el.textContent)).not.toContain('15550105555');
      // The only refusal is the first look before the key; nothing of the default account was asked for.
      expect(seen).toEqual(['401 GET /api/whoami']);
    } finally {
      await p.close();
    }
  }, 120_000);
});
