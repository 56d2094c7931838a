// The dashboard's ?account= in a real Chromium: an id that is no account id (`..`, which fetch would resolve from
// /api/accounts/../status to the default account's /api/status) is refused with a banner and no call at all; a
// valid one still works.
import type { Browser, Page } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBrowser } from '../src/engine/browser.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const browser = findBrowser(process.env.WHATSAPP_CHROME_EXECUTABLE);

describe.skipIf(!browser.ok)(`dashboard ?account= in Chromium${browser.ok ? '' : ` (skipped: ${browser.reason})`}`, () => {
  let srv: TestServer;
  let chrome: Browser;

  beforeAll(async () => {
    srv = await startTestServer();
    await srv.call('POST', '/api/sandbox/link', { phone_number: '15550106666' });
    expect((await srv.call('POST', '/api/accounts', { id: 'shop' })).status).toBe(201);
    const { default: puppeteer } = await import('puppeteer');
    chrome = await puppeteer.launch({ executablePath: browser.ok ? browser.path : undefined, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await chrome?.close();
    await srv?.close();
  });

  /** Open the page with this query; every request it made to the API or a QR, as paths. */
  async function open(query: string, waitUntil: 'networkidle0' | 'load'): Promise<{ page: Page; calls: string[] }> {
    const page = await chrome.newPage();
    const calls: string[] = [];
    page.on('request', (r) => {
      const { pathname } = new URL(r.url());
      if (pathname.startsWith('/api/') || pathname.endsWith('/qr.svg')) calls.push(`${r.method()} ${pathname}`);
    });
    await page.goto(`${srv.url}/${query}`, { waitUntil });
    return { page, calls };
  }

  for (const bad of ['..', '../..', 'Shop', '%2e%2e', 'a/b', 'x'.repeat(33)]) {
    it(`refuses ?account=${bad.length > 12 ? 'x×33' : bad}: a banner, and no request to any API`, async () => {
      const { page, calls } = await open(`?account=${bad}`, 'networkidle0');
      const banner = await page.$eval('#banner', (el) => ({ hidden: (el as HTMLElement).hidden, text: el.textContent ?? '' }));
      expect(banner.hidden).toBe(false);
      expect(banner.text).toMatch(/is not an account id/);
      expect(calls).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it('still opens ?account=shop on that account’s routes', async () => {
    // Its event stream stays open: the network never goes idle.
    const { page, calls } = await open('?account=shop', 'load');
    await waitFor(() => calls.includes('GET /api/accounts/shop/status'), 'the shop account’s status asked');
    expect(await page.$eval('#banner', (el) => (el as HTMLElement).hidden)).toBe(true);
    expect(calls.filter((c) => /^\w+ \/api\/(status|chats|events|outbox)\b/.test(c))).toEqual([]);
    await page.close();
  }, 60_000);
});
