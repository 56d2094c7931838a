// What WhatsApp answered about group changes, as our codes: the per-participant status codes of addParticipants
// and createGroup, and the status of a refusal the library lets through as an exception.
import { z } from 'zod';
import type { ParticipantResult } from '../domain.js';
import { AppError } from '../errors.js';
import { describeError } from './wwebjs-events.js';

type Outcome = { code: string | null; message: string | null };

/**
 * Per-participant codes. The meanings are the library's own (errorCodes in GroupChat.addParticipants,
 * addParticipantResultCodes in Client.createGroup); 400 is what the library reports when its own request threw;
 * 401 is WhatsApp's "not-authorized". Everything WhatsApp will not let us do is not_admin, with the reason.
 *
 * | WhatsApp | meaning                                                   | ours            |
 * |----------|-----------------------------------------------------------|-----------------|
 * | 200      | added                                                     | ok              |
 * | 400      | the library's request failed                              | engine_error    |
 * | 401      | we may not add people to this group                       | not_admin       |
 * | 403      | their privacy settings allow an invitation only           | not_admin       |
 * | 404      | the number is not on WhatsApp                             | not_on_whatsapp |
 * | 408      | they left recently; WhatsApp refuses to add them back yet | not_admin       |
 * | 409      | already a member                                          | already_member  |
 * | 417      | cannot be added to a community's group; invite them       | not_admin       |
 * | 419      | the group is full                                         | not_admin       |
 * | other    | unknown                                                   | engine_error    |
 */
const ADD_CODES: Record<number, Outcome> = {
  200: { code: null, message: null },
  400: { code: 'engine_error', message: 'WhatsApp Web could not send the request' },
  401: { code: 'not_admin', message: 'WhatsApp does not let you add participants to this group' },
  403: { code: 'not_admin', message: "Their privacy settings only allow an invitation: send them the group's invite link" },
  404: { code: 'not_on_whatsapp', message: 'This number is not on WhatsApp' },
  408: { code: 'not_admin', message: 'They left the group recently; WhatsApp does not let anyone add them back yet' },
  409: { code: 'already_member', message: 'Already in the group' },
  417: { code: 'not_admin', message: "They cannot be added to this community group: send them the group's invite link" },
  419: { code: 'not_admin', message: 'The group is full' },
};

export function ok(participant: string): ParticipantResult {
  return { participant, ok: true, code: null, message: null };
}

export function failed(participant: string, code: string, message: string): ParticipantResult {
  return { participant, ok: false, code, message };
}

// addParticipants names the number `code`, createGroup `statusCode`; either may be missing from a broken answer.
const libraryEntry = z.object({ code: z.number().optional().catch(undefined), statusCode: z.number().optional().catch(undefined) });

/** One participant's outcome from the library's answer for them (undefined: it did not report them at all). */
export function addOutcome(participant: string, entry: unknown): ParticipantResult {
  const parsed = libraryEntry.safeParse(entry);
  const status = parsed.success ? (parsed.data.code ?? parsed.data.statusCode) : undefined;
  if (status === undefined) return failed(participant, 'engine_error', 'WhatsApp Web did not report this participant');
  const known = ADD_CODES[status];
  if (!known) return failed(participant, 'engine_error', `WhatsApp answered ${status}`);
  return known.code === null ? ok(participant) : failed(participant, known.code, known.message ?? '');
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
