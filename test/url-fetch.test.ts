import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../src/errors.js';
import { fetchMediaUrl, isPublicAddress, type UrlFetchOptions } from '../src/service/url-fetch.js';

interface TestServer {
  port: number;
  requests: http.IncomingMessage[];
  connections: number;
  /** Resolves when a server-side socket closes (the client gave up on it). */
  socketClosed: Promise<void>;
}

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer();
  const state: TestServer = { port: 0, requests: [], connections: 0, socketClosed: new Promise(() => {}) };
  let closed!: () => void;
  state.socketClosed = new Promise((r) => (closed = r));
  server.on('connection', (socket) => {
    state.connections++;
    socket.on('close', () => closed());
  });
  server.on('request', (req, res) => {
    state.requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const PRIVATE_OK: UrlFetchOptions = { maxBytes: 10_000_000, allowPrivate: true };

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The AppError a promise rejects with; fails the test if it resolves or rejects with something else. */
async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const e = err as AppError;
  expect(e.message.startsWith('media.url: ')).toBe(true);
  return e;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Hostname → address map for the lookup hook; the policy hook trusts only 127.0.0.1. */
function fakeDns(map: Record<string, string | string[]>): Pick<UrlFetchOptions, 'lookup' | 'isPublicAddress'> & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isPublicAddress: (ip) => ip === '127.0.0.1',
    lookup: (hostname, cb) => {
      asked.push(hostname);
      const a = map[hostname];
      if (a === undefined) {
        const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return cb(err, []);
      }
      cb(null, (Array.isArray(a) ? a : [a]).map((address) => ({ address, family: 4 })));
    },
  };
}

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true], ['1.1.1.1', true], ['2606:4700::1', true], ['2a00:1450:4001::200e', true], ['::ffff:8.8.8.8', true],
    ['64:ff9b::808:808', true], ['172.32.0.1', true], ['100.128.0.1', true], ['192.0.3.1', true],
    ['0.0.0.0', false], ['10.1.2.3', false], ['100.64.0.1', false], ['127.0.0.1', false], ['127.255.255.254', false],
    ['169.254.169.254', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.0.0.8', false], ['192.0.2.1', false],
    ['192.168.1.1', false], ['198.18.0.1', false], ['198.19.255.255', false], ['198.51.100.7', false], ['203.0.113.9', false],
    ['224.0.0.1', false], ['239.255.255.250', false], ['240.0.0.1', false], ['255.255.255.255', false],
    ['::', false], ['::1', false], ['::ffff:127.0.0.1', false], ['::ffff:7f00:1', false], ['::ffff:10.0.0.1', false],
    ['64:ff9b::7f00:1', false], ['64:ff9b::a9fe:a9fe', false], ['2002:7f00:1::', false], ['fc00::1', false], ['fd12:3456::1', false],
    ['fe80::1', false], ['fe80::1%eth0', false], ['ff02::1', false], ['2001:db8::1', false],
    ['localhost', false], ['', false], ['127.1', false],
  ])('%s → %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe('fetchMediaUrl: address checks', () => {
  it('refuses 127.0.0.1 by default without connecting', async () => {
    const srv = await serve((_req, res) => res.end('secret'));
    const err = await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/x.png`, { maxBytes: 1000, allowPrivate: false }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/private/);
    expect(err.hint).toBe('Set WHATSAPP_MEDIA_URL_ALLOW_PRIVATE=true to fetch from private addresses');
    expect(srv.connections).toBe(0);
    expect(srv.requests).toHaveLength(0);
  });

  it.each([
    ['http://[::1]:1/', /::1 is a private/],
    ['http://0x7f000001:1/', /127\.0\.0\.1 is a private/],
    ['http://2130706433/', /127\.0\.0\.1 is a private/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
    ['http://[::ffff:127.0.0.1]/', /::ffff:7f00:1 is a private/],
    ['http://[fe80::1]/', /private/],
    ['http://metadata.google.internal/computeMetadata/v1/', /metadata/],
    ['http://localhost:1/', /localhost resolves to .* private/],
    ['file:///etc/passwd', /only http and https/],
    ['ftp://x/', /only http and https/],
    ['http://user:pw@example.com/', /credentials/],
    ['http://user@example.com/', /credentials/],
    ['not a url', /not a valid URL/],
    ['javascript:alert(1)', /only http and https/],
  ])('refuses %s', async (url, message) => {
    const err = await appError(fetchMediaUrl(url, { maxBytes: 1000, allowPrivate: false }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(message);
  });

  it('refuses a name if any of its addresses is refused, before connecting', async () => {
    const srv = await serve((_req, res) => res.end('x'));
    const dnsHooks = fakeDns({ 'mixed.test': ['127.0.0.1', '127.0.0.2'] });
    const err = await appError(fetchMediaUrl(`http://mixed.test:${srv.port}/`, { maxBytes: 1000, allowPrivate: false, ...dnsHooks }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/resolves to 127\.0\.0\.2.*private/);
    expect(srv.connections).toBe(0);
  });

  it('DNS failure and connection refused are invalid_input', async () => {
    const dnsErr = await appError(fetchMediaUrl('http://nowhere.test/', { maxBytes: 1000, allowPrivate: false, ...fakeDns({}) }));
    expect(dnsErr.code).toBe('invalid_input');
    expect(dnsErr.message).toMatch(/ENOTFOUND/);
    const srv = await serve(() => {});
    const port = srv.port;
    servers.pop()!.close(); // a port nobody listens on
    const refusedErr = await appError(fetchMediaUrl(`http://127.0.0.1:${port}/`, PRIVATE_OK));
    expect(refusedErr.code).toBe('invalid_input');
    expect(refusedErr.message).toMatch(/ECONNREFUSED/);
  });
});

describe('fetchMediaUrl: downloads', () => {
  it('with allowPrivate the bytes arrive intact, with type and filename', async () => {
    const payload = randomBytes(1_500_000);
    const srv = await serve((_req, res) => {
      res.writeHead(200, {
        'Content-Type': 'Image/PNG; charset=binary',
        'Content-Length': payload.length,
        'Content-Disposition': `attachment; filename="fallback.png"; filename*=UTF-8''na%C3%AFve%20photo.png`,
      });
      res.end(payload);
    });
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/dl?id=1`, PRIVATE_OK);
    expect(got.contentType).toBe('image/png');
    expect(got.filename).toBe('naïve photo.png');
    expect(got.contentLength).toBe(payload.length);
    expect(got.finalUrl).toBe(`http://127.0.0.1:${srv.port}/dl?id=1`);
    expect(sha(await readAll(got.body))).toBe(sha(payload));
    const req = srv.requests[0]!;
    expect(req.headers['user-agent']).toBe('whatsapp-mcp-api');
    expect(req.headers.accept).toBe('*/*');
    expect(req.headers['accept-encoding']).toBe('identity');
    expect(req.headers.authorization).toBeUndefined();
    expect(req.headers.cookie).toBeUndefined();
  });

  it('takes the filename from a quoted filename=, else from the URL path, never with directories', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/cd') res.setHeader('Content-Disposition', 'inline; filename="..\\\\..\\\\evil \\"x\\".pdf"');
      if (req.url === '/inline/clip.mp4') res.setHeader('Content-Disposition', 'inline');
      res.end('x');
    });
    const cases: Array<[string, string | null]> = [
      ['/cd', 'evil "x".pdf'], ['/files/My%20Photo.JPG', 'My Photo.JPG'], ['/files/noext', null], ['/', null],
      ['/inline/clip.mp4', 'clip.mp4'],
    ];
    for (const [path, expected] of cases) {
      const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}${path}`, PRIVATE_OK);
      await readAll(got.body);
      expect(got.filename, path).toBe(expected);
      expect(got.contentType).toBeNull();
    }
  });
});

describe('fetchMediaUrl: redirects', () => {
  it('refuses a redirect to a private address before connecting to it', async () => {
    const dnsHooks = fakeDns({ 'public.test': '127.0.0.1', 'private.test': '127.0.0.2' });
    let port = 0;
    const srv = await serve((req, res) => {
      if (req.url === '/start') res.writeHead(302, { Location: `http://private.test:${port}/loot` }).end();
      else res.end('loot');
    });
    port = srv.port;
    const err = await appError(fetchMediaUrl(`http://public.test:${port}/start`, { maxBytes: 1000, allowPrivate: false, ...dnsHooks }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/private\.test resolves to 127\.0\.0\.2.*private/);
    expect(dnsHooks.asked).toEqual(['public.test', 'private.test']);
    expect(srv.requests.map((r) => r.url)).toEqual(['/start']);
    expect(srv.requests[0]!.headers.host).toBe(`public.test:${port}`);
  });

  it('re-checks the scheme of each hop', async () => {
    const srv = await serve((_req, res) => res.writeHead(301, { Location: 'file:///etc/passwd' }).end());
    const err = await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, PRIVATE_OK));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/file:/);
  });

  it('follows up to 5 relative redirects (301, 302, 303, 307, 308), refuses the 6th', async () => {
    const codes = [301, 302, 303, 307, 308, 302];
    const srv = await serve((req, res) => {
      const n = Number(req.url!.split('/')[2]);
      if (n > 0) res.writeHead(codes[n - 1]!, { Location: `../r/${n - 1}` }).end();
      else res.writeHead(200, { 'Content-Type': 'text/plain' }).end('done');
    });
    const dnsHooks = fakeDns({ 'public.test': '127.0.0.1' });
    const ok = await fetchMediaUrl(`http://public.test:${srv.port}/r/5`, { maxBytes: 1000, allowPrivate: false, ...dnsHooks });
    expect((await readAll(ok.body)).toString()).toBe('done');
    expect(ok.finalUrl).toBe(`http://public.test:${srv.port}/r/0`);
    expect(srv.requests).toHaveLength(6);

    srv.requests.length = 0;
    const err = await appError(fetchMediaUrl(`http://public.test:${srv.port}/r/6`, { maxBytes: 1000, allowPrivate: false, ...dnsHooks }));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/too many redirects/);
    expect(srv.requests).toHaveLength(6); // the 7th hop was never requested
  });
});

describe('fetchMediaUrl: limits', () => {
  it('refuses a Content-Length over the cap without reading the body', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 1_000_000 });
      res.write(Buffer.alloc(1000)); // and never the rest
    });
    const err = await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, maxBytes: 999_999 }));
    expect(err.code).toBe('payload_too_large');
    expect(err.httpStatus).toBe(413);
    expect(err.details).toEqual({ max_bytes: 999_999 });
    await srv.socketClosed;
  });

  it('errors a chunked body once more than maxBytes arrived, and drops the connection', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200); // no Content-Length: chunked
      const tick = setInterval(() => res.write(Buffer.alloc(100)), 5);
      res.on('close', () => clearInterval(tick));
    });
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, maxBytes: 250 });
    expect(got.contentLength).toBeNull();
    const err = await appError(readAll(got.body));
    expect(err.code).toBe('payload_too_large');
    expect(err.details).toEqual({ max_bytes: 250 });
    await srv.socketClosed;
  });

  it('accepts a body of exactly maxBytes', async () => {
    const srv = await serve((_req, res) => {
      res.write(Buffer.alloc(200));
      res.end(Buffer.alloc(50));
    });
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, maxBytes: 250 });
    expect((await readAll(got.body)).length).toBe(250);
  });

  it('a non-2xx answer is invalid_input naming the status', async () => {
    const srv = await serve((_req, res) => res.writeHead(404).end('nope'));
    const err = await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/missing.png`, PRIVATE_OK));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/404/);
    expect(err.details).toEqual({ status: 404 });
  });

  it('times out when the headers never come (connect timeout)', async () => {
    const srv = await serve(() => {}); // accepts, never answers
    const started = Date.now();
    const err = await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, connectTimeoutMs: 200 }));
    expect(err.code).toBe('timeout');
    expect(err.httpStatus).toBe(504);
    expect(Date.now() - started).toBeLessThan(5000);
    await srv.socketClosed;
  });

  it('times out a body that trickles past the total timeout', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'video/mp4' });
      const tick = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(tick));
    });
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, totalTimeoutMs: 300 });
    expect(got.contentType).toBe('video/mp4');
    const err = await appError(readAll(got.body));
    expect(err.code).toBe('timeout');
    await srv.socketClosed;
  });
});

describe('fetchMediaUrl: cleanup', () => {
  it('errors the body when the server drops the connection mid-download', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 1000 });
      res.write(Buffer.alloc(100), () => res.socket?.destroy());
    });
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, PRIVATE_OK);
    const err = await appError(readAll(got.body));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/ECONNRESET/);
  });

  it('its timers never hold the process open and are all cleared once the download settles', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/hop') res.writeHead(302, { Location: '/ok' }).end();
      else if (req.url === '/ok') res.end('fine');
      else res.writeHead(500).end();
    });
    const realSetTimeout = globalThis.setTimeout;
    const ours: NodeJS.Timeout[] = [];
    // Distinctive delays pick our timers out of anything else that runs meanwhile.
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      const t = realSetTimeout(fn, ms);
      if (ms === 4321 || ms === 54_321) ours.push(t);
      return t;
    }) as never);
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    try {
      const opts = { ...PRIVATE_OK, connectTimeoutMs: 4321, totalTimeoutMs: 54_321 };
      const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/hop`, opts);
      expect((await readAll(got.body)).toString()).toBe('fine');
      await appError(fetchMediaUrl(`http://127.0.0.1:${srv.port}/fail`, opts));
      await new Promise((r) => setImmediate(r)); // 'close' follows 'end'
      expect(ours).toHaveLength(5); // two downloads, three hops
      for (const t of ours) {
        expect(t.hasRef()).toBe(false);
        expect(cleared).toHaveBeenCalledWith(t);
      }
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('fetchMediaUrl: abort', () => {
  it('an aborted signal rejects before the headers and drops the connection', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    const srv = await serve(() => arrived());
    const ctl = new AbortController();
    const p = fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, signal: ctl.signal });
    await requestArrived;
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await srv.socketClosed;
  });

  it('an abort after the headers errors the body', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200);
      res.write('first');
    });
    const ctl = new AbortController();
    const got = await fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, signal: ctl.signal });
    const reading = readAll(got.body);
    ctl.abort(new AppError('timeout', 'media.url: caller gave up'));
    await expect(reading).rejects.toMatchObject({ code: 'timeout', message: 'media.url: caller gave up' });
    await srv.socketClosed;
  });

  it('a signal aborted up front rejects without connecting', async () => {
    const srv = await serve((_req, res) => res.end('x'));
    await expect(fetchMediaUrl(`http://127.0.0.1:${srv.port}/`, { ...PRIVATE_OK, signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(srv.connections).toBe(0);
  });
});

describe('fetchMediaUrl: cloud metadata', () => {
  it.each(['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:169.254.169.254]/', 'http://100.100.100.200/', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/'])(
    'refuses %s even with allowPrivate',
    async (url) => {
      await expect(fetchMediaUrl(url, { maxBytes: 1024, allowPrivate: true, connectTimeoutMs: 500 })).rejects.toMatchObject({ code: 'invalid_input' });
    },
  );
});
