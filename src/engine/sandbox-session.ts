// The simulated account's saved session: one small file, so "a restart stays linked" is as true as with WhatsApp.
import fs from 'node:fs';
import path from 'node:path';
import type { Account } from '../domain.js';
import { ensurePrivateDir, writePrivateFile } from '../fs-private.js';

export interface SavedSession {
  account: Account;
  /** Unix seconds: the seeded chats are dated back from here. */
  linked_at: number;
}

const FILE = 'sandbox.json';

/** The saved session, or null when there is none (never linked, logged out, or an unreadable file). */
export function readSandboxSession(sessionDir: string): SavedSession | null {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(sessionDir, FILE), 'utf8')) as SavedSession;
    return raw?.account?.wid ? raw : null;
  } catch {
    return null;
  }
}

export function saveSandboxSession(sessionDir: string, session: SavedSession): void {
  ensurePrivateDir(sessionDir);
  writePrivateFile(path.join(sessionDir, FILE), JSON.stringify(session));
}
