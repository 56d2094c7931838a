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

it('the sandbox takes an inbound file as a multipart part too, and a malformed form with an extra part does not take the server down', async () => {
  srv = await startTestServer();
  await srv.call('POST', '/api/sandbox/link', {});
  const form = new FormData();
  form.set('from', '15550001002');
  form.set('body', 'a picture');
  form.set('file', new Blob([new Uint8Array(png(1, 1, [3, 3, 3, 255]))], { type: 'image/png' }), 'p.png');
  const r = await fetch(`${srv.url}/api/sandbox/inbound`, { method: 'POST', body: form });
  expect(r.status).toBe(200);
  const { message } = (await r.json()) as { message: { has_media: boolean; media: { kind: string } } };
  expect(message).toMatchObject({ has_media: true, media: { kind: 'image' } });
  // A part not named "file", cut off mid-way: once this crashed the process.
  const cut = '--B\r\nContent-Disposition: form-data; name="phone_number"\r\n\r\n15550001001\r\n--B\r\nContent-Disposition: form-data; name="media"; filename="x"\r\n\r\nxxxx';
  const bad = await fetch(`${srv.url}/api/send`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=B' }, body: cut });
  expect(bad.status).toBeGreaterThanOrEqual(400);
  expect(bad.status).toBeLessThan(500);
  expect((await srv.call('GET', '/api/status')).status).toBe(200);
});
