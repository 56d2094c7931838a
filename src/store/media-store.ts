// Media files, content-addressed: <data>/media/<sha256[0..2]>/<sha256>, 0600. A file is streamed to a temporary
// name while it is hashed and counted, and renamed into place only when complete, so a crash, a client that hangs
// up mid-upload or a file over the cap never leaves a partial file under a real name.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';
import { ensurePrivateDir } from '../fs-private.js';

export interface StoredFile {
  sha256: string;
  size: number;
  path: string;
  /** The first bytes, for sniffing the type without opening the file again. */
  head: Buffer;
}

/** A complete file under a temporary name, not yet part of the store. */
export interface StagedFile {
  tmp: string;
  sha256: string;
  size: number;
  head: Buffer;
  committed: boolean;
}

const HEAD_BYTES = 4_100; // what file-type reads to recognise every format it knows
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class MediaStore {
  private readonly tmpDir: string;

  constructor(readonly dir: string) {
    ensurePrivateDir(dir);
    this.tmpDir = path.join(dir, 'tmp');
    // Leftovers of uploads a crash cut short: never referenced, since only complete files get a real name.
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
    ensurePrivateDir(this.tmpDir);
  }

  /** Path of a stored file, or null when it is not here. */
  pathOf(sha256: string): string | null {
    if (!SHA256_HEX.test(sha256)) return null;
    const file = this.fileFor(sha256);
    return fs.existsSync(file) ? file : null;
  }

  /**
   * Stream a file to a temporary name, hashed and counted. Over `maxBytes` fails with payload_too_large, and any
   * failure (the source erroring, an abort) removes what was written. `field` names the input in the 413 message.
   * The file gets its real name only on commit(); discard() (safe after commit) removes an uncommitted one.
   */
  async stage(source: Readable | AsyncIterable<Buffer>, maxBytes: number, field = 'media', signal?: AbortSignal): Promise<StagedFile> {
    const tmp = path.join(this.tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const head: Buffer[] = [];
    let headSize = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(tooLarge(field, maxBytes));
        hash.update(chunk);
        if (headSize < HEAD_BYTES) {
          head.push(chunk.subarray(0, HEAD_BYTES - headSize));
          headSize += Math.min(chunk.length, HEAD_BYTES - headSize);
        }
        done(null, chunk);
      },
    });
    const out = fs.createWriteStream(tmp, { mode: 0o600 });
    try {
      await pipeline(source, meter, out, signal ? { signal } : {});
    } catch (err) {
      // A write stream destroyed before it finished opening still creates the file, after pipeline has settled:
      // wait for it to close, then remove it.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return { tmp, sha256: hash.digest('hex'), size, head: Buffer.concat(head), committed: false };
  }

  /** Give a staged file its content address. Returns the stored file. */
  commit(staged: StagedFile): StoredFile {
    const file = this.fileFor(staged.sha256);
    if (!staged.committed) {
      if (fs.existsSync(file)) fs.rmSync(staged.tmp, { force: true });
      else {
        ensurePrivateDir(path.dirname(file));
        fs.renameSync(staged.tmp, file);
      }
      staged.committed = true;
    }
    return { sha256: staged.sha256, size: staged.size, path: file, head: staged.head };
  }

  discard(staged: StagedFile): void {
    if (!staged.committed) fs.rmSync(staged.tmp, { force: true });
  }

  /** Stage and commit at once (files that need no check first: downloads). */
  async put(source: Readable | AsyncIterable<Buffer>, maxBytes: number, field = 'media'): Promise<StoredFile> {
    return this.commit(await this.stage(source, maxBytes, field));
  }

  putBuffer(data: Buffer, maxBytes: number, field = 'media'): Promise<StoredFile> {
    if (data.length > maxBytes) return Promise.reject(tooLarge(field, maxBytes));
    return this.put(Readable.from([data]), maxBytes, field);
  }

  private fileFor(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }
}

export function tooLarge(field: string, maxBytes: number): AppError {
  return new AppError('payload_too_large', `${field}: the file is larger than ${maxBytes} bytes (WHATSAPP_MAX_MEDIA_BYTES)`, {
    details: { max_bytes: maxBytes },
    headers: { connection: 'close' },
  });
}
