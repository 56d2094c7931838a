// An operation is the single source of truth for one capability: REST routes and MCP tools are generated from it.
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { EventService } from '../events/event-service.js';
import type { Logger } from '../logger.js';
import type { SendService } from '../service/send-service.js';
import type { MessageStore } from '../store/message-store.js';

export interface Services {
  engine: Engine;
  config: Readonly<Config>;
  logger: Logger;
  /** Local copy of what the engine has reported: answers reads while WhatsApp is offline, and search. */
  store: MessageStore;
  sender: SendService;
  /** The event log, its live bus, webhook delivery. */
  events: EventService;
  /** Start the background work: reconnect a saved session. Called once the door is open. */
  start(): void;
  /** Stop sending, stop the engine (the saved session stays), close the store. */
  close(): Promise<void>;
}

/** Per-call facts a door may pass along (REST headers with MCP-argument twins). */
export interface CallOptions {
  /** REST `Idempotency-Key` header. */
  idempotencyKey?: string;
  /** REST `Prefer: respond-async`: the caller accepts 202 queued. */
  preferAsync?: boolean;
  /** Aborted when the caller goes away (HTTP client closed, MCP request cancelled): long waits end early. */
  signal?: AbortSignal;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  /** True when the operation reaches WhatsApp (the outside world), false when it only reads our own state. */
  openWorldHint: boolean;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path with `{param}` placeholders, e.g. `/api/chats/{chat_id}/messages`. */
  path: string;
}

// Input schemas are objects so both doors can map named fields (query/body/path params, tool arguments).
export type InputSchema = z.ZodObject;

export interface Operation<I extends InputSchema = InputSchema, O extends z.ZodType = z.ZodType> {
  /** MCP tool name; also the operation's id. */
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  rest: RestRoute[];
  /** false: REST only (e.g. sandbox controls). */
  mcp?: boolean;
  /** Only offered when this returns true (e.g. sandbox-only controls). */
  available?: (services: Services) => boolean;
  handler(input: z.output<I>, services: Services, call: CallOptions): Promise<z.input<O>>;
  /** REST status for a successful result when it is not 200 (e.g. 202 for a queued send). */
  httpStatus?: (output: z.input<O>) => number;
}

export function defineOperation<I extends InputSchema, O extends z.ZodType>(op: Operation<I, O>): Operation {
  return op as unknown as Operation;
}
