// The saved session on disk. LocalAuth keeps a whole Chromium profile in <authDir>/session-default and creates
// that directory on every initialize(), linked or not, so its existence says nothing. We keep a small marker
// beside the profile data recording whether the last thing we saw was a linked account.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const MARKER = 'whatsapp-mcp-api.json';
const marker = z.object({ linked: z.boolean(), wid: z.string().nullable() });

export function sessionDir(authDir: string): string {
  return path.join(authDir, 'session-default');
}

export function hasSavedSession(authDir: string): boolean {
  const dir = sessionDir(authDir);
  try {
    return marker.parse(JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8'))).linked;
  } catch {
    // No (readable) marker: a session from before the marker existed, linked if WhatsApp Web ever stored its data.
    return fs.existsSync(path.join(dir, 'Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb'));
  }
}

// The Baileys engine's auth store (BAILEYS_AUTH_FILE in baileys-auth.ts; not imported, so this engine never loads
// Baileys). One device cannot be driven by both engines, and LocalAuth would mix its profile into that directory.
const BAILEYS_STORE = 'baileys-auth.db';

/** Why this session directory is not ours to use, or null. */
export function baileysSessionIn(authDir: string): string | null {
  const file = path.join(sessionDir(authDir), BAILEYS_STORE);
  if (!fs.existsSync(file)) return null;
  return (
    `${sessionDir(authDir)} holds a session of the Baileys engine (${BAILEYS_STORE}); one device cannot be driven by both engines. ` +
    'Start with WHATSAPP_ENGINE=baileys to keep using it, or log out with it (POST /api/logout) or delete that file, then link again with WHATSAPP_ENGINE=wwebjs (the message store is kept)'
  );
}

/** The session holds device keys: owner-only, like ~/.ssh, also when an older run created it 0755. */
export function ensureSessionDirs(authDir: string): void {
  const foreign = baileysSessionIn(authDir);
  if (foreign) throw new Error(foreign);
  fs.mkdirSync(authDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(sessionDir(authDir), { recursive: true, mode: 0o700 });
  fs.chmodSync(sessionDir(authDir), 0o700);
}

export function markSession(authDir: string, linked: boolean, wid: string | null): void {
  ensureSessionDirs(authDir);
  const file = path.join(sessionDir(authDir), MARKER);
  fs.writeFileSync(file, JSON.stringify({ linked, wid }), { mode: 0o600 });
}

export async function removeSession(authDir: string): Promise<void> {
  // Chromium may still be flushing files for a moment after close; rm retries on EBUSY/ENOTEMPTY.
  await fs.promises.rm(sessionDir(authDir), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}
