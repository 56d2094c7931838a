import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/service/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst of a third of the per-recipient rate, then asks to wait', () => {
    let now = 0;
    const rl = new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 6 }, () => now);
    expect(rl.tryTake('a@c.us')).toEqual({ ok: true });
    expect(rl.tryTake('a@c.us')).toEqual({ ok: true });
    const third = rl.tryTake('a@c.us');
    expect(third.ok).toBe(false);
    // 6/min = one token every 10 s
    expect(third.ok === false && third.retryAfterMs).toBe(10_000);
    expect(rl.tryTake('b@c.us')).toEqual({ ok: true });
    now += 10_000;
    expect(rl.tryTake('a@c.us')).toEqual({ ok: true });
  });

  it('applies the global limit across recipients', () => {
    let now = 0;
    const rl = new RateLimiter({ globalPerMinute: 3, recipientPerMinute: 0 }, () => now);
    expect(rl.tryTake('a@c.us').ok).toBe(true);
    expect(rl.tryTake('b@c.us').ok).toBe(false);
    expect(rl.waitFor('c@c.us')).toBe(20_000);
    now += 20_000;
    expect(rl.tryTake('c@c.us').ok).toBe(true);
  });

  it('0 disables both limits', () => {
    const rl = new RateLimiter({ globalPerMinute: 0, recipientPerMinute: 0 });
    for (let i = 0; i < 1000; i++) expect(rl.tryTake('a@c.us').ok).toBe(true);
  });
});
