// Text helpers of the status page: HTML escaping (table names, messages and ids are user data), and numbers, sizes,
// durations and ages the way an operator reads them.
// PURE: no IO, no clock (times are passed in). Must never: return user text unescaped from `html` helpers.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for HTML element content and quoted attribute values alike. */
export const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);

/** `1 234 567` style grouping (thin spaces keep columns readable without a locale). */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const sign = n < 0 ? '-' : '';
  const [whole, fraction] = Math.abs(n).toString().split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return `${sign}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/** `12.3 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

const trim = (value: number, digits: number): string => value.toFixed(digits).replace(/\.0+$/, '').replace(/(\.\d*?)0+$/, '$1');

/** A duration in the largest unit that keeps it readable: `850 ms`, `4.2 s`, `3 min`, `1.5 h`, `2 d`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${trim(abs / 1000, abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) return `${sign}${trim(abs / 60_000, abs < 600_000 ? 1 : 0)} min`;
  if (abs < 86_400_000) return `${sign}${trim(abs / 3_600_000, 1)} h`;
  return `${sign}${trim(abs / 86_400_000, 1)} d`;
}

/** `3 min ago` for a time before `nowMs` (`just now` under a second, `in 2 s` for clock skew). */
export function formatAgo(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 1000) return 'just now';
  const whole = (n: number): string => String(Math.floor(n));
  const abs = Math.abs(ms);
  const text = abs < 60_000 ? `${whole(abs / 1000)} s` : abs < 3_600_000 ? `${whole(abs / 60_000)} min` : abs < 86_400_000 ? `${whole(abs / 3_600_000)} h` : `${whole(abs / 86_400_000)} d`;
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

/** `2025-01-02 03:04:05 UTC` for titles and tables. */
export const formatUtc = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
