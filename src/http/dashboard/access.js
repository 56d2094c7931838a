// What the signed-in key may do (GET /api/whoami), so the page offers only that: a read+send key limited to some
// chats sees no Unlink, no linking and no dead letters instead of a red "lacks the admin scope" on each.
import { ApiError, api } from './api.js';

let scopes = null; // null: not known (a key without read, or a server without /api/whoami): show all, hide on 403
let accounts = null; // the key's accounts; null: every account (or not known)

export async function loadAccess() {
  try {
    const me = await api('GET', '/api/whoami');
    scopes = new Set(me.scopes);
    accounts = Array.isArray(me.accounts) ? me.accounts : null;
  } catch {
    // 401 has sent the page back to sign-in already; anything else: not known.
    scopes = null;
    accounts = null;
  }
}

export function forgetAccess() {
  scopes = null;
  accounts = null;
}

/** The accounts a key limited to some may use; null when it may use every one (or that is not known). */
export function keyAccounts() {
  return accounts;
}

/** May the key do what needs `scope`? True while unknown: the server's 403 then says so (see refusedScope). */
export function can(scope) {
  return scopes === null || scopes.has(scope);
}

/** A 403 for a missing scope (not a chat outside the key's chats): the control it came from is not for this key. */
export function refusedScope(err) {
  return err instanceof ApiError && err.status === 403 && err.code === 'forbidden' && typeof err.details?.scope === 'string';
}
