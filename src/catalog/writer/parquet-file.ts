// Writes one Parquet file from Arrow RecordBatches for an Iceberg schema: every column carries its Iceberg field id,
// logical types are the ones Iceberg reads (timestamps in MICROS), and the file's statistics come back per field id
// (from DuckDB's COPY … RETURN_STATS) ready for a DataFile. Also writes position delete files (spec schema, sorted).
// Must never leave a partial file behind on failure, and never reorder rows: row positions are what position deletes
// and the primary-key index point at. Local paths only; uploading is FileIO's job.
import { rm } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { Int64, makeData, RecordBatch as ArrowRecordBatch, Utf8 } from 'apache-arrow';
import { DataInvalidError, DuckHouseError } from '../../shared/errors.js';
import { quoteIdent, quoteLiteral } from '../../shared/duckdb.js';
import { compareCodePoints } from '../spec/conversions.js';
import { POSITION_DELETE_FILE_PATH_FIELD_ID, POSITION_DELETE_POS_FIELD_ID } from '../spec/manifest.js';
import type { Schema } from '../spec/schema.js';
import type { IcebergType } from '../spec/types.js';
import { connectWriterDuckDB, registerSource, SCAN_FUNCTION } from './arrow-scan.js';
import { checkWritableSchema, duckdbSqlType, fieldIdsClause, leafColumns } from './duckdb-types.js';
import type { ColumnStats } from './parquet-stats.js';
import { columnStatsByFieldId, parseCopyStatsRow } from './parquet-stats.js';

export type { ColumnStats } from './parquet-stats.js';
export { closeWriterDuckDB } from './arrow-scan.js';
export { compareCodePoints } from '../spec/conversions.js';
export { POSITION_DELETE_FILE_PATH_FIELD_ID, POSITION_DELETE_POS_FIELD_ID } from '../spec/manifest.js';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'lz4_raw' | 'uncompressed';

export interface ParquetWriteOptions {
  /** Default `zstd`. */
  compression?: ParquetCompression;
  /** ZSTD level (1..22); DuckDB's default (3) when unset. */
  compressionLevel?: number;
  /** Rows per row group; DuckDB rounds it up to a multiple of 2048. Default 122,880 (DuckDB's). */
  rowGroupSize?: number;
}

export interface WriteParquetFileOptions extends ParquetWriteOptions {
  /** Field ids and types come from here; Arrow columns are matched to top-level fields by name. */
  schema: Schema;
  /**
   * The rows, in file order. Missing optional columns (top level or inside structs) are written as nulls; an Arrow
   * column that is not in the schema, a missing required column, or an Arrow type that does not match is refused.
   * Synchronous iterables stream; an async iterable is read to the end first (DuckDB pulls batches synchronously).
   * Batches of at least 2048 rows write fastest (one DuckDB chunk never spans two batches).
   */
  batches: Iterable<RecordBatch> | AsyncIterable<RecordBatch>;
  /** Local output path; an existing file is replaced. */
  path: string;
}

export interface ParquetFileResult {
  readonly path: string;
  readonly fileSizeInBytes: bigint;
  readonly recordCount: bigint;
  /** Statistics of every leaf primitive column, by Iceberg field id. */
  readonly columns: Map<number, ColumnStats>;
}

const DEFAULT_ROW_GROUP_SIZE = 122_880;

export async function writeParquetFile(options: WriteParquetFileOptions): Promise<ParquetFileResult> {
  const { schema, path } = options;
  checkWritableSchema(schema);
  const settings = copySettings(schema, options);
  const batches = isSyncIterable(options.batches) ? options.batches : await drain(options.batches);
  const { id, source, release } = registerSource(schema.fields, batches);
  let connection: DuckDBConnection | undefined;
  try {
    connection = await connectWriterDuckDB();
    const reader = await connection.runAndReadAll(copySql(schema, id, path, settings));
    const row = reader.getRowObjectsJson()[0];
    if (!row) throw new DuckHouseError('internal', `COPY … RETURN_STATS returned no row for ${path}`);
    const stats = parseCopyStatsRow(row as Record<string, unknown>);
    if (stats.count !== BigInt(source.rows)) {
      throw new DuckHouseError('internal', `${path}: DuckDB wrote ${stats.count} rows, the batches held ${source.rows}`);
    }
    return {
      path,
      fileSizeInBytes: stats.fileSizeBytes,
      recordCount: stats.count,
      columns: columnStatsByFieldId(leafColumns(schema.fields), stats),
    };
  } catch (error) {
    await rm(path, { force: true });
    throw source.error ?? translateError(error, path);
  } finally {
    release();
    connection?.closeSync();
  }
}

/** The COPY options (validated before anything is written): format, compression, row group size, field ids, stats. */
function copySettings(schema: Schema, options: ParquetWriteOptions): string {
  const compression = options.compression ?? 'zstd';
  if (!['zstd', 'snappy', 'gzip', 'lz4_raw', 'uncompressed'].includes(compression)) {
    throw new DataInvalidError(`compression: expected zstd, snappy, gzip, lz4_raw or uncompressed, found ${JSON.stringify(compression)}`);
  }
  return [
    'FORMAT parquet',
    `COMPRESSION ${compression}`,
    ...(options.compressionLevel === undefined ? [] : [`COMPRESSION_LEVEL ${integerOption(options.compressionLevel, 'compressionLevel')}`]),
    `ROW_GROUP_SIZE ${integerOption(options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE, 'rowGroupSize')}`,
    `FIELD_IDS ${fieldIdsClause(schema.fields)}`,
    'RETURN_STATS',
  ].join(', ');
}

function copySql(schema: Schema, id: number, path: string, settings: string): string {
  const columns = schema.fields.map((f) => {
    const name = quoteIdent(f.name);
    return hasNarrowDecimal(f.type) ? `CAST(${name} AS ${duckdbSqlType(f.type, f.name)}) AS ${name}` : name;
  });
  return `COPY (SELECT ${columns.join(', ')} FROM ${SCAN_FUNCTION}(${id})) TO ${quoteLiteral(path)} (${settings})`;
}

/** Decimals arrive as DECIMAL(38,s) (Arrow's 128-bit layout); DuckDB casts them down and checks the range. */
function hasNarrowDecimal(type: IcebergType): boolean {
  switch (type.kind) {
    case 'decimal': return type.precision !== 38;
    case 'struct': return type.fields.some((f) => hasNarrowDecimal(f.type));
    case 'list': return hasNarrowDecimal(type.element);
    case 'map': return hasNarrowDecimal(type.key) || hasNarrowDecimal(type.value);
    default: return false;
  }
}

function integerOption(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new DataInvalidError(`${name}: expected a positive integer, found ${value}`);
  return value;
}

function translateError(error: unknown, path: string): unknown {
  if (error instanceof DuckHouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(Conversion|Invalid Input) Error/.test(message)) {
    return new DataInvalidError(`writing ${path}: ${message}`, { cause: error, context: { path } });
  }
  return new DuckHouseError('io', `writing ${path}: ${message}`, { cause: error, context: { path } });
}

function isSyncIterable<T>(value: Iterable<T> | AsyncIterable<T>): value is Iterable<T> {
  return typeof (value as Partial<Iterable<T>>)[Symbol.iterator] === 'function';
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

// ---- position deletes (spec "Position Delete Files") ----


/** The spec's position delete schema (without the optional `row` column). */
export const POSITION_DELETE_SCHEMA: Schema = {
  schemaId: 0,
  identifierFieldIds: [],
  fields: [
    { id: POSITION_DELETE_FILE_PATH_FIELD_ID, name: 'file_path', required: true, type: { kind: 'string' } },
    { id: POSITION_DELETE_POS_FIELD_ID, name: 'pos', required: true, type: { kind: 'long' } },
  ],
};

export interface PositionDelete {
  readonly filePath: string;
  readonly pos: bigint;
}

const DELETE_BATCH_ROWS = 65_536;

/**
 * Writes a position delete file: rows sorted by file_path (code point order, as Iceberg compares strings) then pos,
 * as the spec requires. The input array is not modified.
 */
export async function writePositionDeleteFile(path: string, rows: readonly PositionDelete[], options: ParquetWriteOptions = {}): Promise<ParquetFileResult> {
  rows.forEach((row, index) => {
    if (typeof row.filePath !== 'string' || typeof row.pos !== 'bigint' || row.pos < 0n) {
      throw new DataInvalidError(`position delete ${index}: expected {filePath: string, pos: bigint >= 0}, found ${describeDelete(row)}`, { context: { index } });
    }
  });
  const sorted = [...rows].sort((a, b) => (a.filePath === b.filePath ? (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0) : compareCodePoints(a.filePath, b.filePath)));
  return writeParquetFile({ ...options, schema: POSITION_DELETE_SCHEMA, path, batches: deleteBatches(sorted) });
}

function* deleteBatches(rows: readonly PositionDelete[]): Generator<RecordBatch> {
  const encoder = new TextEncoder();
  for (let begin = 0; begin < rows.length; begin += DELETE_BATCH_ROWS) {
    const slice = rows.slice(begin, begin + DELETE_BATCH_ROWS);
    const encoded: Uint8Array[] = [];
    let previous: { path: string; bytes: Uint8Array } | undefined;
    for (const row of slice) {
      if (previous?.path !== row.filePath) previous = { path: row.filePath, bytes: encoder.encode(row.filePath) };
      encoded.push(previous.bytes);
    }
    const offsets = new Int32Array(slice.length + 1);
    encoded.forEach((bytes, i) => { offsets[i + 1] = (offsets[i] ?? 0) + bytes.length; });
    const data = new Uint8Array(offsets[slice.length] ?? 0);
    encoded.forEach((bytes, i) => data.set(bytes, offsets[i]));
    yield new ArrowRecordBatch({
      file_path: makeData({ type: new Utf8(), length: slice.length, valueOffsets: offsets, data }),
      pos: makeData({ type: new Int64(), length: slice.length, data: BigInt64Array.from(slice, (r) => r.pos) }),
    });
  }
}

function describeDelete(row: unknown): string {
  if (row === null || typeof row !== 'object') return String(row);
  const { filePath, pos } = row as Record<string, unknown>;
  return `{filePath: ${typeof filePath}, pos: ${typeof pos === 'bigint' ? pos.toString() + 'n' : typeof pos}}`;
}
