// Builders for store tests: an in-memory store (the store's fake) and messages with sensible defaults.
import type { Chat, Message } from '../../src/domain.js';
import { openDatabase, type OpenOptions } from '../../src/store/db.js';
import { MessageStore } from '../../src/store/message-store.js';

export const ME = '15550009999@c.us';

export function memoryStore(opts: OpenOptions = {}): MessageStore {
  return new MessageStore(openDatabase(':memory:', opts), (err) => {
    throw err;
  });
}

let counter = 0;
/** A received message in a one-to-one chat unless overridden; ids are unique per call. */
export function msg(over: Partial<Message> & { body: string }): Message {
  counter += 1;
  const chat_id = over.chat_id ?? '15550001001@c.us';
  const from_me = over.from_me ?? false;
  return {
    id: `${from_me}_${chat_id}_T${String(counter).padStart(8, '0')}`,
    chat_id,
    from: from_me ? ME : chat_id,
    to: from_me ? chat_id : ME,
    author: null,
    from_me,
    type: 'chat',
    timestamp: 1_700_000_000 + counter,
    has_media: false,
    ack: from_me ? 'sent' : null,
    ...over,
  };
}

export function chat(over: Partial<Chat> & { id: string }): Chat {
  return {
    name: 'Someone',
    is_group: over.id.endsWith('@g.us'),
    is_read_only: false,
    unread_count: 0,
    timestamp: 0,
    archived: false,
    pinned: false,
    muted: false,
    last_message: null,
    ...over,
  };
}
