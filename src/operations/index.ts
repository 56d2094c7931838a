// The operations table: every capability, once. REST routes and MCP tools are generated from this list.
import type { Operation, Services } from './operation.js';
import { createAccountOp, deleteAccountOp, getAccountOp, listAccountsOp, updateAccountOp } from './accounts.js';
import { listAuditOp } from './audit.js';
import { createKeyOp, listKeysOp, revokeKeyOp } from './keys.js';
import { getUpdatesOp, listDeadLettersOp, redeliverDeadLetterOp, waitForMessageOp } from './events.js';
import { getChatMessagesOp, getChatOp, getMessageContextOp } from './history.js';
import { listChatsOp, readMessagesOp } from './messaging.js';
import { checkNumbersOp, getContactOp } from './contacts.js';
import { createGroupOp, getGroupOp, getInviteOp, joinGroupOp, leaveGroupOp, listGroupsOp, revokeInviteOp, updateGroupOp, updateParticipantsOp } from './groups.js';
import { getMediaOp } from './media.js';
import { deleteOp, editOp, markReadOp, presenceOp, reactOp } from './message-ops.js';
import { sendLocationOp, sendMediaOp, sendPollOp } from './rich-sends.js';
import { listOutboxOp, retrySendOp } from './outbox.js';
import { sendMessageOp, sendStatusOp, sendToChatOp } from './sending.js';
import { sandboxDisconnectOp, sandboxGroupEventOp, sandboxHistoryOp, sandboxInboundOp, sandboxLinkOp, sandboxReactOp } from './sandbox-controls.js';
import { searchContactsOp, searchMessagesOp } from './search.js';
import { getQrOp, logoutOp, pairingCodeOp, startAuthOp, statusOp } from './session.js';
import { whoamiOp } from './whoami.js';

export const OPERATIONS: readonly Operation[] = [
  statusOp,
  startAuthOp,
  pairingCodeOp,
  getQrOp,
  sendMessageOp,
  sendToChatOp,
  sendMediaOp,
  sendLocationOp,
  sendPollOp,
  getMediaOp,
  reactOp,
  editOp,
  deleteOp,
  markReadOp,
  presenceOp,
  listChatsOp,
  readMessagesOp,
  getChatOp,
  getChatMessagesOp,
  getMessageContextOp,
  searchMessagesOp,
  searchContactsOp,
  getContactOp,
  checkNumbersOp,
  listGroupsOp,
  getGroupOp,
  createGroupOp,
  updateParticipantsOp,
  updateGroupOp,
  getInviteOp,
  revokeInviteOp,
  joinGroupOp,
  leaveGroupOp,
  logoutOp,
  sendStatusOp,
  listOutboxOp,
  retrySendOp,
  getUpdatesOp,
  waitForMessageOp,
  listDeadLettersOp,
  listKeysOp,
  createKeyOp,
  revokeKeyOp,
  whoamiOp,
  listAuditOp,
  listAccountsOp,
  createAccountOp,
  getAccountOp,
  updateAccountOp,
  deleteAccountOp,
  redeliverDeadLetterOp,
  sandboxLinkOp,
  sandboxInboundOp,
  sandboxDisconnectOp,
  sandboxHistoryOp,
  sandboxReactOp,
  sandboxGroupEventOp,
];

/** The operations this server offers, given its engine. */
export function availableOperations(services: Services): Operation[] {
  return OPERATIONS.filter((op) => !op.available || op.available(services));
}

export type { Operation, Services } from './operation.js';
