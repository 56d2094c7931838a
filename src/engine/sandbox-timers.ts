// Every timer the simulated account runs (QR rotation, linking, reconnects, acks), so stop() and logout() end them all.
export class SandboxTimers {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Run `fn` once after `ms`; unref'd, so a pending ack never keeps the process alive. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  every(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer); // clears an interval too
    this.timers.delete(timer);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
