// An in-memory stand-in for the SQLite auth store (src/engine/baileys-auth.ts), with its API: Baileys' initAuthCreds
// plus a Map-backed key store. Stores are kept per file path, so a second engine (a restart) finds the same
// session; the path gets an empty file while a store exists, because the engine asks the file system first.
import fs from 'node:fs';
import path from 'node:path';
import { type AuthenticationCreds, type AuthenticationState, type SignalDataTypeMap, initAuthCreds } from 'baileys';
import type { BaileysAuthStore } from '../../src/engine/baileys-auth.js';

interface Saved {
  creds: AuthenticationCreds;
  keys: Map<string, unknown>;
}

export class MemoryAuthStores {
  private readonly byFile = new Map<string, Saved>();
  /** Every saveCreds, with a copy of the creds as they were then. */
  readonly saves: Array<{ file: string; creds: AuthenticationCreds }> = [];
  opened = 0;
  /** Makes the next open throw, as a corrupt file does. */
  failNextOpen: Error | null = null;

  readonly open = (file: string): BaileysAuthStore => {
    if (this.failNextOpen) {
      const err = this.failNextOpen;
      this.failNextOpen = null;
      throw err;
    }
    this.opened++;
    let saved = this.byFile.get(file);
    if (!saved) {
      saved = { creds: initAuthCreds(), keys: new Map() };
      this.byFile.set(file, saved);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, '', { mode: 0o600 });
    return this.storeFor(file, saved);
  };

  creds(file: string): AuthenticationCreds | undefined {
    return this.byFile.get(file)?.creds;
  }

  /** A store that holds a linked device, as if linked before this test. */
  seedLinked(file: string, phone: string): void {
    const creds = initAuthCreds();
    creds.me = { id: `${phone}:3@s.whatsapp.net`, name: 'Harness', lid: '99000000000001:3@lid' };
    creds.account = { details: new Uint8Array([1]), accountSignatureKey: new Uint8Array([2]), accountSignature: new Uint8Array([3]), deviceSignature: new Uint8Array([4]) };
    creds.platform = 'android';
    creds.registered = true;
    this.byFile.set(file, { creds, keys: new Map() });
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, '', { mode: 0o600 });
  }

  private storeFor(file: string, saved: Saved): BaileysAuthStore {
    let open = true;
    const live = () => {
      if (!open) throw new Error(`auth store ${file} is closed`);
    };
    const state: AuthenticationState = {
      creds: saved.creds,
      keys: {
        get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
          live();
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          for (const id of ids) {
            const v = saved.keys.get(`${type}/${id}`);
            if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
          }
          return out;
        },
        set: async (data) => {
          live();
          for (const [type, entries] of Object.entries(data)) {
            for (const [id, v] of Object.entries(entries ?? {})) {
              if (v === null) saved.keys.delete(`${type}/${id}`);
              else saved.keys.set(`${type}/${id}`, v);
            }
          }
        },
      },
    };
    return {
      state,
      saveCreds: () => {
        live();
        this.saves.push({ file, creds: structuredClone(saved.creds) });
      },
      linked: () => saved.creds.registered === true || saved.creds.account != null,
      clear: () => {
        live();
        open = false;
        this.byFile.delete(file);
        fs.rmSync(file, { force: true });
      },
      close: () => {
        open = false;
      },
    };
  }
}
