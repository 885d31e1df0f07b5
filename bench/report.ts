// The one result format every benchmark section writes (`--out <file>`) and bench/run.ts gathers: figures, each with
// the runs of the thing measured and of a baseline measured in the same run on the same data, and their ratio.
// Must never: decide pass/fail on a measured time, or turn a missing baseline into a ratio of 1.
import { writeFile } from 'node:fs/promises';
import { median } from './measure.js';

/** The runs of one side of a figure: one value per run, in `unit`. */
export interface Series {
  label: string;
  runs: number[];
}

export interface Figure {
  /** Stable key, e.g. `sink.append.rows_per_s`. */
  id: string;
  title: string;
  unit: string;
  /** Whether a larger value is better (rows/s) or worse (ms, MB, files). */
  better: 'higher' | 'lower';
  subject: Series;
  /** Measured in the same run on the same data; absent only where the issue names none (then `note` says why). */
  baseline?: Series;
  note?: string;
}

export interface SectionResult {
  section: string;
  title: string;
  /** The options the section ran with (sizes, repeats, settings). */
  options: Record<string, unknown>;
  figures: Figure[];
  /** False when a content check failed (a table's rows differ from what was produced): the numbers mean nothing then. */
  contentOk: boolean;
  /** Lines worth keeping next to the numbers (what was measured, caveats). */
  notes: string[];
  seconds?: number;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stats(runs: readonly number[]): Stats {
  if (runs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), n: runs.length };
}

/** median(subject) / median(baseline); undefined without a baseline. */
export function ratioOf(figure: Figure): number | undefined {
  if (!figure.baseline) return undefined;
  const base = stats(figure.baseline.runs).median;
  return base === 0 ? undefined : stats(figure.subject.runs).median / base;
}

/** Writes a section's result for bench/run.ts (when the script was given `--out`). */
export async function writeSection(file: string | undefined, result: SectionResult): Promise<void> {
  if (file) await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** A number for a table cell: thousands separators for big values, 3 significant digits for small ones. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

const cell = (s: Stats): string => (s.n === 0 ? '-' : s.n === 1 ? formatValue(s.median) : `${formatValue(s.median)} (${formatValue(s.min)}–${formatValue(s.max)})`);

/** How to read a ratio: "0.82× the baseline's rows/s", "3.1× faster", "4.0× fewer files". */
export function readRatio(figure: Figure, ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '-';
  if (figure.better === 'higher') return `${ratio.toFixed(2)}×`;
  // Lower is better: say how many times less (or more) than the baseline.
  return ratio <= 1 ? `${ratio.toFixed(2)}× (${(1 / ratio).toFixed(1)}× less)` : `${ratio.toFixed(2)}× (${ratio.toFixed(1)}× more)`;
}

/** One markdown table for every figure of every section: median (min–max) of the runs, the baseline, the ratio. */
export function markdownTable(sections: readonly SectionResult[]): string {
  const lines = ['| figure | unit | DuckHouse: median (min–max) | baseline | baseline: median (min–max) | ratio | runs |', '|---|---|---:|---|---:|---:|---:|'];
  for (const section of sections) {
    for (const f of section.figures) {
      const s = stats(f.subject.runs);
      const b = f.baseline ? stats(f.baseline.runs) : undefined;
      const escape = (text: string): string => text.replaceAll('|', '\\|');
      lines.push(
        `| ${escape(f.title)}${section.contentOk ? '' : ' **(content check failed)**'} | ${f.unit} | ${cell(s)} | ${escape(f.baseline?.label ?? f.note ?? 'none')} | ${b ? cell(b) : '-'} | ${readRatio(f, ratioOf(f))} | ${b ? `${s.n} / ${b.n}` : `${s.n}`} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
