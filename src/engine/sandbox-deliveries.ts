// The sandbox's record of what it "delivered": appended synchronously on every send, read back after a restart.
// It stands in for WhatsApp's server-side history, so crash tests can count deliveries exactly.
import fs from 'node:fs';
import path from 'node:path';
import type { Message } from '../domain.js';
import { ensurePrivateDir } from '../fs-private.js';

export interface Delivery {
  id: string;
  chat_id: string;
  body: string;
  timestamp: number;
  /** WhatsApp's message type; absent (older lines) means text. */
  type?: string;
  media?: Message['media'];
  quoted?: Message['quoted'];
  location?: Message['location'];
  poll?: Message['poll'];
}

/** A later change to a delivered message (WhatsApp keeps edits and deletions for everyone too). */
export interface Amendment {
  amend: 'edit' | 'revoke';
  id: string;
  chat_id: string;
  body?: string;
}

export class DeliveryLog {
  private fd: number | null = null;
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = path.join(dir, 'deliveries.jsonl');
  }

  append(d: Delivery | Amendment): void {
    if (this.fd === null) {
      ensurePrivateDir(this.dir);
      this.fd = fs.openSync(this.file, 'a', 0o600);
    }
    // Synchronous on purpose: the delivery is on record before sendText returns, as a real send is on WhatsApp's servers.
    fs.writeSync(this.fd, `${JSON.stringify(d)}\n`);
  }

  readAll(): Array<Delivery | Amendment> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: Array<Delivery | Amendment> = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as Delivery | Amendment);
      } catch {
        // a line cut short by a crash
      }
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
