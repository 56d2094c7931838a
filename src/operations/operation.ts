// An operation is the single source of truth for one capability: REST routes and MCP tools are generated from it.
import type { z } from 'zod';
import type { AccountRegistry } from '../accounts/registry.js';
import type { Config } from '../config.js';
import type { Engine, FacetName } from '../engine/engine.js';
import type { EventService } from '../events/event-service.js';
import type { Logger } from '../logger.js';
import type { AuditService } from '../service/audit.js';
import type { KeyService, Principal, Scope } from '../service/keys.js';
import type { SendService } from '../service/send-service.js';
import type { MediaService } from '../service/media-service.js';
import type { Transport, Upload } from '../service/media-intake.js';
import type { MessageStore } from '../store/message-store.js';

/**
 * One account's runtime (src/accounts/runtime.ts): what an operation is handed. Its own engine, store, media, sender
 * and events; the server's config, logger, keys and audit, shared by every account.
 */
export interface Services {
  /** The account's id (`default` for /api/* and /mcp). */
  account: string;
  /** Every account of this server (the accounts operations). */
  accounts: AccountRegistry;
  engine: Engine;
  config: Readonly<Config>;
  logger: Logger;
  /** Local copy of what the engine has reported: answers reads while WhatsApp is offline, and search. */
  store: MessageStore;
  /** Media going out (intake: base64, URL, upload, path) and coming in (downloads, cached by sha256). */
  media: MediaService;
  sender: SendService;
  /** The event log, its live bus, webhook delivery. */
  events: EventService;
  /** API keys (access.db): who a presented key is, per-key rates. */
  keys: KeyService;
  /** The audit trail of state-changing calls and refused attempts (access.db). */
  audit: AuditService;
  /** Start the background work: reconnect a saved session. Called once the door is open. */
  start(): void;
  /** Stop sending, stop the engine (the saved session stays), close the store. */
  close(): Promise<void>;
}

/** Another name for Services: one account's runtime. */
export type AccountRuntime = Services;

/** Per-call facts a door may pass along (REST headers with MCP-argument twins). */
export interface CallOptions {
  /** REST `Idempotency-Key` header. */
  idempotencyKey?: string;
  /** REST `Prefer: respond-async`: the caller accepts 202 queued. */
  preferAsync?: boolean;
  /** Aborted when the caller goes away (HTTP client closed, MCP request cancelled): long waits end early. */
  signal?: AbortSignal;
  /** The file part of a multipart request, staged by the HTTP door. */
  upload?: Upload;
  /** Which door: some inputs (a local media.path) depend on it. Absent: REST. */
  transport?: Transport;
  /** A person confirmed a first send to a new chat (MCP elicitation; REST uses the "confirm" field). recipient-policy.ts. */
  confirmed?: boolean;
  /** Who calls (the door resolved the key). Absent: see `callerOf` in access.ts. */
  principal?: Principal;
  /**
   * Set by invokeOperation for a key limited to some chats: handlers that pick among chats themselves (the long-poll)
   * ask it. Absent: every chat is allowed.
   */
  chatAllowed?: (chatId: string | null) => boolean;
}

/**
 * How an operation touches chats, for keys limited to some (--chats). Required, so a new operation must say.
 * - none: it reads or changes no chat's content (status, linking, keys);
 * - chat: it names one chat (`of` finds it from the input; null: it names none, refused for a limited key);
 * - filter: it reads across chats and its answer is narrowed to the key's chats (`of`: a chat the input may name);
 * - handler: the handler itself narrows with `call.chatAllowed` (`of`: a chat the input may name);
 * - unbounded: it reaches chats no key could be limited to (joining or creating a group): refused for a limited key.
 */
export type ChatAccess<I = any, O = any> =
  | { kind: 'none' }
  | { kind: 'chat'; of(input: I, services: Services): string | null | undefined }
  | { kind: 'filter'; of?(input: I): string | null | undefined; filter(output: O, allowed: (chatId: string | null) => boolean): O }
  | { kind: 'handler'; of?(input: I): string | null | undefined }
  | { kind: 'unbounded' };

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  /** True when the operation reaches WhatsApp (the outside world), false when it only reads our own state. */
  openWorldHint: boolean;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path with `{param}` placeholders, e.g. `/api/chats/{chat_id}/messages`. */
  path: string;
}

// Input schemas are objects so both doors can map named fields (query/body/path params, tool arguments).
export type InputSchema = z.ZodObject;

export interface Operation<I extends InputSchema = InputSchema, O extends z.ZodType = z.ZodType> {
  /** MCP tool name; also the operation's id. */
  name: string;
  /** What an API key needs to call it: read (reads), send (messages and acts on them), manage (groups, contacts), admin (the server). */
  scope: Scope;
  chats: ChatAccess<z.output<I>, z.input<O>>;
  /**
   * Its result carries other people's words (message bodies, captions, chat, contact and group names): its description
   * says they are data, never instructions, and MCP results may carry UNTRUSTED_CONTENT_NOTICE (events/types.ts).
   */
  untrusted?: true;
  title: string;
  description: string;
  input: I;
  /**
   * What MCP clients see and send, when it must stay narrower than REST's input (the baseline tool schemas stay
   * text-only; files, locations and polls have their own tools). Every field must also be in `input`.
   */
  mcpInput?: InputSchema;
  output: O;
  annotations: ToolAnnotations;
  rest: RestRoute[];
  /** false: REST only (e.g. sandbox controls). */
  mcp?: boolean;
  /**
   * The server's, not an account's (keys, audit, the accounts themselves): no /api/accounts/{account}/... twin of its
   * routes, and its handler gets the default account's runtime.
   */
  serverWide?: true;
  /** Only offered when this returns true (e.g. sandbox-only controls). */
  available?: (services: Services) => boolean;
  handler(input: z.output<I>, services: Services, call: CallOptions): Promise<z.input<O>>;
  /** REST status for a successful result when it is not 200 (e.g. 202 for a queued send). */
  httpStatus?: (output: z.input<O>) => number;
  /** The engine facet this needs: without it the operation answers 501 not_supported and MCP does not list it. */
  facet?: FacetName;
  /** JSON bodies may carry a whole file as base64 (up to WHATSAPP_MAX_MEDIA_BYTES), and multipart is accepted. */
  acceptsMedia?: boolean;
  /** REST answers with the bytes of this file instead of JSON (downloads). */
  file?: (output: z.input<O>) => FileReply;
  /** MCP answers with these content blocks after the JSON text (beside structuredContent). */
  toolContent?: (output: z.input<O>) => Promise<ToolContent[]>;
}

export interface FileReply {
  path: string;
  size: number;
  mimetype: string;
  filename: string | null;
  /** Strong validator: the file's sha256. */
  etag: string;
}

/** The MCP content blocks an operation may return (the spec's image, audio, resource and resource_link). */
export type ToolContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'audio'; data: string; mimeType: string }
  | { type: 'resource'; resource: { uri: string; mimeType: string; blob: string } }
  | { type: 'resource_link'; uri: string; name: string; mimeType: string; size?: number; description?: string };

export function defineOperation<I extends InputSchema, O extends z.ZodType>(op: Operation<I, O>): Operation {
  return op as unknown as Operation;
}
