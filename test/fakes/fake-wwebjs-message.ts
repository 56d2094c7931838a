// A stand-in for whatsapp-web.js's Message (src/structures/Message.js) as getMessageById and sendMessage resolve
// it: a copy of the stored message, whose methods act on the fake WhatsApp the way the library's do.
import wweb from 'whatsapp-web.js';
import type { WwebjsMessageLike } from '../../src/engine/wwebjs-client.js';
import type { FakeWwebjsClient, LibraryMessage } from './fake-wwebjs-client.js';

const { MessageMedia } = wweb;
// WhatsApp's own rules, which the library leaves to WhatsApp Web (canEditText, canSenderRevokeMsg).
const EDIT_WINDOW_S = 15 * 60;
const REVOKE_WINDOW_S = 60 * 60 * 60;

export interface FakeMessage extends LibraryMessage {}
/** What getMessageById and sendMessage resolve: a fresh copy of the stored message, with its methods. */
export class FakeMessage implements WwebjsMessageLike {
  constructor(client: FakeWwebjsClient, data: LibraryMessage) {
    Object.assign(this, structuredClone(data));
    Object.defineProperty(this, 'client', { value: client, enumerable: false });
  }
  private get lib(): FakeWwebjsClient {
    return (this as unknown as { client: FakeWwebjsClient }).client;
  }
  private stored(method: string, args: unknown[]): LibraryMessage | undefined {
    this.lib.calls.push({ method: `message.${method}`, args: [this.id._serialized, ...args] });
    return this.lib.world.store.get(this.id._serialized);
  }

  // Like client.sendReaction: nothing happens for an unknown message; the reaction table hook emits the event.
  async react(emoji: string): Promise<void> {
    const target = this.stored('react', [emoji]);
    if (target) this.lib.emitReaction(this.lib.world.self, target, emoji);
  }

  async edit(content: string): Promise<FakeMessage | null> {
    const m = this.stored('edit', [content]);
    const world = this.lib.world;
    if (!this.fromMe || !m || !['chat', 'image', 'video', 'document'].includes(m.type)) return null;
    if (world.nowMs() / 1000 - m.timestamp > EDIT_WINDOW_S) return null;
    const prev = m.body;
    m.body = content;
    m._data = { ...m._data, ...(m.hasMedia ? { caption: content } : { body: content }), latestEditMsgKey: { ...m.id, id: `EDIT${m.id.id}` } };
    m.latestEditMsgKey = m._data.latestEditMsgKey;
    this.lib.emit('message_edit', new FakeMessage(this.lib, m), content, prev);
    return new FakeMessage(this.lib, m);
  }

  // Revokes when WhatsApp allows it, else quietly deletes for me only.
  async delete(everyone?: boolean): Promise<void> {
    const m = this.stored('delete', [everyone]);
    const world = this.lib.world;
    if (!m) throw new TypeError("Cannot read properties of undefined (reading 'id')");
    if (everyone && m.fromMe && world.nowMs() / 1000 - m.timestamp <= REVOKE_WINDOW_S) {
      const before = new FakeMessage(this.lib, m);
      Object.assign(m, { type: 'revoked', body: '', hasMedia: false, _data: {} });
      world.files.delete(m.id._serialized);
      this.lib.emit('message_revoke_everyone', new FakeMessage(this.lib, m), before);
      return;
    }
    world.store.delete(m.id._serialized);
    const chat = world.chat(m.id.remote);
    chat.messages.splice(chat.messages.indexOf(m), 1);
    this.lib.emit('message_revoke_me', new FakeMessage(this.lib, m));
  }

  async downloadMedia(): Promise<InstanceType<typeof MessageMedia> | undefined> {
    this.stored('downloadMedia', []);
    const data = this.lib.world.files.get(this.id._serialized);
    if (!this.hasMedia || !data) return undefined;
    return new MessageMedia(this._data?.mimetype ?? '', data.toString('base64'), this._data?.filename, this._data?.size);
  }
}
