// Who may call what: an operation's scope, a key's accounts (--accounts), chats (--chats) and rate (--rate), and the
// audit row of each call. invokeOperation applies these once for every door; the doors only say who is calling (and,
// for an account's URL, admit the caller to that account before they look it up: admitToAccount).
import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_ACCOUNT } from '../accounts/layout.js';
import { parseId } from '../domain.js';
import type { EventRecord } from '../events/types.js';
import { AppError } from '../errors.js';
import type { AuditEntry, AuditService } from '../service/audit.js';
import { type Principal, adminPrincipal } from '../service/keys.js';
import type { CallOptions, Operation, Services } from './operation.js';

const ambient = new AsyncLocalStorage<Principal>();
const STDIO = adminPrincipal('stdio', 'stdio');
const INTERNAL_REST = adminPrincipal('internal', 'rest');
const INTERNAL_MCP = adminPrincipal('internal', 'mcp');

/**
 * Run a door's handling of one request as `principal`. The HTTP door wraps the MCP transport in this, so a tool call
 * is checked against the key that sent it even where the MCP door does not pass `call.principal` itself.
 */
export function runAs<T>(principal: Principal, fn: () => T): T {
  return ambient.run(principal, fn);
}

/** The caller: what the door passed, else the request being handled (runAs), else stdio or an in-process caller. */
export function callerOf(call: CallOptions): Principal {
  return call.principal ?? ambient.getStore() ?? (call.transport === 'stdio' ? STDIO : call.transport === 'mcp-http' ? INTERNAL_MCP : INTERNAL_REST);
}

/**
 * May this principal call the operation at all (its scope; a chat-limited key and chat-unbounded operations; an
 * account-limited key and the server's own operations)? Which account it is for is the door's to check
 * (admitToAccount) and invokeOperation's; tools/list is asked on an account's door only once the key was admitted.
 */
export function mayCall(p: Principal, op: Operation): boolean {
  return p.scopes.has(op.scope) && !(p.chats !== null && reachesBeyondChats(op)) && !(p.accounts !== null && reachesBeyondAccounts(op));
}

/**
 * What a chat-limited key may never call: operations that reach chats beyond its own, and the admin and server-wide
 * ones (keys, audit, accounts, linking), which name no chat but would let it mint an unlimited key or read every
 * chat's audit rows.
 */
function reachesBeyondChats(op: Operation): boolean {
  return op.chats.kind === 'unbounded' || op.scope === 'admin' || op.serverWide === true;
}

/**
 * What an account-limited key may never call: the server's operations (keys, audit, the accounts), and admin, which
 * adds accounts and keys (such a key never holds it: keys add refuses). Every server-wide operation is admin today,
 * which keeps tools/list's per-scope-set cache (tools.ts) exact without a word about accounts (test/keys-accounts).
 */
function reachesBeyondAccounts(op: Operation): boolean {
  return op.scope === 'admin' || op.serverWide === true;
}

// Operations about the caller, not about an account: /api/whoami answers any key (the default account always exists).
const ABOUT_THE_CALLER = new Set(['whoami']);

/** True when the principal may use this account: a key with every account, or one that lists it. */
export function accountAllowed(p: Principal, account: string): boolean {
  return p.accounts === null || p.accounts.includes(account);
}

/**
 * invokeOperation's account check, for an account-limited key only (a null check for every other caller): the
 * server's operations are refused, and so is any operation of an account the key does not list.
 */
export function requireAccount(op: Operation, p: Principal, account: string): void {
  const accounts = p.accounts;
  if (accounts === null || ABOUT_THE_CALLER.has(op.name)) return;
  if (reachesBeyondAccounts(op)) {
    throw new AppError('forbidden', `This key is limited to some accounts; ${op.name} reaches beyond them (it is the server's, not an account's)`, {
      hint: `The key "${p.name}" is limited to: ${accounts.join(', ')}. Keys, audit and accounts need an admin key without --accounts.`,
      details: { key: p.name, accounts: [...accounts] },
    });
  }
  if (!accounts.includes(account)) throw forbiddenAccount(p.name, accounts, account);
}

/**
 * A door's check, before it looks the account up (so a refused key learns nothing about which accounts exist) or
 * touches any of it (a multipart upload, an MCP session): 403 for an account the key does not list, with an audit
 * row. `what`: the operation, or the door (`mcp`, `events_stream`), for that row.
 */
export function admitToAccount(p: Principal | undefined, account: string, what: string, audit: Pick<AuditService, 'record'>): void {
  const accounts = p?.accounts;
  if (!p || !accounts || accounts.includes(account)) return;
  // /api/whoami for any key; another account's URL of it would say whether that account exists.
  if (ABOUT_THE_CALLER.has(what) && account === DEFAULT_ACCOUNT) return;
  // The account is what the caller named, possibly no account at all: bounded like any other text in a row.
  audit.record({ key: p.name, door: p.door, operation: what, chat_id: null, outcome: 'forbidden', target: null, account: account.slice(0, 64) });
  throw forbiddenAccount(p.name, accounts, account);
}

function forbiddenAccount(key: string, accounts: readonly string[], account: string): AppError {
  const where = accounts.map((a) => (a === DEFAULT_ACCOUNT ? `${a} (/api/..., /mcp)` : `${a} (/api/accounts/${a}/..., /accounts/${a}/mcp)`)).join(', ');
  return new AppError('forbidden', `This key may not use account ${JSON.stringify(account.slice(0, 64))}`, {
    hint: `The key "${key}" is limited to the accounts: ${where}.${account === DEFAULT_ACCOUNT ? ' The paths without /accounts/{id} are the default account.' : ''}`,
    details: { account, key, accounts: [...accounts] },
  });
}

/** The operations to offer this principal (MCP tools/list): what it may call, nothing it would be refused. */
export function operationsFor(p: Principal, ops: readonly Operation[]): Operation[] {
  return ops.filter((op) => mayCall(p, op));
}

export function requireScope(op: Operation, p: Principal, transport?: CallOptions['transport']): void {
  if (p.scopes.has(op.scope)) return;
  throw new AppError('forbidden', `This key lacks the ${op.scope} scope`, {
    hint: `${calledAs(op, transport)} needs a key with the ${op.scope} scope (whatsapp-mcp-api keys add --scopes ...).`,
    details: { scope: op.scope, key: p.name },
  });
}

/**
 * What the caller used, in its own door's words: the tool name over MCP, the route over REST (a REST-only
 * operation's internal name, e.g. keys_list, means nothing to someone who sent GET /api/keys).
 */
function calledAs(op: Operation, transport: CallOptions['transport']): string {
  if (transport === 'mcp-http' || transport === 'stdio') return op.name;
  const routes = op.rest.map((r) => `${r.method} ${r.path}`);
  return routes.length > 0 ? routes.join(' or ') : op.name;
}

export function requireRate(p: Principal, services: Services): void {
  const waitMs = services.keys.takeRate(p);
  if (waitMs === 0) return;
  throw new AppError('rate_limited', `This key is limited to ${p.ratePerMinute} calls a minute`, {
    hint: `Retry in ${Math.ceil(waitMs / 1000)} s.`,
    headers: { 'retry-after': String(Math.ceil(waitMs / 1000)) },
    details: { key: p.name, retry_after_ms: waitMs },
  });
}

/**
 * A chat-limited key's test, or null for a key with every chat. A person's chat may be named by number or by linked
 * id (@lid): either spelling of a chat the key lists is that chat, once the store knows the number behind the id.
 */
export function chatPredicate(p: Principal, services: Services): ((chatId: string | null) => boolean) | null {
  if (p.chats === null) return null;
  const chats = new Set(p.chats);
  const lids = services.store.lids;
  return (chatId) => {
    if (chatId === null) return false;
    if (chats.has(chatId)) return true;
    const twin = chatTwin(chatId, lids);
    return twin !== null && chats.has(twin);
  };
}

/**
 * The same person's chat under their other id, where the lid map knows it: `<digits>@c.us` ↔ `…@lid` (one chat for
 * a key's chat limit); null for groups and unknown people. chatPredicate and the store-side narrowing both use it.
 */
export function chatTwin(chatId: string, lids: Services['store']['lids']): string | null {
  const id = parseId(chatId);
  if (id?.kind === 'lid') {
    const phone = lids.phoneOf(id.id);
    return phone === null ? null : `${phone}@c.us`;
  }
  if (id?.kind === 'phone') return lids.lidOf(id.phone);
  return null;
}

/** The chat the input names, by the operation's own declaration. */
export function chatOf(op: Operation, input: unknown, services: Services): string | null {
  const c = op.chats;
  if (c.kind === 'chat') return c.of(input as never, services) ?? null;
  if (c.kind === 'filter' || c.kind === 'handler') return c.of?.(input as never) ?? null;
  return null;
}

export function requireChat(op: Operation, chat: string | null, allowed: (chatId: string | null) => boolean, p: Principal): void {
  const c = op.chats;
  if (reachesBeyondChats(op)) throw forbiddenChat(`This key is limited to some chats; ${op.name} reaches chats beyond them`, null, p);
  if (c.kind === 'none') return;
  if (chat === null) {
    if (c.kind === 'chat') throw forbiddenChat('This key is limited to some chats, and this names none of them', null, p);
    return; // filter / handler: the answer is narrowed instead
  }
  if (!allowed(chat)) throw forbiddenChat(`This key may not use chat ${chat}`, chat, p);
}

function forbiddenChat(message: string, chat: string | null, p: Principal): AppError {
  return new AppError('forbidden', message, { hint: `The key "${p.name}" is limited to: ${p.chats?.join(', ')}.`, details: { chat_id: chat, key: p.name } });
}

// Refusals worth a row even for a read: someone tried what their key does not allow.
const REFUSALS = new Set(['forbidden', 'rate_limited', 'recipient_not_allowed', 'confirmation_required']);

/** State-changing calls whatever their outcome; reads only when refused for access reasons. */
export function audited(op: Operation, errorCode?: string): boolean {
  return !op.annotations.readOnlyHint || (errorCode !== undefined && REFUSALS.has(errorCode));
}

/** The audit row of a call that returned. */
export function auditOfResult(op: Operation, p: Principal, chat: string | null, input: unknown, result: unknown): AuditEntry {
  const r = (result ?? {}) as { status?: unknown; chat_id?: unknown; group_id?: unknown; outbox_id?: unknown; send?: { state?: unknown; outbox_id?: unknown; chat_id?: unknown }; group?: { id?: unknown } };
  const queued = r.status === 'queued' || r.send?.state === 'queued';
  const outbox = r.outbox_id ?? r.send?.outbox_id;
  const resultChat = r.chat_id ?? r.send?.chat_id ?? r.group_id ?? r.group?.id;
  return {
    key: p.name,
    door: p.door,
    operation: op.name,
    chat_id: chat ?? (typeof resultChat === 'string' ? resultChat : null),
    outcome: queued ? 'queued' : 'ok',
    outbox_id: typeof outbox === 'string' ? outbox : null,
    target: targetOf(op, input),
    text: textOf(input),
  };
}

/** The audit row of a call that threw (refused, invalid, or failed). `chat` may be unknown before validation. */
export function auditOfError(op: Operation, p: Principal, chat: string | null, input: unknown, code: string): AuditEntry {
  return { key: p.name, door: p.door, operation: op.name, chat_id: chat ?? rawChat(input), outcome: code, target: targetOf(op, input), text: textOf(input) };
}

/** The operations that name an account by `id` (accounts_create, _update, _delete): the row says which account. */
const ACCOUNT_TARGETS = new Set(['accounts_create', 'accounts_update', 'accounts_delete']);

/**
 * An operation that names no chat but a thing: a key by name (keys_create, keys_revoke), an account by id; so the
 * row says which.
 */
function targetOf(op: Operation, input: unknown): string | null {
  if (op.chats.kind !== 'none') return null;
  const i = (input ?? {}) as { name?: unknown; id?: unknown };
  const target = ACCOUNT_TARGETS.has(op.name) ? i.id : i.name;
  return typeof target === 'string' ? target.slice(0, 128) : null;
}

function textOf(input: unknown): string | null {
  const i = (input ?? {}) as { message?: unknown; caption?: unknown };
  return typeof i.message === 'string' ? i.message : typeof i.caption === 'string' ? i.caption : null;
}

/** The chat a refused input named, read leniently (it may never have passed validation). */
function rawChat(input: unknown): string | null {
  const i = (input ?? {}) as Record<string, unknown>;
  for (const field of ['chat_id', 'phone_number', 'group_id']) {
    const v = i[field];
    if (typeof v === 'string') return parseId(v)?.id ?? v.slice(0, 128);
  }
  return null;
}

/** A stored message's chat (for operations that name a message); null when the store has no such message. */
export function messageChat({ store }: Services, messageId: string): string | null {
  return store.getMessage(messageId)?.chat_id ?? null;
}

/** An outbox row's chat; null when there is no such send (the handler then answers 404). */
export function outboxChat({ sender }: Services, outboxId: string): string | null {
  try {
    return sender.status(outboxId).chat_id;
  } catch {
    return null;
  }
}

// Events that name no chat yet say nothing about anyone's messages; the rest (QR and pairing codes, contact updates,
// history summaries) are for keys with every chat.
const CHATLESS_FOR_ALL = new Set(['connection.state']);

/** May a chat-limited key see this event (the JSON log, the SSE stream)? */
export function eventAllowed(e: Pick<EventRecord, 'type' | 'chat_id'>, allowed: (chatId: string | null) => boolean): boolean {
  return e.chat_id === null ? CHATLESS_FOR_ALL.has(e.type) : allowed(e.chat_id);
}

/** An events page narrowed to the key's chats; the cursors stay, so paging goes on past what was left out. */
export function narrowEvents<T extends { events: Array<Pick<EventRecord, 'type' | 'chat_id'>>; count: number }>(out: T, allowed: (chatId: string | null) => boolean): T {
  const events = out.events.filter((e) => eventAllowed(e, allowed));
  return { ...out, events, count: events.length };
}
