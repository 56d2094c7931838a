// One process per session and store: a second server on the same directories is refused, a dead one's lock is not.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LOCK_FILE } from '../src/instance-lock.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

it('refuses a second server on the same directories until the first has stopped', async () => {
  const first = await startTestServer();
  servers.push(first);
  await expect(startTestServer({}, {}, first.dir)).rejects.toThrow(/Another whatsapp-mcp-api \(pid \d+\) is using/);
  await servers.pop()!.close();
  const second = await startTestServer({}, {}, first.dir);
  servers.push(second);
  expect((await second.call('GET', '/health')).status).toBe(200);
});

it('takes over a lock left by a process that no longer exists (kill -9)', async () => {
  const first = await startTestServer();
  const dir = first.dir;
  await first.close();
  // A pid far above any pid_max in use stands for a process that died without cleaning up.
  fs.writeFileSync(path.join(dir, 'data', LOCK_FILE), '2147483646');
  const again = await startTestServer({}, {}, dir);
  servers.push(again);
  expect(fs.readFileSync(path.join(dir, 'data', LOCK_FILE), 'utf8')).toBe(String(process.pid));
});

it('a server that cannot bind its port releases its locks and never starts the engine', async () => {
  const first = await startTestServer();
  await first.call('POST', '/api/sandbox/link', {});
  const dir = first.dir;
  await first.close();
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = String((blocker.address() as net.AddressInfo).port);
  try {
    await expect(startTestServer({ WHATSAPP_MCP_PORT: port }, {}, dir)).rejects.toThrow(/EADDRINUSE/);
    expect(fs.existsSync(path.join(dir, 'data', LOCK_FILE))).toBe(false);
    const deliveriesBefore = fs.readdirSync(path.join(dir, 'auth', 'session-default'));
    expect(deliveriesBefore).toContain('sandbox.json');
  } finally {
    blocker.close();
  }
  const ok = await startTestServer({}, {}, dir);
  servers.push(ok);
  expect((await ok.call('GET', '/health')).status).toBe(200);
});
