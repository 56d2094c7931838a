// Configuration: one table of options drives env parsing, CLI flags and --help.
import path from 'node:path';
import { z } from 'zod';
import { ACCOUNT_ID_RULE, ACCOUNT_ID_TEXT, ENGINE_NAMES, type EngineName, parseId } from './domain.js';
import { parseTypeFilter } from './events/types.js';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off']))
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const text = z.string().trim().min(1);
const origins = list.pipe(
  z.array(
    z.string().refine((o) => {
      try {
        return o !== '*' && new URL(o).origin === o.replace(/\/$/, '');
      } catch {
        return false;
      }
    }, 'each entry must be an origin such as https://app.example.com (scheme, host, optional port; no path, no *)'),
  ),
);
/** http(s) only: the rule for a webhook URL, from WHATSAPP_WEBHOOK_URL and from the accounts API alike. */
/** Longest webhook URL taken (env and API): a URL is a label, a row key and a header's worth, not a document. */
export const MAX_URL_LENGTH = 2048;
export const httpUrl = (error: string) => z.url({ protocol: /^https?$/, error }).max(MAX_URL_LENGTH, `a URL may be at most ${MAX_URL_LENGTH} characters`);
const urlList = list.pipe(z.array(httpUrl('must be a comma list of http:// or https:// URLs')));
const typeList = list.check((ctx) => {
  try {
    parseTypeFilter(ctx.value);
  } catch (err) {
    ctx.issues.push({ code: 'custom', message: (err as Error).message, input: ctx.value });
  }
});

// WHATSAPP_SEND_ALLOW: each entry normalised by the one id rule (parseId), or one of the words.
const RECIPIENT_WORDS = ['contacts', 'known'];
const recipientList = list.pipe(
  z.array(
    z.string().transform((raw, ctx) => {
      const word = raw.toLowerCase();
      if (RECIPIENT_WORDS.includes(word)) return word;
      const id = parseId(raw);
      if (id && id.kind !== 'other') return id.id;
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(raw)} is not a phone number with country code, a chat id (…@c.us, …@g.us, …@lid), contacts or known` });
      return z.NEVER;
    }),
  ),
);

interface OptionSpec<T> {
  key: keyof Config;
  env: string;
  flag: string;
  /** Shown in --help and the README table. */
  help: string;
  default: string | undefined;
  schema: z.ZodType<T, string>;
}

function opt<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

export const OPTIONS = [
  opt({ key: 'host', env: 'WHATSAPP_MCP_HOST', flag: '--host', help: 'Address to bind. Non-loopback needs WHATSAPP_API_KEY or a stored key (keys add).', default: '127.0.0.1', schema: text }),
  opt({ key: 'port', env: 'WHATSAPP_MCP_PORT', flag: '--port', help: 'Port to listen on (0 picks a free one).', default: '8790', schema: int(0, 65535) }),
  opt({ key: 'engine', env: 'WHATSAPP_ENGINE', flag: '--engine', help: `WhatsApp engine: ${ENGINE_NAMES.join(' | ')} (wwebjs drives WhatsApp Web in Chromium; baileys speaks its WebSocket protocol, no browser; sandbox is a simulated account).`, default: 'wwebjs', schema: z.enum(ENGINE_NAMES) }),
  opt({ key: 'authDir', env: 'WHATSAPP_AUTH_DIR', flag: '--auth-dir', help: 'Where the linked session is saved (session-default/ inside).', default: './.wwebjs_auth', schema: text }),
  opt({ key: 'dataDir', env: 'WHATSAPP_DATA_DIR', flag: '--data-dir', help: 'Where the message store lives.', default: './data', schema: text }),
  opt({ key: 'chromeExecutable', env: 'WHATSAPP_CHROME_EXECUTABLE', flag: '--chrome', help: 'Chromium/Chrome binary for the wwebjs engine (default: detect).', default: undefined, schema: text }),
  opt({ key: 'headless', env: 'WHATSAPP_HEADLESS', flag: '--headless', help: 'Run the browser headless (true/1/yes or false/0/no).', default: 'true', schema: bool }),
  opt({ key: 'baileysWsUrl', env: 'WHATSAPP_BAILEYS_WS_URL', flag: '--baileys-ws-url', help: 'baileys: the WhatsApp WebSocket to connect to, for wire-level test servers (leave unset for WhatsApp).', default: undefined, schema: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }) }),
  opt({ key: 'readyTimeoutSeconds', env: 'WHATSAPP_READY_TIMEOUT_SECONDS', flag: '--ready-timeout', help: 'wwebjs: restart the browser when WhatsApp Web is not ready this many seconds after authenticating.', default: '120', schema: int(10, 3600) }),
  opt({ key: 'apiKey', env: 'WHATSAPP_API_KEY', flag: '--api-key', help: 'Require "Authorization: Bearer <key>" (or X-Api-Key) on /api, /mcp and /qr.', default: undefined, schema: z.string().min(16, 'must be at least 16 characters') }),
  // The audit trail of state-changing calls (GET /api/audit; src/service/audit.ts).
  opt({ key: 'auditBodies', env: 'WHATSAPP_AUDIT_BODIES', flag: '--audit-bodies', help: 'Keep the text of sends and edits in the audit trail (off: only its sha256 and length).', default: 'false', schema: bool }),
  opt({ key: 'auditRetentionDays', env: 'WHATSAPP_AUDIT_RETENTION_DAYS', flag: '--audit-retention-days', help: 'Audit rows are kept this many days, then pruned.', default: '90', schema: int(1, 3650) }),
  opt({ key: 'allowedHosts', env: 'WHATSAPP_ALLOWED_HOSTS', flag: '--allowed-hosts', help: 'Extra Host header names accepted besides loopback (comma list).', default: '', schema: list }),
  opt({ key: 'corsOrigins', env: 'WHATSAPP_CORS_ORIGINS', flag: '--cors-origins', help: 'Browser origins allowed to call the API (comma list; no wildcard).', default: '', schema: origins }),
  opt({ key: 'maxBodyBytes', env: 'WHATSAPP_MAX_BODY_BYTES', flag: '--max-body-bytes', help: 'Largest request body accepted.', default: String(1024 * 1024), schema: int(1024, 64 * 1024 * 1024) }),
  opt({ key: 'maxMediaBytes', env: 'WHATSAPP_MAX_MEDIA_BYTES', flag: '--max-media-bytes', help: 'Largest media file sent, uploaded or downloaded (a JSON body carrying base64 data may be this large too).', default: String(64 * 1024 * 1024), schema: int(1024, 2 * 1024 * 1024 * 1024) }),
  opt({ key: 'mediaUrlAllowPrivate', env: 'WHATSAPP_MEDIA_URL_ALLOW_PRIVATE', flag: '--media-url-allow-private', help: 'Let media.url fetch from loopback, private and link-local addresses (off: SSRF protection).', default: 'false', schema: bool }),
  opt({ key: 'mediaRoots', env: 'WHATSAPP_MEDIA_ROOTS', flag: '--media-roots', help: 'MCP: directories a send may name a local file from (media.path; comma list; empty = off).', default: '', schema: list }),
  opt({ key: 'mediaPathOverHttp', env: 'WHATSAPP_MEDIA_PATH_OVER_HTTP', flag: '--media-path-over-http', help: 'Also accept media.path from MCP over HTTP, not only over stdio.', default: 'false', schema: bool }),
  opt({ key: 'stdioAccount', env: 'WHATSAPP_STDIO_ACCOUNT', flag: '--account', help: 'With --stdio: the account MCP serves (POST /api/accounts adds one); only that account is started.', default: 'default', schema: z.string().regex(ACCOUNT_ID_RULE, ACCOUNT_ID_TEXT) }),
  opt({ key: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', help: 'fatal | error | warn | info | debug | trace | silent.', default: 'info', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }),
  opt({ key: 'rateGlobalPerMinute', env: 'WHATSAPP_RATE_GLOBAL_PER_MIN', flag: '--rate-global', help: 'Pacing: messages per minute across all chats (bursts of a third); 0 = no limit.', default: '20', schema: int(0, 100_000) }),
  opt({ key: 'rateRecipientPerMinute', env: 'WHATSAPP_RATE_RECIPIENT_PER_MIN', flag: '--rate-recipient', help: 'Pacing: messages per minute to one chat (bursts of a third); 0 = no limit.', default: '6', schema: int(0, 100_000) }),
  opt({ key: 'sendJitterMs', env: 'WHATSAPP_SEND_JITTER_MS', flag: '--send-jitter', help: 'Pacing: up to this many random ms added between queued sends.', default: '2000', schema: int(0, 600_000) }),
  opt({ key: 'queueMaxAgeSeconds', env: 'WHATSAPP_QUEUE_MAX_AGE_SECONDS', flag: '--queue-max-age', help: 'A queued send not sent this many seconds after it was accepted fails with "expired" and is never sent (a send may ask for less: expires_in).', default: '86400', schema: int(1, 365 * 24 * 3600) }),
  opt({ key: 'sendAllow', env: 'WHATSAPP_SEND_ALLOW', flag: '--send-allow', help: 'Send only to these (REST, MCP, queued, groups, replies, media, reactions; also who a group may add): comma list of phone numbers, chat ids (…@c.us, …@g.us, …@lid), contacts (people saved on the phone), known (chats with messages in the store). Empty: anyone.', default: '', schema: recipientList }),
  opt({ key: 'confirmNewRecipients', env: 'WHATSAPP_CONFIRM_NEW_RECIPIENTS', flag: '--confirm-new-recipients', help: 'A first message to a chat this account never wrote to needs a person to confirm it (REST: "confirm": true; MCP: the client asks the user).', default: 'false', schema: bool }),
  opt({ key: 'typingIndicator', env: 'WHATSAPP_TYPING_INDICATOR', flag: '--typing', help: 'Show "typing…" before each send, for a time in proportion to the text.', default: 'false', schema: bool }),
  opt({ key: 'mcpSessionIdleSeconds', env: 'WHATSAPP_MCP_SESSION_IDLE_SECONDS', flag: '--mcp-session-idle', help: 'Idle MCP sessions are closed after this many seconds.', default: '1800', schema: int(5, 7 * 24 * 3600) }),
  opt({ key: 'eventRetentionHours', env: 'WHATSAPP_EVENT_RETENTION_HOURS', flag: '--event-retention-hours', help: 'Events (GET /api/events, webhooks) are kept this many hours.', default: '168', schema: int(1, 24 * 365) }),
  opt({ key: 'webhookUrls', env: 'WHATSAPP_WEBHOOK_URL', flag: '--webhook-url', help: 'POST every event to these URLs (comma list of http(s) URLs).', default: '', schema: urlList }),
  opt({ key: 'webhookEvents', env: 'WHATSAPP_WEBHOOK_EVENTS', flag: '--webhook-events', help: 'Event types sent to webhooks: comma list of types or prefixes like message.* (default: all).', default: '', schema: typeList }),
  opt({ key: 'webhookSecret', env: 'WHATSAPP_WEBHOOK_SECRET', flag: '--webhook-secret', help: 'HMAC-SHA256 key for X-Webhook-Signature; required with webhook URLs.', default: undefined, schema: z.string().min(16, 'must be at least 16 characters') }),
  opt({ key: 'webhookAllowUnsigned', env: 'WHATSAPP_WEBHOOK_ALLOW_UNSIGNED', flag: '--webhook-allow-unsigned', help: 'Send webhooks without a signature when no secret is set.', default: 'false', schema: bool }),
  opt({ key: 'webhookMaxAttempts', env: 'WHATSAPP_WEBHOOK_MAX_ATTEMPTS', flag: '--webhook-max-attempts', help: 'Tries per event and URL before it is dead-lettered.', default: '8', schema: int(1, 50) }),
  opt({ key: 'webhookTimeoutSeconds', env: 'WHATSAPP_WEBHOOK_TIMEOUT_SECONDS', flag: '--webhook-timeout', help: 'Seconds to wait for a webhook receiver to answer before retrying.', default: '10', schema: int(1, 120) }),
  opt({ key: 'webhookStart', env: 'WHATSAPP_WEBHOOK_START', flag: '--webhook-start', help: 'Where a webhook URL seen for the first time starts: now (the next event) or oldest (every event still kept).', default: 'now', schema: z.enum(['now', 'oldest']) }),
  opt({ key: 'webhookConcurrency', env: 'WHATSAPP_WEBHOOK_CONCURRENCY', flag: '--webhook-concurrency', help: 'Requests in flight per webhook URL, never two for one chat (1: every event in order).', default: '1', schema: int(1, 64) }),
  opt({ key: 'sandboxLinkDelayMs', env: 'WHATSAPP_SANDBOX_LINK_DELAY_MS', flag: '--sandbox-link-delay', help: 'Sandbox: ms before the simulated phone enters the pairing code, or scans a QR fetched from /qr, /qr.svg or whatsapp_get_qr (never the terminal\'s).', default: '1500', schema: int(0, 600_000) }),
] as const;

export interface Config {
  host: string;
  port: number;
  engine: EngineName;
  authDir: string;
  dataDir: string;
  chromeExecutable: string | undefined;
  headless: boolean;
  readyTimeoutSeconds: number;
  baileysWsUrl: string | undefined;
  apiKey: string | undefined;
  auditBodies: boolean;
  auditRetentionDays: number;
  allowedHosts: string[];
  corsOrigins: string[];
  maxBodyBytes: number;
  maxMediaBytes: number;
  mediaUrlAllowPrivate: boolean;
  mediaRoots: string[];
  mediaPathOverHttp: boolean;
  /** The account stdio serves (`--account`); the HTTP door serves every account and ignores it. Rule: ACCOUNT_ID_RULE (domain.ts). */
  stdioAccount: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  mcpSessionIdleSeconds: number;
  rateGlobalPerMinute: number;
  rateRecipientPerMinute: number;
  sendJitterMs: number;
  queueMaxAgeSeconds: number;
  /** Normalised chat ids and the words contacts / known; empty: no limit. */
  sendAllow: string[];
  confirmNewRecipients: boolean;
  typingIndicator: boolean;
  sandboxLinkDelayMs: number;
  eventRetentionHours: number;
  webhookUrls: string[];
  webhookEvents: string[];
  webhookSecret: string | undefined;
  webhookAllowUnsigned: boolean;
  webhookMaxAttempts: number;
  webhookTimeoutSeconds: number;
  webhookConcurrency: number;
  webhookStart: 'now' | 'oldest';
}

export class ConfigError extends Error {}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Parse `--flag value` / `--flag=value` pairs into env-named overrides. Unknown flags are errors. */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const spec = OPTIONS.find((o) => o.flag === flag);
    if (!spec) throw new ConfigError(`Unknown option ${flag} (see --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`Option ${flag} needs a value`);
    out[spec.env] = value;
  }
  return out;
}

/**
 * The variable's value, or undefined when it is unset, empty or only blanks: compose files and .env templates write
 * `NAME=` for "not set", so every option reads an empty value as its default (WHATSAPP_API_KEY= is no key).
 */
export function readEnv(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Env (plus flag overrides) → frozen Config. Throws ConfigError with one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined>, overrides: Record<string, string> = {}): Readonly<Config> {
  const cfg: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const raw = overrides[o.env] ?? readEnv(env, o.env) ?? o.default;
    if (raw === undefined || (raw === '' && o.default === undefined)) {
      cfg[o.key] = undefined;
      continue;
    }
    const parsed = (o.schema as z.ZodType<unknown, string>).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'invalid';
      const shown = JSON.stringify(o.key === 'apiKey' || o.key === 'webhookSecret' ? '***' : raw);
      // Name what the user typed: the flag when it came from one.
      const name = overrides[o.env] !== undefined ? `${o.flag} (${o.env})` : o.env;
      throw new ConfigError(`Invalid ${name}=${shown}: ${why}`);
    }
    cfg[o.key] = parsed.data;
  }
  const config = cfg as unknown as Config;
  // Origins are compared as the browser sends them: no trailing slash.
  config.corsOrigins = config.corsOrigins.map((o) => o.replace(/\/$/, ''));
  config.authDir = path.resolve(config.authDir);
  config.dataDir = path.resolve(config.dataDir);
  config.mediaRoots = config.mediaRoots.map((r) => path.resolve(r));
  // A non-loopback host without WHATSAPP_API_KEY is refused by startApp (refuseOpenBind), where access.db is open:
  // a stored key closes the server as well.
  if (config.webhookUrls.length > 0 && !config.webhookSecret && !config.webhookAllowUnsigned) {
    throw new ConfigError(
      'WHATSAPP_WEBHOOK_URL is set without WHATSAPP_WEBHOOK_SECRET: receivers could not tell our events from forged ones. Set a secret (16+ characters), or WHATSAPP_WEBHOOK_ALLOW_UNSIGNED=true',
    );
  }
  return Object.freeze(config);
}

/** Before binding `config.host`: a server reachable from the network must need a key, WHATSAPP_API_KEY or a stored one. */
export function refuseOpenBind(config: Pick<Config, 'host' | 'apiKey'>, hasStoredKeys: boolean): void {
  if (isLoopbackHost(config.host) || config.apiKey || hasStoredKeys) return;
  throw new ConfigError(
    `Refusing to bind WHATSAPP_MCP_HOST=${config.host} without an API key: anyone on the network could read and send your messages. Set WHATSAPP_API_KEY, or add a key first (whatsapp-mcp-api keys add --name <name> --scopes admin)`,
  );
}

export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const dflt = o.default === undefined || o.default === '' ? '' : ` (default: ${o.default})`;
    return `  ${`${o.flag} <value>`.padEnd(28)} ${o.env}\n  ${''.padEnd(28)} ${o.help}${dflt}`;
  });
  return [
    'whatsapp-mcp-api: your WhatsApp as a REST API and an MCP server',
    '',
    'Usage:',
    '  whatsapp-mcp-api [options]          serve REST (/api) and MCP (/mcp) over HTTP',
    '  whatsapp-mcp-api --stdio [options]  serve MCP over stdin/stdout (logs on stderr)',
    '  whatsapp-mcp-api --help',
    '',
    'Options (each also read from the environment variable shown; an empty value means unset):',
    ...rows,
    '',
  ].join('\n');
}
