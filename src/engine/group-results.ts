// What WhatsApp answers per participant of a group change, as our codes. The statuses are WhatsApp's own (seen
// through whatsapp-web.js's addParticipants/createGroup and Baileys' groupParticipantsUpdate alike), so one table.
import type { ParticipantAction, ParticipantResult } from '../domain.js';

type Outcome = { code: string | null; message: string | null };

/**
 * | WhatsApp | meaning                                                   | ours                         |
 * |----------|-----------------------------------------------------------|------------------------------|
 * | 200      | done                                                      | ok                           |
 * | 400      | the request itself failed                                 | engine_error                 |
 * | 401      | we may not change this group's members                    | not_admin                    |
 * | 403      | their privacy settings allow an invitation only           | not_admin                    |
 * | 404      | add: the number is not on WhatsApp; else: not a member    | not_on_whatsapp / not_member |
 * | 408      | they left recently; WhatsApp refuses to add them back yet | not_admin                    |
 * | 409      | already a member                                          | already_member               |
 * | 417      | cannot be added to a community's group; invite them       | not_admin                    |
 * | 419      | the group is full                                         | not_admin                    |
 * | other    | unknown                                                   | engine_error                 |
 */
const STATUSES: Record<number, Outcome> = {
  200: { code: null, message: null },
  400: { code: 'engine_error', message: 'WhatsApp could not take the request' },
  401: { code: 'not_admin', message: 'WhatsApp does not let you change the members of this group' },
  403: { code: 'not_admin', message: "Their privacy settings only allow an invitation: send them the group's invite link" },
  404: { code: 'not_on_whatsapp', message: 'This number is not on WhatsApp' },
  408: { code: 'not_admin', message: 'They left the group recently; WhatsApp does not let anyone add them back yet' },
  409: { code: 'already_member', message: 'Already in the group' },
  417: { code: 'not_admin', message: "They cannot be added to this community group: send them the group's invite link" },
  419: { code: 'not_admin', message: 'The group is full' },
};
const NOT_MEMBER: Outcome = { code: 'not_member', message: 'Not in the group' };

export function ok(participant: string): ParticipantResult {
  return { participant, ok: true, code: null, message: null };
}

export function failed(participant: string, code: string, message: string): ParticipantResult {
  return { participant, ok: false, code, message };
}

/** One participant's outcome from WhatsApp's status for them (undefined: it did not report them at all). */
export function participantOutcome(participant: string, action: ParticipantAction, status: number | undefined): ParticipantResult {
  if (status === undefined || Number.isNaN(status)) return failed(participant, 'engine_error', 'WhatsApp did not report this participant');
  const known = status === 404 && action !== 'add' ? NOT_MEMBER : STATUSES[status];
  if (!known) return failed(participant, 'engine_error', `WhatsApp answered ${status}`);
  return known.code === null ? ok(participant) : failed(participant, known.code, known.message ?? '');
}
