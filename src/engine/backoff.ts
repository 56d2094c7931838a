// Reconnect delays: capped exponential with jitter, so many servers that lost WhatsApp at the same moment
// (a WhatsApp outage, a laptop waking up) do not all hammer it again in lockstep.

export interface BackoffOptions {
  /** Delay ceiling of the first attempt. */
  baseMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
  /** Uniform in [0, 1); injectable so tests get exact delays. */
  random?: () => number;
}

/**
 * "Equal jitter": the delay is between half and all of min(maxMs, baseMs * 2^attempt). Half is kept fixed
 * so a retry never fires immediately, which is what made unthrottled loops spin every few milliseconds.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  /** The delay before the next attempt; each call counts as one more failure. */
  next(): number {
    return backoffDelay(this.attempt++, this.opts);
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
