// The views refresher's bookkeeping inside the DuckDB file, in schema "_duckhouse", one set of rows per table
// (`table_name` = `ns.table`):
//   tables     what the last refresh saw: table uuid, location, current snapshot (= the last one whose file changes
//              were applied), the ordinal mode and schema used, and the cache directory
//   snapshots  every snapshot of the metadata (the `$snapshots` view), with its ordinal when it is in the current history
//   history    the metadata's snapshot log (the `$history` view)
//   files      data (content 0) and position delete (content 1) files of the retained snapshots with the range of
//              ordinals they are live in (file-ranges.ts), and where DuckDB reads them (`local_path`)
// Statement builders are pure; the readers take a connection. Must never: write outside the caller's transaction
// (besides the idempotent CREATE … IF NOT EXISTS of initMeta), or build SQL from a value without quoting it.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import type { TableMetadata } from '../../catalog/spec/table-metadata.js';
import { ancestorsOf } from '../../catalog/spec/table-metadata.js';
import { quoteLiteral } from '../../shared/duckdb.js';
import type { FileRange, OrdinalMode, Ordinals, TrackedContent } from './file-ranges.js';
import { INTERNAL_SCHEMA, internalTable, timestamptzLiteral } from './view-sql.js';

export const META_DDL: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS "${INTERNAL_SCHEMA}"`,
  `CREATE TABLE IF NOT EXISTS ${internalTable('tables')} (table_name VARCHAR NOT NULL, namespace VARCHAR[] NOT NULL, name VARCHAR NOT NULL, `
    + 'table_uuid VARCHAR NOT NULL, location VARCHAR NOT NULL, metadata_location VARCHAR NOT NULL, cache_dir VARCHAR NOT NULL, snapshot_id BIGINT, '
    + 'ordinal_mode VARCHAR, schema_id INTEGER NOT NULL, refreshed_at TIMESTAMPTZ NOT NULL)',
  `CREATE TABLE IF NOT EXISTS ${internalTable('snapshots')} (table_name VARCHAR NOT NULL, snapshot_id BIGINT NOT NULL, parent_id BIGINT, `
    + 'sequence_number BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL, operation VARCHAR NOT NULL, summary MAP(VARCHAR, VARCHAR) NOT NULL, '
    + 'manifest_list VARCHAR NOT NULL, schema_id INTEGER, ordinal BIGINT)',
  `CREATE TABLE IF NOT EXISTS ${internalTable('history')} (table_name VARCHAR NOT NULL, position INTEGER NOT NULL, made_current_at TIMESTAMPTZ NOT NULL, `
    + 'snapshot_id BIGINT NOT NULL, parent_id BIGINT, is_current_ancestor BOOLEAN NOT NULL)',
  `CREATE TABLE IF NOT EXISTS ${internalTable('files')} (table_name VARCHAR NOT NULL, location VARCHAR NOT NULL, local_path VARCHAR NOT NULL, `
    + 'content TINYINT NOT NULL, first_ordinal BIGINT NOT NULL, last_ordinal BIGINT)',
];

// ---- literals ----

const text = (value: string | null | undefined): string => (value === null || value === undefined ? 'NULL' : quoteLiteral(value));
const int = (value: bigint | number | null | undefined): string => {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return String(value);
};
const timestamptz = timestamptzLiteral;
const varcharMap = (entries: Readonly<Record<string, string>>): string =>
  `CAST(MAP {${Object.entries(entries).map(([k, v]) => `${quoteLiteral(k)}: ${quoteLiteral(v)}`).join(', ')}} AS MAP(VARCHAR, VARCHAR))`;
const varcharList = (items: readonly string[]): string => `CAST([${items.map(quoteLiteral).join(', ')}] AS VARCHAR[])`;

const CHUNK = 1000;

/** INSERT statements of at most CHUNK rows each. */
function insertSql(table: string, rows: readonly string[][]): string[] {
  const statements: string[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    statements.push(`INSERT INTO ${table} VALUES ${rows.slice(i, i + CHUNK).map((r) => `(${r.join(', ')})`).join(', ')}`);
  }
  return statements;
}

// ---- rows ----

export interface TableRow {
  readonly tableName: string;
  readonly namespace: readonly string[];
  readonly name: string;
  readonly tableUuid: string;
  readonly location: string;
  readonly metadataLocation: string;
  readonly cacheDir: string;
  readonly snapshotId: bigint | null;
  readonly ordinalMode: OrdinalMode | null;
  readonly schemaId: number;
}

export interface SnapshotRow {
  readonly snapshot: Snapshot;
  /** Null when the snapshot is not in the current history. */
  readonly ordinal: bigint | null;
}

export interface HistoryRow {
  readonly madeCurrentAtMs: number;
  readonly snapshotId: bigint;
  readonly parentId: bigint | undefined;
  readonly isCurrentAncestor: boolean;
}

export function snapshotRows(metadata: TableMetadata, ordinals: Ordinals): SnapshotRow[] {
  return metadata.snapshots.map((snapshot) => ({ snapshot, ordinal: ordinals.of.get(snapshot.snapshotId) ?? null }));
}

/** The snapshot log, as Trino's `$history`: parent ids come from the snapshots (unknown once a snapshot expired). */
export function historyRows(metadata: TableMetadata): HistoryRow[] {
  const ancestors = new Set(ancestorsOf(metadata, metadata.currentSnapshotId).map((s) => s.snapshotId));
  const byId = new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
  return metadata.snapshotLog.map((entry) => ({
    madeCurrentAtMs: entry.timestampMs,
    snapshotId: entry.snapshotId,
    parentId: byId.get(entry.snapshotId)?.parentSnapshotId,
    isCurrentAncestor: ancestors.has(entry.snapshotId),
  }));
}

const forTable = (tableName: string): string => `"table_name" = ${quoteLiteral(tableName)}`;

/** Replaces the table's row, snapshots and history. */
export function saveTableSql(row: TableRow, snapshots: readonly SnapshotRow[], history: readonly HistoryRow[], nowMs: number): string[] {
  const where = forTable(row.tableName);
  const name = text(row.tableName);
  return [
    `DELETE FROM ${internalTable('tables')} WHERE ${where}`,
    ...insertSql(internalTable('tables'), [[
      name, varcharList(row.namespace), text(row.name), text(row.tableUuid), text(row.location), text(row.metadataLocation), text(row.cacheDir),
      int(row.snapshotId), text(row.ordinalMode), int(row.schemaId), timestamptz(nowMs),
    ]]),
    `DELETE FROM ${internalTable('snapshots')} WHERE ${where}`,
    ...insertSql(internalTable('snapshots'), snapshots.map(({ snapshot: s, ordinal }) => [
      name, int(s.snapshotId), int(s.parentSnapshotId), int(s.sequenceNumber), timestamptz(s.timestampMs), text(s.summary.operation),
      varcharMap(s.summary), text(s.manifestList), int(s.schemaId), int(ordinal),
    ])),
    `DELETE FROM ${internalTable('history')} WHERE ${where}`,
    ...insertSql(internalTable('history'), history.map((h, i) => [
      name, int(i), timestamptz(h.madeCurrentAtMs), int(h.snapshotId), int(h.parentId), h.isCurrentAncestor ? 'true' : 'false',
    ])),
  ];
}

export interface FileChanges {
  readonly inserted: readonly FileRange[];
  readonly ended: readonly FileRange[];
  readonly prunedBefore: bigint | undefined;
}

/**
 * Writes the table's file ranges back: with `rebuild`, replaces them all by `inserted`; otherwise inserts new rows,
 * ends stored ranges, then deletes ranges that end before `prunedBefore`.
 */
export function saveFilesSql(tableName: string, changes: FileChanges, rebuild: boolean, localPath: (location: string) => string): string[] {
  const table = internalTable('files');
  const where = forTable(tableName);
  const statements: string[] = [];
  if (rebuild) statements.push(`DELETE FROM ${table} WHERE ${where}`);
  statements.push(...insertSql(table, changes.inserted.map((r) => [
    text(tableName), text(r.location), text(localPath(r.location)), int(r.content), int(r.firstOrdinal), int(r.lastOrdinal),
  ])));
  if (!rebuild) {
    for (let i = 0; i < changes.ended.length; i += CHUNK) {
      const values = changes.ended.slice(i, i + CHUNK).map((r) => `(${text(r.location)}, ${int(r.lastOrdinal)})`).join(', ');
      statements.push(`UPDATE ${table} AS "f" SET "last_ordinal" = "v"."last_ordinal" FROM (VALUES ${values}) AS "v"("location", "last_ordinal") `
        + `WHERE "f".${where} AND "f"."location" = "v"."location" AND "f"."last_ordinal" IS NULL`);
    }
    if (changes.prunedBefore !== undefined) statements.push(`DELETE FROM ${table} WHERE ${where} AND "last_ordinal" < ${int(changes.prunedBefore)}`);
  }
  return statements;
}

/** Forgets a table (it was dropped from the catalog). */
export function deleteTableSql(tableName: string): string[] {
  return (['files', 'snapshots', 'history', 'tables'] as const).map((t) => `DELETE FROM ${internalTable(t)} WHERE ${forTable(tableName)}`);
}

// ---- readers ----

export interface StoredTable {
  readonly tableName: string;
  readonly namespace: string[];
  readonly name: string;
  readonly tableUuid: string;
  readonly location: string;
  readonly cacheDir: string;
  readonly snapshotId: bigint | null;
  readonly ordinalMode: string | null;
}

export interface StoredFile extends FileRange {
  readonly localPath: string;
}

export async function initMeta(connection: DuckDBConnection): Promise<void> {
  for (const sql of META_DDL) await connection.run(sql);
}

async function rows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const bigintOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as bigint));

function storedTable(r: Record<string, unknown>): StoredTable {
  return {
    tableName: String(r.table_name),
    namespace: (r.namespace as unknown[]).map(String),
    name: String(r.name),
    tableUuid: String(r.table_uuid),
    location: String(r.location),
    cacheDir: String(r.cache_dir),
    snapshotId: bigintOrNull(r.snapshot_id),
    ordinalMode: r.ordinal_mode === null ? null : String(r.ordinal_mode),
  };
}

const TABLE_COLUMNS = 'table_name, namespace, name, table_uuid, location, cache_dir, snapshot_id, ordinal_mode';

export async function readTables(connection: DuckDBConnection): Promise<StoredTable[]> {
  return (await rows(connection, `SELECT ${TABLE_COLUMNS} FROM ${internalTable('tables')} ORDER BY table_name`)).map(storedTable);
}

export async function readTable(connection: DuckDBConnection, tableName: string): Promise<StoredTable | undefined> {
  const found = await rows(connection, `SELECT ${TABLE_COLUMNS} FROM ${internalTable('tables')} WHERE ${forTable(tableName)}`);
  return found[0] ? storedTable(found[0]) : undefined;
}

export async function readFiles(connection: DuckDBConnection, tableName: string): Promise<StoredFile[]> {
  const found = await rows(connection, `SELECT location, local_path, content, first_ordinal, last_ordinal FROM ${internalTable('files')} WHERE ${forTable(tableName)} ORDER BY first_ordinal, location`);
  return found.map((r) => ({
    location: String(r.location),
    localPath: String(r.local_path),
    content: Number(r.content) as TrackedContent,
    firstOrdinal: BigInt(r.first_ordinal as bigint),
    lastOrdinal: bigintOrNull(r.last_ordinal),
  }));
}

/**
 * Local paths that other tables' views read, among those under the `dirs` (each a directory) or equal to one of
 * `paths`: a table never evicts those (two catalog entries may share files, or one table's location hold another's).
 */
export async function readOtherLocalPaths(connection: DuckDBConnection, tableName: string, dirs: readonly string[], paths: readonly string[]): Promise<Set<string>> {
  const tests = dirs.map((d) => `starts_with(local_path, ${quoteLiteral(d.endsWith('/') ? d : `${d}/`)})`);
  if (paths.length > 0) tests.push(`list_contains(${varcharList(paths)}, local_path)`);
  if (tests.length === 0) return new Set();
  const found = await rows(connection, `SELECT DISTINCT local_path FROM ${internalTable('files')} WHERE table_name <> ${quoteLiteral(tableName)} AND (${tests.join(' OR ')})`);
  return new Set(found.map((r) => String(r.local_path)));
}
