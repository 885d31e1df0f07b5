// The status page as one server-rendered HTML document: overall state, tables (rows, files, size, last commit,
// freshness lag), the freshness chart, consumer lag per partition, queues, dead letters and recent dbt runs. Inline CSS
// and one small inline script (auto-refresh that can be turned off); nothing is loaded from elsewhere (the machine may
// be offline). Elements carry stable ids and data attributes (`data-table="sales.orders"`) for tests and scripts.
// PURE: no IO, no clock. Must never: emit user data (table names, messages, ids) without escapeHtml.
import { renderFreshnessChart } from './status-chart.js';
import { escapeHtml as e, formatAgo, formatBytes, formatCount, formatDuration, formatUtc } from './status-format.js';
import { STATUS_STYLES } from './status-styles.js';
import type { FreshnessState, OverallState, StatusReport, TableStatus } from './status-types.js';

export interface StatusPageOptions {
  /** Where the queue board is (absolute path), or undefined when there is none. */
  readonly boardPath?: string;
  /** Where the JSON of this report is (absolute path). */
  readonly jsonPath?: string;
  /** Seconds between automatic reloads; 0 turns them off. */
  readonly refreshSeconds: number;
  /** True when the reader asked for no auto-refresh (`?refresh=0`): the box starts unticked and stays so. */
  readonly refreshForcedOff?: boolean;
  /** CSP nonce of the inline script. */
  readonly nonce: string;
}

const STATE_TEXT: Record<OverallState, string> = { ok: 'all good', lagging: 'lagging', stale: 'stale', degraded: 'degraded' };
const FRESHNESS_TEXT: Record<FreshnessState, string> = { 'caught-up': 'caught up', lagging: 'lagging', stale: 'stale', unknown: 'unknown' };

const num = (field: string, value: number | null, text = formatCount(value)): string =>
  `<td class="num" data-field="${field}"${value === null ? '' : ` data-value="${value}"`}>${e(text)}</td>`;

const time = (iso: string | null, nowMs: number): string =>
  iso === null ? '<span class="muted">—</span>' : `<time datetime="${e(iso)}" title="${e(formatUtc(iso))}">${e(formatAgo(iso, nowMs))}</time>`;

const sectionError = (section: string, error: string | null): string =>
  error === null ? '' : `<div class="error" data-error-section="${e(section)}"><strong>Could not read this section:</strong> ${e(error)}</div>`;

function freshnessCell(t: TableStatus): string {
  if (t.role === 'dead-letters') return '<td data-field="freshness" data-state="unknown"><span class="muted" title="dead letters are not fed from one topic">—</span></td>';
  const title = t.lagError ?? (t.freshnessState === 'unknown' ? 'no Kafka topic feeds this table' : t.freshnessState === 'caught-up' ? 'every partition is caught up' : `${formatCount(t.totalLag)} records behind; time since the last sink commit`);
  const text = t.freshnessState === 'caught-up' ? 'caught up' : t.freshnessLagMs === null ? FRESHNESS_TEXT[t.freshnessState] : formatDuration(t.freshnessLagMs);
  return `<td data-field="freshness" data-state="${t.freshnessState}"${t.freshnessLagMs === null ? '' : ` data-value="${t.freshnessLagMs}"`}><span class="pill ${t.freshnessState}" title="${e(title)}">${e(text)}</span></td>`;
}

function tablesSection(report: StatusReport, nowMs: number): string {
  const { items, error } = report.tables;
  const rows = items.map((t) => {
    if (t.error !== null) return `<tr data-table="${e(t.table)}" data-state="error"><th scope="row">${e(t.table)}</th><td colspan="8" class="error-text">${e(t.error)}</td></tr>`;
    const role = t.role === 'dead-letters' ? ' <span class="tag">dead letters</span>' : '';
    return `<tr data-table="${e(t.table)}" data-state="${t.freshnessState}"><th scope="row">${e(t.table)}${role}</th>${num('rows', t.rows)}${num('dataFiles', t.dataFiles)}${num('deleteFiles', t.deleteFiles)}${num('sizeBytes', t.sizeBytes, formatBytes(t.sizeBytes))}${num('snapshots', t.snapshots)}<td data-field="lastCommit">${time(t.lastCommitAt, nowMs)}</td>${num('lag', t.totalLag)}${freshnessCell(t)}</tr>`;
  });
  const body = items.length === 0 && error === null ? '<p class="empty">no tables yet</p>'
    : `<table id="tables-table"><thead><tr><th>table</th><th class="num">rows</th><th class="num">data files</th><th class="num">delete files</th><th class="num">size</th><th class="num">snapshots</th><th>last commit</th><th class="num">lag (records)</th><th>freshness lag</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="tables"><h2>Tables <span class="count">${items.length}</span></h2>${sectionError('tables', error)}${body}</section>`;
}

function lagSection(report: StatusReport): string {
  const tables = report.tables.items.filter((t) => t.partitions.length > 0 || t.lagError !== null);
  const rows = tables.flatMap((t) => {
    const error = t.lagError === null ? [] : [`<tr data-table="${e(t.table)}" data-lag-error><th scope="row">${e(t.table)}</th><td colspan="5" class="error-text">${e(t.lagError)}</td></tr>`];
    return [...error, ...t.partitions.map((p) => `<tr data-table="${e(t.table)}" data-topic="${e(p.topic)}" data-partition="${p.partition}" class="${p.lag > 0 ? 'behind' : ''}"><th scope="row">${e(t.table)}</th><td class="mono">${e(p.topic)}</td>${num('partition', p.partition)}${num('endOffset', p.endOffset)}${num('committedOffset', p.committedOffset)}${num('lag', p.lag)}</tr>`)];
  });
  const body = rows.length === 0 ? '<p class="empty">no tables fed from Kafka topics yet</p>'
    : `<table id="lag-table"><thead><tr><th>table</th><th>topic</th><th class="num">partition</th><th class="num">end offset</th><th class="num">committed offset</th><th class="num">lag</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="consumer-lag"><h2>Consumer lag per partition</h2><p class="muted small">Committed offset = the next offset the table's snapshot summary records (exactly-once: the table, not the consumer group, says what is committed).</p>${body}</section>`;
}

function queuesSection(report: StatusReport, boardPath: string | undefined): string {
  const q = report.queues;
  if (!q.visible) return '<section id="queues"><h2>Queues</h2><p class="muted">Queues hold every tenant\'s jobs: visible to administrators only.</p></section>';
  const board = boardPath === undefined ? '' : ` <a class="button" id="queue-board-link" href="${e(boardPath)}">open the queue board →</a>`;
  const statuses = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
  const rows = q.items.map((item) => `<tr data-queue="${e(item.role)}" data-queue-name="${e(item.name)}"><th scope="row" class="mono">${e(item.name)}</th>${statuses.map((s) => (s === 'failed' && item.counts.failed > 0 ? `<td class="num bad" data-field="failed" data-value="${item.counts.failed}">${e(formatCount(item.counts.failed))}</td>` : num(s, item.counts[s]))).join('')}</tr>`);
  const body = q.items.length === 0 ? '' : `<table id="queues-table"><thead><tr><th>queue</th>${statuses.map((s) => `<th class="num">${s}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="queues"><h2>Queues${board}</h2>${sectionError('queues', q.error)}${body}</section>`;
}

function deadLettersSection(report: StatusReport): string {
  const d = report.deadLetters;
  const cards: string[] = [];
  if (report.scope.kind === 'admin') {
    cards.push(`<div class="stat"><span class="label">in topic <code>${e(d.topic)}</code></span><span class="value" id="dlq-topic-total"${d.topicTotal === null ? '' : ` data-value="${d.topicTotal}"`}>${e(formatCount(d.topicTotal))}</span></div>`);
  }
  const tableLabel = report.scope.kind === 'admin' ? `not replayed, in table <code>${e(d.table)}</code>` : 'meant for your tables, not replayed';
  cards.push(`<div class="stat"><span class="label">${tableLabel}</span><span class="value" id="dlq-table-total"${d.tableTotal === null ? '' : ` data-value="${d.tableTotal}"`}>${e(formatCount(d.tableTotal))}</span></div>`);
  const rows = d.byTable.map((c) => `<tr data-dlq-table="${e(c.table ?? '')}" data-kind="${e(c.kind)}"><th scope="row">${c.table === null ? '<span class="muted">(none)</span>' : e(c.table)}</th><td class="mono">${e(c.kind)}</td>${num('count', c.count)}</tr>`);
  const table = rows.length === 0 ? '' : `<table id="dlq-table"><thead><tr><th>meant for table</th><th>kind</th><th class="num">letters</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const note = d.note === null ? '' : `<p class="muted small">${e(d.note)}</p>`;
  return `<section id="dead-letters"><h2>Dead letters</h2>${sectionError('dead-letters-topic', d.topicError)}${sectionError('dead-letters-table', d.tableError)}<div class="stats">${cards.join('')}</div>${table}${note}</section>`;
}

function dbtSection(report: StatusReport, nowMs: number): string {
  const runs = report.dbtRuns;
  const rows = runs.items.map((r) => {
    const failures = r.failures.length === 0 ? '' : `<div class="error-text small">${r.failures.map(e).join('<br>')}</div>`;
    return `<tr data-dbt-run="${e(r.id)}" data-status="${e(r.status)}"><td><span class="pill ${r.status === 'success' ? 'caught-up' : r.status === 'error' ? 'stale' : 'unknown'}">${e(r.status)}</span></td><td>${time(r.startedAt || null, nowMs)}</td>${num('durationMs', r.durationMs, formatDuration(r.durationMs))}<td data-field="models">${r.models.ok}/${r.models.total} ok${r.models.failed ? `, <span class="bad">${r.models.failed} failed</span>` : ''}</td><td data-field="tests">${r.tests.passed}/${r.tests.total} passed${r.tests.failed ? `, <span class="bad">${r.tests.failed} failed</span>` : ''}</td><td class="small">${e(r.tables.join(', ') || '—')}${failures}</td></tr>`;
  });
  const body = rows.length === 0 ? (runs.error === null ? '<p class="empty">no dbt runs recorded yet</p>' : '')
    : `<table id="dbt-runs-table"><thead><tr><th>status</th><th>started</th><th class="num">duration</th><th>models</th><th>tests</th><th>for tables</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="dbt-runs"><h2>Recent dbt runs</h2>${sectionError('dbt-runs', runs.error)}${body}</section>`;
}

function summaryCards(report: StatusReport): string {
  const tables = report.tables.items.filter((t) => t.role === 'table');
  // A total is only shown when every part of it is known ("—" otherwise, never a partial sum passed off as whole).
  const total = (values: (number | null)[]): number | null => (values.some((v) => v === null) ? null : values.reduce<number>((n, v) => n + (v ?? 0), 0));
  const rows = total(tables.map((t) => t.rows));
  const fed = tables.filter((t) => t.topics.length > 0 || t.lagError !== null);
  const lag = total(fed.map((t) => t.totalLag));
  const worst = fed.length === 0 || fed.some((t) => t.freshnessLagMs === null) ? null : Math.max(...fed.map((t) => t.freshnessLagMs ?? 0));
  const failed = report.queues.error === null ? report.queues.items.reduce((n, q) => n + q.counts.failed, 0) : null;
  const letters = report.scope.kind === 'admin' ? report.deadLetters.topicTotal : report.deadLetters.tableTotal;
  const card = (id: string, label: string, value: string, bad = false): string => `<div class="stat${bad ? ' bad' : ''}" id="${id}"><span class="label">${e(label)}</span><span class="value">${e(value)}</span></div>`;
  return `<div class="stats" id="summary">${[
    card('summary-tables', 'tables', formatCount(tables.length)),
    card('summary-rows', 'rows', formatCount(rows)),
    card('summary-lag', 'records behind', formatCount(lag), (lag ?? 0) > 0),
    card('summary-freshness', 'worst freshness lag', worst === null ? '—' : worst === 0 ? 'caught up' : formatDuration(worst), (worst ?? 0) > 0),
    card('summary-dlq', 'dead letters', formatCount(letters), (letters ?? 0) > 0),
    ...(report.queues.visible ? [card('summary-failed', 'failed jobs', formatCount(failed), (failed ?? 0) > 0)] : []),
  ].join('')}</div>`;
}

const REFRESH_SCRIPT = `(() => {
  const box = document.getElementById('auto-refresh');
  if (!box) return;
  const seconds = Number(box.dataset.seconds) || 10;
  const key = 'duckhouse.status.auto-refresh';
  let timer;
  try {
    const stored = localStorage.getItem(key);
    if (stored !== null && !box.hasAttribute('data-forced-off')) box.checked = stored === 'on';
  } catch { /* storage disabled: keep the default */ }
  const arm = () => { clearTimeout(timer); if (box.checked) timer = setTimeout(() => location.reload(), seconds * 1000); };
  box.addEventListener('change', () => { try { localStorage.setItem(key, box.checked ? 'on' : 'off'); } catch { /* ignore */ } arm(); });
  arm();
})();`;

/** The whole page for a report. */
export function renderStatusPage(report: StatusReport, options: StatusPageOptions): string {
  const nowMs = Date.parse(report.generatedAt);
  const scope = report.scope.kind === 'admin' ? 'administrator' : `tenant ${report.scope.tenant ?? ''}`;
  const refresh = options.refreshSeconds > 0
    ? `<label class="refresh"><input type="checkbox" id="auto-refresh" data-seconds="${options.refreshSeconds}"${options.refreshForcedOff ? ' data-forced-off' : ' checked'}> auto-refresh every ${options.refreshSeconds} s</label>`
    : '';
  const problems = report.problems.length === 0 ? '' : `<ul class="problems" id="problems">${report.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul>`;
  const json = options.jsonPath === undefined ? '' : ` · <a href="${e(options.jsonPath)}">JSON</a>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${e(STATE_TEXT[report.state])} · DuckHouse status</title>
<style nonce="${e(options.nonce)}">${STATUS_STYLES}</style>
</head>
<body>
<header>
  <h1>DuckHouse status</h1>
  <span class="state ${report.state}" id="overall-state" data-state="${report.state}">${e(STATE_TEXT[report.state])}</span>
  <span class="meta">${e(scope)} · prefix <code>${e(report.prefix)}</code> · generated <time id="generated-at" datetime="${e(report.generatedAt)}">${e(formatUtc(report.generatedAt))}</time>${json}</span>
  ${refresh}
</header>
<main>
${problems}
${summaryCards(report)}
${tablesSection(report, nowMs)}
<section id="freshness"><h2>Freshness per commit</h2><p class="muted small">Each point is one commit: its time, and how long the oldest record it committed had waited since Kafka received it.</p>${renderFreshnessChart(report.tables.items)}</section>
${lagSection(report)}
${queuesSection(report, options.boardPath)}
${deadLettersSection(report)}
${dbtSection(report, nowMs)}
</main>
<footer><p id="freshness-definition"><strong>Definitions.</strong> ${e(report.freshnessDefinition)} A table is <em>stale</em> when it lags for longer than the page's threshold; rows are the records in data files minus position deletes.</p></footer>
${options.refreshSeconds > 0 ? `<script nonce="${e(options.nonce)}">${REFRESH_SCRIPT}</script>` : ''}
</body>
</html>
`;
}
