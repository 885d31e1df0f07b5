// `duckhouse compact [tables…] | --all`: compacts tables now, in this process (rewrite small files and files with many
// deletes, expire snapshots, remove orphans; the same compactTable the compactor worker runs, with the same
// conflict checks), showing progress per table, then asks the views workers to refresh. `--enqueue` hands the tables
// to the running compactor workers instead. Exit code 0 when every table was done, 1 when any failed (the others are
// still done; each failure is printed with its table).
// Must never: stop at the first failing table, or print credentials.
import { Command, Option } from 'commander';
import { Queue } from 'bullmq';
import { formatIdentifier, tableIdentifier, tablesUnder } from '../catalog/catalogs/catalog.js';
import type { TableIdentifier } from '../catalog/catalogs/catalog.js';
import type { CompactionResult } from '../compactor/compaction/compact-table.js';
import { compactTable } from '../compactor/compaction/compact-table.js';
import type { CompactionPolicy } from '../compactor/compaction/policy.js';
import { JOB, perTableJobOptions, queueNames, requestRefreshAfterCompaction } from '../compactor/queues.js';
import type { TableJob } from '../compactor/queues.js';
import { DuckHouseError, describeError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { connectRedis } from '../shared/redis.js';
import { readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import { addJsonOption, addPrefixOption, addQuietOption, positiveInt } from './common-options.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './output.js';
import { plural, size, toJson } from './output.js';
import { startProgress } from './progress.js';
import { parseBytes } from './sink-command.js';

interface CompactFlags extends CatalogFlags {
  all: boolean;
  rewrite: boolean;
  expire: boolean;
  orphans: 'auto' | 'always' | 'never';
  minInputFiles?: number;
  targetFileSize?: number;
  enqueue: boolean;
  refreshViews: boolean;
  prefix: string;
  json: boolean;
  quiet: boolean;
}

function describeResult(r: CompactionResult): string {
  const files = `data files ${r.filesBefore.data} → ${r.filesAfter.data}, delete files ${r.filesBefore.deletes} → ${r.filesAfter.deletes}`;
  const work = r.groups === 0 ? 'nothing to rewrite' : `${plural(r.rewrittenDataFiles, 'file')} rewritten into ${r.addedDataFiles} (${r.rowsRewritten.toLocaleString('en-US')} rows, ${r.rowsDeleted.toLocaleString('en-US')} deleted rows dropped, ${size(r.bytesRead)} read, ${size(r.bytesWritten)} written)`;
  const extra = [
    r.conflicts > 0 ? `${plural(r.conflicts, 'rewrite')} dropped for concurrent deletes` : '',
    r.manifestsMerged > 0 ? `${plural(r.manifestsMerged, 'manifest')} merged` : '',
    r.expiredSnapshots > 0 ? `${plural(r.expiredSnapshots, 'snapshot')} expired (${plural(r.expiredFiles, 'file')} deleted)` : '',
    r.orphansRemoved ? `${plural(r.orphansRemoved, 'orphan file')} removed` : '',
  ].filter(Boolean);
  return `${r.table}: ${work}; ${files}${extra.length > 0 ? `; ${extra.join('; ')}` : ''} in ${(r.durationMs / 1000).toFixed(1)} s`;
}

async function targets(flags: CompactFlags, names: string[], list: () => Promise<TableIdentifier[]>): Promise<TableIdentifier[]> {
  if (flags.all && names.length > 0) throw new DuckHouseError('config', 'give table names or --all, not both');
  if (!flags.all && names.length === 0) throw new DuckHouseError('config', 'name the tables to compact (namespace.table …), or pass --all');
  return flags.all ? list() : names.map((n) => tableIdentifier(n));
}

async function enqueue(queue: Queue, ids: readonly TableIdentifier[], reason: TableJob['reason']): Promise<void> {
  for (const id of ids) {
    const table = formatIdentifier(id);
    await queue.add(JOB.compactTable, { table, snapshotId: null, reason, requestedAt: new Date().toISOString() } satisfies TableJob, perTableJobOptions(table, reason));
  }
}

export function compactCommand(out: Output = process.stdout): Command {
  const command = new Command('compact')
    .description('compact tables now: rewrite small files and files with many deletes, expire old snapshots, remove orphan files (or --enqueue for the workers)')
    .argument('[tables...]', 'namespace.table names')
    .option('--all', 'every table of the catalog', false)
    .option('--no-rewrite', 'skip rewriting files (expiry and orphan removal only)')
    .option('--no-expire', 'keep every snapshot')
    .addOption(new Option('--orphans <when>', 'remove unreferenced files older than the table\'s orphan age: auto (at most hourly per table), always, never').choices(['auto', 'always', 'never']).default('auto'))
    .option('--min-input-files <n>', 'rewrite a partition\'s small files once it has this many (default: the table property, else 5)', positiveInt)
    .option('--target-file-size <size>', 'size of rewritten files, e.g. 256MiB (default: write.target-file-size-bytes, else 512MiB)', parseBytes)
    .option('--enqueue', 'queue compaction jobs for the running `duckhouse workers` instead of compacting here', false)
    .option('--no-refresh-views', 'do not ask the views workers to refresh the compacted tables');
  addPrefixOption(command, 'queue prefix of the workers (queues <prefix>-*)');
  addJsonOption(command, 'print the results as JSON');
  addQuietOption(command);
  addCatalogOptions(command);
  return command.action(async (names: string[], flags: CompactFlags) => {
    const stack = readEndpoints();
    const catalog = openCatalog(flags, stack);
    const logger = createLogger('compact', process.env.DUCKHOUSE_LOG_LEVEL ?? 'warn');
    let redis: ReturnType<typeof connectRedis> | undefined;
    try {
      const ids = await targets(flags, names, () => tablesUnder(catalog));
      const queues = queueNames(flags.prefix);
      const queueOf = (name: string): Queue => {
        redis ??= connectRedis(stack.redis);
        return new Queue(name, { connection: redis });
      };
      if (flags.enqueue) {
        const queue = queueOf(queues.compact);
        await enqueue(queue, ids, 'manual');
        await queue.close();
        out.write(flags.json ? toJson({ enqueued: ids.map(formatIdentifier) }) : `queued ${plural(ids.length, 'table')} on ${queues.compact}; \`duckhouse workers status\` shows progress\n`);
        return;
      }
      const policy: Partial<CompactionPolicy> = {
        ...(flags.minInputFiles ? { minInputFiles: flags.minInputFiles } : {}),
        ...(flags.targetFileSize ? { targetFileSizeBytes: flags.targetFileSize } : {}),
      };
      const results: CompactionResult[] = [];
      const failures: { table: string; error: string }[] = [];
      for (const id of ids) {
        const table = formatIdentifier(id);
        const progress = startProgress({ quiet: flags.quiet || flags.json, unit: '%', total: 100, suffix: `| ${table} {step}` });
        try {
          const result = await compactTable({
            catalog,
            identifier: id,
            logger,
            policy,
            rewrite: flags.rewrite,
            expire: flags.expire,
            removeOrphans: flags.orphans === 'auto' ? 'auto' : flags.orphans === 'always',
            onProgress: (percent, message) => progress.update(percent, { step: message.slice(0, 60) }),
          });
          progress.stop();
          results.push(result);
          if (!flags.json) out.write(`${describeResult(result)}\n`);
        } catch (error) {
          progress.stop();
          failures.push({ table, error: describeError(error) });
          if (!flags.json) process.stderr.write(`duckhouse: compacting ${table} failed: ${describeError(error)}\n`);
        }
      }
      const changed = results.filter((r) => r.groups > 0 || r.manifestsMerged > 0 || r.expiredSnapshots > 0);
      if (flags.refreshViews && changed.length > 0) {
        try {
          const views = queueOf(queues.views);
          for (const result of changed) await requestRefreshAfterCompaction(views, result);
          await views.close();
        } catch (error) {
          process.stderr.write(`duckhouse: the views workers were not asked to refresh (${describeError(error)}); they catch up at their next refresh\n`);
        }
      }
      if (flags.json) out.write(toJson({ results, failures }));
      else if (ids.length > 1) out.write(`${plural(results.length, 'table')} compacted${failures.length > 0 ? `, ${failures.length} failed` : ''}\n`);
      if (failures.length > 0) process.exitCode = EXIT.FAILURE;
    } finally {
      await redis?.quit().catch(() => undefined);
      await catalog.close().catch(() => undefined);
    }
  });
}
