// GET /metrics: Prometheus text (prom-client). The per-request counters are plain numbers (RequestMetrics) that
// prom-client formats at scrape; everything that lives in the store (outbox depth, dead letters, webhook lag, index
// lag) is read at scrape time.
import fs from 'node:fs';
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { ENGINE_STATES } from '../domain.js';
import type { Services } from '../operations/operation.js';

export type MetricsSources = Pick<Services, 'engine' | 'store' | 'events' | 'config'>;

/** The route label of a request that matched nothing: raw URLs never become labels (one series per typo). */
export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS']);
const SEND_OUTCOMES = new Map([['outbox.queued', 'queued'], ['outbox.sent', 'sent'], ['outbox.failed', 'failed']]);

let processRegistry: Registry | null = null;

/** Event-loop lag, memory, GC, handles: one set per process, however many servers it runs (tests run many). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
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

export class Metrics {
  private readonly registry = new Registry();
  private readonly requests = new RequestMetrics();
  private readonly toolCalls: Counter<'tool' | 'outcome'>;
  private readonly sends: Counter<'outcome'>;
  private readonly events: Counter<'type'>;
  private readonly unsubscribe: () => void;

  constructor(private readonly sources: MetricsSources) {
    processMetrics(); // from the start, so GC and event-loop lag cover the time before the first scrape
    const registers = [this.registry];
    for (const metric of this.requests.metrics()) this.registry.registerMetric(metric);
    this.toolCalls = new Counter({ name: 'whatsapp_mcp_tool_calls_total', help: 'MCP tools/call by tool and outcome (ok, error)', labelNames: ['tool', 'outcome'], registers });
    this.sends = new Counter({ name: 'whatsapp_sends_total', help: 'Outbox outcomes: queued, sent, failed (texts, media, reactions, edits, deletes)', labelNames: ['outcome'], registers });
    this.events = new Counter({ name: 'whatsapp_events_total', help: 'Events recorded in the event log, by type', labelNames: ['type'], registers });
    for (const outcome of SEND_OUTCOMES.values()) this.sends.inc({ outcome }, 0);
    // Outcomes are counted as the event log commits them: every send path (REST, MCP, queue drain, expiry) ends there.
    this.unsubscribe = sources.events.bus.onEvent((event) => {
      this.events.inc({ type: event.type });
      const outcome = SEND_OUTCOMES.get(event.type);
      if (outcome) this.sends.inc({ outcome });
    });
    this.defineScrapeGauges(registers);
  }

  /** Called once per finished request. `route` is a template ("/api/chats/{chat_id}") or a page path. */
  observeRequest(route: string, method: string | undefined, status: number, seconds: number): void {
    this.requests.observe(route, method !== undefined && METHODS.has(method) ? method : 'other', status, seconds);
  }

  readonly toolCall = (tool: string, ok: boolean): void => {
    this.toolCalls.inc({ tool, outcome: ok ? 'ok' : 'error' });
  };

  get contentType(): string {
    return this.registry.contentType;
  }

  async scrape(): Promise<string> {
    return `${await processMetrics().metrics()}\n${await this.registry.metrics()}`;
  }

  close(): void {
    this.unsubscribe();
  }

  private defineScrapeGauges(registers: Registry[]): void {
    const { engine, store, events, config } = this.sources;
    const db = store.db;
    // The partial index outbox_open covers exactly these two states, so this is an index count, not a table scan.
    const openRows = db.prepare("SELECT state, count(*) AS n FROM outbox WHERE state IN ('queued', 'sending') GROUP BY state");
    const deadRows = db.prepare('SELECT url, count(*) AS n FROM webhook_dead_letters GROUP BY url');
    const laneRows = db.prepare('SELECT url, delivered_cursor AS delivered FROM webhook_lanes');
    const quietly = (read: () => void) => {
      try {
        read();
      } catch {
        // The store is closing (a scrape during shutdown): leave the gauge as it was.
      }
    };
    new Gauge({
      name: 'whatsapp_engine_state',
      help: 'The engine state: 1 for the current one, 0 for the others',
      labelNames: ['engine', 'state'],
      registers,
      collect() {
        const s = engine.status();
        this.reset();
        for (const state of ENGINE_STATES) this.set({ engine: s.engine, state }, state === s.state ? 1 : 0);
      },
    });
    new Gauge({
      name: 'whatsapp_outbox_depth',
      help: 'Sends waiting in the outbox, by state (queued: not yet attempted; sending: being attempted)',
      labelNames: ['state'],
      registers,
      collect() {
        quietly(() => {
          const n = new Map((openRows.all() as Array<{ state: string; n: number }>).map((r) => [r.state, r.n]));
          for (const state of ['queued', 'sending']) this.set({ state }, n.get(state) ?? 0);
        });
      },
    });
    new Gauge({
      name: 'whatsapp_webhook_dead_letters',
      help: 'Webhook dead letters kept (30 days), by receiver (scheme, host and path: no query string, no credentials)',
      labelNames: ['url'],
      registers,
      collect() {
        quietly(() => {
          this.reset();
          for (const url of config.webhookUrls) this.set({ url: safeUrl(url) }, 0);
          for (const r of deadRows.all() as Array<{ url: string; n: number }>) this.inc({ url: safeUrl(r.url) }, r.n);
        });
      },
    });
    new Gauge({
      name: 'whatsapp_webhook_lag_events',
      help: 'Event-log cursors between the newest event and what a receiver has been given (progress is saved every 250 ms; counts events its filter skips)',
      labelNames: ['url'],
      registers,
      collect() {
        quietly(() => {
          this.reset();
          const configured = new Set(config.webhookUrls);
          const head = events.log.latestCursor();
          for (const r of laneRows.all() as Array<{ url: string; delivered: number }>) {
            if (configured.has(r.url)) this.inc({ url: safeUrl(r.url) }, Math.max(0, head - r.delivered));
          }
        });
      },
    });
    new Gauge({
      name: 'whatsapp_store_index_lag_messages',
      help: 'Messages stored but not yet in the search index',
      registers,
      collect() {
        quietly(() => this.set(store.pendingIndexCount()));
      },
    });
    new Gauge({
      name: 'whatsapp_store_bytes',
      help: 'Size of the SQLite store on disk (database file plus its write-ahead log)',
      registers,
      collect() {
        if (db.memory) return this.set(0);
        this.set(fileSize(db.name) + fileSize(`${db.name}-wal`));
      },
    });
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** A webhook URL as a label: tokens in its query string or user info stay out of the metrics. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'invalid';
  }
}
