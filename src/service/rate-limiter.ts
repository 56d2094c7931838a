// Pacing: a global and a per-recipient token bucket. WhatsApp bans numbers that burst; we refuse or queue instead.

export interface PacingConfig {
  /** Messages per minute across all chats; 0 disables the limit. */
  globalPerMinute: number;
  /** Messages per minute to one chat; 0 disables the limit. */
  recipientPerMinute: number;
}

class Bucket {
  tokens: number;
  updated: number;
  constructor(readonly capacity: number, readonly perMs: number, now: number) {
    this.tokens = capacity;
    this.updated = now;
  }
  refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updated) * this.perMs);
    this.updated = now;
  }
  /** ms until one token is available (0 = now). */
  wait(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }
}

/** Bursts up to a third of the per-minute rate (at least 1), then a steady pace. */
function bucket(perMinute: number, now: number): Bucket {
  return new Bucket(Math.max(1, Math.ceil(perMinute / 3)), perMinute / 60_000, now);
}

export class RateLimiter {
  private readonly global: Bucket | null;
  private readonly recipients = new Map<string, Bucket>();

  constructor(private readonly cfg: PacingConfig, private readonly now: () => number = Date.now) {
    this.global = cfg.globalPerMinute > 0 ? bucket(cfg.globalPerMinute, now()) : null;
  }

  /** ms until a send to `chatId` would be allowed; 0 means now. Takes nothing. */
  waitFor(chatId: string): number {
    const now = this.now();
    return Math.max(this.global?.wait(now) ?? 0, this.recipient(chatId, now)?.wait(now) ?? 0);
  }

  /** Take a token from both buckets if a send is allowed now; otherwise return the ms to wait. */
  tryTake(chatId: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const wait = this.waitFor(chatId);
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    if (this.global) this.global.tokens -= 1;
    const r = this.recipient(chatId, this.now());
    if (r) r.tokens -= 1;
    return { ok: true };
  }

  private recipient(chatId: string, now: number): Bucket | null {
    if (this.cfg.recipientPerMinute <= 0) return null;
    let b = this.recipients.get(chatId);
    if (!b) {
      // Full buckets carry no information; forget them so the map stays bounded.
      if (this.recipients.size > 10_000) for (const [k, v] of this.recipients) if (v.wait(now) === 0 && v.tokens >= v.capacity) this.recipients.delete(k);
      b = bucket(this.cfg.recipientPerMinute, now);
      this.recipients.set(chatId, b);
    }
    return b;
  }
}
