// `duckhouse worker views|compactor|dbt`, `duckhouse workers` (all three in one process) and `duckhouse workers
// status` (queue counts, failed jobs, recent dbt runs). Workers run until SIGINT/SIGTERM, which lets running jobs
// finish; a second signal exits at once (130). Reads the running stack's endpoints; never prints credentials.
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import { Command as CommandClass, InvalidArgumentError } from 'commander';
import { recentDbtRuns, formatDbtRun } from '../compactor/dbt/dbt-runs.js';
import { defaultViewsCacheDir } from '../compactor/duckdb-file.js';
import type { QueueNames, WorkerKind } from '../compactor/queues.js';
import { queueCounts } from '../compactor/worker-status.js';
import { dbtPendingKey, dbtRunsKey, queueNames, WORKER_KINDS } from '../compactor/queues.js';
import { Workers } from '../compactor/workers.js';
import { createLogger } from '../shared/logger.js';
import { connectRedis } from '../shared/redis.js';
import { loadStackConfig, PROJECT_ROOT, readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import type { MetricsFlags } from './common-options.js';
import { addDuckDBOption, addMetricsOptions, addPrefixOption, DEFAULT_PREFIX, metricsServerFor } from './common-options.js';
import { stopOnSignal } from './signals.js';
import { parseDuration } from './sink-command.js';

interface WorkerFlags extends CatalogFlags, MetricsFlags {
  prefix: string;
  duckdb?: string;
  viewsCache?: string;
  dbtProject: string;
  dbtDebounce: number;
  dbtTimeout: number;
  maintenanceEvery: number;
}

/** Where the views live by default: `$DUCKHOUSE_DUCKDB`, else `<stack dir>/duckdb/duckhouse.duckdb`. */
export function defaultDuckDBFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DUCKHOUSE_DUCKDB ?? path.join(loadStackConfig(env).paths.stackDir, 'duckdb', 'duckhouse.duckdb'));
}

function parseKinds(text: string): WorkerKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean);
  for (const kind of kinds) if (!WORKER_KINDS.includes(kind as WorkerKind)) throw new InvalidArgumentError(`expected worker kinds among ${WORKER_KINDS.join(', ')}, found ${JSON.stringify(kind)}`);
  return kinds as WorkerKind[];
}

function addWorkerOptions(command: Command): Command {
  addPrefixOption(command, 'queue prefix (the sink publishes to <prefix>-views, -compact, -dbt)');
  addDuckDBOption(command);
  addMetricsOptions(command);
  command
    .option('--views-cache <dir>', 'local copies of an S3 warehouse\'s files for the views (default: beside the DuckDB file)')
    .option('--dbt-project <dir>', 'the dbt project', path.join(PROJECT_ROOT, 'dbt'))
    .option('--dbt-debounce <duration>', 'commits within this window join one dbt build', parseDuration, 5000)
    .option('--dbt-timeout <duration>', 'a dbt build running longer is stopped and fails', parseDuration, 20 * 60_000)
    .option('--maintenance-every <duration>', 'enqueue every table for compaction/expiry this often (0 = never)', parseDuration, 15 * 60_000);
  return addCatalogOptions(command);
}

async function runWorkers(kinds: readonly WorkerKind[], flags: WorkerFlags): Promise<void> {
  const stack = readEndpoints();
  const logger = createLogger(kinds.length === 1 ? `worker-${kinds[0]}` : 'workers');
  const databaseFile = flags.duckdb ? path.resolve(flags.duckdb) : defaultDuckDBFile();
  const catalog = openCatalog(flags, stack);
  const workers = new Workers({
    connect: () => connectRedis(stack.redis),
    prefix: flags.prefix,
    kinds,
    catalog,
    logger,
    views: { databaseFile, cacheDir: flags.viewsCache ? path.resolve(flags.viewsCache) : defaultViewsCacheDir(databaseFile) },
    compaction: { maintenanceEveryMs: flags.maintenanceEvery },
    dbt: { executable: stack.python.dbt, projectDir: path.resolve(flags.dbtProject), debounceMs: flags.dbtDebounce, timeoutMs: flags.dbtTimeout, targetDir: path.join(path.dirname(databaseFile), 'dbt-runs') },
  });
  await workers.start();
  process.stderr.write(`workers running: ${kinds.join(', ')} on queues ${flags.prefix}-*; DuckDB file ${databaseFile}\n`);
  const metrics = await metricsServerFor(flags);
  await stopOnSignal(logger, () => workers.close(), { stopping: 'stopping: letting running jobs finish', abort: 'second signal: exiting now' });
  await metrics?.close();
  await catalog.close();
  process.stdout.write('workers stopped\n');
}

async function printStatus(prefix: string): Promise<void> {
  const stack = readEndpoints();
  const redis = connectRedis(stack.redis);
  try {
    const names = queueNames(prefix);
    const counts = await queueCounts(redis, prefix);
    for (const [role, name] of Object.entries(names) as [keyof QueueNames, string][]) {
      process.stdout.write(`${role.padEnd(8)} ${name.padEnd(28)} ${Object.entries(counts[role]).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
      if (counts[role].failed === 0) continue;
      const queue = new Queue(name, { connection: redis });
      for (const job of await queue.getFailed(0, 2)) process.stdout.write(`         failed ${job.name} ${JSON.stringify(job.data).slice(0, 80)}: ${job.failedReason}\n`);
      await queue.close();
    }
    const pending = await redis.smembers(dbtPendingKey(prefix));
    process.stdout.write(`dbt pending tables: ${pending.length > 0 ? pending.sort().join(', ') : 'none'}\n`);
    const runs = await recentDbtRuns(redis, dbtRunsKey(prefix), 5);
    process.stdout.write(runs.length === 0 ? 'no dbt runs recorded\n' : `recent dbt runs (newest first):\n${runs.map((r) => `  ${formatDbtRun(r)}`).join('\n')}\n`);
  } finally {
    await redis.quit();
  }
}

export function workerCommand(): Command {
  const command = new CommandClass('worker')
    .description('run one BullMQ worker: views (DuckDB views), compactor (compaction, expiry, orphans) or dbt (debounced dbt builds)')
    .argument('<kind>', `one of ${WORKER_KINDS.join(', ')}`, (value: string) => parseKinds(value)[0]!);
  return addWorkerOptions(command).action(async (kind: WorkerKind, flags: WorkerFlags) => runWorkers([kind], flags));
}

export function workersCommand(): Command {
  const command = new CommandClass('workers')
    .description('run the views, compactor and dbt workers in one process (or `workers status`)')
    .option('--only <kinds>', `comma-separated subset of ${WORKER_KINDS.join(', ')}`, parseKinds);
  addWorkerOptions(command).action(async (flags: WorkerFlags & { only?: WorkerKind[] }) => runWorkers(flags.only ?? WORKER_KINDS, flags));
  command
    .command('status')
    .description('queue counts, recent failures, pending dbt tables and the last dbt runs')
    .option('--prefix <prefix>', 'queue prefix', DEFAULT_PREFIX)
    .action(async (flags: { prefix: string }) => printStatus(flags.prefix));
  return command;
}
