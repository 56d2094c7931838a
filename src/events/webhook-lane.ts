// One webhook URL's delivery. Up to `concurrency` requests in flight, never two for the same chat, so one chat's
// events arrive in cursor order; with concurrency 1 (the default) every event does. A receiver 50 ms away takes
// ~20 events/s one at a time, and N times that with N in flight.
//
// Progress is a floor: every event up to it was delivered or dead-lettered. It is stored (at most every 250 ms), so
// a restart resumes there; events above the floor that were already done are sent again (at-least-once).
import { receiverLabel } from './receiver-label.js';
import type { EventRecord, TypeFilter } from './types.js';
import type { LaneState } from './webhook-store.js';
import type { WebhookDispatcher } from './webhooks.js';

/** A lane's progress is written at most this often: one commit per delivered event would be most of its cost. */
const PROGRESS_EVERY_MS = 250;
/** Events read from the log per turn of the reader. */
const PAGE = 200;
/** Events read ahead of the floor at most, per request in flight: one stuck chat must not pull the whole log in. */
const READ_AHEAD_PER_SLOT = 500;

/** The scheduling state of one run of the lane (a run ends at stop, or at a store failure and is started again). */
class Run {
  halted = false;
  failure: unknown = null;
  /** Cursors read and not yet passed by the floor, ascending; `head` indexes the first. */
  readonly order: number[] = [];
  head = 0;
  readonly finished = new Set<number>();
  readTo: number;
  readonly chatTail = new Map<string, Promise<void>>();
  readonly deliveries = new Set<Promise<void>>();
  active = 0;
  readonly slotWaiters: Array<() => void> = [];
  wakeReader: (() => void) | null = null;
  readonly sleepers = new Set<() => void>();

  constructor(readonly floorAtStart: number) {
    this.readTo = floorAtStart;
  }

  floor(): number {
    while (this.head < this.order.length && this.finished.delete(this.order[this.head]!)) this.head++;
    if (this.head > 1024) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    return this.head < this.order.length ? this.order[this.head]! - 1 : this.readTo;
  }

  unfinished(): number {
    return this.order.length - this.head;
  }

  halt(): void {
    this.halted = true;
    this.wakeReader?.();
    for (const wake of this.sleepers) wake();
    for (const next of this.slotWaiters.splice(0)) next();
  }
}

export class Lane {
  private stopped = false;
  private run: Run | null = null;
  private running: Promise<void> | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private unsaved: number | null = null;
  private readonly label: string;

  /**
   * `filter` may change while the lane runs (an account's webhook settings changed): it applies from the next page
   * read; events already read are delivered under the old one.
   */
  constructor(
    private readonly url: string,
    private readonly d: WebhookDispatcher,
    private readonly concurrency: number,
    public filter: TypeFilter,
  ) {
    // URLs can carry tokens in their path or query: logs name the receiver as /metrics does.
    this.label = receiverLabel(url);
  }

  start(head: number, failures = 0): void {
    const state = this.d.store.lane(this.url, head);
    const run = (this.run = new Run(state.delivered));
    this.running = this.read(run, state).catch((err: unknown) => {
      // A store error (disk full) must not end delivery for good, nor pin retention at this lane's floor: start again
      // from the stored state after a backoff.
      const delayMs = this.d.backoffMs(failures + 1);
      this.d.logger.error({ err, webhook: this.label, retry_in_ms: Math.round(delayMs) }, 'webhook lane failed; restarting');
      if (this.stopped) return;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.start(head, failures + 1);
      }, delayMs);
      this.restartTimer.unref();
    });
  }

  wake(): void {
    this.run?.wakeReader?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.run?.halt();
    await this.running;
    this.saveProgress();
  }

  private async read(run: Run, state: LaneState): Promise<void> {
    try {
      await this.readLoop(run, state);
    } catch (err) {
      run.failure ??= err;
    } finally {
      // Whatever ended the run, its deliveries end before a new run may start: never two runs on one URL.
      run.halt();
      await Promise.all(run.deliveries);
    }
    if (run.failure !== null && !this.stopped) throw run.failure;
  }

  private async readLoop(run: Run, state: LaneState): Promise<void> {
    const { log } = this.d;
    // Retries of the first event survive a restart (its attempts are stored while concurrency is 1).
    let resume: Pick<LaneState, 'attempts' | 'nextAttemptAt'> | null = this.concurrency === 1 ? state : null;
    while (!run.halted) {
      if (run.unfinished() >= READ_AHEAD_PER_SLOT * this.concurrency) {
        await this.idle(run);
        continue;
      }
      const { events, scanned } = log.after(run.readTo, PAGE, this.filter);
      if (events.length === 0 && scanned === run.readTo) {
        await this.idle(run);
        continue;
      }
      for (const event of events) {
        this.schedule(run, event, resume);
        resume = null;
      }
      // Filtered-out events up to `scanned` are passed too.
      run.readTo = scanned;
      this.progress(run.floor());
    }
  }

  private schedule(run: Run, event: EventRecord, resume: Pick<LaneState, 'attempts' | 'nextAttemptAt'> | null): void {
    run.order.push(event.cursor);
    // One chain per chat; with one slot, one chain for everything: a chat's second event must not queue behind
    // another chat's later one (first come first served slots would let it).
    const key = this.concurrency === 1 ? '' : (event.chat_id ?? '');
    const before = run.chatTail.get(key) ?? Promise.resolve();
    const delivery = before
      .then(() => this.slot(run))
      .then(async () => {
        try {
          if (run.halted) return;
          if (await this.deliver(run, event, resume)) {
            run.finished.add(event.cursor);
            this.progress(run.floor());
          }
        } finally {
          this.release(run);
        }
      })
      .catch((err: unknown) => {
        // A store failure: end this run; start() begins a new one from the stored floor.
        run.failure ??= err;
        run.halt();
      });
    run.chatTail.set(key, delivery);
    run.deliveries.add(delivery);
    void delivery.then(() => {
      run.deliveries.delete(delivery);
      if (run.chatTail.get(key) === delivery) run.chatTail.delete(key);
      run.wakeReader?.();
    });
  }

  /** Wait for one of the `concurrency` slots, first come first served. */
  private slot(run: Run): Promise<void> {
    if (run.active < this.concurrency || run.halted) {
      run.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => run.slotWaiters.push(() => resolve()));
  }

  private release(run: Run): void {
    const next = run.slotWaiters.shift();
    if (next) next(); // the slot passes on: active stays the same
    else run.active--;
  }

  /** Deliver or dead-letter one event; false when the run halted first (the event stays above the floor). */
  private async deliver(run: Run, event: EventRecord, resume: Pick<LaneState, 'attempts' | 'nextAttemptAt'> | null): Promise<boolean> {
    const { o, store } = this.d;
    const body = JSON.stringify(event);
    let attempts = resume?.attempts ?? 0;
    let nextAt = resume?.nextAttemptAt ?? null;
    // Behind by more than the retention (a receiver down for days): the event would be pruned before its turn.
    // Dead-letter it at once, so the lane catches up and the log can be pruned, and nothing vanishes unseen.
    if (o.retentionMs !== undefined && event.at < this.d.now() - o.retentionMs) {
      const hours = Math.round(o.retentionMs / 3_600_000);
      await this.deadLetter(run, event, body, attempts, null, `expired: not delivered within the event retention (${hours} h)`);
      return true;
    }
    for (;;) {
      if (nextAt !== null && nextAt > this.d.now()) await this.sleep(run, nextAt - this.d.now());
      if (run.halted) return false;
      const r = await this.d.attempt(this.url, event, body);
      attempts++;
      if (r.ok) return true;
      if (r.retry && attempts < o.maxAttempts) {
        nextAt = this.d.now() + this.d.backoffMs(attempts, r.retryAfterMs);
        if (this.concurrency === 1) {
          // Progress first, so after a restart the attempt count belongs to this event, not an earlier one.
          this.saveProgress();
          store.recordRetry(this.url, attempts, nextAt, r.error).catch((err: unknown) => this.storeFailed(err));
        }
        this.d.logger.warn({ webhook: this.label, cursor: event.cursor, attempts, error: r.error }, 'webhook delivery failed; will retry');
        continue;
      }
      await this.deadLetter(run, event, body, attempts, r.status, r.error);
      this.d.logger.warn({ webhook: this.label, cursor: event.cursor, attempts, error: r.error }, 'webhook delivery dead-lettered');
      return true;
    }
  }

  private async deadLetter(run: Run, event: EventRecord, body: string, attempts: number, status: number | null, error: string): Promise<void> {
    // The oldest unfinished event moves the stored floor past itself in the dead-letter transaction (no second dead
    // letter after a crash); a later one leaves the floor to progress().
    const isFloor = run.floor() === event.cursor - 1;
    if (isFloor) this.unsaved = null;
    await this.d.store.deadLetter(this.url, event, body, attempts, status, error, this.d.now(), isFloor);
  }

  /** Remember the floor; written to the store within PROGRESS_EVERY_MS. */
  private progress(floor: number): void {
    this.unsaved = floor;
    if (this.progressTimer) return;
    this.progressTimer = setTimeout(() => this.saveProgress(), PROGRESS_EVERY_MS);
    this.progressTimer.unref();
  }

  private saveProgress(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    if (this.unsaved === null) return;
    this.d.store.advance(this.url, this.unsaved).catch((err: unknown) => this.storeFailed(err));
    this.unsaved = null;
  }

  /** Progress that could not be written only means redeliveries after a restart (at-least-once): log it. */
  private storeFailed(err: unknown): void {
    this.d.logger.error({ err, webhook: this.label }, 'recording webhook progress failed');
  }

  /** Until a new event, a finished delivery (room to read ahead) or stop. */
  private idle(run: Run): Promise<void> {
    return new Promise((resolve) => {
      run.wakeReader = () => {
        run.wakeReader = null;
        resolve();
      };
      if (run.halted) run.wakeReader();
    });
  }

  /** A backoff: new events do not cut it short; stop does. */
  private sleep(run: Run, ms: number): Promise<void> {
    if (run.halted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        run.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      run.sleepers.add(done);
    });
  }
}
