// RowBatchBuilder: rows in Iceberg's in-memory value form (catalog/spec/conversions.ts, schemas/avro-codec.ts) become
// one Arrow RecordBatch with exactly the Arrow types the writer takes (icebergToArrow). Each column writes straight into
// typed arrays (values, offsets, validity bits) that grow by doubling and are reused after build(): no per-value Arrow
// builders. Values: int/date → number; long/time/timestamps → bigint (µs; ns for *_ns; a long also takes a safe-integer
// number, for rows written before an int → long promotion); decimal → unscaled bigint;
// float/double → number; string; uuid → 'xxxxxxxx-xxxx-…' string; binary/fixed → Uint8Array; boolean; struct → object;
// list → array; map → Map, an array of {key, value}, or (string keys) a plain object; null/undefined → null.
// Row keys that are not columns are ignored. Must never: accept a value of the wrong JS type or out of range, or a null
// in a required column (DataInvalidError naming the column and the value), or keep half of a refused row.
import type { Data, DataType, Field } from 'apache-arrow';
import { makeData, RecordBatch, Struct } from 'apache-arrow';
import type { Schema } from '../catalog/spec/schema.js';
import type { IcebergType } from '../catalog/spec/types.js';
import { DataInvalidError } from '../shared/errors.js';
import { avroFieldName } from './avro-iceberg.js';
import { Column, describe, grown, icebergToArrow, leafColumn } from './iceberg-arrow.js';

const MAX_BYTES = 2 ** 31 - 1;
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** string (Utf8) and binary (Binary): 32-bit offsets into one byte buffer. */
class BytesColumn extends Column {
  private offsets = new Int32Array(1);
  private bytes = Buffer.alloc(0);
  private end = 0;
  private readonly text: boolean;
  constructor(path: string, required: boolean, type: IcebergType, arrow: DataType) {
    super(path, required, type, arrow);
    this.text = type.kind === 'string';
  }
  private room(count: number): void {
    if (this.end + count <= this.bytes.length) return;
    if (this.end + count > MAX_BYTES) this.wrong('at most 2 GiB of values per column in one batch (build smaller batches)', `${this.end + count} bytes`);
    const bytes = Buffer.alloc(Math.min(MAX_BYTES, Math.max(this.end + count, this.bytes.length * 2, 4096)));
    this.bytes.copy(bytes, 0, 0, this.end);
    this.bytes = bytes;
  }
  append(v: unknown): void {
    const i = this.reserve();
    if (this.text && typeof v === 'string') {
      const n = v.length;
      this.room(n * 3);
      const bytes = this.bytes;
      const at = this.end;
      let written = n;
      // Short ASCII strings: a JS loop beats the native call; anything else goes through Buffer.write.
      if (n <= 32) {
        for (let k = 0; k < n; k++) {
          const c = v.charCodeAt(k);
          if (c >= 0x80) {
            written = bytes.write(v, at);
            break;
          }
          bytes[at + k] = c;
        }
      } else written = bytes.write(v, at);
      // Every non-ASCII character takes more than one byte; only then can the text hold a lone surrogate.
      if (written !== n && !isWellFormed(v)) this.wrong('well-formed text (a lone UTF-16 surrogate cannot be written as UTF-8)', v);
      this.end = at + written;
      this.valid(i);
    } else if (!this.text && v instanceof Uint8Array) {
      this.room(v.length);
      this.bytes.set(v, this.end);
      this.end += v.length;
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong(this.text ? 'a string' : 'a Uint8Array', v);
    this.offsets[i + 1] = this.end;
    this.length = i + 1;
  }
  override appendNull(): void {
    const i = this.reserve();
    this.null(i, false);
    this.offsets[i + 1] = this.end;
    this.length = i + 1;
  }
  override truncate(length: number): void {
    this.end = this.offsets[length]!;
    super.truncate(length);
  }
  byteSize(): number { return this.end + (this.length + 1) * 4 + this.validityBytes(); }
  finish(): Data {
    const valueOffsets = this.offsets.slice(0, this.length + 1);
    const data = new Uint8Array(this.end);
    data.set(this.bytes.subarray(0, this.end));
    this.end = 0;
    return makeData({ ...this.take(), valueOffsets, data } as never);
  }
  protected growValues(capacity: number): void {
    this.offsets = grown(this.offsets, new Int32Array(capacity + 1));
  }
}


const isRecordLike = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map) && !(v instanceof Date);

class StructColumn extends Column {
  constructor(path: string, required: boolean, type: IcebergType, arrow: DataType, private readonly names: string[], private readonly children: Column[]) {
    super(path, required, type, arrow);
  }
  append(v: unknown): void {
    const i = this.reserve();
    if (isRecordLike(v)) {
      this.valid(i);
      for (let c = 0; c < this.children.length; c++) this.children[c]!.append(v[this.names[c]!]);
    } else if (v === null || v === undefined) {
      this.null(i);
      for (const child of this.children) child.appendNull();
    } else this.wrong(`an object with fields ${this.names.join(', ')}`, v);
    this.length = i + 1;
  }
  override appendNull(): void {
    const i = this.reserve();
    this.null(i, false);
    for (const child of this.children) child.appendNull();
    this.length = i + 1;
  }
  override truncate(length: number): void {
    for (const child of this.children) child.truncate(length);
    super.truncate(length);
  }
  byteSize(): number { return this.children.reduce((n, c) => n + c.byteSize(), this.validityBytes()); }
  finish(): Data {
    const children = this.children.map((c) => c.finish());
    return makeData({ ...this.take(), children } as never);
  }
  protected growValues(): void {}
}

/** list (List<element>) and map (Map<entries: Struct<key, value>>): 32-bit offsets into child columns. */
class NestedListColumn extends Column {
  private offsets = new Int32Array(1);
  constructor(path: string, required: boolean, type: IcebergType, arrow: DataType, private readonly children: [Column] | [Column, Column], private readonly entries?: DataType) {
    super(path, required, type, arrow);
  }
  append(v: unknown): void {
    const i = this.reserve();
    const [first, second] = this.children;
    if (second === undefined && Array.isArray(v)) {
      for (let k = 0; k < v.length; k++) first.append(v[k]);
      this.valid(i);
    } else if (second !== undefined && v instanceof Map) {
      for (const [key, value] of v) {
        first.append(key);
        second.append(value);
      }
      this.valid(i);
    } else if (second !== undefined && Array.isArray(v)) {
      for (const entry of v) {
        if (!isRecordLike(entry)) this.wrong('map entries as {key, value} objects', entry);
        first.append(entry.key);
        second.append(entry.value);
      }
      this.valid(i);
    } else if (second !== undefined && this.type.kind === 'map' && this.type.key.kind === 'string' && isRecordLike(v) && isPlainObject(v)) {
      for (const key of Object.keys(v)) {
        first.append(key);
        second.append(v[key]);
      }
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong(second === undefined ? 'an array' : `a Map or an array of {key, value}${this.type.kind === 'map' && this.type.key.kind === 'string' ? ' or a plain object' : ''}`, v);
    this.offsets[i + 1] = first.length;
    this.length = i + 1;
  }
  override appendNull(): void {
    const i = this.reserve();
    this.null(i, false);
    this.offsets[i + 1] = this.children[0].length;
    this.length = i + 1;
  }
  override truncate(length: number): void {
    // Always: a refused row may have appended children before this column's own length moved.
    for (const child of this.children) child.truncate(this.offsets[length]!);
    super.truncate(length);
  }
  byteSize(): number { return this.children.reduce((n, c) => n + c.byteSize(), (this.length + 1) * 4 + this.validityBytes()); }
  finish(): Data {
    const valueOffsets = this.offsets.slice(0, this.length + 1);
    const [first, second] = this.children;
    const child = second === undefined ? first.finish() : makeData({ type: this.entries, length: first.length, nullCount: 0, children: [first.finish(), second.finish()] } as never);
    return makeData({ ...this.take(), valueOffsets, child } as never);
  }
  protected growValues(capacity: number): void {
    this.offsets = grown(this.offsets, new Int32Array(capacity + 1));
  }
}

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

type KeyOf = (name: string) => string;

function column(type: IcebergType, arrow: DataType, path: string, required: boolean, key: KeyOf): Column {
  const child = (index: number): DataType => (arrow.children[index] as Field).type;
  switch (type.kind) {
    case 'struct':
      return new StructColumn(path, required, type, arrow, type.fields.map((f) => key(f.name)), type.fields.map((f, i) => column(f.type, child(i), `${path}.${f.name}`, f.required, key)));
    case 'list':
      return new NestedListColumn(path, required, type, arrow, [column(type.element, child(0), `${path}.element`, type.elementRequired, key)]);
    case 'map': {
      const entries = child(0);
      const part = (index: number): DataType => (entries.children[index] as Field).type;
      const children: [Column, Column] = [column(type.key, part(0), `${path}.key`, true, key), column(type.value, part(1), `${path}.value`, type.valueRequired, key)];
      return new NestedListColumn(path, required, type, arrow, children, entries);
    }
    case 'string': case 'binary':
      return new BytesColumn(path, required, type, arrow);
    default:
      return leafColumn(type, arrow, path, required);
  }
}

export interface RowBatchBuilderOptions {
  /**
   * How rows name their fields. `iceberg` (default): the schema's names. `avro`: as avsc decodes a schema written by
   * icebergToAvro or the producers, where a name Avro does not allow (`order id`) is sanitized (`order_x20id`) and the
   * real one kept in `iceberg-field-name`.
   */
  rowNames?: 'iceberg' | 'avro';
}

/**
 * Builds Arrow RecordBatches for one Iceberg schema from rows in the in-memory value form (see the module comment).
 * append() refuses a bad row whole (DataInvalidError; the rows before it stay); build() hands out the batch and starts
 * the next one. Batches have the fields of `arrowSchema` (icebergToArrow of the schema).
 */
export class RowBatchBuilder {
  readonly arrowSchema;
  private readonly rowType: Struct;
  private readonly columns: Column[];
  private readonly names: string[];
  private rows = 0;

  constructor(readonly schema: Schema, options: RowBatchBuilderOptions = {}) {
    const key: KeyOf = options.rowNames === 'avro' ? avroFieldName : (name) => name;
    this.arrowSchema = icebergToArrow(schema);
    this.rowType = new Struct(this.arrowSchema.fields);
    this.names = schema.fields.map((f) => key(f.name));
    this.columns = schema.fields.map((f, i) => column(f.type, this.arrowSchema.fields[i]!.type, f.name, f.required, key));
  }

  append(row: Record<string, unknown>): void {
    if (typeof row !== 'object' || row === null) throw new DataInvalidError(`expected a row object, found ${describe(row)}`);
    const n = this.rows;
    const columns = this.columns;
    const names = this.names;
    try {
      for (let c = 0; c < columns.length; c++) columns[c]!.append(row[names[c]!]);
    } catch (error) {
      for (const col of columns) col.truncate(n);
      if (error instanceof DataInvalidError) error.context.row = n;
      throw error;
    }
    this.rows = n + 1;
  }

  /** Drops the rows appended since the last build() (for a builder used only to check rows). */
  clear(): void {
    for (const col of this.columns) col.truncate(0);
    this.rows = 0;
  }

  /** Rows appended since the last build(). */
  get length(): number {
    return this.rows;
  }

  /** Bytes the batch's Arrow buffers will take (values, offsets, validity): for "flush at N bytes" decisions. */
  get byteSize(): number {
    let bytes = 0;
    for (const col of this.columns) bytes += col.byteSize();
    return bytes;
  }

  /** The rows appended so far as one RecordBatch (possibly empty); the builder is empty again afterwards. */
  build(): RecordBatch {
    const children = this.columns.map((c) => c.finish());
    const length = this.rows;
    this.rows = 0;
    return new RecordBatch(this.arrowSchema, makeData({ type: this.rowType, length, nullCount: 0, children }));
  }
}
