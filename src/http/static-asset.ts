// A small file held in memory as an HTTP answer (the dashboard's files, /docs' Swagger UI): 304 for a matching
// If-None-Match, the gzip copy for a client that takes it.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StaticAsset {
  body: Buffer;
  /** Compressed once when loaded; null when not worth it (small or already compressed). */
  gzip: Buffer | null;
  etag: string;
}

/** `headers`: the asset's content-type, cache-control, vary and any page headers (CSP); sent on the 304 too. */
export function sendStaticAsset(req: IncomingMessage, res: ServerResponse, asset: StaticAsset, headers: Record<string, string>): void {
  const out: Record<string, string | number> = { ...headers, etag: asset.etag, 'x-content-type-options': 'nosniff' };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, out);
    return void res.end();
  }
  const gzip = asset.gzip && /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '');
  const body = gzip ? asset.gzip! : asset.body;
  if (gzip) out['content-encoding'] = 'gzip';
  out['content-length'] = body.length;
  res.writeHead(200, out);
  res.end(body);
}
