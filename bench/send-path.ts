// The durable send path without HTTP: SendService.send on the sandbox, 50 sends in flight, as the REST bench drives it.
// Prints throughput, CPU per send, and where the time goes (shared commits, store writes, search indexing), so a
// change to the path can be judged on CPU per send, which varies less between runs than throughput does here.
// Run: npx tsx bench/send-path.ts [seconds = 5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { SandboxEngine } from '../src/engine/sandbox.js';
import { silentLogger } from '../src/logger.js';
import { GroupCommitter } from '../src/store/group-commit.js';

const seconds = Number(process.argv[2] ?? 5);
const IN_FLIGHT = 50;

/** Wrap `obj[name]` to add the time spent in it to `into.ms`. */
function timed<T extends object>(obj: T, name: keyof T & string, into: { ms: number; calls: number }): void {
  const original = (obj[name] as (...a: unknown[]) => unknown).bind(obj);
  (obj as Record<string, unknown>)[name] = (...args: unknown[]) => {
    const t = performance.now();
    try {
      return original(...args);
    } finally {
      into.ms += performance.now() - t;
      into.calls++;
    }
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-send-path-'));
const config = loadConfig({
  WHATSAPP_ENGINE: 'sandbox',
  WHATSAPP_AUTH_DIR: `${dir}/auth`,
  WHATSAPP_DATA_DIR: `${dir}/data`,
  WHATSAPP_SANDBOX_LINK_DELAY_MS: '0',
  // Pacing off: this measures the durable path, not the ban guard.
  WHATSAPP_RATE_GLOBAL_PER_MIN: '0',
  WHATSAPP_RATE_RECIPIENT_PER_MIN: '0',
});
const services = await createServices(config, { logger: silentLogger() });
await (services.engine as SandboxEngine).linkNow();

const commits = { ms: 0, calls: 0 };
const storeWrites = { ms: 0, calls: 0 };
const indexing = { ms: 0, calls: 0 };
timed(GroupCommitter.for(services.store.db), 'flush', commits);
timed(services.store, 'flush', storeWrites);
timed(services.store, 'indexPending', indexing);

let sent = 0;
const end = Date.now() + seconds * 1000;
const worker = async () => {
  while (Date.now() < end) {
    await services.sender.send({ chat_id: '15550102030@c.us', body: 'bench', queue: false });
    sent++;
  }
};
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const per = (ms: number) => `${((ms * 1000) / sent).toFixed(1)} µs/send`;

console.log(`\ndurable send path, in process (no HTTP), ${IN_FLIGHT} in flight, ${seconds} s, node ${process.version}`);
console.log(`sends                      ${Math.round(sent / wall).toLocaleString('en')} /s`);
console.log(`CPU                        ${((cpu.user + cpu.system) / sent).toFixed(1)} µs/send (system ${(cpu.system / sent).toFixed(1)})`);
console.log(`shared commits             ${per(commits.ms)}  (${commits.calls} flushes: outbox rows, event log)`);
console.log(`store writes               ${per(storeWrites.ms)}  (${storeWrites.calls} flushes: message rows, acks)`);
console.log(`search indexing            ${per(indexing.ms)}`);
await services.close();
fs.rmSync(dir, { recursive: true, force: true });
