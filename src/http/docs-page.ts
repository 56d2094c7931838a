// GET /docs: Swagger UI over /openapi.json, its files served from the swagger-ui-dist package by this server (no CDN:
// many servers running this are offline). "Try it out" calls this same origin; with an API key set the page is
// open and the key typed under "Authorize" is sent as a bearer token (kept in the page's memory only).
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { type StaticAsset, sendStaticAsset } from './static-asset.js';

export const DOCS_PATH = '/docs';
export const DOCS_ASSETS = '/docs/assets';

interface Asset {
  /** File in swagger-ui-dist, or null for ours. */
  file: string | null;
  type: string;
  text?: string;
}

// Only what the page loads: a fixed list, so no request path ever reaches the file system.
const ASSETS: Record<string, Asset> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
  // Ours, as a file rather than inline, so the page's CSP can forbid inline script.
  'init.js': {
    file: null,
    type: 'text/javascript; charset=utf-8',
    text: `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The default asks validator.swagger.io to check the document: no calls out of this origin.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  // The key typed under Authorize stays in memory: never written to localStorage.
  persistAuthorization: false,
  displayRequestDuration: true,
});
`,
  },
};

export const DOCS_ASSET_PATHS = Object.keys(ASSETS).map((name) => `${DOCS_ASSETS}/${name}`);

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>whatsapp-mcp-api: API docs</title>
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_ASSETS}/favicon-32x32.png">
<style>body{margin:0}</style>
</head><body>
<div id="swagger-ui"><noscript>The API docs need JavaScript; the document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="${DOCS_ASSETS}/init.js"></script>
</body></html>
`;

// Swagger UI sets style attributes from script and shows its icons as data: URIs; everything else is this origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

let distDir: string | null = null;
let version = '';
function dist(): string {
  if (!distDir) {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('swagger-ui-dist/package.json');
    version = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
    distDir = path.dirname(pkg);
  }
  return distDir;
}

const loaded = new Map<string, StaticAsset>();

function load(name: string): StaticAsset {
  let l = loaded.get(name);
  if (!l) {
    const asset = ASSETS[name]!;
    const dir = dist();
    const body = asset.file ? fs.readFileSync(path.join(dir, asset.file)) : Buffer.from(asset.text!);
    // The bundle is 1.7 MB; compressed once, on first use.
    const gzip = asset.type.startsWith('text/') ? zlib.gzipSync(body) : null;
    l = { body, gzip, etag: `"swagger-ui-${version}-${name}-${body.length}"` };
    loaded.set(name, l);
  }
  return l;
}

export function serveDocsPage(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(PAGE),
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(PAGE);
}

export function serveDocsAsset(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const name = url.pathname.slice(DOCS_ASSETS.length + 1);
  const asset = ASSETS[name]!;
  sendStaticAsset(req, res, load(name), { 'content-type': asset.type, 'cache-control': 'public, max-age=3600', vary: 'Accept-Encoding' });
}
