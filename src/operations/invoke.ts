// The one way a door runs an operation: who may (scope, account, chats, rate), strict input validation with errors that name
// the field, then the handler; every state-changing call and every refusal leaves an audit row.
import { z } from 'zod';
import { onAccountRoutes } from '../domain.js';
import { requireFacet } from '../engine/engine.js';
import { AppError, onAccountHints } from '../errors.js';
import { audited, auditOfError, auditOfResult, callerOf, chatOf, chatPredicate, requireAccount, requireChat, requireRate, requireScope } from './access.js';
import type { CallOptions, InputSchema, Operation, Services } from './operation.js';

/** Check access, validate the input against the operation's schema, then run it. Both doors call this and nothing else. */
export async function invokeOperation(op: Operation, rawInput: unknown, services: Services, call: CallOptions = {}): Promise<unknown> {
  const principal = callerOf(call);
  const input = rawInput ?? {};
  let parsedInput: unknown;
  let chat: string | null = null;
  try {
    // Scope and rate first: a key that may not call this learns nothing from how its input would have been checked.
    requireScope(op, principal, call.transport);
    // A null check for every key without --accounts. Doors check an account's URL earlier (admitToAccount); this
    // covers whatever reaches a runtime without one (MCP tool calls on any door, in-process callers).
    if (principal.accounts !== null) requireAccount(op, principal, services.account);
    requireRate(principal, services);
    const schema = inputSchema(op, call.transport);
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw invalidInput(parsed.error, schema, input, call.transport === undefined ? pathParams(op) : []);
    parsedInput = parsed.data;
    const allowed = chatPredicate(principal, services);
    // The chat may cost a lookup (a message id's chat): only for a chat-limited key or an audit row.
    if (allowed || audited(op)) chat = chatOf(op, parsed.data, services);
    if (allowed) {
      requireChat(op, chat, allowed, principal);
      // On the caller's object, not a copy: the REST door's `signal` is a getter that must stay lazy.
      call.chatAllowed = allowed;
    }
    if (op.facet) requireFacet(services.engine, op.facet);
    const out = await op.handler(parsed.data, services, call);
    // Engines and the store write the default account's media links; this account's answer carries its own.
    const result = onAccountRoutes(allowed && op.chats.kind === 'filter' ? op.chats.filter(out, allowed) : out, services.account);
    if (audited(op)) services.audit.record({ ...auditOfResult(op, principal, chat, parsed.data, result), account: services.account });
    return result;
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'internal';
    if (audited(op, code)) services.audit.record({ ...auditOfError(op, principal, chat, parsedInput ?? input, code), account: services.account });
    throw onAccountHints(err, services.account);
  }
}

const strictVersions = new WeakMap<InputSchema, InputSchema>();

/**
 * The schema a door's input is checked against: MCP's narrower one where the operation has it, and strict, so a
 * typo ("lmit") is an error naming it instead of a field silently ignored (the default limit answered instead).
 * Cached: `.strict()` builds a new schema, and this runs on every call.
 */
export function inputSchema(op: Operation, transport: CallOptions['transport']): InputSchema {
  const base = transport === 'mcp-http' || transport === 'stdio' ? (op.mcpInput ?? op.input) : op.input;
  let strict = strictVersions.get(base);
  if (!strict) strictVersions.set(base, (strict = base.strict()));
  return strict;
}

/**
 * A zod failure as one 400 whose message names the first field and says what was wrong with it. `inPath`: top-level
 * fields the caller gives in the URL path (REST), left out of an unknown field's "accepted" list: PATCH
 * /api/accounts/{id} takes `id` there, not in the body.
 */
export function invalidInput(error: z.ZodError, schema?: z.ZodType, input?: unknown, inPath: readonly string[] = []): AppError {
  const issues: Array<{ field: string; message: string }> = [];
  const unknown: Array<{ field: string; message: string }> = [];
  for (const i of error.issues) {
    // zod adds a safe-integer check to every int ("expected int to be <=9007199254740991"); the field's own bound,
    // reported beside it, is the one to tell.
    if (isSafeIntIssue(i) && error.issues.some((o) => o !== i && o.code === i.code && samePath(o.path, i.path))) continue;
    if (i.code === 'unrecognized_keys') {
      const accepted = (schema ? keysAt(schema, i.path) : []).filter((k) => i.path.length > 0 || !inPath.includes(k));
      for (const key of i.keys) unknown.push({ field: [...i.path, key].join('.'), message: unknownField(key, accepted) });
    } else {
      issues.push({ field: i.path.join('.') || '(body)', message: describeIssue(i, input, schema) });
    }
  }
  // A typo first: it usually explains the rest ("phone_numbr" is why phone_number is missing).
  const all = [...unknown, ...issues];
  const first = all[0]!;
  return new AppError('invalid_input', `${first.field}: ${first.message}`, { details: { issues: all } });
}

/**
 * zod's own type message says "received NaN" or "received string"; say what the caller actually sent. A number too
 * big to be one (1e400 is Infinity in JSON) or past the safe-integer range is told the field's own bounds.
 */
function describeIssue(issue: z.core.$ZodIssue, input: unknown, schema?: z.ZodType): string {
  const value = valueAt(input, issue.path);
  if ((issue.code === 'invalid_type' && typeof value === 'number' && !Number.isFinite(value)) || isSafeIntIssue(issue)) {
    return outOfRange(typeof value === 'number' && !Number.isNaN(value) ? value : undefined, schema && fieldAt(schema, issue.path));
  }
  // The value beside the rule, as README promises: `"telegram" is not one of sandbox, wwebjs, baileys`.
  if (issue.code === 'invalid_value' && value !== undefined) {
    return issue.values.length === 1 ? `must be ${typeof issue.values[0] === 'string' ? JSON.stringify(issue.values[0]) : String(issue.values[0])}, received ${shown(value)}` : `${shown(value)} is not one of ${issue.values.map(String).join(', ')}`;
  }
  // A pattern with a message of ours ("must be 1 to 32 of ..."); zod's own ("Invalid string: must match ...") stays.
  if (issue.code === 'invalid_format' && issue.format === 'regex' && typeof value === 'string' && !issue.message.startsWith('Invalid')) return `${shown(value)} ${issue.message}`;
  if (issue.code !== 'invalid_type' || !/^Invalid input: expected \w+, received \w+$/.test(issue.message)) return issue.message;
  if (value === undefined) return `is required (${issue.expected})`;
  return `expected ${issue.expected}, received ${shown(value)}`;
}

/** The input fields every REST route of `op` takes in its path ({id}): no route takes them in the body or query. */
function pathParams(op: Operation): string[] {
  const [first, ...rest] = op.rest.map((r) => [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!));
  return (first ?? []).filter((name) => rest.every((names) => names.includes(name)));
}

function isSafeIntIssue(i: z.core.$ZodIssue): boolean {
  return (i.code === 'too_big' || i.code === 'too_small') && i.origin === 'int' && Math.abs(Number(i.code === 'too_big' ? i.maximum : i.minimum)) === Number.MAX_SAFE_INTEGER;
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((k, n) => k === b[n]);
}

/** "must be from 1 to 100", or as much of that as the field's schema says. */
function outOfRange(value: number | undefined, field: z.ZodType | undefined): string {
  const n = field && numberAt(field);
  const min = n?.minValue ?? null;
  const max = n?.maxValue ?? null;
  const bound = (b: number | null) => b !== null && Number.isFinite(b) && Math.abs(b) < Number.MAX_SAFE_INTEGER;
  const range = bound(min) && bound(max) ? `from ${min} to ${max}` : bound(max) ? `at most ${max}` : bound(min) ? (n?.isInt ? `from ${min} to ${Number.MAX_SAFE_INTEGER}` : `of at least ${min}`) : 'that is finite';
  const given = value === undefined ? '' : `, received ${value > 0 ? 'a number too big' : 'a number too small'} (${String(value)})`;
  return `must be ${n?.isInt ? 'a whole number' : 'a number'} ${range}${given}`;
}

function fieldAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const key of path) s = s && objectShape(s)?.[key as string];
  return s;
}

function numberAt(schema: z.ZodType): z.ZodNumber | undefined {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; i < 10 && s; i++) {
    if (s instanceof z.ZodNumber) return s;
    const def = s._zod.def as { innerType?: z.ZodType; in?: z.ZodType; type: string };
    s = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return undefined;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** The field names the object at `path` of `schema` accepts. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const key of path) s = s && objectShape(s)?.[key as string];
  const shape = s && objectShape(s);
  return shape ? Object.keys(shape) : [];
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: z.ZodType | undefined = schema;
  // Through optional/default/nullable wrappers and pipes to the object the caller writes.
  for (let i = 0; i < 10 && s; i++) {
    if (s instanceof z.ZodObject) return s.shape as Record<string, z.ZodType>;
    const def = s._zod.def as { innerType?: z.ZodType; in?: z.ZodType; type: string };
    s = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return undefined;
}

/** For a door that reads parameters without an operation (the SSE stream): the same 400 for a name it does not take. */
export function refuseUnknownFields(given: Iterable<string>, accepted: string[]): void {
  const unknown = [...new Set(given)].filter((k) => !accepted.includes(k)).map((k) => ({ field: k, message: unknownField(k, accepted) }));
  if (unknown.length > 0) throw new AppError('invalid_input', `${unknown[0]!.field}: ${unknown[0]!.message}`, { details: { issues: unknown } });
}

function unknownField(key: string, accepted: string[]): string {
  const near = closest(key, accepted);
  if (near) return `unknown field; did you mean ${near}?`;
  return accepted.length > 0 ? `unknown field (accepted: ${accepted.join(', ')})` : 'unknown field (this takes no fields)';
}

/** The accepted name within a small edit distance of `key` (a typo, a wrong case, a missing underscore). */
function closest(key: string, names: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(key.length / 3));
  for (const name of names) {
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (d <= bestDistance) [best, bestDistance] = [name, d - 1];
  }
  return best;
}

/** Levenshtein, with a swap of two neighbours counted as one edit ("limti"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
