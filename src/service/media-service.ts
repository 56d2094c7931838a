// Media of messages: files going out (MediaIntake) and files coming in, fetched from WhatsApp the first time someone
// asks and kept in the media store after that, so the second download needs no connection.
import fs from 'node:fs';
import type { Message } from '../domain.js';
import { type Engine, requireFacet } from '../engine/engine.js';
import { AppError, notReady } from '../errors.js';
import type { MediaStore } from '../store/media-store.js';
import type { MessageStore } from '../store/message-store.js';
import { MediaIntake, type MediaIntakeOptions } from './media-intake.js';

export interface MediaFile {
  message: Message;
  path: string;
  sha256: string;
  size: number;
  mimetype: string;
  filename: string | null;
}

export class MediaService {
  readonly intake: MediaIntake;
  /** The files themselves (the HTTP door stages multipart uploads here). */
  readonly files: MediaStore;
  /** One WhatsApp download per message at a time: concurrent requests for a file share it. */
  private readonly downloading = new Map<string, Promise<MediaFile>>();

  constructor(
    private readonly o: Omit<MediaIntakeOptions, 'store'> & { files: MediaStore; engine: Engine; messages: MessageStore },
  ) {
    this.intake = new MediaIntake({ ...o, store: o.files });
    this.files = o.files;
  }

  /** A stored message's media file, downloading it from WhatsApp when it is not here yet. */
  async fileOf(messageId: string): Promise<MediaFile> {
    const message = this.o.messages.getMessage(messageId);
    if (!message) throw new AppError('not_found', `No message ${messageId}`, { hint: 'Message ids come from reads, search results and events.' });
    if (!message.media || message.revoked) {
      throw new AppError('not_found', message.revoked ? `Message ${messageId} was deleted` : `Message ${messageId} has no media`, { details: { message_id: messageId } });
    }
    const known = message.media.sha256 ? this.o.files.pathOf(message.media.sha256) : null;
    if (known) return this.describe(message, known, message.media.sha256!, fs.statSync(known).size, message.media.mimetype);
    const running = this.downloading.get(messageId);
    if (running) return running;
    const p = this.download(message).finally(() => this.downloading.delete(messageId));
    this.downloading.set(messageId, p);
    return p;
  }

  private async download(message: Message): Promise<MediaFile> {
    const facet = requireFacet(this.o.engine, 'media');
    const status = this.o.engine.status();
    if (!status.ready) {
      const err = notReady(status.state, this.o.engine.hasSavedSession());
      throw new AppError('not_ready', `${err.message}: this file was never downloaded, and only WhatsApp has it`, { hint: err.hint, mcpHint: err.mcpHint, details: { state: status.state } });
    }
    const got = await facet.downloadMedia({ id: message.id, chat_id: message.chat_id, from_me: message.from_me });
    if (!got) {
      throw new AppError('not_found', `WhatsApp no longer has the file of message ${message.id} (media expire from its servers after a while)`, { details: { message_id: message.id } });
    }
    const stored = await this.o.files.putBuffer(got.data, this.o.maxBytes, 'media');
    const mimetype = message.media!.mimetype || got.mimetype;
    this.o.messages.enqueue({ kind: 'media_file', id: message.id, sha256: stored.sha256, size: stored.size, mimetype });
    return this.describe(message, stored.path, stored.sha256, stored.size, mimetype, got.filename);
  }

  private describe(message: Message, file: string, sha256: string, size: number, mimetype: string, filename: string | null = null): MediaFile {
    const media = { ...message.media!, sha256, size, mimetype, filename: message.media!.filename ?? filename };
    return { message: { ...message, media }, path: file, sha256, size, mimetype, filename: media.filename };
  }
}
