// Typos are errors, not ignored: unknown query parameters, body fields, form fields and tool arguments answer 400
// invalid_input naming them, on both doors; a value of the wrong type says what was received.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../src/operations/index.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const deliveries = (s: TestServer): unknown[] => {
  try {
    return fs.readFileSync(path.join(s.authDir, 'session-default', 'deliveries.jsonl'), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

async function linked(): Promise<TestServer> {
  const s = await startTestServer();
  await s.call('POST', '/api/sandbox/link', {});
  await waitFor(async () => (await s.call('GET', '/api/status')).json.ready, 'ready');
  return s;
}

describe('unknown fields over REST', () => {
  it('a query parameter typo is a 400 that names it and the field meant', async () => {
    srv = await linked();
    const r = await srv.call('GET', '/api/chats?lmit=3');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_input', message: 'lmit: unknown field; did you mean limit?' });
    expect(r.json.error.details.issues).toEqual([{ field: 'lmit', message: 'unknown field; did you mean limit?' }]);
    expect((await srv.call('GET', '/api/chats?limit=3')).json.count).toBeLessThanOrEqual(3);
  });

  it('an extra body field is refused before anything is sent', async () => {
    srv = await linked();
    const r = await srv.call('POST', '/api/send', { phone_number: '15550102030', mesage: 'hi', message: 'hi' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('mesage: unknown field; did you mean message?');
    const far = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 'hi', urgent: true });
    expect(far.json.error.message).toMatch(/^urgent: unknown field \(accepted: phone_number, message, .*expires_in, confirm\)$/);
    expect(deliveries(srv)).toEqual([]);
  });

  it('a typo explains the missing field it stands for: it is named first', async () => {
    srv = await linked();
    const r = await srv.call('POST', '/api/send', { phone_numbr: '15550102030', message: 'hi' });
    expect(r.json.error.message).toBe('phone_numbr: unknown field; did you mean phone_number?');
    expect(r.json.error.details.issues.map((i: { field: string }) => i.field)).toEqual(['phone_numbr', 'phone_number']);
  });

  it('nested objects are strict too, with the field path', async () => {
    srv = await linked();
    const r = await srv.call('POST', '/api/send', { phone_number: '15550102030', location: { latitude: 1, longitude: 2, nme: 'x' } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('location.nme: unknown field; did you mean name?');
  });

  it('path parameters and declared query parameters still pass; a route that takes nothing says so', async () => {
    srv = await linked();
    const sent = await srv.call('POST', '/api/chats/15550102030@c.us/messages', { message: 'to a chat' });
    expect(sent.status).toBe(200);
    const del = await srv.call('DELETE', `/api/messages/${sent.json.message_id}?for=me`);
    expect(del.status).toBe(200);
    const st = await srv.call('GET', '/api/status?verbose=1');
    expect(st.status).toBe(400);
    expect(st.json.error.message).toBe('verbose: unknown field (this takes no fields)');
  });

  it('an unknown multipart form field is refused, and the uploaded file is not kept', async () => {
    srv = await linked();
    const form = new FormData();
    form.set('phone_number', '15550102030');
    form.set('caption', 'The plan');
    form.set('file', new Blob([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')], { type: 'application/pdf' }), 'plan.pdf');
    const res = await fetch(`${srv.url}/api/send`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^caption: unknown field/);
    expect(deliveries(srv)).toEqual([]);
  });

  it('the event stream refuses an unknown parameter too', async () => {
    srv = await startTestServer();
    const res = await fetch(`${srv.url}/api/events?typs=message.*`, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe('typs: unknown field; did you mean types?');
  });
});

describe('unknown arguments over MCP', () => {
  it('are a tool error naming them, and the advertised schemas say additionalProperties: false', async () => {
    srv = await startTestServer();
    const { client } = await connectHttpClient(srv.url);
    const r = await client.callTool({ name: 'whatsapp_list_chats', arguments: { lmit: 3 } });
    expect(r.isError).toBe(true);
    expect(structured(r).error).toMatchObject({ code: 'invalid_input', message: 'lmit: unknown field; did you mean limit?' });
    const { tools } = await client.listTools();
    for (const tool of tools) expect(tool.inputSchema, tool.name).toMatchObject({ additionalProperties: false });
    await client.close();
  });
});

describe('values of the wrong type', () => {
  it('a non-numeric path or query number says what was received', async () => {
    srv = await startTestServer();
    const path = await srv.call('POST', '/api/webhooks/dead-letters/abc/redeliver');
    expect(path.status).toBe(400);
    expect(path.json.error.message).toBe('id: expected number, received "abc"');
    const query = await srv.call('GET', '/api/chats?limit=12abc');
    expect(query.json.error.message).toBe('limit: expected number, received "12abc"');
    const body = await srv.call('POST', '/api/send', { phone_number: '15550102030', message: 42 });
    expect(body.json.error.message).toBe('message: expected string, received number 42');
    const missing = await srv.call('POST', '/api/pairing-code', {});
    expect(missing.json.error.message).toBe('phone_number: is required (string)');
  });

  it('a number too big says the field\'s own bound, not zod\'s safe-integer one or "received Infinity"', async () => {
    srv = await startTestServer();
    const query = await srv.call('GET', '/api/chats?limit=1e308');
    expect(query.status).toBe(400);
    expect(query.json.error.message).toBe('limit: Too big: expected number to be <=100');
    // JSON reads 1e400 as Infinity; expires_in has no bound of its own in the schema (the queue's age caps it later).
    const body = await srv.call('POST', '/api/send', '{"phone_number":"15550102030","message":"hi","expires_in":1e400}');
    expect(body.status).toBe(400);
    expect(body.json.error.message).toBe(`expires_in: must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, received a number too big (Infinity)`);
    const { client } = await connectHttpClient(srv.url);
    const tool = await client.callTool({ name: 'whatsapp_list_chats', arguments: { limit: 1e20 } });
    expect(structured(tool).error.message).toBe('limit: Too big: expected number to be <=100');
    await client.close();
  });

  it('a query parameter given twice is a 400 naming it, not the first one silently kept', async () => {
    srv = await startTestServer();
    const r = await srv.call('GET', '/api/chats?limit=5&limit=6');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_input', message: 'limit: given more than once; give it once', details: { field: 'limit' } });
  });

  it('a numeric path parameter is read as a number', async () => {
    srv = await startTestServer();
    const r = await srv.call('POST', '/api/webhooks/dead-letters/7/redeliver');
    expect(r.status).toBe(404);
    expect(r.json.error.message).toBe('No dead letter 7');
  });
});

describe('every operation', () => {
  it('declares every path parameter of its routes in its input (or strict inputs would refuse them)', () => {
    for (const op of OPERATIONS) {
      for (const route of op.rest) {
        for (const [, name] of route.path.matchAll(/\{(\w+)\}/g)) expect(Object.keys(op.input.shape), `${op.name} ${route.path}`).toContain(name);
      }
    }
  });
});
