// What the client commands write: results on stdout, reasons on stderr, and a block (the QR code) that a terminal
// redraws in place when it changes instead of scrolling a new one below.
import { setTimeout as delay } from 'node:timers/promises';
import { Cancelled } from './client.js';

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Terminal {
  /** Lines of the last block, still on screen right above the cursor (0: something else was written since). */
  private blockLines = 0;

  constructor(
    readonly stdout: Stream,
    readonly stderr: Stream,
  ) {}

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
    this.blockLines = 0;
  }

  error(text: string): void {
    this.stderr.write(`${text}\n`);
    // On the same screen, a line on stderr lands below the block too.
    if (this.stderr.isTTY) this.blockLines = 0;
  }

  json(value: unknown): void {
    this.line(JSON.stringify(value));
  }

  /** Whether the next block() replaces the last one on screen (a terminal, and nothing written since). */
  canRedraw(): boolean {
    return this.stdout.isTTY === true && this.blockLines > 0;
  }

  /** Write `text`; on a terminal, over the previous block when nothing came between. */
  block(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    // Cursor up over the old block, then clear to the end of the screen.
    if (this.canRedraw()) this.stdout.write(`\x1b[${this.blockLines}A\x1b[J`);
    this.stdout.write(body);
    this.blockLines = body.split('\n').length - 1;
  }
}

/** Wait, unless Ctrl-C comes first. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new Cancelled();
  }
}
