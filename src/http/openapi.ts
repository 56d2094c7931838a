// GET /openapi.json: OpenAPI 3.1 generated from the route plans the server reads requests by (routes.ts), with the
// operations' own zod schemas turned into JSON Schema 2020-12 by zod (the dialect OpenAPI 3.1 uses). Nothing here
// is written by hand per route: a new operation is documented by being in the table.
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { ToolErrorSchema } from '../mcp/tools.js';
import { inputSchema } from '../operations/invoke.js';
import type { Operation } from '../operations/operation.js';
import { EVENTS_PATH } from './events-stream.js';
import type { FieldPlan, RoutePlan } from './routes.js';

type Json = Record<string, unknown>;

/** A special page (pages.ts) as the document shows it. */
export interface PageDoc {
  path: string;
  summary: string;
  description: string;
  contentType: string;
  auth: 'open' | 'key' | 'key-or-basic';
}

export interface OpenApiOptions {
  version: string;
  /** WHATSAPP_API_KEY is set: every /api route needs it. */
  requiresKey: boolean;
  maxBodyBytes: number;
  maxMediaBytes: number;
  pages: readonly PageDoc[];
}

const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <WHATSAPP_API_KEY>' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same key in an X-Api-Key header' },
  basicAuth: { type: 'http', scheme: 'basic', description: 'Pages opened in a browser (/qr): any user name, the key as the password' },
};

// Session routes and the send routes' status check read better as one group each.
const TAGS: Record<string, string> = { status: 'session', auth: 'session', 'pairing-code': 'session', logout: 'session', send: 'sending', outbox: 'sending' };

export function buildOpenApi(plans: readonly RoutePlan[], opts: OpenApiOptions): Json {
  const schemas = new SchemaSink();
  const paths: Record<string, Record<string, Json>> = {};
  const routesPerOp = new Map<Operation, number>();
  for (const p of plans) if (!p.account) routesPerOp.set(p.op, (routesPerOp.get(p.op) ?? 0) + 1);
  const ids = new Set<string>();
  const usedErrors = new Set<number>();

  for (const plan of plans) {
    // An account's twin of a route: the default's id with _account (whatsapp_status_account).
    const suffix = plan.account ? '_account' : '';
    let id = (routesPerOp.get(plan.op) ?? 0) > 1 ? `${plan.op.name}_${plan.route.method.toLowerCase()}${suffix}` : `${plan.op.name}${suffix}`;
    for (let n = 2; ids.has(id); n++) id = `${plan.op.name}_${plan.route.method.toLowerCase()}${suffix}_${n}`;
    ids.add(id);
    const errors = errorStatuses(plan);
    errors.forEach((s) => usedErrors.add(s));
    (paths[plan.route.path] ??= {})[plan.route.method.toLowerCase()] = {
      operationId: id,
      summary: plan.op.title,
      description: plan.op.description,
      tags: [tagOf(plan.route.path)],
      ...(plan.op.mcp === false ? {} : { 'x-mcp-tool': plan.op.name }),
      parameters: parameters(plan, schemas),
      ...requestBody(plan, schemas),
      responses: { ...successResponses(plan, schemas), ...Object.fromEntries(errors.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }])) },
    };
  }
  for (const page of opts.pages) {
    (paths[page.path] ??= {}).get = {
      operationId: `page_${page.path.replace(/\W+/g, '_').replace(/^_|_$/g, '') || 'root'}`,
      summary: page.summary,
      description: page.description,
      tags: ['pages'],
      ...(page.auth === 'open' ? { security: [] } : page.auth === 'key-or-basic' ? { security: [...keySecurity(), { basicAuth: [] }, ...(opts.requiresKey ? [] : [{}])] } : {}),
      responses: {
        '200': { description: 'OK', content: { [page.contentType]: { schema: page.contentType.startsWith('application/json') ? { type: 'object' } : { type: 'string' } } } },
        ...(page.auth === 'open' ? {} : { '401': { $ref: '#/components/responses/Error401' } }),
      },
    };
    if (page.auth !== 'open') usedErrors.add(401);
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'whatsapp-mcp-api',
      version: opts.version,
      summary: 'A WhatsApp account (linked device) over REST and MCP',
      description:
        'The same operations are MCP tools at `/mcp` (each route names its tool in `x-mcp-tool`). Every error has one body: ' +
        '`{"ok": false, "error": {"code", "message", "hint"?, "details"?}}`. ' +
        'Each /api route is the default account\'s; `/api/accounts/{account}/...` is the same route on another account (POST /api/accounts adds one). ' +
        (opts.requiresKey
          ? 'This server has an API key: send `Authorization: Bearer <key>` or `X-Api-Key: <key>` (on the /docs page: Authorize).'
          : 'This server has no API key set (it listens on loopback only); with `WHATSAPP_API_KEY` set, every /api route needs it.'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // Relative: "try it" goes to whatever origin served the document (a proxy in front works too).
    servers: [{ url: '/' }],
    security: opts.requiresKey ? keySecurity() : [{}, ...keySecurity()],
    tags: [...new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((o) => o.tags as string[])))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { ErrorBody: schemas.convert(ToolErrorSchema, 'output'), ...schemas.defs },
      responses: Object.fromEntries([...usedErrors].sort().map((s) => [`Error${s}`, errorResponse(s, opts)])),
    },
  };
}

function keySecurity(): Json[] {
  return [{ bearerAuth: [] }, { apiKeyHeader: [] }];
}

function tagOf(path: string): string {
  // An account's routes are in the same group as the default's.
  const segment = path.replace(/^\/api\/accounts\/\{account\}\//, '/api/').split('/')[2] ?? 'api';
  return TAGS[segment] ?? segment;
}

/** zod → JSON Schema; shared definitions (zod hoists recursive or registered ones to $defs) go to components. */
class SchemaSink {
  readonly defs: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const { $schema: _dialect, $defs, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    if (!$defs) return rest;
    const rewrite = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
    for (const [name, def] of Object.entries($defs as Json)) this.defs[name] = rewrite(def);
    return rewrite(rest);
  }
}

function parameters(plan: RoutePlan, schemas: SchemaSink): Json[] {
  const out: Json[] = plan.fields.filter((f) => f.in !== 'body').map((f) => parameter(f, schemas));
  const shape = plan.op.input.shape as Record<string, unknown>;
  if ('idempotency_key' in shape) {
    out.push(
      { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 200 }, description: 'Same as the idempotency_key field: a retry with the same key returns the first answer and never acts twice' },
      { name: 'Prefer', in: 'header', required: false, schema: { type: 'string', examples: ['respond-async'] }, description: 'respond-async: accept 202 "queued" when it cannot go out now (as queue: true)' },
    );
  }
  if (plan.op.file) {
    out.push(
      { name: 'Range', in: 'header', required: false, schema: { type: 'string', examples: ['bytes=0-1023'] }, description: 'One byte range (206); several ranges are answered whole' },
      { name: 'If-Range', in: 'header', required: false, schema: { type: 'string' }, description: 'The ETag the partial copy was taken from; another one gets the whole file' },
      { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'The ETag (sha256) of a copy you have: 304 when it is this file' },
    );
  }
  return out;
}

/** A path or query parameter, typed as the server coerces its text (routes.ts coerceQuery). */
function parameter(f: FieldPlan, schemas: SchemaSink): Json {
  const schema = schemas.convert(f.schema, 'input');
  const { description, ...rest } = schema;
  const spellings = f.base === 'boolean' ? ' (true/false; 1/0 and yes/no are read too)' : '';
  const text = `${typeof description === 'string' ? description : ''}${spellings}`.trim();
  return { name: f.name, in: f.in, required: f.required, ...(text ? { description: text } : {}), schema: rest };
}

function requestBody(plan: RoutePlan, schemas: SchemaSink): Json {
  const body = plan.fields.filter((f) => f.in === 'body');
  if (body.length === 0) return {};
  // The strict schema the input is checked against (unknown fields are a 400), less what the path already names.
  const json = schemas.convert(inputSchema(plan.op, undefined), 'input');
  const props = { ...(json.properties as Json) };
  for (const p of plan.params) delete props[p];
  const required = (json.required as string[] | undefined)?.filter((r) => !plan.params.includes(r)) ?? [];
  const jsonBody = { ...json, properties: props, ...(required.length > 0 ? { required } : {}) };
  if (required.length === 0) delete jsonBody.required;
  const content: Json = { 'application/json': { schema: jsonBody } };
  if (plan.op.acceptsMedia) content['multipart/form-data'] = multipartBody(props, required);
  return { requestBody: { required: required.length > 0, content } };
}

/**
 * The multipart form the send routes take (server.ts formFields): a `file` part, the media fields flat, location and
 * poll as JSON text, the rest as text coerced like a query string.
 */
function multipartBody(props: Json, required: string[]): Json {
  const { media, ...fields } = props as Record<string, Json>;
  const mediaFields = (media?.properties ?? {}) as Record<string, Json>;
  const form: Record<string, Json> = { file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The file to send (one part, named file); its type is sniffed from the bytes' } };
  for (const name of ['kind', 'mimetype', 'filename']) if (mediaFields[name]) form[name] = mediaFields[name]!;
  Object.assign(form, fields);
  const encoding = Object.fromEntries(['location', 'poll'].filter((n) => n in fields).map((n) => [n, { contentType: 'application/json' }]));
  return {
    schema: { type: 'object', properties: form, ...(required.length > 0 ? { required } : {}) },
    ...(Object.keys(encoding).length > 0 ? { encoding } : {}),
  };
}

function successResponses(plan: RoutePlan, schemas: SchemaSink): Json {
  const { op } = plan;
  if (op.file) {
    const fileHeaders = {
      ETag: { description: 'The file\'s sha256 (strong validator)', schema: { type: 'string' } },
      'Accept-Ranges': { schema: { type: 'string', const: 'bytes' } },
      'Content-Disposition': { description: 'inline for images, audio, video and PDF; attachment otherwise; with the original file name', schema: { type: 'string' } },
      'Cache-Control': { schema: { type: 'string' } },
    };
    const bytes = { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
    return {
      '200': { description: 'The file, with its own Content-Type', headers: fileHeaders, content: bytes },
      '206': { description: 'The requested byte range', headers: { ...fileHeaders, 'Content-Range': { schema: { type: 'string', examples: ['bytes 0-1023/48213'] } } }, content: bytes },
      '304': { description: 'Not modified (If-None-Match named this file)', headers: { ETag: fileHeaders.ETag } },
    };
  }
  const out: Json = {};
  for (const [status, variants] of successStatuses(op)) {
    const converted = variants.map((v) => schemas.convert(v, 'output'));
    const content: Json = { 'application/json': { schema: converted.length === 1 ? converted[0] : { oneOf: converted } } };
    if (plan.route.method === 'GET' && plan.route.path === EVENTS_PATH && status === 200) {
      content['text/event-stream'] = {
        schema: { type: 'string', description: 'With Accept: text/event-stream: the same events live as Server-Sent Events (id = cursor, event = type), replayed after Last-Event-ID or ?after=' },
      };
    }
    out[String(status)] = { description: STATUS_CODES[status] ?? 'OK', content };
  }
  return out;
}

/**
 * Success status per output variant. `httpStatus` is a function of the result (a queued send is 202); it is asked
 * about each variant of the output union through that variant's literal fields (status: "queued"), so a union whose
 * variants differ by a literal gets one response per status.
 */
function successStatuses(op: Operation): Map<number, z.ZodType[]> {
  const byStatus = new Map<number, z.ZodType[]>();
  const options = op.httpStatus ? unionOptions(op.output) : [op.output];
  for (const option of options) {
    let status = 200;
    try {
      status = op.httpStatus?.(literalFields(option) as never) ?? 200;
    } catch {
      // A status function that needs more than the literals: document the default.
    }
    byStatus.set(status, [...(byStatus.get(status) ?? []), option]);
  }
  return byStatus;
}

function unionOptions(schema: z.ZodType): z.ZodType[] {
  const def = schema._zod.def as { type: string; options?: z.ZodType[] };
  return def.type === 'union' && def.options ? def.options : [schema];
}

function literalFields(schema: z.ZodType): Record<string, unknown> {
  if (!(schema instanceof z.ZodObject)) return {};
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const def = field._zod.def as { type: string; values?: unknown[] };
    if (def.type === 'literal' && def.values?.length === 1) out[name] = def.values[0];
  }
  return out;
}

/**
 * The error statuses a route can answer, by what it does: every route validates input (400), checks Host/Origin
 * (403) and the key (401); reading a body can be slow, large or not JSON; sends go through the outbox (idempotency
 * conflicts, expiry, pacing); facets may be missing on this engine; reaching WhatsApp needs it linked and may time out.
 */
function errorStatuses({ op, route, fields }: RoutePlan): number[] {
  const s = new Set([400, 401, 403, 500]);
  const world = op.annotations.openWorldHint;
  const reads = route.method !== 'GET';
  if (fields.length > 0 || world) s.add(404);
  if (reads) [408, 413, 415].forEach((n) => s.add(n));
  // Through the outbox: a retry of one that expired in the queue unsent answers 410 expired.
  if ('idempotency_key' in (op.input.shape as object)) [409, 410, 429].forEach((n) => s.add(n));
  if (world && reads) s.add(409);
  if (op.file) s.add(416);
  if (op.facet || op.acceptsMedia) s.add(501);
  if (world) [502, 503, 504].forEach((n) => s.add(n));
  return [...s].sort();
}

const CODES_BY_STATUS = new Map<number, ErrorCode[]>();
for (const [code, status] of Object.entries(ERROR_STATUS) as Array<[ErrorCode, number]>) CODES_BY_STATUS.set(status, [...(CODES_BY_STATUS.get(status) ?? []), code]);

const ERROR_HEADERS: Record<number, Json> = {
  401: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="whatsapp-mcp-api"' } },
  429: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds until a send would be accepted' } },
};

function errorResponse(status: number, opts: OpenApiOptions): Json {
  const codes = CODES_BY_STATUS.get(status) ?? [];
  const limits =
    status === 413 ? ` JSON bodies up to ${opts.maxBodyBytes} bytes; a file (base64 in JSON, or a multipart part) up to ${opts.maxMediaBytes} bytes.` : status === 401 ? ' Only when WHATSAPP_API_KEY is set.' : '';
  return {
    description: `${STATUS_CODES[status] ?? 'Error'}: ${codes.map((c) => `\`${c}\``).join(', ')}.${limits}`,
    ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
  };
}
