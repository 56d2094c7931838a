// Child process for test/store-crash.test.ts: writes history-shaped batches into a message store on a file, as fast
// as it can (yielding a turn between batches, so the background indexer and the WAL checkpointer run as in the
// server), and prints "committed <n> <checkpoints so far>" after batch n's write() returned. Killed with SIGKILL by the test.
// Usage: tsx test/helpers/store-history-writer.ts <db file> <first batch number>
import { plainExtras, type Message } from '../../src/domain.js';
import { openDatabase } from '../../src/store/db.js';
import { MessageStore } from '../../src/store/message-store.js';

export const PER_BATCH = 400;
const T0 = 1_700_000_000;

/** Message k of batch b: batches go back in time (history arrives newest first), so most rows land below the mark. */
export function historyMessage(b: number, k: number): Message {
  const chat = `1555${1_000_000 + (k % 50)}@c.us`;
  return {
    id: `B${b}_${k}`,
    chat_id: chat,
    from: chat,
    to: '15550009999@c.us',
    author: null,
    from_me: false,
    type: 'chat',
    body: `batch${b} row ${k} the weather report is done call me later about the lunch at noon`,
    timestamp: T0 - b * 10_000 - k,
    has_media: false,
    ack: null,
    ...plainExtras(),
  };
}

if (process.argv[2]) {
  const store = new MessageStore(openDatabase(process.argv[2]));
  let b = Number(process.argv[3] ?? 1);
  const loop = (): void => {
    store.write(Array.from({ length: PER_BATCH }, (_, k) => ({ kind: 'message' as const, message: historyMessage(b, k) })));
    process.stdout.write(`committed ${b} ${store.checkpoints().runs}\n`);
    b += 1;
    setImmediate(loop);
  };
  process.stdout.write('ready\n');
  loop();
}
