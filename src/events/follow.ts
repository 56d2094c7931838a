// Following the log: replay what a client missed from SQLite, then switch to live events from the bus, with no gap
// and no duplicate. Used by the SSE stream and the long-poll tool.
import type { EventBus } from './event-bus.js';
import type { EventLog } from './event-log.js';
import type { EventRecord, TypeFilter } from './types.js';

export interface FollowOptions {
  /** Deliver events after this cursor. */
  after: number;
  filter?: TypeFilter;
  pageSize?: number;
}

/**
 * Why there is no gap: the switch from replay to live happens in the same synchronous turn as the last log read, and
 * the bus publishes only committed rows, so every event is either in that read or published after it. Events read
 * from the log may be published again a moment later (committed, not yet published): skipped by cursor.
 *
 * `write` returns false when the consumer is full (socket backpressure): the follower then stops taking live events
 * and, on resume(), catches up from the log instead of buffering in memory.
 */
export class EventFollower {
  private cursor: number;
  private mode: 'idle' | 'replay' | 'live' | 'paused' | 'stopped' = 'idle';
  private readonly off: () => void;

  constructor(
    private readonly log: EventLog,
    bus: EventBus,
    private readonly opts: FollowOptions,
    private readonly write: (event: EventRecord) => boolean,
  ) {
    this.cursor = opts.after;
    this.off = bus.onEvent((event) => this.onLive(event));
  }

  /** The last cursor looked at (delivered or filtered out). */
  get position(): number {
    return this.cursor;
  }

  start(): void {
    this.pump();
  }

  /** The consumer has room again (socket 'drain'). */
  resume(): void {
    if (this.mode === 'paused') this.pump();
  }

  stop(): void {
    this.mode = 'stopped';
    this.off();
  }

  private onLive(event: EventRecord): void {
    if (this.mode !== 'live' || event.cursor <= this.cursor) return;
    this.cursor = event.cursor;
    if (this.opts.filter && !this.opts.filter(event.type)) return;
    if (!this.write(event)) this.mode = this.mode === 'live' ? 'paused' : this.mode;
  }

  private pump(): void {
    this.mode = 'replay';
    const page = this.log.after(this.cursor, this.opts.pageSize ?? 500, this.opts.filter);
    for (const event of page.events) {
      if (this.mode !== 'replay') return; // stopped by write()
      this.cursor = event.cursor;
      if (!this.write(event)) {
        if (this.mode === 'replay') this.mode = 'paused';
        if (page.scanned > this.cursor && event === page.events.at(-1)) this.cursor = page.scanned;
        return;
      }
    }
    if (this.mode !== 'replay') return;
    this.cursor = page.scanned;
    if (page.more) {
      // A long backlog: one page per turn, so a replay of a week never blocks the server.
      setImmediate(() => {
        if (this.mode === 'replay') this.pump();
      });
    } else {
      this.mode = 'live';
    }
  }
}
