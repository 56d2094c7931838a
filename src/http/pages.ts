// The special pages: what the server answers outside the REST table (health, the dashboard, the QR page, the API
// document and its viewer, metrics). One table; server.ts walks it before the REST routes. Each page says who may
// open it, and whether it also exists per account (/accounts/{account}/qr: that account's QR).
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import QRCode from 'qrcode';
import { DEFAULT_ACCOUNT } from '../accounts/layout.js';
import { AppError } from '../errors.js';
import type { Services } from '../operations/operation.js';
import { DASHBOARD_PATH, DashboardAssets, prefersHtml } from './dashboard-page.js';
import { DOCS_ASSET_PATHS, DOCS_PATH, serveDocsAsset, serveDocsPage } from './docs-page.js';
import type { Metrics } from './metrics.js';
import { type PageDoc, buildOpenApi } from './openapi.js';
import { renderQrPage } from './qr-page.js';
import { sendJson } from './respond.js';
import type { RouteTable } from './routes.js';
import type { Scope } from '../service/keys.js';
import type { RequestGuard } from './security.js';

/** open: anyone; key: the API key when one is set; key-or-basic: the same, and a browser is offered Basic auth. */
export type PageAuth = 'open' | 'key' | 'key-or-basic';

export interface Page {
  methods: readonly string[];
  path: string;
  auth: PageAuth;
  /** The scope a stored key needs to open it (when auth is not open); default admin. */
  scope?: Scope;
  /** Listed in /openapi.json under "pages" when present. */
  doc?: Omit<PageDoc, 'path' | 'auth'>;
  /** Also served for every account at /accounts/{account}<path>: `handle` is then told which account. */
  perAccount?: boolean;
  /** `account`: the account form's id, undecided whether it exists (the handler resolves it, after the key check). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, account?: string): void | Promise<void>;
}

/** A page a path names: the page, its metrics label (the template for the account form), the account named. */
export interface PageMatch {
  page: Page;
  route: string;
  account?: string;
}

export interface PageContext {
  /** The default account's runtime; the others are in its `accounts`. */
  services: Services;
  guard: RequestGuard;
  routes: RouteTable;
  metrics: Metrics;
  config: { maxBodyBytes: number; maxMediaBytes: number };
  /** The MCP endpoint's URL as /health reports it (the bound port is known only once listening). */
  mcpUrl(): string;
}

export const OPENAPI_PATH = '/openapi.json';

export function buildPages(ctx: PageContext): Page[] {
  const { services, guard } = ctx;
  const { engine } = services;
  /**
   * The engine of the account a page was asked for, after the server's key check: 404 naming an unknown one. The
   * per-account pages need admin, which no key limited to some accounts holds (keys.ts), so no account check here.
   */
  const engineOf = (account: string | undefined) => (account === undefined ? engine : services.accounts.require(account).engine);
  const health: Page['handle'] = (req, res) => {
    const status = engine.status();
    // With an API key set, /health stays open for probes but shows account data only to key holders.
    // The pairing code only for a key that may link (admin), as whatsapp_status answers it; every account's state too.
    let visible: object;
    let accounts: object | undefined;
    try {
      const key = guard.authenticate(req);
      // A key limited to other accounts sees what a keyless probe sees: the default account is not its to read.
      if (key.accounts !== null && !key.accounts.includes(DEFAULT_ACCOUNT)) throw new Error('another account’s key');
      const admin = key.scopes.has('admin');
      visible = admin ? status : { ...status, pairing_code: null };
      if (admin) accounts = services.accounts.list().map(({ id, runtime }) => ({ id, engine: runtime.config.engine, ...pick(runtime.engine.status()) }));
    } catch {
      visible = { state: status.state, ready: status.ready };
    }
    sendJson(res, 200, { ok: true, name: 'whatsapp-mcp-api', mcp: ctx.mcpUrl(), status: visible, ...(accounts ? { accounts } : {}) });
  };
  const healthDoc = {
    contentType: 'application/json',
    description: '{ok, name, mcp, status, accounts?}; without the key (when one is set) status is only {state, ready}; accounts ({id, engine, state, ready} each) for an admin key.',
  };
  let openapi: string | null = null;
  const dashboard = new DashboardAssets();

  const pages: Page[] = [
    {
      methods: ['GET', 'HEAD'],
      path: '/',
      auth: 'open',
      doc: { summary: 'Server and connection state; the dashboard for browsers', ...healthDoc, description: `${healthDoc.description} A browser (Accept: text/html) gets the dashboard instead.` },
      // A browser's navigation gets the dashboard; fetch, curl and probes (*/*, application/json) keep the JSON.
      handle: (req, res, url) => {
        res.setHeader('vary', 'Accept');
        return prefersHtml(req) ? dashboard.servePage(req, res) : health(req, res, url);
      },
    },
    { methods: ['GET', 'HEAD'], path: '/health', auth: 'open', doc: { summary: 'Health probe', ...healthDoc }, handle: health },
    {
      methods: ['GET', 'HEAD'],
      path: DASHBOARD_PATH,
      // Open like /docs: the page holds no data, and asks for the key itself (a login form, kept in sessionStorage).
      auth: 'open',
      doc: { summary: 'Dashboard (HTML page)', contentType: 'text/html', description: 'Account and connection state, linking, chats, sending, outbox, webhook dead letters, live events. Also at / for browsers.' },
      handle: (req, res) => dashboard.servePage(req, res),
    },
    ...dashboard.paths().map((path): Page => ({ methods: ['GET', 'HEAD'], path, auth: 'open', handle: (req, res, url) => dashboard.serveAsset(req, res, url) })),
    {
      methods: ['GET'],
      path: '/qr.svg',
      auth: 'key',
      perAccount: true,
      doc: {
        summary: 'The current QR code (SVG image)',
        contentType: 'image/svg+xml',
        description: 'The QR to scan while the state is qr; 404 not_found otherwise. Does not start the engine (POST /api/auth/start does). Per account: /accounts/{account}/qr.svg.',
      },
      handle: async (_req, res, _url, account) => {
        const accountEngine = engineOf(account);
        const qr = accountEngine.currentQr();
        if (!qr) {
          const status = accountEngine.status();
          const api = account === undefined ? '/api' : `/api/accounts/${account}`;
          const hint = status.authenticated
            ? `This account is already linked: there is nothing to scan. POST ${api}/logout first to link another phone.`
            : `POST ${api}/auth/start, then wait for the state qr.`;
          throw new AppError('not_found', `No QR code to show (state: ${status.state})`, { hint });
        }
        const svg = await QRCode.toString(qr, { type: 'svg', margin: 2 });
        res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': Buffer.byteLength(svg), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(svg);
      },
    },
    {
      methods: ['GET'],
      path: '/qr',
      auth: 'key-or-basic',
      perAccount: true,
      doc: {
        summary: 'Link by QR code (HTML page)',
        contentType: 'text/html',
        description: 'Starts a stopped engine and shows the current QR code; refreshes itself every 5 s. Per account: /accounts/{account}/qr (starts that account’s engine).',
      },
      handle: async (_req, res, _url, account) => {
        const html = await renderQrPage(engineOf(account), { account });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(html);
      },
    },
    {
      methods: ['GET', 'HEAD'],
      path: OPENAPI_PATH,
      // Open, so the docs page loads it before anyone types a key; it describes routes, never data.
      auth: 'open',
      doc: { summary: 'This document', contentType: 'application/json', description: 'OpenAPI 3.1, generated from the operations table.' },
      handle: (_req, res) => {
        openapi ??= JSON.stringify(
          buildOpenApi(ctx.routes.plans(), { version: packageVersion(), requiresKey: guard.requiresKey, ...ctx.config, pages: pages.filter((p) => p.doc).map((p) => ({ path: p.path, auth: p.auth, ...p.doc! })) }),
        );
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(openapi), 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        res.end(openapi);
      },
    },
    {
      methods: ['GET', 'HEAD'],
      path: DOCS_PATH,
      auth: 'open',
      doc: { summary: 'API docs (Swagger UI)', contentType: 'text/html', description: 'This document in Swagger UI; "Try it out" calls this server. With an API key set, enter it under Authorize.' },
      handle: serveDocsPage,
    },
    ...DOCS_ASSET_PATHS.map((path): Page => ({ methods: ['GET', 'HEAD'], path, auth: 'open', handle: serveDocsAsset })),
    {
      methods: ['GET'],
      path: '/metrics',
      auth: 'key',
      // Counts and timings, no message content: any key that may read.
      scope: 'read',
      doc: { summary: 'Prometheus metrics', contentType: 'text/plain', description: 'Prometheus text format: HTTP, MCP, sends, outbox, webhooks, engine state, store, process.' },
      handle: async (_req, res) => {
        const body = await ctx.metrics.scrape();
        res.writeHead(200, { 'content-type': ctx.metrics.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(body);
      },
    },
  ];
  return pages;
}

const ACCOUNT_PAGE = /^\/accounts\/([^/]+)(\/.+)$/;

/**
 * Exact paths (a page is one resource; the docs' assets are listed one by one), and for the pages that say
 * `perAccount`, the same path under /accounts/{account}.
 */
export class PageTable {
  private readonly byPath: Map<string, PageMatch>;
  private readonly perAccount: Map<string, Page>;

  constructor(pages: readonly Page[]) {
    this.byPath = new Map(pages.map((page) => [page.path, { page, route: page.path }]));
    this.perAccount = new Map(pages.filter((p) => p.perAccount).map((p) => [p.path, p]));
  }

  get(pathname: string): PageMatch | undefined {
    const exact = this.byPath.get(pathname);
    if (exact) return exact;
    const m = ACCOUNT_PAGE.exec(pathname);
    const page = m && this.perAccount.get(m[2]!);
    if (!page) return undefined;
    return { page, route: `/accounts/{account}${page.path}`, account: safeDecode(m[1]!) };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // names no account: the handler answers 404
  }
}

function pick({ state, ready }: { state: string; ready: boolean }) {
  return { state, ready };
}

let version: string | null = null;
function packageVersion(): string {
  // src/http/ and dist/http/ are both two levels below package.json.
  version ??= (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
