// Small real files for media tests (built here, byte by byte, so no binary fixture sits in the repo), and the
// readers those tests share: deliveries, what is on disk under the media store, sha256.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { TestServer } from './server.js';

export const sha256 = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid w×h RGBA PNG filled with one colour (vary the colour to get different bytes). */
export function png(w = 1, h = 1, rgba: [number, number, number, number] = [255, 0, 0, 255]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => rgba).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// Ogg's page checksum: CRC-32 with polynomial 0x04c11db7, not reflected, initial value 0 (RFC 3533).
const OGG_CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});
function oggCrc(b: Buffer): number {
  let crc = 0;
  for (const byte of b) crc = ((crc << 8) ^ OGG_CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

function oggPage(packet: Buffer, seq: number, headerType: number, serial = 0x5eed): Buffer {
  const head = Buffer.alloc(27);
  head.write('OggS', 0, 'latin1');
  head[4] = 0; // version
  head[5] = headerType; // 2 = beginning of stream
  head.writeBigUInt64LE(0n, 6); // granule position
  head.writeUInt32LE(serial, 14);
  head.writeUInt32LE(seq, 18);
  head[26] = 1; // one segment
  const page = Buffer.concat([head, Buffer.from([packet.length]), packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** An Ogg/Opus stream: the OpusHead and OpusTags pages (what a voice note starts with), checksums correct. */
export function oggOpus(): Buffer {
  const opusHead = Buffer.alloc(19);
  opusHead.write('OpusHead', 0, 'latin1');
  opusHead[8] = 1; // version
  opusHead[9] = 1; // mono
  opusHead.writeUInt16LE(312, 10); // pre-skip
  opusHead.writeUInt32LE(48_000, 12); // input sample rate
  opusHead.writeInt16LE(0, 16); // output gain
  opusHead[18] = 0; // channel mapping family
  const vendor = Buffer.from('whatsapp-mcp-api test', 'latin1');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length);
  return Buffer.concat([oggPage(opusHead, 0, 2), oggPage(tags, 1, 0)]);
}

/** A 1×1 lossless WebP (the image browsers' WebP feature tests use). */
export function webp(): Buffer {
  return Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
}

/** A tiny but well-formed one-page PDF. */
export function pdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n' +
      '3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 72 72]>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n',
    'latin1',
  );
}

/** Random bytes that no signature matches (a leading byte that starts no known format). */
export function randomDocument(size = 1500): Buffer {
  const b = randomBytes(size);
  b[0] = 0x01;
  b[1] = 0x02;
  b[2] = 0x03;
  return b;
}

export const b64 = (b: Buffer): string => b.toString('base64');

export interface Delivery {
  id: string;
  chat_id: string;
  body: string;
  type?: string;
  media?: { kind: string; mimetype: string; filename: string | null; size: number; sha256: string };
  quoted?: { id: string; from: string | null; body: string };
  location?: unknown;
  poll?: unknown;
}

/** What the sandbox delivered (its stand-in for WhatsApp's servers), every send of this session. */
export function deliveries(s: TestServer): Delivery[] {
  try {
    const text = fs.readFileSync(path.join(s.authDir, 'session-default', 'deliveries.jsonl'), 'utf8');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Delivery);
  } catch {
    return [];
  }
}

/** Every file under <dataDir>/media (tmp included), relative paths, sorted. */
export function mediaFiles(s: TestServer): string[] {
  const root = path.join(s.dataDir, 'media');
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Files left in the staging directory (uploads in progress or, after a bug, abandoned). */
export function tmpFiles(s: TestServer): string[] {
  return mediaFiles(s).filter((f) => f.startsWith(`tmp${path.sep}`));
}

/** A multipart/form-data body the way browsers and curl build it. */
export function formData(fields: Record<string, string>, file?: { data: Buffer; filename?: string; type?: string; field?: string }): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.field ?? 'file', new Blob([new Uint8Array(file.data)], { type: file.type ?? 'application/octet-stream' }), file.filename ?? 'upload.bin');
  return form;
}

/** POST a form; JSON-decoded answer. */
export async function postForm(s: TestServer, pathname: string, form: FormData, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + pathname, { method: 'POST', body: form, headers });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, json };
}

/** GET (or HEAD) a download: status, headers, and the body's bytes. */
export async function download(s: TestServer, messageId: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${s.url}/api/messages/${encodeURIComponent(messageId)}/media`, { method: init.method ?? 'GET', headers: init.headers ?? {} });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes };
}
