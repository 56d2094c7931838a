// Typed errors: thrown by operations and engines, mapped once per door (REST: src/http/respond.ts, MCP: src/mcp/tools.ts).

export const ERROR_STATUS = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  not_admin: 403,
  not_found: 404,
  not_on_whatsapp: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  // A queued send past its deadline (WHATSAPP_QUEUE_MAX_AGE_SECONDS or its expires_in): gone for good, never sent.
  // 410, not 408: 408 means the request itself was slow, and clients resend a 408 by themselves.
  expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
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
  readonly details: unknown;
  /** Extra response headers a door should send with this error (Allow, Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = ERROR_STATUS[code];
    this.hint = opts.hint;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.hint) body.hint = this.hint;
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

export const LINK_HINT =
  'Link WhatsApp first: POST /api/pairing-code {"phone_number": "<your number>"} (or the whatsapp_pairing_code tool) and enter the code on your phone under Linked devices, or open /qr and scan it.';

const RECONNECT_HINT =
  'WhatsApp is linked and (re)connecting by itself: retry in a few seconds, or send with "queue": true to have it delivered once connected. GET /api/status shows progress.';
const FINISH_LINK_HINT = 'Linking is under way: enter the pairing code on the phone or scan the QR at /qr, then retry. GET /api/status shows progress.';

/** The hint fits the state: a linked account that is reconnecting needs patience, not a new pairing code. */
export function notReady(state: string, linked = false): AppError {
  const reconnecting = state === 'disconnected' || state === 'authenticated' || (linked && state === 'starting');
  const hint = reconnecting ? RECONNECT_HINT : state === 'qr' || state === 'pairing' ? FINISH_LINK_HINT : LINK_HINT;
  return new AppError('not_ready', `WhatsApp is not ready (state: ${state})`, { hint, details: { state } });
}

/** Any thrown value as an AppError; unknown errors become `internal` (a bug) without leaking internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', 'Internal error', { cause: err });
}
