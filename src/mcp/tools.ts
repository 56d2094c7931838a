// MCP tools generated from the operations table, and the one place MCP maps a thrown value to a tool result.
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ERROR_STATUS, toAppError } from '../errors.js';
import { UNTRUSTED_CONTENT_NOTICE } from '../events/types.js';
import { callerOf, operationsFor } from '../operations/access.js';
import { inputSchema, invokeOperation } from '../operations/invoke.js';
import { availableOperations, type Operation, type Services } from '../operations/index.js';
import type { CallOptions } from '../operations/operation.js';

/** The shape of `structuredContent` when a tool fails: the REST error body, so both doors speak one language. */
export const ToolErrorSchema = z.object({
  ok: z.literal(false),
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
    message: z.string(),
    hint: z.string().optional(),
    details: z.unknown().optional(),
  }),
});
export type ToolError = z.infer<typeof ToolErrorSchema>;

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  // draft-07 because that is what the SDK's own converter emits and what its default (Ajv) validator reads.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

const errorJsonSchema = jsonSchema(ToolErrorSchema, 'output');

/**
 * The advertised outputSchema admits the error envelope too. Why: the SDK 1.x client validates `structuredContent`
 * against outputSchema even when `isError` is true (typescript-sdk issue #1943), so an error result carrying our
 * structured error would be rejected by every TypeScript client if the schema described only success.
 */
function outputJsonSchema(op: Operation): Tool['outputSchema'] {
  const success = jsonSchema(op.output, 'output');
  const alternatives = Array.isArray(success.anyOf) && success.type === undefined ? (success.anyOf as JsonObject[]) : [success];
  return { type: 'object', anyOf: [...alternatives.map((a) => (addsNotice(op) ? withNotice(a) : a)), errorJsonSchema] };
}

/**
 * Results that carry other people's words (messages, names, captions, group subjects) say so in the result itself,
 * where the model reads them: `untrusted_content_notice`, added here for every such operation that does not return it
 * already (the events operations do), on every MCP path, so the fast paths and the SDK's answer stay one set of bytes.
 */
function addsNotice(op: Operation): boolean {
  return op.untrusted === true && !(op.output instanceof z.ZodObject && 'untrusted_content_notice' in op.output.shape);
}

function withNotice(schema: JsonObject): JsonObject {
  if (schema.type !== 'object' || typeof schema.properties !== 'object') return schema;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return { ...schema, properties: { ...(schema.properties as JsonObject), untrusted_content_notice: { type: 'string', const: UNTRUSTED_CONTENT_NOTICE } }, required: [...required, 'untrusted_content_notice'] };
}

/** The description a model reads: for untrusted operations it says, once, that their text is data. */
function toolDescription(op: Operation): string {
  return op.untrusted && !op.description.includes(UNTRUSTED_CONTENT_NOTICE) ? `${op.description} ${UNTRUSTED_CONTENT_NOTICE}` : op.description;
}

export interface ToolSet {
  ops: Operation[];
  byName: Map<string, Operation>;
}

const toolSets = new WeakMap<Services, ToolSet>();

/**
 * The operations offered as tools, computed once per Services: every legacy session, every modern request (SDK
 * path or the fast path in modern-fast.ts) and stdio list and resolve tools from this one set.
 */
export function toolSet(services: Services): ToolSet {
  let set = toolSets.get(services);
  if (!set) {
    // An operation whose facet this engine lacks would only ever answer not_supported: not listed.
    const ops = availableOperations(services).filter((op) => op.mcp !== false && (!op.facet || services.engine[op.facet] !== undefined));
    set = { ops, byName: new Map(ops.map((op) => [op.name, op])) };
    toolSets.set(services, set);
  }
  return set;
}

/**
 * The tools a caller is offered by tools/list (what its key may call: access.ts), and a key naming that set, so the
 * fast path serializes each distinct list once. The one place tools are filtered per caller: both tools/list paths
 * (server.ts, modern-fast.ts) ask it.
 */
export function listedTools(services: Services, call: CallOptions = {}): { key: string; ops: Operation[] } {
  const p = callerOf(call);
  // What mayCall reads: the scopes, and whether the key is limited to some chats.
  const key = `${[...p.scopes].sort().join(',')}${p.chats === null ? '' : '|chats'}`;
  const perKey = listings.get(services) ?? new Map<string, Operation[]>();
  listings.set(services, perKey);
  let ops = perKey.get(key);
  if (!ops) perKey.set(key, (ops = operationsFor(p, toolSet(services).ops)));
  return { key, ops };
}

const listings = new WeakMap<Services, Map<string, Operation[]>>();

const definitions = new WeakMap<Operation, Tool>();

/** tools/list entry for an operation; computed once per operation, since every MCP session lists the same tools. */
export function toolDefinition(op: Operation): Tool {
  let tool = definitions.get(op);
  if (!tool) {
    tool = {
      name: op.name,
      title: op.title,
      description: toolDescription(op),
      // The strict schema the call is checked against, so the advertised one says additionalProperties: false.
      inputSchema: { ...jsonSchema(inputSchema(op, 'stdio'), 'input'), type: 'object' },
      outputSchema: outputJsonSchema(op),
      annotations: { title: op.title, ...op.annotations },
    };
    definitions.set(op, tool);
  }
  return tool;
}

/**
 * Run an operation for tools/call: the one function that turns an operation's result or error into a CallToolResult,
 * called by the SDK's tools/call handler (server.ts) and by the fast paths (modern-fast.ts, legacy-fast.ts) alike. Invalid arguments and operation failures both come back as `isError` results:
 * since protocol revision 2025-11-25 (SEP-1303) input validation errors are tool execution errors, so the model
 * sees what was wrong and can correct itself. Only malformed requests (unknown tool, bad params) are JSON-RPC errors.
 */
export async function callOperation(op: Operation, args: unknown, services: Services, call: CallOptions = {}): Promise<CallToolResult> {
  // One async function, not two: each layer is a promise and a microtask on every call (bench:mcp).
  let result: CallToolResult;
  try {
    const raw = await invokeOperation(op, args ?? {}, services, call);
    result = op.toolContent ? await withToolContent(op, raw, services) : toolSuccess(op, raw, services);
  } catch (err) {
    const appErr = toAppError(err);
    if (appErr.code === 'internal') services.logger.error({ err, tool: op.name }, 'tool failed');
    result = toolError(appErr.toBody('mcp'));
  }
  toolCallObservers.get(services.accounts)?.(op.name, result.isError !== true, services.account);
  return result;
}

/**
 * Told of every tool call's outcome and its account (metrics). Per account registry, so every account's calls reach
 * the one observer, and two servers in one process count apart.
 */
const toolCallObservers = new WeakMap<Services['accounts'], (tool: string, ok: boolean, account: string) => void>();

export function observeToolCalls(services: Services, observer: (tool: string, ok: boolean, account: string) => void): void {
  toolCallObservers.set(services.accounts, observer);
}

/**
 * The structuredContent of an operation's answer. Parsing through the output schema strips fields the advertised
 * (additionalProperties: false) schema does not list, so a client validating structuredContent never rejects a
 * result because an engine added a field. undefined: the answer breaks the schema (logged).
 */
function structured(op: Operation, raw: unknown, services: Services): JsonObject | undefined {
  const parsed = op.output.safeParse(raw);
  if (!parsed.success) {
    services.logger.error({ tool: op.name, issues: parsed.error.issues }, 'operation returned a result that breaks its output schema');
    return undefined;
  }
  return addsNotice(op) ? { ...(parsed.data as JsonObject), untrusted_content_notice: UNTRUSTED_CONTENT_NOTICE } : (parsed.data as JsonObject);
}

function toolSuccess(op: Operation, raw: unknown, services: Services): CallToolResult {
  const data = structured(op, raw, services);
  return data ? toolResult(data, false) : toolError(toAppError(new Error('output schema mismatch')).toBody());
}

async function withToolContent(op: Operation, raw: unknown, services: Services): Promise<CallToolResult> {
  const data = structured(op, raw, services);
  if (!data) return toolError(toAppError(new Error('output schema mismatch')).toBody());
  // The JSON first, as for every tool (clients that read text only still see it), then the content itself.
  const extra = (await op.toolContent!(raw as never)) as CallToolResult['content'];
  return { content: [...toolResult(data, false).content, ...extra], structuredContent: data };
}

/** An error result the door itself decided on (confirm.ts), counted like the calls callOperation answers. */
export function toolErrorResult(op: Operation, services: Services, body: ToolError['error']): CallToolResult {
  const result = toolError(body);
  toolCallObservers.get(services.accounts)?.(op.name, false, services.account);
  return result;
}

function toolError(body: ToolError['error']): CallToolResult {
  return toolResult({ ok: false, error: body }, true);
}

/** structuredContent for clients that read it, and the same JSON as text for clients (and models) that do not. */
function toolResult(data: JsonObject, isError: boolean): CallToolResult {
  const text = JSON.stringify(data);
  const result: CallToolResult = { content: [{ type: 'text', text }], structuredContent: data, ...(isError ? { isError } : {}) };
  structuredJson.set(result, { data, text });
  return result;
}

/**
 * Results made by toolResult, their structuredContent and its JSON (the text block, serialized once). Replaced
 * fields are noticed (toolResultJson compares); a structuredContent changed in place would not be, and nothing does
 * that: callOperation's results go straight to the writer.
 */
const structuredJson = new WeakMap<CallToolResult, { data: JsonObject; text: string }>();
/** `extra` objects (the fast paths' constants) as JSON members: `,"k":v...`. */
const extraJson = new WeakMap<JsonObject, string>();

/**
 * `JSON.stringify({ ...result, ...extra })`, byte for byte, for the fast paths' answers. A result from toolResult is
 * spliced instead: its structuredContent is the text block's JSON, so it is serialized once, not twice (the whole
 * result with the object in it twice was ~10% of a modern call's CPU, bench:mcp). `extra`: a constant whose keys the
 * result lacks (resultType, _meta), serialized once per object.
 */
export function toolResultJson(result: CallToolResult, extra?: JsonObject): string {
  const made = structuredJson.get(result);
  const block = result.content[0];
  const plain =
    made !== undefined && result.structuredContent === made.data && result.content.length === 1 && block?.type === 'text' && block.text === made.text &&
    onlyKeys(result, extra) && (result.isError === undefined || result.isError === true);
  if (!plain) return JSON.stringify(extra ? { ...result, ...extra } : result);
  const text = made.text;
  let members = '';
  if (extra) {
    let known = extraJson.get(extra);
    if (known === undefined) {
      const inner = JSON.stringify(extra).slice(1, -1);
      extraJson.set(extra, (known = inner && `,${inner}`));
    }
    members = known;
  }
  return `{"content":[{"type":"text","text":${JSON.stringify(text)}}],"structuredContent":${text}${result.isError ? ',"isError":true' : ''}${members}}`;
}

/** The keys toolResult gives, in its order, and none of extra's. */
function onlyKeys(result: CallToolResult, extra: JsonObject | undefined): boolean {
  let n = 0;
  for (const k in result) {
    if (!(k === 'content' ? n === 0 : k === 'structuredContent' ? n === 1 : k === 'isError' && n === 2)) return false;
    n++;
  }
  if (extra) for (const k in extra) if (k in result) return false;
  return n >= 2;
}
