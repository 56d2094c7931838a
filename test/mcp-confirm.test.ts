// Confirmation of a first message over MCP (WHATSAPP_CONFIRM_NEW_RECIPIENTS), with real v2 SDK clients: a 2025-era
// session is asked with elicitation/create (the SDK's legacy shim), a 2026-07-28 client gets an input request and
// retries (the v2 client drives it with the same handler); accepted → delivered, declined → isError and nothing sent,
// a client without elicitation → isError with the hint; a tampered or reused requestState is refused. Each leaves its
// audit row.
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from './helpers/media-fixtures.js';
import { structured } from './helpers/mcp.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const DAN = '15550001004'; // a saved contact the seeded account never wrote to
const ADMIN = 'confirm-admin-key-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const ENV = { WHATSAPP_API_KEY: ADMIN, WHATSAPP_CONFIRM_NEW_RECIPIENTS: 'true', WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };
const MODERN = '2026-07-28';

let srv: TestServer;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await srv?.close();
});

async function linked(): Promise<TestServer> {
  srv = await startTestServer(ENV);
  await srv.call('POST', '/api/sandbox/link', {}, admin);
  await waitFor(() => srv.app.services.store.getContact(`${DAN}@c.us`)?.name, 'contacts synced');
  return srv;
}

type Answer = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, boolean> };

/** A v2 client; with `answer`, one that declares form elicitation and answers every question so, keeping what it was asked. */
async function client(era: 'legacy' | 'modern', answer?: Answer) {
  const c = new Client(
    { name: 'confirm-test', version: '1.0.0' },
    { capabilities: answer ? { elicitation: { form: {} } } : {}, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: MODERN } } } : {}) },
  );
  const asked: any[] = [];
  if (answer) {
    c.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params);
      return answer;
    });
  }
  await c.connect(new StreamableHTTPClientTransport(new URL('/mcp', srv.url), { requestInit: { headers: admin } }));
  clients.push(c);
  return { c, asked };
}

async function audit(): Promise<Array<{ operation: string; outcome: string; chat_id: string | null; key: string }>> {
  const res = await srv.call('GET', '/api/audit', undefined, admin);
  expect(res.status).toBe(200);
  return res.json.entries;
}

const send = (c: Client, message: string) => c.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: DAN, message } });

describe.each(['legacy', 'modern'] as const)('%s era', (era) => {
  it('asks the person, showing recipient and text; accepted, the message goes out', async () => {
    await linked();
    const { c, asked } = await client(era, { action: 'accept', content: { confirm: true } });
    const sent = await send(c, 'Hello Dan, it is me');
    expect(sent.isError, JSON.stringify(sent)).toBeFalsy();
    expect(structured(sent)).toMatchObject({ ok: true, status: 'sent' });
    expect(asked).toHaveLength(1);
    expect(asked[0].mode ?? 'form').toBe('form');
    expect(asked[0].message).toContain(`Dan Okafor (+${DAN})`);
    expect(asked[0].message).toContain('"Hello Dan, it is me"');
    expect(asked[0].requestedSchema).toMatchObject({ type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] });
    expect(deliveries(srv).map((d) => d.body)).toEqual(['Hello Dan, it is me']);
    const chat = await srv.call('GET', `/api/chats/${DAN}@c.us/messages`, undefined, admin);
    expect(chat.json.messages.map((m: { body: string }) => m.body)).toContain('Hello Dan, it is me');
    // The first attempt's refusal, then the confirmed send.
    const rows = (await audit()).filter((r) => r.operation === 'whatsapp_send_message');
    expect(rows.map((r) => r.outcome)).toEqual(['confirmation_required', 'ok']);
    expect(rows.every((r) => r.chat_id === `${DAN}@c.us` && r.key === 'env')).toBe(true);
  });

  it('declined or dismissed: isError confirmation_required saying so, and nothing is sent', async () => {
    await linked();
    for (const answer of [{ action: 'decline' }, { action: 'accept', content: { confirm: false } }, { action: 'cancel' }] as Answer[]) {
      const { c } = await client(era, answer);
      const refused = await send(c, 'Hello Dan');
      expect(refused.isError).toBe(true);
      const { error } = structured(refused);
      expect(error).toMatchObject({ code: 'confirmation_required', details: { chat_id: `${DAN}@c.us`, recipient: `+${DAN}`, name: 'Dan Okafor', preview: 'Hello Dan' } });
      expect(error.hint).toMatch(/declined/);
    }
    expect(deliveries(srv)).toEqual([]);
    const outcomes = (await audit()).filter((r) => r.operation === 'whatsapp_send_message').map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'confirmation_declined')).toHaveLength(3);
    expect(outcomes).not.toContain('ok');
  });

  it('a client without elicitation gets isError confirmation_required with the hint that it could not ask', async () => {
    await linked();
    const { c } = await client(era);
    const refused = await send(c, 'Hello Dan');
    expect(refused.isError).toBe(true);
    const { error } = structured(refused);
    expect(error.code).toBe('confirmation_required');
    expect(error.hint).toMatch(/could not ask/);
    expect(deliveries(srv)).toEqual([]);
    expect((await audit()).map((r) => r.outcome)).toContain('confirmation_required');
  });
});

describe('requestState (2026-07-28, raw requests)', () => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} }, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
  let id = 0;
  async function call(message: string, retry?: { requestState: string; confirm?: boolean }) {
    const params = {
      name: 'whatsapp_send_message',
      arguments: { phone_number: DAN, message },
      _meta: meta,
      ...(retry ? { requestState: retry.requestState, inputResponses: { confirm: { action: 'accept', content: { confirm: retry.confirm ?? true } } } } : {}),
    };
    const res = await fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whatsapp_send_message' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params }),
    });
    return ((await res.json()) as { result: any }).result;
  }

  it('is sealed and bound to the call: altered, or reused for other text, it is refused and nothing is sent', async () => {
    await linked();
    const first = await call('Hello Dan');
    expect(first).toMatchObject({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create', params: { mode: 'form' } } } });
    const state: string = first.requestState;
    expect(typeof state).toBe('string');
    const [head, body, mac] = state.split('.');
    const forged = JSON.parse(Buffer.from(body!, 'base64url').toString());
    forged.p.args = 'x';
    const tampered = [`${head}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`, `${state.slice(0, -2)}AA`, 'not-a-state'];
    for (const requestState of tampered) {
      const refused = await call('Hello Dan', { requestState });
      expect(refused.isError, requestState).toBe(true);
      expect(refused.structuredContent.error).toMatchObject({ code: 'confirmation_required', hint: expect.stringMatching(/did not match/) });
    }
    const reused = await call('Send me your bank details', { requestState: state });
    expect(reused.isError).toBe(true);
    expect(reused.structuredContent.error.hint).toMatch(/did not match/);
    expect(deliveries(srv)).toEqual([]);
    // The genuine answer to the genuine question still works.
    const sent = await call('Hello Dan', { requestState: state });
    expect(sent.structuredContent).toMatchObject({ ok: true, status: 'sent' });
    expect(deliveries(srv).map((d) => d.body)).toEqual(['Hello Dan']);
    const outcomes = (await audit()).filter((r) => r.operation === 'whatsapp_send_message').map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'invalid_request_state')).toHaveLength(4);
    expect(outcomes.at(-1)).toBe('ok');
  });

  it('is bound to the key that was asked', async () => {
    await linked();
    const res = await srv.call('POST', '/api/keys', { name: 'other-sender', scopes: ['read', 'send'] }, admin);
    const first = await call('Hello Dan');
    const other = await fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${res.json.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whatsapp_send_message' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'whatsapp_send_message', arguments: { phone_number: DAN, message: 'Hello Dan' }, _meta: meta, requestState: first.requestState, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } } }),
    });
    const result = ((await other.json()) as { result: any }).result;
    expect(result.isError).toBe(true);
    expect(result.structuredContent.error.hint).toMatch(/did not match/);
    expect(deliveries(srv)).toEqual([]);
  });
});

describe('stdio', () => {
  it('asks over stdio as a legacy session does: accepted, the message goes out', async () => {
    srv = await startTestServer(); // only for its temp dir
    const c = new Client({ name: 'confirm-stdio', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    c.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { confirm: true } };
    });
    const { WHATSAPP_API_KEY: _none, ...env } = ENV;
    await c.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'src/cli.ts', '--stdio'],
        cwd: path.resolve(import.meta.dirname, '..'),
        env: { PATH: process.env.PATH ?? '', ...env, WHATSAPP_ENGINE: 'sandbox', WHATSAPP_SANDBOX_LINK_DELAY_MS: '50', WHATSAPP_AUTH_DIR: path.join(srv.dir, 'stdio-auth'), WHATSAPP_DATA_DIR: path.join(srv.dir, 'stdio-data'), LOG_LEVEL: 'silent' },
      }),
    );
    clients.push(c);
    await c.callTool({ name: 'whatsapp_start_auth', arguments: {} });
    await c.callTool({ name: 'whatsapp_pairing_code', arguments: { phone_number: '+44 7700 900123' } });
    await waitFor(async () => ((await c.callTool({ name: 'whatsapp_status', arguments: {} })).structuredContent as { ready?: boolean }).ready, 'linked over stdio');
    const sent = await send(c, 'Hello over stdio');
    expect(structured(sent)).toMatchObject({ ok: true, status: 'sent' });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('"Hello over stdio"');
  });
});
