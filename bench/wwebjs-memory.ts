// Memory of the wwebjs engine: node itself and the Chromium tree it drives.
// Run: npx tsx bench/wwebjs-memory.ts   (WHATSAPP_CHROME_EXECUTABLE to pick a browser)
// Where web.whatsapp.com is unreachable the engine closes the browser as soon as the page fails to load,
// so the tree is sampled every 100 ms while it is up and the peak is reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWwebjsEngine } from '../src/engine/wwebjs.js';
import { createLogger } from '../src/logger.js';

interface Sample {
  procs: number;
  rssKb: number;
  pssKb: number;
}

function readKb(file: string, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

function processTable(): Array<{ pid: number; ppid: number; cmdline: string }> {
  const rows = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // comm (field 2) may hold spaces and parentheses; ppid is the second field after the last ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      rows.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return rows;
}

/** The browser we launched (a child of this process using our profile) and all its descendants. */
function chromiumTree(profileDir: string): number[] {
  const table = processTable();
  const tree = table.filter((p) => p.ppid === process.pid && p.cmdline.includes(`--user-data-dir=${profileDir}`)).map((p) => p.pid);
  for (let i = 0; i < tree.length; i++) {
    for (const p of table) if (p.ppid === tree[i]) tree.push(p.pid);
  }
  return tree;
}

function measure(pids: number[]): Sample {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    rssKb += readKb(`/proc/${pid}/status`, 'VmRSS');
    pssKb += readKb(`/proc/${pid}/smaps_rollup`, 'Pss');
  }
  return { procs: pids.length, rssKb, pssKb };
}

const mb = (kb: number) => (kb / 1024).toFixed(0).padStart(7);
const nodeRssKb = () => Math.round(process.memoryUsage().rss / 1024);

async function main(): Promise<void> {
  const authDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wwebjs-bench-'));
  const profileDir = path.join(authDir, 'session-default');
  const engine = createWwebjsEngine({
    config: { authDir, chromeExecutable: process.env.WHATSAPP_CHROME_EXECUTABLE, headless: true, readyTimeoutSeconds: 120 },
    logger: createLogger('warn'),
    startTimeoutMs: 60_000,
  });
  const nodeBefore = nodeRssKb();
  let peak: Sample = { procs: 0, rssKb: 0, pssKb: 0 };
  let last: Sample = peak;
  let nodeWhileUp = 0;
  const sampler = setInterval(() => {
    const s = measure(chromiumTree(profileDir));
    if (s.procs === 0) return;
    last = s;
    nodeWhileUp = Math.max(nodeWhileUp, nodeRssKb());
    if (s.pssKb > peak.pssKb) peak = s;
  }, 100);

  const t0 = Date.now();
  await engine.start();
  const settledMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);
  const status = engine.status();
  const nodeAfter = nodeRssKb();
  await engine.stop();
  await new Promise((r) => setTimeout(r, 1000));
  const leftover = chromiumTree(profileDir).length + processTable().filter((p) => p.cmdline.includes(`--user-data-dir=${profileDir}`)).length;
  fs.rmSync(authDir, { recursive: true, force: true });

  console.log(`browser: ${status.chrome_executable ?? 'none'}  state after start: ${status.state} (${settledMs} ms)  last_error: ${status.last_error ?? '-'}`);
  console.log('');
  console.log('                                   procs   RSS MB   PSS MB');
  console.log(`node, engine created                  1 ${mb(nodeBefore)}        -`);
  console.log(`node, browser up (max)                1 ${mb(nodeWhileUp)}        -`);
  console.log(`chromium tree, peak PSS         ${String(peak.procs).padStart(6)} ${mb(peak.rssKb)}  ${mb(peak.pssKb)}`);
  console.log(`chromium tree, last sample      ${String(last.procs).padStart(6)} ${mb(last.rssKb)}  ${mb(last.pssKb)}`);
  console.log(`node, after failure settled           1 ${mb(nodeAfter)}        -`);
  console.log('');
  console.log(leftover === 0 ? 'after stop(): no Chromium process left' : `after stop(): ${leftover} Chromium processes LEFT RUNNING`);
  // For bench/baileys-memory.ts: the whole engine (node + browser), read by the caller from the last line.
  if (process.env.BENCH_JSON) console.log(JSON.stringify({ node_rss_mb: nodeWhileUp / 1024, browser_pss_mb: peak.pssKb / 1024, browser_procs: peak.procs, total_mb: (nodeWhileUp + peak.pssKb) / 1024 }));
  if (peak.procs === 0 || leftover > 0) process.exitCode = 1;
}

await main();
