// The chats a chat-limited key may read, as a list a store query can take (chat_id IN (...)): list and search
// operations narrow in SQL, so a key with one quiet chat gets full pages of it and a cursor that walks only its rows.
// The answer is still narrowed by the key's predicate afterwards (chats: 'filter'), which stays the rule.
import { callerOf, chatTwin } from './access.js';
import type { CallOptions, Services } from './operation.js';

/**
 * The key's chat ids, each with its twin where the lid map knows it (a person's `<digits>@c.us` and `@lid` are one
 * chat, as chatPredicate says); null for a caller with every chat. Groups have no twin.
 */
export function allowedChatIds(call: CallOptions, { store }: Pick<Services, 'store'>): string[] | null {
  const chats = callerOf(call).chats;
  if (chats === null) return null;
  const ids = new Set(chats);
  for (const chat of chats) {
    const twin = chatTwin(chat, store.lids);
    if (twin !== null) ids.add(twin);
  }
  return [...ids];
}
