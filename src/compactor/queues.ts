// The BullMQ queues DuckHouse's workers share, their job types and options: one module (ARCHITECTURE.md). The sink
// publishes one commit event per table commit; the publisher fans it out as work for each worker and appends it to a
// capped commit log (a Redis stream) for status pages and tests.
//   <prefix>-views    refresh-views   one pending job per table (a commit while one runs queues exactly one more)
//   <prefix>-compact  compact-table   throttled per table: a commit asks for a look DEFAULT_COMPACTION_DELAY_MS
//                                     later, and commits meanwhile join it
//   <prefix>-dbt      table-changed   added by the views worker once a table's views show a commit (dbt's sources
//                                     are the views); one pending job per table; turned into debounced runs:
//   <prefix>-dbt-runs dbt-build       at most one waiting, delayed by the debounce window; tables in a Redis set
// Must never: put row data or secrets in a job (events say what changed, not the data).
import type { JobsOptions } from 'bullmq';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** The sink's commit event: what one table commit changed. */
export interface CommitEvent {
  /** `namespace.table`. */
  readonly table: string;
  /** Decimal string (snapshot ids are 63-bit). */
  readonly snapshotId: string | null;
  readonly rowsAdded: number;
  readonly rowsDeleted: number;
  readonly dataFiles: number;
  readonly deleteFiles: number;
  /** Next offset per topic, per partition, as committed. */
  readonly offsets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** ISO-8601 time of the commit. */
  readonly committedAt: string;
}

/** A table to work on, and why. `snapshotId` is the newest snapshot the requester knew of (the worker reloads). */
export interface TableJob {
  readonly table: string;
  readonly snapshotId: string | null;
  /** `commit` (from the sink), `compaction` (same rows, new files: no dbt build) or `manual` (the CLI). */
  readonly reason: 'commit' | 'compaction' | 'manual';
  readonly requestedAt: string;
}

/** A debounced dbt build; the changed tables are in the pending set, not in the job. */
export interface DbtBuildJob {
  readonly requestedAt: string;
}

export const JOB = {
  refreshViews: 'refresh-views',
  /** Every table's views (the views worker enqueues one when it starts). */
  refreshAllViews: 'refresh-all-views',
  compactTable: 'compact-table',
  /** Enqueues a compact-table job for every table (a job scheduler adds one periodically). */
  maintainAll: 'maintain-all',
  tableChanged: 'table-changed',
  dbtBuild: 'dbt-build',
} as const;

export type WorkerKind = 'views' | 'compactor' | 'dbt';
export const WORKER_KINDS: readonly WorkerKind[] = ['views', 'compactor', 'dbt'];

export interface QueueNames {
  readonly views: string;
  readonly compact: string;
  readonly dbt: string;
  readonly dbtRuns: string;
}

/** Queue names may not contain ':' (BullMQ's key separator). */
const safe = (prefix: string): string => prefix.replaceAll(':', '-');

export function queueNames(prefix: string): QueueNames {
  const p = safe(prefix);
  return { views: `${p}-views`, compact: `${p}-compact`, dbt: `${p}-dbt`, dbtRuns: `${p}-dbt-runs` };
}

/** The capped stream every commit event is appended to. */
export const commitLogKey = (prefix: string): string => `duckhouse:${safe(prefix)}:commits`;
/** The set of tables changed since the last dbt build started. */
export const dbtPendingKey = (prefix: string): string => `duckhouse:${safe(prefix)}:dbt-pending`;
/** The list of recorded dbt runs, newest first (capped). */
export const dbtRunsKey = (prefix: string): string => `duckhouse:${safe(prefix)}:dbt-runs`;

export const COMMIT_LOG_LENGTH = 10_000;

/** Retries with exponential backoff (1 s, 2 s, 4 s, …) and bounded history, for every DuckHouse job. */
export const JOB_DEFAULTS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/**
 * Options of a per-table job: deduplicated by table. While a job for the table waits, new ones are dropped (the
 * worker always reads the table's latest state); while one runs, exactly one more is kept to run after it, so a
 * commit landing mid-refresh is never missed and the same table is never worked on twice at once.
 */
export function perTableJobOptions(table: string, reason: TableJob['reason'] = 'commit'): JobsOptions {
  // A refresh after a compaction (no new rows) must not swallow one after a commit (which leads to a dbt build).
  return { ...JOB_DEFAULTS, deduplication: { id: reason === 'compaction' ? `${table}#compaction` : table, keepLastIfActive: true } };
}

/** After a commit the compactor looks at the table this much later (default 30 s): commits meanwhile join that look. */
/**
 * Asks the views workers to refresh a table a compaction changed (a rewrite or an expiry; nothing to do otherwise).
 * Returns whether it asked. The compactor worker and `duckhouse compact` both call it.
 */
export async function requestRefreshAfterCompaction(views: Queue, result: { table: string; snapshotId: string | null; groups: number; manifestsMerged: number; expiredSnapshots: number }): Promise<boolean> {
  if (result.groups === 0 && result.manifestsMerged === 0 && result.expiredSnapshots === 0) return false;
  const job: TableJob = { table: result.table, snapshotId: result.snapshotId, reason: 'compaction', requestedAt: new Date().toISOString() };
  await views.add(JOB.refreshViews, job, perTableJobOptions(result.table, 'compaction'));
  return true;
}

export const DEFAULT_COMPACTION_DELAY_MS = 30_000;

/**
 * Options of a compaction request after a commit: delayed by `delayMs`, and deduplicated per table like every
 * per-table job (commits while it waits join it; one more is kept while it runs), so a table the sink commits to
 * every second is looked at about once per `delayMs`, never by two compactions at once.
 */
export function compactionJobOptions(table: string, delayMs: number): JobsOptions {
  return { ...perTableJobOptions(table), ...(delayMs > 0 ? { delay: delayMs } : {}) };
}

/**
 * Options of the debounced dbt build: the first change schedules a build `windowMs` later; changes inside the window
 * join it (their tables wait in the pending set); the build job frees the slot when it starts, so a change made
 * while dbt runs schedules the next build. A steady stream of commits thus gets one build per window, never none.
 */
export function dbtBuildJobOptions(windowMs: number): JobsOptions {
  return { ...JOB_DEFAULTS, delay: windowMs, deduplication: { id: 'dbt-build', ttl: Math.max(1, windowMs) } };
}

/** Adds per-table jobs to the worker queues and appends commit events to the commit log. */
export class CommitEventPublisher {
  readonly names: QueueNames;
  private readonly queues: Queue[];

  constructor(private readonly connection: Redis, readonly prefix: string, private readonly options: { compactionDelayMs?: number } = {}) {
    this.names = queueNames(prefix);
    this.queues = [this.names.views, this.names.compact].map((name) => new Queue(name, { connection }));
  }

  /** Requests a view refresh (which leads to a dbt build) and a compaction check of a table. */
  async request(job: TableJob): Promise<void> {
    const [views, compact] = this.queues as [Queue, Queue];
    const delay = job.reason === 'manual' ? 0 : this.options.compactionDelayMs ?? DEFAULT_COMPACTION_DELAY_MS;
    await Promise.all([views.add(JOB.refreshViews, job, perTableJobOptions(job.table, job.reason)), compact.add(JOB.compactTable, job, compactionJobOptions(job.table, delay))]);
  }

  async publish(event: CommitEvent): Promise<void> {
    await this.connection.xadd(commitLogKey(this.prefix), 'MAXLEN', '~', String(COMMIT_LOG_LENGTH), '*', 'event', JSON.stringify(event));
    await this.request({ table: event.table, snapshotId: event.snapshotId, reason: 'commit', requestedAt: event.committedAt });
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}

/** The newest commit events of the log, oldest first. */
export async function readCommitLog(connection: Redis, prefix: string, count = 1000): Promise<CommitEvent[]> {
  const entries = await connection.xrevrange(commitLogKey(prefix), '+', '-', 'COUNT', count);
  return entries.reverse().map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1] ?? 'null') as CommitEvent);
}
