// The BullMQ workers that keep tables fast and fresh after each commit, one process each or all in one:
//   views      refreshes a table's DuckDB views (ViewRefresher) for each refresh-views job, then tells the dbt
//              worker the table changed (dbt's sources are the views, so a build never runs on views older than
//              the commit that asked for it; refreshes after a compaction change no rows and trigger nothing);
//   compactor  compacts a table (compactTable) for each compact-table job, then asks for a view refresh; a job
//              scheduler enqueues every table periodically, so idle tables still get expiry and orphan removal;
//   dbt        collects changed tables (table-changed jobs) into a pending set and runs one debounced, selected
//              `dbt build` at a time (dbt-build jobs), recording each run.
// Jobs are retried with backoff (queues.ts); a failing dbt model or test fails its job at once (no retry: it would
// fail again) and its tables stay pending for the next run. close() waits for running jobs.
// Must never: run two jobs of one table at once in one queue (deduplication, queues.ts), or lose a changed table.
import type { Job } from 'bullmq';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Catalog } from '../catalog/catalogs/catalog.js';
import { formatIdentifier, tableIdentifier, tablesUnder } from '../catalog/catalogs/catalog.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CompactionResult, CompactTableOptions } from './compaction/compact-table.js';
import { compactTable } from './compaction/compact-table.js';
import type { DbtRunRecord } from './dbt/dbt-runner.js';
import { runDbtBuild } from './dbt/dbt-runner.js';
import { formatDbtRun, recordDbtRun } from './dbt/dbt-runs.js';
import type { DbtBuildJob, TableJob, WorkerKind } from './queues.js';
import { dbtBuildJobOptions, dbtPendingKey, dbtRunsKey, JOB, perTableJobOptions, queueNames, requestRefreshAfterCompaction } from './queues.js';
import type { RefreshResult } from './views/refresher.js';
import { ViewRefresher } from './views/refresher.js';

export interface WorkersOptions {
  /** Opens a new Redis connection (BullMQ needs one per worker; `maxRetriesPerRequest: null`). */
  readonly connect: () => Redis;
  readonly prefix: string;
  readonly kinds: readonly WorkerKind[];
  readonly catalog: Catalog;
  readonly logger: Logger;
  readonly views: { readonly databaseFile: string; readonly cacheDir: string };
  readonly compaction?: Pick<CompactTableOptions, 'policy' | 'tempDir'> & {
    /** Every table is enqueued this often for maintenance (default 15 min; 0 = never). */
    readonly maintenanceEveryMs?: number;
  };
  readonly dbt?: {
    readonly executable: string;
    readonly projectDir: string;
    /** Changes within this window join one run (default 5 s). */
    readonly debounceMs?: number;
    readonly timeoutMs?: number;
    readonly targetDir?: string;
  };
}

type Progress = (percent: number, message: string) => Promise<void>;

const EMPTY_RUN: DbtRunRecord = { id: 'none', status: 'skipped', startedAt: '', durationMs: 0, tables: [], selector: '', models: [], failures: [], exitCode: null };

const progressOf = (job: Job): Progress => async (percent, message) => {
  await job.updateProgress({ percent, message }).catch(() => undefined);
};

export class Workers {
  private readonly workers: Worker[] = [];
  private readonly queues: Queue[] = [];
  private readonly connections: Redis[] = [];
  private readonly names;

  constructor(private readonly options: WorkersOptions) {
    this.names = queueNames(options.prefix);
  }

  private connection(): Redis {
    const redis = this.options.connect();
    this.connections.push(redis);
    return redis;
  }

  private queue(name: string): Queue {
    const queue = new Queue(name, { connection: this.connection() });
    this.queues.push(queue);
    return queue;
  }

  private worker<T, R>(name: string, process: (job: Job<T>) => Promise<R>, describe: (result: R) => Record<string, unknown>, onFinalFailure?: (job: Job<T> | undefined) => Promise<void>): void {
    const log = this.options.logger.child({ queue: name });
    const worker = new Worker<T, R>(name, process, { connection: this.connection(), concurrency: 1, autorun: false });
    worker.on('completed', (job, result) => log.info({ job: job.id, name: job.name, ...describe(result) }, 'job done'));
    worker.on('failed', (job, error) => {
      const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
      log[final ? 'error' : 'warn']({ job: job?.id, name: job?.name, attempt: job?.attemptsMade, error: describeError(error) }, final ? 'job failed' : 'job failed; will retry');
      if (final && onFinalFailure) onFinalFailure(job).catch((e: unknown) => log.error({ job: job?.id, error: describeError(e) }, 'cleanup after a failed job failed'));
    });
    worker.on('error', (error) => log.error({ error: describeError(error) }, 'worker error'));
    this.workers.push(worker as unknown as Worker);
  }

  async start(): Promise<void> {
    const { kinds } = this.options;
    if (kinds.includes('views')) this.startViews();
    if (kinds.includes('compactor')) await this.startCompactor();
    if (kinds.includes('dbt')) this.startDbt();
    for (const worker of this.workers) void worker.run();
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Enqueues a job of every table (the compactor's periodic maintenance). */
  private async requestAll(queue: Queue, name: string): Promise<number> {
    const ids = await tablesUnder(this.options.catalog);
    for (const id of ids) {
      const table = formatIdentifier(id);
      await queue.add(name, { table, snapshotId: null, reason: 'manual', requestedAt: new Date().toISOString() } satisfies TableJob, perTableJobOptions(table));
    }
    return ids.length;
  }

  private startViews(): void {
    const refresher = new ViewRefresher({ catalog: this.options.catalog, databaseFile: this.options.views.databaseFile, cacheDir: this.options.views.cacheDir, logger: this.options.logger.child({ worker: 'views' }) });
    const queue = this.queue(this.names.views);
    const dbt = this.queue(this.names.dbt);
    const changed = async (results: readonly RefreshResult[]): Promise<void> => {
      for (const r of results) {
        if (r.dropped) continue;
        await dbt.add(JOB.tableChanged, { table: r.table, snapshotId: r.snapshotId, reason: 'commit', requestedAt: new Date().toISOString() } satisfies TableJob, perTableJobOptions(r.table));
      }
    };
    this.worker<TableJob | Record<string, never>, RefreshResult | { tables: number }>(this.names.views, async (job) => {
      const progress = (p: number, m: string): void => void progressOf(job)(p, m);
      // At start: every table of the catalog (what changed while no worker ran), and the views of dropped tables go.
      if (job.name === JOB.refreshAllViews) {
        const results = await refresher.refreshAll(progress);
        await changed(results);
        return { tables: results.length };
      }
      const data = job.data as TableJob;
      const result = await refresher.refresh(tableIdentifier(data.table), progress);
      if (data.reason !== 'compaction') await changed([result]);
      return result;
    }, (r) => ({ ...r }));
    void queue.add(JOB.refreshAllViews, {}, { ...perTableJobOptions('*'), attempts: 3 }).catch((error: unknown) => this.options.logger.warn({ error: describeError(error) }, 'could not enqueue the startup refresh'));
  }

  private async startCompactor(): Promise<void> {
    const views = this.queue(this.names.views);
    const compact = this.queue(this.names.compact);
    const every = this.options.compaction?.maintenanceEveryMs ?? 15 * 60_000;
    if (every > 0) await compact.upsertJobScheduler(JOB.maintainAll, { every }, { name: JOB.maintainAll, data: {} });
    this.worker<TableJob | Record<string, never>, CompactionResult | { enqueued: number }>(this.names.compact, async (job) => {
      if (job.name === JOB.maintainAll) return { enqueued: await this.requestAll(compact, JOB.compactTable) };
      const data = job.data as TableJob;
      const result = await compactTable({
        catalog: this.options.catalog,
        identifier: tableIdentifier(data.table),
        logger: this.options.logger.child({ worker: 'compactor' }),
        ...(this.options.compaction?.policy ? { policy: this.options.compaction.policy } : {}),
        ...(this.options.compaction?.tempDir ? { tempDir: this.options.compaction.tempDir } : {}),
        onProgress: progressOf(job),
      });
      await requestRefreshAfterCompaction(views, { ...result, table: data.table });
      return result;
    }, (r) => ('table' in r ? { table: r.table, groups: r.groups, filesBefore: r.filesBefore.data, filesAfter: r.filesAfter.data, manifestsMerged: r.manifestsMerged, conflicts: r.conflicts, expiredSnapshots: r.expiredSnapshots, durationMs: r.durationMs } : r));
  }

  private startDbt(): void {
    const dbt = this.options.dbt;
    if (!dbt) throw new UnrecoverableError('the dbt worker needs dbt options (executable, project)');
    const redis = this.connection();
    const runs = this.queue(this.names.dbtRuns);
    const pending = dbtPendingKey(this.options.prefix);
    const windowMs = dbt.debounceMs ?? 5000;
    // Stage 1: a changed table joins the pending set, and a build is scheduled unless one is already waiting.
    this.worker<TableJob, { table: string }>(this.names.dbt, async (job) => {
      await redis.sadd(pending, job.data.table);
      await runs.add(JOB.dbtBuild, { requestedAt: new Date().toISOString() } satisfies DbtBuildJob, dbtBuildJobOptions(windowMs));
      return { table: job.data.table };
    }, (r) => r);
    // Stage 2: the build moves every pending table into a set of its own (kept until it succeeds, so a retry, a crash
    // or a restart builds the same ones), and puts them back if it fails for good.
    const taken = (jobId: string | undefined): string => `${pending}:job:${jobId ?? 'unknown'}`;
    const giveBack = async (jobId: string | undefined): Promise<void> => {
      await redis.multi().sunionstore(pending, pending, taken(jobId)).del(taken(jobId)).exec();
    };
    this.worker<DbtBuildJob & { tables?: string[] }, DbtRunRecord>(this.names.dbtRuns, async (job) => {
      await job.removeDeduplicationKey().catch(() => false);
      const key = taken(job.id);
      const result = (await redis.multi().sunionstore(key, key, pending).del(pending).smembers(key).exec()) ?? [];
      const tables = [...((result[2]?.[1] as string[] | undefined) ?? [])].sort();
      await job.updateData({ ...job.data, tables });
      // A change that arrived while the previous build started was built by it: nothing left, nothing to record.
      if (tables.length === 0) return { ...EMPTY_RUN, startedAt: new Date().toISOString() };
      const record = await runDbtBuild({
        dbt: dbt.executable,
        projectDir: dbt.projectDir,
        databaseFile: this.options.views.databaseFile,
        tables,
        logger: this.options.logger.child({ worker: 'dbt' }),
        ...(dbt.targetDir ? { targetDir: dbt.targetDir } : {}),
        ...(dbt.timeoutMs ? { timeoutMs: dbt.timeoutMs } : {}),
        onProgress: (p, m) => void progressOf(job)(p, m),
      });
      await recordDbtRun(redis, dbtRunsKey(this.options.prefix), record);
      if (record.status === 'error') {
        // Its tables stay pending: the next build (after the next change) selects them again.
        await giveBack(job.id);
        throw new UnrecoverableError(`dbt build failed: ${formatDbtRun(record)}`);
      }
      await redis.del(key);
      return record;
    }, (r) => ({ status: r.status, durationMs: r.durationMs, models: r.models.length, tables: r.tables }), async (job) => giveBack(job?.id));
  }

  /** Stops taking jobs, waits for running ones, closes connections. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.queues.map((q) => q.close()));
    await Promise.all(this.connections.map((c) => c.quit().catch(() => undefined)));
  }
}
