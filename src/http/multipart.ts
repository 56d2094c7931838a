// multipart/form-data for the send routes: one file part (`file`) streamed into the media store's staging area,
// never buffered whole; the other parts are the JSON body's fields as text. A client that hangs up, a file over
// the cap or a malformed form leaves no file behind.
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { AppError } from '../errors.js';
import type { Upload } from '../service/media-intake.js';
import type { MediaStore, StagedFile } from '../store/media-store.js';

export interface MultipartLimits {
  maxFileBytes: number;
  /** Per text field: a 65,536-character message is up to 256 KB of UTF-8. */
  maxFieldBytes: number;
  idleMs: number;
}

export interface MultipartBody {
  fields: Record<string, string>;
  upload?: Upload;
}

export function isMultipart(req: IncomingMessage): boolean {
  return /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
}

export async function readMultipart(req: IncomingMessage, media: MediaStore, limits: MultipartLimits): Promise<MultipartBody> {
  let bb: busboy.Busboy;
  try {
    // fileSize one past the cap: busboy truncates at its limit, the store's meter then sees "more than the cap".
    bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: limits.maxFileBytes + 1, fields: 50, fieldSize: limits.maxFieldBytes, parts: 51 } });
  } catch (err) {
    throw new AppError('invalid_input', `Malformed multipart request: ${(err as Error).message}`, { hint: 'Send -F file=@photo.jpg plus the other fields as -F parts, e.g. -F phone_number=... (curl sets the boundary itself).' });
  }
  const fields: Record<string, string> = {};
  let staging: Promise<StagedFile> | null = null;
  let upload: Omit<Upload, 'staged'> | null = null;
  let failure: unknown = null;
  let fileStream: NodeJS.ReadableStream & { destroy(err?: Error): void } | null = null;
  const fail = (err: unknown) => {
    failure ??= err;
  };

  const done = new Promise<void>((resolve, reject) => {
    let idle: NodeJS.Timeout | null = null;
    const arm = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => stop(new AppError('request_timeout', `The upload stopped arriving (no byte for ${limits.idleMs / 1000} s)`, { headers: { connection: 'close' } })), limits.idleMs);
      idle.unref();
    };
    const stop = (err: unknown) => {
      if (idle) clearTimeout(idle);
      fail(err);
      req.unpipe(bb);
      bb.destroy();
      // A file part still being staged must fail too, or its staging would wait for bytes that never come.
      fileStream?.destroy(err as Error);
      reject(err);
    };
    req.on('data', arm);
    req.once('aborted', () => stop(new AppError('invalid_input', 'The upload was cut off')));
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new AppError('payload_too_large', `${name}: longer than ${limits.maxFieldBytes} bytes`));
      if (name in fields) return fail(new AppError('invalid_input', `${name}: given twice`));
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || staging) {
        // Drained, not read; its error (the form cut short) is the form's error, reported once by busboy itself.
        stream.on('error', () => undefined);
        stream.resume();
        return fail(new AppError('invalid_input', `${name}: only one file part, named "file", is accepted`));
      }
      upload = { filename: info.filename ? info.filename.slice(0, 255) : null, mimetype: info.mimeType || null };
      fileStream = stream;
      staging = media.stage(stream, limits.maxFileBytes, 'file');
      // The staging promise settles on its own; errors are read after the form ends.
      staging.catch(fail);
    });
    bb.on('partsLimit', () => fail(new AppError('invalid_input', 'Too many parts in the form')));
    bb.on('fieldsLimit', () => fail(new AppError('invalid_input', 'Too many fields in the form')));
    bb.on('filesLimit', () => fail(new AppError('invalid_input', 'file: only one file part is accepted')));
    bb.on('error', (err) => stop(new AppError('invalid_input', `Malformed multipart request: ${(err as Error).message}`)));
    bb.on('close', () => {
      if (idle) clearTimeout(idle);
      resolve();
    });
    arm();
    req.pipe(bb);
  });

  await done.catch(fail);
  // Whatever happened to the form, the file part's staging must settle before we answer (and clean up after it).
  const staged = staging ? await (staging as Promise<StagedFile>).catch((err: unknown) => (fail(err), null)) : null;
  if (failure !== null) {
    if (staged) media.discard(staged);
    throw failure;
  }
  return staged && upload ? { fields, upload: { ...(upload as Omit<Upload, 'staged'>), staged } } : { fields };
}
