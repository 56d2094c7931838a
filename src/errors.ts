// Typed errors: thrown by operations and engines, mapped once per door (REST: src/http/respond.ts, MCP: src/mcp/tools.ts).

export const ERROR_STATUS = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  // The API key lacks the scope an operation needs, or names a chat outside the key's chats (--chats).
  forbidden: 403,
  not_admin: 403,
  // WHATSAPP_SEND_ALLOW does not list this recipient (src/service/recipient-policy.ts).
  recipient_not_allowed: 403,
  not_found: 404,
  not_on_whatsapp: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  // A first message to a chat this account never wrote to, with WHATSAPP_CONFIRM_NEW_RECIPIENTS: repeat it confirmed.
  // 409, not 428: 428 asks for a conditional request (If-Match), which no header here could satisfy.
  confirmation_required: 409,
  // A queued send past its deadline (WHATSAPP_QUEUE_MAX_AGE_SECONDS or its expires_in): gone for good, never sent.
  // 410, not 408: 408 means the request itself was slow, and clients resend a 408 by themselves.
  expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  expectation_failed: 417,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  not_supported: 501,
  engine_error: 502,
  not_ready: 503,
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly hint: string | undefined;
  /** The hint for MCP clients when it must differ (no HTTP routes to point at over stdio: name the tools). */
  readonly mcpHint: string | undefined;
  readonly details: unknown;
  /** Extra response headers a door should send with this error (Allow, Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string | undefined; mcpHint?: string | undefined; details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = ERROR_STATUS[code];
    this.hint = opts.hint;
    this.mcpHint = opts.mcpHint;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }

  toBody(door: 'rest' | 'mcp' = 'rest'): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    const hint = door === 'mcp' ? (this.mcpHint ?? this.hint) : this.hint;
    if (hint) body.hint = hint;
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

export const LINK_HINT =
  'Link WhatsApp first: POST /api/pairing-code {"phone_number": "<your number>"} (or the whatsapp_pairing_code tool) and enter the code on your phone under Linked devices, or open /qr and scan it.';

const RECONNECT_HINT =
  'WhatsApp is linked and (re)connecting by itself: retry in a few seconds, or send with "queue": true to have it delivered once connected. GET /api/status shows progress.';
const FINISH_LINK_HINT = 'Linking is under way: enter the pairing code on the phone or scan the QR at /qr, then retry. GET /api/status shows progress.';

// Over MCP (stdio above all) there is no /qr page nor REST route to point at: the same advice in tools.
const MCP_LINK_HINT =
  'Link WhatsApp first: call whatsapp_pairing_code with the account\'s phone number and have the user enter the code on the phone (Linked devices > Link a device > Link with phone number instead), or call whatsapp_get_qr and have them scan the image. Then poll whatsapp_status until ready.';
const MCP_RECONNECT_HINT =
  'WhatsApp is linked and (re)connecting by itself: retry in a few seconds, or send with queue: true to have it delivered once connected. whatsapp_status shows progress.';
const MCP_FINISH_LINK_HINT = 'Linking is under way: the user enters the pairing code on the phone or scans the QR from whatsapp_get_qr; poll whatsapp_status, then retry.';

/**
 * The hint fits the state: a linked account that is reconnecting needs patience, not a new pairing code. `linked`
 * (the engine's hasSavedSession) decides for `disconnected` and `starting`: a never-linked Baileys account offline is
 * `disconnected` too, and it needs linking.
 */
export function notReady(state: string, linked = false): AppError {
  const reconnecting = state === 'authenticated' || (linked && (state === 'disconnected' || state === 'starting'));
  const linking = state === 'qr' || state === 'pairing';
  const hint = reconnecting ? RECONNECT_HINT : linking ? FINISH_LINK_HINT : LINK_HINT;
  const mcpHint = reconnecting ? MCP_RECONNECT_HINT : linking ? MCP_FINISH_LINK_HINT : MCP_LINK_HINT;
  return new AppError('not_ready', `WhatsApp is not ready (state: ${state})`, { hint, mcpHint, details: { state } });
}

/**
 * `err` as account `account` tells it. Hints are written once, for the default account (`POST /api/pairing-code`,
 * `/qr`), by engines and services that know no accounts; an error leaving another account's operation (invoke.ts)
 * passes through here and names that account's twins instead (`/api/accounts/<id>/pairing-code`, `/accounts/<id>/qr`).
 * `/api/accounts...` itself is the server's and stays. MCP hints name tools, which are the account's already: kept.
 */
export function onAccountHints(err: unknown, account: string): unknown {
  if (account === 'default' || !(err instanceof AppError) || !err.hint) return err;
  const id = encodeURIComponent(account);
  const hint = err.hint.replace(/(?<![\w/])\/api\/(?!accounts\b)/g, `/api/accounts/${id}/`).replace(/(?<![\w/.])\/qr\b/g, `/accounts/${id}/qr`);
  if (hint === err.hint) return err;
  const out = new AppError(err.code, err.message, { hint, mcpHint: err.mcpHint, details: err.details, headers: err.headers, cause: err.cause });
  out.stack = err.stack;
  return out;
}

/** Any thrown value as an AppError; unknown errors become `internal` (a bug) without leaking internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', 'Internal error', { cause: err });
}
