// Long-poll: resolve with the first event after a cursor that matches, or null when the time is up.
import type { EventBus } from './event-bus.js';
import type { EventLog } from './event-log.js';
import { EventFollower } from './follow.js';
import type { EventRecord, TypeFilter } from './types.js';

export interface WaitOptions {
  after: number;
  filter: TypeFilter;
  match?: (event: EventRecord) => boolean;
  timeoutMs: number;
  /** The caller went away (HTTP client closed, MCP request cancelled). */
  signal?: AbortSignal;
}

export function waitForEvent(log: EventLog, bus: EventBus, o: WaitOptions): Promise<{ event: EventRecord | null; position: number }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (event: EventRecord | null) => {
      if (done) return;
      done = true;
      follower.stop();
      clearTimeout(timer);
      offClose();
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ event, position: follower.position });
    };
    const follower = new EventFollower(log, bus, { after: o.after, filter: o.filter, pageSize: 100 }, (event) => {
      if (!o.match || o.match(event)) finish(event);
      return true;
    });
    const onAbort = () => finish(null);
    const timer = setTimeout(() => finish(null), o.timeoutMs);
    timer.unref();
    const offClose = bus.onClose(() => finish(null));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) return finish(null);
    follower.start();
  });
}
