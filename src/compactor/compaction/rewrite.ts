// Rewrites one compaction group with DuckDB: its data files are read by Iceberg field id (so files written before a
// rename or an added column read right), the rows their position deletes remove are dropped by an anti join, and
// the rest is written as one Parquet file with the current schema's field ids and statistics (COPY … RETURN_STATS).
// Also counts the rows each data file loses to position deletes, for planning.
// Must never: drop a row no delete removes (the output row count is checked against inputs minus deletes), or place
// a partial file.
import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Table } from '../../catalog/catalogs/catalog.js';
import type { LocalFiles } from '../../catalog/read/scan-table.js';
import type { DataFile } from '../../catalog/spec/manifest.js';
import { DataFileContent } from '../../catalog/spec/manifest.js';
import type { Schema } from '../../catalog/spec/schema.js';
import { currentSchema, defaultSortOrder, specById } from '../../catalog/spec/table-metadata.js';
import { dataFileFromStats, metricsModes } from '../../catalog/writer/data-file.js';
import { duckdbSqlType, fieldIdsClause, leafColumns } from '../../catalog/writer/duckdb-types.js';
import { columnStatsByFieldId, parseCopyStatsRow } from '../../catalog/writer/parquet-stats.js';
import { partitionDir, writeAndPlace } from '../../catalog/writer/table-writer.js';
import { quoteIdent, quoteLiteral } from '../../shared/duckdb.js';
import { DuckHouseError } from '../../shared/errors.js';
import type { RewriteGroup } from './plan.js';

export interface RewriteOptions {
  readonly connection: DuckDBConnection;
  readonly files: LocalFiles;
  readonly tempDir?: string;
  /** ZSTD level of the output (default DuckDB's 3). */
  readonly compressionLevel?: number;
}

export interface RewrittenGroup {
  readonly group: RewriteGroup;
  readonly output: DataFile | undefined;
  readonly rowsIn: number;
  readonly rowsDeleted: number;
  readonly bytesWritten: number;
}

const list = (items: readonly string[]): string => `[${items.map(quoteLiteral).join(', ')}]`;

/** read_parquet's `schema` parameter: columns by Iceberg field id, typed as the schema says, NULL when absent. */
export function fieldIdSchemaParameter(schema: Schema): string {
  const entries = schema.fields.map((f) => `${f.id}: {name: ${quoteLiteral(f.name)}, type: ${quoteLiteral(duckdbSqlType(f.type, f.name))}, default_value: NULL}`);
  return `map {${entries.join(', ')}}`;
}

/** Distinct (data file location, position) rows of position delete files, limited to the given data files. */
function deletesSql(deleteLocals: readonly string[], dataLocations: readonly string[]): string {
  return `SELECT DISTINCT file_path, pos FROM read_parquet(${list(deleteLocals)}) WHERE file_path IN (${dataLocations.map(quoteLiteral).join(', ')})`;
}

async function localsOf(files: LocalFiles, locations: readonly string[], what: string): Promise<string[]> {
  return Promise.all(locations.map((location) => files.acquire(location, what)));
}

/** Rows each data file loses to its position deletes (distinct positions), keyed by data file location. */
export async function deletedRowCounts(options: RewriteOptions, deleteFiles: readonly DataFile[], dataLocations: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (deleteFiles.length === 0 || dataLocations.length === 0) return counts;
  const locals = await localsOf(options.files, deleteFiles.map((d) => d.filePath), 'position delete file');
  const reader = await options.connection.runAndReadAll(`SELECT file_path, count(*)::BIGINT FROM (${deletesSql(locals, dataLocations)}) GROUP BY file_path`);
  for (const [path, count] of reader.getRows()) counts.set(String(path), Number(count));
  return counts;
}

/** The data locations each position delete file references, read in one query. */
export async function referencedLocations(options: RewriteOptions, deleteFiles: readonly DataFile[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(deleteFiles.map((d) => [d.filePath, []]));
  if (deleteFiles.length === 0) return result;
  const locals = await localsOf(options.files, deleteFiles.map((d) => d.filePath), 'position delete file');
  const locationOf = new Map(locals.map((local, i) => [local, deleteFiles[i]!.filePath]));
  const reader = await options.connection.runAndReadAll(`SELECT DISTINCT filename, file_path FROM read_parquet(${list(locals)}, filename = true)`);
  for (const [local, path] of reader.getRows()) result.get(locationOf.get(String(local)) ?? '')?.push(String(path));
  return result;
}

export async function rewriteGroup(table: Table, group: RewriteGroup, options: RewriteOptions): Promise<RewrittenGroup> {
  const schema = currentSchema(table.metadata);
  const spec = specById(table.metadata, group.specId);
  const inputs = group.files.map((f) => f.file);
  const dataLocals = await localsOf(options.files, inputs.map((f) => f.filePath), 'data file');
  const deleteFiles = [...new Map(group.files.flatMap((f) => f.deletes).map((d) => [d.filePath, d])).values()];
  if (deleteFiles.some((d) => d.content !== DataFileContent.POSITION_DELETES)) {
    throw new DuckHouseError('metadata-invalid', `compaction of ${table.metadata.location}: equality deletes apply to the files; only position deletes can be applied`, { context: { unsupported: true } });
  }
  const deleteLocals = await localsOf(options.files, deleteFiles.map((d) => d.filePath), 'position delete file');
  const rowsIn = inputs.reduce((n, f) => n + Number(f.recordCount), 0);
  const mapping = `VALUES ${inputs.map((f, i) => `(${quoteLiteral(dataLocals[i]!)}, ${quoteLiteral(f.filePath)})`).join(', ')}`;
  const deleted = deleteLocals.length === 0 ? undefined : deletesSql(deleteLocals, inputs.map((f) => f.filePath));
  let rowsDeleted = 0;
  if (deleted) {
    const reader = await options.connection.runAndReadAll(`SELECT count(*)::BIGINT FROM (${deleted})`);
    rowsDeleted = Number(reader.getRows()[0]?.[0] ?? 0);
  }
  const rowsOut = rowsIn - rowsDeleted;
  if (rowsOut === 0) return { group, output: undefined, rowsIn, rowsDeleted, bytesWritten: 0 };
  const columns = schema.fields.map((f) => `d.${quoteIdent(f.name)}`).join(', ');
  const select = [
    `WITH files(local_path, location) AS (${mapping})${deleted ? `, deleted AS (${deleted})` : ''}`,
    `SELECT ${columns} FROM read_parquet(${list(dataLocals)}, schema = ${fieldIdSchemaParameter(schema)}, filename = true, file_row_number = true) d`,
    'JOIN files f ON f.local_path = d.filename',
    ...(deleted ? ['ANTI JOIN deleted x ON x.file_path = f.location AND x.pos = d.file_row_number'] : []),
  ].join('\n');
  const settings = [
    'FORMAT parquet', 'COMPRESSION zstd',
    ...(options.compressionLevel === undefined ? [] : [`COMPRESSION_LEVEL ${options.compressionLevel}`]),
    'ROW_GROUP_SIZE 122880', `FIELD_IDS ${fieldIdsClause(schema.fields)}`, 'RETURN_STATS',
  ].join(', ');
  const location = `${partitionDir(table, spec, inputs[0]!.partition)}/compacted-${randomUUID()}.parquet`;
  const result = await writeAndPlace(table, location, options.tempDir, async (local) => {
    const reader = await options.connection.runAndReadAll(`COPY (${select}) TO ${quoteLiteral(local)} (${settings})`);
    const stats = parseCopyStatsRow(reader.getRowObjectsJson()[0] as Record<string, unknown>);
    if (stats.count !== BigInt(rowsOut)) {
      throw new DuckHouseError('internal', `compaction of ${inputs.length} files into ${location}: expected ${rowsIn} rows minus ${rowsDeleted} deleted = ${rowsOut}, DuckDB wrote ${stats.count}`, { context: { location } });
    }
    return { path: local, fileSizeInBytes: stats.fileSizeBytes, recordCount: stats.count, columns: columnStatsByFieldId(leafColumns(schema.fields), stats) };
  });
  const output = dataFileFromStats({
    content: DataFileContent.DATA,
    path: location,
    specId: spec.specId,
    partition: inputs[0]!.partition,
    recordCount: result.recordCount,
    fileSizeInBytes: result.fileSizeInBytes,
    columns: result.columns,
    schema,
    metrics: metricsModes(schema, table.metadata.properties),
    sortOrderId: defaultSortOrder(table.metadata).orderId,
  });
  return { group, output, rowsIn, rowsDeleted, bytesWritten: Number(result.fileSizeInBytes) };
}
