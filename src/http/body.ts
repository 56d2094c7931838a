import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';

/** Read a JSON request body: 415 unless JSON, 413 past the cap, 400 when it does not parse. Empty → undefined. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '') {
    throw new AppError('unsupported_media_type', `Content-Encoding ${encoding} is not accepted`, { hint: 'Send the JSON body uncompressed.' });
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  // Events, not `for await`: the async iterator costs a few promises per request on the hottest path.
  const { chunks, size } = await new Promise<{ chunks: Buffer[]; size: number }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: unknown) => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(maxBytes));
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, size });
    };
    const onClose = () => fail(new AppError('invalid_input', 'The request body ended early'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', fail);
      req.off('close', onClose);
    };
    if (req.destroyed) return reject(new AppError('invalid_input', 'The request body ended early'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', fail);
    req.on('close', onClose);
    // A 'data' listener does not resume a stream someone paused explicitly.
    if (req.isPaused()) req.resume();
  });
  if (size === 0) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', 'Request bodies must be JSON', { hint: 'Send the header Content-Type: application/json' });
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_input', `Body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `Request body exceeds ${maxBytes} bytes`, { headers: { connection: 'close' }, details: { max_bytes: maxBytes } });
}
