// The accounts of this server, by id: their runtimes, and the list that brings them back after a restart
// (<data>/accounts.json: id, engine, created_at, webhooks). `default` is always there and is not in the list: it is
// the single-account server of earlier versions, on the engine WHATSAPP_ENGINE names; its own settings (webhooks)
// are the file's `default` field.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Config, httpUrl } from '../config.js';
import { ENGINE_NAMES, type EngineName } from '../domain.js';
import { AppError } from '../errors.js';
import { parseTypeFilter } from '../events/types.js';
import { writePrivateFile } from '../fs-private.js';
import { InstanceLockedError } from '../instance-lock.js';
import type { Logger } from '../logger.js';
import type { Services } from '../operations/operation.js';
import { DEFAULT_ACCOUNT, accountConfig, accountIdSchema, unknownAccount } from './layout.js';

export const ACCOUNTS_FILE = 'accounts.json';

/** Accounts restore() builds at once at start: 20 one after the other held /health back 2.4 s against 1.1 s. */
export const RESTORE_CONCURRENCY = 4;

/** Per account, besides the server's WHATSAPP_WEBHOOK_URL ones: each its own lane, as many as there are accounts. */
export const MAX_ACCOUNT_WEBHOOKS = 10;

/** An account's own webhooks: the rules of WHATSAPP_WEBHOOK_URL and WHATSAPP_WEBHOOK_EVENTS, for the API and the file. */
export const AccountWebhooksSchema = z.object({
  urls: z
    .array(httpUrl('must be an http:// or https:// URL'))
    .max(MAX_ACCOUNT_WEBHOOKS, `at most ${MAX_ACCOUNT_WEBHOOKS} URLs per account`)
    .refine((urls) => new Set(urls).size === urls.length, 'lists a URL twice')
    .describe(`Where this account's events are POSTed besides WHATSAPP_WEBHOOK_URL (http(s), at most ${MAX_ACCOUNT_WEBHOOKS}; [] removes them)`),
  events: z
    .array(z.string())
    .check((ctx) => {
      try {
        parseTypeFilter(ctx.value);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message, input: ctx.value });
      }
    })
    .default([])
    .describe('Event types for these URLs: types or prefixes like message.*; [] or absent: every type'),
});
export type AccountWebhooks = z.output<typeof AccountWebhooksSchema>;

// id: the rule of today; a file with an id an earlier version took (`-x`) refuses the start, naming the entry.
const RecordSchema = z.object({ id: accountIdSchema, engine: z.enum(ENGINE_NAMES), created_at: z.number().int(), webhooks: AccountWebhooksSchema.optional() });
// Still version 1: `webhooks` and `default` are optional additions, and an older version reading this file ignores
// them (zod drops unknown keys), so a downgrade starts, without the per-account webhooks.
const FileSchema = z.object({
  version: z.literal(1),
  accounts: z.array(RecordSchema),
  default: z.object({ webhooks: AccountWebhooksSchema.optional() }).optional(),
});
export type AccountRecord = z.infer<typeof RecordSchema>;
type AccountsFile = z.infer<typeof FileSchema>;

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
  private readonly addedHooks: Array<(id: string) => void> = [];
  /**
   * Each account's own webhooks, the default's too; known before its runtime is built, which starts delivery with
   * them (so retention never runs with a stored lane left out).
   */
  private readonly webhooks = new Map<string, AccountWebhooks>();
  private readonly stored: AccountsFile;
  private started = false;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly logger: Logger,
    private build: RuntimeFactory = () => Promise.reject(new Error('no runtime factory')),
  ) {
    this.file = path.join(config.dataDir, ACCOUNTS_FILE);
    // Read here, before any runtime: the default account's is built before restore().
    this.stored = this.readFile();
    if (this.stored.default?.webhooks) this.webhooks.set(DEFAULT_ACCOUNT, this.stored.default.webhooks);
    for (const r of this.stored.accounts) if (r.webhooks) this.webhooks.set(r.id, r.webhooks);
    const unsigned = [...this.webhooks].find(([, w]) => w.urls.length > 0 && !this.signs());
    if (unsigned) {
      throw new Error(
        `${this.file} gives account ${unsigned[0]} webhook URLs, but WHATSAPP_WEBHOOK_SECRET is not set: receivers could not tell our events from forged ones. Set a secret (16+ characters), or WHATSAPP_WEBHOOK_ALLOW_UNSIGNED=true`,
      );
    }
  }

  /** Set once the shared parts exist (they hold the registry, the factory needs them). */
  setFactory(build: RuntimeFactory): void {
    this.build = build;
  }

  /** Told when an account is removed (the MCP door closes its sessions). */
  onRemoved(hook: (id: string) => void): void {
    this.removedHooks.push(hook);
  }

  /** Told when an account is added, before it starts (metrics count its events from the first one). */
  onAdded(hook: (id: string) => void): void {
    this.addedHooks.push(hook);
  }

  addDefault(runtime: Services): void {
    this.entries.set(DEFAULT_ACCOUNT, { record: null, runtime });
  }

  /**
   * Build every account the file lists, RESTORE_CONCURRENCY at a time (a build mostly waits: the engine's module,
   * its files), listed in the file's order. A failure names the account and undoes the ones built: it waits for the
   * builds under way, closes every runtime built and lists none.
   */
  async restore(): Promise<void> {
    const records = this.stored.accounts;
    const built: Array<Services | undefined> = [];
    let failure: Error | null = null;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (failure === null && next < records.length) {
        const i = next++;
        const record = records[i]!;
        try {
          built[i] = await this.build(record.id, accountConfig(this.config, record.id, record.engine));
        } catch (err) {
          failure ??= new Error(`account ${record.id} (${ACCOUNTS_FILE}) could not be opened: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RESTORE_CONCURRENCY, records.length) }, lane));
    if (failure) {
      await Promise.allSettled(built.flatMap((r) => (r ? [r.close()] : [])));
      throw failure;
    }
    records.forEach((record, i) => this.entries.set(record.id, { record, runtime: built[i]! }));
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

  /** The account's own webhooks (none: `{urls: [], events: []}`); the server's are in the config. */
  webhooksOf(id: string): AccountWebhooks {
    return this.webhooks.get(id) ?? { urls: [], events: [] };
  }

  async create(id: string, engine: EngineName | undefined, webhooks?: AccountWebhooks): Promise<Services> {
    if (this.entries.has(id) || this.busy.has(id)) throw new AppError('conflict', `Account ${JSON.stringify(id)} already exists`, { details: { account: id } });
    if (webhooks) this.requireSigning(webhooks);
    this.busy.add(id);
    try {
      const record: AccountRecord = { id, engine: engine ?? this.config.engine, created_at: Date.now() };
      let runtime: Services;
      // Before the build: its event service starts delivering to them.
      if (webhooks) this.webhooks.set(id, webhooks);
      try {
        runtime = await this.build(id, accountConfig(this.config, id, record.engine));
      } catch (err) {
        this.webhooks.delete(id);
        // Another process holds its directories (a server on a data dir this one also uses): not a bug of ours.
        if (err instanceof InstanceLockedError) throw new AppError('conflict', err.message, { details: { account: id } });
        throw err;
      }
      this.entries.set(id, { record, runtime });
      this.writeFile();
      for (const hook of this.addedHooks) hook(id);
      if (this.started) runtime.start();
      this.logger.info({ account: id, engine: record.engine }, 'account added');
      return runtime;
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * Replace an account's own webhooks (the default's too), stored and live: resolves once the lanes of removed URLs
   * stopped. The server's (WHATSAPP_WEBHOOK_URL) stay as they are.
   */
  async setWebhooks(id: string, webhooks: AccountWebhooks): Promise<Services> {
    const entry = this.entries.get(id);
    if (!entry || this.busy.has(id)) throw unknownAccount(id);
    this.requireSigning(webhooks);
    this.webhooks.set(id, webhooks);
    // Stored first: what runs is never ahead of what a restart brings back. Changes of one account apply in call
    // order (the event service queues them), as the file's writes do.
    this.writeFile();
    await entry.runtime.events.setOwnWebhooks(webhooks.urls, webhooks.events);
    this.logger.info({ account: id, webhooks: webhooks.urls.length, events: webhooks.events }, 'account webhooks changed');
    return entry.runtime;
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
      this.webhooks.delete(id);
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

  /** The rule WHATSAPP_WEBHOOK_URL has at start (config.ts), for URLs set through the API: 400 with the way out. */
  private requireSigning(webhooks: AccountWebhooks): void {
    if (webhooks.urls.length === 0 || this.signs()) return;
    throw new AppError('invalid_input', 'webhooks.urls: webhook URLs need WHATSAPP_WEBHOOK_SECRET, or receivers could not tell our events from forged ones', {
      hint: 'Start the server with WHATSAPP_WEBHOOK_SECRET (16+ characters), or WHATSAPP_WEBHOOK_ALLOW_UNSIGNED=true to send them unsigned.',
      details: { field: 'webhooks.urls' },
    });
  }

  private signs(): boolean {
    return Boolean(this.config.webhookSecret) || this.config.webhookAllowUnsigned;
  }

  private readFile(): AccountsFile {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, accounts: [] };
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      // JSON.parse names neither the file nor what to do; a start refused over this file must say both.
      throw new Error(`${this.file} is not valid JSON (${(err as Error).message}): fix or remove it (it lists the accounts besides default)`, { cause: err });
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${this.file} is not an accounts list this version reads: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
    }
    return parsed.data;
  }

  private writeFile(): void {
    const own = (id: string) => {
      const w = this.webhooks.get(id);
      return w && (w.urls.length > 0 || w.events.length > 0) ? { webhooks: w } : {};
    };
    const accounts = [...this.entries.values()].flatMap(({ record: r }) => (r ? [{ id: r.id, engine: r.engine, created_at: r.created_at, ...own(r.id) }] : []));
    const defaults = own(DEFAULT_ACCOUNT);
    const file: AccountsFile = { version: 1, accounts, ...('webhooks' in defaults ? { default: defaults } : {}) };
    writePrivateFile(this.file, `${JSON.stringify(file, null, 2)}\n`);
  }
}
