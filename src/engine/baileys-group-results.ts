// Baileys' groupParticipantsUpdate answers each participant with the `error` attribute WhatsApp put on it ("200"
// when there was none), as a string; its meaning is WhatsApp's, shared with wwebjs in group-results.ts.
import type { ParticipantAction, ParticipantResult } from '../domain.js';
import { failed, ok, participantOutcome as outcome } from './group-results.js';

export { failed, ok };

/** One participant's outcome from WhatsApp's status for them (undefined: it did not report them at all). */
export function participantOutcome(participant: string, action: ParticipantAction, status: string | undefined): ParticipantResult {
  return outcome(participant, action, status === undefined ? undefined : Number(status));
}
