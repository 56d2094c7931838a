// Request checks shared by every route (REST, MCP, /qr): DNS-rebinding (Host), cross-site (Origin), API key, CORS.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Config, isLoopbackHost } from '../config.js';
import { AppError } from '../errors.js';

export type SecurityConfig = Pick<Config, 'apiKey' | 'allowedHosts' | 'corsOrigins'>;

const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, X-Api-Key, Idempotency-Key, Prefer, Last-Event-ID, Mcp-Session-Id, Mcp-Protocol-Version';
const CORS_EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, Retry-After, WWW-Authenticate';

function hostnameOf(hostHeader: string): string {
  // "[::1]:8790" → "[::1]", "localhost:8790" → "localhost"
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0]!;
}

export class RequestGuard {
  private readonly allowedHosts: Set<string>;
  private readonly corsOrigins: Set<string>;
  private readonly keyDigest: Buffer | null;

  constructor(cfg: SecurityConfig) {
    this.allowedHosts = new Set(cfg.allowedHosts.map((h) => h.toLowerCase()));
    this.corsOrigins = new Set(cfg.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
    this.keyDigest = cfg.apiKey ? digest(cfg.apiKey) : null;
  }

  get requiresKey(): boolean {
    return this.keyDigest !== null;
  }

  /** Host and Origin: a web page must not reach this server through a rebound DNS name or a cross-site request. */
  checkHostAndOrigin(req: IncomingMessage): void {
    const host = req.headers.host;
    if (!host || !this.hostAllowed(hostnameOf(host.toLowerCase()))) {
      throw new AppError('forbidden_origin', `Host ${JSON.stringify(host ?? '')} is not allowed`, {
        hint: 'Add the name to WHATSAPP_ALLOWED_HOSTS if this server is meant to be reached by it.',
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      throw new AppError('forbidden_origin', `Origin ${JSON.stringify(origin)} is not allowed`, { hint: 'Add the origin to WHATSAPP_CORS_ORIGINS to let that page call this server.' });
    }
  }

  /** `browser`: also offer Basic auth, so a browser prompts for the key (the /qr page); any user name works. */
  checkApiKey(req: IncomingMessage, browser = false): void {
    if (!this.keyDigest) return;
    if (!this.hasValidKey(req)) {
      const challenge = 'Bearer realm="whatsapp-mcp-api"';
      throw new AppError('unauthorized', 'Missing or wrong API key', {
        hint: browser ? 'Enter the WHATSAPP_API_KEY as the password (any user name).' : 'Send Authorization: Bearer <WHATSAPP_API_KEY> (or X-Api-Key).',
        headers: { 'www-authenticate': browser ? `${challenge}, Basic realm="whatsapp-mcp-api", charset="UTF-8"` : challenge },
      });
    }
  }

  hasValidKey(req: IncomingMessage): boolean {
    if (!this.keyDigest) return true;
    const presented = presentedKey(req);
    if (typeof presented !== 'string' || presented === '') return false;
    // Compare digests so the comparison is constant-time whatever the presented length.
    return timingSafeEqual(digest(presented), this.keyDigest);
  }

  /** CORS headers for an opted-in origin; nothing (no wildcard) otherwise. */
  corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!origin || !this.corsOrigins.has(origin.toLowerCase())) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': CORS_EXPOSE_HEADERS,
      vary: 'Origin',
    };
  }

  preflight(req: IncomingMessage, res: ServerResponse): void {
    const cors = this.corsHeaders(req);
    if (!cors['access-control-allow-origin']) throw new AppError('forbidden_origin', 'CORS is not enabled for this origin', { hint: 'Set WHATSAPP_CORS_ORIGINS.' });
    res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': CORS_ALLOW_HEADERS,
      'access-control-max-age': '600',
    });
    res.end();
  }

  private hostAllowed(hostname: string): boolean {
    return isLoopbackHost(hostname) || this.allowedHosts.has(hostname);
  }

  private originAllowed(origin: string): boolean {
    if (this.corsOrigins.has(origin.toLowerCase())) return true;
    try {
      const url = new URL(origin);
      return this.hostAllowed(url.hostname.toLowerCase()) || this.hostAllowed(`[${url.hostname}]`);
    } catch {
      return false;
    }
  }
}

function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  const scheme = auth.slice(0, auth.indexOf(' ')).toLowerCase();
  if (scheme === 'bearer') return auth.slice(7).trim();
  if (scheme === 'basic') {
    // user:password, where the password is the key
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x : undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
