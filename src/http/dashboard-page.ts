// The browser dashboard: static files from src/http/dashboard/ (HTML, CSS, vanilla ES modules; no build step), served
// at / for browsers and at /dashboard/*. The page holds no data: everything it shows comes from /api/* with the key
// the user typed, so the files are open like /docs.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { type StaticAsset, sendStaticAsset } from './static-asset.js';

export const DASHBOARD_PATH = '/dashboard';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// No inline script or style anywhere (scripts set styles through the CSSOM, which CSP allows); media previews are
// blob: URLs made from authenticated fetches, so the key never goes into a URL.
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Where the files are. tsc compiles only the .ts files, so from dist/http/ the folder is not beside this module:
 * it is read from src/http/dashboard/ of the same package (src/ ships with it), without a copy step.
 */
export function dashboardDir(moduleUrl: string = import.meta.url): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const beside = path.join(here, 'dashboard');
  if (fs.existsSync(path.join(beside, 'index.html'))) return beside;
  return path.join(here, '..', '..', 'src', 'http', 'dashboard');
}

interface Asset extends StaticAsset {
  type: string;
}

/** Every file of the folder, read once: the request path picks from this map and never reaches the file system. */
export class DashboardAssets {
  private readonly assets = new Map<string, Asset>();

  constructor(dir: string = dashboardDir()) {
    for (const name of fs.readdirSync(dir).sort()) {
      const type = TYPES[path.extname(name)];
      if (!type) continue;
      const body = fs.readFileSync(path.join(dir, name));
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;
      this.assets.set(name, { body, gzip: body.length > 1024 ? zlib.gzipSync(body) : null, type, etag });
    }
    if (!this.assets.has('index.html')) throw new Error(`dashboard files not found in ${dir}`);
  }

  /** The URL paths of the assets (index.html is served at / and /dashboard instead). */
  paths(): string[] {
    return [...this.assets.keys()].filter((n) => n !== 'index.html').map((n) => `${DASHBOARD_PATH}/${n}`);
  }

  servePage(req: IncomingMessage, res: ServerResponse): void {
    this.send(req, res, this.assets.get('index.html')!, { 'content-security-policy': DASHBOARD_CSP, 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
  }

  serveAsset(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.send(req, res, this.assets.get(url.pathname.slice(DASHBOARD_PATH.length + 1))!);
  }

  private send(req: IncomingMessage, res: ServerResponse, asset: Asset, extra: Record<string, string> = {}): void {
    // Revalidated on every load (a 304 is cheap): an upgraded server never runs yesterday's script.
    sendStaticAsset(req, res, asset, { 'content-type': asset.type, 'cache-control': 'no-cache', vary: 'Accept, Accept-Encoding', ...extra });
  }
}

/**
 * True when the client would rather have HTML than JSON: a browser's navigation ("text/html,…,*\/*;q=0.8"), not
 * fetch's or curl's "*\/*" (equal weights keep today's JSON).
 */
export function prefersHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const q = new Map<string, number>();
  for (const part of accept.toLowerCase().split(',')) {
    const [range = '', ...params] = part.split(';').map((p) => p.trim());
    const given = params.find((p) => p.startsWith('q='));
    q.set(range, given ? Number(given.slice(2)) || 0 : 1);
  }
  // The most specific range that names a type decides its weight (RFC 9110 12.5.1).
  const weight = (type: string, family: string) => q.get(type) ?? q.get(family) ?? q.get('*/*') ?? 0;
  return weight('text/html', 'text/*') > weight('application/json', 'application/*');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A browser's 404: a page with the way back, in the dashboard's style (no script needed). */
export function sendNotFoundPage(res: ServerResponse, pathname: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · whatsapp-mcp-api</title><link rel="stylesheet" href="${DASHBOARD_PATH}/app.css"></head>
<body class="notfound"><main><h1>Not found</h1><p>There is no page at <code>${esc(pathname.slice(0, 200))}</code>.</p>
<p><a href="/">Dashboard</a> · <a href="/docs">API docs</a></p></main></body></html>
`;
  res.writeHead(404, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store', 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff' });
  res.end(html);
}
