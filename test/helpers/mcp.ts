// MCP test helpers: SDK clients against a running server, and raw JSON-RPC over fetch for what clients hide.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { OPERATIONS } from '../../src/operations/index.js';

export const BASELINE_TOOLS = [
  'whatsapp_status',
  'whatsapp_start_auth',
  'whatsapp_pairing_code',
  'whatsapp_send_message',
  'whatsapp_list_chats',
  'whatsapp_read_messages',
  'whatsapp_logout',
] as const;

/** Every operation offered over MCP: the baseline seven plus everything added since, none of the REST-only ones. */
export const MCP_TOOLS = OPERATIONS.filter((op) => op.mcp !== false).map((op) => op.name);

export const PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;

/**
 * The SDK client always asks for its latest protocol version; this wrapper rewrites the version in the initialize
 * request so one real client can speak each revision we support.
 */
export function askForVersion(inner: Transport, version: string): Transport {
  const send = inner.send.bind(inner);
  inner.send = (message, options) => {
    if ('method' in message && message.method === 'initialize' && message.params) {
      message = { ...message, params: { ...message.params, protocolVersion: version } } as JSONRPCMessage;
    }
    return send(message, options);
  };
  return inner;
}

export async function connectHttpClient(baseUrl: string, opts: { version?: string; headers?: Record<string, string> } = {}) {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers: opts.headers ?? {} } });
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(opts.version ? askForVersion(transport, opts.version) : transport);
  return { client, transport };
}

/** The parsed structuredContent of a tool result; with the text block checked to carry the same JSON. */
export function structured(result: unknown): Record<string, any> {
  const r = result as CallToolResult;
  const text = r.content.find((c) => c.type === 'text');
  if (!text || text.type !== 'text') throw new Error('tool result has no text block');
  if (JSON.stringify(JSON.parse(text.text)) !== JSON.stringify(r.structuredContent)) throw new Error('text and structuredContent differ');
  return r.structuredContent as Record<string, any>;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** JSON-RPC messages from a JSON body or from the data lines of an SSE body. */
  messages: any[];
  text: string;
}

export const MCP_ACCEPT = 'application/json, text/event-stream';

/** POST (or other method) to an MCP endpoint with fetch, reading the whole response. */
export async function rawMcp(url: string, body: unknown, headers: Record<string, string> = {}, method = 'POST'): Promise<RawResponse> {
  const res = await fetch(url, {
    method,
    headers: { accept: MCP_ACCEPT, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  let messages: any[] = [];
  if (type.includes('text/event-stream')) {
    messages = text
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l.length > 6)
      .map((l) => JSON.parse(l.slice(6)));
  } else if (type.includes('json') && text) {
    messages = [JSON.parse(text)];
  }
  return { status: res.status, headers: res.headers, messages, text };
}

export function initializeRequest(version: string, id: number | string = 1) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } },
  };
}

/** initialize + initialized over raw HTTP; returns the session id. */
export async function openRawSession(baseUrl: string, version = '2025-11-25', headers: Record<string, string> = {}): Promise<string> {
  const init = await rawMcp(`${baseUrl}/mcp`, initializeRequest(version), headers);
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId) throw new Error(`initialize failed: ${init.status} ${init.text}`);
  await rawMcp(`${baseUrl}/mcp`, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': version, ...headers });
  return sessionId;
}
