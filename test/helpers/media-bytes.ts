// Small real files for media tests: the bytes file-type recognises, built here rather than checked in.
import { deflateSync, crc32 } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A valid w x h RGB PNG; `seed` varies the pixels so two calls can give different files. */
export function tinyPng(w = 1, h = 1, seed = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(h * (1 + 3 * w));
  for (let i = 0; i < rows.length; i++) rows[i] = i % (1 + 3 * w) === 0 ? 0 : (i * 31 + seed) & 0xff;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** The first page of an Ogg Opus stream: what a WhatsApp voice note starts with (file-type: audio/ogg; codecs=opus). */
export function tinyOpus(): Buffer {
  const head = Buffer.alloc(28);
  head.write('OggS', 0);
  head[5] = 2; // beginning of stream
  head[26] = 1; // one segment
  head[27] = 19; // of 19 bytes: the OpusHead packet
  return Buffer.concat([head, Buffer.from('OpusHead'), Buffer.from([1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0])]);
}

/** A RIFF/WEBP header: what a sticker is. */
export function tinyWebp(): Buffer {
  return Buffer.concat([Buffer.from('RIFF'), Buffer.from([26, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(14)]);
}

export const TINY_PDF = Buffer.from('%PDF-1.4\n% a tiny document\n');
