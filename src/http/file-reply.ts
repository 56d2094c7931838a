// A file as an HTTP answer: ETag (its sha256) with If-None-Match, single byte ranges for players that seek
// (audio, video), a Content-Disposition with the original name, and no buffering: the file is streamed.
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import contentDisposition from 'content-disposition';
import parseRange from 'range-parser';
import { AppError } from '../errors.js';
import type { FileReply } from '../operations/operation.js';

// Shown in the browser rather than saved: types that cannot run script in our origin.
const INLINE = /^(image\/(jpeg|png|gif|webp)|audio\/|video\/|application\/pdf$)/;

export async function sendFile(req: IncomingMessage, res: ServerResponse, file: FileReply): Promise<void> {
  const size = (await fs.promises.stat(file.path)).size;
  const etag = `"${file.etag}"`;
  const name = file.filename ?? `${file.etag.slice(0, 12)}`;
  const headers: Record<string, string | number> = {
    'content-type': file.mimetype,
    etag,
    'accept-ranges': 'bytes',
    'content-disposition': contentDisposition(name, { type: INLINE.test(file.mimetype) ? 'inline' : 'attachment' }),
    // Content-addressed: the bytes behind this ETag never change. Private: they are someone's messages.
    'cache-control': 'private, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  };
  const match = req.headers['if-none-match'];
  if (match && (match.trim() === '*' || match.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) {
    res.writeHead(304, { etag, 'cache-control': headers['cache-control'] as string });
    return void res.end();
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  // If-Range with another validator: the client's partial copy is stale, send the whole file.
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === etag)) {
    const parsed = parseRange(size, range, { combine: true });
    if (parsed === -1) {
      throw new AppError('range_not_satisfiable', `Range ${range} is outside the file (${size} bytes)`, { headers: { 'content-range': `bytes */${size}` } });
    }
    // -2 (malformed) is ignored as RFC 9110 allows; several ranges are answered whole (no multipart/byteranges).
    if (parsed !== -2 && parsed.type === 'bytes' && parsed.length === 1) {
      start = parsed[0]!.start;
      end = parsed[0]!.end;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['content-length'] = size === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) return void res.end();
  await pipeline(fs.createReadStream(file.path, { start, end }), res).catch(() => {
    // The client went away mid-download: nothing to answer, the stream is closed.
  });
}
