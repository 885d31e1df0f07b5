// Progress for long work (a CSV upload, a compaction, a replay): a bar on stderr when it is a terminal, a line every
// few seconds when it is not (logs, CI), nothing with --quiet. Results still go to stdout.
// Must never: write progress to stdout (scripts parse it), or keep the process alive after stop().
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Sets the done amount (and the total, when it becomes known) and the fields shown after the bar. */
  update(value: number, fields?: Record<string, string | number>, total?: number): void;
  /** Prints a line above the bar (a reject, a warning). */
  note(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** What is counted: `{value}/{total} {unit}`. */
  unit: string;
  total: number;
  /** Extra fields shown after the bar: `| {rate} rows/s | rejected {rejected}`. */
  suffix?: string;
  stream?: NodeJS.WriteStream;
}

const SILENT: Progress = { update: () => undefined, note: () => undefined, stop: () => undefined };

export function startProgress(options: ProgressOptions): Progress {
  if (options.quiet) return SILENT;
  const stream = options.stream ?? process.stderr;
  const bar = new SingleBar({
    stream,
    format: `{bar} {percentage}% | {value}/{total} ${options.unit}${options.suffix ? ` ${options.suffix}` : ''} | {duration_formatted}`,
    barsize: 24,
    hideCursor: stream.isTTY === true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    fps: 5,
    formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? Number(v).toLocaleString('en-US') : String(v)),
  });
  const placeholders = Object.fromEntries([...(options.suffix ?? '').matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, '-']));
  bar.start(Math.max(1, options.total), 0, placeholders);
  let stopped = false;
  return {
    update(value, fields, total) {
      if (stopped) return;
      if (total !== undefined) bar.setTotal(Math.max(1, total));
      bar.update(value, fields ?? {});
    },
    note(line) {
      if (stopped) return;
      if (stream.isTTY) stream.write('\r\x1b[K');
      stream.write(`${line}\n`);
      bar.render();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
