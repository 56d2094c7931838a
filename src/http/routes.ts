// The REST route table, generated from the operations table. Each route's plan (which input field comes from the
// path, the query string or the body, and as what type) is what the server reads by and what OpenAPI documents.
import { z } from 'zod';
import { ACCOUNT_ID_RULE } from '../accounts/layout.js';
import { AppError } from '../errors.js';
import type { Operation, RestRoute } from '../operations/operation.js';

/** What a query string or path segment is turned into before zod sees it (see coerceQuery). */
export type TextBase = 'number' | 'boolean' | 'text';

export interface FieldPlan {
  name: string;
  /** Path params are in the path; the other fields in the query string for GET/DELETE and in the body for POST/PATCH. */
  in: 'path' | 'query' | 'body';
  schema: z.ZodType;
  required: boolean;
  /** How the server coerces it when it arrives as text (path, query, form field). */
  base: TextBase;
}

export interface RoutePlan {
  route: RestRoute;
  op: Operation;
  /** Path param names in the order they appear. */
  params: string[];
  /** The /api/accounts/{account}/... twin of an /api/... route: `account` is a path param no operation input has. */
  account: boolean;
  fields: FieldPlan[];
}

interface CompiledRoute extends RoutePlan {
  pattern: RegExp;
}

/** Where an account's own routes start: /api/accounts/{account}/status is /api/status of that account. */
export const ACCOUNT_PREFIX = '/api/accounts/{account}';
const ACCOUNT_PARAM = z.string().regex(ACCOUNT_ID_RULE).describe('The account (GET /api/accounts lists them); /api/... without it is the default account');

/** `/api/accounts/<id>/<rest>` → the account and `/api/<rest>`; any other path → null (the default account's). */
export function splitAccountPath(pathname: string): { account: string; path: string } | null {
  const m = /^\/api\/accounts\/([^/]+)(\/.+)$/.exec(pathname);
  return m ? { account: safeDecode(m[1]!), path: `/api${m[2]!}` } : null;
}

export type RouteMatch =
  | { kind: 'ok'; op: Operation; route: RestRoute; plan: RoutePlan; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

export class RouteTable {
  private readonly routes: CompiledRoute[] = [];
  /** The routes without the account prefix: a path outside /api/accounts/ is matched against these only (half the work). */
  private readonly plain: CompiledRoute[] = [];

  constructor(ops: readonly Operation[]) {
    for (const op of ops) {
      for (const route of op.rest) this.add(op, route, false);
    }
    // Every account's routes after the default's, so a listing reads /api/... first.
    for (const op of ops) {
      if (op.serverWide) continue;
      for (const route of op.rest) if (route.path.startsWith('/api/')) this.add(op, { method: route.method, path: `${ACCOUNT_PREFIX}${route.path.slice(4)}` }, true);
    }
  }

  private add(op: Operation, route: RestRoute, account: boolean): void {
    const params: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
    const fields = planFields(op, route, params);
    if (account) fields.unshift({ name: 'account', in: 'path', schema: ACCOUNT_PARAM, required: true, base: 'text' });
    const compiled = { route, op, params, account, fields, pattern: new RegExp(`^${source}/?$`) };
    this.routes.push(compiled);
    if (!account) this.plain.push(compiled);
  }

  /**
   * The route for a method and path. The most literal path wins: "/api/groups/join" is that route, not a group called
   * "join", so GET on it is a 405 naming POST rather than a 400 about a bad group id.
   */
  match(method: string, pathname: string): RouteMatch {
    let best: Array<{ r: CompiledRoute; m: RegExpExecArray }> = [];
    for (const r of pathname.startsWith('/api/accounts/') ? this.routes : this.plain) {
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      if (best.length === 0 || r.params.length < best[0]!.r.params.length) best = [{ r, m }];
      else if (r.params.length === best[0]!.r.params.length) best.push({ r, m });
    }
    if (best.length === 0) return { kind: 'not_found' };
    const hit = best.find(({ r }) => r.route.method === method);
    if (!hit) {
      const allow = new Set<string>();
      for (const { r } of best) {
        allow.add(r.route.method);
        if (r.route.method === 'GET') allow.add('HEAD');
      }
      return { kind: 'method_not_allowed', allow: [...allow, 'OPTIONS'] };
    }
    const params: Record<string, string> = {};
    hit.r.params.forEach((name, i) => {
      params[name] = safeDecode(hit.m[i + 1]!);
    });
    return { kind: 'ok', op: hit.r.op, route: hit.r.route, plan: hit.r, params };
  }

  list(): Array<{ method: string; path: string; operation: string }> {
    return this.routes.map((r) => ({ method: r.route.method, path: r.route.path, operation: r.op.name }));
  }

  /** Every route with its plan, in table order (OpenAPI is generated from this). */
  plans(): readonly RoutePlan[] {
    return this.routes;
  }
}

function planFields(op: Operation, route: RestRoute, params: string[]): FieldPlan[] {
  const shape = op.input.shape as Record<string, z.ZodType>;
  const rest = route.method === 'GET' || route.method === 'DELETE' ? 'query' : 'body';
  const bases = textBases(op);
  return Object.entries(shape).map(([name, schema]) => ({
    name,
    in: params.includes(name) ? 'path' : rest,
    schema,
    required: params.includes(name) || !schema.safeParse(undefined).success,
    base: bases.get(name) ?? 'text',
  }));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Query strings carry only text; turn "20" into 20 and "true" into true where the operation's schema wants a
 * number or boolean, so REST and MCP share one strict schema. Anything else stays a string for zod to reject.
 */
const BOOL_TEXT = new Map([['true', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['no', false]]);

export function coerceQuery(op: Operation, query: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const bases = textBases(op);
  for (const [key, value] of query) {
    // No parameter takes a list by repetition (lists are comma-separated): "?limit=5&limit=6" has no one meaning.
    if (Object.hasOwn(out, key)) throw new AppError('invalid_input', `${key}: given more than once; give it once`, { details: { field: key } });
    const kind = bases.get(key);
    // Exponents too ("1e3", "1e308"): zod then says the field's bound rather than "expected number".
    if (kind === 'number' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) out[key] = Number(value);
    // The same spellings the command line takes for a boolean.
    else if (kind === 'boolean' && BOOL_TEXT.has(value.toLowerCase())) out[key] = BOOL_TEXT.get(value.toLowerCase());
    else out[key] = value;
  }
  return out;
}

const basesOf = new WeakMap<Operation, Map<string, TextBase>>();

/** Per input field: what its text is coerced to. Computed once per operation (it runs on every request). */
function textBases(op: Operation): Map<string, TextBase> {
  let bases = basesOf.get(op);
  if (!bases) {
    bases = new Map();
    for (const [name, schema] of Object.entries(op.input.shape as Record<string, z.ZodType>)) {
      const t = baseType(schema);
      bases.set(name, t === 'number' || t === 'boolean' ? t : 'text');
    }
    basesOf.set(op, bases);
  }
  return bases;
}

function baseType(schema: z.ZodType): string {
  let def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  // Unwrap optional/default/nullable/pipe wrappers to the type the caller must send.
  for (let i = 0; i < 10; i++) {
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) break;
    def = inner._zod.def as typeof def;
  }
  return def.type;
}
