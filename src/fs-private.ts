import fs from 'node:fs';

/** Create a directory readable only by us: it holds WhatsApp session keys and message history. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by umask and ignored for existing dirs; enforce it.
  fs.chmodSync(dir, 0o700);
}

export function writePrivateFile(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
