// A media send refused after its file was read (409: the key was used for another file; 429: too fast) leaves no
// file in the media store: the file is committed only when the send is recorded.
import { afterEach, expect, it } from 'vitest';
import { b64, mediaFiles, png, tmpFiles } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

it('a 409 (same key, other file) leaves only the first file', async () => {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  await srv.call('POST', '/api/sandbox/link', {});
  const first = await srv.call('POST', '/api/send', { phone_number: '15550001001', media: { data: b64(png(1, 1, [1, 2, 3, 255])) } }, { 'idempotency-key': 'k1' });
  expect(first.status).toBe(200);
  const stored = mediaFiles(srv);
  const other = await srv.call('POST', '/api/send', { phone_number: '15550001001', media: { data: b64(png(1, 1, [4, 5, 6, 255])) } }, { 'idempotency-key': 'k1' });
  expect(other.status).toBe(409);
  expect(mediaFiles(srv)).toEqual(stored);
  expect(tmpFiles(srv)).toEqual([]);
});

it('a 429 leaves no file; the same send queued keeps it', async () => {
  srv = await startTestServer({ WHATSAPP_RATE_RECIPIENT_PER_MIN: '3', WHATSAPP_RATE_GLOBAL_PER_MIN: '0' });
  await srv.call('POST', '/api/sandbox/link', {});
  // The burst allowance is a third of the per-minute rate: one send, then 429.
  expect((await srv.call('POST', '/api/send', { phone_number: '15550001001', message: 'first' })).status).toBe(200);
  const before = mediaFiles(srv);
  const paced = await srv.call('POST', '/api/send', { phone_number: '15550001001', media: { data: b64(png(1, 1, [7, 8, 9, 255])) } });
  expect(paced.status).toBe(429);
  expect(mediaFiles(srv)).toEqual(before);
  const queued = await srv.call('POST', '/api/send', { phone_number: '15550001001', media: { data: b64(png(1, 1, [7, 8, 9, 255])) }, queue: true });
  expect(queued.status).toBe(202);
  expect(mediaFiles(srv).length).toBe(before.length + 1);
  expect(tmpFiles(srv)).toEqual([]);
});
