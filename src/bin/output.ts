// How commands print: aligned columns for people, JSON for scripts (bigints as strings), counts with their noun, ages.
// Results go to stdout, progress and logs to stderr.

/** Where a command writes its result (stdout; tests pass their own). */
export interface Output {
  write(text: string): unknown;
}

/** Rows as aligned columns, the first row a header; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** JSON with bigints as strings, two-space indented, newline-terminated. */
export const toJson = (value: unknown): string => `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;

/** 42 s, 5 min, 3 h, 2 d. */
export function age(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** 1.2 MB (decimal units), or - for null. */
export function size(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export const num = (n: number | null): string => (n === null ? '-' : n.toLocaleString('en-US'));
