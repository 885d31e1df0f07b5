// SQL of the DuckDB objects the views refresher keeps per Iceberg table `<ns>.<table>` (DuckDB schema = the namespace
// levels joined with '.'):
//   "<ns>"."<table>"               the current snapshot's rows: its data files, position deletes applied
//   "<ns>"."<table>$snapshots"     Trino's `$snapshots` columns (+ sequence_number), from _duckhouse.snapshots
//   "<ns>"."<table>$history"       Trino's `$history` columns, from _duckhouse.history (the metadata's snapshot log)
//   "<ns>"."<table>$at_snapshot"(snapshot_id)  table macro: the rows of a snapshot of the current history
//   "<ns>"."<table>$as_of"(ts)     table macro: the rows of the newest such snapshot committed at or before ts
// Columns are found by Iceberg field id (read_parquet's `schema` parameter), so files written before a rename or an
// added column read right. Limits: members of nested structs are matched by NAME (a renamed struct member reads NULL
// from older files); time travel reads every snapshot with the CURRENT schema.
// Table macros cannot pass a subquery to read_parquet, so a time-travel macro lists every file of the retained
// snapshots (baked in at refresh time) and keeps the rows of the files live at the chosen snapshot, using the file
// ranges (file-ranges.ts). A macro carries its ranges and snapshot ordinals as constants instead of reading
// _duckhouse.*: DuckDB binds a macro body in the CALLER's database, so a session that ATTACHes the file under another
// name (`lake."ns"."t$at_snapshot"(…)`) would not find them (views bind in their own database). Macro parameters are
// only read in a first CTE, so a column of the same name cannot capture them.
// PURE: strings in, strings out. Must never: put an identifier or a literal into SQL without quoteIdent/quoteLiteral.
import type { TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { formatIdentifier, formatNamespace } from '../../catalog/catalogs/catalog.js';
import type { Schema } from '../../catalog/spec/schema.js';
import type { IcebergType, NestedField } from '../../catalog/spec/types.js';
import { duckdbSqlType } from '../../catalog/writer/duckdb-types.js';
import { DuckHouseError } from '../../shared/errors.js';
import { quoteIdent, quoteLiteral } from '../../shared/duckdb.js';

/** The DuckDB schema of the refresher's own bookkeeping tables (files, snapshots, history, tables). */
export const INTERNAL_SCHEMA = '_duckhouse';
/** The column read_parquet adds with each row's file (never a column of a view). */
export const FILE_COLUMN = '__duckhouse_file';
/** DuckDB's row-position column; DuckDB refuses it when a file has a column of that name. */
export const ROW_COLUMN = 'file_row_number';

export interface ViewNames {
  /** `ns.table`: the key of the table's rows in the _duckhouse tables. */
  readonly tableName: string;
  readonly schema: string;
  readonly view: string;
  readonly snapshots: string;
  readonly history: string;
  readonly atSnapshot: string;
  readonly asOf: string;
}

export function viewNames(id: TableIdentifier): ViewNames {
  const schema = formatNamespace(id.namespace);
  if (schema.toLowerCase() === INTERNAL_SCHEMA) {
    throw new DuckHouseError('config', `namespace "${schema}" is reserved for the views refresher's own tables in the DuckDB file; rename the namespace`);
  }
  return {
    tableName: formatIdentifier(id),
    schema,
    view: id.name,
    snapshots: `${id.name}$snapshots`,
    history: `${id.name}$history`,
    atSnapshot: `${id.name}$at_snapshot`,
    asOf: `${id.name}$as_of`,
  };
}

export const qualified = (schema: string, name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`;
export const internalTable = (name: 'files' | 'snapshots' | 'history' | 'tables'): string => qualified(INTERNAL_SCHEMA, name);

/**
 * The DuckDB type a view column of this Iceberg type reads as: the writer's mapping (duckdb-types.ts), plus the two
 * types DuckHouse never writes but other engines may: fixed[L] reads as BLOB, timestamptz_ns as TIMESTAMPTZ (DuckDB
 * has no nanosecond TIMESTAMPTZ: truncated to microseconds).
 */
export function viewColumnType(type: IcebergType, where: string): string {
  switch (type.kind) {
    case 'fixed': return 'BLOB';
    case 'timestamptz_ns': return 'TIMESTAMPTZ';
    case 'struct': return `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${viewColumnType(f.type, `${where}.${f.name}`)}`).join(', ')})`;
    case 'list': return `${viewColumnType(type.element, `${where}.element`)}[]`;
    case 'map': return `MAP(${viewColumnType(type.key, `${where}.key`)}, ${viewColumnType(type.value, `${where}.value`)})`;
    default: return duckdbSqlType(type, where);
  }
}

/**
 * Refuses columns the SQL cannot carry: a current column named like the file column, or (when row positions are
 * needed to apply position deletes) any schema's top-level column named `file_row_number`, which DuckDB refuses.
 */
export function checkColumns(tableName: string, schemas: readonly Schema[], current: Schema, needsPositions: boolean): void {
  const clash = current.fields.find((f) => f.name.toLowerCase() === FILE_COLUMN);
  if (clash) throw new DuckHouseError('schema-incompatible', `table ${tableName}: column "${clash.name}" is reserved by the views refresher; rename it`);
  if (!needsPositions) return;
  const positions = schemas.find((s) => s.fields.some((f) => f.name.toLowerCase() === ROW_COLUMN));
  if (positions) {
    throw new DuckHouseError('schema-incompatible', `table ${tableName}: schema ${positions.schemaId} has a column named "${ROW_COLUMN}", and DuckDB cannot apply position deletes to files with such a column; rename it (files written before the rename still carry the name)`);
  }
}

/** What a scan reads: the table's key, its current columns, and local paths of data and position delete files. */
export interface ScanFiles {
  readonly tableName: string;
  readonly fields: readonly NestedField[];
  readonly dataFiles: readonly string[];
  readonly deleteFiles: readonly string[];
}

const pathList = (paths: readonly string[]): string => `[${paths.map(quoteLiteral).join(', ')}]`;

/** `map {<field id>: {name, type, default_value}}`: read_parquet's column mapping by Iceberg field id. */
export function fieldIdSchema(fields: readonly NestedField[]): string {
  const entries = fields.map((f) => `${f.id}: {name: ${quoteLiteral(f.name)}, type: ${quoteLiteral(viewColumnType(f.type, f.name))}, default_value: NULL}`);
  return `map {${entries.join(', ')}}`;
}

function dataScan(scan: ScanFiles, positions: boolean): string {
  const options = [`schema = ${fieldIdSchema(scan.fields)}`, `filename = ${quoteLiteral(FILE_COLUMN)}`, ...(positions ? [`${ROW_COLUMN} = true`] : [])];
  return `read_parquet(${pathList(scan.dataFiles)}, ${options.join(', ')}) AS "d"`;
}

const projection = (fields: readonly NestedField[]): string => fields.map((f) => `"d".${quoteIdent(f.name)}`).join(', ');

/** The right columns and no rows (a table with no data files): `SELECT CAST(NULL AS <type>) AS "<col>", …`. */
function emptySelect(fields: readonly NestedField[]): string {
  return `SELECT ${fields.map((f) => `CAST(NULL AS ${viewColumnType(f.type, f.name)}) AS ${quoteIdent(f.name)}`).join(', ')}`;
}

const fileCol = quoteIdent(FILE_COLUMN);
const rowCol = quoteIdent(ROW_COLUMN);

/**
 * The main view's query: the data files with an ANTI JOIN on (file, row position) against the position delete files.
 * A delete row names its data file by location (as written in metadata); _duckhouse.files maps it to the local path.
 */
export function currentViewQuery(scan: ScanFiles): string {
  if (scan.dataFiles.length === 0) return `${emptySelect(scan.fields)} WHERE false`;
  const positions = scan.deleteFiles.length > 0;
  const select = `SELECT ${projection(scan.fields)} FROM ${dataScan(scan, positions)}`;
  if (!positions) return select;
  return `${select} ANTI JOIN (SELECT "m"."local_path", "x"."pos" FROM read_parquet(${pathList(scan.deleteFiles)}) AS "x" `
    + `JOIN ${internalTable('files')} AS "m" ON "m"."table_name" = ${quoteLiteral(scan.tableName)} AND "m"."content" = 0 AND "m"."location" = "x"."file_path") AS "del" `
    + `ON "d".${fileCol} = "del"."local_path" AND "d".${rowCol} = "del"."pos"`;
}

/** A snapshot of the current history, for the time-travel macros. */
export interface TimeTravelSnapshot {
  readonly snapshotId: bigint;
  readonly ordinal: bigint;
  readonly committedAtMs: number;
}

/** A data (0) or position delete (1) file of a retained snapshot, with the ordinals it is live in. */
export interface TimeTravelFile {
  readonly location: string;
  readonly localPath: string;
  readonly content: 0 | 1;
  readonly firstOrdinal: bigint;
  readonly lastOrdinal: bigint | null;
}

export interface TimeTravel {
  readonly tableName: string;
  readonly fields: readonly NestedField[];
  readonly snapshots: readonly TimeTravelSnapshot[];
  readonly files: readonly TimeTravelFile[];
}

/** A TIMESTAMPTZ literal from ms since the epoch (the ISO form carries its UTC offset: no session time zone involved). */
export const timestamptzLiteral = (ms: number): string => `CAST(${quoteLiteral(new Date(ms).toISOString())} AS TIMESTAMPTZ)`;
const intLiteral = (value: bigint | null): string => (value === null ? 'NULL' : String(value));

/** A constant relation: `SELECT CAST(c AS type) … FROM (VALUES …)`, or no rows of those types. */
function constants(columns: readonly [name: string, type: string][], rows: readonly string[][]): string {
  if (rows.length === 0) return `SELECT ${columns.map(([n, t]) => `CAST(NULL AS ${t}) AS ${quoteIdent(n)}`).join(', ')} WHERE false`;
  return `SELECT ${columns.map(([n, t]) => `CAST("v".${quoteIdent(n)} AS ${t}) AS ${quoteIdent(n)}`).join(', ')} `
    + `FROM (VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS "v"(${columns.map(([n]) => quoteIdent(n)).join(', ')})`;
}

/**
 * A time-travel macro body: `target` (a CTE over "params" and "snapshots") yields "target"("ordinal") or raises an
 * error; then the rows of the data files live at that ordinal, minus those the live position delete files remove.
 */
function timeTravelQuery(tt: TimeTravel, params: string, target: string): string {
  const snapshots = constants([['snapshot_id', 'BIGINT'], ['ordinal', 'BIGINT'], ['committed_at', 'TIMESTAMPTZ']],
    tt.snapshots.map((s) => [intLiteral(s.snapshotId), intLiteral(s.ordinal), quoteLiteral(new Date(s.committedAtMs).toISOString())]));
  const files = constants([['location', 'VARCHAR'], ['local_path', 'VARCHAR'], ['content', 'TINYINT'], ['first_ordinal', 'BIGINT'], ['last_ordinal', 'BIGINT']],
    tt.files.map((f) => [quoteLiteral(f.location), quoteLiteral(f.localPath), String(f.content), intLiteral(f.firstOrdinal), intLiteral(f.lastOrdinal)]));
  const ctes = `"params" AS (${params}), "snapshots" AS (${snapshots}), "target" AS (${target}), "files" AS (${files}), `
    + `"live" AS (SELECT "f"."local_path", "f"."location", "f"."content" FROM "files" AS "f", "target" AS "t" `
    + `WHERE "f"."first_ordinal" <= "t"."ordinal" AND ("f"."last_ordinal" IS NULL OR "f"."last_ordinal" >= "t"."ordinal"))`;
  const scan: ScanFiles = {
    tableName: tt.tableName,
    fields: tt.fields,
    dataFiles: tt.files.filter((f) => f.content === 0).map((f) => f.localPath),
    deleteFiles: tt.files.filter((f) => f.content === 1).map((f) => f.localPath),
  };
  if (scan.dataFiles.length === 0) return `WITH ${ctes} ${emptySelect(scan.fields)} FROM "target" AS "t" WHERE "t"."ordinal" IS NULL`;
  const positions = scan.deleteFiles.length > 0;
  let sql = `WITH ${ctes} SELECT ${projection(scan.fields)} FROM ${dataScan(scan, positions)} `
    + `SEMI JOIN "live" AS "l" ON "l"."content" = 0 AND "l"."local_path" = "d".${fileCol}`;
  if (positions) {
    sql += ` ANTI JOIN (SELECT "ld"."local_path", "x"."pos" FROM read_parquet(${pathList(scan.deleteFiles)}, filename = ${quoteLiteral(FILE_COLUMN)}) AS "x" `
      + `JOIN "live" AS "lx" ON "lx"."content" = 1 AND "lx"."local_path" = "x".${fileCol} `
      + `JOIN "live" AS "ld" ON "ld"."content" = 0 AND "ld"."location" = "x"."file_path") AS "del" `
      + `ON "d".${fileCol} = "del"."local_path" AND "d".${rowCol} = "del"."pos"`;
  }
  return sql;
}

/** The rows of snapshot `snapshot_id`; an error names it when it is not in the current history. */
export function atSnapshotQuery(tt: TimeTravel): string {
  const missing = quoteLiteral(`table ${tt.tableName} has no snapshot `);
  const why = quoteLiteral(' in its current history (expired, never existed, or not an ancestor of the current snapshot)');
  return timeTravelQuery(tt, 'SELECT CAST(snapshot_id AS BIGINT) AS "want"',
    `SELECT coalesce(max("s"."ordinal"), error(${missing} || coalesce(CAST(max("p"."want") AS VARCHAR), 'NULL') || ${why})) AS "ordinal" `
    + 'FROM "params" AS "p" LEFT JOIN "snapshots" AS "s" ON "s"."snapshot_id" = "p"."want"');
}

/** The rows of the newest snapshot of the current history committed at or before `ts` (cast to TIMESTAMPTZ). */
export function asOfQuery(tt: TimeTravel): string {
  const missing = quoteLiteral(`table ${tt.tableName} has no snapshot in its current history committed at or before `);
  return timeTravelQuery(tt, 'SELECT CAST(ts AS TIMESTAMPTZ) AS "at"',
    `SELECT coalesce(max("s"."ordinal"), error(${missing} || coalesce(CAST(max("p"."at") AS VARCHAR), 'NULL'))) AS "ordinal" `
    + 'FROM "params" AS "p" LEFT JOIN "snapshots" AS "s" ON "s"."committed_at" <= "p"."at"');
}

export function snapshotsQuery(tableName: string): string {
  return `SELECT "s"."committed_at", "s"."snapshot_id", "s"."parent_id", "s"."sequence_number", "s"."operation", "s"."summary", "s"."manifest_list" `
    + `FROM ${internalTable('snapshots')} AS "s" WHERE "s"."table_name" = ${quoteLiteral(tableName)} ORDER BY "s"."committed_at", "s"."sequence_number"`;
}

export function historyQuery(tableName: string): string {
  return `SELECT "h"."made_current_at", "h"."snapshot_id", "h"."parent_id", "h"."is_current_ancestor" `
    + `FROM ${internalTable('history')} AS "h" WHERE "h"."table_name" = ${quoteLiteral(tableName)} ORDER BY "h"."position"`;
}

export interface ViewDefinitions {
  /** The current snapshot's files. */
  readonly current: ScanFiles;
  /** The snapshots of the current history and every file they read (for the time-travel macros). */
  readonly timeTravel: TimeTravel;
}

/** The statements that create or replace every object of one table (run them in one transaction). */
export function createObjectsSql(names: ViewNames, views: ViewDefinitions): string[] {
  const q = (name: string): string => qualified(names.schema, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(names.schema)}`,
    `CREATE OR REPLACE VIEW ${q(names.view)} AS ${currentViewQuery(views.current)}`,
    `CREATE OR REPLACE VIEW ${q(names.snapshots)} AS ${snapshotsQuery(names.tableName)}`,
    `CREATE OR REPLACE VIEW ${q(names.history)} AS ${historyQuery(names.tableName)}`,
    `CREATE OR REPLACE MACRO ${q(names.atSnapshot)}(snapshot_id) AS TABLE ${atSnapshotQuery(views.timeTravel)}`,
    `CREATE OR REPLACE MACRO ${q(names.asOf)}(ts) AS TABLE ${asOfQuery(views.timeTravel)}`,
  ];
}

/** The statements that drop every object of one table (the schema stays: other objects may live in it). */
export function dropObjectsSql(names: ViewNames): string[] {
  const q = (name: string): string => qualified(names.schema, name);
  return [
    `DROP VIEW IF EXISTS ${q(names.view)}`,
    `DROP VIEW IF EXISTS ${q(names.snapshots)}`,
    `DROP VIEW IF EXISTS ${q(names.history)}`,
    `DROP MACRO TABLE IF EXISTS ${q(names.atSnapshot)}`,
    `DROP MACRO TABLE IF EXISTS ${q(names.asOf)}`,
  ];
}
