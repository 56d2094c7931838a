// A stream opened with a stored key must not outlive the key: revoked by the CLI (another connection on access.db),
// the SSE event stream and an MCP session's GET stream end before carrying the next message, rather than at their
// next reconnect. Each test asserts the stream ENDS (a positive event; the old code kept it open and delivering) and
// that the message sent after the revocation is not among what it carried.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyService, adminPrincipal } from '../src/service/keys.js';
import { ACCESS_DB_FILE, openAccessDb } from '../src/store/access-db.js';
import { openRawSession, rawMcp } from './helpers/mcp.js';
import { startTestServer, type TestServer, type TestServerOptions, waitFor } from './helpers/server.js';
import { openSse } from './helpers/sse.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

const ALICE = '447700900001';
const CHAT = `${ALICE}@c.us`;
const MODERN = '2026-07-28';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A linked sandbox server with an admin key (to inject messages) and the `temp2` read key under test. */
async function serverWithKeys(opts: TestServerOptions = {}): Promise<{ admin: Record<string, string>; temp: string }> {
  srv = await startTestServer({}, opts);
  const owner = await srv.call('POST', '/api/keys', { name: 'owner', scopes: ['admin', 'read', 'send', 'manage'] });
  expect(owner.status, JSON.stringify(owner.json)).toBe(201);
  const admin = bearer(owner.json.key);
  const temp = await srv.call('POST', '/api/keys', { name: 'temp2', scopes: ['read'] }, admin);
  expect(temp.status, JSON.stringify(temp.json)).toBe(201);
  expect((await srv.call('POST', '/api/sandbox/link', { phone_number: '+44 7700 900123' }, admin)).status).toBe(200);
  await waitFor(async () => (await srv.call('GET', '/api/status', undefined, admin)).json.state === 'ready', 'linked');
  return { admin, temp: temp.json.key };
}

async function inbound(admin: Record<string, string>, body: string): Promise<void> {
  const res = await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, body }, admin);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
}

/** What `keys revoke` does: its own connection to access.db, so the server learns of it through data_version. */
function revokeFromCli(name: string): void {
  const db = openAccessDb(path.join(srv.dataDir, ACCESS_DB_FILE));
  try {
    expect(new KeyService(db).revoke(name)).toBe(true);
  } finally {
    db.close();
  }
}

describe('revoking a key ends the streams it opened', () => {
  it('ends GET /api/events (SSE) before the next message, with a closing comment', async () => {
    const { admin, temp } = await serverWithKeys();
    const sse = await openSse(`${srv.url}/api/events?types=message.*`, bearer(temp));
    expect(sse.status).toBe(200);
    await inbound(admin, 'first, while the key is good');
    await waitFor(() => JSON.stringify(sse.frames).includes('first, while the key is good'), 'first message on the stream');

    revokeFromCli('temp2');
    await inbound(admin, 'second, after revocation');
    await sse.closed; // the server ended the stream (the old code kept it open: this would time out)
    expect(JSON.stringify(sse.frames)).not.toContain('second, after revocation');
    expect(sse.comments).toContain('key revoked');
    expect((await srv.call('GET', '/api/events', undefined, bearer(temp))).status).toBe(401);
  });

  it('ends a quiet event stream at its next heartbeat', async () => {
    const { temp } = await serverWithKeys({ eventStream: { heartbeatMs: 20 } });
    const sse = await openSse(`${srv.url}/api/events`, bearer(temp));
    await waitFor(() => sse.comments.includes('ping'), 'a heartbeat while the key is good');
    revokeFromCli('temp2');
    await sse.closed;
    expect(sse.comments).toContain('key revoked');
  });

  it('ends the stream even when the key is revoked and re-added under the same name (other limits)', async () => {
    const { admin, temp } = await serverWithKeys();
    const sse = await openSse(`${srv.url}/api/events?types=message.*`, bearer(temp));
    revokeFromCli('temp2');
    expect((await srv.call('POST', '/api/keys', { name: 'temp2', scopes: ['read'], chats: ['447700900999'] }, admin)).status).toBe(201);
    await inbound(admin, 'after the re-add');
    await sse.closed;
    expect(JSON.stringify(sse.frames)).not.toContain('after the re-add');
  });

  it('closes an MCP session whose key is revoked: its GET stream ends, the update is not sent, the session is gone', async () => {
    const { admin, temp } = await serverWithKeys();
    await inbound(admin, 'makes the chat exist');
    const version = '2025-11-25';
    const sid = await openRawSession(srv.url, version, bearer(temp));
    const headers = { ...bearer(temp), 'mcp-session-id': sid, 'mcp-protocol-version': version };
    const sub = await rawMcp(`${srv.url}/mcp`, { jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: `whatsapp://chats/${CHAT}` } }, headers);
    expect(sub.status, sub.text).toBe(200);
    const stream = await openSse(`${srv.url}/mcp`, headers);
    expect(stream.status).toBe(200);
    const updates = () => stream.frames.filter((f) => f.data?.method === 'notifications/resources/updated');
    await inbound(admin, 'while the key is good');
    await waitFor(() => updates().length >= 1, 'a resource update on the GET stream');

    revokeFromCli('temp2');
    await inbound(admin, 'after revocation');
    await stream.closed; // the session closed (the old code kept notifying: this would time out)
    expect(updates()).toHaveLength(1);
    // A fresh key must find no session left to reuse.
    const other = await srv.call('POST', '/api/keys', { name: 'temp3', scopes: ['read'] }, admin);
    const again = await rawMcp(`${srv.url}/mcp`, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { ...headers, ...bearer(other.json.key) });
    expect(again.status).toBe(404);
  });

  it('ends a 2026-07-28 subscriptions/listen stream before the next update', async () => {
    const { admin, temp } = await serverWithKeys();
    await inbound(admin, 'makes the chat exist');
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const listen = { jsonrpc: '2.0', id: 3, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: [`whatsapp://chats/${CHAT}`] }, _meta: meta } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(temp), 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' };
    const stream = await openRawStream(`${srv.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(listen) });
    expect(stream.status).toBe(200);
    const updates = () => stream.text().split('\n').filter((l) => l.includes('notifications/resources/updated')).length;
    await waitFor(() => stream.text().includes('notifications/subscriptions/acknowledged'), 'the listen acknowledgement');
    await inbound(admin, 'while the key is good');
    await waitFor(() => updates() >= 1, 'a resource update on the listen stream');

    revokeFromCli('temp2');
    await inbound(admin, 'after revocation');
    await stream.closed; // the old code kept the stream open and notifying: this would time out
    expect(updates()).toBe(1);
  });

  it('closes a legacy /sse session whose key is revoked', async () => {
    const { admin, temp } = await serverWithKeys();
    await inbound(admin, 'makes the chat exist');
    const stream = await openRawStream(`${srv.url}/sse`, { headers: { accept: 'text/event-stream', ...bearer(temp) } });
    expect(stream.status).toBe(200);
    const endpoint = (await waitFor(() => /data: (\/messages\?sessionId=\S+)/.exec(stream.text()), 'the endpoint event'))[1]!;
    const post = async (body: unknown) => expect((await srv.call('POST', endpoint, body, bearer(temp))).status).toBe(202);
    await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'sse-test', version: '1' } } });
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await post({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: `whatsapp://chats/${CHAT}` } });
    await waitFor(() => stream.text().includes('"id":2'), 'the subscribe answer');
    const updates = () => stream.text().split('\n').filter((l) => l.includes('notifications/resources/updated')).length;
    await inbound(admin, 'while the key is good');
    await waitFor(() => updates() >= 1, 'a resource update on the /sse stream');

    revokeFromCli('temp2');
    await inbound(admin, 'after revocation');
    await stream.closed; // the old code kept the session notifying: this would time out
    expect(updates()).toBe(1);
  });

  it('leaves streams of keys that were not revoked alone', async () => {
    const { admin, temp } = await serverWithKeys();
    const kept = await openSse(`${srv.url}/api/events?types=message.*`, bearer(temp));
    const extra = await srv.call('POST', '/api/keys', { name: 'other', scopes: ['read'] }, admin);
    revokeFromCli('other');
    await inbound(admin, 'still delivered');
    await waitFor(() => JSON.stringify(kept.frames).includes('still delivered'), 'the message on the kept stream');
    expect(extra.status).toBe(201);
    kept.close();
  });
});

/** A streamed answer read as text (a listen POST, the legacy /sse GET): its text so far, and when the server ends it. */
async function openRawStream(url: string, init: RequestInit) {
  const res = await fetch(url, init);
  let text = '';
  const closed = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    } catch {
      // cut by the server (destroyed): ended all the same
    }
  })();
  return { status: res.status, text: () => text, closed };
}

describe('KeyService.stillValid', () => {
  it('holds for a key as verified, not once revoked or re-added under its name; never lapses for WHATSAPP_API_KEY', async () => {
    srv = await startTestServer();
    const db = openAccessDb(path.join(srv.dataDir, ACCESS_DB_FILE));
    try {
      const keys = new KeyService(db);
      const p = keys.verify(keys.create({ name: 'agent', scopes: ['read'] }).key, 'rest')!;
      expect(keys.stillValid(p)).toBe(true);
      keys.revoke('agent');
      keys.create({ name: 'agent', scopes: ['read'] });
      expect(keys.stillValid(p)).toBe(false);
      expect(keys.stillValid(adminPrincipal('env', 'rest'))).toBe(true);
    } finally {
      db.close();
    }
  });
});
