// Which Chromium/Chrome the wwebjs engine drives, and how it is launched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type BrowserLookup =
  | { ok: true; path: string; source: 'config' | 'system' | 'puppeteer' }
  | { ok: false; reason: string };

export interface BrowserProbe {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  homedir: string;
  isExecutable(file: string): boolean;
  listDir(dir: string): string[];
}

export const INSTALL_HINT = 'install chromium: apt-get install chromium, or set WHATSAPP_CHROME_EXECUTABLE';

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
const SYSTEM_PATHS: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ],
};

export function systemProbe(): BrowserProbe {
  return {
    env: process.env,
    platform: process.platform,
    homedir: os.homedir(),
    isExecutable(file) {
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
      } catch {
        return false;
      }
    },
    listDir(dir) {
      try {
        return fs.readdirSync(dir);
      } catch {
        return [];
      }
    },
  };
}

/** Configured path, else a system browser (PATH, then well-known paths), else one puppeteer downloaded earlier. */
export function findBrowser(configured: string | undefined, probe: BrowserProbe = systemProbe()): BrowserLookup {
  if (configured) {
    return probe.isExecutable(configured)
      ? { ok: true, path: configured, source: 'config' }
      : { ok: false, reason: `WHATSAPP_CHROME_EXECUTABLE=${configured} is not an executable file; ${INSTALL_HINT}` };
  }
  const dirs = (probe.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of SYSTEM_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (probe.isExecutable(candidate)) return { ok: true, path: candidate, source: 'system' };
    }
  }
  for (const candidate of SYSTEM_PATHS[probe.platform] ?? []) {
    if (probe.isExecutable(candidate)) return { ok: true, path: candidate, source: 'system' };
  }
  const downloaded = findPuppeteerBrowser(probe);
  if (downloaded) return { ok: true, path: downloaded, source: 'puppeteer' };
  return { ok: false, reason: `No Chromium or Chrome found; ${INSTALL_HINT}` };
}

// Puppeteer's cache layout: <cache>/chrome/<platform>-<version>/chrome-<platform>/<binary>. We read it directly
// instead of importing puppeteer (a transitive dependency whose install usually skips the download here).
function findPuppeteerBrowser(probe: BrowserProbe): string | null {
  const cache = probe.env.PUPPETEER_CACHE_DIR ?? path.join(probe.homedir, '.cache', 'puppeteer');
  const chromeDir = path.join(cache, 'chrome');
  const binaries =
    probe.platform === 'darwin'
      ? ['chrome-mac-arm64', 'chrome-mac-x64'].map((d) => `${d}/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing`)
      : ['chrome-linux64/chrome'];
  const builds = probe.listDir(chromeDir).sort(compareVersionsDesc);
  for (const build of builds) {
    for (const rel of binaries) {
      const candidate = path.join(chromeDir, build, rel);
      if (probe.isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

function compareVersionsDesc(a: string, b: string): number {
  return b.localeCompare(a, 'en', { numeric: true });
}

/** Chromium flags: quiet (no update/sync traffic nobody asked for) and able to run as root in containers. */
export function browserArgs(opts: { isRoot: boolean }): string[] {
  const args = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'];
  // Chromium refuses to start as root with its sandbox on; root usually means a container that is the sandbox.
  if (opts.isRoot) args.push('--no-sandbox', '--disable-setuid-sandbox');
  return args;
}

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}
