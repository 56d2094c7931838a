import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { ConfigError, OPTIONS, flagsToEnv, helpText, loadConfig, refuseOpenBind } from '../src/config.js';
import { KeyService } from '../src/service/keys.js';
import { ACCESS_DB_FILE, openAccessDb } from '../src/store/access-db.js';
import { startTestServer } from './helpers/server.js';

describe('config', () => {
  it('has the baseline defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8790, headless: true, maxBodyBytes: 1024 * 1024, allowedHosts: [], corsOrigins: [] });
    expect(c.authDir.endsWith('.wwebjs_auth')).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each(['true', '1', 'yes', 'TRUE'])('reads WHATSAPP_HEADLESS=%s as true', (v) => {
    expect(loadConfig({ WHATSAPP_HEADLESS: v }).headless).toBe(true);
  });
  it.each(['false', '0', 'no'])('reads WHATSAPP_HEADLESS=%s as false', (v) => {
    expect(loadConfig({ WHATSAPP_HEADLESS: v }).headless).toBe(false);
  });

  it.each([
    ['WHATSAPP_MCP_PORT', '80a'],
    ['WHATSAPP_MCP_PORT', '70000'],
    ['WHATSAPP_HEADLESS', 'maybe'],
    ['WHATSAPP_ENGINE', 'selenium'],
    ['WHATSAPP_MAX_BODY_BYTES', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['WHATSAPP_API_KEY', 'short'],
  ])('names the variable when %s=%s is invalid', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid ${name}=`));
  });

  it('refuses a non-loopback bind without an API key (env or stored), and a CORS wildcard', () => {
    const exposed = loadConfig({ WHATSAPP_MCP_HOST: '0.0.0.0' });
    expect(() => refuseOpenBind(exposed, false)).toThrow(ConfigError);
    expect(() => refuseOpenBind(exposed, true)).not.toThrow();
    expect(() => refuseOpenBind(loadConfig({ WHATSAPP_MCP_HOST: '0.0.0.0', WHATSAPP_API_KEY: 'x'.repeat(20) }), false)).not.toThrow();
    expect(() => refuseOpenBind(loadConfig({}), false)).not.toThrow();
    expect(() => loadConfig({ WHATSAPP_CORS_ORIGINS: '*' })).toThrow(/WHATSAPP_CORS_ORIGINS/);
    expect(() => loadConfig({ WHATSAPP_CORS_ORIGINS: 'not a url' })).toThrow(/must be an origin/);
    expect(() => loadConfig({ WHATSAPP_CORS_ORIGINS: 'https://app.example/path' })).toThrow(/must be an origin/);
    expect(loadConfig({ WHATSAPP_CORS_ORIGINS: 'https://app.example/, http://localhost:3000' }).corsOrigins).toEqual(['https://app.example', 'http://localhost:3000']);
  });

  it('flags override env, and --help lists every option', () => {
    expect(loadConfig({ WHATSAPP_MCP_PORT: '1' }, flagsToEnv(['--port', '9000', '--engine=sandbox'])).port).toBe(9000);
    expect(() => flagsToEnv(['--nope', '1'])).toThrow(/Unknown option --nope/);
    expect(() => loadConfig({}, flagsToEnv(['--port', 'abc']))).toThrow(/^Invalid --port \(WHATSAPP_MCP_PORT\)="abc": must be a whole number from 0 to 65535/);
    expect(() => flagsToEnv(['--port'])).toThrow(/needs a value/);
    const help = helpText();
    for (const o of OPTIONS) {
      expect(help).toContain(o.flag);
      expect(help).toContain(o.env);
    }
  });

  it('the CLI stops with one clear line naming the variable', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts'], { env: { ...process.env, WHATSAPP_MCP_PORT: 'eighty' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/WHATSAPP_MCP_PORT/);
  });
});

/** Every variable loadConfig looks up, recorded as it reads them, so a variable added anywhere in config is covered. */
function variablesRead(): string[] {
  const names = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_t, name) => {
      if (typeof name === 'string') names.add(name);
      return undefined;
    },
  });
  loadConfig(env);
  return [...names];
}

describe('an empty variable means unset (compose files write NAME=)', () => {
  const VARS = variablesRead();
  const unset = loadConfig({});

  it('reads at least every variable of the options table', () => {
    expect(VARS).toEqual(expect.arrayContaining(OPTIONS.map((o) => o.env)));
  });

  it.each(VARS)('%s set to "" or blanks gives the config it gives unset', (name) => {
    expect(loadConfig({ [name]: '' })).toEqual(unset);
    expect(loadConfig({ [name]: ' \t ' })).toEqual(unset);
  });

  it('all of them empty at once is the default config', () => {
    expect(loadConfig(Object.fromEntries(VARS.map((v) => [v, ''])))).toEqual(unset);
  });

  it('an empty key is no key: a non-loopback bind is still refused, an empty webhook secret still required', () => {
    expect(() => refuseOpenBind(loadConfig({ WHATSAPP_MCP_HOST: '0.0.0.0', WHATSAPP_API_KEY: '' }), false)).toThrow(/^Refusing to bind WHATSAPP_MCP_HOST=0.0.0.0 without an API key/);
    expect(() => refuseOpenBind(loadConfig({ WHATSAPP_MCP_HOST: '0.0.0.0', WHATSAPP_API_KEY: '  ' }), false)).toThrow(/^Refusing to bind/);
    expect(() => loadConfig({ WHATSAPP_WEBHOOK_URL: 'https://hooks.example/in', WHATSAPP_WEBHOOK_SECRET: '' })).toThrow(/without WHATSAPP_WEBHOOK_SECRET/);
    expect(loadConfig({ WHATSAPP_MCP_HOST: '', WHATSAPP_CORS_ORIGINS: '', WHATSAPP_ENGINE: '' })).toMatchObject({ host: '127.0.0.1', corsOrigins: [], engine: 'wwebjs' });
  });

  it('the CLI with WHATSAPP_ENGINE= starts the default engine', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-empty-env-'));
    const env = { ...process.env, WHATSAPP_ENGINE: '', WHATSAPP_MCP_HOST: '', WHATSAPP_HEADLESS: '', LOG_LEVEL: '', WHATSAPP_MCP_PORT: '0', WHATSAPP_AUTH_DIR: path.join(dir, 'auth'), WHATSAPP_DATA_DIR: path.join(dir, 'data') };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const listening = await new Promise<{ url: string; engine: string }>((resolve, reject) => {
        const lines: string[] = [];
        readline.createInterface({ input: child.stderr }).on('line', (line) => {
          lines.push(line);
          if (line.includes('"url"')) resolve(JSON.parse(line));
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
      });
      expect(listening.engine).toBe('wwebjs');
      expect((await fetch(`${listening.url}/health`)).status).toBe(200);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('a non-loopback bind at startup', () => {
  const status = (port: number, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/api/status`, { headers }).then((r) => r.status);

  it('is refused with no key at all, and starts once a stored key exists; revoking the last one does not open it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bind-'));
    await expect(startTestServer({ WHATSAPP_MCP_HOST: '0.0.0.0' }, {}, root)).rejects.toThrow(/^Refusing to bind WHATSAPP_MCP_HOST=0\.0\.0\.0 without an API key/);
    // A key of any scope closes the server to keyless requests; this one can read only.
    const db = openAccessDb(path.join(root, 'data', ACCESS_DB_FILE));
    const key = new KeyService(db).create({ name: 'reader', scopes: ['read'] }).key;
    db.close();
    // Same directories: the refused start let go of its locks.
    const srv = await startTestServer({ WHATSAPP_MCP_HOST: '0.0.0.0' }, {}, root);
    try {
      const port = Number(new URL(srv.url).port);
      expect(await status(port)).toBe(401);
      expect(await status(port, { authorization: `Bearer ${key}` })).toBe(200);
      expect(srv.app.services.keys.revoke('reader')).toBe(true);
      // On loopback this would be the open "no keys" server; here nothing gets in.
      expect(await status(port)).toBe(401);
      expect(await status(port, { authorization: `Bearer ${key}` })).toBe(401);
    } finally {
      await srv.close();
    }
  });
});

describe('docs', () => {
  it('README documents every option with its variable and flag', async () => {
    const fs = await import('node:fs');
    const readme = fs.readFileSync('README.md', 'utf8');
    for (const o of OPTIONS) {
      expect(readme, o.env).toContain(`| \`${o.env}\` | \`${o.flag}\``);
    }
  });
});
