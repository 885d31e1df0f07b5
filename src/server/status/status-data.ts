// What the status page shows, gathered for one access scope: per table (admin: all; tenant: its namespaces) the
// counts of the current snapshot, commit times, consumer lag per partition (topic end offset − the offset the table's
// snapshot summary records: the table is the source of truth, never the consumer group), freshness and recent commits'
// end-to-end latency; the queues, dead letters and recent dbt runs. Each source is read with a deadline and fails on
// its own: its section carries the error and the rest of the report stands.
// Must never: write anything, show a tenant another tenant's tables, topics, jobs or letters, or invent a number that
// no source gave.
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Catalog, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { formatIdentifier, tablesUnder } from '../../catalog/catalogs/catalog.js';
import { tableOverview } from '../../catalog/read/table-info.js';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import type { TableMetadata } from '../../catalog/spec/table-metadata.js';
import { ancestorsOf, currentSnapshot, snapshotById } from '../../catalog/spec/table-metadata.js';
import type { PartitionKey } from '../../consumers/offsets.js';
import { KAFKA_MIN_TIMESTAMP_PROPERTY, parsePartitionKey, partitionKeyOf, tableProgress } from '../../consumers/offsets.js';
import type { AccessScope } from '../../tenants/scope.js';
import { ownsNamespace, ownsTopic } from '../../tenants/scope.js';
import type { DeadLetterCache } from './status-dead-letters.js';
import { deadLetterTableCounts, deadLetterTopicTotal } from './status-dead-letters.js';
import type { TopicOffsetsResult } from './status-sources.js';
import { errorText, fetchTopicOffsets, mapLimit, readDbtRuns, readQueues, withTimeout } from './status-sources.js';
import type { FreshnessPoint, OverallState, PartitionLag, StatusReport, TableStatus } from './status-types.js';
import { FRESHNESS_DEFINITION } from './status-types.js';

export interface StatusLimits {
  /** Commits per table on the freshness chart (newest first, those with timestamps). Default 50. */
  readonly chartPoints: number;
  /** Tables loaded, and topics' offsets fetched, at once. Default 8. */
  readonly concurrency: number;
  /** Deadline of each source (catalog, Kafka, Redis), in ms. Default 8000. */
  readonly timeoutMs: number;
  /** The DLQ table is scanned for per-table counts up to this many records. Default 100 000. */
  readonly dlqScanMaxRows: number;
  /** A lagging table whose freshness lag reaches this is `stale`. Default 5 minutes. */
  readonly staleAfterMs: number;
  /** Recent dbt runs shown. Default 10. */
  readonly dbtRuns: number;
}

export const DEFAULT_STATUS_LIMITS: StatusLimits = { chartPoints: 50, concurrency: 8, timeoutMs: 8000, dlqScanMaxRows: 100_000, staleAfterMs: 5 * 60_000, dbtRuns: 10 };

export interface StatusDeps {
  readonly catalog: Catalog;
  readonly kafka: Kafka;
  /** A connection to the workers' Redis (BullMQ queues, dbt run records). */
  readonly redis: Redis;
  /** Topic and queue prefix (`<prefix>.<ns>.<table>`, `<prefix>-views`, …). Default `duckhouse`. */
  readonly prefix?: string;
  /** The sink's DLQ Iceberg table. Default `duckhouse.dead_letters` (the sink's default). */
  readonly dlqTable?: TableIdentifier;
  /** The DLQ topic. Default `<prefix>.dlq`. */
  readonly dlqTopic?: string;
  /** Clock (ms since the epoch). Default Date.now. */
  readonly now?: () => number;
  readonly limits?: Partial<StatusLimits>;
  /** Kept between reports (the routes keep one): DLQ counts per DLQ table snapshot. */
  readonly cache?: DeadLetterCache;
}

export const DEFAULT_PREFIX = 'duckhouse';
export const DEFAULT_DLQ_TABLE: TableIdentifier = { namespace: ['duckhouse'], name: 'dead_letters' };

/** What a table's metadata says, before Kafka is asked. */
interface TableFacts {
  readonly status: Omit<TableStatus, 'freshnessLagMs' | 'freshnessState' | 'lagError' | 'totalLag' | 'partitions'>;
  /** Next offset per partition, as the table records it. */
  readonly recorded: ReadonlyMap<PartitionKey, bigint>;
  /** True when the topic is only the naming rule's guess (the table records none): a missing topic is no error. */
  readonly guessedTopic: boolean;
  readonly lastSinkCommitMs: number | undefined;
  readonly progressError: string | null;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Recent commits that record their oldest record's Kafka timestamp (KAFKA_MIN_TIMESTAMP_PROPERTY, written by the sink),
 * oldest first: commit time − that timestamp. A commit without it (older sinks, compactions) has no point.
 */
export function freshnessSeries(metadata: TableMetadata, head: Snapshot | undefined, points: number): FreshnessPoint[] {
  const series: FreshnessPoint[] = [];
  for (const snapshot of ancestorsOf(metadata, head?.snapshotId)) {
    if (series.length >= points) break;
    const text = snapshot.summary[KAFKA_MIN_TIMESTAMP_PROPERTY];
    if (text === undefined || !/^\d+$/.test(text)) continue;
    series.push({ snapshotId: snapshot.snapshotId.toString(), committedAt: new Date(snapshot.timestampMs).toISOString(), freshnessSeconds: (snapshot.timestampMs - Number(text)) / 1000 });
  }
  return series.reverse();
}

function tableFacts(id: TableIdentifier, metadata: TableMetadata, deps: Required<Pick<StatusDeps, 'prefix' | 'dlqTable'>>, scope: AccessScope, limits: StatusLimits): TableFacts {
  const head = currentSnapshot(metadata);
  const isDlq = formatIdentifier(id) === formatIdentifier(deps.dlqTable);
  let recorded: ReadonlyMap<PartitionKey, bigint> = new Map();
  let lastSinkCommitMs: number | undefined;
  let progressError: string | null = null;
  try {
    const progress = tableProgress(metadata);
    recorded = progress.offsets;
    if (progress.snapshotId !== undefined) lastSinkCommitMs = snapshotById(metadata, progress.snapshotId)?.timestampMs;
  } catch (error) {
    progressError = `the offsets in the snapshot summary are unreadable: ${errorText(error)}`;
  }
  // The topics the table records (a tenant sees its own only); else the naming rule's `<prefix>.<ns>.<table>`.
  const recordedTopics = [...new Set([...recorded.keys()].map((key) => parsePartitionKey(key).topic))].sort();
  const guessedTopic = recordedTopics.length === 0;
  const guess = `${deps.prefix}.${[...id.namespace, id.name].join('.')}`;
  const topics = isDlq ? [] : (guessedTopic ? [guess] : recordedTopics).filter((t) => ownsTopic(scope, t));
  // The counts every surface shows (table-info.ts): live rows = records − position deletes, files, size, last commit.
  const overview = tableOverview(id, metadata, head?.timestampMs ?? metadata.lastUpdatedMs);
  return {
    status: {
      table: formatIdentifier(id),
      namespace: [...id.namespace],
      name: id.name,
      role: isDlq ? 'dead-letters' : 'table',
      error: null,
      rows: overview.rows,
      dataFiles: overview.dataFiles,
      deleteFiles: overview.deleteFiles,
      sizeBytes: overview.sizeBytes,
      snapshots: overview.snapshots,
      lastCommitAt: overview.lastCommitAt,
      lastSinkCommitAt: iso(lastSinkCommitMs),
      topics,
      freshness: freshnessSeries(metadata, head, limits.chartPoints),
    },
    recorded,
    guessedTopic,
    lastSinkCommitMs: lastSinkCommitMs ?? head?.timestampMs,
    progressError,
  };
}

function failedTable(id: TableIdentifier, error: unknown): TableStatus {
  return {
    table: formatIdentifier(id), namespace: [...id.namespace], name: id.name, role: 'table', error: `loading the table failed: ${errorText(error)}`,
    rows: null, dataFiles: null, deleteFiles: null, sizeBytes: null, snapshots: 0, lastCommitAt: null, lastSinkCommitAt: null,
    freshnessLagMs: null, freshnessState: 'unknown', topics: [], lagError: null, totalLag: null, partitions: [], freshness: [],
  };
}

/** Joins a table's recorded offsets with its topics' end offsets: lag per partition, freshness. */
function withLag(facts: TableFacts, offsets: ReadonlyMap<string, TopicOffsetsResult> | { error: string }, nowMs: number, limits: StatusLimits): TableStatus {
  const unknown = (lagError: string | null): TableStatus => ({ ...facts.status, freshnessLagMs: null, freshnessState: 'unknown', lagError, totalLag: null, partitions: [] });
  if (facts.status.topics.length === 0) return unknown(null);
  if (facts.progressError) return unknown(facts.progressError);
  if ('error' in offsets) return unknown(offsets.error as string);
  const partitions: PartitionLag[] = [];
  const errors: string[] = [];
  for (const topic of facts.status.topics) {
    const result = (offsets as ReadonlyMap<string, TopicOffsetsResult>).get(topic);
    if (!result) errors.push(`the offsets of ${topic} were not read`);
    else if ('error' in result) {
      if (result.missing && facts.guessedTopic) return { ...unknown(null), topics: [] }; // not fed from Kafka
      errors.push(result.error);
    } else {
      for (const { partition, low, high } of result.partitions) {
        const committed = facts.recorded.get(partitionKeyOf(topic, partition)) ?? 0n;
        // Records below the log start are gone: what is left to read starts at the later of the two.
        const from = committed > low ? committed : low;
        partitions.push({ topic, partition, endOffset: Number(high), committedOffset: Number(committed), lag: Number(high > from ? high - from : 0n) });
      }
    }
  }
  if (errors.length > 0) return { ...unknown(errors.join('; ')), partitions };
  const totalLag = partitions.reduce((n, p) => n + p.lag, 0);
  if (totalLag === 0) return { ...facts.status, freshnessLagMs: 0, freshnessState: 'caught-up', lagError: null, totalLag, partitions };
  const since = facts.lastSinkCommitMs;
  const freshnessLagMs = since === undefined ? null : Math.max(0, nowMs - since);
  const freshnessState = freshnessLagMs === null || freshnessLagMs >= limits.staleAfterMs ? 'stale' : 'lagging';
  return { ...facts.status, freshnessLagMs, freshnessState, lagError: null, totalLag, partitions };
}

const SEVERITY: Record<OverallState, number> = { ok: 0, lagging: 1, stale: 2, degraded: 3 };

/** The overall state and the reasons it is not ok. */
export function overallState(report: Omit<StatusReport, 'state' | 'problems'>): { state: OverallState; problems: string[] } {
  let state: OverallState = 'ok';
  const problems: string[] = [];
  const raise = (to: OverallState, problem: string): void => {
    if (SEVERITY[to] > SEVERITY[state]) state = to;
    problems.push(problem);
  };
  if (report.tables.error) raise('degraded', `tables: ${report.tables.error}`);
  // One line per distinct error (Kafka down is one problem, not one per table).
  const errors = new Map<string, string[]>();
  for (const t of report.tables.items) {
    const error = t.error ?? t.lagError;
    if (error) errors.set(error, [...(errors.get(error) ?? []), t.table]);
    else if (t.freshnessState === 'stale') raise('stale', `${t.table} is ${t.totalLag} records behind its topic`);
    else if (t.freshnessState === 'lagging') raise('lagging', `${t.table} is ${t.totalLag} records behind its topic`);
  }
  for (const [error, tables] of errors) raise('degraded', `${tables.length > 3 ? `${tables.slice(0, 3).join(', ')} and ${tables.length - 3} more` : tables.join(', ')}: ${error}`);
  if (report.queues.error) raise('degraded', `queues: ${report.queues.error}`);
  for (const q of report.queues.items) if (q.counts.failed > 0) raise('degraded', `${q.counts.failed} failed job${q.counts.failed === 1 ? '' : 's'} in ${q.name}`);
  const dlq = report.deadLetters;
  if (dlq.topicError) raise('degraded', `dead letters: ${dlq.topicError}`);
  if (dlq.tableError) raise('degraded', `dead letters: ${dlq.tableError}`);
  if (report.dbtRuns.error) raise('degraded', `dbt runs: ${report.dbtRuns.error}`);
  const lastRun = report.dbtRuns.items[0];
  if (lastRun?.status === 'error') raise('degraded', `the last dbt run (${lastRun.id}) failed`);
  return { state, problems };
}

/** Settles `promise` into its value or an error text naming the source (a section's error). */
async function settle<T>(source: string, promise: Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await promise };
  } catch (error) {
    const text = errorText(error);
    return { error: text.startsWith(source) ? text : `${source}: ${text}` };
  }
}

/** The status report for `scope`. Never throws for a source that fails: that section says why. */
export async function collectStatus(deps: StatusDeps, scope: AccessScope): Promise<StatusReport> {
  const limits: StatusLimits = { ...DEFAULT_STATUS_LIMITS, ...deps.limits };
  const prefix = deps.prefix ?? DEFAULT_PREFIX;
  const dlqTable = deps.dlqTable ?? DEFAULT_DLQ_TABLE;
  const dlqTopic = deps.dlqTopic ?? `${prefix}.dlq`;
  const nowMs = (deps.now ?? Date.now)();
  const { catalog, kafka, redis } = deps;
  const deadline = <T>(promise: Promise<T>, what: string): Promise<T> => withTimeout(promise, limits.timeoutMs, what);

  const queues = scope.kind === 'admin' ? settle('Redis', deadline(readQueues(redis, prefix), 'Redis (queue counts)')) : Promise.resolve({ value: [] });
  const dbtRuns = settle('Redis', deadline(readDbtRuns(redis, prefix, scope, limits.dbtRuns), 'Redis (dbt runs)'));
  const dlqCounts = deadline(deadLetterTableCounts({ catalog, table: dlqTable, scope, maxScanRows: limits.dlqScanMaxRows, ...(deps.cache ? { cache: deps.cache } : {}) }), `the DLQ table ${formatIdentifier(dlqTable)}`)
    .catch((error: unknown) => ({ tableTotal: null, tableError: errorText(error), byTable: [], note: null }));

  // Tables, then one Kafka round for every topic they name (and the DLQ topic, for an admin).
  const facts = await settle('the catalog', deadline((async () => {
    const ids = (await tablesUnder(catalog, scope.kind === 'admin' ? [] : scope.tenant.namespace)).filter((id) => ownsNamespace(scope, id.namespace));
    ids.sort((a, b) => formatIdentifier(a).localeCompare(formatIdentifier(b)));
    return mapLimit(ids, limits.concurrency, async (id) => {
      try {
        return tableFacts(id, (await catalog.loadTable(id)).metadata, { prefix, dlqTable }, scope, limits);
      } catch (error) {
        return failedTable(id, error);
      }
    });
  })(), 'the catalog'));
  const loaded = 'value' in facts ? facts.value : [];
  const topics = loaded.flatMap((f) => ('recorded' in f ? f.status.topics : []));
  if (scope.kind === 'admin') topics.push(dlqTopic);
  const offsets = await settle('Kafka', deadline(fetchTopicOffsets(kafka, topics, limits.concurrency), 'Kafka'));
  const offsetsOrError = 'value' in offsets ? offsets.value : { error: offsets.error };
  const tables = loaded.map((f) => ('recorded' in f ? withLag(f, offsetsOrError, nowMs, limits) : f));

  const queuesResult = await queues;
  const runsResult = await dbtRuns;
  const topicPart = scope.kind === 'admin'
    ? ('error' in offsetsOrError ? { topicTotal: null, topicError: offsetsOrError.error } : deadLetterTopicTotal(offsetsOrError.get(dlqTopic), dlqTopic))
    : { topicTotal: null, topicError: null };
  const partial: Omit<StatusReport, 'state' | 'problems'> = {
    generatedAt: new Date(nowMs).toISOString(),
    scope: { kind: scope.kind, tenant: scope.kind === 'tenant' ? scope.tenant.id : null },
    prefix,
    freshnessDefinition: FRESHNESS_DEFINITION,
    tables: { error: 'error' in facts ? facts.error : null, items: tables },
    queues: { error: 'error' in queuesResult ? queuesResult.error : null, visible: scope.kind === 'admin', items: 'value' in queuesResult ? queuesResult.value : [] },
    deadLetters: { topic: dlqTopic, ...topicPart, table: formatIdentifier(dlqTable), ...(await dlqCounts) },
    dbtRuns: { error: 'error' in runsResult ? runsResult.error : null, items: 'value' in runsResult ? runsResult.value : [] },
  };
  return { ...partial, ...overallState(partial) };
}
