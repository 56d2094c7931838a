// The calling thread's own CPU time. The search indexer sizes its slices by what a slice costs the event loop; on a
// loaded machine wall time also counts the time the thread sat in the run queue (at load 8–10 on 2 cores the longest
// store calls in bench:history were >98% run queue), which shrank slices to the minimum and multiplied per-slice
// costs. Linux exposes it in /proc/thread-self/schedstat (ns on a CPU first). The file is opened once and re-read
// at offset 0 (~3 µs; opening it each time cost ~18 µs); module state is per thread (a worker has its own).
import fs from 'node:fs';

let fd: number | null | undefined = process.platform === 'linux' ? undefined : null;
const buf = Buffer.alloc(128);

/** ms this thread has run on a CPU, or null where the platform does not say. */
export function threadCpuMs(): number | null {
  if (fd === null) return null;
  try {
    fd ??= fs.openSync('/proc/thread-self/schedstat', 'r');
    const text = buf.toString('latin1', 0, fs.readSync(fd, buf, 0, buf.length, 0));
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  } catch {
    fd = null;
    return null;
  }
}
