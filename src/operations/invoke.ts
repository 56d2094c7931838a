import type { z } from 'zod';
import { requireFacet } from '../engine/engine.js';
import { AppError } from '../errors.js';
import type { CallOptions, Operation, Services } from './operation.js';

/** Validate the input against the operation's schema, then run it. Both doors call this and nothing else. */
export async function invokeOperation(op: Operation, rawInput: unknown, services: Services, call: CallOptions = {}): Promise<unknown> {
  const schema = call.transport === 'mcp-http' || call.transport === 'stdio' ? (op.mcpInput ?? op.input) : op.input;
  const parsed = schema.safeParse(rawInput ?? {});
  if (!parsed.success) throw invalidInput(parsed.error);
  if (op.facet) requireFacet(services.engine, op.facet);
  return op.handler(parsed.data, services, call);
}

export function invalidInput(error: z.ZodError): AppError {
  const issues = error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = issues[0]!;
  return new AppError('invalid_input', `${first.field}: ${first.message}`, { details: { issues } });
}
