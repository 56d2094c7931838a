// The dashboard without a browser: / by Accept (HTML for browsers, JSON for everyone else), its assets and their
// types, 404s in the asker's format, the QR image, and /api/whoami (which controls the page shows a key).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardDir } from '../src/http/dashboard-page.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const KEY = 'dashboard-test-key-0123456789';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const auth = { authorization: `Bearer ${KEY}` };

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ WHATSAPP_API_KEY: KEY });
});
afterAll(() => srv.close());

const get = (p: string, headers: Record<string, string> = {}) => fetch(`${srv.url}${p}`, { headers });

describe('/ by Accept', () => {
  it('a browser gets the dashboard, with a CSP that allows no inline script and nothing from elsewhere', async () => {
    const res = await get('/', { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('vary')).toMatch(/Accept/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/dashboard/app.js">');
    expect(html).not.toMatch(/<script>|<style|\sstyle="|\son\w+="/); // nothing inline for the CSP to refuse
  });

  it.each([
    ['*/*', 'fetch and curl'],
    ['application/json', 'an API client'],
    ['application/json, text/html;q=0.5', 'a client that prefers JSON'],
    ['', 'no Accept at all'],
  ])('Accept %j (%s) keeps the JSON answer at /', async (accept) => {
    const res = await get('/', accept ? { accept } : {});
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).name).toBe('whatsapp-mcp-api');
  });

  it('/health stays JSON for a browser too; /dashboard is the page whatever the Accept', async () => {
    expect((await get('/health', { accept: BROWSER_ACCEPT })).headers.get('content-type')).toMatch(/^application\/json/);
    const page = await get('/dashboard');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('assets', () => {
  it('every file the page and its modules import answers 200 with its type, open with a key set', async () => {
    const html = await (await get('/dashboard')).text();
    const refs = new Set([...html.matchAll(/\b(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!));
    // The modules import each other relatively: follow those too, so a missing file fails here, not in a browser.
    for (const ref of [...refs]) {
      if (!ref.endsWith('.js')) continue;
      const text = await (await get(ref)).text();
      for (const m of text.matchAll(/from '\.\/([\w-]+\.js)'/g)) refs.add(`/dashboard/${m[1]}`);
    }
    expect(refs.size).toBeGreaterThanOrEqual(8);
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, svg: /^image\/svg\+xml$/ };
    for (const ref of refs) {
      const res = await get(ref);
      expect(res.status, ref).toBe(200);
      expect(res.headers.get('content-type'), ref).toMatch(types[ref.split('.').pop()!]!);
      expect(res.headers.get('x-content-type-options'), ref).toBe('nosniff');
      const etag = res.headers.get('etag')!;
      expect((await get(ref, { 'if-none-match': etag })).status, ref).toBe(304);
    }
  });

  it('the files are found from dist/ too, where tsc puts no .js asset (read from src/)', () => {
    const fromDist = dashboardDir(pathToFileURL(path.resolve('dist/http/dashboard-page.js')).href);
    expect(fromDist).toBe(path.resolve('src/http/dashboard'));
    expect(fs.existsSync(path.join(fromDist, 'index.html'))).toBe(true);
  });
});

describe('404', () => {
  it.each(['/nope', '/dashboard/nope.js', '/dashboard/../package.json', '/docs/assets/nope.js'])('%s: an HTML page for a browser, JSON for an API client', async (p) => {
    const browser = await get(p, { accept: BROWSER_ACCEPT });
    expect(browser.status).toBe(404);
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await browser.text()).toContain('Not found');
    const client = await get(p);
    expect(client.status).toBe(404);
    expect((await client.json()).error.code).toBe('not_found');
  });
});

describe('/qr.svg', () => {
  it('needs the key; 404 naming the state before a QR exists; an SVG once the state is qr', async () => {
    const s = await startTestServer({ WHATSAPP_API_KEY: KEY, WHATSAPP_SANDBOX_LINK_DELAY_MS: '60000' });
    try {
      expect((await fetch(`${s.url}/qr.svg`)).status).toBe(401);
      const none = await s.call('GET', '/qr.svg', undefined, auth);
      expect(none.status).toBe(404);
      expect(none.json.error.message).toContain('state: stopped');
      await s.call('POST', '/api/auth/start', {}, auth);
      await waitFor(async () => (await s.call('GET', '/api/status', undefined, auth)).json.has_qr, 'a QR');
      const res = await fetch(`${s.url}/qr.svg`, { headers: auth });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
      expect(await res.text()).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    } finally {
      await s.close();
    }
  });
});

describe('/qr.svg once linked', () => {
  it('says the account is already linked instead of sending the caller to start linking', async () => {
    const s = await startTestServer({ WHATSAPP_API_KEY: KEY });
    try {
      expect((await s.call('POST', '/api/sandbox/link', {}, auth)).status).toBe(200);
      const r = await s.call('GET', '/qr.svg', undefined, auth);
      expect(r.status).toBe(404);
      expect(r.json.error.hint).toMatch(/already linked/);
      expect(r.json.error.hint).not.toContain('/api/auth/start');
    } finally {
      await s.close();
    }
  });
});

describe('GET /api/whoami (what the dashboard shows is by it)', () => {
  it('says who the key is: its name, scopes and chats, never the key; 401 without one', async () => {
    expect((await srv.call('GET', '/api/whoami')).status).toBe(401);
    const env = await srv.call('GET', '/api/whoami', undefined, auth);
    expect(env.json).toEqual({ ok: true, name: 'env', scopes: ['read', 'send', 'manage', 'admin'], chats: null, accounts: null, rate_per_minute: null });
    const made = await srv.call('POST', '/api/keys', { name: 'whoami-agent', scopes: ['send', 'read'], chats: ['+1 555 000 1001'], rate_per_minute: 30 }, auth);
    expect(made.status).toBe(201);
    const scoped = await srv.call('GET', '/api/whoami', undefined, { authorization: `Bearer ${made.json.key}` });
    expect(scoped.json).toEqual({ ok: true, name: 'whoami-agent', scopes: ['read', 'send'], chats: ['15550001001@c.us'], accounts: null, rate_per_minute: 30 });
    expect(JSON.stringify(scoped.json)).not.toContain(made.json.key);
    // A key without read cannot ask (the dashboard then hides a card on its first 403).
    const sendOnly = await srv.call('POST', '/api/keys', { name: 'whoami-send-only', scopes: ['send'] }, auth);
    const refused = await srv.call('GET', '/api/whoami', undefined, { authorization: `Bearer ${sendOnly.json.key}` });
    expect([refused.status, refused.json.error.code, refused.json.error.details.scope]).toEqual([403, 'forbidden', 'read']);
  });
});
