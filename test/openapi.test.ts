// GET /openapi.json: a valid OpenAPI 3.1 document (checked by a maintained validator) that lists exactly the routes
// the server routes by, read the way the server reads them.
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteTable } from '../src/http/routes.js';
import { availableOperations } from '../src/operations/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

type Json = Record<string, any>;
const KEY = 'openapi-test-key-0123456789';

let srv: TestServer;
let doc: Json;
let routes: RouteTable;

beforeAll(async () => {
  srv = await startTestServer();
  const res = await fetch(`${srv.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Json;
  routes = new RouteTable(availableOperations(srv.app.services));
});
afterAll(() => srv.close());

const operationsOf = (d: Json) =>
  Object.entries(d.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

describe('GET /openapi.json', () => {
  it('is valid OpenAPI 3.1 (@readme/openapi-parser: schema, path parameters, unique operationIds, $refs)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('has every route of the router, with its method and path, and nothing else under /api', () => {
    const table = routes.list();
    expect(table.length).toBeGreaterThan(30);
    for (const r of table) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op.operationId.startsWith(r.operation)).toBe(true);
    }
    const documented = operationsOf(doc).filter((o) => o.path.startsWith('/api/'));
    expect(documented.map((o) => `${o.method} ${o.path}`).sort()).toEqual(table.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('operationId is the operation name, with a method suffix when one operation has several routes', () => {
    expect(doc.paths['/api/status'].get.operationId).toBe('whatsapp_status');
    expect(doc.paths['/api/messages'].get.operationId).toBe('whatsapp_read_messages_get');
    expect(doc.paths['/api/messages'].post.operationId).toBe('whatsapp_read_messages_post');
    expect(doc.paths['/api/send'].post.summary).toBe('Send a WhatsApp message');
  });

  it('query parameters are the input fields not in the path, typed as the server coerces them', () => {
    for (const plan of routes.plans().filter((p) => p.route.method === 'GET' || p.route.method === 'DELETE')) {
      const params = doc.paths[plan.route.path][plan.route.method.toLowerCase()].parameters as Json[];
      const query = params.filter((p) => p.in === 'query').map((p) => p.name);
      const path = params.filter((p) => p.in === 'path').map((p) => p.name);
      const fields = Object.keys(plan.op.input.shape);
      expect(path, plan.route.path).toEqual(plan.params);
      expect(query.sort(), plan.route.path).toEqual(fields.filter((f) => !plan.params.includes(f)).sort());
    }
    const chats = doc.paths['/api/chats'].get.parameters as Json[];
    expect(chats.find((p) => p.name === 'limit')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } });
    const search = doc.paths['/api/search'].get.parameters as Json[];
    expect(search.find((p) => p.name === 'q')).toMatchObject({ required: true, schema: { type: 'string' } });
    expect(search.find((p) => p.name === 'from_me')).toMatchObject({ schema: { type: 'boolean' } });
    // A number in the path is coerced too.
    const redeliver = doc.paths['/api/webhooks/dead-letters/{id}/redeliver'].post.parameters as Json[];
    expect(redeliver.find((p) => p.name === 'id')).toMatchObject({ in: 'path', required: true, schema: { type: 'integer' } });
  });

  it('POST bodies: the strict JSON schema without the path params; multipart with a file part where media is accepted', () => {
    const toChat = doc.paths['/api/chats/{chat_id}/messages'].post;
    const json = toChat.requestBody.content['application/json'].schema;
    expect(json.additionalProperties).toBe(false);
    expect(Object.keys(json.properties)).not.toContain('chat_id');
    expect(Object.keys(json.properties)).toEqual(expect.arrayContaining(['message', 'media', 'location', 'poll', 'queue', 'idempotency_key']));
    const form = toChat.requestBody.content['multipart/form-data'];
    expect(form.schema.properties.file).toMatchObject({ type: 'string', contentMediaType: 'application/octet-stream' });
    expect(form.schema.properties.kind.enum).toContain('image');
    expect(form.encoding.location.contentType).toBe('application/json');
    // No multipart where no file is taken; no body where there are no fields.
    expect(doc.paths['/api/pairing-code'].post.requestBody.content['multipart/form-data']).toBeUndefined();
    expect(doc.paths['/api/pairing-code'].post.requestBody.required).toBe(true);
    expect(doc.paths['/api/auth/start'].post.requestBody).toBeUndefined();
  });

  it('sends: 200 sent and 202 queued, Idempotency-Key and Prefer headers, the outbox errors', () => {
    for (const path of ['/api/send', '/api/chats/{chat_id}/messages']) {
      const op = doc.paths[path].post;
      expect(op.responses['200'].content['application/json'].schema.properties.status.const).toBe('sent');
      expect(op.responses['202'].content['application/json'].schema.properties.status.const).toBe('queued');
      expect(op.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['header:Idempotency-Key', 'header:Prefer']));
      for (const s of ['400', '401', '409', '410', '413', '415', '429', '501', '503', '504']) expect(op.responses[s], `${path} ${s}`).toEqual({ $ref: `#/components/responses/Error${s}` });
    }
    expect(doc.paths['/api/groups'].post.responses['201']).toBeDefined();
  });

  it('errors: the envelope for each status a route can answer', () => {
    const body = doc.components.schemas.ErrorBody;
    expect(body.properties.ok.const).toBe(false);
    expect(body.properties.error.required).toEqual(['code', 'message']);
    expect(Object.keys(body.properties.error.properties)).toEqual(['code', 'message', 'hint', 'details']);
    expect(doc.components.responses.Error404.description).toMatch(/not_found.*not_on_whatsapp/);
    expect(doc.components.responses.Error429.headers['Retry-After']).toBeDefined();
    for (const { path, method, op } of operationsOf(doc).filter((o) => o.path.startsWith('/api/'))) {
      const name = `${method} ${path}`;
      for (const s of ['400', '401']) expect(op.responses[s], name).toBeDefined();
      if (method !== 'GET') for (const s of ['413', '415']) expect(op.responses[s], name).toBeDefined();
    }
    // A facet operation may find its facet missing; an engine operation, WhatsApp not linked.
    expect(doc.paths['/api/groups'].get.responses['501']).toBeDefined();
    expect(doc.paths['/api/groups'].get.responses['503']).toBeDefined();
    expect(doc.paths['/api/status'].get.responses['503']).toBeUndefined();
  });

  it('the media download: bytes, ranges and validators', () => {
    const op = doc.paths['/api/messages/{message_id}/media'].get;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '206', '304', '416']));
    expect(op.responses['200'].content['*/*']).toBeDefined();
    expect(op.responses['200'].headers.ETag).toBeDefined();
    expect(op.responses['206'].headers['Content-Range']).toBeDefined();
    expect(op.parameters.map((p: Json) => p.name)).toEqual(expect.arrayContaining(['message_id', 'Range', 'If-None-Match']));
  });

  it('security: bearer and X-Api-Key; optional without a key, required with one', async () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Api-Key' });
    expect(doc.security).toContainEqual({});
    expect(doc.servers).toEqual([{ url: '/' }]);
    const keyed = await startTestServer({ WHATSAPP_API_KEY: KEY });
    try {
      const res = await fetch(`${keyed.url}/openapi.json`); // open: the docs page loads it before a key is typed
      expect(res.status).toBe(200);
      const d = (await res.json()) as Json;
      expect(d.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
      expect(d.paths['/health'].get.security).toEqual([]);
      expect(d.paths['/metrics'].get.security).toBeUndefined();
    } finally {
      await keyed.close();
    }
  });

  it('documents what the server really answers: a queued send is the 202 variant', async () => {
    const res = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'hi', queue: true });
    expect(res.status).toBe(202);
    const documented = doc.paths['/api/send'].post.responses['202'].content['application/json'].schema;
    expect(Object.keys(res.json).sort()).toEqual(Object.keys(documented.properties).filter((k) => k in res.json).sort());
    for (const key of documented.required) expect(res.json, key).toHaveProperty(key);
  });
});
