// Confirmation of a first message to a new chat over MCP (WHATSAPP_CONFIRM_NEW_RECIPIENTS): when a tool call is
// refused with confirmation_required and the client can ask its user (it declared the elicitation capability), the
// call answers with an input request instead: a form elicitation showing recipient and text, asking {confirm}. One
// handler serves both eras: on 2026-07-28 the client fulfils it and retries with inputResponses + requestState
// (Multi Round-Trip Requests); on a 2025-era session (and stdio) the SDK's legacy shim sends a real
// elicitation/create to the client and re-enters the handler with the answer, through the same requestState.
//
// requestState comes back from the client, so it is attacker-controlled: it is HMAC-sealed with a per-process key
// (the SDK's codec: MAC and expiry), and its payload binds it to this tool, a hash of these exact arguments and this
// key, so a "yes" for one text or recipient can never send another. A state that fails any check is refused without
// running the call. A refused call did nothing (recipient-policy.ts: nothing is staged before the check), so running
// it again confirmed is safe.
import { createHash, randomBytes } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  type CallToolResult,
  type InputRequiredResult,
  type ServerContext,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
} from '@modelcontextprotocol/server';
import { auditOfError, callerOf } from '../operations/access.js';
import type { Operation, Services } from '../operations/index.js';
import type { CallOptions } from '../operations/operation.js';
import type { Principal } from '../service/keys.js';
import type { ConfirmationDetails } from '../service/recipient-policy.js';
import { callOperation, toolErrorResult, type ToolError } from './tools.js';

/** The key of our one input request; what the retry's inputResponses answer. */
export const CONFIRM_INPUT = 'confirm';
/** How long a person has to answer (the sealed state's lifetime). */
const STATE_TTL_SECONDS = 300;
/** The legacy shim's wait for the elicitation answer: below the state's lifetime, so an answer never outlives it. */
export const ELICITATION_ROUND_TIMEOUT_MS = (STATE_TTL_SECONDS - 20) * 1000;

const DECLINED_HINT =
  'The person declined this message (or dismissed the question): it was not sent. Do not send it again unless they ask you to.';
const STATE_REFUSED_HINT =
  'The confirmation did not match this call (it was altered, expired, or given for another message, recipient or key), so nothing was sent. Call the tool again to ask the person anew.';

interface SealedConfirmation {
  tool: string;
  /** sha256 of the canonical JSON of the arguments. */
  args: string;
  /** door and name of the key that was asked about. */
  key: string;
  /** The refusal the person was asked about, answered again if they decline. */
  error: { message: string; details: ConfirmationDetails };
}

const codec = createRequestStateCodec<SealedConfirmation>({ key: randomBytes(32), ttlSeconds: STATE_TTL_SECONDS });

const requestedSchema = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const, title: 'Send this message', description: 'Yes: send it. No: do not send it.' } },
  required: ['confirm'],
};

/**
 * Can the client behind this request show a form? 2026-07-28: the request's own _meta capabilities; a 2025-era
 * session: what it declared at initialize. `elicitation: {}` is form support (the spec's backward compatibility rule).
 */
export function elicitsForms(capabilities: { elicitation?: { form?: unknown; url?: unknown } } | undefined): boolean {
  const e = capabilities?.elicitation;
  return e !== undefined && e !== null && (e.form !== undefined || e.url === undefined);
}

/** The capabilities a 2026-07-28 request declared in its envelope. */
export function envelopeCapabilities(ctx: ServerContext): { elicitation?: { form?: unknown; url?: unknown } } | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return envelope?.[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: { form?: unknown; url?: unknown } } | undefined;
}

/** May this operation be refused with confirmation_required (a send or an act that reaches a chat)? */
export function mayNeedConfirmation(op: Operation, services: Services): boolean {
  return services.config.confirmNewRecipients && op.scope === 'send' && !op.annotations.readOnlyHint;
}

/**
 * tools/call with confirmation: the operation's result, or an input request asking the person. `canElicit`: the
 * client said it can show a form (elicitsForms). Without it a refusal stays the isError confirmation_required with
 * the hint that this client could not ask (the spec forbids input requests a client did not declare, and the tool
 * works without elicitation for every known chat, so -32021 MissingRequiredClientCapability would be wrong).
 */
export async function callWithConfirmation(op: Operation, args: unknown, services: Services, call: CallOptions, ctx: ServerContext, canElicit: boolean): Promise<CallToolResult | InputRequiredResult> {
  const state = ctx.mcpReq.requestState();
  if (state !== undefined) {
    const principal = callerOf(call);
    const sealed = typeof state === 'string' ? await openState(state, op, args, principal) : null;
    if (!sealed) return refuse(op, args, services, principal, 'invalid_request_state', 'This confirmation is not valid for this call', STATE_REFUSED_HINT);
    const answer = inputResponse(ctx.mcpReq.inputResponses, CONFIRM_INPUT);
    if (answer.kind === 'elicit' && answer.action === 'accept' && answer.content?.confirm === true) {
      return callOperation(op, args, services, { ...call, confirmed: true });
    }
    if (answer.kind === 'elicit') return refuse(op, args, services, principal, 'confirmation_declined', sealed.error.message, DECLINED_HINT, sealed.error.details);
    // No answer to our question (the spec: ask again rather than fail): fall through to a fresh attempt.
  }
  const result = await callOperation(op, args, services, call);
  const refused = confirmationRefusal(result);
  if (!refused || !canElicit) return result;
  const details = refused.details as ConfirmationDetails;
  const sealed: SealedConfirmation = { tool: op.name, args: argsHash(args), key: keyOf(callerOf(call)), error: { message: refused.message, details } };
  return inputRequired({
    inputRequests: { [CONFIRM_INPUT]: inputRequired.elicit({ mode: 'form', message: confirmationMessage(details), requestedSchema }) },
    requestState: await codec.mint(sealed),
  });
}

/** What the person reads: who it is for and what it says. The name and text come from others: shown, never obeyed. */
export function confirmationMessage(d: ConfirmationDetails): string {
  const who = d.name ? `${d.name} (${d.recipient})` : d.recipient;
  const text = d.preview === '' ? '(no text)' : `"${d.preview}"`;
  return `An AI assistant wants to send the first message from your WhatsApp account to ${who}, a chat you have never written to.\n\nMessage: ${text}\n\nSend it?`;
}

function confirmationRefusal(result: CallToolResult): ToolError['error'] | null {
  if (result.isError !== true) return null;
  const body = result.structuredContent as ToolError | undefined;
  return body?.error?.code === 'confirmation_required' ? body.error : null;
}

async function openState(state: string, op: Operation, args: unknown, principal: Principal): Promise<SealedConfirmation | null> {
  try {
    const s = await codec.verify(state, undefined as unknown as ServerContext);
    return s.tool === op.name && s.args === argsHash(args) && s.key === keyOf(principal) ? s : null;
  } catch {
    return null; // bad MAC, expired or malformed: the codec says which only to onerror, and so do we (not at all)
  }
}

/** An isError confirmation_required without running the call, and its audit row (no operation ran to write one). */
function refuse(op: Operation, args: unknown, services: Services, principal: Principal, outcome: string, message: string, hint: string, details?: ConfirmationDetails): CallToolResult {
  services.audit.record({ ...auditOfError(op, principal, details?.chat_id ?? null, args, outcome), account: services.account });
  return toolErrorResult(op, services, { code: 'confirmation_required', message, hint, ...(details ? { details } : {}) });
}

function keyOf(p: Principal): string {
  return `${p.door}:${p.name}`;
}

function argsHash(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args ?? {})).digest('base64url');
}

/** JSON with object keys sorted, so a retry that spells the same arguments in another order still matches. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
