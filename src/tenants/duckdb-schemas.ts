// A tenant's part of the views' DuckDB file (view-sql.ts: one DuckDB schema per namespace, levels joined by '.'):
// the schema `<id>` made when the tenant is created, and on deletion every schema `<id>` or `<id>.<sub>` with its
// views and macros, the views refresher's bookkeeping rows of the tenant's tables (meta-store.ts) and their cached
// files (file-cache.ts). Always under the DuckDB file's writer lock (duckdb-file.ts), DuckDB closed before release.
// Must never: touch a schema that is not exactly `<id>` or below `<id>.` (`acme` never matches `acme2`), create the
// DuckDB file just to delete from it, or evict a cached file another table's view still reads.
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDBFile } from '../compactor/duckdb-file.js';
import { cacheDirOf, FileCache } from '../compactor/views/file-cache.js';
import { deleteTableSql, initMeta, readFiles, readOtherLocalPaths, readTables } from '../compactor/views/meta-store.js';
import { openDuckDB, quoteIdent, quoteLiteral, runInTransaction } from '../shared/duckdb.js';
import { DuckHouseError } from '../shared/errors.js';
import type { Tenant } from './scope.js';
import { ownsDuckDBSchema, ownsNamespace, tenantScope } from './scope.js';

export interface DuckDBFileOptions {
  /** How long to wait for the writer lock (default: duckdb-file.ts's). */
  lockWaitMs?: number;
  /** Called once when another writer (a views refresh, a dbt run) holds the lock. */
  onWait?: () => void;
}

export interface DroppedDuckDBObjects {
  /** DuckDB schemas dropped (with their views and macros). */
  schemas: string[];
  /** Tables whose views-refresher rows were removed (`ns.table`). */
  tables: string[];
  /** Cached copies of table files removed from the views cache. */
  cachedFiles: number;
}

async function withDatabase<T>(file: string, options: DuckDBFileOptions, fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  return withDuckDBFile(file, async () => {
    let opened: Awaited<ReturnType<typeof openDuckDB>>;
    try {
      opened = await openDuckDB(file);
    } catch (error) {
      throw new DuckHouseError('io', `opening DuckDB file ${file}: ${(error as Error).message} (a process that does not take the DuckHouse lock may hold it open)`, { cause: error, retriable: true });
    }
    try {
      return await fn(opened.connection);
    } finally {
      opened.connection.closeSync();
      opened.instance.closeSync();
    }
  }, { ...(options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs }), ...(options.onWait ? { onWait: options.onWait } : {}) });
}

const transaction = (connection: DuckDBConnection, statements: readonly string[]): Promise<void> =>
  runInTransaction(connection, statements, (error) => new DuckHouseError('internal', `changing the DuckDB views file: ${(error as Error).message}`, { cause: error }));

/** The DuckDB schemas of the database whose name is `schema` or starts with `schema.` (exact case). */
async function schemasOf(connection: DuckDBConnection, schema: string): Promise<string[]> {
  const rows = (await connection.runAndReadAll(
    `SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND (schema_name = ${quoteLiteral(schema)} OR starts_with(schema_name, ${quoteLiteral(`${schema}.`)})) ORDER BY schema_name`,
  )).getRowObjectsJS() as { schema_name: string }[];
  return rows.map((r) => r.schema_name);
}

/** Creates the tenant's DuckDB schema when missing (the file too); true when this call created it. */
export async function createTenantSchema(file: string, tenant: Tenant, options: DuckDBFileOptions = {}): Promise<boolean> {
  return withDatabase(path.resolve(file), options, async (connection) => {
    if ((await schemasOf(connection, tenant.duckdbSchema)).includes(tenant.duckdbSchema)) return false;
    await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(tenant.duckdbSchema)}`);
    return true;
  });
}

/** Drops the schema `create` made, if it is still empty (undoing a failed create). */
export async function dropEmptyTenantSchema(file: string, tenant: Tenant, options: DuckDBFileOptions = {}): Promise<void> {
  await withDatabase(path.resolve(file), options, async (connection) => {
    await connection.run(`DROP SCHEMA IF EXISTS ${quoteIdent(tenant.duckdbSchema)}`);
  });
}

/**
 * Drops the tenant's schemas (`id`, `id.*`) with their views and macros and the refresher's rows of its tables in one
 * transaction, then evicts their cached files. Nothing to do (and no file created) when the file does not exist.
 */
export async function dropTenantSchemas(file: string, tenant: Tenant, options: DuckDBFileOptions = {}): Promise<DroppedDuckDBObjects> {
  const resolved = path.resolve(file);
  try {
    await access(resolved);
  } catch {
    return { schemas: [], tables: [], cachedFiles: 0 };
  }
  const scope = tenantScope(tenant);
  return withDatabase(resolved, options, async (connection) => {
    const schemas = (await schemasOf(connection, tenant.duckdbSchema)).filter((s) => ownsDuckDBSchema(scope, s));
    await initMeta(connection);
    const stored = (await readTables(connection)).filter((t) => ownsNamespace(scope, t.namespace));
    const candidates = new Map<string, string[]>();
    const dirs = new Map<string, string[]>();
    for (const table of stored) {
      candidates.set(table.cacheDir, [...(candidates.get(table.cacheDir) ?? []), ...(await readFiles(connection, table.tableName)).map((f) => f.localPath)]);
      dirs.set(table.cacheDir, [...(dirs.get(table.cacheDir) ?? [cacheDirOf(table.cacheDir, tenant.warehousePrefix)]), cacheDirOf(table.cacheDir, table.location)]);
    }
    await transaction(connection, [
      ...stored.flatMap((t) => deleteTableSql(t.tableName)),
      ...schemas.map((s) => `DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`),
    ]);
    let cachedFiles = 0;
    for (const [cacheDir, tableDirs] of dirs) {
      const paths = candidates.get(cacheDir) ?? [];
      // The tenant's rows are gone: every row left is another table's, and its files stay (no table is named '').
      const keep = await readOtherLocalPaths(connection, '', tableDirs, paths);
      cachedFiles += await new FileCache(cacheDir).evict(tableDirs, paths, keep);
    }
    return { schemas, tables: stored.map((t) => t.tableName), cachedFiles };
  });
}
