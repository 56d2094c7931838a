// `keys add --accounts` and `keys list` on a data directory, and an access.db from before accounts (schema v2): its
// keys keep working, for every account.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { findCommand, runCommand } from '../src/cli/commands.js';
import { KeyService } from '../src/service/keys.js';
import { ACCESS_DB_FILE, ACCESS_SCHEMA_VERSION, openAccessDb } from '../src/store/access-db.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** The keys command in this process, with captured output. */
async function keys(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(findCommand('keys')!, [...args, '--data-dir', dataDir], {
    stdout: { write: (s: string) => ((stdout += s), true) } as never,
    stderr: { write: (s: string) => ((stderr += s), true) } as never,
    env: {},
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wa-keys-accounts-'));

it('keys add --accounts stores the list, keys list shows it, and the server holds the key to it', async () => {
  srv = await startTestServer();
  const added = await keys(['add', '--name', 'work-bot', '--scopes', 'read', '--accounts', 'work, default,work'], srv.dataDir);
  expect(added.code, added.stderr).toBe(0);
  const key = added.stdout.trim();
  expect(added.stderr).toContain('accounts work,default');
  const listed = await keys(['list'], srv.dataDir);
  expect(listed.stdout).toContain('work-bot  scopes read  chats all  rate none  accounts work,default');
  const json = JSON.parse((await keys(['list', '--json'], srv.dataDir)).stdout);
  expect(json.keys[0]).toMatchObject({ name: 'work-bot', accounts: ['work', 'default'] });

  const owner = (await keys(['add', '--name', 'owner', '--scopes', 'read,admin'], srv.dataDir)).stdout.trim();
  expect((await keys(['list'], srv.dataDir)).stdout).toContain('owner  scopes read,admin  chats all  rate none  accounts all');
  await srv.call('POST', '/api/accounts', { id: 'other' }, { authorization: `Bearer ${owner}` });
  const as = { authorization: `Bearer ${key}` };
  expect((await srv.call('GET', '/api/status', undefined, as)).status).toBe(200);
  expect((await srv.call('GET', '/api/accounts/other/status', undefined, as)).status).toBe(403);
});

it('keys add refuses admin beside --accounts, an invalid id, and --accounts on list (exit 2 with the reason)', async () => {
  const dir = tmp();
  const admin = await keys(['add', '--name', 'ops', '--scopes', 'read,admin', '--accounts', 'work'], dir);
  expect(admin.code).toBe(2);
  expect(admin.stderr).toMatch(/accounts: .*admin/);
  const bad = await keys(['add', '--name', 'ops', '--scopes', 'read', '--accounts', 'Work_1'], dir);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('accounts: "Work_1" must be 1 to 32 of a-z 0-9 -');
  const empty = await keys(['add', '--name', 'ops', '--scopes', 'read', '--accounts', ' , '], dir);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain('accounts: give at least one account id');
  const onList = await keys(['list', '--accounts', 'work'], dir);
  expect(onList.code).toBe(2);
  expect(onList.stderr).toContain('--accounts is for keys add');
  expect((await keys(['list'], dir)).stdout).toContain('No keys');
});

it('keys --help describes --accounts', async () => {
  const help = await keys(['--help'], tmp());
  expect(help.stdout).toContain('--accounts');
  expect(help.stdout).toContain('--accounts work');
});

it('an access.db from before accounts keeps its keys, limited to no account', async () => {
  const dir = tmp();
  const file = path.join(dir, ACCESS_DB_FILE);
  // A v2 file as the previous build left it: no accounts column, one key in it.
  const made = openAccessDb(file);
  const { key } = new KeyService(made).create({ name: 'old', scopes: ['read'], chats: ['15550001001'] });
  made.exec('ALTER TABLE api_keys DROP COLUMN accounts; PRAGMA user_version = 2');
  made.close();

  const db = openAccessDb(file);
  try {
    expect(db.pragma('user_version', { simple: true })).toBe(ACCESS_SCHEMA_VERSION);
    const service = new KeyService(db);
    expect(service.verify(key, 'rest')).toMatchObject({ name: 'old', accounts: null, chats: ['15550001001@c.us'] });
    expect(service.list()).toMatchObject([{ name: 'old', accounts: null }]);
  } finally {
    db.close();
  }
  // And the server serves it on every account.
  srv = await startTestServer({ WHATSAPP_DATA_DIR: dir });
  expect((await srv.call('GET', '/api/status', undefined, { authorization: `Bearer ${key}` })).status).toBe(200);
});
