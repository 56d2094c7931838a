// Calls to this server's REST API with the API key in a header (never in a URL). The key lives in sessionStorage:
// gone when the tab closes, never sent anywhere but this origin. Every path goes through accountPath, so the page
// works on the account it was opened for (?account=<id>): /api/x becomes /api/accounts/<id>/x, /qr.svg its QR.
const KEY = 'whatsapp-mcp-api.key';
const DEFAULT_ACCOUNT = 'default';
/** Routes of the server, not of an account: no per-account form (whoami describes the key, on any account). */
const SERVER_WIDE = /^\/api\/(accounts|keys|audit|whoami)(\/|\?|$)/;

/** An account id (layout.ts). Anything else is refused, never escaped: `..` stays `..` and fetch would resolve
 * /api/accounts/../status to /api/status, so the page would act on the default account while saying another. */
const ACCOUNT_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

const chosen = new URLSearchParams(location.search).get('account');
const refused = Boolean(chosen) && !ACCOUNT_ID.test(chosen);
const account = chosen && !refused && chosen !== DEFAULT_ACCOUNT ? chosen : null;

/** Why the page must not start: ?account= is no account id (app.js shows it and calls nothing). Null when it may. */
export function accountRefusal() {
  if (!refused) return null;
  const shown = chosen.length > 40 ? `${chosen.slice(0, 40)}…` : chosen;
  return new Error(`?account=${shown} is not an account id (lowercase letters, digits and -, at most 32, starting with a letter or digit): nothing is shown. Open the page without ?account= for the default account.`);
}

/** The account this page shows: the one in ?account=, or the default. */
export function currentAccount() {
  return account ?? DEFAULT_ACCOUNT;
}

/** The page for another account (a navigation: every panel starts over on that account's data). */
export function accountPageUrl(id) {
  const url = new URL(location.href);
  if (id === DEFAULT_ACCOUNT) url.searchParams.delete('account');
  else url.searchParams.set('account', id);
  return url.href;
}

/** A path of the default account's API or QR, as the chosen account's. */
export function accountPath(path) {
  if (SERVER_WIDE.test(path)) return path;
  // Never the default account's route in place of a refused one.
  if (refused) throw accountRefusal();
  if (account === null) return path;
  const prefix = `/accounts/${encodeURIComponent(account)}`;
  if (path.startsWith('/api/')) return `/api${prefix}${path.slice(4)}`;
  if (path === '/qr.svg') return `${prefix}${path}`;
  return path;
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? 'http_error';
    this.hint = e.hint;
    this.details = e.details;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export function getKey() {
  return sessionStorage.getItem(KEY);
}
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export function authHeaders() {
  const key = getKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** JSON in and out; a FormData body goes as multipart. Throws ApiError with the server's code and message. */
export async function api(method, path, body, { quiet401 = false } = {}) {
  const headers = { accept: 'application/json', ...authHeaders() };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const url = accountPath(path);
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload });
  } catch (err) {
    throw Object.assign(new Error(`The server did not answer (${err.message})`), { code: 'network' });
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { error: { message: text.slice(0, 300) || `HTTP ${res.status}` } };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401 && !quiet401) onUnauthorized(err);
    throw err;
  }
  return json;
}

/** The bytes of a download (media, the QR) as a blob: URL for <img>/<video>; the caller revokes it. */
export async function blobUrl(path) {
  const res = await fetch(accountPath(path), { headers: authHeaders() });
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {}
    throw new ApiError(res.status, body);
  }
  return URL.createObjectURL(await res.blob());
}
