// The client commands' one way to the server: fetch with the API key, and every way a call can fail turned into a
// sentence that says what to do (no server running, wrong key, not our server, the server's own error and hint).
import { DEFAULT_ACCOUNT, accountIdSchema } from '../accounts/layout.js';
import { OPTIONS, readEnv } from '../config.js';
import { UsageError } from './args.js';

/** A failure the user should read: printed on stderr, then the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The server answered with its error envelope `{ok: false, error: {code, message, hint?}}`. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    /** The answer as it came, for --json. */
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Ctrl-C: not a failure to explain, just a stop. */
export class Cancelled extends Error {
  constructor() {
    super('Cancelled');
  }
}

export interface Target {
  /** Base URL without a trailing slash. */
  url: string;
  apiKey: string | undefined;
  /** The account the command works on (--account); undefined or `default`: the default account's plain /api routes. */
  account?: string | undefined;
}

const DEFAULT_REQUEST_MS = 15_000;

/**
 * Where the server is: --url, else WHATSAPP_URL, else the address the server itself would bind from the same
 * WHATSAPP_MCP_HOST / WHATSAPP_MCP_PORT (a wildcard bind is reached on loopback).
 */
export function resolveTarget(env: Record<string, string | undefined>, flags: { url?: string | undefined; apiKey?: string | undefined; account?: string | undefined }): Target {
  // Blank (whitespace) env values are unset, as for the server (readEnv).
  const apiKey = flags.apiKey ?? readEnv(env, 'WHATSAPP_API_KEY');
  const account = accountOf(flags.account);
  const given = flags.url ?? readEnv(env, 'WHATSAPP_URL');
  if (given !== undefined && given.trim() !== '') {
    let url: URL;
    try {
      url = new URL(given.trim());
    } catch {
      throw new UsageError(`Invalid server URL ${JSON.stringify(given)}: give one such as http://127.0.0.1:8790`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`Invalid server URL ${JSON.stringify(given)}: it must start with http:// or https://`);
    return { url: url.href.replace(/\/+$/, ''), apiKey: apiKey || undefined, account };
  }
  const host = optionValue(env, 'host');
  const port = optionValue(env, 'port');
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  const shown = reach.includes(':') && !reach.startsWith('[') ? `[${reach}]` : reach;
  return { url: `http://${shown}:${port}`, apiKey: apiKey || undefined, account };
}

/** --account checked by the rule the server names accounts with (a typo is a usage error, not a 404 later). */
function accountOf(given: string | undefined): string | undefined {
  if (given === undefined) return undefined;
  const parsed = accountIdSchema.safeParse(given);
  if (!parsed.success) throw new UsageError(`Invalid --account ${JSON.stringify(given)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** One server option (its env variable or default), checked by the same schema the server uses. */
function optionValue(env: Record<string, string | undefined>, key: 'host' | 'port'): string {
  const spec = OPTIONS.find((o) => o.key === key)!;
  const raw = readEnv(env, spec.env) ?? spec.default!;
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`Invalid ${spec.env}=${JSON.stringify(raw)}: ${parsed.error.issues[0]?.message ?? 'invalid'} (or set WHATSAPP_URL)`);
  return String(parsed.data);
}

export interface CallOptions {
  /** Give up on this one request after this long (default 15 s). */
  timeoutMs?: number;
}

export class ServerClient {
  constructor(
    readonly target: Target,
    private readonly signal: AbortSignal,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /**
   * `path` (an /api route or the /qr page, as the default account has them) on the target account: every route the
   * commands call is an account's, so this is the one place --account takes effect.
   */
  route(path: string): string {
    const { account } = this.target;
    if (account === undefined || account === DEFAULT_ACCOUNT) return path;
    if (path.startsWith('/api/')) return `/api/accounts/${account}/${path.slice('/api/'.length)}`;
    return path === '/qr' ? `/accounts/${account}/qr` : path;
  }

  /** How the user runs `command` again on this account ("whatsapp-mcp-api status --account work"). */
  again(command: string): string {
    const { account } = this.target;
    return `whatsapp-mcp-api ${command}${account === undefined || account === DEFAULT_ACCOUNT ? '' : ` --account ${account}`}`;
  }

  /** The success body; throws CliError/ApiError with the reason otherwise, Cancelled on Ctrl-C. */
  async call(method: string, defaultPath: string, body?: unknown, opts: CallOptions = {}): Promise<any> {
    const path = this.route(defaultPath);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_MS;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.apiKey) headers.authorization = `Bearer ${this.target.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(this.target.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([this.signal, timeout]),
      });
      text = await res.text();
    } catch (err) {
      if (this.signal.aborted) throw new Cancelled();
      if (timeout.aborted) throw new CliError(`The server at ${this.target.url} did not answer ${method} ${path} within ${Math.round(timeoutMs / 1000)} s.`);
      throw unreachable(this.target.url, err);
    }
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(
        `The server at ${this.target.url} answered ${method} ${path} with HTTP ${res.status} and a body that is not JSON: it does not look like whatsapp-mcp-api. Check --url / WHATSAPP_URL.`,
      );
    }
    if (res.ok) return json;
    throw apiError(res.status, json, this.target);
  }
}

function apiError(status: number, body: any, target: Target): ApiError {
  const error = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : null;
  if (!error || typeof error.code !== 'string') {
    return new ApiError(`The server at ${target.url} answered HTTP ${status} without a whatsapp-mcp-api error: check --url / WHATSAPP_URL.`, status, 'unknown', body);
  }
  if (error.code === 'unauthorized') {
    const why = target.apiKey
      ? "The server refused the API key (401 unauthorized): WHATSAPP_API_KEY / --api-key must be the server's own WHATSAPP_API_KEY or a stored key that is not revoked (whatsapp-mcp-api keys list)."
      : "The server needs an API key (401 unauthorized): set WHATSAPP_API_KEY or pass --api-key (the server's own WHATSAPP_API_KEY, or a key from whatsapp-mcp-api keys add).";
    return new ApiError(why, status, error.code, body);
  }
  const hint = typeof error.hint === 'string' ? `\nHint: ${error.hint}` : '';
  return new ApiError(`${error.message} (${error.code}, HTTP ${status})${hint}`, status, error.code, body);
}

/** fetch's "fetch failed" says nothing; its cause (sometimes an AggregateError, for localhost's two addresses) does. */
function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[]; message?: string } }).cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code;
  if (code === 'ECONNREFUSED') {
    return new CliError(
      `No whatsapp-mcp-api server is running at ${url} (connection refused).\n` +
        'Start one in another terminal with `npm start` (or `WHATSAPP_ENGINE=sandbox npm start` to try it without a phone), ' +
        'or point --url / WHATSAPP_URL at the one you run.',
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`Cannot find the host of ${url} (${code}): check --url / WHATSAPP_URL.`);
  const why = code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`Cannot reach the server at ${url} (${why}): is it running, and is --url / WHATSAPP_URL right?`);
}
