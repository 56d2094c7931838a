// Request checks shared by every route (REST, MCP, /qr): DNS-rebinding (Host), cross-site (Origin), who the API key
// is (a Principal: WHATSAPP_API_KEY, a stored key, or anonymous on a server with no key at all), CORS.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Config, isLoopbackHost } from '../config.js';
import { AppError } from '../errors.js';
import { type Door, type KeyService, type Principal, type Scope, adminPrincipal, digest } from '../service/keys.js';

export type SecurityConfig = Pick<Config, 'host' | 'apiKey' | 'allowedHosts' | 'corsOrigins'>;

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
  private readonly loopback: boolean;
  /** Host and Origin header values already judged: the answer is the config's, fixed, and clients repeat one value. */
  private readonly hostVerdicts = new Map<string, boolean>();
  private readonly originVerdicts = new Map<string, boolean>();
  /** WHATSAPP_API_KEY's and anonymous's principals per door, and their AuthInfo: the same for every request. */
  private readonly fixed = { env: new Map<Door, FixedPrincipal>(), anonymous: new Map<Door, FixedPrincipal>() };

  constructor(
    cfg: SecurityConfig,
    private readonly keys?: Pick<KeyService, 'verify' | 'hasKeys'>,
  ) {
    this.allowedHosts = new Set(cfg.allowedHosts.map((h) => h.toLowerCase()));
    this.corsOrigins = new Set(cfg.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
    this.keyDigest = cfg.apiKey ? digest(cfg.apiKey) : null;
    this.loopback = isLoopbackHost(cfg.host);
  }

  /**
   * A key is needed once WHATSAPP_API_KEY is set or any key was added (`keys add`); before that, loopback is open.
   * Never open on another address: startApp refuses to bind one without a key, and revoking the last stored key
   * while it runs leaves every request refused, not the network let in.
   */
  get requiresKey(): boolean {
    return this.keyDigest !== null || !this.loopback || (this.keys?.hasKeys ?? false);
  }

  /** Host and Origin: a web page must not reach this server through a rebound DNS name or a cross-site request. */
  checkHostAndOrigin(req: IncomingMessage): void {
    const host = req.headers.host;
    if (!host || !(this.hostVerdicts.get(host) ?? remember(this.hostVerdicts, host, this.hostAllowed(hostnameOf(host.toLowerCase()))))) {
      throw new AppError('forbidden_origin', `Host ${JSON.stringify(host ?? '')} is not allowed`, {
        hint: 'Add the name to WHATSAPP_ALLOWED_HOSTS if this server is meant to be reached by it.',
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !(this.originVerdicts.get(origin) ?? remember(this.originVerdicts, origin, this.originAllowed(origin)))) {
      throw new AppError('forbidden_origin', `Origin ${JSON.stringify(origin)} is not allowed`, { hint: 'Add the origin to WHATSAPP_CORS_ORIGINS to let that page call this server.' });
    }
  }

  /**
   * Who sends this request; 401 when it needs a key and carries no valid one. `browser`: also offer Basic auth, so a
   * browser prompts for the key (the /qr page); any user name works. Also sets `req.auth` (the key's name, never the
   * key), which the MCP SDK's node transport hands to tool handlers as `authInfo`.
   */
  authenticate(req: IncomingMessage, door: Door = 'rest', browser = false): Principal {
    let p: Principal | null = null;
    let auth: McpAuthInfo | undefined;
    const presented = presentedKey(req);
    if (presented) {
      // Digests, so the comparison is constant-time whatever the presented length.
      if (this.keyDigest && timingSafeEqual(digest(presented), this.keyDigest)) ({ principal: p, auth } = this.fixedPrincipal('env', door));
      else p = this.keys?.verify(presented, door) ?? null;
    }
    // After verify, so a presented key costs one look at access.db, not two (hasKeys reuses it); a keyless request on
    // a server without keys costs none most of the time (KEYLESS_RECHECK_MS).
    if (!p && !this.requiresKey) ({ principal: p, auth } = this.fixedPrincipal('anonymous', door));
    if (!p) {
      const challenge = 'Bearer realm="whatsapp-mcp-api"';
      throw new AppError('unauthorized', 'Missing or wrong API key', {
        hint: browser ? 'Enter the API key as the password (any user name).' : 'Send Authorization: Bearer <key> (or X-Api-Key): WHATSAPP_API_KEY, or a key from whatsapp-mcp-api keys add.',
        headers: { 'www-authenticate': browser ? `${challenge}, Basic realm="whatsapp-mcp-api", charset="UTF-8"` : challenge },
      });
    }
    principals.set(req, p);
    (req as IncomingMessage & { auth?: McpAuthInfo }).auth = auth ?? authInfoOf(p);
    return p;
  }

  /** Frozen, so sharing one between requests cannot carry a change from one to the next. */
  private fixedPrincipal(name: 'env' | 'anonymous', door: Door): FixedPrincipal {
    let known = this.fixed[name].get(door);
    if (!known) {
      const principal = Object.freeze(adminPrincipal(name, door));
      this.fixed[name].set(door, (known = { principal, auth: authInfoOf(principal) }));
    }
    return known;
  }

  /**
   * authenticate, and 403 forbidden when the key lacks `scope` (pages and the event stream, which no operation serves).
   * `accountBound`: the request is for one account, and the caller admits the key to it (admitToAccount, audited).
   * Otherwise it is a page: the server's (/metrics counts every account) or the default account's (/qr), so not for a
   * key limited to some accounts.
   */
  authorize(req: IncomingMessage, scope: Scope, door: Door = 'rest', browser = false, accountBound = false): Principal {
    const p = this.authenticate(req, door, browser);
    if (!p.scopes.has(scope)) throw new AppError('forbidden', `This key lacks the ${scope} scope`, { details: { scope, key: p.name } });
    // Admin pages (/qr) show the whole account: not for a key limited to some chats (access.ts, same rule).
    if (scope === 'admin' && p.chats !== null) throw new AppError('forbidden', 'This key is limited to some chats; admin pages reach beyond them', { details: { scope, key: p.name } });
    if (!accountBound && p.accounts !== null) {
      // No `scope` in details: the key has it; what it lacks is every account (access.ts requireAccount, same shape).
      throw new AppError('forbidden', `This key is limited to some accounts (${p.accounts.join(', ')}); this page is the whole server’s or the default account’s, whatever the key’s scopes`, {
        hint: `The key "${p.name}" is limited to: ${p.accounts.join(', ')}. Open it with a key without --accounts.`,
        details: { key: p.name, accounts: [...p.accounts], reason: 'limited to accounts' },
      });
    }
    return p;
  }

  checkApiKey(req: IncomingMessage, browser = false): void {
    this.authenticate(req, 'rest', browser);
  }

  hasValidKey(req: IncomingMessage): boolean {
    try {
      this.authenticate(req);
      return true;
    } catch {
      return false;
    }
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

const VERDICTS_MAX = 256;

interface FixedPrincipal {
  principal: Principal;
  auth: McpAuthInfo;
}

/** Keep a verdict on a header value; past VERDICTS_MAX distinct values the memory starts over. */
function remember(verdicts: Map<string, boolean>, value: string, ok: boolean): boolean {
  if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
  verdicts.set(value, ok);
  return ok;
}

function authInfoOf(p: Principal): McpAuthInfo {
  return { token: p.name, clientId: p.name, scopes: [...p.scopes], extra: { principal: p } };
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

/** The shape of the MCP SDK's AuthInfo (kept structural: this layer does not import the SDK). */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  extra: { principal: Principal };
}

const principals = new WeakMap<IncomingMessage, Principal>();

/** The principal `authenticate` found for this request (the MCP door asks this); undefined before it ran. */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

/** The principal inside the `authInfo` the MCP SDK passes to handlers (from req.auth above). */
export function principalOfAuthInfo(authInfo: unknown): Principal | undefined {
  return (authInfo as Partial<McpAuthInfo> | undefined)?.extra?.principal;
}
