// Every DuckHouse metric, defined once on one prom-client Registry (`metricsRegistry`), and the typed helpers the
// instrumented code calls (one line at each call site). Names follow Prometheus' conventions: `duckhouse_` prefix, the
// base unit in the name (`_seconds`, `_bytes`, `_rows`), `_total` for counters. Process metrics (CPU, memory, event-loop
// lag, GC, handles) keep prom-client's standard names (`process_*`, `nodejs_*`, unprefixed, so the usual Node.js
// dashboards read them; Prometheus' `job`/`instance` labels tell the processes apart); they are switched on by
// enableProcessMetrics() (the metrics server and metricsText() call it), never merely by importing this module.
// Label values are only table names, topic names, partition numbers and the small fixed sets below (source, kind,
// outcome). Must never: use an offset, key, message, file name or error text as a label value (unbounded series), or
// throw into the code it measures (a sample that cannot be recorded is lost, the commit it describes is not).
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DuckHouseError } from './errors.js';

/** The registry every DuckHouse metric is registered on (one per process). */
export const metricsRegistry = new Registry();
const registers = [metricsRegistry];

/** What became of a commit or a maintenance run: landed, lost to a concurrent writer (conflict, fence), or failed. */
export type Outcome = 'ok' | 'conflict' | 'error';
export type ProducerSource = 'csv' | 'cdc';

// ---- producers (records in) ----

const producerRecords = new Counter({
  name: 'duckhouse_producer_records_total',
  help: 'Records a producer sent to a table topic and Kafka acknowledged (CSV rows incl. deletes; CDC events, truncates once per partition, tombstones).',
  labelNames: ['source', 'topic'] as const, registers,
});
const producerRejected = new Counter({
  name: 'duckhouse_producer_rejected_total',
  help: 'Records a producer sent to the dead-letter topic instead of the table topic (bad CSV rows, CDC values that cannot be converted or encoded), once Kafka acknowledged them.',
  labelNames: ['source', 'topic'] as const, registers,
});

// ---- sink (records in, rows out, latency, batch sizes, lag, dead letters) ----

const sinkRecords = new Counter({
  name: 'duckhouse_sink_records_total',
  help: 'Kafka records the sink took into a batch (rows, deletes, tombstones, replays and dead letters alike).',
  labelNames: ['topic'] as const, registers,
});
const sinkRowsCommitted = new Counter({
  name: 'duckhouse_sink_rows_committed_total',
  help: 'Rows in committed sink snapshots: kind="upsert" rows written to data files (inserts, updates, appends); kind="delete" rows removed by position deletes (deletes, and the old version of each updated row).',
  labelNames: ['table', 'kind'] as const, registers,
});
const sinkCommits = new Counter({
  name: 'duckhouse_sink_commits_total',
  help: 'Sink flushes by outcome: ok (the snapshot landed), conflict (fenced or refused by a concurrent writer: the batch is read again), error (anything else: retried).',
  labelNames: ['table', 'outcome'] as const, registers,
});
const sinkCommitDuration = new Histogram({
  name: 'duckhouse_sink_commit_duration_seconds',
  help: 'Successful sink flushes, from the fence check to the landed commit: writing the Parquet data and position-delete files to storage and the catalog commit with its retries (not the dead-letter commit, not a primary-key index rebuild).',
  labelNames: ['table'] as const, registers,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
});
const sinkFreshness = new Histogram({
  name: 'duckhouse_sink_freshness_seconds',
  help: 'End-to-end freshness per commit: the time the commit landed minus the oldest Kafka record timestamp of its batch (CreateTime, as the producer set it; clamped at 0).',
  labelNames: ['table'] as const, registers,
  buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 14_400],
});
const sinkBatchRows = new Histogram({
  name: 'duckhouse_sink_batch_rows',
  help: 'Rows of each committed batch (for keyed tables the changes kept, one per key).',
  labelNames: ['table'] as const, registers,
  buckets: [1, 10, 100, 1000, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000],
});
const sinkBatchBytes = new Histogram({
  name: 'duckhouse_sink_batch_bytes',
  help: 'Bytes of Kafka keys and values of each committed batch (the flush limit counts the same bytes).',
  labelNames: ['table'] as const, registers,
  buckets: [1024, 16_384, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 134_217_728, 536_870_912],
});
const sinkLastCommit = new Gauge({
  name: 'duckhouse_sink_last_commit_timestamp_seconds',
  help: 'Unix time of the last sink commit of the table that landed (alert on time() minus this).',
  labelNames: ['table'] as const, registers,
});
const sinkConsumerLag = new Gauge({
  name: 'duckhouse_sink_consumer_lag',
  help: 'Messages of a partition not committed to its table yet: the high watermark of the latest fetch minus the next offset the table records. Updated on each fetch and each commit (not while a topic is paused or idle).',
  labelNames: ['topic', 'partition'] as const, registers,
});
const deadLetters = new Counter({
  name: 'duckhouse_dead_letters_total',
  help: 'Records the sink sent to the dead-letter topic (and table), by source topic and kind (decode, schema, constraint).',
  labelNames: ['topic', 'kind'] as const, registers,
});

// ---- compaction ----

const compactionRuns = new Counter({
  name: 'duckhouse_compaction_runs_total',
  help: 'Compactions of a table (rewrite, expiry, orphan removal) by outcome: ok, conflict (a commit lost to a concurrent writer after the retries), error.',
  labelNames: ['table', 'outcome'] as const, registers,
});
const compactionFilesRewritten = new Counter({
  name: 'duckhouse_compaction_files_rewritten_total',
  help: 'Data files a compaction read and rewrote (with their position deletes applied).',
  labelNames: ['table'] as const, registers,
});
const compactionFilesRemoved = new Counter({
  name: 'duckhouse_compaction_files_removed_total',
  help: 'Files compaction took away: kind="data" data files replaced by rewrites, "delete" position-delete files dropped with them, "expired" files deleted by snapshot expiry (data, delete, manifest and manifest-list files), "orphan" files deleted as orphans.',
  labelNames: ['table', 'kind'] as const, registers,
});
const compactionConflicts = new Counter({
  name: 'duckhouse_compaction_conflicts_total',
  help: 'Rewrites dropped and planned again because a concurrent commit deleted rows of their input files.',
  labelNames: ['table'] as const, registers,
});
const compactionDuration = new Histogram({
  name: 'duckhouse_compaction_duration_seconds',
  help: 'Successful compactions of a table, start to end (planning, rewrites, expiry, orphan removal).',
  labelNames: ['table'] as const, registers,
  buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600],
});
const snapshotsExpired = new Counter({
  name: 'duckhouse_snapshots_expired_total',
  help: 'Snapshots removed from table metadata by expiry.',
  labelNames: ['table'] as const, registers,
});

// ---- views and dbt ----

const viewsRefreshes = new Counter({
  name: 'duckhouse_views_refreshes_total',
  help: 'Refreshes of a table\'s DuckDB views by outcome (ok, error).',
  labelNames: ['table', 'outcome'] as const, registers,
});
const viewsRefreshDuration = new Histogram({
  name: 'duckhouse_views_refresh_duration_seconds',
  help: 'Successful refreshes of a table\'s DuckDB views, including the wait for the DuckDB file lock and file downloads.',
  labelNames: ['table'] as const, registers,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
});
const dbtRuns = new Counter({
  name: 'duckhouse_dbt_runs_total',
  help: 'dbt builds by outcome (the run record\'s status): success, error (a model or test failed, a timeout, an abort), skipped (no changed table is a source).',
  labelNames: ['outcome'] as const, registers,
});
const dbtRunDuration = new Histogram({
  name: 'duckhouse_dbt_run_duration_seconds',
  help: 'dbt builds that started dbt, start to end (success or error).',
  registers,
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 2400],
});

/** Every DuckHouse metric's name (not the process metrics): for docs and tests. */
export const DUCKHOUSE_METRICS: readonly string[] = metricsRegistry.getMetricsAsArray().map((m) => m.name);

const processMetricsOn = new WeakSet<Registry>();

/** Adds prom-client's default process metrics (standard names) to the registry, once. */
export function enableProcessMetrics(registry: Registry = metricsRegistry): void {
  if (processMetricsOn.has(registry)) return;
  processMetricsOn.add(registry);
  collectDefaultMetrics({ register: registry });
}

/** conflict for a commit lost to a concurrent writer (CommitConflictError, PartitionFencedError), else error. */
export function outcomeOf(error: unknown): Exclude<Outcome, 'ok'> {
  return error instanceof DuckHouseError && error.kind === 'commit-conflict' ? 'conflict' : 'error';
}

const seconds = (sinceMs: number): number => (performance.now() - sinceMs) / 1000;
const add = (counter: Counter<string>, labels: Record<string, string>, n: number | undefined): void => {
  if (n !== undefined && Number.isFinite(n) && n > 0) counter.inc(labels, n);
};

/** A producer's records that Kafka acknowledged: `sent` to the table topic, `rejected` to the dead-letter topic instead. */
export function producerAcked(source: ProducerSource, topic: string, sent: number, rejected = 0): void {
  add(producerRecords, { source, topic }, sent);
  add(producerRejected, { source, topic }, rejected);
}

/** Records the sink took from one fetched batch of a topic. */
export function sinkConsumed(topic: string, records: number): void {
  add(sinkRecords, { topic }, records);
}

/** Dead letters sent to the DLQ topic, counted by source topic and kind. */
export function deadLettersSent(letters: readonly { readonly topic: string | null; readonly kind: string }[]): void {
  for (const letter of letters) deadLetters.inc({ topic: letter.topic ?? '', kind: letter.kind });
}

export interface BatchFigures {
  readonly rows: number;
  readonly bytes: number;
  /** The oldest Kafka record timestamp of the batch (ms), if known. */
  readonly minTimestampMs: number | undefined;
}

export interface CommitFigures {
  readonly rowsAdded: number;
  readonly rowsDeleted: number;
}

/** Runs one sink flush (`commit`), counting its outcome and, when it lands, its duration, rows, batch size and freshness. */
export async function measureSinkCommit<T extends CommitFigures>(table: string, batch: BatchFigures, commit: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let outcome: T;
  try {
    outcome = await commit();
  } catch (error) {
    sinkCommits.inc({ table, outcome: outcomeOf(error) });
    throw error;
  }
  const now = Date.now();
  sinkCommits.inc({ table, outcome: 'ok' });
  sinkCommitDuration.observe({ table }, seconds(started));
  add(sinkRowsCommitted, { table, kind: 'upsert' }, outcome.rowsAdded);
  add(sinkRowsCommitted, { table, kind: 'delete' }, outcome.rowsDeleted);
  sinkBatchRows.observe({ table }, batch.rows);
  sinkBatchBytes.observe({ table }, batch.bytes);
  if (batch.minTimestampMs !== undefined) sinkFreshness.observe({ table }, Math.max(0, now - batch.minTimestampMs) / 1000);
  sinkLastCommit.set({ table }, now / 1000);
  return outcome;
}

/**
 * The sink's consumer lag per topic-partition: the high watermark of the latest fetch minus the next offset the table
 * records (the claimed offset, then each commit's). One per sink; the gauge series is removed when a partition goes.
 */
export class ConsumerLag {
  private readonly partitions = new Map<string, { highWatermark: bigint | undefined; committed: bigint | undefined }>();

  /** A fetch of the partition: its high watermark, and where the table stood if no commit or claim said so yet. */
  fetched(topic: string, partition: number, highWatermark: string | bigint, position: bigint): void {
    const state = this.state(topic, partition);
    if (/^\d+$/.test(String(highWatermark))) state.highWatermark = BigInt(highWatermark);
    state.committed ??= position;
    this.publish(topic, partition);
  }

  /** The table now records `next` for the partition (a claim, or a commit). */
  committed(topic: string, partition: number, next: bigint | undefined): void {
    this.state(topic, partition).committed = next;
    this.publish(topic, partition);
  }

  /** The partition is no longer this sink's (a rebalance, a reset): its series goes until it is fetched again. */
  forget(topic: string, partition: number): void {
    if (this.partitions.delete(`${topic}:${partition}`)) sinkConsumerLag.remove({ topic, partition: String(partition) });
  }

  private state(topic: string, partition: number): { highWatermark: bigint | undefined; committed: bigint | undefined } {
    const key = `${topic}:${partition}`;
    let state = this.partitions.get(key);
    if (!state) this.partitions.set(key, (state = { highWatermark: undefined, committed: undefined }));
    return state;
  }

  private publish(topic: string, partition: number): void {
    const { highWatermark, committed } = this.state(topic, partition);
    if (highWatermark === undefined || committed === undefined) return;
    const lag = highWatermark - committed;
    sinkConsumerLag.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
  }
}

export interface CompactionFigures {
  readonly rewrittenDataFiles: number;
  readonly removedDeleteFiles: number;
  readonly conflicts: number;
  readonly expiredSnapshots: number;
  readonly expiredFiles: number;
  readonly orphansRemoved: number | undefined;
}

/** Runs one compaction of a table, counting its outcome and, when it succeeds, what it rewrote, removed and expired. */
export async function measureCompaction<T extends CompactionFigures>(table: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let result: T;
  try {
    result = await run();
  } catch (error) {
    compactionRuns.inc({ table, outcome: outcomeOf(error) });
    throw error;
  }
  compactionRuns.inc({ table, outcome: 'ok' });
  compactionDuration.observe({ table }, seconds(started));
  add(compactionFilesRewritten, { table }, result.rewrittenDataFiles);
  add(compactionFilesRemoved, { table, kind: 'data' }, result.rewrittenDataFiles);
  add(compactionFilesRemoved, { table, kind: 'delete' }, result.removedDeleteFiles);
  add(compactionFilesRemoved, { table, kind: 'expired' }, result.expiredFiles);
  add(compactionFilesRemoved, { table, kind: 'orphan' }, result.orphansRemoved);
  add(compactionConflicts, { table }, result.conflicts);
  add(snapshotsExpired, { table }, result.expiredSnapshots);
  return result;
}

/** Runs one refresh of a table's views, counting its outcome and timing it when it succeeds. */
export async function measureViewsRefresh<T>(table: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await run();
    viewsRefreshes.inc({ table, outcome: 'ok' });
    viewsRefreshDuration.observe({ table }, seconds(started));
    return result;
  } catch (error) {
    viewsRefreshes.inc({ table, outcome: 'error' });
    throw error;
  }
}

/** A finished dbt build (its run record): counted by status, timed when dbt ran (not skipped, not refused before starting). */
export function dbtRunFinished(record: { readonly status: 'success' | 'error' | 'skipped'; readonly durationMs: number }): void {
  dbtRuns.inc({ outcome: record.status });
  if (record.status !== 'skipped' && record.durationMs > 0) dbtRunDuration.observe(record.durationMs / 1000);
}
