// The views refresher: on each commit event, creates or replaces in one DuckDB database file the views of a table
// (`"<ns>"."<table>"` over the current snapshot, `$snapshots`, `$history`) and its time-travel table macros
// (`$at_snapshot(snapshot_id)`, `$as_of(ts)`); see view-sql.ts for the objects and their limits.
// One refresh: load the table → take the DuckDB file's writer lock (duckdb-file.ts; dbt in another process takes it
// too) → open DuckDB → update the file ranges of the retained snapshots incrementally (file-ranges.ts; only the
// manifests of snapshots committed since the last refresh are read) → make every file readable locally (file-cache.ts:
// object-store files are downloaded into cacheDir, local ones read in place) → apply every statement in ONE
// transaction (readers never see half a refresh) → evict cached files no retained snapshot reads → close DuckDB →
// release the lock. A table gone from the catalog loses its views, macros and rows.
// Views over an object-store warehouse read the cache at absolute paths: every reader of the DuckDB file (dbt) must
// see cacheDir at the same path. Downloads happen while the lock is held.
// Must never: write the DuckDB file without holding the lock, keep it open after releasing the lock, or evict a file
// that a view or macro still reads.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, Table, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { formatIdentifier, tablesUnder } from '../../catalog/catalogs/catalog.js';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import { Summary } from '../../catalog/spec/snapshot.js';
import { ancestorsOf, currentSchema } from '../../catalog/spec/table-metadata.js';
import { openDuckDB, runInTransaction } from '../../shared/duckdb.js';
import { DuckHouseError, NotFoundError } from '../../shared/errors.js';
import { measureViewsRefresh } from '../../shared/metrics.js';
import type { Logger } from '../../shared/logger.js';
import { withDuckDBFile } from '../duckdb-file.js';
import type { LocalFile } from './file-cache.js';
import { cacheDirOf, FileCache } from './file-cache.js';
import type { FileRange, Ordinals, RangePlan } from './file-ranges.js';
import { FileRanges, ordinalsOf, planRanges } from './file-ranges.js';
import type { StoredFile } from './meta-store.js';
import { deleteTableSql, historyRows, initMeta, readFiles, readOtherLocalPaths, readTable, readTables, saveFilesSql, saveTableSql, snapshotRows } from './meta-store.js';
import { changesOfAll, liveFilesAt } from './snapshot-files.js';
import type { ScanFiles, ViewNames } from './view-sql.js';
import { checkColumns, createObjectsSql, dropObjectsSql, viewNames } from './view-sql.js';

export interface ViewRefresherOptions {
  catalog: Catalog;
  /** The DuckDB database file that holds the views (created if missing). */
  databaseFile: string;
  /** Local copies of object-store files (see file-cache.ts); needs room for the retained files of those tables. */
  cacheDir: string;
  logger: Logger;
  /** How long to wait for the DuckDB file's writer lock (default: duckdb-file.ts's, 30 min). */
  lockWaitMs?: number;
}

export interface RefreshResult {
  /** `ns.table`. */
  table: string;
  /** The current snapshot the views show (decimal string), or null for a table without snapshots (or dropped). */
  snapshotId: string | null;
  /** Data and position delete files of the current snapshot. */
  dataFiles: number;
  deleteFiles: number;
  /** Files downloaded (or linked) into the cache by this refresh. */
  downloaded: number;
  /** Cached files removed because no retained snapshot reads them any more. */
  evicted: number;
  durationMs: number;
  /** The table no longer exists in the catalog: its views, macros and rows were dropped. */
  dropped?: boolean;
}

export type RefreshProgress = (percent: number, message: string) => void;

/** Reports whole percents in 0..100, each at most once (a job's progress is a Redis write). */
function throttled(onProgress: RefreshProgress | undefined): RefreshProgress {
  let last = -1;
  return (percent, message) => {
    const p = Math.max(0, Math.min(100, Math.floor(percent)));
    if (p <= last) return;
    last = p;
    onProgress?.(p, message);
  };
}

const count = (files: readonly FileRange[], content: 0 | 1): number => files.filter((f) => f.content === content).length;

export class ViewRefresher {
  private readonly catalog: Catalog;
  private readonly databaseFile: string;
  private readonly cache: FileCache;
  private readonly logger: Logger;
  private readonly lockWaitMs: number | undefined;

  constructor(options: ViewRefresherOptions) {
    this.catalog = options.catalog;
    this.databaseFile = path.resolve(options.databaseFile);
    this.cache = new FileCache(options.cacheDir);
    this.logger = options.logger;
    this.lockWaitMs = options.lockWaitMs;
  }

  /**
   * Refreshes one table's views; if the table no longer exists in the catalog, drops its views/macros/meta rows
   * (dropped: true). Measured in duckhouse_views_refresh* (metrics.ts).
   */
  refresh(id: TableIdentifier, onProgress?: RefreshProgress): Promise<RefreshResult> {
    return measureViewsRefresh(formatIdentifier(id), () => this.refreshOne(id, onProgress));
  }

  private async refreshOne(id: TableIdentifier, onProgress?: RefreshProgress): Promise<RefreshResult> {
    const started = performance.now();
    const names = viewNames(id);
    const progress = throttled(onProgress);
    progress(0, `loading ${names.tableName}`);
    let table: Table | undefined;
    try {
      table = await this.catalog.loadTable(id);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    const loaded = table;
    const partial = await this.withDatabase((connection) => (loaded ? this.update(connection, loaded, names, progress) : this.drop(connection, names)));
    const result: RefreshResult = { ...partial, durationMs: Math.round(performance.now() - started) };
    progress(100, `${names.tableName}: ${result.dropped ? 'views dropped' : `views over ${result.dataFiles} data files`}`);
    this.logger.info({ ...result }, result.dropped ? 'views dropped (table no longer exists)' : 'views refreshed');
    return result;
  }

  /** Refreshes every table of every namespace in the catalog, and drops the views of tables no longer there. */
  async refreshAll(onProgress?: RefreshProgress): Promise<RefreshResult[]> {
    const progress = throttled(onProgress);
    const ids = await tablesUnder(this.catalog);
    const known = new Set(ids.map(formatIdentifier));
    const stored = await this.withDatabase(async (connection) => {
      await initMeta(connection);
      return readTables(connection);
    });
    const all = [...ids, ...stored.filter((t) => !known.has(t.tableName)).map((t) => ({ namespace: t.namespace, name: t.name }))];
    const results: RefreshResult[] = [];
    const failures: { table: string; error: unknown }[] = [];
    for (const [i, id] of all.entries()) {
      try {
        results.push(await this.refresh(id, (p, m) => progress((i * 100 + p) / all.length, m)));
      } catch (error) {
        failures.push({ table: formatIdentifier(id), error });
        this.logger.error({ table: formatIdentifier(id), err: error }, 'views refresh failed');
      }
    }
    if (failures.length > 0) {
      const first = failures[0]!;
      throw new DuckHouseError(first.error instanceof DuckHouseError ? first.error.kind : 'internal',
        `views of ${failures.length} of ${all.length} tables could not be refreshed: ${failures.map((f) => `${f.table} (${(f.error as Error).message})`).join('; ')}`,
        { cause: first.error, retriable: failures.every((f) => f.error instanceof DuckHouseError && f.error.retriable), context: { failed: failures.map((f) => f.table) } });
    }
    progress(100, `refreshed ${results.length} tables`);
    return results;
  }

  /** Runs `fn` with the DuckDB file open, holding its writer lock; DuckDB is closed before the lock is released. */
  private withDatabase<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return withDuckDBFile(this.databaseFile, async () => {
      let opened: Awaited<ReturnType<typeof openDuckDB>>;
      try {
        opened = await openDuckDB(this.databaseFile);
      } catch (error) {
        throw new DuckHouseError('io', `opening DuckDB file ${this.databaseFile}: ${(error as Error).message} (a process that does not take the DuckHouse lock may hold it open)`, { cause: error, retriable: true });
      }
      try {
        return await fn(opened.connection);
      } finally {
        opened.connection.closeSync();
        opened.instance.closeSync();
      }
    }, { ...(this.lockWaitMs === undefined ? {} : { waitMs: this.lockWaitMs }), onWait: () => this.logger.info({ file: this.databaseFile }, 'waiting for the DuckDB file lock (a dbt run or another refresh)') });
  }

  private transaction(connection: DuckDBConnection, tableName: string, statements: readonly string[]): Promise<void> {
    return runInTransaction(connection, statements, (error) => (error instanceof DuckHouseError
      ? error
      : new DuckHouseError('internal', `writing the DuckDB views of ${tableName}: ${(error as Error).message}`, { cause: error, context: { table: tableName } })));
  }


  private async update(connection: DuckDBConnection, table: Table, names: ViewNames, progress: RefreshProgress): Promise<Omit<RefreshResult, 'durationMs'>> {
    const { metadata } = table;
    await initMeta(connection);
    const stored = await readTable(connection, names.tableName);
    const storedFiles = stored ? await readFiles(connection, names.tableName) : [];
    const chain = ancestorsOf(metadata, metadata.currentSnapshotId).reverse();
    const ordinals = ordinalsOf(chain);
    const state = stored && { tableUuid: stored.tableUuid, cacheDir: stored.cacheDir, lastSnapshotId: stored.snapshotId, ordinalMode: stored.ordinalMode };
    const now = { tableUuid: metadata.tableUuid, cacheDir: this.cache.cacheDir };
    progress(5, `${names.tableName}: reading snapshots`);
    let plan = planRanges(state, now, chain, ordinals);
    let ranges = await this.buildRanges(table, plan, storedFiles, ordinals, progress);
    const mismatch = this.checkTotals(chain.at(-1), ranges);
    if (mismatch && !plan.rebuild) {
      this.logger.warn({ table: names.tableName, mismatch }, 'views: stored file ranges do not match the table; rebuilding them');
      plan = planRanges(state, now, chain, ordinals, mismatch);
      ranges = await this.buildRanges(table, plan, [], ordinals, progress);
    } else if (mismatch) {
      this.logger.warn({ table: names.tableName, mismatch }, 'views: the snapshot summary totals disagree with the manifests; the manifests win');
    }
    if (plan.rebuild) this.logger.debug({ table: names.tableName, reason: plan.reason }, 'views: file ranges rebuilt');
    if (chain[0]) ranges.prune(ordinals.of.get(chain[0].snapshotId)!);
    const retained = ranges.all();
    const current = ranges.current();
    const schema = currentSchema(metadata);
    checkColumns(names.tableName, metadata.schemas, schema, retained.some((r) => r.content === 1));
    const local = new Map<string, LocalFile>(retained.map((r) => [r.location, this.cache.localFileOf(r.location)]));
    progress(40, `${names.tableName}: caching ${local.size} files`);
    const downloaded = await this.cache.ensure(table.io, [...local.values()], {
      onFile: (done, total) => progress(40 + (40 * done) / total, `${names.tableName}: ${done}/${total} files local`),
    });
    const scan = (files: readonly FileRange[]): ScanFiles => ({
      tableName: names.tableName,
      fields: schema.fields,
      dataFiles: files.filter((f) => f.content === 0).map((f) => local.get(f.location)!.local),
      deleteFiles: files.filter((f) => f.content === 1).map((f) => local.get(f.location)!.local),
    });
    const head = chain.at(-1);
    progress(85, `${names.tableName}: writing views`);
    await this.transaction(connection, names.tableName, [
      ...saveFilesSql(names.tableName, ranges.changes(), plan.rebuild, (location) => local.get(location)!.local),
      ...saveTableSql({
        tableName: names.tableName, namespace: table.identifier.namespace, name: table.identifier.name, tableUuid: metadata.tableUuid,
        location: metadata.location, metadataLocation: table.metadataLocation, cacheDir: this.cache.cacheDir,
        snapshotId: head?.snapshotId ?? null, ordinalMode: head ? ordinals.mode : null, schemaId: schema.schemaId,
      }, snapshotRows(metadata, ordinals), historyRows(metadata), Date.now()),
      ...createObjectsSql(names, {
        current: scan(current),
        timeTravel: {
          tableName: names.tableName,
          fields: schema.fields,
          snapshots: chain.map((c) => ({ snapshotId: c.snapshotId, ordinal: ordinals.of.get(c.snapshotId)!, committedAtMs: c.timestampMs })),
          files: retained.map((r) => ({ ...r, localPath: local.get(r.location)!.local })),
        },
      }),
    ]);
    progress(92, `${names.tableName}: evicting cached files`);
    const keep = new Set([...local.values()].filter((f) => f.placement !== 'in-place').map((f) => f.local));
    const dirs = [...new Set([metadata.location, metadata.properties['write.data.path'] ?? metadata.location])].map((p) => cacheDirOf(this.cache.cacheDir, p));
    const evicted = await this.evict(connection, names.tableName, dirs, storedFiles, keep);
    return { table: names.tableName, snapshotId: head ? head.snapshotId.toString() : null, dataFiles: count(current, 0), deleteFiles: count(current, 1), downloaded, evicted };
  }

  private async drop(connection: DuckDBConnection, names: ViewNames): Promise<Omit<RefreshResult, 'durationMs'>> {
    await initMeta(connection);
    const stored = await readTable(connection, names.tableName);
    const storedFiles = await readFiles(connection, names.tableName);
    await this.transaction(connection, names.tableName, [...dropObjectsSql(names), ...deleteTableSql(names.tableName)]);
    const dirs = stored ? [cacheDirOf(this.cache.cacheDir, stored.location)] : [];
    const evicted = await this.evict(connection, names.tableName, dirs, storedFiles, new Set());
    return { table: names.tableName, snapshotId: null, dataFiles: 0, deleteFiles: 0, downloaded: 0, evicted, dropped: true };
  }

  /** Evicts cached files of this table that `keep` lacks, sparing files that other tables' views read. */
  private async evict(connection: DuckDBConnection, tableName: string, dirs: readonly string[], before: readonly StoredFile[], keep: Set<string>): Promise<number> {
    const candidates = before.map((f) => f.localPath).filter((p) => !keep.has(p));
    for (const other of await readOtherLocalPaths(connection, tableName, dirs, candidates)) keep.add(other);
    return this.cache.evict(dirs, candidates, keep);
  }

  /** The file ranges after `plan`: stored ranges (or the base snapshot's live files), then each pending snapshot's changes. */
  private async buildRanges(table: Table, plan: RangePlan, stored: readonly StoredFile[], ordinals: Ordinals, progress: RefreshProgress): Promise<FileRanges> {
    const ordinal = (id: bigint | undefined): bigint => {
      const found = id === undefined ? undefined : ordinals.of.get(id);
      if (found === undefined) throw new DuckHouseError('internal', `views: snapshot ${id} is not in the current history of ${formatIdentifier(table.identifier)}`);
      return found;
    };
    const ranges = plan.rebuild ? new FileRanges() : FileRanges.load(stored);
    if (plan.base) {
      const base = plan.base;
      for (const file of await liveFilesAt(table, base)) ranges.add(file, ordinal(base.snapshotId));
    }
    const total = plan.pending.length;
    const deltas = await changesOfAll(table, plan.pending, (done) => progress(5 + (30 * done) / total, `${formatIdentifier(table.identifier)}: read ${done}/${total} snapshots`));
    plan.pending.forEach((snapshot, i) => ranges.apply(deltas[i]!, ordinal(snapshot.snapshotId), ordinal(snapshot.parentSnapshotId)));
    return ranges;
  }

  /** Why the ranges' live files disagree with the head snapshot (its summary totals), or undefined when they agree. */
  private checkTotals(head: Snapshot | undefined, ranges: FileRanges): string | undefined {
    if (ranges.inconsistencies > 0) return `${ranges.inconsistencies} removed file(s) were not live in the stored ranges`;
    if (!head) return undefined;
    const current = ranges.current();
    for (const [key, found] of [[Summary.TOTAL_DATA_FILES, count(current, 0)], [Summary.TOTAL_DELETE_FILES, count(current, 1)]] as const) {
      const expected = head.summary[key];
      if (expected !== undefined && /^\d+$/.test(expected) && Number(expected) !== found) {
        return `snapshot ${head.snapshotId} summary says ${key}=${expected}, the tracked ranges have ${found}`;
      }
    }
    return undefined;
  }
}
