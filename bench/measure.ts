// Small helpers the benchmarks share: a wall + CPU timer, percentiles, a plain-text table printer, seeded randomness.
// Must never: decide pass/fail; benchmarks print numbers and ratios only.
import { readFileSync } from 'node:fs';


/**
 * A process's resident memory in bytes from /proc/<pid>/status: `rss` now (VmRSS) and `peak`, its high-water mark
 * (VmHWM). Undefined where /proc cannot tell (not Linux, or the process is gone).
 */
export function processMemory(pid: number | 'self' = 'self'): { rss: number; peak: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number | undefined => {
    const value = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return value === undefined ? undefined : Number(value) * 1024;
  };
  const rss = kb('VmRSS');
  const peak = kb('VmHWM');
  return rss === undefined || peak === undefined ? undefined : { rss, peak };
}

/** Starts a timer; calling the result gives wall seconds and process CPU seconds (user + system, all threads). */
export function timer(): () => { wall: number; cpu: number } {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wall: Number(process.hrtime.bigint() - wall) / 1e9, cpu: (used.user + used.system) / 1e6 };
  };
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..1). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

export const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 0.5);
export const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** Prints rows under a header, the first column left-aligned and the rest right-aligned. */
export function printTable(header: string[], rows: string[][], indent = ''): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => indent + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(indent + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
