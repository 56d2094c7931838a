// A damaged accounts.json stops the start with a line naming the file, not a bare JSON.parse error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ACCOUNTS_FILE } from '../src/accounts/registry.js';
import { startTestServer } from './helpers/server.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

it('names accounts.json when it is not JSON', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-accounts-file-'));
  dirs.push(root);
  fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
  const file = path.join(root, 'data', ACCOUNTS_FILE);
  fs.writeFileSync(file, '{"version": 1, "accounts": [', { mode: 0o600 });
  const start = startTestServer({}, {}, root);
  await expect(start).rejects.toThrow(`${file} is not valid JSON`);
});
