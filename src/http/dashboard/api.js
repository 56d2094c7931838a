// Calls to this server's REST API with the API key in a header (never in a URL). The key lives in sessionStorage:
// gone when the tab closes, never sent anywhere but this origin.
const KEY = 'whatsapp-mcp-api.key';

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
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
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
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {}
    throw new ApiError(res.status, body);
  }
  return URL.createObjectURL(await res.blob());
}
