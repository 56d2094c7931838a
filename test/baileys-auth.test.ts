import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { proto, type SignalDataTypeMap } from 'baileys';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BAILEYS_AUTH_FILE, type BaileysAuthStore, openBaileysAuthStore } from '../src/engine/baileys-auth.js';
import { AppError } from '../src/errors.js';
import { INSERT_TYPES, KEEP, SLOTS, batchIds, lastBatch } from './helpers/baileys-auth-writer.js';

let dir: string;
let file: string;
const open: BaileysAuthStore[] = [];

function openStore(): BaileysAuthStore {
  const store = openBaileysAuthStore(file);
  open.push(store);
  return store;
}

function reopen(store: BaileysAuthStore): BaileysAuthStore {
  store.close();
  return openStore();
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baileys-auth-'));
  file = path.join(dir, 'auth', BAILEYS_AUTH_FILE);
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Typed against Baileys' own map: a key type added in a Baileys upgrade fails tsc here until it has a sample.
const SAMPLES: { [T in keyof SignalDataTypeMap]: SignalDataTypeMap[T] } = {
  'pre-key': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) },
  session: Buffer.from('session record bytes'),
  'sender-key': Buffer.from('sender key record'),
  'sender-key-memory': { '15550001111@s.whatsapp.net': true, '15550002222:3@s.whatsapp.net': false },
  'app-state-sync-key': { keyData: Buffer.alloc(32, 7), fingerprint: { rawId: 9, currentIndex: 1, deviceIndexes: [0, 4] }, timestamp: 1_700_000_000 },
  'app-state-sync-version': { version: 42, hash: Buffer.alloc(128, 3), indexValueMap: { 'aW5kZXg=': { valueMac: Buffer.alloc(32, 5) } } },
  'lid-mapping': '123456789012345',
  'device-list': ['0', '12', '31'],
  tctoken: { token: Buffer.from([0, 1, 2, 255]), timestamp: '1700000000', senderTimestamp: 1_700_000_001 },
  'identity-key': Buffer.alloc(33, 8),
};

function expectAuthError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('engine_error');
    expect((err as AppError).message).toContain(file);
    expect((err as AppError).message).toMatch(pattern);
    return;
  }
  throw new Error('expected openBaileysAuthStore to throw');
}

describe('Baileys auth store', () => {
  it('creates the file 0600 in a 0700 directory, with fresh creds that survive a reopen', () => {
    const store = openStore();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    for (const f of [`${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    const noise = Buffer.from(store.state.creds.noiseKey.private);
    expect(reopen(store).state.creds.noiseKey.private).toEqual(noise);
  });

  it('round-trips creds, Buffers and Uint8Arrays included', () => {
    const store = openStore();
    const creds = store.state.creds;
    creds.me = { id: '15550001111:4@s.whatsapp.net', lid: '123456789012345:4@lid', name: 'Ada' };
    creds.account = { details: new Uint8Array([1, 2, 3]), accountSignatureKey: Buffer.alloc(32, 4), accountSignature: Buffer.alloc(64, 5), deviceSignature: Buffer.alloc(64, 6) };
    creds.routingInfo = Buffer.from([9, 8, 7]);
    creds.signalIdentities = [{ identifier: { name: '15550001111:4@s.whatsapp.net', deviceId: 0 }, identifierKey: Buffer.alloc(33, 1) }];
    creds.nextPreKeyId = 31;
    creds.platform = 'android';
    store.saveCreds();

    const back = reopen(store).state.creds;
    expect(back.me).toEqual(creds.me);
    expect(back.nextPreKeyId).toBe(31);
    expect(Buffer.isBuffer(back.routingInfo)).toBe(true);
    expect(back.routingInfo).toEqual(Buffer.from([9, 8, 7]));
    expect(Buffer.from(back.account!.details!)).toEqual(Buffer.from([1, 2, 3]));
    expect(back.signalIdentities![0]!.identifierKey).toEqual(Buffer.alloc(33, 1));
    for (const pair of [back.noiseKey, back.pairingEphemeralKeyPair, back.signedIdentityKey, back.signedPreKey.keyPair]) {
      expect(Buffer.isBuffer(pair.public) && Buffer.isBuffer(pair.private)).toBe(true);
    }
    expect(Buffer.from(back.signedIdentityKey.private)).toEqual(Buffer.from(creds.signedIdentityKey.private));
    expect(Buffer.from(back.signedPreKey.signature)).toEqual(Buffer.from(creds.signedPreKey.signature));
  });

  it('round-trips every key type Baileys 7 declares', async () => {
    const store = openStore();
    const types = Object.keys(SAMPLES) as (keyof SignalDataTypeMap)[];
    await store.state.keys.set(Object.fromEntries(types.map((t) => [t, { 'a:1@s.whatsapp.net': SAMPLES[t] }])));
    const back = reopen(store);
    for (const type of types) {
      const got = await back.state.keys.get(type, ['a:1@s.whatsapp.net']);
      const value: unknown = got['a:1@s.whatsapp.net'];
      if (type === 'app-state-sync-key') continue; // its own test below
      expect(value, type).toEqual(SAMPLES[type]);
    }
  });

  it('reads app-state-sync-key back as the proto object Baileys expects', async () => {
    const store = openStore();
    await store.state.keys.set({ 'app-state-sync-key': { AAAAAFsv: SAMPLES['app-state-sync-key'] } });
    const { AAAAAFsv: key } = await reopen(store).state.keys.get('app-state-sync-key', ['AAAAAFsv']);
    expect(key).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(key!.keyData!)).toEqual(Buffer.alloc(32, 7));
    expect(key!.fingerprint).toBeInstanceOf(proto.Message.AppStateSyncKeyFingerprint);
    expect(key!.fingerprint!.deviceIndexes).toEqual([0, 4]);
    expect(Number(key!.timestamp)).toBe(1_700_000_000);
    // What Baileys does with it (chat-utils): encode it again.
    expect(proto.Message.AppStateSyncKeyData.encode(key!).finish().length).toBeGreaterThan(32);
  });

  it('deletes on null, and get returns only the ids present', async () => {
    const store = openStore();
    await store.state.keys.set({ session: { a: Buffer.from('a'), b: Buffer.from('b'), c: Buffer.from('c') } });
    await store.state.keys.set({ session: { a: null, c: Buffer.from('c2'), d: Buffer.from('d') }, 'pre-key': { 1: null } });
    const back = reopen(store);
    const got = await back.state.keys.get('session', ['a', 'b', 'c', 'd', 'never']);
    expect(Object.keys(got).sort()).toEqual(['b', 'c', 'd']);
    expect(got.c).toEqual(Buffer.from('c2'));
    expect(await back.state.keys.get('pre-key', ['1', '2'])).toEqual({});
    expect(await back.state.keys.get('session', [])).toEqual({});
  });

  it('writes a batch in one transaction: a value that cannot be encoded leaves the whole batch out', async () => {
    const store = openStore();
    const bad = { big: 1n } as unknown as SignalDataTypeMap['sender-key-memory'];
    await expect(store.state.keys.set({ session: { first: Buffer.from('x') }, 'sender-key-memory': { g: bad } })).rejects.toThrow();
    expect(await reopen(store).state.keys.get('session', ['first'])).toEqual({});
  });

  it('says linked only after pairing: not after a pairing code was merely requested', () => {
    const store = openStore();
    expect(store.linked()).toBe(false);
    // requestPairingCode sets `me` before the phone has done anything.
    store.state.creds.me = { id: '15550001111@s.whatsapp.net', name: '~' };
    store.state.creds.pairingCode = 'ABCD1234';
    store.saveCreds();
    expect(reopen(store).linked()).toBe(false);

    const paired = openStore();
    Object.assign(paired.state.creds, {
      me: { id: '15550001111:4@s.whatsapp.net', name: 'Ada' },
      account: { details: Buffer.from([1]), accountSignatureKey: Buffer.alloc(32), accountSignature: Buffer.alloc(64), deviceSignature: Buffer.alloc(64) },
    });
    paired.saveCreds();
    expect(paired.linked()).toBe(true);
    expect(reopen(paired).linked()).toBe(true);

    const viaCode = reopen(openStore());
    viaCode.state.creds.registered = true;
    expect(viaCode.linked()).toBe(true);
  });

  it('clear() removes the file and leaves the store unusable; the next open starts unlinked', async () => {
    const store = openStore();
    store.state.creds.account = { details: Buffer.from([1]) };
    store.saveCreds();
    await store.state.keys.set({ session: { a: Buffer.from('a') } });
    const noise = Buffer.from(store.state.creds.noiseKey.private);
    store.clear();
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
    expect(() => store.saveCreds()).toThrow(/closed/);
    await expect(store.state.keys.get('session', ['a'])).rejects.toThrow(/closed/);
    store.close(); // idempotent

    const fresh = openStore();
    expect(fresh.linked()).toBe(false);
    expect(Buffer.from(fresh.state.creds.noiseKey.private)).not.toEqual(noise);
    expect(await fresh.state.keys.get('session', ['a'])).toEqual({});
  });

  it('refuses a file that is not a database, naming the path and the fix', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from('this is not an SQLite file at all, just some garbage bytes '.repeat(100)));
    expectAuthError(() => openBaileysAuthStore(file), /log out, or delete the file/);
  });

  it('refuses another SQLite file, and one with unreadable creds', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const other = new Database(file);
    other.exec('CREATE TABLE messages (id TEXT)');
    other.close();
    expectAuthError(() => openBaileysAuthStore(file), /something else.*delete the file/);

    fs.rmSync(file);
    openBaileysAuthStore(file).close();
    const db = new Database(file);
    db.prepare('UPDATE creds SET value = ?').run('{"registered": true}');
    db.close();
    expectAuthError(() => openBaileysAuthStore(file), /credentials.*delete the file/);
  });

  it('refuses a file from a newer version with a clear error', () => {
    openBaileysAuthStore(file).close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expectAuthError(() => openBaileysAuthStore(file), /schema version 99, newer than this build supports \(1\); upgrade whatsapp-mcp-api/);
  });
});

describe('Baileys auth store under kill -9', () => {
  const writer = path.resolve('test/helpers/baileys-auth-writer.ts');

  async function runAndKill(ms: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`writer exited (${code}) before it was ready`)));
    });
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
  }

  /** The store must hold exactly what batches 1..last wrote: nothing torn, nothing extra. */
  async function expectConsistent(): Promise<number> {
    const store = openBaileysAuthStore(file);
    try {
      const check = new Database(file, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = check.prepare('SELECT count(*) AS n FROM keys').get() as { n: number };
      check.close();

      const last = await lastBatch(store);
      const slots = await store.state.keys.get('lid-mapping', Array.from({ length: SLOTS }, (_, i) => `slot/${i}`));
      expect(new Set(Object.values(slots))).toEqual(new Set(last === 0 ? [] : [String(last)]));
      if (last > 0) {
        expect((await store.state.keys.get('device-list', ['slot'])).slot).toEqual([String(last)]);
        expect((await store.state.keys.get('app-state-sync-version', ['slot'])).slot?.version).toBe(last);
      }
      let kept = 0;
      for (let b = 1; b <= last + 1; b += 1) {
        const present = b <= last && b > last - KEEP;
        for (const type of INSERT_TYPES) {
          const got = await store.state.keys.get(type, batchIds(b));
          expect(Object.keys(got).length, `batch ${b} ${type} (last ${last})`).toBe(present ? batchIds(b).length : 0);
        }
        if (present) kept += 1;
      }
      expect(rows.n).toBe(kept * INSERT_TYPES.length * batchIds(1).length + (last > 0 ? SLOTS + 2 : 0));

      // Creds are saved after their batch commits, so they trail it by at most one.
      const counter = store.state.creds.accountSyncCounter;
      expect([last, Math.max(0, last - 1)]).toContain(counter);
      if (counter > 0) expect(store.state.creds.routingInfo).toEqual(Buffer.from(String(counter)));
      return last;
    } finally {
      store.close();
    }
  }

  it('survives being killed mid-write five times: every batch fully present or fully absent', { timeout: 60_000 }, async () => {
    let last = 0;
    for (let round = 0; round < 5; round += 1) {
      await runAndKill(100 + Math.floor(Math.random() * 300));
      const now = await expectConsistent();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(last).toBeGreaterThan(0);
  });
});
