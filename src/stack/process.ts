// Supervision of the stack's native service processes: start detached with output in a log file, remember them in a
// pid file (with a marker that guards against pid reuse), probe, stop by process group, and find strays.
// Must never signal a process it cannot prove it started (the marker must be in the process's command line).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PidRecord {
  pid: number;
  /** Strings of which one must appear in /proc/<pid>/cmdline (a path of ours) for the pid to count as ours. */
  markers: string[];
  startedAt: string;
}

export interface StartOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
  markers: string[];
  uid?: number;
  gid?: number;
}

/** Starts a process in its own process group, its stdout and stderr appended to `logFile`. Returns its pid. */
export async function startDetached(options: StartOptions): Promise<number> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  await mkdir(path.dirname(options.pidFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    writeSync(fd, `\n===== duckhouse stack: starting ${path.basename(options.command)} at ${new Date().toISOString()} =====\n`);
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: options.uid,
      gid: options.gid,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    const record: PidRecord = { pid, markers: options.markers, startedAt: new Date().toISOString() };
    await writeFile(options.pidFile, `${JSON.stringify(record)}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

export async function readPidRecord(pidFile: string): Promise<PidRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(pidFile, 'utf8')) as PidRecord;
    return Number.isInteger(record.pid) && record.pid > 0 && Array.isArray(record.markers) ? record : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when the recorded process still runs (not a zombie) and is still the one we started. */
export function isRunning(record: PidRecord): boolean {
  const cmdline = commandLine(record.pid);
  if (cmdline === undefined || processState(record.pid) === 'Z') return false;
  return record.markers.some((marker) => cmdline.includes(marker));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Live (non-zombie) members of process group `pgid`; an exited process stays a zombie until its parent reaps it. */
function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/**
 * Stops the recorded process and its whole process group: `signal` first, SIGKILL after `timeoutMs`.
 * Returns how it ended.
 */
export async function stopProcess(
  record: PidRecord,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isRunning(record) && !groupAlive(record.pid)) return 'not-running';
  return stopGroup(record.pid, signal, timeoutMs);
}

/**
 * Signals the process group led by `pid`, waits up to `timeoutMs` for it to end, then SIGKILLs it. For processes
 * found by scanning /proc (no pid record): the caller has already checked they are ours.
 */
export async function stopGroup(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  // A stray found in /proc may not lead a group of its own: then the process itself is what must end.
  const alive = (): boolean => groupAlive(pid) || (existsSync(`/proc/${pid}`) && processState(pid) !== 'Z');
  if (!alive()) return 'not-running';
  signalGroup(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return 'stopped';
    await sleep(200);
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 25 && alive(); i++) await sleep(200);
  return 'killed';
}

export async function removePidFile(pidFile: string): Promise<void> {
  await rm(pidFile, { force: true });
}

/** Pids of processes (other than this one) whose command line mentions `needle`: leftovers of the stack. */
export function findProcessesMentioning(needle: string): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    const cmdline = commandLine(pid);
    if (cmdline?.includes(needle) && processState(pid) !== 'Z') found.push(pid);
  }
  return found;
}

/**
 * Processes started with `<marker><pid of their starter>` in their command line whose starter no longer runs: what a
 * SIGKILLed parent leaves behind (it had no chance to stop its children).
 */
export function findOrphans(marker: string): number[] {
  return findProcessesMentioning(marker).filter((pid) => {
    const starter = Number(/(\d+)/.exec(commandLine(pid)?.split(marker)[1] ?? '')?.[1]);
    if (!Number.isInteger(starter) || starter <= 0) return false;
    const state = processState(starter);
    return state === undefined || state === 'Z';
  });
}

/** The last `lines` lines of a log file, or an empty string when there is none. */
export function tailFile(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
