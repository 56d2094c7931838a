// The accounts of this server, by id: their runtimes, and the list that brings them back after a restart
// (<data>/accounts.json: id, engine, created_at). `default` is always there and is not in the file: it is the
// single-account server of earlier versions, on the engine WHATSAPP_ENGINE names.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';
import { ENGINE_NAMES, type EngineName } from '../domain.js';
import { AppError } from '../errors.js';
import { writePrivateFile } from '../fs-private.js';
import { InstanceLockedError } from '../instance-lock.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/operation.js';
import { DEFAULT_ACCOUNT, accountConfig, unknownAccount } from './layout.js';

export const ACCOUNTS_FILE = 'accounts.json';

const RecordSchema = z.object({ id: z.string(), engine: z.enum(ENGINE_NAMES), created_at: z.number().int() });
const FileSchema = z.object({ version: z.literal(1), accounts: z.array(RecordSchema) });
export type AccountRecord = z.infer<typeof RecordSchema>;

/** Builds a runtime for an account on its own directories (runtime.ts); the registry decides when. */
export type RuntimeFactory = (id: string, config: Readonly<Config>) => Promise<Services>;

interface Entry {
  record: AccountRecord | null;
  runtime: Services;
}

export class AccountRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Ids being added or removed right now: a second call for one of them is a conflict, not a race. */
  private readonly busy = new Set<string>();
  private readonly file: string;
  private readonly removedHooks: Array<(id: string) => void> = [];
  private started = false;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
    private build: RuntimeFactory = () => Promise.reject(new Error('no runtime factory')),
  ) {
    this.file = path.join(config.dataDir, ACCOUNTS_FILE);
  }

  /** Set once the shared parts exist (they hold the registry, the factory needs them). */
  setFactory(build: RuntimeFactory): void {
    this.build = build;
  }

  /** Told when an account is removed (the MCP door closes its sessions). */
  onRemoved(hook: (id: string) => void): void {
    this.removedHooks.push(hook);
  }

  addDefault(runtime: Services): void {
    this.entries.set(DEFAULT_ACCOUNT, { record: null, runtime });
  }

  /** Build every account the file lists. A failure names the account and undoes the ones built. */
  async restore(): Promise<void> {
    for (const record of this.readFile()) {
      try {
        const runtime = await this.build(record.id, accountConfig(this.config, record.id, record.engine));
        this.entries.set(record.id, { record, runtime });
      } catch (err) {
        throw new Error(`account ${record.id} (${ACCOUNTS_FILE}) could not be opened: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  }

  get(id: string): Services | undefined {
    return this.entries.get(id)?.runtime;
  }

  /** The account's runtime, or 404 naming it. */
  require(id: string): Services {
    const runtime = this.get(id);
    if (!runtime) throw unknownAccount(id);
    return runtime;
  }

  list(): Array<{ id: string; engine: EngineName; created_at: number | null; runtime: Services }> {
    return [...this.entries].map(([id, e]) => ({ id, engine: e.runtime.config.engine, created_at: e.record?.created_at ?? null, runtime: e.runtime }));
  }

  createdAt(id: string): number | null {
    return this.entries.get(id)?.record?.created_at ?? null;
  }

  async create(id: string, engine: EngineName | undefined): Promise<Services> {
    if (this.entries.has(id) || this.busy.has(id)) throw new AppError('conflict', `Account ${JSON.stringify(id)} already exists`, { details: { account: id } });
    this.busy.add(id);
    try {
      const record: AccountRecord = { id, engine: engine ?? this.config.engine, created_at: Date.now() };
      let runtime: Services;
      try {
        runtime = await this.build(id, accountConfig(this.config, id, record.engine));
      } catch (err) {
        // Another process holds its directories (a server on a data dir this one also uses): not a bug of ours.
        if (err instanceof InstanceLockedError) throw new AppError('conflict', err.message, { details: { account: id } });
        throw err;
      }
      this.entries.set(id, { record, runtime });
      this.writeFile();
      if (this.started) runtime.start();
      this.logger.info({ account: id, engine: record.engine }, 'account added');
      return runtime;
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * Log the account out, stop it and forget it; its files go too unless `keepData` (then its store stays for an
   * account of the same id later). Returns whether WhatsApp confirmed the logout.
   */
  async remove(id: string, keepData: boolean): Promise<{ loggedOut: boolean }> {
    if (id === DEFAULT_ACCOUNT) {
      throw new AppError('conflict', 'The default account cannot be deleted', { hint: 'Unlink it with POST /api/logout; it stays, serving /api/* and /mcp.', details: { account: id } });
    }
    const entry = this.entries.get(id);
    if (!entry || this.busy.has(id)) throw unknownAccount(id);
    this.busy.add(id);
    try {
      const { runtime } = entry;
      let loggedOut = false;
      try {
        await runtime.engine.logout();
        loggedOut = true;
      } catch (err) {
        // The session files go anyway; the phone may still list the device until it is removed there.
        this.logger.warn({ account: id, err: err instanceof Error ? err.message : String(err) }, 'logout failed while deleting the account');
      }
      this.entries.delete(id);
      this.writeFile();
      for (const hook of this.removedHooks) hook(id);
      await runtime.close();
      const { dataDir, authDir } = runtime.config;
      // One directory for both (WHATSAPP_AUTH_DIR = WHATSAPP_DATA_DIR): only the session in it is the auth part.
      await fs.promises.rm(authDir === dataDir ? path.join(authDir, 'session-default') : authDir, { recursive: true, force: true });
      if (!keepData) await fs.promises.rm(dataDir, { recursive: true, force: true });
      this.logger.info({ account: id, kept_data: keepData }, 'account removed');
      return { loggedOut };
    } finally {
      this.busy.delete(id);
    }
  }

  /** Start every account but the default (whose start is the server's, app.ts); accounts added later start at once. */
  startOthers(): void {
    this.started = true;
    for (const [id, { runtime }] of this.entries) if (id !== DEFAULT_ACCOUNT) runtime.start();
  }

  /** Close every account but the default, whose close is the server's (app.ts closes it after these). */
  async closeOthers(): Promise<void> {
    const others = [...this.entries].filter(([id]) => id !== DEFAULT_ACCOUNT).map(([, e]) => e.runtime);
    await Promise.all(others.map((r) => r.close()));
  }

  private readFile(): AccountRecord[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parsed = FileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is not an accounts list this version reads: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data.accounts;
  }

  private writeFile(): void {
    const accounts = [...this.entries.values()].flatMap((e) => (e.record ? [e.record] : []));
    writePrivateFile(this.file, `${JSON.stringify({ version: 1, accounts }, null, 2)}\n`);
  }
}
