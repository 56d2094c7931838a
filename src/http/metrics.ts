// GET /metrics: Prometheus text (prom-client). The per-request counters are plain numbers (RequestMetrics) that
// prom-client formats at scrape; everything that lives in a store (outbox depth, dead letters, webhook lag, index
// lag) is read at scrape time, for every account.
import fs from 'node:fs';
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { ENGINE_STATES } from '../domain.js';
import { receiverLabel } from '../events/receiver-label.js';
import type { Statement } from 'better-sqlite3';
import type { Services } from '../operations/operation.js';

/** The route label of a request that matched nothing: raw URLs never become labels (one series per typo). */
export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS']);
const SEND_OUTCOMES = new Map([['outbox.queued', 'queued'], ['outbox.sent', 'sent'], ['outbox.failed', 'failed']]);

let processRegistry: Registry | null = null;

/** Event-loop lag, memory, GC, handles: one set per process, however many servers it runs (tests run many). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    // The event-loop lag monitor samples on a timer: prom-client's 10 ms default woke an idle server ~100 times a
    // second (97 of its ~100 wakeups/s, bench:accounts); 100 ms still catches any stall that matters to a caller.
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 100 });
  }
  return processRegistry;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30];

interface RequestSeries {
  labels: { route: string; method: string; status: string };
  count: number;
  sum: number;
  /** Per bucket (not cumulative); the last one is +Inf. */
  buckets: Float64Array;
}

/**
 * HTTP requests, counted on every request. Not prom-client's Counter and Histogram: they validate and hash the
 * label set on every call, even through a `.labels()` child, which cost ~10 µs of a ~60 µs GET /api/status. Here a
 * request is a Map lookup and three additions; prom-client only formats the result at scrape time.
 */
class RequestMetrics {
  /** route → method → status: three lookups and no string built per request. */
  private readonly byRoute = new Map<string, Map<string, Map<number, RequestSeries>>>();
  private readonly series: RequestSeries[] = [];

  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (!s) {
      s = { labels: { route, method, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) };
      byStatus.set(status, s);
      this.series.push(s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i]!++;
  }

  /** The two metrics as prom-client's registry reads them (its Metric interface: name, help, type, get()). */
  metrics(): Metric[] {
    const all = () => this.series;
    const counter = {
      name: 'whatsapp_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      type: 'counter',
      get: () => ({ name: counter.name, help: counter.help, type: counter.type, values: all().map((s) => ({ labels: s.labels, value: s.count })) }),
    };
    const histogram = {
      name: 'whatsapp_http_request_duration_seconds',
      help: 'HTTP request latency (until the response is finished or the client leaves; streams count their whole life)',
      type: 'histogram',
      get: () => ({
        name: histogram.name,
        help: histogram.help,
        type: histogram.type,
        values: all().flatMap((s) => {
          let cumulative = 0;
          const buckets = [...BUCKETS, '+Inf' as const].map((le, i) => {
            cumulative += s.buckets[i]!;
            return { metricName: `${histogram.name}_bucket`, labels: { le, ...s.labels }, value: cumulative };
          });
          return [...buckets, { metricName: `${histogram.name}_sum`, labels: s.labels, value: s.sum }, { metricName: `${histogram.name}_count`, labels: s.labels, value: s.count }];
        }),
      }),
    };
    return [counter, histogram] as unknown as Metric[];
  }
}

/** The route whose POST adds an account (the accounts API): after it, the new account's counters start. */

/** What is counted per account as it happens (the rest is read at scrape). Plain numbers, formatted at scrape. */
interface AccountCounts {
  runtime: Services;
  unsubscribe: () => void;
  sends: Map<string, number>;
  events: Map<string, number>;
}

/**
 * Every metric that is about an account carries an `account` label, and every account has its series: the registry
 * is walked at each scrape (accounts added or deleted at run time appear and go), its counters are fed by each
 * account's event bus from when it is added (registry onAdded) or, for those restored at start, from the start. Cardinality:
 * accounts × (engine states, outbox states, event types, tools, webhook URLs), all bounded; request metrics keep only
 * the route template (/api/accounts/{account}/...), never an id.
 */
export class Metrics {
  private readonly registry = new Registry();
  private readonly requests = new RequestMetrics();
  /** account → tool → [ok, error]. */
  private readonly toolCalls = new Map<string, Map<string, [number, number]>>();
  private readonly counts = new Map<string, AccountCounts>();
  private closed = false;

  constructor(private readonly services: Services) {
    processMetrics(); // from the start, so GC and event-loop lag cover the time before the first scrape
    const registers = [this.registry];
    for (const metric of this.requests.metrics()) this.registry.registerMetric(metric);
    const self = this;
    new Counter({
      name: 'whatsapp_mcp_tool_calls_total',
      help: 'MCP tools/call by account, tool and outcome (ok, error)',
      labelNames: ['account', 'tool', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [account, tools] of self.toolCalls) {
          for (const [tool, [ok, error]] of tools) {
            this.inc({ account, tool, outcome: 'ok' }, ok);
            this.inc({ account, tool, outcome: 'error' }, error);
          }
        }
      },
    });
    new Counter({
      name: 'whatsapp_sends_total',
      help: 'Outbox outcomes by account: queued, sent, failed (texts, media, reactions, edits, deletes)',
      labelNames: ['account', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [account, c] of self.counts) for (const outcome of SEND_OUTCOMES.values()) this.inc({ account, outcome }, c.sends.get(outcome) ?? 0);
      },
    });
    new Counter({
      name: 'whatsapp_events_total',
      help: 'Events recorded in the event log, by account and type',
      labelNames: ['account', 'type'],
      registers,
      collect() {
        this.reset();
        for (const [account, c] of self.counts) for (const [type, n] of c.events) this.inc({ account, type }, n);
      },
    });
    this.defineScrapeGauges(registers);
    this.syncAccounts();
    services.accounts.onRemoved((id) => this.forget(id));
    // Counting starts when the account exists, not at the first scrape or request after it.
    services.accounts.onAdded(() => this.syncAccounts());
  }

  /** Called once per finished request. `route` is a template ("/api/chats/{chat_id}") or a page path. */
  observeRequest(route: string, method: string | undefined, status: number, seconds: number): void {
    this.requests.observe(route, method !== undefined && METHODS.has(method) ? method : 'other', status, seconds);
  }

  readonly toolCall = (tool: string, ok: boolean, account: string = this.services.account): void => {
    // A call on an account not seen yet (made just now) or gone (a deleted account's last call): no stray series.
    if (!this.counts.has(account)) this.syncAccounts();
    if (!this.counts.has(account)) return;
    let tools = this.toolCalls.get(account);
    if (!tools) this.toolCalls.set(account, (tools = new Map()));
    let n = tools.get(tool);
    if (!n) tools.set(tool, (n = [0, 0]));
    n[ok ? 0 : 1]++;
  };

  get contentType(): string {
    return this.registry.contentType;
  }

  async scrape(): Promise<string> {
    this.syncAccounts();
    return `${await processMetrics().metrics()}\n${await this.registry.metrics()}`;
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.counts.keys()]) this.forget(id);
  }

  /** Start counting for accounts not seen yet (or re-created under an id seen before); drop the gone ones. */
  private syncAccounts(): void {
    if (this.closed) return;
    const present = new Set<string>();
    for (const { id, runtime } of this.services.accounts.list()) {
      present.add(id);
      const known = this.counts.get(id);
      if (known?.runtime === runtime) continue;
      if (known) this.forget(id);
      const c: AccountCounts = { runtime, unsubscribe: () => undefined, sends: new Map(), events: new Map() };
      // Outcomes are counted as the event log commits them: every send path (REST, MCP, queue drain, expiry) ends there.
      c.unsubscribe = runtime.events.bus.onEvent((event) => {
        c.events.set(event.type, (c.events.get(event.type) ?? 0) + 1);
        const outcome = SEND_OUTCOMES.get(event.type);
        if (outcome) c.sends.set(outcome, (c.sends.get(outcome) ?? 0) + 1);
      });
      this.counts.set(id, c);
    }
    for (const id of this.counts.keys()) if (!present.has(id)) this.forget(id);
  }

  private forget(id: string): void {
    this.counts.get(id)?.unsubscribe();
    this.counts.delete(id);
    this.toolCalls.delete(id);
  }

  private defineScrapeGauges(registers: Registry[]): void {
    const reads = new WeakMap<Services, AccountReads>();
    // Prepared once per account runtime (a re-created account is a new runtime, with a new store).
    const readsOf = (runtime: Services) => {
      let r = reads.get(runtime);
      if (!r) reads.set(runtime, (r = accountReads(runtime)));
      return r;
    };
    const each = (read: (account: string, runtime: Services, r: AccountReads) => void) => {
      for (const [account, { runtime }] of this.counts) {
        try {
          read(account, runtime, readsOf(runtime));
        } catch {
          // The store is closing (a scrape during shutdown, an account being deleted): leave its series out.
        }
      }
    };
    new Gauge({
      name: 'whatsapp_engine_state',
      help: 'The engine state of each account: 1 for the current one, 0 for the others',
      labelNames: ['account', 'engine', 'state'],
      registers,
      collect() {
        this.reset();
        each((account, runtime) => {
          const s = runtime.engine.status();
          for (const state of ENGINE_STATES) this.set({ account, engine: s.engine, state }, state === s.state ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'whatsapp_outbox_depth',
      help: 'Sends waiting in the outbox, by account and state (queued: not yet attempted; sending: being attempted)',
      labelNames: ['account', 'state'],
      registers,
      collect() {
        this.reset();
        each((account, _runtime, r) => {
          const n = new Map((r.openRows.all() as Array<{ state: string; n: number }>).map((row) => [row.state, row.n]));
          for (const state of ['queued', 'sending']) this.set({ account, state }, n.get(state) ?? 0);
        });
      },
    });
    new Gauge({
      name: 'whatsapp_webhook_dead_letters',
      help: 'Webhook dead letters kept (30 days), by account and receiver (url: scheme://host:port#<first 8 hex of the sha256 of the whole URL>; never its path, query or credentials)',
      labelNames: ['account', 'url'],
      registers,
      collect() {
        this.reset();
        each((account, runtime, r) => {
          for (const url of runtime.events.webhooks.urls()) this.set({ account, url: receiverLabel(url) }, 0);
          for (const row of r.deadRows.all() as Array<{ url: string; n: number }>) this.inc({ account, url: receiverLabel(row.url) }, row.n);
        });
      },
    });
    new Gauge({
      name: 'whatsapp_webhook_lag_events',
      help: 'Event-log cursors between the newest event and what a receiver has been given, by account and receiver (url as in whatsapp_webhook_dead_letters; progress is saved every 250 ms; counts events its filter skips)',
      labelNames: ['account', 'url'],
      registers,
      collect() {
        this.reset();
        each((account, runtime, r) => {
          // The server's URLs and the account's own (PATCH /api/accounts/{id}): every lane that runs now.
          const configured = new Set(runtime.events.webhooks.urls());
          const head = runtime.events.log.latestCursor();
          for (const row of r.laneRows.all() as Array<{ url: string; delivered: number }>) {
            if (configured.has(row.url)) this.inc({ account, url: receiverLabel(row.url) }, Math.max(0, head - row.delivered));
          }
        });
      },
    });
    new Gauge({
      name: 'whatsapp_store_index_lag_messages',
      help: 'Messages stored but not yet in the search index, by account',
      labelNames: ['account'],
      registers,
      collect() {
        this.reset();
        each((account, runtime) => this.set({ account }, runtime.store.pendingIndexCount()));
      },
    });
    new Gauge({
      name: 'whatsapp_store_bytes',
      help: 'Size of each account’s SQLite store on disk (database file plus its write-ahead log)',
      labelNames: ['account'],
      registers,
      collect() {
        this.reset();
        each((account, runtime) => {
          const { db } = runtime.store;
          this.set({ account }, db.memory ? 0 : fileSize(db.name) + fileSize(`${db.name}-wal`));
        });
      },
    });
  }
}

interface AccountReads {
  openRows: Statement;
  deadRows: Statement;
  laneRows: Statement;
}

function accountReads(runtime: Services): AccountReads {
  const { db } = runtime.store;
  return {
    // The partial index outbox_open covers exactly these two states, so this is an index count, not a table scan.
    openRows: db.prepare("SELECT state, count(*) AS n FROM outbox WHERE state IN ('queued', 'sending') GROUP BY state"),
    deadRows: db.prepare('SELECT url, count(*) AS n FROM webhook_dead_letters GROUP BY url'),
    laneRows: db.prepare('SELECT url, delivered_cursor AS delivered FROM webhook_lanes'),
  };
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
