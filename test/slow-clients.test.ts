// Slow or idle sockets cannot exhaust the server: it keeps answering while 500 are held, and drops them on time.
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/server.js';

let srv: TestServer;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await srv?.close();
});

it('answers while 500 slow sockets trickle headers, then closes them after the headers timeout', async () => {
  srv = await startTestServer({}, { timeouts: { headersMs: 1500, requestMs: 3000 } });
  const port = Number(new URL(srv.url).port);
  let closed = 0;
  await Promise.all(
    Array.from({ length: 500 }, () =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write(`GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
          resolve();
        });
        s.on('error', reject);
        s.on('close', () => closed++);
        sockets.push(s);
      }),
    ),
  );
  // Keep trickling a header byte now and then: a slowloris never finishes its headers.
  const trickle = setInterval(() => sockets.forEach((s) => !s.destroyed && s.write('X')), 200);
  try {
    const health = await srv.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(closed).toBe(0);
    await waitFor(() => closed === 500, 'the server to drop every slow socket', 15_000);
    expect((await srv.call('GET', '/api/status')).status).toBe(200);
  } finally {
    clearInterval(trickle);
  }
});
