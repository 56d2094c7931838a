// Downloads media given by URL (`media.url`). This is an SSRF boundary: the server fetches whatever a caller names,
// from inside our network. So the address is checked after DNS and pinned for the connect (no rebinding between
// check and use), redirects are followed by hand and re-checked hop by hop, and size and time are capped while
// streaming, never by buffering.

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { AppError } from '../errors.js';

export interface UrlFetchOptions {
  maxBytes: number;
  allowPrivate: boolean;
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Tests only: decides whether an IP may be contacted when allowPrivate is false (default: not in the blocked ranges). */
  isPublicAddress?: (ip: string, family: 4 | 6) => boolean;
  /** Tests only: replace dns.lookup. */
  lookup?: (hostname: string, cb: (err: NodeJS.ErrnoException | null, addresses: Array<{ address: string; family: number }>) => void) => void;
}

export interface FetchedMedia {
  body: Readable;
  contentType: string | null;
  filename: string | null;
  contentLength: number | null;
  finalUrl: string;
}

type Kill = (err: Error) => void;
const PRIVATE_HINT = 'Set WHATSAPP_MEDIA_URL_ALLOW_PRIVATE=true to fetch from private addresses';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Cloud metadata services answer on link-local addresses, but some are also reachable by a name that a resolver
// inside the cloud may map anywhere; refuse the names too.
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const V4_BLOCKED: Array<[string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4], ['255.255.255.255', 32],
];
// ::/96 covers :: and ::1 and the deprecated IPv4-compatible form; 64:ff9b:1::/48 is local-use NAT64.
const V6_BLOCKED: Array<[string, number]> = [
  ['::', 96], ['64:ff9b:1::', 48], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32],
];
const BLOCKED = new net.BlockList();
for (const [a, p] of V4_BLOCKED) BLOCKED.addSubnet(a, p, 'ipv4');
for (const [a, p] of V6_BLOCKED) BLOCKED.addSubnet(a, p, 'ipv6');

/** The 16 bytes of an IPv6 address (already validated by net.isIP). */
function v6Bytes(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const groups = (s: string): number[] =>
    s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? g.split('.').map(Number) : [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  return [...h, ...new Array<number>(16 - h.length - t.length).fill(0), ...t];
}

/** IPv4 carried inside an IPv6 address that reaches that IPv4 host: mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96), 6to4 (2002::/16). */
function embeddedV4(ip: string): string | null {
  const b = v6Bytes(ip);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 255 && b[11] === 255) return b.slice(12).join('.');
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return b.slice(12).join('.');
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return null;
}

// Refused even with allowPrivate: opening a LAN file server must not open the cloud's credential endpoints
// (link-local 169.254/16 holds AWS/GCP/Azure metadata, fd00:ec2::254 AWS over IPv6, 100.100.100.200 Alibaba).
const METADATA = new net.BlockList();
METADATA.addSubnet('169.254.0.0', 16, 'ipv4');
METADATA.addAddress('100.100.100.200', 'ipv4');
METADATA.addAddress('fd00:ec2::254', 'ipv6');

export function isMetadataAddress(ip: string): boolean {
  const addr = ip.replace(/%.*$/, '');
  const family = net.isIP(addr);
  if (family === 4) return METADATA.check(addr, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedV4(addr);
  return v4 !== null ? METADATA.check(v4, 'ipv4') : METADATA.check(addr, 'ipv6');
}

/** The default policy: true when `ip` is a literal address outside every private, reserved and special range. */
export function isPublicAddress(ip: string): boolean {
  const addr = ip.replace(/%.*$/, ''); // a zone id names an interface, not a different host
  const family = net.isIP(addr);
  if (family === 4) return !BLOCKED.check(addr, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedV4(addr);
  if (v4 !== null) return isPublicAddress(v4);
  return !BLOCKED.check(addr, 'ipv6');
}

const invalid = (message: string, opts: { hint?: string; details?: unknown; cause?: unknown } = {}) =>
  new AppError('invalid_input', `media.url: ${message}`, opts);
function refused(host: string, address: string): AppError {
  const what = host === address ? host : `${host} resolves to ${address}, which`;
  // Cloud metadata stays refused whatever WHATSAPP_MEDIA_URL_ALLOW_PRIVATE says: pointing at that setting would mislead.
  if (isMetadataAddress(address)) return invalid(`${what} is a cloud metadata address; always refused`, { details: { address } });
  return invalid(`${what} is a private or reserved address; refused`, { hint: PRIVATE_HINT, details: { address } });
}

function checkUrl(url: URL, opts: UrlFetchOptions): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`only http and https URLs can be fetched, not ${url.protocol}`);
  if (url.username || url.password) throw invalid('credentials in the URL are not allowed');
  const host = bareHost(url);
  if (METADATA_HOSTS.has(host.replace(/\.+$/, ''))) throw invalid(`${host} is a cloud metadata service; refused`);
  // An IP literal skips the socket's lookup, so it is checked here; nothing can rebind a literal.
  if (net.isIP(host) !== 0 && !allowed(host, net.isIP(host) as 4 | 6, opts)) throw refused(host, host);
}

const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');
const allowed = (ip: string, family: 4 | 6, opts: UrlFetchOptions) =>
  !isMetadataAddress(ip) && (opts.allowPrivate || (opts.isPublicAddress ? opts.isPublicAddress(ip, family) : isPublicAddress(ip)));

/** The socket's lookup: resolve every address, refuse the name if any is refused, hand the checked ones to connect. */
function pinnedLookup(opts: UrlFetchOptions): net.LookupFunction {
  const resolve = opts.lookup ?? ((host, cb) => dns.lookup(host, { all: true }, cb));
  return (hostname, options, cb) => {
    resolve(hostname, (err, addresses) => {
      if (err || addresses.length === 0) return cb(invalid(`cannot resolve ${hostname} (${err?.code ?? 'no addresses'})`, { cause: err }), '', 0);
      for (const a of addresses) {
        if (!allowed(a.address, a.family === 6 ? 6 : 4, opts)) return cb(refused(hostname, a.address), '', 0);
      }
      // Every address is checked, so connect (and Happy Eyeballs, which asks for all) may use any of them.
      if (options.all) cb(null, addresses);
      else cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

const tooLarge = (max: number) =>
  new AppError('payload_too_large', `media.url: the media is larger than ${max} bytes`, { details: { max_bytes: max } });

function networkError(err: unknown, url: URL): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'network error';
  return invalid(`cannot fetch from ${url.host} (${code})`, { cause: err });
}

/** One GET. Resolves at the response headers; `setKill` receives how to abort it meanwhile. */
function requestOnce(url: URL, opts: UrlFetchOptions, setKill: (kill: Kill) => void): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request({
      method: 'GET',
      hostname: bareHost(url), // TLS SNI and certificate checks use the name, the socket uses the pinned address
      port: url.port || undefined,
      path: url.pathname + url.search,
      headers: { Host: url.host, 'User-Agent': 'whatsapp-mcp-api', Accept: '*/*', 'Accept-Encoding': 'identity' },
      lookup: pinnedLookup(opts),
      agent: false, // a fresh socket per hop: nothing pooled outlives the download
    });
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
      req.destroy(err);
    };
    const ms = opts.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => fail(new AppError('timeout', `media.url: no response from ${url.host} within ${ms} ms`)), ms);
    timer.unref();
    setKill(fail);
    req.on('error', (err) => fail(networkError(err, url)));
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.end();
  });
}

/** Content-Disposition filename* (RFC 5987), then filename, then the URL's last segment if it looks like a file name. */
function parseFilename(disposition: string | undefined, finalUrl: URL): string | null {
  const d = disposition ?? '';
  const star = /(?:^|;)\s*filename\*\s*=\s*[\w!#$%&+^`{}~-]+'[^']*'([^;\s]+)/i.exec(d)?.[1];
  const plain = /(?:^|;)\s*filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)/i.exec(d)?.[1]?.trim();
  const last = finalUrl.pathname.split('/').pop() ?? '';
  const name =
    (star !== undefined ? decode(star) : null) ?? // null too for a charset other than UTF-8 that does not decode
    (plain ? plain.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1') : null) ??
    (/\.[A-Za-z0-9]{1,10}$/.test(last) ? decode(last) : null);
  // A name is only ever a label: no directories, no control characters.
  const base = name?.split(/[\\/]/).pop()?.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return base && base !== '.' && base !== '..' ? base : null;
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null; // a malformed escape: no name rather than a wrong one
  }
}

export async function fetchMediaUrl(rawUrl: string, opts: UrlFetchOptions): Promise<FetchedMedia> {
  if (!URL.canParse(rawUrl)) throw invalid('not a valid URL');
  let url = new URL(rawUrl);
  const { signal } = opts;
  // Like fetch: an abort rejects with the signal's reason (an AbortError unless the caller gave another).
  const abortError = () => (signal?.reason instanceof Error ? signal.reason : Object.assign(new Error('aborted'), { name: 'AbortError' }));
  if (signal?.aborted) throw abortError();
  let killed: Error | null = null;
  let kill: Kill = () => {};
  const stop = (err: Error) => {
    killed ??= err;
    kill(err);
  };
  // Each stage (a hop's request, then the body) registers how to abort it; a stop that came between stages applies at once.
  const setKill = (k: Kill) => {
    kill = k;
    if (killed) k(killed);
  };
  const totalMs = opts.totalTimeoutMs ?? 120_000;
  const total = setTimeout(() => stop(new AppError('timeout', `media.url: download did not finish within ${totalMs} ms`)), totalMs);
  total.unref();
  const onAbort = () => stop(abortError());
  signal?.addEventListener('abort', onAbort, { once: true });
  const finish = () => {
    clearTimeout(total);
    signal?.removeEventListener('abort', onAbort);
  };

  try {
    for (let hop = 0; ; hop++) {
      if (killed) throw killed;
      checkUrl(url, opts);
      const res = await requestOnce(url, opts, setKill);
      if (killed) throw (res.destroy(), killed);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location) {
        res.destroy();
        if (hop >= (opts.maxRedirects ?? 5)) throw invalid(`too many redirects (more than ${opts.maxRedirects ?? 5})`);
        if (!URL.canParse(location, url.href)) throw invalid(`redirect to an invalid URL (${location.slice(0, 200)})`);
        url = new URL(location, url);
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw invalid(`the server answered ${status} ${res.statusMessage ?? ''}`.trimEnd(), { details: { status } });
      }
      const lengthHeader = res.headers['content-length'];
      const contentLength = lengthHeader && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
      if (contentLength !== null && contentLength > opts.maxBytes) {
        res.destroy();
        throw tooLarge(opts.maxBytes);
      }
      return {
        body: streamBody(res, url, opts.maxBytes, setKill, finish),
        contentType: res.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || null,
        filename: parseFilename(res.headers['content-disposition'], url),
        contentLength,
        finalUrl: url.href,
      };
    }
  } catch (err) {
    finish();
    throw err;
  }
}

/** The response as a counted stream; closing it (end, error, caller's destroy) tears down the socket and the timers. */
function streamBody(res: http.IncomingMessage, url: URL, maxBytes: number, setKill: (kill: Kill) => void, finish: () => void): Readable {
  let received = 0;
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > maxBytes) cb(tooLarge(maxBytes));
      else cb(null, chunk);
    },
  });
  setKill((err) => body.destroy(err));
  res.on('error', (err) => body.destroy(networkError(err, url)));
  body.on('close', () => {
    finish();
    res.destroy();
  });
  res.pipe(body);
  return body;
}
