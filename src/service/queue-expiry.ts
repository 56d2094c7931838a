// Queued sends have a deadline: "Build 42 passed" delivered three days late is worse than never. A row still queued
// at its `expires_at` fails with error code `expired` and is never sent. The sweep runs at boot, on a timer set for
// the earliest deadline (whether or not WhatsApp is connected), and the send service checks each row it drains.
import type { Logger } from '../logger.js';
import type { OutboxStore } from '../store/outbox-store.js';

export const EXPIRED_MESSAGE =
  'Not sent: still queued at its deadline (expires_in, or WHATSAPP_QUEUE_MAX_AGE_SECONDS after it was accepted); it will never be sent';

// setTimeout takes at most 2^31-1 ms (~24.8 days); a later deadline is reached by re-arming.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class QueueExpiry {
  private timer: NodeJS.Timeout | null = null;
  private armedFor: number | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly o: {
      outbox: OutboxStore;
      logger: Logger;
      /** Told of each expired row after it is recorded as failed. */
      onExpired: (row: { outbox_id: string; chat_id: string }) => void;
      now?: () => number;
    },
  ) {}

  /** Arm the timer for the earliest deadline in the outbox (expiring what is already due). Called at boot. */
  start(): void {
    this.note(this.o.outbox.nextDeadline());
  }

  /** A row was queued with this deadline: make sure the timer fires by then. */
  note(deadline: number | null): void {
    if (deadline === null || this.stopped || (this.armedFor !== null && this.armedFor <= deadline)) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.armedFor = null;
      void this.sweep();
    }, Math.min(MAX_TIMER_MS, Math.max(0, deadline - this.now())));
    this.timer.unref();
  }

  /** Fail every queued row past its deadline now, then arm the timer for the next one. Never rejects. */
  sweep(): Promise<void> {
    return (this.sweeping ??= this.run().finally(() => {
      this.sweeping = null;
    }));
  }

  isExpired(row: { expires_at: number }): boolean {
    return row.expires_at <= this.now();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sweeping;
  }

  private async run(): Promise<void> {
    try {
      const expired = await this.o.outbox.expireDue(EXPIRED_MESSAGE);
      for (const row of expired) this.o.onExpired(row);
      if (expired.length > 0) this.o.logger.info({ count: expired.length }, 'queued sends expired unsent');
      this.note(this.o.outbox.nextDeadline());
    } catch (err) {
      this.o.logger.error({ err }, 'expiring queued sends failed');
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
