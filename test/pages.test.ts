// The page table: /, /health, /qr, /openapi.json, /docs and its assets, /metrics; who may open each, and what
// /docs loads (only this origin: these servers are often offline). In Chromium when there is one.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBrowser } from '../src/engine/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const KEY = 'pages-test-key-0123456789';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
});
afterAll(() => srv.close());

/** Every src= and href= of a page. */
const references = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);

describe('/docs', () => {
  it('is HTML that loads only same-origin assets, each answering 200 with its type, with the API key set and none sent', async () => {
    const res = await fetch(`${srv.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'/);
    const html = await res.text();
    const refs = references(html);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, 'a same-origin path').toMatch(/^\/(?!\/)/);
      const asset = await fetch(`${srv.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      const type = asset.headers.get('content-type') ?? '';
      const ext = ref.split('.').pop();
      expect(type, ref).toMatch({ css: /^text\/css/, js: /^text\/javascript/, png: /^image\/png$/, json: /^application\/json/ }[ext!] ?? /^$/);
      expect(asset.headers.get('x-content-type-options'), ref).toBe('nosniff');
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
    // Swagger UI's bundle, from the npm package, and our initializer pointing it at this server's document.
    const init = await (await fetch(`${srv.url}/docs/assets/init.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    const bundle = fs.readFileSync('node_modules/swagger-ui-dist/swagger-ui-bundle.js');
    expect(Buffer.from(await (await fetch(`${srv.url}/docs/assets/swagger-ui-bundle.js`)).arrayBuffer()).equals(bundle)).toBe(true);
  });

  it('assets: gzip when asked, 304 for a known ETag, 404 for an unknown name, 405 for POST', async () => {
    const url = `${srv.url}/docs/assets/swagger-ui.css`;
    const first = await fetch(url, { headers: { 'accept-encoding': 'gzip' } });
    expect(first.headers.get('content-encoding')).toBe('gzip');
    const etag = first.headers.get('etag')!;
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const unknown = await srv.call('GET', '/docs/assets/../../package.json');
    expect(unknown.status).toBe(404);
    expect((await srv.call('GET', '/docs/assets/nope.js')).json.error.code).toBe('not_found');
    const post = await fetch(`${srv.url}/docs`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('who may open which page', () => {
  it.each([
    ['/', 200],
    ['/health', 200],
    ['/openapi.json', 200],
    ['/docs', 200],
    ['/qr', 401],
    ['/metrics', 401],
  ])('GET %s without the key → %i', async (path, status) => {
    expect((await fetch(`${srv.url}${path}`)).status).toBe(status);
  });

  it('/qr offers Basic auth to a browser; /metrics asks for the bearer key', async () => {
    expect((await fetch(`${srv.url}/qr`)).headers.get('www-authenticate')).toMatch(/Basic realm=/);
    expect((await fetch(`${srv.url}/metrics`)).headers.get('www-authenticate')).not.toMatch(/Basic/);
    const basic = `Basic ${Buffer.from(`any:${KEY}`).toString('base64')}`;
    expect((await fetch(`${srv.url}/qr`, { headers: { authorization: basic } })).status).toBe(200);
  });

  it('/health without the key shows no account data; HEAD works; POST is a 405 naming GET, HEAD', async () => {
    const health = await srv.call('GET', '/health');
    expect(Object.keys(health.json.status).sort()).toEqual(['ready', 'state']);
    expect((await fetch(`${srv.url}/health`, { method: 'HEAD' })).status).toBe(200);
    const post = await srv.call('POST', '/health', {});
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

const browser = findBrowser(process.env.WHATSAPP_CHROME_EXECUTABLE);

describe.skipIf(!browser.ok)('/docs in Chromium', () => {
  it('renders every route, asks nothing of another origin, and "try it" sends the key typed under Authorize', async () => {
    const { default: puppeteer } = await import('puppeteer');
    const chrome = await puppeteer.launch({ executablePath: browser.ok ? browser.path : undefined, args: ['--no-sandbox'] });
    try {
      const page = await chrome.newPage();
      // The whole suite runs in parallel on two cores beside this browser: give each step room, not a fixed pace.
      page.setDefaultTimeout(80_000);
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith(srv.url) && !r.url().startsWith('data:')) problems.push(`request to ${r.url()}`);
      });
      await page.goto(`${srv.url}/docs`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#operations-session-whatsapp_status');
      const doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as { paths: Record<string, object> };
      const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
      expect(await page.$$eval('.opblock', (e) => e.length)).toBe(operations);

      await page.click('button.authorize');
      const input = await page.waitForSelector('.modal-ux input');
      await input!.type(KEY);
      await page.click('.modal-ux button.authorize');
      await page.click('.modal-ux button.btn-done');

      const op = '#operations-session-whatsapp_status';
      await page.click(`${op} .opblock-summary`);
      await page.click(await page.waitForSelector(`${op} .try-out__btn`).then(() => `${op} .try-out__btn`));
      await page.click(`${op} .execute`);
      await page.waitForSelector(`${op} .live-responses-table tbody .response-col_status`);
      expect(await page.$eval(`${op} .live-responses-table tbody .response-col_status`, (e) => e.textContent?.trim())).toBe('200');
      expect(await page.$eval(`${op} .live-responses-table .microlight`, (e) => e.textContent)).toContain('"engine": "sandbox"');
      expect(problems).toEqual([]);
    } finally {
      await chrome.close();
    }
  }, 120_000);
});
