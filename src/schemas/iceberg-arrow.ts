// Iceberg ⇄ Arrow: icebergToArrow gives exactly the Arrow types the writer takes (planVector in
// catalog/writer/arrow-vectors.ts), each field carrying its Iceberg id in `PARQUET:field_id` metadata; arrowToIceberg
// goes back (ids from that metadata, else matched by name in `previous`, else fresh), refusing Arrow types with no
// Iceberg counterpart (docs/schemas.md has the table). Also the value encoders behind RowBatchBuilder (row-batch.ts):
// one column class per primitive type, writing in-memory values straight into typed arrays and validity bits.
// PURE: no IO. Must never: map an Arrow type to an Iceberg type whose values would be read differently, or accept a
// value of the wrong JS type or out of range (DataInvalidError naming the column and the value).
import type { Data, DataType } from 'apache-arrow';
import {
  Binary, Bool, DataType as ArrowType, DateDay, DateUnit, Decimal, Field, FixedSizeBinary, Float32, Float64, Int32, Int64, List,
  makeData, Map_, Precision, Schema as ArrowSchema, Struct, TimeMicrosecond, TimestampMicrosecond, TimestampNanosecond, TimeUnit, Utf8,
} from 'apache-arrow';
import type { Schema } from '../catalog/spec/schema.js';
import type { IcebergType, NestedField, PrimitiveType } from '../catalog/spec/types.js';
import { typeToString } from '../catalog/spec/types.js';
import { DataInvalidError, SchemaIncompatibleError } from '../shared/errors.js';
import type { DraftField, DraftType, FieldIdOptions } from './field-ids.js';
import { assignFieldIds } from './field-ids.js';

/** The field metadata key Arrow's Parquet writers (and ours) read the Iceberg field id from. */
export const PARQUET_FIELD_ID = 'PARQUET:field_id';
/** Arrow's canonical extension type for UUIDs (FixedSizeBinary(16)); tells uuid apart from fixed[16]. */
export const ARROW_EXTENSION_NAME = 'ARROW:extension:name';
export const ARROW_UUID = 'arrow.uuid';

function arrowField(name: string, id: number, type: IcebergType, nullable: boolean): Field {
  const metadata = new Map([[PARQUET_FIELD_ID, String(id)]]);
  if (type.kind === 'uuid') metadata.set(ARROW_EXTENSION_NAME, ARROW_UUID);
  return new Field(name, arrowType(type), nullable, metadata);
}

/** The Arrow type the writer expects for an Iceberg type (timestamptz_ns and fixed[L] exist, but it refuses them). */
export function arrowType(type: IcebergType): DataType {
  switch (type.kind) {
    case 'boolean': return new Bool();
    case 'int': return new Int32();
    case 'long': return new Int64();
    case 'float': return new Float32();
    case 'double': return new Float64();
    case 'decimal': return new Decimal(type.scale, type.precision, 128);
    case 'date': return new DateDay();
    case 'time': return new TimeMicrosecond();
    case 'timestamp': return new TimestampMicrosecond();
    case 'timestamptz': return new TimestampMicrosecond('UTC');
    case 'timestamp_ns': return new TimestampNanosecond();
    case 'timestamptz_ns': return new TimestampNanosecond('UTC');
    case 'string': return new Utf8();
    case 'uuid': return new FixedSizeBinary(16);
    case 'fixed': return new FixedSizeBinary(type.length);
    case 'binary': return new Binary();
    case 'struct': return new Struct(type.fields.map((f) => arrowField(f.name, f.id, f.type, !f.required)));
    case 'list': return new List(arrowField('element', type.elementId, type.element, !type.elementRequired));
    case 'map': {
      const entries = new Struct([arrowField('key', type.keyId, type.key, false), arrowField('value', type.valueId, type.value, !type.valueRequired)]);
      return new Map_(new Field('entries', entries, false));
    }
  }
}

/** The Arrow schema of an Iceberg schema: a nullable field for each optional one, ids in `PARQUET:field_id`. */
export function icebergToArrow(schema: Schema): ArrowSchema {
  return new ArrowSchema(schema.fields.map((f: NestedField) => arrowField(f.name, f.id, f.type, !f.required)));
}

/**
 * The Iceberg schema of an Arrow schema. Ids come from `PARQUET:field_id` when present, else from `previous` by name,
 * else fresh ones above lastColumnId. Refuses (SchemaIncompatibleError, naming the field) Arrow types with no Iceberg
 * counterpart the writer takes: unsigned or 8/16-bit ints, half floats, Date in ms, time and timestamps in s or ms,
 * Large*, views, dictionaries, unions, fixed-size lists, intervals, durations, 256-bit decimals.
 */
export function arrowToIceberg(arrowSchema: ArrowSchema, options: FieldIdOptions = {}): { schema: Schema; lastColumnId: number } {
  const where = options.where ?? 'Arrow schema';
  const fail = (path: string, message: string): never => {
    throw new SchemaIncompatibleError(`${where}, field "${path}": ${message}`, { context: { where, field: path } });
  };
  const idOf = (field: Field | undefined, path: string): number | undefined => {
    const text = field?.metadata.get(PARQUET_FIELD_ID);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) fail(path, `${PARQUET_FIELD_ID} must be a non-negative integer, found ${JSON.stringify(text)}`);
    return Number(text);
  };
  const draftField = (field: Field, parent: string): DraftField => {
    const path = parent ? `${parent}.${field.name}` : field.name;
    return { name: field.name, required: !field.nullable, type: draftType(field, path), ...optionalId(idOf(field, path)) };
  };
  const draftType = (field: Field, path: string): DraftType => {
    const type: DataType = field.type;
    const refuse = (hint: string): never => fail(path, `Arrow ${String(type)} has no Iceberg type the writer takes; ${hint}`);
    if (ArrowType.isBool(type)) return { kind: 'boolean' };
    if (ArrowType.isInt(type)) {
      if (type.isSigned && type.bitWidth === 32) return { kind: 'int' };
      if (type.isSigned && type.bitWidth === 64) return { kind: 'long' };
      return refuse('cast it to Int32 (int) or Int64 (long)');
    }
    if (ArrowType.isFloat(type)) {
      if (type.precision === Precision.SINGLE) return { kind: 'float' };
      if (type.precision === Precision.DOUBLE) return { kind: 'double' };
      return refuse('cast it to Float32 or Float64');
    }
    if (ArrowType.isDecimal(type)) {
      if (type.bitWidth > 128 || type.precision > 38) return refuse('Iceberg decimals hold at most 38 digits');
      return { kind: 'decimal', precision: type.precision, scale: type.scale };
    }
    if (ArrowType.isDate(type)) return type.unit === DateUnit.DAY ? { kind: 'date' } : refuse('use DateDay (days since 1970-01-01)');
    if (ArrowType.isTime(type)) return type.unit === TimeUnit.MICROSECOND ? { kind: 'time' } : refuse('use TimeMicrosecond');
    if (ArrowType.isTimestamp(type)) {
      const zoned = Boolean(type.timezone);
      if (type.unit === TimeUnit.MICROSECOND) return { kind: zoned ? 'timestamptz' : 'timestamp' };
      if (type.unit === TimeUnit.NANOSECOND) return { kind: zoned ? 'timestamptz_ns' : 'timestamp_ns' };
      return refuse('use microseconds (TimestampMicrosecond)');
    }
    if (ArrowType.isUtf8(type)) return { kind: 'string' };
    if (ArrowType.isBinary(type)) return { kind: 'binary' };
    if (ArrowType.isFixedSizeBinary(type)) {
      if (field.metadata.get(ARROW_EXTENSION_NAME) === ARROW_UUID) {
        return type.byteWidth === 16 ? { kind: 'uuid' } : refuse(`${ARROW_UUID} needs FixedSizeBinary(16)`);
      }
      return { kind: 'fixed', length: type.byteWidth };
    }
    if (ArrowType.isStruct(type)) return { kind: 'struct', fields: type.children.map((child: Field) => draftField(child, path)) };
    if (ArrowType.isList(type)) {
      const element = type.children[0] as Field | undefined;
      if (!element) return refuse('a List needs a child field');
      const at = `${path}.element`;
      return { kind: 'list', elementRequired: !element.nullable, element: draftType(element, at), ...optionalKey('elementId', idOf(element, at)) };
    }
    if (ArrowType.isMap(type)) {
      const entries = type.children[0]?.type as DataType | undefined;
      const [key, value] = ArrowType.isStruct(entries) ? (entries.children as Field[]) : [];
      if (!key || !value) return refuse('a Map needs entries Struct<key, value>');
      if (key.nullable) fail(`${path}.key`, 'map keys cannot be null, found a nullable key field');
      return {
        kind: 'map', key: draftType(key, `${path}.key`), valueRequired: !value.nullable, value: draftType(value, `${path}.value`),
        ...optionalKey('keyId', idOf(key, `${path}.key`)), ...optionalKey('valueId', idOf(value, `${path}.value`)),
      };
    }
    if (ArrowType.isLargeUtf8(type) || ArrowType.isUtf8View(type) || ArrowType.isDictionary(type)) return refuse('build the column as Utf8 (decode dictionaries)');
    if (ArrowType.isLargeBinary(type) || ArrowType.isBinaryView(type)) return refuse('build the column as Binary');
    if (ArrowType.isLargeList(type) || ArrowType.isFixedSizeList(type)) return refuse('build the column as List');
    return refuse('Iceberg has no such type');
  };
  return assignFieldIds(arrowSchema.fields.map((f: Field) => draftField(f, '')), { ...options, where });
}

const optionalId = (id: number | undefined): { id?: number } => (id === undefined ? {} : { id });
const optionalKey = <K extends string>(key: K, id: number | undefined): Partial<Record<K, number>> =>
  (id === undefined ? {} : { [key]: id }) as Partial<Record<K, number>>;

// ---- value encoders: Iceberg in-memory values → Arrow buffers (RowBatchBuilder's fixed-width columns) ----

const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
const DAY_MICROS = 86_400_000_000n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 4294967296;
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX['0123456789abcdef'.charCodeAt(c)] = c;
  HEX['0123456789ABCDEF'.charCodeAt(c)] = c;
}

/** A value for error messages: `12n`, `"text"`, `3 bytes`, `an object (Foo)`. */
export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return String(value);
}

/** `next` (a larger array) holding `old`'s elements at the start. */
export function grown<T extends { set(array: T): void }>(old: T, next: T): T {
  next.set(old);
  return next;
}

/**
 * One column (or nested child) of a batch being built (RowBatchBuilder): values written at `length`, validity bits,
 * Arrow Data on finish.
 */
export abstract class Column {
  length = 0;
  nullCount = 0;
  protected capacity = 0;
  protected validity = new Uint8Array(0);
  constructor(readonly path: string, readonly required: boolean, readonly type: IcebergType, readonly arrow: DataType) {}

  /** Appends a value (null/undefined = null; refused when required). */
  abstract append(value: unknown): void;
  /** Appends a null under a null parent struct (never refused: the parent carries the null). */
  appendNull(): void {
    const i = this.reserve();
    this.null(i, false);
    this.length = i + 1;
  }
  /** Drops rows from `length` on (undoing a refused row). */
  truncate(length: number): void {
    for (let i = length; i < this.length; i++) if (((this.validity[i >> 3]! >> (i & 7)) & 1) === 0) this.nullCount--;
    this.length = Math.min(this.length, length);
  }
  abstract byteSize(): number;
  /** The Arrow Data of the rows so far (copied), then empty again (buffers are kept for the next batch). */
  abstract finish(): Data;
  protected abstract growValues(capacity: number): void;

  protected reserve(): number {
    const i = this.length;
    if (i === this.capacity) {
      const capacity = Math.max(1024, this.capacity * 2);
      this.validity = grown(this.validity, new Uint8Array(capacity >> 3));
      this.growValues(capacity);
      this.capacity = capacity;
    }
    return i;
  }
  protected valid(i: number): void {
    this.validity[i >> 3]! |= 1 << (i & 7);
  }
  protected null(i: number, checked = true): void {
    if (checked && this.required) {
      throw new DataInvalidError(`column "${this.path}" is required (${typeToString(this.type)}), found null`, { context: { column: this.path } });
    }
    this.validity[i >> 3]! &= ~(1 << (i & 7));
    this.nullCount++;
  }
  protected wrong(expected: string, value: unknown): never {
    throw new DataInvalidError(`column "${this.path}" (${typeToString(this.type)}): expected ${expected}, found ${describe(value)}`, { context: { column: this.path } });
  }
  protected validityBytes(): number {
    return (this.length + 7) >> 3;
  }
  /** Arrow Data's common part, and the builder reset for the next batch. */
  protected take(): { type: DataType; length: number; nullCount: number; nullBitmap: Uint8Array | undefined } {
    const taken = { type: this.arrow, length: this.length, nullCount: this.nullCount, nullBitmap: this.nullCount === 0 ? undefined : this.validity.slice(0, this.validityBytes()) };
    this.length = 0;
    this.nullCount = 0;
    return taken;
  }
}

type Values = Int32Array | Float32Array | Float64Array | BigInt64Array | Uint32Array | Uint8Array;

/** Columns of fixed-width values: `perValue` array elements per row (1/8 for bit-packed booleans). */
abstract class FixedWidthColumn<T extends Values> extends Column {
  protected values: T;
  constructor(path: string, required: boolean, type: IcebergType, arrow: DataType, private readonly make: (n: number) => T, private readonly perValue = 1) {
    super(path, required, type, arrow);
    this.values = make(0);
  }
  byteSize(): number { return Math.ceil(this.length * this.perValue) * this.values.BYTES_PER_ELEMENT + this.validityBytes(); }
  finish(): Data {
    const data = this.values.slice(0, Math.ceil(this.length * this.perValue));
    return makeData({ ...this.take(), data } as never);
  }
  protected growValues(capacity: number): void {
    const values = this.make(capacity * this.perValue);
    values.set(this.values as never);
    this.values = values;
  }
}

/** int and date (Int32, DateDay): integer numbers; float and double (Float32/64): any number. */
class NumberColumn extends FixedWidthColumn<Int32Array | Float32Array | Float64Array> {
  private readonly integer = this.type.kind === 'int' || this.type.kind === 'date';
  private readonly expected = this.type.kind === 'date' ? 'days since 1970-01-01 (an integer number)' : this.integer ? 'a 32-bit integer (number)' : 'a number';
  append(v: unknown): void {
    const i = this.reserve();
    if (typeof v === 'number' && (!this.integer || (v | 0) === v)) {
      this.values[i] = v;
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong(this.expected, v);
    this.length = i + 1;
  }
}

/** long, time and timestamps (Int64, TimeMicrosecond, Timestamp*): bigint. */
class BigIntColumn extends FixedWidthColumn<BigInt64Array> {
  private readonly time = this.type.kind === 'time';
  private readonly long = this.type.kind === 'long';
  private readonly min = this.time ? 0n : LONG_MIN;
  private readonly max = this.time ? DAY_MICROS - 1n : LONG_MAX;
  private readonly expected = this.type.kind === 'long' ? 'a 64-bit integer (bigint)'
    : this.time ? 'microseconds since midnight (a bigint from 0 to 86399999999)'
      : `${this.type.kind.endsWith('_ns') ? 'nanoseconds' : 'microseconds'} since 1970-01-01 00:00 (bigint)`;
  append(v: unknown): void {
    const i = this.reserve();
    if (typeof v === 'bigint' && v >= this.min && v <= this.max) {
      this.values[i] = v;
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else if (this.long && typeof v === 'number' && Number.isSafeInteger(v)) {
      // An int column widened to long: rows written with the old schema still carry numbers.
      this.values[i] = BigInt(v);
      this.valid(i);
    } else this.wrong(this.expected, v);
    this.length = i + 1;
  }
}

/** decimal(p, s) (Decimal128): the unscaled bigint, |v| < 10^p, as four little-endian 32-bit words. */
class DecimalColumn extends FixedWidthColumn<Uint32Array> {
  private readonly precision = (this.type as { precision: number }).precision;
  private readonly limit = 10n ** BigInt(this.precision);
  append(v: unknown): void {
    const i = this.reserve();
    if (typeof v === 'bigint' && v < this.limit && v > -this.limit) {
      const w = this.values;
      const at = i * 4;
      if (v >= -SAFE && v <= SAFE) {
        const n = Number(v);
        const sign = n < 0 ? 0xffffffff : 0;
        w[at] = n >>> 0;
        w[at + 1] = Math.floor(n / TWO_32) >>> 0;
        w[at + 2] = sign;
        w[at + 3] = sign;
      } else {
        for (let k = 0; k < 4; k++) w[at + k] = Number(BigInt.asUintN(32, v >> BigInt(32 * k)));
      }
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong(`an unscaled bigint with at most ${this.precision} digits`, v);
    this.length = i + 1;
  }
}

class BoolColumn extends FixedWidthColumn<Uint8Array> {
  append(v: unknown): void {
    const i = this.reserve();
    if (v === true) {
      this.values[i >> 3]! |= 1 << (i & 7);
      this.valid(i);
    } else if (v === false) {
      this.values[i >> 3]! &= ~(1 << (i & 7));
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong('a boolean', v);
    this.length = i + 1;
  }
}

/** uuid (FixedSizeBinary(16), big-endian bytes from the canonical text) and fixed[L] (a Uint8Array of L bytes). */
class FixedBytesColumn extends FixedWidthColumn<Uint8Array> {
  private readonly width = this.type.kind === 'fixed' ? this.type.length : 16;
  append(v: unknown): void {
    const i = this.reserve();
    const at = i * this.width;
    if (this.type.kind === 'uuid' && typeof v === 'string' && v.length === 36 && this.parseUuid(v, at)) this.valid(i);
    else if (this.type.kind === 'fixed' && v instanceof Uint8Array && v.length === this.width) {
      this.values.set(v, at);
      this.valid(i);
    } else if (v === null || v === undefined) this.null(i);
    else this.wrong(this.type.kind === 'uuid' ? 'a UUID string xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' : `a Uint8Array of ${this.width} bytes`, v);
    this.length = i + 1;
  }
  private parseUuid(v: string, at: number): boolean {
    let out = at;
    for (let k = 0; k < 36; k += 2) {
      if (k === 8 || k === 13 || k === 18 || k === 23) {
        if (v.charCodeAt(k) !== 45) return false;
        k--;
        continue;
      }
      const hi = v.charCodeAt(k);
      const lo = v.charCodeAt(k + 1);
      const h = hi < 128 ? HEX[hi]! : -1;
      const l = lo < 128 ? HEX[lo]! : -1;
      if ((h | l) < 0) return false;
      this.values[out++] = (h << 4) | l;
    }
    return true;
  }
}

/** The column for a fixed-width primitive type whose Arrow type is `arrow` (from arrowType); strings and binary are in row-batch.ts. */
export function leafColumn(type: Exclude<PrimitiveType, { kind: 'string' | 'binary' }>, arrow: DataType, path: string, required: boolean): Column {
  switch (type.kind) {
    case 'boolean': return new BoolColumn(path, required, type, arrow, (n) => new Uint8Array(n), 1 / 8);
    case 'int': case 'date': return new NumberColumn(path, required, type, arrow, (n) => new Int32Array(n));
    case 'float': return new NumberColumn(path, required, type, arrow, (n) => new Float32Array(n));
    case 'double': return new NumberColumn(path, required, type, arrow, (n) => new Float64Array(n));
    case 'long': case 'time': case 'timestamp': case 'timestamptz': case 'timestamp_ns': case 'timestamptz_ns':
      return new BigIntColumn(path, required, type, arrow, (n) => new BigInt64Array(n));
    case 'decimal': return new DecimalColumn(path, required, type, arrow, (n) => new Uint32Array(n), 4);
    case 'uuid': return new FixedBytesColumn(path, required, type, arrow, (n) => new Uint8Array(n), 16);
    case 'fixed': return new FixedBytesColumn(path, required, type, arrow, (n) => new Uint8Array(n), type.length);
  }
}
