// The freshness chart of the status page, as inline SVG (no script, no library): x = commit time (UTC), y = freshness
// in seconds (commit time − Kafka timestamp of the commit's oldest record), one line-and-dots series per table, an HTML
// legend, axes with ticks and labels, and an empty state when no commit carries timestamps.
// PURE: no IO, no clock. Must never: put a table name or any user text in the SVG without escaping it.
import { escapeHtml, formatDuration, formatUtc } from './status-format.js';
import type { TableStatus } from './status-types.js';

const WIDTH = 960;
const HEIGHT = 320;
const MARGIN = { left: 84, right: 20, top: 16, bottom: 52 };

/** Colour-blind friendly (Tableau 10); tables past ten reuse a colour with a dash pattern. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#79706e'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

export interface SeriesStyle {
  readonly color: string;
  readonly dash: string;
}

export const seriesStyle = (index: number): SeriesStyle => ({ color: PALETTE[index % PALETTE.length]!, dash: DASHES[Math.floor(index / PALETTE.length) % DASHES.length]! });

/** 1, 2 or 5 × 10^k at or above `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * 1000);

/** A tick step for a time range: the smallest of TIME_STEPS giving at most `ticks` ticks. */
function timeStep(rangeMs: number, ticks: number): number {
  return TIME_STEPS.find((step) => rangeMs / step <= ticks) ?? niceStep(rangeMs / ticks);
}

function timeLabel(ms: number, stepMs: number, rangeMs: number): string {
  const iso = new Date(ms).toISOString();
  const clock = stepMs < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
  return rangeMs >= 86_400_000 ? `${iso.slice(5, 10)} ${clock}` : clock;
}

/** The chart section's inner HTML for the tables' freshness series. */
export function renderFreshnessChart(tables: readonly TableStatus[]): string {
  const series = tables.filter((t) => t.freshness.length > 0);
  const without = tables.filter((t) => t.freshness.length === 0 && t.role === 'table' && t.error === null);
  if (series.length === 0) {
    return `<p class="empty" id="freshness-empty">no commits with timestamps yet — a point appears for each sink commit that records the Kafka timestamp of its oldest record (<code>duckhouse.kafka.min-timestamp-ms</code>).</p>`;
  }
  const points = series.flatMap((t) => t.freshness.map((p) => ({ x: Date.parse(p.committedAt), y: p.freshnessSeconds })));
  let xMin = Math.min(...points.map((p) => p.x));
  let xMax = Math.max(...points.map((p) => p.x));
  if (xMax - xMin < 60_000) {
    const mid = (xMin + xMax) / 2;
    xMin = mid - 30_000;
    xMax = mid + 30_000;
  }
  // The y axis in one unit (s, min or h, by the largest value) with 1-2-5 steps in that unit.
  const ys = points.map((p) => p.y);
  const largest = Math.max(...ys.map(Math.abs));
  const unit = largest >= 7200 ? { div: 3600, name: 'h' } : largest >= 120 ? { div: 60, name: 'min' } : { div: 1, name: 's' };
  const lowU = Math.min(0, ...ys) / unit.div;
  const highU = Math.max(...ys) / unit.div;
  const stepU = niceStep(Math.max(highU - lowU, 1) / 5);
  const yStep = stepU * unit.div;
  const yMin = Math.floor(lowU / stepU) * yStep;
  const yMax = Math.max(yMin + yStep, Math.ceil(highU / stepU) * yStep);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number): number => MARGIN.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [];
  // Grid and y ticks.
  for (let y = yMin; y <= yMax + yStep / 1000; y += yStep) {
    const label = `${Number((y / unit.div).toFixed(2))} ${unit.name}`;
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${f(sy(y))}" y2="${f(sy(y))}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 8}" y="${f(sy(y) + 4)}" text-anchor="end">${escapeHtml(label)}</text>`);
  }
  // X ticks.
  const xStep = timeStep(xMax - xMin, 8);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
    parts.push(`<line class="tick-mark" x1="${f(sx(x))}" x2="${f(sx(x))}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}"/>`);
    parts.push(`<text class="tick" x="${f(sx(x))}" y="${MARGIN.top + plotH + 19}" text-anchor="middle">${escapeHtml(timeLabel(x, xStep, xMax - xMin))}</text>`);
  }
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}"/>`);
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`);
  parts.push(`<text class="axis-label" x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">commit time (UTC)</text>`);
  parts.push(`<text class="axis-label" transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">freshness (commit − oldest record)</text>`);

  const legend: string[] = [];
  series.forEach((table, index) => {
    const { color, dash } = seriesStyle(index);
    const name = escapeHtml(table.table);
    const coords = table.freshness.map((p) => `${f(sx(Date.parse(p.committedAt)))},${f(sy(p.freshnessSeconds))}`);
    const dots = table.freshness.map((p) => {
      const title = `${table.table} · ${formatUtc(p.committedAt)} · snapshot ${p.snapshotId} · freshness ${formatDuration(p.freshnessSeconds * 1000)}`;
      return `<circle cx="${f(sx(Date.parse(p.committedAt)))}" cy="${f(sy(p.freshnessSeconds))}" r="3.5" fill="${color}" data-snapshot="${escapeHtml(p.snapshotId)}" data-freshness="${p.freshnessSeconds}"><title>${escapeHtml(title)}</title></circle>`;
    });
    const line = coords.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${coords.join(' ')}"/>` : '';
    parts.push(`<g class="series" data-series="${name}" data-points="${table.freshness.length}">${line}${dots.join('')}</g>`);
    legend.push(`<li data-legend="${name}"><svg width="28" height="10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" stroke="${color}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}/></svg>${name} <span class="muted">(${table.freshness.length} commit${table.freshness.length === 1 ? '' : 's'})</span></li>`);
  });

  const note = without.length === 0 ? '' : `<p class="muted small">No commits with timestamps for: ${without.map((t) => escapeHtml(t.table)).join(', ')}.</p>`;
  return [
    `<svg id="freshness-chart" role="img" aria-label="Freshness per commit and table" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet">`,
    ...parts,
    '</svg>',
    `<ul class="legend" id="freshness-legend">${legend.join('')}</ul>`,
    note,
  ].join('\n');
}
