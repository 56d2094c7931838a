// Where the Baileys engine keeps its session, and the refusal to reuse one linked by the wwebjs engine: both live in
// <authDir>/session-default, and a device linked by one engine cannot be driven by the other (their keys differ).
import fs from 'node:fs';
import path from 'node:path';
import { BAILEYS_AUTH_FILE, type BaileysAuthStore, openBaileysAuthStore } from './baileys-auth.js';
import { hasSavedSession as wwebjsSessionSaved, sessionDir } from './wwebjs-session.js';

export type OpenAuthStore = (file: string) => BaileysAuthStore;

export function authFile(authDir: string): string {
  return path.join(sessionDir(authDir), BAILEYS_AUTH_FILE);
}

export function defaultOpenAuthStore(logger: Parameters<typeof openBaileysAuthStore>[1]): OpenAuthStore {
  return (file) => openBaileysAuthStore(file, logger);
}

/** Why this session directory is not ours to use, or null. */
export function foreignSession(authDir: string): string | null {
  if (!wwebjsSessionSaved(authDir)) return null;
  return (
    `${sessionDir(authDir)} holds a session linked with the wwebjs engine; one device cannot be driven by both engines. ` +
    'Start with WHATSAPP_ENGINE=wwebjs to keep using it, or log out with it (POST /api/logout) or delete that directory, then link again with WHATSAPP_ENGINE=baileys (the message store is kept)'
  );
}

/** True when the store file exists and holds a linked device; a file we cannot read counts, so a start reports it. */
export function savedAndLinked(file: string, open: OpenAuthStore, current: BaileysAuthStore | null): boolean {
  if (!fs.existsSync(file)) return false;
  if (current) return current.linked();
  try {
    const store = open(file);
    try {
      return store.linked();
    } finally {
      store.close();
    }
  } catch {
    return true;
  }
}

/** Logout: delete the store, open or not. */
export function deleteStore(file: string, open: OpenAuthStore, current: BaileysAuthStore | null): void {
  try {
    if (current) return current.clear();
    if (fs.existsSync(file)) return open(file).clear();
  } catch {
    // A store we cannot open cannot be cleared row by row: the files go.
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}
