// A stand-in for whatsapp-web.js's Chat (src/structures/Chat.js): its field names, and a record of the chat
// states set through it.
import type { WwebjsChatLike } from '../../src/engine/wwebjs-client.js';
import type { LibraryMessage } from './fake-wwebjs-client.js';

/** Field names as on whatsapp-web.js Chat. */
export class FakeChat implements WwebjsChatLike {
  readonly id: { server: string; user: string; _serialized: string };
  name: string;
  isGroup: boolean;
  isReadOnly = false;
  unreadCount = 0;
  timestamp = 0;
  archived = false;
  pinned = false;
  isMuted = false;
  lastMessage: LibraryMessage | undefined;
  readonly messages: LibraryMessage[] = [];
  /** Chat states set through sendStateTyping/sendStateRecording/clearState, and 'seen' for sendSeen, in order. */
  readonly states: string[] = [];

  constructor(chatId: string, name: string) {
    const [user = '', server = ''] = chatId.split('@');
    this.id = { server, user, _serialized: chatId };
    this.name = name;
    this.isGroup = server === 'g.us';
  }

  add(msg: LibraryMessage): void {
    this.messages.push(msg);
    this.lastMessage = msg;
    this.timestamp = msg.timestamp;
    if (!msg.fromMe) this.unreadCount++;
  }

  // Like the library: the last `limit` messages, oldest first once it had to trim.
  async fetchMessages(opts: { limit: number }): Promise<LibraryMessage[]> {
    return this.messages.slice(-opts.limit);
  }

  async sendSeen(): Promise<boolean> {
    this.states.push('seen');
    this.unreadCount = 0;
    return true;
  }
  async sendStateTyping(): Promise<boolean> {
    this.states.push('typing');
    return true;
  }
  async sendStateRecording(): Promise<boolean> {
    this.states.push('recording');
    return true;
  }
  async clearState(): Promise<boolean> {
    this.states.push('cleared');
    return true;
  }
}
