// MCP and media, with real SDK clients: what a client receives from whatsapp_get_media (image, audio, embedded
// resource, resource link), the whatsapp://media resource, media.path rules per transport, and an engine without
// facets (501 on REST, not listed over MCP).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { createMcpServer } from '../src/mcp/server.js';
import { oggOpus, pdf, png } from './helpers/media-fixtures.js';
import { connectHttpClient, structured } from './helpers/mcp.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const NO_PACE = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let srv: TestServer;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await srv?.close();
});

async function linked(env: Record<string, string> = {}) {
  srv = await startTestServer({ ...NO_PACE, ...env });
  await srv.sandbox.linkNow();
  ({ client } = await connectHttpClient(srv.url));
  return client!;
}

const inboundFile = async (data: Buffer, extra: Record<string, string> = {}) =>
  (await srv.call('POST', '/api/sandbox/inbound', { from: '15550001002', media: { data: data.toString('base64'), ...extra } })).json.message;

describe('whatsapp_get_media', () => {
  it('gives an image as image content a model can see, after the same JSON as text', async () => {
    const c = await linked();
    const image = png(2, 2);
    const sent = structured(await c.callTool({ name: 'whatsapp_send_media', arguments: { chat_id: '15550001001', media: { data: image.toString('base64') }, caption: 'look' } }));
    expect(sent).toMatchObject({ ok: true, status: 'sent' });
    const got = (await c.callTool({ name: 'whatsapp_get_media', arguments: { message_id: sent.message_id } })) as CallToolResult;
    expect(got.isError).toBeFalsy();
    expect(structured(got)).toMatchObject({ ok: true, message_id: sent.message_id, media: { kind: 'image', mimetype: 'image/png', sha256: sha(image), size: image.length } });
    const block = got.content.find((b) => b.type === 'image');
    expect(block).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(Buffer.from((block as { data: string }).data, 'base64').equals(image)).toBe(true);
  });

  it('gives a voice note as audio content', async () => {
    const c = await linked();
    const note = await inboundFile(oggOpus());
    expect(note.media).toMatchObject({ kind: 'voice', mimetype: 'audio/ogg' });
    const got = (await c.callTool({ name: 'whatsapp_get_media', arguments: { message_id: note.id } })) as CallToolResult;
    const audio = got.content.find((b) => b.type === 'audio') as { data: string; mimeType: string } | undefined;
    expect(audio?.mimeType).toBe('audio/ogg');
    expect(Buffer.from(audio!.data, 'base64').equals(oggOpus())).toBe(true);
  });

  it('embeds a small document as a resource, and links a large one to whatsapp://media/<id>, which reads as the bytes', async () => {
    const c = await linked();
    const small = await inboundFile(pdf(), { filename: 'notes.pdf' });
    const embedded = (await c.callTool({ name: 'whatsapp_get_media', arguments: { message_id: small.id } })) as CallToolResult;
    const res = embedded.content.find((b) => b.type === 'resource') as { resource: { uri: string; blob: string; mimeType: string } };
    expect(res.resource).toMatchObject({ uri: `whatsapp://media/${encodeURIComponent(small.id)}`, mimeType: 'application/pdf' });
    expect(Buffer.from(res.resource.blob, 'base64').equals(pdf())).toBe(true);

    const big = Buffer.concat([pdf(), Buffer.alloc(2 * 1024 * 1024, 7)]);
    const large = await inboundFile(big, { filename: 'big.pdf' });
    const linkedOut = (await c.callTool({ name: 'whatsapp_get_media', arguments: { message_id: large.id } })) as CallToolResult;
    const link = linkedOut.content.find((b) => b.type === 'resource_link') as { uri: string; size: number; name: string };
    expect(link).toMatchObject({ uri: `whatsapp://media/${encodeURIComponent(large.id)}`, size: big.length, name: 'big.pdf' });
    expect(linkedOut.content.some((b) => b.type === 'resource')).toBe(false);
    const read = await c.readResource({ uri: link.uri });
    const blob = (read.contents[0] as { blob: string }).blob;
    expect(sha(Buffer.from(blob, 'base64'))).toBe(sha(big));
  });

  it('a message without media, or an unknown id, is an isError not_found', async () => {
    const c = await linked();
    const text = structured(await c.callTool({ name: 'whatsapp_send_to_chat', arguments: { chat_id: '15550001001', message: 'words only' } }));
    for (const id of [text.message_id, 'no-such-message']) {
      const r = (await c.callTool({ name: 'whatsapp_get_media', arguments: { message_id: id } })) as CallToolResult;
      expect(r.isError).toBe(true);
      expect(structured(r).error.code).toBe('not_found');
    }
    await expect(c.readResource({ uri: 'whatsapp://media/no-such-message' })).rejects.toThrow(/No message/);
  });

  it('keeps the baseline whatsapp_send_message schema (text only, message required); files go through whatsapp_send_media', async () => {
    const c = await linked();
    const { tools } = await c.listTools();
    const send = tools.find((t) => t.name === 'whatsapp_send_message')!;
    expect(send.inputSchema.required).toEqual(['phone_number', 'message']);
    expect(Object.keys(send.inputSchema.properties ?? {})).not.toContain('media');
    const media = tools.find((t) => t.name === 'whatsapp_send_media')!;
    expect(media.inputSchema.required).toEqual(['chat_id', 'media']);
    const r = (await c.callTool({ name: 'whatsapp_send_message', arguments: { phone_number: '15550001001', message: 'x', media: { data: 'AAAA' } } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(structured(r).error.code).toBe('invalid_input');
  });
});

describe('media.path', () => {
  function roots() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-roots-'));
    const root = path.join(dir, 'allowed');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'dot.png'), png());
    fs.writeFileSync(path.join(dir, 'secret.png'), png(1, 1, [9, 9, 9, 255]));
    fs.symlinkSync(path.join(dir, 'secret.png'), path.join(root, 'escape.png'));
    return { root, inside: path.join(root, 'dot.png'), outside: path.join(dir, 'secret.png'), escape: path.join(root, 'escape.png') };
  }

  async function stdioClient(env: Record<string, string>) {
    srv = await startTestServer({ ...NO_PACE, ...env });
    await srv.sandbox.linkNow();
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createMcpServer(srv.app.services, { transport: 'stdio' }).connect(a);
    const c = new Client({ name: 'stdio-like', version: '1.0.0' });
    await c.connect(b);
    client = c;
    return c;
  }
  const sendPath = async (c: Client, file: string) =>
    (await c.callTool({ name: 'whatsapp_send_media', arguments: { chat_id: '15550001001', media: { path: file } } })) as CallToolResult;

  it('over stdio sends a file inside WHATSAPP_MEDIA_ROOTS; refuses one outside, or reached through a symlink', async () => {
    const r = roots();
    const c = await stdioClient({ WHATSAPP_MEDIA_ROOTS: r.root });
    const ok = await sendPath(c, r.inside);
    expect(structured(ok)).toMatchObject({ ok: true, status: 'sent' });
    for (const bad of [r.outside, r.escape, path.join(r.root, '..', 'secret.png'), 'relative.png']) {
      const res = await sendPath(c, bad);
      expect(res.isError, bad).toBe(true);
      expect(structured(res).error).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^media\.path: /) });
    }
  });

  it('is off without WHATSAPP_MEDIA_ROOTS, and over HTTP unless WHATSAPP_MEDIA_PATH_OVER_HTTP', async () => {
    const r = roots();
    const off = await stdioClient({});
    expect(structured(await sendPath(off, r.inside)).error.message).toMatch(/local files are off/);
    await off.close();
    await srv.close();
    const http = await linked({ WHATSAPP_MEDIA_ROOTS: r.root });
    expect(structured(await sendPath(http, r.inside)).error.message).toMatch(/stdio only/);
    await http.close();
    await srv.close();
    const allowed = await linked({ WHATSAPP_MEDIA_ROOTS: r.root, WHATSAPP_MEDIA_PATH_OVER_HTTP: 'true' });
    expect(structured(await sendPath(allowed, r.inside))).toMatchObject({ ok: true, status: 'sent' });
  });
});

/** The sandbox with its facets taken away: stands for an engine that has none (Baileys without media, say). */
class BareEngine extends SandboxEngine {
  override readonly media = undefined;
  override readonly messageOps = undefined;
  override readonly richMessages = undefined;
}

describe('an engine without facets', () => {
  it('answers 501 not_supported naming the engine, and MCP does not list what it cannot do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bare-'));
    const engine = new BareEngine({ config: { authDir: path.join(dir, 'auth'), sandboxLinkDelayMs: 0, headless: true }, logger: silentLogger() });
    srv = await startTestServer(NO_PACE, { engine }, dir);
    await engine.linkNow();
    const sent = await srv.call('POST', '/api/send', { phone_number: '15550001001', message: 'text still works' });
    expect(sent.status).toBe(200);
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/api/send', { phone_number: '15550001001', media: { data: png().toString('base64') } }],
      ['POST', '/api/send', { phone_number: '15550001001', poll: { question: 'q', options: ['a', 'b'] } }],
      ['POST', `/api/messages/${encodeURIComponent(sent.json.message_id)}/reaction`, { emoji: '👍' }],
      ['POST', '/api/chats/15550001001@c.us/read', undefined],
    ];
    for (const [method, url, body] of cases) {
      const r = await srv.call(method, url, body);
      expect(r.status, url).toBe(501);
      expect(r.json.error).toMatchObject({ code: 'not_supported', details: { engine: 'sandbox' } });
      expect(r.json.error.message).toMatch(/sandbox engine cannot/);
    }
    ({ client } = await connectHttpClient(srv.url));
    const names = (await client!.listTools()).tools.map((t) => t.name);
    expect(names).toContain('whatsapp_send_message');
    for (const hidden of ['whatsapp_send_media', 'whatsapp_send_poll', 'whatsapp_react', 'whatsapp_mark_read']) expect(names).not.toContain(hidden);
  });
});
