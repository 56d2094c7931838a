// The kill -9 child of test/baileys-auth.test.ts: opens the auth store and writes key batches and creds in a tight
// loop until it is killed. Also exports the batch layout, so the test can say exactly what a store that survived
// the kill must hold.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SignalDataSet } from 'baileys';
import { type BaileysAuthStore, openBaileysAuthStore } from '../../src/engine/baileys-auth.js';

/** Ids each batch inserts per type, and how many batches stay before a later batch deletes them. */
export const PER_BATCH = 16;
export const KEEP = 5;
export const INSERT_TYPES = ['pre-key', 'session', 'sender-key', 'app-state-sync-key'] as const;
export const SLOTS = 4;

export function batchIds(n: number): string[] {
  return Array.from({ length: PER_BATCH }, (_, i) => `${n}/${i}`);
}

/** Batch n: inserts PER_BATCH ids of each INSERT_TYPES, overwrites every slot with n, deletes batch n - KEEP. */
export function batch(n: number): SignalDataSet {
  const fill = (len: number) => Buffer.alloc(len, n % 256);
  const data: Required<Pick<SignalDataSet, (typeof INSERT_TYPES)[number] | 'lid-mapping' | 'device-list' | 'app-state-sync-version'>> = {
    'pre-key': {},
    session: {},
    'sender-key': {},
    'app-state-sync-key': {},
    'lid-mapping': {},
    'device-list': { slot: [String(n)] },
    'app-state-sync-version': { slot: { version: n, hash: fill(128), indexValueMap: {} } },
  };
  for (const id of batchIds(n)) {
    data['pre-key'][id] = { public: fill(32), private: new Uint8Array(fill(32)) };
    data.session[id] = new Uint8Array(fill(200));
    data['sender-key'][id] = fill(100);
    data['app-state-sync-key'][id] = { keyData: fill(32), fingerprint: { rawId: n, currentIndex: 0, deviceIndexes: [0] }, timestamp: n };
  }
  for (const id of n > KEEP ? batchIds(n - KEEP) : []) {
    for (const type of INSERT_TYPES) data[type][id] = null;
  }
  for (let i = 0; i < SLOTS; i += 1) data['lid-mapping'][`slot/${i}`] = String(n);
  return data;
}

/** The last batch this store holds (0 for none), read from slot 0. */
export async function lastBatch(store: BaileysAuthStore): Promise<number> {
  const got = await store.state.keys.get('lid-mapping', ['slot/0']);
  return Number(got['slot/0'] ?? 0);
}

async function main(file: string): Promise<void> {
  const store = openBaileysAuthStore(file);
  let n = (await lastBatch(store)) + 1;
  process.stdout.write(`ready ${n}\n`);
  for (;;) {
    await store.state.keys.set(batch(n));
    // As Baileys does: mutate creds in place, then save. The counter trails the batch by at most one.
    store.state.creds.accountSyncCounter = n;
    store.state.creds.routingInfo = Buffer.from(String(n));
    store.saveCreds();
    n += 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv[2]!);
}
