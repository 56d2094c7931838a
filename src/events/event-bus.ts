// In-process fan-out of committed events to live listeners (SSE clients, long polls, MCP subscriptions, webhooks).
import { TypedEmitter } from '../engine/engine.js';
import type { EventRecord } from './types.js';

interface BusEvents {
  /** Emitted in cursor order, only after the event's row has committed, so a listener may re-read it from the log. */
  event: [EventRecord];
  /** The server is shutting down: waiters should give up. */
  close: [];
}

export class EventBus {
  private readonly emitter = new TypedEmitter<BusEvents>();
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  onEvent(fn: (event: EventRecord) => void): () => void {
    return this.emitter.on('event', fn);
  }

  onClose(fn: () => void): () => void {
    if (this.closed) {
      queueMicrotask(fn);
      return () => {};
    }
    return this.emitter.on('close', fn);
  }

  publish(event: EventRecord): void {
    if (!this.closed) this.emitter.emit('event', event);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emitter.emit('close');
  }
}
