// Who may be sent to, in one place: WHATSAPP_SEND_ALLOW (an allow-list of numbers, chat ids and the words
// `contacts` and `known`) and WHATSAPP_CONFIRM_NEW_RECIPIENTS (a first message to a chat this account never wrote to
// needs a person's yes). The send service asks it when a send is accepted and again when a queued one goes out;
// group operations ask it before adding people. A person is one person under both ids: "<digits>@c.us" and the
// linked id "<digits>@lid" the store knows belongs to it (lid-map.ts).
import { parseId } from '../domain.js';
import { AppError } from '../errors.js';
import type { MessageStore } from '../store/message-store.js';
import type { OutboxContent } from '../store/outbox-store.js';
import { RecipientHistory } from '../store/recipient-history.js';

/** What the rules need to know about a chat id; the store answers in production (storeRecipientFacts), a fake in tests. */
export interface RecipientFacts {
  /** The same person's other id: "<digits>@lid" for a phone chat id and the reverse, when known; null for groups. */
  twinOf(chatId: string): string | null;
  /** A person saved in the phone's address book. */
  isMyContact(chatId: string): boolean;
  /** The store holds at least one message of this chat (from anyone). */
  hasMessages(chatId: string): boolean;
  /** This account wrote in this chat: a message from us in the store, or a send the outbox recorded as sent. */
  wroteTo(chatId: string): boolean;
  /** The name the store knows for it (a saved contact's, a chat's), for the person confirming; null if none. */
  nameOf(chatId: string): string | null;
}

export interface RecipientPolicyOptions {
  /** WHATSAPP_SEND_ALLOW entries: numbers, chat ids, `contacts`, `known`. Empty: anyone. */
  allow: readonly string[];
  /** WHATSAPP_CONFIRM_NEW_RECIPIENTS. */
  confirmNew: boolean;
  facts: RecipientFacts;
}

/** What a door shows the person asking to confirm (the `details` of a confirmation_required error). */
export interface ConfirmationDetails {
  /** "+15550102030", a linked id, or a group id. */
  recipient: string;
  chat_id: string;
  name: string | null;
  /** The first PREVIEW_CHARS characters of what would be sent. */
  preview: string;
}

export const PREVIEW_CHARS = 200;
const CONFIRM_HINT = 'Repeat with "confirm": true after a person has checked the recipient.';
const MCP_CONFIRM_HINT =
  'A person must confirm the first message to a new chat, and this client could not ask them (it does not support MCP elicitation forms). Tell the user who it is for and what it says; they can send it from their phone, or confirm it through the REST API.';
const ALLOW_HINT = 'This server sends only to the recipients WHATSAPP_SEND_ALLOW names (numbers, chat ids, contacts, known); the owner can add this one and restart it.';

export class RecipientPolicy {
  private readonly ids = new Set<string>();
  private readonly contacts: boolean;
  private readonly known: boolean;
  private readonly limited: boolean;

  constructor(private readonly o: RecipientPolicyOptions) {
    const words = new Set<string>();
    for (const raw of o.allow) {
      const entry = raw.trim().toLowerCase();
      if (entry === 'contacts' || entry === 'known') words.add(entry);
      else {
        const id = parseId(entry);
        if (!id) throw new Error(`Not a recipient: ${JSON.stringify(raw)}`); // config.ts refuses these at start
        this.ids.add(id.id);
      }
    }
    this.contacts = words.has('contacts');
    this.known = words.has('known');
    this.limited = o.allow.length > 0;
  }

  /** No limit and no confirmation: for a send service built without a policy. */
  static open(): RecipientPolicy {
    const none = { twinOf: () => null, isMyContact: () => false, hasMessages: () => false, wroteTo: () => false, nameOf: () => null };
    return new RecipientPolicy({ allow: [], confirmNew: false, facts: none });
  }

  /** Null when the allow-list lets this chat be sent to; else the 403 to answer (or to fail a queued send with). */
  refusal(chatId: string): AppError | null {
    if (!this.limited || this.allowed(chatId)) return null;
    const recipient = this.describe(chatId);
    return new AppError('recipient_not_allowed', `Sending to ${recipient} is not allowed (WHATSAPP_SEND_ALLOW)`, {
      hint: ALLOW_HINT,
      details: { recipient, chat_id: chatId },
    });
  }

  /** True when a send to this chat would be this account's first there and WHATSAPP_CONFIRM_NEW_RECIPIENTS is on. */
  needsConfirmation(chatId: string): boolean {
    return this.o.confirmNew && !this.both(chatId).some((id) => this.o.facts.wroteTo(id));
  }

  /**
   * The check when a send is accepted: 403 recipient_not_allowed, or 409 confirmation_required (unless confirmed)
   * carrying ConfirmationDetails. Throws before anything is staged or sent, so a door may catch the 409, ask a
   * person, and run the same call again with `confirmed`.
   */
  admit(chatId: string, opts: { confirmed: boolean; preview: string }): void {
    const refused = this.refusal(chatId);
    if (refused) throw refused;
    if (opts.confirmed || !this.needsConfirmation(chatId)) return;
    const recipient = this.describe(chatId);
    const details: ConfirmationDetails = { recipient, chat_id: chatId, name: this.nameOf(chatId), preview: opts.preview.slice(0, PREVIEW_CHARS) };
    throw new AppError('confirmation_required', `This account never wrote to ${recipient}: a person must confirm the first message (WHATSAPP_CONFIRM_NEW_RECIPIENTS)`, {
      hint: CONFIRM_HINT,
      mcpHint: MCP_CONFIRM_HINT,
      details,
    });
  }

  /** Adding people to a group contacts them: every one must be allowed, or nothing is done (403 naming them). */
  admitPeople(personIds: readonly string[]): void {
    const refused = personIds.filter((id) => this.refusal(id) !== null);
    if (refused.length === 0) return;
    const recipients = refused.map((id) => this.describe(id));
    throw new AppError('recipient_not_allowed', `Adding ${recipients.join(', ')} to a group is not allowed (WHATSAPP_SEND_ALLOW)`, {
      hint: ALLOW_HINT,
      details: { recipients, participants: refused },
    });
  }

  private allowed(chatId: string): boolean {
    const ids = this.both(chatId);
    if (ids.some((id) => this.ids.has(id))) return true;
    const person = parseId(chatId)?.kind === 'phone' || parseId(chatId)?.kind === 'lid';
    if (this.contacts && person && ids.some((id) => this.o.facts.isMyContact(id))) return true;
    return this.known && ids.some((id) => this.o.facts.hasMessages(id));
  }

  private both(chatId: string): string[] {
    const twin = this.o.facts.twinOf(chatId);
    return twin ? [chatId, twin] : [chatId];
  }

  private nameOf(chatId: string): string | null {
    for (const id of this.both(chatId)) {
      const name = this.o.facts.nameOf(id);
      if (name) return name;
    }
    return null;
  }

  /** "+15550102030" for a person with a number (also behind a known linked id), else the id. */
  private describe(chatId: string): string {
    const phone = this.both(chatId)
      .map((id) => parseId(id))
      .find((p) => p?.kind === 'phone');
    if (phone?.kind !== 'phone') return chatId;
    return phone.id === chatId ? `+${phone.phone}` : `+${phone.phone} (${chatId})`;
  }
}

/** What a confirmation would show: the text or caption, a poll's question, a place's name, a reaction's emoji. */
export function sendPreview(body: string, content?: OutboxContent | null): string {
  if (body !== '') return body.slice(0, PREVIEW_CHARS);
  switch (content?.kind) {
    case 'poll':
      return `Poll: ${content.poll.question}`.slice(0, PREVIEW_CHARS);
    case 'location': {
      const l = content.location;
      return `Location: ${l.name ?? l.address ?? `${l.latitude}, ${l.longitude}`}`.slice(0, PREVIEW_CHARS);
    }
    case 'media':
      return `(${content.media.kind}${content.media.filename ? ` ${content.media.filename}` : ''})`.slice(0, PREVIEW_CHARS);
    case 'reaction':
      return `Reaction: ${content.emoji}`;
    default:
      return '';
  }
}

/** The details of a confirmation_required error, for a door that asks a person (MCP elicitation); else null. */
export function confirmationDetails(err: unknown): ConfirmationDetails | null {
  return err instanceof AppError && err.code === 'confirmation_required' ? (err.details as ConfirmationDetails) : null;
}

/** The facts from the message store: its lid map, contacts, chats and messages, and the outbox beside them. */
export function storeRecipientFacts(store: MessageStore): RecipientFacts {
  const history = new RecipientHistory(store.db);
  return {
    twinOf: (chatId) => {
      const id = parseId(chatId);
      if (id?.kind === 'phone') return store.lids.lidOf(id.phone);
      const phone = id?.kind === 'lid' ? store.lids.phoneOf(id.id) : null;
      return phone ? `${phone}@c.us` : null;
    },
    isMyContact: (chatId) => store.getContact(chatId)?.is_my_contact ?? false,
    hasMessages: (chatId) => {
      // Engine events wait a few ms in the store's queue: a message just sent or received counts at once.
      store.flush();
      return history.hasMessages(chatId);
    },
    wroteTo: (chatId) => {
      store.flush();
      return history.wroteTo(chatId);
    },
    nameOf: (chatId) => store.getContact(chatId)?.name ?? store.getChat(chatId)?.name ?? null,
  };
}
