// Processes that stay zombies when killed: started under a parent (sh exec'ing sleep) that never reaps its children,
// so the window a reaping parent closes in milliseconds (or ~1.5 s under load) stays open for the test.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

export interface Unreaped {
  /** The process started; a zombie once killed, until `release()`. */
  pid: number;
  /** The non-reaping parent; its stderr is the process's stderr. */
  parent: ChildProcess;
  /** Kill the parent: the orphaned zombie is reaped by init. */
  release(): void;
}

/** Start `argv` as the child of a parent that never waits for it. */
export async function spawnUnreaped(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Unreaped> {
  // sh starts argv in the background (its stdout onto stderr, so stdout carries only the pid), prints its pid, then
  // becomes `sleep`, which never calls wait().
  const parent = spawn('sh', ['-c', '"$@" 1>&2 & echo $!; exec sleep 600', 'sh', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: parent.stdout! }).once('line', resolve);
    parent.once('exit', (code) => reject(new Error(`sh exited with ${code}`)));
  });
  // Until sh has become `sleep` it may still reap the child itself (a kill right after the pid line raced it so).
  for (let i = 0; i < 400 && commOf(parent.pid!) !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 5));
  if (commOf(parent.pid!) !== 'sleep') throw new Error(`the non-reaping parent ${parent.pid} never became sleep`);
  return { pid: Number(line), parent, release: () => parent.kill('SIGKILL') };
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'gone';
  }
}

/** Field 3 of /proc/<pid>/stat (R, S, Z, ...), or 'gone'. */
export function procState(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[0]!;
  } catch {
    return 'gone';
  }
}

/** Kill -9 `pid` and wait until the kernel shows it as a zombie. */
export async function killToZombie(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 400 && procState(pid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 25));
  if (procState(pid) !== 'Z') throw new Error(`pid ${pid} is ${procState(pid)}, not a zombie, after kill -9`);
}
