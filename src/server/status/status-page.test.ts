import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { renderFreshnessChart } from './status-chart.js';
import { overallState } from './status-data.js';
import { escapeHtml, formatAgo, formatBytes, formatCount, formatDuration } from './status-format.js';
import { renderStatusPage } from './status-page.js';
import type { StatusReport, TableStatus } from './status-types.js';
import { FRESHNESS_DEFINITION, STATUS_REPORT_SCHEMA } from './status-types.js';

const EVIL = '<script>alert("x")</script>&\'`';

function table(name: string, overrides: Partial<TableStatus> = {}): TableStatus {
  const [ns, t] = name.split('.') as [string, string];
  return {
    table: name, namespace: [ns], name: t, role: 'table', error: null, rows: 10, dataFiles: 2, deleteFiles: 0, sizeBytes: 2048, snapshots: 2,
    lastCommitAt: '2025-01-02T03:00:00.000Z', lastSinkCommitAt: '2025-01-02T03:00:00.000Z', freshnessLagMs: 0, freshnessState: 'caught-up',
    topics: [`duckhouse.${name}`], lagError: null, totalLag: 0, partitions: [{ topic: `duckhouse.${name}`, partition: 0, endOffset: 10, committedOffset: 10, lag: 0 }],
    freshness: [
      { snapshotId: '1', committedAt: '2025-01-02T02:59:00.000Z', freshnessSeconds: 2.5 },
      { snapshotId: '2', committedAt: '2025-01-02T03:00:00.000Z', freshnessSeconds: 4 },
    ],
    ...overrides,
  };
}

function report(tables: TableStatus[], overrides: Partial<StatusReport> = {}): StatusReport {
  const partial = {
    generatedAt: '2025-01-02T03:03:00.000Z',
    scope: { kind: 'admin' as const, tenant: null },
    prefix: 'duckhouse',
    freshnessDefinition: FRESHNESS_DEFINITION,
    tables: { error: null, items: tables },
    queues: { error: null, visible: true, items: [{ role: 'views', name: 'duckhouse-views', counts: { waiting: 1, active: 0, delayed: 0, completed: 5, failed: 0 } }] },
    deadLetters: { topic: 'duckhouse.dlq', topicTotal: 3, topicError: null, table: 'duckhouse.dead_letters', tableTotal: 3, tableError: null, byTable: [{ table: EVIL, kind: 'decode', count: 3 }], note: null },
    dbtRuns: { error: null, items: [{ id: EVIL, status: 'error', startedAt: '2025-01-02T03:02:00.000Z', durationMs: 1500, tables: [EVIL], models: { ok: 1, failed: 1, total: 2 }, tests: { passed: 0, failed: 0, total: 0 }, failures: [`model.x: ${EVIL}`] }] },
    ...overrides,
  };
  return { ...partial, ...overallState(partial) };
}

const OPTIONS = { refreshSeconds: 10, nonce: 'n0nce', boardPath: '/status/queues', jsonPath: '/api/v1/status' };

describe('status page', () => {
  it('escapes every piece of user data (table names, ids, messages)', () => {
    const html = renderStatusPage(report([table('sales.orders', { lagError: EVIL, partitions: [] }), table(`evil.${EVIL.replaceAll('.', '')}`)]), OPTIONS);
    assert.doesNotMatch(html, /<script>alert/);
    assert.doesNotMatch(html, /alert\("x"\)/);
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;&#39;&#96;/);
    // The only scripts are the page's own, carrying the nonce.
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, /<script nonce="n0nce">/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from elsewhere');
  });

  it('gives rows, partitions, queues and runs stable data attributes', () => {
    const html = renderStatusPage(report([table('sales.orders')]), OPTIONS);
    assert.match(html, /<tr data-table="sales\.orders" data-state="caught-up">/);
    assert.match(html, /data-field="rows" data-value="10"/);
    assert.match(html, /data-topic="duckhouse\.sales\.orders" data-partition="0"/);
    assert.match(html, /data-queue="views"/);
    assert.match(html, /id="queue-board-link" href="\/status\/queues"/);
    assert.match(html, /id="overall-state" data-state="degraded"/, 'the last dbt run failed');
  });

  it('auto-refresh: on by default, off when asked, absent with 0 seconds', () => {
    assert.match(renderStatusPage(report([]), OPTIONS), /id="auto-refresh" data-seconds="10" checked/);
    assert.match(renderStatusPage(report([]), { ...OPTIONS, refreshForcedOff: true }), /id="auto-refresh" data-seconds="10" data-forced-off>/);
    assert.doesNotMatch(renderStatusPage(report([]), { ...OPTIONS, refreshSeconds: 0 }), /auto-refresh|<script/);
  });

  it('shows a section error without hiding the others', () => {
    const html = renderStatusPage(report([table('sales.orders')], { queues: { error: 'Redis: down', visible: true, items: [] } }), OPTIONS);
    assert.match(html, /data-error-section="queues"[^>]*>.*Redis: down/);
    assert.match(html, /data-table="sales\.orders"/);
    assert.match(html, /id="summary-failed"><span class="label">failed jobs<\/span><span class="value">—</);
  });
});

describe('freshness chart', () => {
  it('draws one series per table with points, with a legend and axis labels', () => {
    const svg = renderFreshnessChart([table('a.one'), table('b.two'), table('c.none', { freshness: [] })]);
    assert.equal(svg.match(/<g class="series"/g)?.length, 2);
    assert.match(svg, /data-series="a\.one" data-points="2"/);
    assert.equal(svg.match(/<li data-legend=/g)?.length, 2);
    assert.match(svg, /commit time \(UTC\)/);
    assert.match(svg, /No commits with timestamps for: c\.none/);
    assert.match(svg, />0 s</);
  });

  it('has an empty state', () => {
    assert.match(renderFreshnessChart([table('a.one', { freshness: [] })]), /no commits with timestamps yet/);
  });
});

describe('overall state', () => {
  it('is the worst of lag, staleness and section errors, one problem per distinct error', () => {
    const ok = report([table('a.one')], { dbtRuns: { error: null, items: [] } });
    assert.deepEqual([ok.state, ok.problems], ['ok', []]);
    const lagging = report([table('a.one', { freshnessState: 'lagging', totalLag: 4, freshnessLagMs: 1000 })], { dbtRuns: { error: null, items: [] } });
    assert.equal(lagging.state, 'lagging');
    const down = report([table('a.one', { lagError: 'Kafka: down' }), table('b.two', { lagError: 'Kafka: down' })], { dbtRuns: { error: null, items: [] } });
    assert.deepEqual([down.state, down.problems], ['degraded', ['a.one, b.two: Kafka: down']]);
  });
});

describe('formatting', () => {
  it('reads like an operator expects', () => {
    assert.equal(escapeHtml('<a href="x">&'), '&lt;a href=&quot;x&quot;&gt;&amp;');
    assert.equal(formatCount(1234567), '1\u202f234\u202f567');
    assert.equal(formatCount(null), '—');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(4200), '4.2 s');
    assert.equal(formatDuration(180_000), '3 min');
    assert.equal(formatAgo('2025-01-02T03:00:00.000Z', Date.parse('2025-01-02T03:03:10.000Z')), '3 min ago');
  });
});

describe('JSON schema', () => {
  it('lets fastify serialize a whole report unchanged (no field dropped)', async () => {
    const app = Fastify();
    const full = report([table('sales.orders', { freshnessState: 'stale', freshnessLagMs: 600_000, totalLag: 5 }), table('x.failed', { error: 'gone', rows: null, dataFiles: null, deleteFiles: null, sizeBytes: null })], { scope: { kind: 'tenant', tenant: 'acme' } });
    app.get('/r', { schema: { response: { 200: STATUS_REPORT_SCHEMA } } }, async () => full);
    const reply = await app.inject({ method: 'GET', url: '/r' });
    assert.deepEqual(reply.json(), JSON.parse(JSON.stringify(full)));
    await app.close();
  });
});
