// The REST route table, generated from the operations table.
import type { z } from 'zod';
import type { Operation, RestRoute } from '../operations/operation.js';

interface CompiledRoute {
  route: RestRoute;
  op: Operation;
  pattern: RegExp;
  params: string[];
}

export type RouteMatch =
  | { kind: 'ok'; op: Operation; route: RestRoute; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

export class RouteTable {
  private readonly routes: CompiledRoute[] = [];

  constructor(ops: readonly Operation[]) {
    for (const op of ops) {
      for (const route of op.rest) {
        const params: string[] = [];
        const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
          params.push(name);
          return '([^/]+)';
        });
        this.routes.push({ route, op, pattern: new RegExp(`^${source}/?$`), params });
      }
    }
  }

  /**
   * The route for a method and path. The most literal path wins: "/api/groups/join" is that route, not a group called
   * "join", so GET on it is a 405 naming POST rather than a 400 about a bad group id.
   */
  match(method: string, pathname: string): RouteMatch {
    let best: Array<{ r: CompiledRoute; m: RegExpExecArray }> = [];
    for (const r of this.routes) {
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
    return { kind: 'ok', op: hit.r.op, route: hit.r.route, params };
  }

  list(): Array<{ method: string; path: string; operation: string }> {
    return this.routes.map((r) => ({ method: r.route.method, path: r.route.path, operation: r.op.name }));
  }
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
  const shape = op.input.shape as Record<string, z.ZodType>;
  for (const [key, value] of query) {
    if (key in out) continue;
    const kind = shape[key] ? baseType(shape[key]) : 'string';
    if (kind === 'number' && /^-?\d+(\.\d+)?$/.test(value)) out[key] = Number(value);
    // The same spellings the command line takes for a boolean.
    else if (kind === 'boolean' && BOOL_TEXT.has(value.toLowerCase())) out[key] = BOOL_TEXT.get(value.toLowerCase());
    else out[key] = value;
  }
  return out;
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
