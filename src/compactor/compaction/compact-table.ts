// Compacts one table: plans rewrites from the table's thresholds (policy.ts, plan.ts), rewrites each group with its
// position deletes applied (rewrite.ts) and commits it as a `replace` snapshot validated against concurrent deletes;
// then merges the manifests if they piled up (rewrite-manifests), expires old snapshots and, at most once per interval,
// removes orphan files older than the safety window.
// A replace snapshot carries the sink's Kafka offsets and source positions forward, so expiring the sink's own
// snapshots never loses where it stopped. A rewrite that a concurrent delete touched is dropped and planned again.
// Must never: lose a delete (rewrite-files validates; a conflict re-plans), delete a file an unknown commit outcome may
// reference, or remove a delete file that still applies to a data file it does not replace.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Catalog, Table, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { formatIdentifier, tablesUnder } from '../../catalog/catalogs/catalog.js';
import { manifestsOf } from '../../catalog/read/manifests.js';
import type { FileScanTask } from '../../catalog/read/plan-files.js';
import { planFiles } from '../../catalog/read/plan-files.js';
import { LocalFiles } from '../../catalog/read/scan-table.js';
import type { DataFile } from '../../catalog/spec/manifest.js';
import { DataFileContent, referencedDataFileOf } from '../../catalog/spec/manifest.js';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import { ancestorsOf, currentSnapshot, snapshotById } from '../../catalog/spec/table-metadata.js';
import { commitAction } from '../../catalog/transaction/action.js';
import { ExpireSnapshots } from '../../catalog/transaction/expire-snapshots.js';
import { removeOrphanFiles } from '../../catalog/transaction/remove-orphan-files.js';
import { manifestMergePolicy, manifestsToMerge } from '../../catalog/transaction/merge-manifests.js';
import { rewriteFiles } from '../../catalog/transaction/rewrite-files.js';
import { rewriteManifests } from '../../catalog/transaction/rewrite-manifests.js';
import { KAFKA_GROUP_PROPERTY, KAFKA_OFFSETS_PROPERTY, SOURCE_POSITIONS_PROPERTY } from '../../consumers/offsets.js';
import { openDuckDB } from '../../shared/duckdb.js';
import { CommitConflictError, CommitStateUnknownError, describeError } from '../../shared/errors.js';
import { measureCompaction } from '../../shared/metrics.js';
import type { Logger } from '../../shared/logger.js';
import type { PlannedFile, RewriteGroup } from './plan.js';
import { needsDeleteRewrite, planRewrites } from './plan.js';
import type { CompactionPolicy } from './policy.js';
import { compactionPolicy } from './policy.js';
import type { RewriteOptions } from './rewrite.js';
import { deletedRowCounts, referencedLocations, rewriteGroup } from './rewrite.js';

export interface CompactTableOptions {
  readonly catalog: Catalog;
  readonly identifier: TableIdentifier;
  readonly logger: Logger;
  /** Overrides of the table's properties. */
  readonly policy?: Partial<CompactionPolicy>;
  /** Rewrite small files and deletes (default true). */
  readonly rewrite?: boolean;
  /** Expire snapshots past the retention (default true). */
  readonly expire?: boolean;
  /** Remove orphan files: `auto` (default) at most once per `orphanIntervalMs` per table in this process, or always/never. */
  readonly removeOrphans?: 'auto' | boolean;
  /** Plans tried when concurrent deletes touch a rewrite (default 5). */
  readonly maxAttempts?: number;
  readonly tempDir?: string;
  readonly now?: () => number;
  readonly onProgress?: (percent: number, message: string) => void | Promise<void>;
}

export interface CompactionResult {
  readonly table: string;
  /** The current snapshot afterwards. */
  readonly snapshotId: string | null;
  readonly filesBefore: { data: number; deletes: number };
  readonly filesAfter: { data: number; deletes: number };
  readonly groups: number;
  readonly rewrittenDataFiles: number;
  readonly addedDataFiles: number;
  readonly removedDeleteFiles: number;
  readonly rowsRewritten: number;
  readonly rowsDeleted: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** Rewrites dropped because a concurrent commit deleted rows of their input files. */
  readonly conflicts: number;
  /** Manifests merged by a rewrite of the manifests (0 when they had not piled up). */
  readonly manifestsMerged: number;
  readonly expiredSnapshots: number;
  readonly expiredFiles: number;
  readonly orphansRemoved: number | undefined;
  readonly durationMs: number;
}

const lastOrphanRun = new Map<string, number>();

/**
 * The sink's progress properties of the newest ancestor that has them, for a maintenance snapshot to carry: only
 * these (a whitelist), never the properties that describe that ancestor's batch (its Kafka timestamps, commit id).
 */
export function carriedProgress(base: Table, parent: Snapshot | undefined): Record<string, string> {
  const found = ancestorsOf(base.metadata, parent?.snapshotId).find((s) => s.summary[KAFKA_OFFSETS_PROPERTY] !== undefined);
  if (!found) return {};
  const carried: Record<string, string> = {};
  for (const key of [KAFKA_OFFSETS_PROPERTY, SOURCE_POSITIONS_PROPERTY, KAFKA_GROUP_PROPERTY]) if (found.summary[key] !== undefined) carried[key] = found.summary[key];
  return carried;
}

/**
 * Locations of the tables whose default location nests under this one's: those in the namespace named like this
 * table and below (`a.b.c` lives in `<warehouse>/a/b/c`, under `a.b`).
 */
async function nestedTableLocations(catalog: Catalog, id: TableIdentifier): Promise<string[]> {
  const nested = await tablesUnder(catalog, [...id.namespace, id.name]);
  return Promise.all(nested.map(async (table) => (await catalog.loadTable(table)).metadata.location));
}

interface FileCounts { data: number; deletes: number }

const countsOf = (tasks: readonly FileScanTask[]): FileCounts => ({ data: tasks.length, deletes: new Set(tasks.flatMap((t) => t.deletes.map((d) => d.filePath))).size });

async function fileCounts(table: Table): Promise<FileCounts> {
  return countsOf(await planFiles(table));
}

/** Plans with delete counts estimated from delete-file record counts, then exact counts for the files that matter. */
async function plan(table: Table, policy: CompactionPolicy, rewrite: RewriteOptions): Promise<{ groups: RewriteGroup[]; live: Set<string>; counts: FileCounts }> {
  // Files with equality deletes (other writers) are left alone: rewriting them is not ours to do, and they must not
  // stop expiry and orphan removal.
  const all = await planFiles(table);
  const tasks = all.filter((t) => t.deletes.every((d) => d.content === DataFileContent.POSITION_DELETES));
  const estimated: PlannedFile[] = tasks.map((t) => ({ ...t, deletedRows: Math.min(Number(t.file.recordCount), t.deletes.reduce((n, d) => n + Number(d.recordCount), 0)) }));
  const suspects = estimated.filter((f) => needsDeleteRewrite(f, policy));
  let files = estimated;
  if (suspects.length > 0) {
    const deleteFiles = [...new Map(suspects.flatMap((f) => f.deletes).map((d) => [d.filePath, d])).values()];
    const counts = await deletedRowCounts(rewrite, deleteFiles, suspects.map((f) => f.file.filePath));
    files = estimated.map((f) => (f.deletes.length === 0 ? f : { ...f, deletedRows: counts.get(f.file.filePath) ?? (suspects.includes(f) ? 0 : f.deletedRows) }));
  }
  return { groups: planRewrites(files, policy), live: new Set(all.map((t) => t.file.filePath)), counts: countsOf(all) };
}

/** Delete files that apply only to data files being replaced (or no longer live): safe to drop with them. */
async function removableDeletes(rewrite: RewriteOptions, candidates: readonly DataFile[], live: ReadonlySet<string>, replaced: ReadonlySet<string>): Promise<DataFile[]> {
  const unknown = candidates.filter((d) => referencedDataFileOf(d) === undefined);
  const read = await referencedLocations(rewrite, unknown);
  return candidates.filter((deleteFile) => {
    const single = referencedDataFileOf(deleteFile);
    const references = single !== undefined ? [single] : read.get(deleteFile.filePath) ?? [];
    return references.every((location) => replaced.has(location) || !live.has(location));
  });
}

/**
 * Merges the current snapshot's manifests when `commit.manifest.min-count-to-merge` of one spec and content piled up
 * (under commits that do not merge: fast appends, other engines). A failure is logged and leaves expiry and orphan
 * removal to run: merging is tuning.
 */
async function mergeManifests(options: CompactTableOptions, table: Table, log: Logger, progress: (percent: number, message: string) => Promise<void>): Promise<{ table: Table; count: number }> {
  try {
    const policy = manifestMergePolicy(table.metadata);
    const snapshot = currentSnapshot(table.metadata);
    if (!policy.enabled || !snapshot) return { table, count: 0 };
    const manifests = await manifestsOf(table.io, snapshot);
    const count = manifestsToMerge(manifests, policy);
    if (count === 0) return { table, count: 0 };
    await progress(90, `merging ${count} of ${manifests.length} manifests`);
    const action = rewriteManifests({ summary: (base, parent) => ({ ...carriedProgress(base, parent), 'duckhouse.compaction': 'manifests' }) });
    const after = (await commitAction(options.catalog, options.identifier, action)).table;
    return { table: after, count: snapshotById(after.metadata, action.snapshotId) ? count : 0 };
  } catch (error) {
    log.warn({ error: describeError(error) }, 'merging manifests failed; expiry and orphan removal go on');
    return { table: await options.catalog.loadTable(options.identifier), count: 0 };
  }
}

/** Compacts one table (see the top of this file); measured in the duckhouse_compaction_* metrics (metrics.ts). */
export async function compactTable(options: CompactTableOptions): Promise<CompactionResult> {
  return measureCompaction(formatIdentifier(options.identifier), () => compactOnce(options));
}

async function compactOnce(options: CompactTableOptions): Promise<CompactionResult> {
  const started = Date.now();
  const now = options.now ?? Date.now;
  const name = formatIdentifier(options.identifier);
  const log = options.logger.child({ table: name });
  const progress = async (percent: number, message: string): Promise<void> => {
    await options.onProgress?.(Math.round(percent), message);
  };
  let table = await options.catalog.loadTable(options.identifier);
  const policy = compactionPolicy(table.metadata.properties, options.policy);
  let filesBefore: FileCounts | undefined;
  const totals = { groups: 0, rewrittenDataFiles: 0, addedDataFiles: 0, removedDeleteFiles: 0, rowsRewritten: 0, rowsDeleted: 0, bytesRead: 0, bytesWritten: 0, conflicts: 0 };
  const scratch = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'duckhouse-compact-'));
  const { instance, connection } = await openDuckDB();
  try {
    for (let attempt = 1; options.rewrite !== false && policy.enabled && attempt <= (options.maxAttempts ?? 5); attempt++) {
      const files = new LocalFiles(table, scratch);
      const rewrite: RewriteOptions = { connection, files, tempDir: scratch };
      let conflicted = false;
      try {
        await progress(0, attempt === 1 ? 'planning' : `planning again (attempt ${attempt})`);
        const startingSnapshotId = currentSnapshot(table.metadata)?.snapshotId;
        const planned = await plan(table, policy, rewrite);
        filesBefore ??= planned.counts;
        if (planned.groups.length === 0) break;
        log.info({ groups: planned.groups.length, files: planned.groups.reduce((n, g) => n + g.files.length, 0), attempt }, 'compaction planned');
        const replaced = new Set<string>();
        for (const [i, group] of planned.groups.entries()) {
          await progress((i / planned.groups.length) * 90, `rewriting group ${i + 1}/${planned.groups.length} (${group.files.length} files, ${group.reasons.join(' + ')})`);
          const done = await rewriteGroup(table, group, rewrite);
          for (const f of group.files) replaced.add(f.file.filePath);
          const candidates = [...new Map(group.files.flatMap((f) => f.deletes).map((d) => [d.filePath, d])).values()];
          const deletes = await removableDeletes(rewrite, candidates, planned.live, replaced);
          const removed = [...group.files.map((f) => f.file), ...deletes];
          const added = done.output ? [done.output] : [];
          try {
            const action = rewriteFiles({ removed, added, startingSnapshotId, summary: (base, parent) => ({ ...carriedProgress(base, parent), 'duckhouse.compaction': group.reasons.join(',') }) });
            table = (await commitAction(options.catalog, options.identifier, action)).table;
          } catch (error) {
            if (!(error instanceof CommitStateUnknownError)) await table.io.deleteMany(added.map((f) => f.filePath)).catch(() => undefined);
            if (error instanceof CommitConflictError && !error.retriable) {
              totals.conflicts++;
              conflicted = true;
              log.warn({ attempt, error: describeError(error) }, 'compaction rewrite conflicted with a concurrent commit; planning again');
              break;
            }
            throw error;
          }
          totals.groups++;
          totals.rewrittenDataFiles += group.files.length;
          totals.addedDataFiles += added.length;
          totals.removedDeleteFiles += deletes.length;
          totals.rowsRewritten += done.rowsIn - done.rowsDeleted;
          totals.rowsDeleted += done.rowsDeleted;
          totals.bytesRead += group.inputBytes;
          totals.bytesWritten += done.bytesWritten;
        }
      } finally {
        await files.close();
      }
      if (!conflicted) break;
      table = await options.catalog.loadTable(options.identifier);
    }
    let manifestsMerged = 0;
    if (options.rewrite !== false) {
      const merged = await mergeManifests(options, table, log, progress);
      table = merged.table;
      manifestsMerged = merged.count;
    }
    let expiredSnapshots = 0;
    let expiredFiles = 0;
    if (options.expire !== false) {
      await progress(92, 'expiring snapshots');
      const expire = new ExpireSnapshots({ olderThanMs: now() - policy.maxSnapshotAgeMs, retainLast: policy.minSnapshotsToKeep, now });
      table = (await commitAction(options.catalog, options.identifier, expire)).table;
      expiredSnapshots = expire.result.expiredSnapshotIds.length;
      const deleted = expire.result.deletedFiles;
      expiredFiles = deleted.contentFiles + deleted.manifests + deleted.manifestLists;
    }
    let orphansRemoved: number | undefined;
    const orphansDue = options.removeOrphans === true || (options.removeOrphans !== false && now() - (lastOrphanRun.get(table.metadata.location) ?? 0) >= policy.orphanIntervalMs);
    if (orphansDue) {
      await progress(96, 'removing orphan files');
      const otherTables = await nestedTableLocations(options.catalog, options.identifier);
      orphansRemoved = (await removeOrphanFiles(table, { olderThanMs: now() - policy.orphanMinAgeMs, now, otherTables })).length;
      lastOrphanRun.set(table.metadata.location, now());
    }
    filesBefore ??= await fileCounts(table);
    const changed = totals.groups > 0 || expiredSnapshots > 0;
    const filesAfter = changed ? await fileCounts(table) : filesBefore;
    await progress(100, 'done');
    const result: CompactionResult = {
      table: name,
      snapshotId: table.metadata.currentSnapshotId === undefined ? null : String(table.metadata.currentSnapshotId),
      filesBefore,
      filesAfter,
      ...totals,
      manifestsMerged,
      expiredSnapshots,
      expiredFiles,
      orphansRemoved,
      durationMs: Date.now() - started,
    };
    if (totals.groups > 0 || manifestsMerged > 0 || expiredSnapshots > 0 || (orphansRemoved ?? 0) > 0) log.info(result, 'compacted');
    return result;
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}
