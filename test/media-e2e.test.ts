// Files going out and coming in, end to end over HTTP on the sandbox: base64 and multipart sends, what reads,
// search and events show, downloads (ETag, ranges, HEAD), inbound media, idempotency and a queued file surviving a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { b64, deliveries, download, formData, oggOpus, pdf, png, postForm, randomDocument, sha256, webp } from './helpers/media-fixtures.js';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

const ENV = { WHATSAPP_RATE_RECIPIENT_PER_MIN: '0', WHATSAPP_RATE_GLOBAL_PER_MIN: '0', WHATSAPP_SEND_JITTER_MS: '0' };
const PHONE = '15550102030';
const CHAT = `${PHONE}@c.us`;
const ALICE = '15550001001';
const ME = '15550009999@c.us'; // the sandbox links this number unless told another

let srv: TestServer;
afterEach(async () => {
  await srv?.close();
});

async function linked(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer({ ...ENV, ...env });
  const r = await s.call('POST', '/api/sandbox/link', {});
  expect(r.status).toBe(200);
  return s;
}

/** The stored message with this id, as GET /api/chats/{chat}/messages shows it. */
async function stored(s: TestServer, chatId: string, id: string) {
  const page = await s.call('GET', `/api/chats/${encodeURIComponent(chatId)}/messages?limit=200`);
  expect(page.status).toBe(200);
  return page.json.messages.find((m: { id: string }) => m.id === id);
}

describe('sending a file as base64', () => {
  it('sends a PNG with a caption: the answer, the delivery, and the read all describe the same file', async () => {
    srv = await linked();
    const file = png(2, 2);
    const r = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'the chart', media: { data: b64(file), filename: 'chart.png' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, status: 'sent', chat_id: CHAT });
    expect(r.json.message_id).toBeTruthy();
    expect(r.json.outbox_id).toMatch(/^ob_/);

    const [d] = deliveries(srv);
    expect(d).toMatchObject({ id: r.json.message_id, body: 'the chart', type: 'image', media: { kind: 'image', mimetype: 'image/png', size: file.length, sha256: sha256(file) } });

    const m = await stored(srv, CHAT, r.json.message_id);
    expect(m).toMatchObject({ from_me: true, body: 'the chart', type: 'image', has_media: true });
    expect(m.media).toEqual({
      kind: 'image',
      mimetype: 'image/png',
      filename: 'chart.png',
      size: file.length,
      sha256: sha256(file),
      url: `/api/messages/${encodeURIComponent(r.json.message_id)}/media`,
    });
  });

  it('takes a data: URL, and sends a WebP as a sticker and an Ogg/Opus file as a voice note', async () => {
    srv = await linked();
    const image = await srv.call('POST', `/api/chats/${CHAT}/messages`, { media: { data: `data:image/png;base64,${b64(png())}` } });
    const sticker = await srv.call('POST', `/api/chats/${CHAT}/messages`, { media: { data: b64(webp()), kind: 'sticker' } });
    const voice = await srv.call('POST', `/api/chats/${CHAT}/messages`, { media: { data: b64(oggOpus()), kind: 'voice' } });
    for (const r of [image, sticker, voice]) expect(r.status).toBe(200);
    expect(await stored(srv, CHAT, image.json.message_id)).toMatchObject({ type: 'image', body: '', media: { kind: 'image', mimetype: 'image/png', filename: null } });
    expect(await stored(srv, CHAT, sticker.json.message_id)).toMatchObject({ type: 'sticker', media: { kind: 'sticker', mimetype: 'image/webp', sha256: sha256(webp()) } });
    expect(await stored(srv, CHAT, voice.json.message_id)).toMatchObject({ type: 'ptt', media: { kind: 'voice', mimetype: 'audio/ogg', sha256: sha256(oggOpus()) } });
  });

  it('infers the kind from the bytes when none is given, never from the name or the declared type', async () => {
    srv = await linked();
    // A PNG called .pdf and declared as a PDF is still an image; random bytes declared image/png are a document.
    const lying = await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(png()), filename: 'totally.pdf', mimetype: 'application/pdf' } });
    const blob = await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(randomDocument()), mimetype: 'image/png' } });
    const opus = await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(oggOpus()) } });
    expect(await stored(srv, CHAT, lying.json.message_id)).toMatchObject({ media: { kind: 'image', mimetype: 'image/png', filename: 'totally.pdf' } });
    expect(await stored(srv, CHAT, blob.json.message_id)).toMatchObject({ type: 'document', media: { kind: 'document', mimetype: 'application/octet-stream' } });
    expect(await stored(srv, CHAT, opus.json.message_id)).toMatchObject({ media: { kind: 'voice', mimetype: 'audio/ogg' } });
  });

  it('shows the file in /api/messages?phone_number=, in search by caption, and in the message.sent event', async () => {
    srv = await linked();
    const file = pdf();
    const r = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'quarterly zebrafish report', media: { data: b64(file), filename: 'q3.pdf' } });
    expect(r.status).toBe(200);
    const want = { kind: 'document', mimetype: 'application/pdf', filename: 'q3.pdf', size: file.length, sha256: sha256(file), url: `/api/messages/${encodeURIComponent(r.json.message_id)}/media` };

    const live = await srv.call('GET', `/api/messages?phone_number=${PHONE}&limit=5`);
    expect(live.status).toBe(200);
    expect(live.json.messages.find((m: { id: string }) => m.id === r.json.message_id)?.media).toEqual(want);

    const hit = await waitFor(async () => {
      const s = await srv.call('GET', '/api/search?q=zebrafish');
      return s.json.results?.find((x: { message: { id: string } }) => x.message.id === r.json.message_id);
    }, 'the caption in search');
    expect(hit.message.media).toEqual(want);

    const ev = await waitFor(async () => {
      const e = await srv.call('GET', '/api/events?types=message.sent');
      return e.json.events.find((x: { data: { message: { id: string } } }) => x.data.message.id === r.json.message_id);
    }, 'message.sent event');
    expect(ev.chat_id).toBe(CHAT);
    expect(ev.data.message).toMatchObject({ from_me: true, body: 'quarterly zebrafish report', has_media: true, media: { kind: 'document', sha256: sha256(file), size: file.length } });
  });

  it('sends a file as a reply: quoted shows the message it answers, to the recipient too', async () => {
    srv = await linked();
    const question = await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, body: 'send me the logo please' });
    expect(question.status).toBe(200);
    const qid = question.json.message.id;
    const r = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'here', media: { data: b64(png()) }, reply_to: qid });
    expect(r.status).toBe(200);
    const m = await stored(srv, `${ALICE}@c.us`, r.json.message_id);
    expect(m.quoted).toEqual({ id: qid, from: `${ALICE}@c.us`, body: 'send me the logo please' });
    expect(m.media.kind).toBe('image');
    expect(deliveries(srv).at(-1)?.quoted).toEqual({ id: qid, from: `${ALICE}@c.us`, body: 'send me the logo please' });
  });
});

describe('sending a file as multipart/form-data', () => {
  it('uploads a PDF to /api/chats/{chat_id}/messages with a caption; the part\'s name becomes the filename', async () => {
    srv = await linked();
    const file = pdf();
    const r = await postForm(srv, `/api/chats/${CHAT}/messages`, formData({ message: 'signed contract' }, { data: file, filename: 'contract.pdf', type: 'application/pdf' }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, status: 'sent', chat_id: CHAT });
    const m = await stored(srv, CHAT, r.json.message_id);
    expect(m).toMatchObject({ body: 'signed contract', type: 'document', media: { kind: 'document', mimetype: 'application/pdf', filename: 'contract.pdf', size: file.length, sha256: sha256(file) } });
    const got = await download(srv, r.json.message_id);
    expect(sha256(got.bytes)).toBe(sha256(file));
  });

  it('uploads to /api/send with phone_number, kind and filename as form fields', async () => {
    srv = await linked();
    const file = oggOpus();
    const r = await postForm(srv, '/api/send', formData({ phone_number: `+${PHONE}`, kind: 'voice', filename: 'note.ogg' }, { data: file, filename: 'blob', type: 'audio/ogg' }));
    expect(r.status).toBe(200);
    expect(r.json.to).toBe(PHONE);
    expect(await stored(srv, CHAT, r.json.message_id)).toMatchObject({ type: 'ptt', media: { kind: 'voice', mimetype: 'audio/ogg', filename: 'note.ogg', sha256: sha256(file) } });
    expect(deliveries(srv)).toHaveLength(1);
  });

  it('reads the fields whether they come before or after the file part', async () => {
    srv = await linked();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(pdf())]), 'late-fields.pdf');
    form.append('message', 'fields after the file');
    form.append('phone_number', PHONE);
    const r = await postForm(srv, '/api/send', form);
    expect(r.status).toBe(200);
    expect(await stored(srv, CHAT, r.json.message_id)).toMatchObject({ body: 'fields after the file', media: { filename: 'late-fields.pdf', kind: 'document' } });
  });

  it('takes reply_to and queue from form fields (queue=true answers 202 while not linked)', async () => {
    srv = await startTestServer(ENV);
    const q = await postForm(srv, '/api/send', formData({ phone_number: PHONE, queue: 'true', message: 'later' }, { data: png(), filename: 'p.png' }));
    expect(q.status).toBe(202);
    expect(q.json).toMatchObject({ ok: true, status: 'queued', chat_id: CHAT });
    await srv.call('POST', '/api/sandbox/link', {});
    const sent = await waitFor(async () => {
      const s = (await srv.call('GET', `/api/outbox/${q.json.outbox_id}`)).json.send;
      return s.state === 'sent' ? s : null;
    }, 'the queued upload delivered');
    const inbound = await srv.call('POST', '/api/sandbox/inbound', { from: PHONE, body: 'got it?' });
    const reply = await postForm(srv, `/api/chats/${CHAT}/messages`, formData({ reply_to: inbound.json.message.id }, { data: png(1, 1, [0, 0, 255, 255]), filename: 'blue.png' }));
    expect(reply.status).toBe(200);
    expect((await stored(srv, CHAT, reply.json.message_id)).quoted).toMatchObject({ id: inbound.json.message.id, body: 'got it?' });
    expect((await stored(srv, CHAT, sent.message_id)).media).toMatchObject({ kind: 'image', filename: 'p.png' });
  });
});

describe('downloading a file: GET /api/messages/{id}/media', () => {
  async function sentPng(s: TestServer, filename?: string) {
    const file = png(3, 3, [10, 200, 30, 255]);
    const r = await s.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(file), ...(filename ? { filename } : {}) } });
    expect(r.status).toBe(200);
    return { file, id: r.json.message_id as string };
  }

  it('answers the very bytes with Content-Type, Content-Length, Content-Disposition and ETag = "<sha256>"', async () => {
    srv = await linked();
    const { file, id } = await sentPng(srv, 'chart.png');
    const got = await download(srv, id);
    expect(got.status).toBe(200);
    expect(sha256(got.bytes)).toBe(sha256(file));
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-length')).toBe(String(file.length));
    expect(got.headers.get('content-disposition')).toBe('inline; filename="chart.png"');
    expect(got.headers.get('etag')).toBe(`"${sha256(file)}"`);
    expect(got.headers.get('accept-ranges')).toBe('bytes');
  });

  it('answers 304 to If-None-Match with the ETag, and 200 to a stale one', async () => {
    srv = await linked();
    const { file, id } = await sentPng(srv);
    const fresh = await download(srv, id, { headers: { 'if-none-match': `"${sha256(file)}"` } });
    expect(fresh.status).toBe(304);
    expect(fresh.bytes.length).toBe(0);
    expect(fresh.headers.get('etag')).toBe(`"${sha256(file)}"`);
    const weak = await download(srv, id, { headers: { 'if-none-match': `"0000", W/"${sha256(file)}"` } });
    expect(weak.status).toBe(304);
    const stale = await download(srv, id, { headers: { 'if-none-match': '"0000"' } });
    expect(stale.status).toBe(200);
    expect(sha256(stale.bytes)).toBe(sha256(file));
  });

  it('serves a byte range as 206 with Content-Range, and 416 for a range past the end', async () => {
    srv = await linked();
    const { file, id } = await sentPng(srv);
    const part = await download(srv, id, { headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${file.length}`);
    expect(part.headers.get('content-length')).toBe('10');
    expect(part.bytes.equals(file.subarray(0, 10))).toBe(true);
    const tail = await download(srv, id, { headers: { range: `bytes=${file.length - 4}-` } });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(file.subarray(file.length - 4))).toBe(true);
    // If-Range with another validator: the partial copy is stale, so the whole file comes back.
    const whole = await download(srv, id, { headers: { range: 'bytes=0-9', 'if-range': '"0000"' } });
    expect(whole.status).toBe(200);
    expect(sha256(whole.bytes)).toBe(sha256(file));
    const past = await download(srv, id, { headers: { range: `bytes=${file.length}-${file.length + 10}` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${file.length}`);
    expect(JSON.parse(past.bytes.toString()).error.code).toBe('range_not_satisfiable');
  });

  it('answers HEAD with the headers of the download and no body', async () => {
    srv = await linked();
    const { file, id } = await sentPng(srv);
    const head = await download(srv, id, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.bytes.length).toBe(0);
    expect(head.headers.get('content-length')).toBe(String(file.length));
    expect(head.headers.get('etag')).toBe(`"${sha256(file)}"`);
    expect(head.headers.get('content-type')).toBe('image/png');
  });

  it('marks a document as an attachment, with its name (non-ASCII names too); nosniff on every file', async () => {
    srv = await linked();
    const file = randomDocument();
    const r = await srv.call('POST', '/api/send', { phone_number: PHONE, media: { data: b64(file), filename: '报告.bin' } });
    const got = await download(srv, r.json.message_id);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('content-disposition')).toBe(`attachment; filename="??.bin"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.bin`);
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(sha256(got.bytes)).toBe(sha256(file));
  });

  it('404 for a message without a file and for an unknown id', async () => {
    srv = await linked();
    const text = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'just words' });
    const none = await download(srv, text.json.message_id);
    expect(none.status).toBe(404);
    expect(JSON.parse(none.bytes.toString()).error.code).toBe('not_found');
    const unknown = await download(srv, 'true_15550102030@c.us_NOSUCHMESSAGE');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.bytes.toString()).error.code).toBe('not_found');
  });
});

describe('receiving a file', () => {
  it('an inbound image with a caption: the read describes it and the download returns the same bytes, twice', async () => {
    srv = await linked();
    const file = png(4, 4, [1, 2, 3, 255]);
    const r = await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, body: 'look at this', media: { data: b64(file), filename: 'view.png' } });
    expect(r.status).toBe(200);
    const id = r.json.message.id;
    const m = await stored(srv, `${ALICE}@c.us`, id);
    expect(m).toMatchObject({ from_me: false, body: 'look at this', type: 'image', has_media: true });
    expect(m.media).toEqual({ kind: 'image', mimetype: 'image/png', filename: 'view.png', size: file.length, sha256: sha256(file), url: `/api/messages/${encodeURIComponent(id)}/media` });
    for (let i = 0; i < 2; i++) {
      const got = await download(srv, id);
      expect(got.status).toBe(200);
      expect(sha256(got.bytes)).toBe(sha256(file));
      expect(got.headers.get('etag')).toBe(`"${sha256(file)}"`);
      expect(got.headers.get('content-disposition')).toBe('inline; filename="view.png"');
    }
  });

  it('an inbound voice note is announced by message.received with its media, and a reply to it quotes it', async () => {
    srv = await linked();
    const file = oggOpus();
    const first = await srv.call('POST', '/api/send', { phone_number: ALICE, message: 'how was it?' });
    const r = await srv.call('POST', '/api/sandbox/inbound', { from: ALICE, media: { data: b64(file), kind: 'voice' }, reply_to: first.json.message_id });
    expect(r.status).toBe(200);
    const ev = await waitFor(async () => {
      const e = await srv.call('GET', '/api/events?types=message.received');
      return e.json.events.find((x: { data: { message: { id: string } } }) => x.data.message.id === r.json.message.id);
    }, 'message.received event');
    expect(ev.data.message).toMatchObject({ type: 'ptt', media: { kind: 'voice', mimetype: 'audio/ogg', sha256: sha256(file), size: file.length } });
    expect(ev.data.message.quoted).toEqual({ id: first.json.message_id, from: ME, body: 'how was it?' });
    const got = await download(srv, r.json.message.id);
    expect(got.headers.get('content-type')).toBe('audio/ogg');
    expect(sha256(got.bytes)).toBe(sha256(file));
  });
});

describe('idempotent and durable file sends', () => {
  it('the same Idempotency-Key with the same file replays the first answer and sends once; another file is a 409', async () => {
    srv = await linked();
    const file = pdf();
    const form = () => formData({ phone_number: PHONE, message: 'invoice' }, { data: file, filename: 'inv.pdf' });
    const first = await postForm(srv, '/api/send', form(), { 'idempotency-key': 'invoice-42' });
    const again = await postForm(srv, '/api/send', form(), { 'idempotency-key': 'invoice-42' });
    expect(first.status).toBe(200);
    expect(first.json.replayed).toBeUndefined();
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...first.json, replayed: true });
    // The same key over JSON with the same bytes is the same request.
    const json = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'invoice', media: { data: b64(file), filename: 'inv.pdf' } }, { 'idempotency-key': 'invoice-42' });
    expect(json.json).toEqual({ ...first.json, replayed: true });

    const other = await postForm(srv, '/api/send', formData({ phone_number: PHONE, message: 'invoice' }, { data: randomDocument(), filename: 'inv.pdf' }), { 'idempotency-key': 'invoice-42' });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe('conflict');
    expect(deliveries(srv).filter((d) => d.media?.sha256 === sha256(file))).toHaveLength(1);
    expect(deliveries(srv)).toHaveLength(1);
  });

  it('a file queued while not linked survives a restart, goes out exactly once after linking, and downloads intact', async () => {
    srv = await startTestServer(ENV);
    const file = png(5, 5, [9, 9, 9, 255]);
    const q = await srv.call('POST', '/api/send', { phone_number: PHONE, message: 'sent from the train', media: { data: b64(file), filename: 'train.png' }, queue: true });
    expect(q.status).toBe(202);
    expect(q.json).toMatchObject({ ok: true, status: 'queued', chat_id: CHAT });
    const dir = srv.dir;
    await srv.close();

    srv = await startTestServer(ENV, {}, dir);
    expect((await srv.call('GET', `/api/outbox/${q.json.outbox_id}`)).json.send.state).toBe('queued');
    await srv.call('POST', '/api/sandbox/link', {});
    const sent = await waitFor(async () => {
      const s = (await srv.call('GET', `/api/outbox/${q.json.outbox_id}`)).json.send;
      return s.state === 'sent' ? s : null;
    }, 'the queued file delivered after the restart');
    const mine = deliveries(srv).filter((d) => d.media?.sha256 === sha256(file));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ id: sent.message_id, body: 'sent from the train', media: { kind: 'image', filename: 'train.png', size: file.length } });
    const got = await download(srv, sent.message_id);
    expect(got.status).toBe(200);
    expect(sha256(got.bytes)).toBe(sha256(file));

    // And after one more restart, the download still needs nothing but the local store.
    await srv.close();
    srv = await startTestServer(ENV, {}, dir);
    const again = await download(srv, sent.message_id);
    expect(again.status).toBe(200);
    expect(sha256(again.bytes)).toBe(sha256(file));
    expect(deliveries(srv).filter((d) => d.media?.sha256 === sha256(file))).toHaveLength(1);
  });
});
