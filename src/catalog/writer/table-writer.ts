// Writes a table's data: Arrow batches fan out by partition (one file set per partition of the default spec), roll
// into a new file near `write.target-file-size-bytes` (or when the memory budget is reached), are written as Parquet
// with field ids, and become DataFiles. Position deletes are written per partition through writePositionDeletes.
// Single use: write(batch)… then close(): DataFile[]. Must never: reorder rows within a file (row positions are what
// position deletes and the primary-key index point at), or leave temp files behind.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { DataInvalidError, DuckHouseError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import { localPathOf, locationScheme } from '../io/location.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import type { PartitionSpec, PartitionValues } from '../spec/partition-spec.js';
import { applyTransform, partitionKey, partitionPath, partitionSourceTypes, partitionType } from '../spec/partition-spec.js';
import type { Schema } from '../spec/schema.js';
import { indexById } from '../spec/schema.js';
import { currentSchema, defaultSortOrder, defaultSpec, propertyInt, specById } from '../spec/table-metadata.js';
import type { PrimitiveType } from '../spec/types.js';
import { uuidFromBytes } from '../spec/transforms.js';
import { arrowValueAt } from './arrow-values.js';
import type { MetricsMode } from './data-file.js';
import { dataFileFromStats, metricsModes } from './data-file.js';
import type { ParquetFileResult, ParquetWriteOptions, PositionDelete } from './parquet-file.js';
import { POSITION_DELETE_SCHEMA, writeParquetFile, writePositionDeleteFile } from './parquet-file.js';

export const DEFAULT_TARGET_FILE_SIZE = 512 * 1024 * 1024;
/** Parquet bytes per Arrow byte before the first file tells us better. */
const INITIAL_COMPRESSION_RATIO = 0.35;

export interface TableWriterOptions extends ParquetWriteOptions {
  /** Overrides `write.target-file-size-bytes`. */
  targetFileSizeBytes?: number;
  /** Arrow bytes buffered across partitions before the largest partition is flushed early. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** Local scratch directory for files bound for object storage. Default: the OS temp dir. */
  tempDir?: string;
  /**
   * Files written at once when a flush is large (each file keeps its rows in order; files are returned in row
   * order). Default: the machine's cores, at most 4. 1 turns it off (compaction, when fewer files matter more).
   */
  parallelism?: number;
  /** A flush is split into parallel files only when each part gets at least this many rows. Default 250,000. */
  minRowsPerParallelFile?: number;
}

interface PartitionBuffer {
  values: PartitionValues;
  batches: RecordBatch[];
  /** The input row number (across every write() call) of each batch's first row. */
  firstRows: number[];
  bytes: number;
}

/** A run of input rows (numbered across every write() call, from 0) that sits contiguously in one file. */
export interface RowRange {
  readonly firstRow: number;
  readonly count: number;
}

/** Where a table's data files go: `write.data.path`, else `<location>/data`. */
export function dataLocation(table: Table): string {
  return (table.metadata.properties['write.data.path'] ?? `${table.metadata.location}/data`).replace(/\/+$/, '');
}

export class TableWriter {
  private readonly schema: Schema;
  private readonly spec: PartitionSpec;
  private readonly sources: PrimitiveType[];
  private readonly sourceColumns: string[];
  private readonly buffers = new Map<string, PartitionBuffer>();
  private readonly files: DataFile[] = [];
  private readonly ranges = new Map<string, RowRange[]>();
  private inputRows = 0;
  private readonly target: number;
  private readonly maxBuffered: number;
  private readonly metrics: (fieldId: number) => MetricsMode;
  private readonly fileId = randomUUID();
  private buffered = 0;
  private ratio = INITIAL_COMPRESSION_RATIO;
  private fileCount = 0;
  private closed = false;

  constructor(private readonly table: Table, private readonly options: TableWriterOptions = {}) {
    this.schema = currentSchema(table.metadata);
    this.spec = defaultSpec(table.metadata);
    this.sources = partitionSourceTypes(this.spec, this.schema);
    const index = indexById(this.schema);
    this.sourceColumns = this.spec.fields.map((f) => {
      const entry = index.get(f.sourceId)!;
      if (entry.parentId !== undefined) throw new DuckHouseError('config', `partition source "${entry.path}" is nested; only top-level columns can be partition sources here`);
      return entry.field.name;
    });
    this.target = options.targetFileSizeBytes ?? propertyInt(table.metadata, 'write.target-file-size-bytes', DEFAULT_TARGET_FILE_SIZE);
    this.maxBuffered = options.maxBufferedBytes ?? 256 * 1024 * 1024;
    this.metrics = metricsModes(this.schema, table.metadata.properties);
  }

  /** Buffers a batch (split by partition); files are written as buffers fill. Await to apply backpressure. */
  async write(batch: RecordBatch): Promise<void> {
    if (this.closed) throw new DuckHouseError('internal', 'TableWriter: write() after close()');
    if (batch.numRows === 0) return;
    const bytesPerRow = batch.data.byteLength / batch.numRows;
    const base = this.inputRows;
    this.inputRows += batch.numRows;
    for (const { values, slice, start } of this.split(batch)) {
      const key = partitionKey(values);
      const buffer = this.buffers.get(key) ?? { values, batches: [], firstRows: [], bytes: 0 };
      this.buffers.set(key, buffer);
      buffer.batches.push(slice);
      buffer.firstRows.push(base + start);
      const bytes = bytesPerRow * slice.numRows;
      buffer.bytes += bytes;
      this.buffered += bytes;
      if (buffer.bytes * this.ratio >= this.target) await this.flush(key);
    }
    while (this.buffered > this.maxBuffered) {
      const largest = [...this.buffers.entries()].sort((a, b) => b[1].bytes - a[1].bytes)[0];
      if (!largest) break;
      await this.flush(largest[0]);
    }
  }

  /** Contiguous runs of rows with the same partition, as zero-copy slices. */
  private *split(batch: RecordBatch): Generator<{ values: PartitionValues; slice: RecordBatch; start: number }> {
    if (this.spec.fields.length === 0) {
      yield { values: [], slice: batch, start: 0 };
      return;
    }
    const columns = this.sourceColumns.map((name) => {
      const column = batch.getChild(name);
      if (!column) throw new DataInvalidError(`partition source column "${name}" is missing from the batch`);
      if (column.data.length !== 1) throw new DuckHouseError('internal', `column "${name}" has ${column.data.length} chunks in one batch`);
      return column.data[0]!;
    });
    let start = 0;
    let current: PartitionValues | undefined;
    let currentKey = '';
    for (let row = 0; row < batch.numRows; row++) {
      // columns[i] is the source column of spec field i.
      const values = this.spec.fields.map((field, i) => {
        const raw = arrowValueAt(columns[i]!, row);
        return applyTransform(field.transform, this.sources[i]!, this.sources[i]!.kind === 'uuid' && raw instanceof Uint8Array ? uuidFromBytes(raw) : raw);
      });
      const key = partitionKey(values);
      if (current === undefined) {
        current = values;
        currentKey = key;
      } else if (key !== currentKey) {
        yield { values: current, slice: batch.slice(start, row), start };
        start = row;
        current = values;
        currentKey = key;
      }
    }
    if (current !== undefined) yield { values: current, slice: batch.slice(start, batch.numRows), start };
  }

  private location(values: PartitionValues): string {
    return `${partitionDir(this.table, this.spec, values)}/${String(this.fileCount++).padStart(5, '0')}-${this.fileId}.parquet`;
  }

  private async flush(key: string): Promise<void> {
    const buffer = this.buffers.get(key);
    if (!buffer) return;
    this.buffers.delete(key);
    this.buffered -= buffer.bytes;
    const parts = splitRows(buffer.batches, this.partsFor(buffer.batches));
    let partStart = 0;
    const results = await Promise.all(parts.map(async (batches) => {
      const location = this.location(buffer.values);
      const count = batches.reduce((n, b) => n + b.numRows, 0);
      this.ranges.set(location, inputRanges(buffer, partStart, count));
      partStart += count;
      const result = await writeAndPlace(this.table, location, this.options.tempDir, (local) => writeParquetFile({ ...this.options, schema: this.schema, batches, path: local }));
      return { location, result };
    }));
    const written = results.reduce((n, r) => n + Number(r.result.fileSizeInBytes), 0);
    if (buffer.bytes > 0) this.ratio = Math.max(0.01, written / buffer.bytes);
    for (const { location, result } of results) {
      this.files.push(dataFileFromStats({
        content: DataFileContent.DATA,
        path: location,
        specId: this.spec.specId,
        partition: buffer.values,
        recordCount: result.recordCount,
        fileSizeInBytes: result.fileSizeInBytes,
        columns: result.columns,
        schema: this.schema,
        metrics: this.metrics,
        sortOrderId: defaultSortOrder(this.table.metadata).orderId,
      }));
    }
  }

  private partsFor(batches: readonly RecordBatch[]): number {
    const rows = batches.reduce((n, b) => n + b.numRows, 0);
    const parallelism = Math.max(1, Math.floor(this.options.parallelism ?? Math.min(4, availableParallelism())));
    return Math.max(1, Math.min(parallelism, Math.floor(rows / (this.options.minRowsPerParallelFile ?? 250_000))));
  }

  /**
   * Which input rows a written file holds, in file order: row `firstRow + i` of a range is at the next position of
   * the file. What the primary-key index needs to know where each key landed.
   */
  rowRangesOf(filePath: string): readonly RowRange[] {
    return this.ranges.get(filePath) ?? [];
  }

  /** Writes what is buffered and returns every file written, in order. */
  async close(): Promise<DataFile[]> {
    if (this.closed) return this.files;
    this.closed = true;
    for (const key of [...this.buffers.keys()]) await this.flush(key);
    return this.files;
  }
}

/** The input-row ranges of `count` rows starting at row `start` of a partition buffer's concatenated batches. */
function inputRanges(buffer: PartitionBuffer, start: number, count: number): RowRange[] {
  const ranges: RowRange[] = [];
  let offset = 0;
  for (let i = 0; i < buffer.batches.length && count > 0; i++) {
    const rows = buffer.batches[i]!.numRows;
    if (offset + rows > start) {
      const from = Math.max(start, offset) - offset;
      const take = Math.min(rows - from, count);
      const firstRow = buffer.firstRows[i]! + from;
      const last = ranges[ranges.length - 1];
      if (last && last.firstRow + last.count === firstRow) ranges[ranges.length - 1] = { firstRow: last.firstRow, count: last.count + take };
      else ranges.push({ firstRow, count: take });
      count -= take;
      start += take;
    }
    offset += rows;
  }
  return ranges;
}

/** Splits batches into `parts` runs of nearly equal row counts, in order (slices are zero-copy). */
export function splitRows(batches: readonly RecordBatch[], parts: number): RecordBatch[][] {
  if (parts <= 1) return [[...batches]];
  const total = batches.reduce((n, b) => n + b.numRows, 0);
  const result: RecordBatch[][] = [];
  let current: RecordBatch[] = [];
  let filled = 0;
  let assigned = 0;
  let quota = Math.max(1, Math.ceil(total / parts));
  for (const batch of batches) {
    let offset = 0;
    while (offset < batch.numRows) {
      const take = Math.min(batch.numRows - offset, quota - filled);
      current.push(offset === 0 && take === batch.numRows ? batch : batch.slice(offset, offset + take));
      offset += take;
      filled += take;
      if (filled === quota && result.length < parts - 1) {
        result.push(current);
        assigned += filled;
        current = [];
        filled = 0;
        quota = Math.max(1, Math.ceil((total - assigned) / (parts - result.length)));
      }
    }
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** The folder for a partition's files: `<data location>/<field=value/…>` (the data location when unpartitioned). */
export function partitionDir(table: Table, spec: PartitionSpec, values: PartitionValues): string {
  if (spec.fields.length === 0) return dataLocation(table);
  const types = partitionType(spec, currentSchema(table.metadata)).map((p) => p.type);
  return `${dataLocation(table)}/${partitionPath(spec, types, values)}`;
}

/**
 * Runs `write(localPath)` and puts the file at `location`: written in place for a local warehouse, or to a temp file
 * uploaded through FileIO (multipart when large) for object storage. The temp file is always removed.
 */
export async function writeAndPlace(table: Table, location: string, tempDir: string | undefined, write: (local: string) => Promise<ParquetFileResult>): Promise<ParquetFileResult> {
  if (locationScheme(location) === 'file') {
    const local = localPathOf(location);
    await mkdir(path.dirname(local), { recursive: true });
    return write(local);
  }
  const dir = await mkdtemp(path.join(tempDir ?? tmpdir(), 'duckhouse-write-'));
  try {
    const local = path.join(dir, 'file.parquet');
    const result = await write(local);
    await table.io.upload(local, location, { ifNoneMatch: true });
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PositionDeleteWriteOptions extends ParquetWriteOptions {
  /** Spec and partition of the data files the deletes point at (position deletes live in their partition). */
  specId?: number;
  partition?: PartitionValues;
  tempDir?: string;
}

/** Writes one position delete file (sorted by file_path, pos) and returns its DataFile. */
export async function writePositionDeletes(table: Table, deletes: readonly PositionDelete[], options: PositionDeleteWriteOptions = {}): Promise<DataFile> {
  if (deletes.length === 0) throw new DataInvalidError('writePositionDeletes: no deletes to write');
  const specId = options.specId ?? table.metadata.defaultSpecId;
  const spec = specById(table.metadata, specId);
  const partition = options.partition ?? [];
  if (partition.length !== spec.fields.length) throw new DataInvalidError(`writePositionDeletes: spec ${specId} has ${spec.fields.length} partition fields, found ${partition.length} values`);
  const location = `${partitionDir(table, spec, partition)}/delete-${randomUUID()}.parquet`;
  const result = await writeAndPlace(table, location, options.tempDir, (local) => writePositionDeleteFile(local, deletes, options));
  return dataFileFromStats({
    content: DataFileContent.POSITION_DELETES,
    path: location,
    specId,
    partition,
    recordCount: result.recordCount,
    fileSizeInBytes: result.fileSizeInBytes,
    columns: result.columns,
    schema: POSITION_DELETE_SCHEMA,
    // Full bounds on file_path and pos: planners use them to match delete files to data files.
    metrics: () => ({ kind: 'full' }),
  });
}
