// Reading a table's rows back through DuckDB: the primary-key text and row position of every live row, file by file
// (scanKeys, to rebuild the sink's PK index), whole rows at given positions of one data file (readRowsAt), and all
// live rows (scanRows). Position deletes are applied; columns are found by Iceberg field id, so files written before a
// rename or an added column read right. Values come back in Iceberg's in-memory form (schemas/row-batch.ts).
// Files on object storage are downloaded through the table's FileIO into a temp dir (DuckDB has no httpfs here) and
// removed afterwards; local files are read in place.
// Must never: write or delete a table file, or hand out a row that a position delete removed.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import {
  BIGINT, DuckDBArrayValue, DuckDBBlobValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBListValue, DuckDBMapValue, DuckDBStructValue,
  DuckDBTimestampNanosecondsValue, DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBTimeValue, DuckDBUUIDValue, LIST, listValue,
} from '@duckdb/node-api';
import { DataInvalidError, DuckHouseError, MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import { openDuckDB, quoteIdent, quoteLiteral } from '../../shared/duckdb.js';
import type { KeyField } from '../../schemas/row-key.js';
import { duckdbKeyExpression } from '../../schemas/row-key.js';
import type { Table } from '../catalogs/catalog.js';
import { localPathOf, locationScheme } from '../io/location.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import type { Schema } from '../spec/schema.js';
import { currentSchema, schemaById } from '../spec/table-metadata.js';
import { uuidFromBytes } from '../spec/transforms.js';
import type { IcebergType, NestedField } from '../spec/types.js';
import type { FileScanTask } from './plan-files.js';
import { planFiles, selectSnapshot } from './plan-files.js';

export interface ScanKeysOptions {
  /** Default: the current snapshot. */
  snapshotId?: bigint;
  /** Scratch directory for files downloaded from object storage. Default: the OS temp dir. */
  tempDir?: string;
  /** Data files read (and downloaded) at once, ahead of the consumer. Default 4. */
  concurrency?: number;
}

export interface FileKeys {
  readonly file: DataFile;
  /** keys[i] is the canonical key (schemas/row-key.ts) of the row at positions[i] (0-based row number in the file). */
  readonly keys: string[];
  readonly positions: number[];
}

export interface ScanRowsOptions {
  /** Top-level columns by Iceberg name. Default: every column of the scanned snapshot's schema. */
  columns?: readonly string[];
  snapshotId?: bigint;
  tempDir?: string;
  /**
   * Adds where each row lives, for position deletes: `_file` (its data file's path) and `_pos` (its 0-based row number
   * in that file, bigint). Refused when a scanned column has one of those names. Default false.
   */
  withPositions?: boolean;
}

/** The names scanRows' `withPositions` adds to each row. */
export const ROW_FILE_FIELD = '_file';
export const ROW_POS_FIELD = '_pos';

/**
 * Local paths DuckDB can read for table files. Local files are used in place; others are downloaded through the
 * table's FileIO (or, for local paths with glob characters, linked) into a scratch dir. Only those copies are ever
 * removed: each once its last expected use is released, and the scratch dir on close().
 */
export class LocalFiles {
  private dir: Promise<string> | undefined;
  private readonly copies = new Map<string, Promise<string>>();
  private readonly owned = new Set<string>();
  private readonly uses = new Map<string, number>();

  constructor(private readonly table: Table, private readonly tempDir: string | undefined) {}

  expect(location: string): void {
    this.uses.set(location, (this.uses.get(location) ?? 0) + 1);
  }

  /** `what` names the file's role in errors (`data file`, `position delete file`). */
  acquire(location: string, what: string): Promise<string> {
    let copy = this.copies.get(location);
    if (!copy) {
      copy = this.place(location, what);
      copy.catch(() => undefined);
      this.copies.set(location, copy);
    }
    return copy;
  }

  async release(location: string): Promise<void> {
    const left = (this.uses.get(location) ?? 1) - 1;
    this.uses.set(location, left);
    const copy = this.copies.get(location);
    if (left > 0 || !copy) return;
    this.copies.delete(location);
    const local = await copy.catch(() => undefined);
    if (local !== undefined && this.owned.delete(local)) await rm(local, { force: true });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.copies.values());
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }

  private async place(location: string, what: string): Promise<string> {
    const missing = (cause: unknown): MetadataInvalidError =>
      new MetadataInvalidError(`${what} ${location} (referenced by table ${this.table.metadata.location}) is missing`, { cause, context: { file: location } });
    if (locationScheme(location) === 'file') {
      const local = localPathOf(location);
      try {
        await stat(local);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(error);
        throw new DuckHouseError('io', `${what} ${location}: ${(error as Error).message}`, { cause: error, context: { file: location } });
      }
      // DuckDB expands glob characters in paths: such a file is read through a link with a plain name.
      return /[*?[\]{}]/.test(local) ? this.scratchFile((linked) => symlink(local, linked)) : local;
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.table.io.read(location);
    } catch (error) {
      throw error instanceof NotFoundError ? missing(error) : error;
    }
    return this.scratchFile((local) => writeFile(local, bytes));
  }

  private async scratchFile(create: (local: string) => Promise<void>): Promise<string> {
    this.dir ??= mkdtemp(path.join(this.tempDir ?? tmpdir(), 'duckhouse-scan-'));
    const local = path.join(await this.dir, `${this.owned.size}-${randomUUID()}.parquet`);
    this.owned.add(local);
    await create(local);
    return local;
  }
}

/** One node of a Parquet file's schema (parquet_schema), with its Iceberg field id when the writer stored one. */
interface FileNode {
  readonly name: string;
  readonly fieldId: number | undefined;
  readonly children: FileNode[];
}

function readError(what: string, location: string, error: unknown): DuckHouseError {
  if (error instanceof DuckHouseError) return error;
  return new DuckHouseError('io', `reading ${what} ${location}: ${(error as Error).message}`, { cause: error, context: { file: location } });
}

async function fileSchema(connection: DuckDBConnection, local: string, location: string): Promise<FileNode> {
  const rows: DuckDBValue[][] = [];
  for await (const chunk of chunksOf(connection, `SELECT name, num_children, field_id FROM parquet_schema(${quoteLiteral(local)})`, 'data file', location)) rows.push(...chunk);
  let next = 0;
  const node = (): FileNode => {
    const [name, children, fieldId] = rows[next++] ?? [];
    const count = Number(children ?? 0);
    return { name: String(name), fieldId: fieldId === null || fieldId === undefined ? undefined : Number(fieldId), children: Array.from({ length: count }, node) };
  };
  // A column named file_row_number makes DuckDB refuse the file_row_number option with a clear error.
  return node();
}

/** The file's node for an Iceberg field: by field id, or by name when the file carries no field ids. */
function childFor(node: FileNode | undefined, field: NestedField): FileNode | undefined {
  if (!node) return undefined;
  return node.children.find((c) => c.fieldId === field.id) ?? (node.children.every((c) => c.fieldId === undefined) ? node.children.find((c) => c.name === field.name) : undefined);
}

/** A list's element node (3-level `list.element`, or the legacy repeated field itself). */
function elementOf(node: FileNode | undefined): FileNode | undefined {
  const repeated = node?.children[0];
  return repeated && repeated.children.length === 1 ? repeated.children[0] : repeated;
}

function wrongValue(type: IcebergType, value: DuckDBValue): never {
  throw new DuckHouseError('internal', `cannot read a ${type.kind} value from DuckDB's ${value?.constructor.name ?? typeof value} ${String(value)}`);
}

/** A DuckDB value of a column written for `type` → Iceberg's in-memory form. `node` is the file's schema node. */
function icebergValue(value: DuckDBValue, type: IcebergType, node: FileNode | undefined): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean': case 'string': case 'float': case 'double':
      return value;
    case 'int': case 'date':
      if (value instanceof DuckDBDateValue) return value.days;
      return typeof value === 'bigint' ? Number(value) : value;
    case 'long':
      return typeof value === 'number' ? BigInt(value) : value;
    case 'decimal':
      if (!(value instanceof DuckDBDecimalValue)) return wrongValue(type, value);
      // A file written before a precision widening has the same scale; a different scale would be a bad file.
      return value.scale === type.scale ? value.value : wrongValue(type, value);
    case 'time':
      return value instanceof DuckDBTimeValue ? value.micros : wrongValue(type, value);
    case 'timestamp': case 'timestamptz': case 'timestamp_ns': case 'timestamptz_ns': {
      const nanos = type.kind.endsWith('_ns');
      if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) return nanos ? value.micros * 1000n : value.micros;
      if (value instanceof DuckDBTimestampNanosecondsValue) return nanos ? value.nanos : value.nanos / 1000n;
      return wrongValue(type, value);
    }
    case 'uuid':
      if (value instanceof DuckDBUUIDValue) return value.toString();
      return value instanceof DuckDBBlobValue && value.bytes.length === 16 ? uuidFromBytes(value.bytes) : wrongValue(type, value);
    case 'binary': case 'fixed':
      // A copy as a plain Uint8Array (DuckDB hands out a Buffer over its chunk's memory).
      return value instanceof DuckDBBlobValue ? new Uint8Array(value.bytes) : wrongValue(type, value);
    case 'struct': {
      if (!(value instanceof DuckDBStructValue)) return wrongValue(type, value);
      const row: Record<string, unknown> = {};
      for (const field of type.fields) {
        const child = childFor(node, field);
        row[field.name] = child ? icebergValue(value.entries[child.name] ?? null, field.type, child) : null;
      }
      return row;
    }
    case 'list': {
      if (!(value instanceof DuckDBListValue) && !(value instanceof DuckDBArrayValue)) return wrongValue(type, value);
      const element = elementOf(node);
      return value.items.map((item) => icebergValue(item, type.element, element));
    }
    case 'map': {
      if (!(value instanceof DuckDBMapValue)) return wrongValue(type, value);
      const [keyNode, valueNode] = node?.children[0]?.children ?? [];
      return new Map(value.entries.map((e) => [icebergValue(e.key, type.key, keyNode), icebergValue(e.value, type.value, valueNode)]));
    }
  }
}

function selectFields(schema: Schema, columns: readonly string[] | undefined): NestedField[] {
  if (!columns) return [...schema.fields];
  return columns.map((name) => {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) throw new DataInvalidError(`no column "${name}" in schema ${schema.schemaId}; expected one of ${schema.fields.map((f) => f.name).join(', ')}`);
    return field;
  });
}

/** SQL selecting the fields the file has (as c0, c1, …) plus file_row_number, and how to turn a result row into a row. */
function projection(root: FileNode, fields: readonly NestedField[]): { select: string; toRow: (values: DuckDBValue[]) => Record<string, unknown> } {
  const nodes = fields.map((f) => childFor(root, f));
  const present = nodes.flatMap((node, i) => (node ? [{ node, i }] : []));
  const select = [...present.map(({ node, i }) => `${quoteIdent(node.name)} AS c${i}`), 'file_row_number'].join(', ');
  const toRow = (values: DuckDBValue[]): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (const f of fields) row[f.name] = null;
    present.forEach(({ node, i }, k) => {
      row[fields[i]!.name] = icebergValue(values[k] ?? null, fields[i]!.type, node);
    });
    return row;
  };
  return { select, toRow };
}

/** Refuses what DuckHouse cannot read (it never writes these): equality deletes, and files other than Parquet. */
function checkTask({ file, deletes }: FileScanTask): void {
  const unsupported = (reason: string): DuckHouseError =>
    new DuckHouseError('metadata-invalid', `unsupported: data file ${file.filePath} ${reason}`, { context: { file: file.filePath, unsupported: true } });
  if (file.fileFormat !== 'PARQUET') throw unsupported(`is ${file.fileFormat}; only Parquet data files can be read`);
  for (const d of deletes) {
    if (d.content === DataFileContent.EQUALITY_DELETES) throw unsupported(`has equality delete file ${d.filePath} applying to it; only position deletes can be applied`);
    if (d.fileFormat !== 'PARQUET') throw unsupported(`has ${d.fileFormat} position delete file ${d.filePath}; only Parquet delete files can be read`);
  }
}

/** Row positions of the task's data file that its position delete files remove. */
async function deletedPositions(connection: DuckDBConnection, files: LocalFiles, task: FileScanTask): Promise<Set<number>> {
  const deleted = new Set<number>();
  if (task.deletes.length === 0) return deleted;
  try {
    const locals = await Promise.all(task.deletes.map((d) => files.acquire(d.filePath, 'position delete file')));
    const sql = `SELECT pos FROM read_parquet([${locals.map(quoteLiteral).join(', ')}]) WHERE file_path = ${quoteLiteral(task.file.filePath)}`;
    for await (const rows of chunksOf(connection, sql, 'the position delete files of', task.file.filePath)) {
      for (const [pos] of rows) deleted.add(Number(pos));
    }
  } finally {
    for (const d of task.deletes) await files.release(d.filePath);
  }
  return deleted;
}

/** A query's rows, one DuckDB chunk (up to 2048 rows) at a time; DuckDB errors name the file. */
async function* chunksOf(connection: DuckDBConnection, sql: string, what: string, location: string, values?: DuckDBValue[], types?: DuckDBType[]): AsyncGenerator<DuckDBValue[][]> {
  const guard = <T>(promise: Promise<T>): Promise<T> => promise.catch((error: unknown) => Promise.reject(readError(what, location, error)));
  const result = await guard(connection.stream(sql, values, types));
  for (let chunk = await guard(result.fetchChunk()); chunk && chunk.rowCount > 0; chunk = await guard(result.fetchChunk())) yield chunk.getRows();
}

interface ScanContext {
  readonly instance: DuckDBInstance;
  readonly files: LocalFiles;
}

/** Runs `body` with one DuckDB instance and the local copies of the tasks' files; both are gone afterwards. */
async function* withScan<T>(table: Table, tasks: readonly FileScanTask[], tempDir: string | undefined, body: (ctx: ScanContext) => AsyncGenerator<T>): AsyncGenerator<T> {
  const files = new LocalFiles(table, tempDir);
  for (const task of tasks) {
    files.expect(task.file.filePath);
    for (const d of task.deletes) files.expect(d.filePath);
  }
  const { instance, connection } = await openDuckDB();
  connection.closeSync();
  try {
    yield* body({ instance, files });
  } finally {
    await files.close();
    instance.closeSync();
  }
}

async function keysOfFile(ctx: ScanContext, schema: Schema, task: FileScanTask, keyFields: readonly KeyField[]): Promise<FileKeys> {
  const location = task.file.filePath;
  const connection = await ctx.instance.connect();
  try {
    const local = await ctx.files.acquire(location, 'data file');
    const root = await fileSchema(connection, local, location);
    const columns = new Map(keyFields.map((k) => {
      const field = schema.fields.find((f) => f.name === k.name);
      if (!field) throw new DataInvalidError(`key column "${k.name}" is not a top-level column of schema ${schema.schemaId}`, { context: { column: k.name } });
      const node = childFor(root, field);
      if (!node) throw new DataInvalidError(`key column "${k.name}" is missing from data file ${location}`, { context: { column: k.name, file: location } });
      return [k.name, quoteIdent(node.name)];
    }));
    const deleted = await deletedPositions(connection, ctx.files, task);
    const keys: string[] = [];
    const positions: number[] = [];
    const sql = `SELECT ${duckdbKeyExpression(keyFields, (name) => columns.get(name)!)} AS k, file_row_number FROM read_parquet(${quoteLiteral(local)}, file_row_number=true)`;
    for await (const rows of chunksOf(connection, sql, 'data file', location)) {
      for (const [key, row] of rows) {
        const pos = Number(row);
        if (deleted.has(pos)) continue;
        if (typeof key !== 'string') {
          throw new DataInvalidError(`a key column (${keyFields.map((k) => k.name).join(', ')}) is null in data file ${location} at row ${pos}`, { context: { file: location, pos } });
        }
        keys.push(key);
        positions.push(pos);
      }
    }
    return { file: task.file, keys, positions };
  } finally {
    connection.closeSync();
    await ctx.files.release(location);
  }
}

/**
 * For every live data file (in planFiles order): the canonical key and row position of each row no position delete
 * removes. Reads only the key columns; files are read up to `concurrency` at once, ahead of the consumer.
 */
export async function* scanKeys(table: Table, keyFields: readonly KeyField[], options: ScanKeysOptions = {}): AsyncGenerator<FileKeys> {
  const tasks = await planFiles(table, options.snapshotId === undefined ? {} : { snapshotId: options.snapshotId });
  tasks.forEach(checkTask);
  const schema = currentSchema(table.metadata);
  const limit = Math.max(1, Math.floor(options.concurrency ?? 4));
  yield* withScan(table, tasks, options.tempDir, async function* (ctx) {
    const pending: Promise<FileKeys>[] = [];
    let next = 0;
    const fill = (): void => {
      while (pending.length < limit && next < tasks.length) {
        const read = keysOfFile(ctx, schema, tasks[next++]!, keyFields);
        read.catch(() => undefined);
        pending.push(read);
      }
    };
    try {
      fill();
      for (let read = pending.shift(); read; read = pending.shift()) {
        const result = await read;
        fill();
        yield result;
      }
    } finally {
      // Early exit or error: let reads in flight finish so their copies are released before the temp dir goes.
      await Promise.allSettled(pending);
    }
  });
}

function checkPositions(file: Pick<DataFile, 'filePath' | 'recordCount'>, positions: readonly number[]): number[] {
  for (const p of positions) {
    if (!Number.isSafeInteger(p) || p < 0 || BigInt(p) >= file.recordCount) {
      throw new DataInvalidError(`readRowsAt: position ${p} is not a row of data file ${file.filePath} (${file.recordCount} rows)`, { context: { file: file.filePath, pos: p } });
    }
  }
  return [...new Set(positions)].sort((a, b) => a - b);
}

/**
 * The rows at `positions` (0-based) of one data file, keyed by position, with `columns` (top-level Iceberg names;
 * default every column of the current schema; a column the file predates is null). Deletes are not consulted.
 */
export async function readRowsAt(table: Table, file: Pick<DataFile, 'filePath' | 'recordCount'>, positions: readonly number[], columns?: readonly string[]): Promise<Map<number, Record<string, unknown>>> {
  const fields = selectFields(currentSchema(table.metadata), columns);
  const wanted = checkPositions(file, positions);
  const rows = new Map<number, Record<string, unknown>>();
  if (wanted.length === 0) return rows;
  const files = new LocalFiles(table, undefined);
  files.expect(file.filePath);
  const { instance, connection } = await openDuckDB();
  try {
    const local = await files.acquire(file.filePath, 'data file');
    const { select, toRow } = projection(await fileSchema(connection, local, file.filePath), fields);
    const sql = `SELECT ${select} FROM read_parquet(${quoteLiteral(local)}, file_row_number=true)
      WHERE file_row_number BETWEEN ${wanted[0]!} AND ${wanted.at(-1)!} AND file_row_number IN (SELECT unnest($1))`;
    for await (const chunk of chunksOf(connection, sql, 'data file', file.filePath, [listValue(wanted.map(BigInt))], [LIST(BIGINT)])) {
      for (const values of chunk) rows.set(Number(values.at(-1)), toRow(values));
    }
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
    await files.close();
  }
}

/**
 * Every live row of the table (position deletes applied), in chunks of up to 2048 rows, file by file; with
 * `withPositions`, each row also says where it lives (`_file`, `_pos`).
 */
export async function* scanRows(table: Table, options: ScanRowsOptions = {}): AsyncGenerator<Record<string, unknown>[]> {
  const snapshot = selectSnapshot(table.metadata, options.snapshotId === undefined ? {} : { snapshotId: options.snapshotId });
  const schema = options.snapshotId !== undefined && snapshot?.schemaId !== undefined ? schemaById(table.metadata, snapshot.schemaId) : currentSchema(table.metadata);
  const fields = selectFields(schema, options.columns);
  const withPositions = options.withPositions === true;
  const clash = withPositions ? fields.find((f) => f.name === ROW_FILE_FIELD || f.name === ROW_POS_FIELD) : undefined;
  if (clash) throw new DataInvalidError(`scanRows: withPositions adds ${ROW_FILE_FIELD} and ${ROW_POS_FIELD}, but the table has a column named "${clash.name}"; pass columns without it`);
  const tasks = await planFiles(table, snapshot ? { snapshotId: snapshot.snapshotId } : {});
  tasks.forEach(checkTask);
  yield* withScan(table, tasks, options.tempDir, async function* ({ instance, files }) {
    for (const task of tasks) {
      const location = task.file.filePath;
      const connection = await instance.connect();
      try {
        const local = await files.acquire(location, 'data file');
        const { select, toRow } = projection(await fileSchema(connection, local, location), fields);
        const deleted = await deletedPositions(connection, files, task);
        const sql = `SELECT ${select} FROM read_parquet(${quoteLiteral(local)}, file_row_number=true)`;
        for await (const chunk of chunksOf(connection, sql, 'data file', location)) {
          const rows = chunk.filter((values) => !deleted.has(Number(values.at(-1)))).map((values) => {
            const row = toRow(values);
            if (withPositions) {
              row[ROW_FILE_FIELD] = location;
              row[ROW_POS_FIELD] = BigInt(values.at(-1) as bigint | number);
            }
            return row;
          });
          if (rows.length > 0) yield rows;
        }
      } finally {
        connection.closeSync();
        await files.release(location);
      }
    }
  });
}
