// Media a caller wants to send, from wherever it comes (base64, a URL, a multipart upload, a local path over MCP),
// into the media store: capped, type sniffed from the bytes (never the extension or the caller's word), the kind
// checked against what WhatsApp accepts. Only a file that passed every check gets its content address.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import type { MediaKind } from '../domain.js';
import { AppError } from '../errors.js';
import { type MediaStore, type StagedFile, tooLarge } from '../store/media-store.js';
import type { MediaRef } from '../store/outbox-store.js';
import { fetchMediaUrl } from './url-fetch.js';

export interface MediaSpec {
  url?: string | undefined;
  data?: string | undefined;
  path?: string | undefined;
  mimetype?: string | undefined;
  filename?: string | undefined;
  kind?: MediaKind | undefined;
}

/** A file part of a multipart request, staged by the HTTP door before the operation runs. */
export interface Upload {
  staged: StagedFile;
  filename: string | null;
  mimetype: string | null;
}

export interface TakenMedia {
  ref: MediaRef;
  /** Give the file its content address (idempotent). */
  commit(): void;
  /** Remove the staged copy unless committed (safe to call always). */
  discard(): void;
}

/** Which door a call came through: a local path is an MCP-over-stdio affair unless allowed over HTTP. */
export type Transport = 'rest' | 'mcp-http' | 'stdio';

export interface MediaIntakeOptions {
  store: MediaStore;
  maxBytes: number;
  allowPrivateUrls: boolean;
  /** Real paths of the directories media.path may name; empty: media.path is off. */
  roots: readonly string[];
  pathOverHttp: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,/i;

export class MediaIntake {
  constructor(private readonly o: MediaIntakeOptions) {}

  /**
   * The file, checked and staged but not yet part of the store: the caller commits it once the send is recorded
   * (so a send refused after this, as a 409 or 429, leaves no file behind) and discards it in any case.
   */
  async take(spec: MediaSpec, ctx: { upload?: Upload | undefined; transport: Transport; signal?: AbortSignal | undefined }): Promise<TakenMedia> {
    const given: string[] = (['url', 'data', 'path'] as const).filter((k) => spec[k] !== undefined);
    if (ctx.upload) given.push('a file part');
    if (given.length !== 1) {
      const what = given.length === 0 ? 'none was given' : `got ${given.join(' and ')}`;
      throw new AppError('invalid_input', `media: give exactly one of url, data (base64) or a multipart file part; ${what}`, { details: { field: 'media' } });
    }
    let declaredName = spec.filename ?? null;
    let declaredType = spec.mimetype ?? null;
    let staged: StagedFile;
    if (ctx.upload) {
      staged = ctx.upload.staged;
      declaredName ??= ctx.upload.filename;
      declaredType ??= ctx.upload.mimetype;
    } else if (spec.data !== undefined) {
      const { bytes, mimetype } = decodeBase64(spec.data, 'media.data', this.o.maxBytes);
      declaredType ??= mimetype;
      staged = await this.o.store.stage(Readable.from([bytes]), this.o.maxBytes, 'media.data');
    } else if (spec.url !== undefined) {
      const got = await fetchMediaUrl(spec.url, { maxBytes: this.o.maxBytes, allowPrivate: this.o.allowPrivateUrls, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      declaredName ??= got.filename;
      declaredType ??= got.contentType;
      staged = await this.o.store.stage(got.body, this.o.maxBytes, 'media.url', ctx.signal);
    } else {
      const file = this.checkPath(spec.path!, ctx.transport);
      declaredName ??= path.basename(file);
      staged = await this.o.store.stage(fs.createReadStream(file), this.o.maxBytes, 'media.path', ctx.signal);
    }
    try {
      if (staged.size === 0) throw new AppError('invalid_input', 'media: the file is empty', { details: { field: 'media' } });
      const { kind, mimetype } = await classify(staged.head, declaredType, spec.kind);
      const store = this.o.store;
      const file = staged;
      return {
        ref: { sha256: staged.sha256, size: staged.size, mimetype, filename: declaredName, kind },
        commit: () => void store.commit(file),
        discard: () => store.discard(file),
      };
    } catch (err) {
      this.o.store.discard(staged);
      throw err;
    }
  }

  /** A local file named over MCP: only inside WHATSAPP_MEDIA_ROOTS, after resolving symlinks. */
  private checkPath(given: string, transport: Transport): string {
    const refuse = (why: string, hint?: string) => new AppError('invalid_input', `media.path: ${why}`, { details: { field: 'media.path' }, ...(hint ? { hint } : {}) });
    if (this.o.roots.length === 0) throw refuse('local files are off', 'Set WHATSAPP_MEDIA_ROOTS to the directories files may be sent from, or send media.data or media.url.');
    if (transport === 'rest') throw refuse('is for MCP clients; over REST upload the file (multipart/form-data) or send media.data or media.url');
    if (transport === 'mcp-http' && !this.o.pathOverHttp) throw refuse('is accepted over MCP stdio only', 'Set WHATSAPP_MEDIA_PATH_OVER_HTTP=true to accept it from MCP over HTTP too.');
    if (!path.isAbsolute(given)) throw refuse('must be an absolute path');
    let real: string;
    try {
      real = fs.realpathSync(given);
    } catch {
      throw refuse('no such file');
    }
    const inside = this.o.roots.some((root) => {
      const r = realRoot(root);
      return r !== null && (real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    });
    if (!inside) throw refuse('is outside WHATSAPP_MEDIA_ROOTS (symlinks are followed before checking)');
    const stat = fs.statSync(real);
    if (!stat.isFile()) throw refuse('is not a regular file');
    if (stat.size > this.o.maxBytes) throw tooLarge('media.path', this.o.maxBytes);
    return real;
  }
}

/** Strict base64 (or a data: URL) → bytes; a 400 naming the field otherwise, a 413 before decoding when too big. */
export function decodeBase64(raw: string, field: string, maxBytes: number): { bytes: Buffer; mimetype: string | null } {
  const prefix = DATA_URL.exec(raw);
  const text = (prefix ? raw.slice(prefix[0].length) : raw).replace(/\s+/g, '');
  if (text.length % 4 === 1 || !BASE64.test(text)) {
    throw new AppError('invalid_input', `${field}: not valid base64 (standard alphabet A-Z a-z 0-9 + /, optional = padding, or a data: URL)`, { details: { field } });
  }
  // Checked on the encoded length first: decoding 90 MB of base64 only to refuse it would be wasted memory.
  if (Math.floor((text.length * 3) / 4) - 2 > maxBytes) throw tooLarge(field, maxBytes);
  return { bytes: Buffer.from(text, 'base64'), mimetype: prefix?.[1]?.toLowerCase() ?? null };
}

function realRoot(root: string): string | null {
  try {
    return fs.realpathSync(root);
  } catch {
    return null;
  }
}

const KIND_RULES: Record<MediaKind, { test: (mime: string) => boolean; needs: string }> = {
  image: { test: (m) => /^image\/(jpeg|png|webp|gif)$/.test(m), needs: 'a JPEG, PNG, WebP or GIF image' },
  video: { test: (m) => m.startsWith('video/'), needs: 'a video file (MP4 plays everywhere)' },
  audio: { test: (m) => m.startsWith('audio/'), needs: 'an audio file' },
  voice: { test: (m) => m === 'audio/ogg' || m === 'audio/opus', needs: 'Opus audio in an OGG container (what WhatsApp voice notes are)' },
  sticker: { test: (m) => m === 'image/webp', needs: 'a WebP image' },
  document: { test: () => true, needs: 'any file' },
};

/**
 * The type is what the bytes say (file-type reads the magic numbers); the caller's mimetype is only used for
 * formats with no signature (plain text, CSV...). The kind is the caller's if the bytes allow it, else inferred.
 */
export async function classify(head: Buffer, declaredType: string | null, kind: MediaKind | undefined): Promise<{ kind: MediaKind; mimetype: string }> {
  const sniffed = await fileTypeFromBuffer(head).catch(() => undefined);
  const bare = (t: string) => t.split(';')[0]!.trim().toLowerCase();
  const declared = declaredType && /^[\w.+-]+\/[\w.+-]+/.test(declaredType) ? bare(declaredType) : null;
  // Without a signature, a declared image/video/audio type is a claim the bytes did not back: say document.
  const mimetype = sniffed ? bare(sniffed.mime) : declared && !/^(image|video|audio)\//.test(declared) ? declared : 'application/octet-stream';
  if (kind) {
    const rule = KIND_RULES[kind];
    if (!rule.test(mimetype)) {
      throw new AppError('invalid_input', `media.kind: "${kind}" needs ${rule.needs}, but the file is ${mimetype}`, { details: { field: 'media.kind', detected: mimetype } });
    }
    return { kind, mimetype };
  }
  const inferred: MediaKind =
    KIND_RULES.image.test(mimetype) ? 'image' :
    mimetype.startsWith('video/') ? 'video' :
    KIND_RULES.voice.test(mimetype) ? 'voice' :
    mimetype.startsWith('audio/') ? 'audio' : 'document';
  return { kind: inferred, mimetype };
}
