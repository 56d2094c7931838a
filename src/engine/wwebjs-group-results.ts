// What WhatsApp Web answered about group changes: the per-participant status codes of addParticipants and
// createGroup (their meaning is WhatsApp's, in group-results.ts), and the status of a refusal the library lets
// through as an exception.
import { z } from 'zod';
import type { ParticipantResult } from '../domain.js';
import { AppError } from '../errors.js';
import { failed, ok, participantOutcome } from './group-results.js';
import { describeError } from './wwebjs-events.js';

export { failed, ok };

// addParticipants names the number `code`, createGroup `statusCode`; either may be missing from a broken answer.
const libraryEntry = z.object({ code: z.number().optional().catch(undefined), statusCode: z.number().optional().catch(undefined) });

/** One participant's outcome from the library's answer for them (undefined: it did not report them at all). */
export function addOutcome(participant: string, entry: unknown): ParticipantResult {
  const parsed = libraryEntry.safeParse(entry);
  const status = parsed.success ? (parsed.data.code ?? parsed.data.statusCode) : undefined;
  return participantOutcome(participant, 'add', status);
}

/** The per-participant answers keyed by id, or null when the answer is not such a map. */
export const participantAnswers = z.record(z.string(), z.unknown());

/**
 * The status of a WhatsApp refusal the library let through as an exception (a ServerStatusCodeError from the
 * page, which puppeteer turns into an Error of that name). Null for any other failure. The message format is
 * WhatsApp Web's and not documented: the first 4xx/5xx number in it is taken.
 */
export function serverStatusOf(err: unknown): number | null {
  if (!(err instanceof Error)) return null;
  const own = (err as { statusCode?: unknown }).statusCode;
  if (typeof own === 'number') return own;
  if (!/ServerStatusCode|status code/i.test(`${err.name} ${err.message}`)) return null;
  const m = /\b([45]\d\d)\b/.exec(err.message);
  return m ? Number(m[1]) : null;
}

/** Like callLibrary, but WhatsApp's refusals with these statuses become the given errors. */
export async function callRefusable<T>(what: string, fn: () => Promise<T>, refusals: Record<number, () => AppError>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const status = serverStatusOf(err);
    const refusal = status === null ? undefined : refusals[status];
    if (refusal) throw refusal();
    throw new AppError('engine_error', `WhatsApp Web could not ${what}: ${describeError(err)}`, { cause: err });
  }
}
