import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitConflictError, DuckHouseError, PartitionFencedError } from './errors.js';
import {
  ConsumerLag, dbtRunFinished, deadLettersSent, DUCKHOUSE_METRICS, enableProcessMetrics, measureCompaction, measureSinkCommit, measureViewsRefresh,
  metricsRegistry, outcomeOf, producerAcked, sinkConsumed,
} from './metrics.js';

/** The value of one series (of a histogram: `<name>_count` or `<name>_sum`), or undefined when it has none. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const base = metricsRegistry.getSingleMetric(name) ? name : name.replace(/_(count|sum)$/, '');
  const metric = metricsRegistry.getSingleMetric(base);
  assert.ok(metric, `no metric ${name}`);
  const same = (found: Record<string, string | number | undefined>): boolean => {
    const keys = Object.keys(found).filter((k) => k !== 'le');
    return keys.length === Object.keys(labels).length && keys.every((k) => String(found[k]) === labels[k]);
  };
  const { values } = await metric.get();
  return values.find((v) => ((v as { metricName?: string }).metricName ?? base) === name && same(v.labels))?.value;
}

const unique = (): string => `t${Math.random().toString(16).slice(2, 10)}`;

const EXPECTED: Record<string, { type: string; labels: string[] }> = {
  duckhouse_producer_records_total: { type: 'counter', labels: ['source', 'topic'] },
  duckhouse_producer_rejected_total: { type: 'counter', labels: ['source', 'topic'] },
  duckhouse_sink_records_total: { type: 'counter', labels: ['topic'] },
  duckhouse_sink_rows_committed_total: { type: 'counter', labels: ['table', 'kind'] },
  duckhouse_sink_commits_total: { type: 'counter', labels: ['table', 'outcome'] },
  duckhouse_sink_commit_duration_seconds: { type: 'histogram', labels: ['table'] },
  duckhouse_sink_freshness_seconds: { type: 'histogram', labels: ['table'] },
  duckhouse_sink_batch_rows: { type: 'histogram', labels: ['table'] },
  duckhouse_sink_batch_bytes: { type: 'histogram', labels: ['table'] },
  duckhouse_sink_last_commit_timestamp_seconds: { type: 'gauge', labels: ['table'] },
  duckhouse_sink_consumer_lag: { type: 'gauge', labels: ['topic', 'partition'] },
  duckhouse_dead_letters_total: { type: 'counter', labels: ['topic', 'kind'] },
  duckhouse_compaction_runs_total: { type: 'counter', labels: ['table', 'outcome'] },
  duckhouse_compaction_files_rewritten_total: { type: 'counter', labels: ['table'] },
  duckhouse_compaction_files_removed_total: { type: 'counter', labels: ['table', 'kind'] },
  duckhouse_compaction_conflicts_total: { type: 'counter', labels: ['table'] },
  duckhouse_compaction_duration_seconds: { type: 'histogram', labels: ['table'] },
  duckhouse_snapshots_expired_total: { type: 'counter', labels: ['table'] },
  duckhouse_views_refreshes_total: { type: 'counter', labels: ['table', 'outcome'] },
  duckhouse_views_refresh_duration_seconds: { type: 'histogram', labels: ['table'] },
  duckhouse_dbt_runs_total: { type: 'counter', labels: ['outcome'] },
  duckhouse_dbt_run_duration_seconds: { type: 'histogram', labels: [] },
};

describe('metrics registry', () => {
  it('defines every DuckHouse metric once, with its type, labels and a unit-bearing name', async () => {
    assert.deepEqual([...DUCKHOUSE_METRICS].sort(), Object.keys(EXPECTED).sort());
    const json = await metricsRegistry.getMetricsAsJSON();
    for (const [name, want] of Object.entries(EXPECTED)) {
      const metric = json.find((m) => m.name === name);
      assert.ok(metric, name);
      assert.equal(metric.type, want.type, name);
      assert.ok(metric.help.length > 20, `${name} says what it measures`);
      assert.deepEqual((metricsRegistry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames, want.labels, name);
      if (want.type === 'counter') assert.match(name, /_total$/);
      if (want.type === 'histogram') assert.match(name, /_(seconds|rows|bytes)$/);
      assert.match(name, /^duckhouse_[a-z_]+$/);
    }
  });

  it('producer and sink counters increment; nothing is counted for zero or negative amounts', async () => {
    const topic = unique();
    producerAcked('csv', topic, 3, 1);
    producerAcked('csv', topic, 2);
    producerAcked('cdc', topic, 0, 0);
    sinkConsumed(topic, 5);
    sinkConsumed(topic, 0);
    sinkConsumed(topic, -3);
    assert.equal(await value('duckhouse_producer_records_total', { source: 'csv', topic }), 5);
    assert.equal(await value('duckhouse_producer_rejected_total', { source: 'csv', topic }), 1);
    assert.equal(await value('duckhouse_producer_records_total', { source: 'cdc', topic }), undefined);
    assert.equal(await value('duckhouse_sink_records_total', { topic }), 5);
    deadLettersSent([{ topic, kind: 'decode' }, { topic, kind: 'decode' }, { topic, kind: 'schema' }]);
    assert.equal(await value('duckhouse_dead_letters_total', { topic, kind: 'decode' }), 2);
    assert.equal(await value('duckhouse_dead_letters_total', { topic, kind: 'schema' }), 1);
  });

  it('measureSinkCommit counts outcomes and, for a landed commit, rows, batch size, duration and freshness', async () => {
    const table = unique();
    const result = await measureSinkCommit(table, { rows: 10, bytes: 2048, minTimestampMs: Date.now() - 3000 }, async () => ({ rowsAdded: 8, rowsDeleted: 2 }));
    assert.deepEqual(result, { rowsAdded: 8, rowsDeleted: 2 });
    await assert.rejects(measureSinkCommit(table, { rows: 1, bytes: 1, minTimestampMs: undefined }, () => Promise.reject(new PartitionFencedError('fenced'))), PartitionFencedError);
    await assert.rejects(measureSinkCommit(table, { rows: 1, bytes: 1, minTimestampMs: undefined }, () => Promise.reject(new DuckHouseError('io', 'down'))));
    assert.equal(await value('duckhouse_sink_commits_total', { table, outcome: 'ok' }), 1);
    assert.equal(await value('duckhouse_sink_commits_total', { table, outcome: 'conflict' }), 1);
    assert.equal(await value('duckhouse_sink_commits_total', { table, outcome: 'error' }), 1);
    assert.equal(await value('duckhouse_sink_rows_committed_total', { table, kind: 'upsert' }), 8);
    assert.equal(await value('duckhouse_sink_rows_committed_total', { table, kind: 'delete' }), 2);
    assert.equal(await value('duckhouse_sink_commit_duration_seconds_count', { table }), 1, 'failed commits are not timed');
    assert.equal(await value('duckhouse_sink_batch_rows_sum', { table }), 10);
    assert.equal(await value('duckhouse_sink_batch_bytes_sum', { table }), 2048);
    const freshness = await value('duckhouse_sink_freshness_seconds_sum', { table });
    assert.ok(freshness !== undefined && freshness >= 3 && freshness < 10, `freshness ${freshness}`);
    const last = await value('duckhouse_sink_last_commit_timestamp_seconds', { table });
    assert.ok(last !== undefined && Math.abs(last - Date.now() / 1000) < 5);
  });

  it('outcomeOf: commit conflicts and fences are conflicts, anything else an error', () => {
    assert.equal(outcomeOf(new CommitConflictError('x')), 'conflict');
    assert.equal(outcomeOf(new PartitionFencedError('x')), 'conflict');
    assert.equal(outcomeOf(new DuckHouseError('commit-state-unknown', 'x')), 'error');
    assert.equal(outcomeOf(new Error('x')), 'error');
  });

  it('ConsumerLag: high watermark minus the committed offset, per partition; forgotten partitions lose their series', async () => {
    const topic = unique();
    const lag = new ConsumerLag();
    lag.committed(topic, 0, 10n);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '0' }), undefined, 'no watermark yet');
    lag.fetched(topic, 0, '25', 17n);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '0' }), 15, 'the claimed offset, not the fetch position');
    lag.committed(topic, 0, 25n);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '0' }), 0);
    lag.committed(topic, 1, undefined);
    lag.fetched(topic, 1, '40', 30n);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '1' }), 10, 'nothing committed yet: from the first fetched offset');
    lag.fetched(topic, 1, 'garbage', 30n);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '1' }), 10);
    lag.forget(topic, 1);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '1' }), undefined);
    assert.equal(await value('duckhouse_sink_consumer_lag', { topic, partition: '0' }), 0);
  });

  it('measureCompaction, measureViewsRefresh and dbtRunFinished record what happened', async () => {
    const table = unique();
    await measureCompaction(table, async () => ({ rewrittenDataFiles: 12, removedDeleteFiles: 4, conflicts: 1, expiredSnapshots: 3, expiredFiles: 9, orphansRemoved: undefined }));
    await assert.rejects(measureCompaction(table, () => Promise.reject(new CommitConflictError('lost'))));
    assert.equal(await value('duckhouse_compaction_runs_total', { table, outcome: 'ok' }), 1);
    assert.equal(await value('duckhouse_compaction_runs_total', { table, outcome: 'conflict' }), 1);
    assert.equal(await value('duckhouse_compaction_files_rewritten_total', { table }), 12);
    assert.equal(await value('duckhouse_compaction_files_removed_total', { table, kind: 'data' }), 12);
    assert.equal(await value('duckhouse_compaction_files_removed_total', { table, kind: 'delete' }), 4);
    assert.equal(await value('duckhouse_compaction_files_removed_total', { table, kind: 'expired' }), 9);
    assert.equal(await value('duckhouse_compaction_files_removed_total', { table, kind: 'orphan' }), undefined);
    assert.equal(await value('duckhouse_compaction_conflicts_total', { table }), 1);
    assert.equal(await value('duckhouse_snapshots_expired_total', { table }), 3);
    assert.equal(await value('duckhouse_compaction_duration_seconds_count', { table }), 1);

    assert.equal(await measureViewsRefresh(table, async () => 'done'), 'done');
    await assert.rejects(measureViewsRefresh(table, () => Promise.reject(new Error('locked'))));
    assert.equal(await value('duckhouse_views_refreshes_total', { table, outcome: 'ok' }), 1);
    assert.equal(await value('duckhouse_views_refreshes_total', { table, outcome: 'error' }), 1);
    assert.equal(await value('duckhouse_views_refresh_duration_seconds_count', { table }), 1);

    const runs = async (outcome: string): Promise<number> => (await value('duckhouse_dbt_runs_total', { outcome })) ?? 0;
    const timed = async (): Promise<number> => (await value('duckhouse_dbt_run_duration_seconds_count')) ?? 0;
    const before = { success: await runs('success'), skipped: await runs('skipped'), timed: await timed() };
    dbtRunFinished({ status: 'success', durationMs: 4200 });
    dbtRunFinished({ status: 'skipped', durationMs: 0 });
    assert.equal(await runs('success'), before.success + 1);
    assert.equal(await runs('skipped'), before.skipped + 1);
    assert.equal(await timed(), before.timed + 1, 'a skipped run is not timed');
  });

  it('process metrics come with standard names once enabled (idempotent)', async () => {
    enableProcessMetrics();
    enableProcessMetrics();
    const text = await metricsRegistry.metrics();
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
    assert.match(text, /^# TYPE duckhouse_sink_commit_duration_seconds histogram$/m);
  });
});
