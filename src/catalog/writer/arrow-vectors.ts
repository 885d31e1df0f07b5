// Copies Arrow columns into DuckDB vectors (the output chunks of the writer's table function) with as little per-row
// JavaScript as possible: fixed-width buffers and validity bitmaps are copied whole; strings up to 12 bytes are
// inlined into DuckDB's string_t layout in bulk; only longer strings cost one native call each.
// Must never reinterpret data silently: every Arrow type is checked against the Iceberg type before a byte is copied.
// Relies on Arrow JS's layout (values and offsets are sliced with the Data; bitmaps are indexed by offset + row).
import { isUtf8 } from 'node:buffer';
import { endianness } from 'node:os';
import type { DuckDBType } from '@duckdb/node-api';
import {
  BIGINT, BLOB, BOOLEAN, DATE, DECIMAL, DOUBLE, DuckDBListType, DuckDBMapType, DuckDBStructType, FLOAT, INTEGER,
  TIME, TIMESTAMP, TIMESTAMP_NS, TIMESTAMPTZ, UUID, VARCHAR,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { Data, DataType } from 'apache-arrow';
import { DataType as ArrowType, DateUnit, Precision, TimeUnit } from 'apache-arrow';
import { DataInvalidError, DuckHouseError, SchemaIncompatibleError } from '../../shared/errors.js';
import type { IcebergType } from '../spec/types.js';
import { typeToString } from '../spec/types.js';

type Vector = duckdb.Vector;

/** How one column (or nested child) is copied; `staging` is the DuckDB type the table function declares. */
export type VectorPlan = { readonly staging: DuckDBType; readonly checkNulls: boolean; readonly where: string } & (
  | { readonly kind: 'null' }
  | { readonly kind: 'copy'; readonly width: number }
  | { readonly kind: 'widen-decimal'; readonly words: 1 | 2 }
  | { readonly kind: 'bool' }
  | { readonly kind: 'bytes'; readonly utf8: boolean }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'struct'; readonly children: readonly { plan: VectorPlan; arrowIndex: number }[] }
  | { readonly kind: 'list'; readonly element: VectorPlan }
);

if (endianness() !== 'LE') throw new DuckHouseError('internal', 'the Arrow → DuckDB copy assumes a little-endian machine');

/**
 * The DuckDB type the table function produces for an Iceberg type. Equal to the written type except decimals, which
 * arrive as DECIMAL(38,s) (Arrow's 128-bit layout, copied as is) and are cast to DECIMAL(p,s) by DuckDB, which
 * checks the range.
 */
export function stagingType(type: IcebergType): DuckDBType {
  switch (type.kind) {
    case 'boolean': return BOOLEAN;
    case 'int': return INTEGER;
    case 'long': return BIGINT;
    case 'float': return FLOAT;
    case 'double': return DOUBLE;
    case 'decimal': return DECIMAL(38, type.scale);
    case 'date': return DATE;
    case 'time': return TIME;
    case 'timestamp': return TIMESTAMP;
    case 'timestamptz': return TIMESTAMPTZ;
    case 'timestamp_ns': return TIMESTAMP_NS;
    case 'timestamptz_ns': throw new SchemaIncompatibleError('timestamptz_ns cannot be written through DuckDB');
    case 'string': return VARCHAR;
    case 'uuid': return UUID;
    case 'fixed': throw new SchemaIncompatibleError('fixed[L] cannot be written through DuckDB');
    case 'binary': return BLOB;
    case 'struct': return new DuckDBStructType(type.fields.map((f) => f.name), type.fields.map((f) => stagingType(f.type)));
    case 'list': return new DuckDBListType(stagingType(type.element));
    case 'map': return new DuckDBMapType(stagingType(type.key), stagingType(type.value));
  }
}

/**
 * Checks an Arrow column type against the Iceberg type and returns how to copy it. `arrow` undefined: the column is
 * absent and written as nulls (refused when the field is required). `checkNulls`: the field is required and no
 * optional struct lies between it and the row (or list element), so any null in it is a contract violation.
 */
export function planVector(type: IcebergType, arrow: DataType | undefined, where: string, required: boolean, checkNulls: boolean): VectorPlan {
  const staging = stagingType(type);
  const base = { staging, checkNulls: required && checkNulls, where };
  if (arrow === undefined) {
    if (required && checkNulls) throw new DataInvalidError(`${where}: required ${typeToString(type)} column is missing from the Arrow batch`, { context: { column: where } });
    return { ...base, kind: 'null' };
  }
  const wrong = (expected: string): never => {
    throw new DataInvalidError(`${where}: Iceberg ${typeToString(type)} expects Arrow ${expected}, found ${String(arrow)}`, { context: { column: where } });
  };
  switch (type.kind) {
    case 'boolean':
      return ArrowType.isBool(arrow) ? { ...base, kind: 'bool' } : wrong('Bool');
    case 'int':
    case 'long': {
      const bits = type.kind === 'int' ? 32 : 64;
      return ArrowType.isInt(arrow) && arrow.isSigned && arrow.bitWidth === bits ? { ...base, kind: 'copy', width: bits / 8 } : wrong(`Int${bits}`);
    }
    case 'float':
      return ArrowType.isFloat(arrow) && arrow.precision === Precision.SINGLE ? { ...base, kind: 'copy', width: 4 } : wrong('Float32');
    case 'double':
      return ArrowType.isFloat(arrow) && arrow.precision === Precision.DOUBLE ? { ...base, kind: 'copy', width: 8 } : wrong('Float64');
    case 'decimal': {
      if (!ArrowType.isDecimal(arrow) || arrow.scale !== type.scale) return wrong(`Decimal[${type.precision}e${type.scale}] (any precision, scale ${type.scale})`);
      if (arrow.bitWidth === 128) return { ...base, kind: 'copy', width: 16 };
      if (arrow.bitWidth === 64 || arrow.bitWidth === 32) return { ...base, kind: 'widen-decimal', words: arrow.bitWidth === 64 ? 2 : 1 };
      return wrong('a 32-, 64- or 128-bit Decimal');
    }
    case 'date':
      return ArrowType.isDate(arrow) && arrow.unit === DateUnit.DAY ? { ...base, kind: 'copy', width: 4 } : wrong('DateDay');
    case 'time':
      return ArrowType.isTime(arrow) && arrow.unit === TimeUnit.MICROSECOND ? { ...base, kind: 'copy', width: 8 } : wrong('TimeMicrosecond');
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns': {
      const unit = type.kind === 'timestamp_ns' ? TimeUnit.NANOSECOND : TimeUnit.MICROSECOND;
      const zoned = type.kind === 'timestamptz';
      const name = `Timestamp<${unit === TimeUnit.NANOSECOND ? 'NANOSECOND' : 'MICROSECOND'}${zoned ? ', "UTC"' : ''}>`;
      if (!ArrowType.isTimestamp(arrow) || arrow.unit !== unit || Boolean(arrow.timezone) !== zoned) return wrong(name);
      return { ...base, kind: 'copy', width: 8 };
    }
    case 'timestamptz_ns':
      throw new SchemaIncompatibleError(`${where}: timestamptz_ns cannot be written through DuckDB`);
    case 'string':
      return ArrowType.isUtf8(arrow) ? { ...base, kind: 'bytes', utf8: true } : wrong('Utf8 (not a Dictionary: build string columns with `new Utf8()`)');
    case 'binary':
      return ArrowType.isBinary(arrow) ? { ...base, kind: 'bytes', utf8: false } : wrong('Binary');
    case 'uuid':
      return ArrowType.isFixedSizeBinary(arrow) && arrow.byteWidth === 16 ? { ...base, kind: 'uuid' } : wrong('FixedSizeBinary[16]');
    case 'fixed':
      throw new SchemaIncompatibleError(`${where}: fixed[${type.length}] cannot be written through DuckDB`);
    case 'struct': {
      if (!ArrowType.isStruct(arrow)) return wrong('Struct');
      const names = arrow.children.map((f) => f.name);
      const unknown = names.filter((n) => !type.fields.some((f) => f.name === n));
      if (unknown.length > 0) throw new DataInvalidError(`${where}: Arrow struct has fields not in the Iceberg type: ${unknown.join(', ')}`, { context: { column: where } });
      const childCheck = checkNulls && required;
      return {
        ...base,
        kind: 'struct',
        children: type.fields.map((f) => {
          const arrowIndex = names.indexOf(f.name);
          return { arrowIndex, plan: planVector(f.type, arrow.children[arrowIndex]?.type, `${where}.${f.name}`, f.required, childCheck) };
        }),
      };
    }
    case 'list': {
      if (!ArrowType.isList(arrow)) return wrong('List');
      return { ...base, kind: 'list', element: planVector(type.element, arrow.children[0]?.type, `${where}.element`, type.elementRequired, true) };
    }
    case 'map': {
      if (!ArrowType.isMap(arrow)) return wrong('Map');
      const entries = arrow.children[0]?.type;
      const [key, value] = ArrowType.isStruct(entries) ? entries.children : [];
      if (!key || !value) return wrong('Map<entries: Struct<key, value>>');
      return {
        ...base,
        kind: 'list',
        element: {
          staging: new DuckDBStructType(['key', 'value'], [stagingType(type.key), stagingType(type.value)]),
          checkNulls: false,
          where: `${where}.entries`,
          kind: 'struct',
          children: [
            { arrowIndex: 0, plan: planVector(type.key, key.type, `${where}.key`, true, true) },
            { arrowIndex: 1, plan: planVector(type.value, value.type, `${where}.value`, type.valueRequired, true) },
          ],
        },
      };
    }
  }
}

// One scratch buffer, grown on demand; every use copies it into DuckDB before the next use starts.
let scratch = new Uint8Array(2048 * 16);
function scratchBytes(byteCount: number): Uint8Array {
  if (scratch.byteLength < byteCount) scratch = new Uint8Array(Math.max(byteCount, scratch.byteLength * 2));
  const view = scratch.subarray(0, byteCount);
  view.fill(0);
  return view;
}

/** Writes rows [start, start + count) of `data` (Arrow JS row numbering) into positions [0, count) of `vector`. */
export function fillVector(vector: Vector, plan: VectorPlan, data: Data | undefined, start: number, count: number): void {
  if (count === 0) return;
  if (plan.kind === 'null' || data === undefined) {
    fillNulls(vector, plan, count);
    return;
  }
  if (plan.checkNulls && data.nullCount > 0) {
    throw new DataInvalidError(`${plan.where}: required column has ${data.nullCount} null value(s) in an Arrow batch`, { context: { column: plan.where } });
  }
  copyValidity(vector, data, start, count);
  switch (plan.kind) {
    case 'copy': {
      const values = data.values as ArrayBufferView;
      copyToVector(vector, values, values.byteOffset + start * plan.width, count * plan.width);
      return;
    }
    case 'widen-decimal':
      return widenDecimal(vector, data.values as Uint32Array, plan.words, start, count);
    case 'bool':
      return copyBooleans(vector, data.values as Uint8Array, data.offset + start, count);
    case 'bytes': {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      // DuckDB checks UTF-8 only on some paths; the inlined copy bypasses it, so check the chunk's bytes here.
      if (plan.utf8 && !isUtf8(bytes.subarray(offsets[start], offsets[start + count]))) {
        throw new DataInvalidError(`${plan.where}: string column holds invalid UTF-8 (rows ${start}..${start + count - 1} of an Arrow batch)`, { context: { column: plan.where } });
      }
      return copyVariableBytes(vector, offsets, bytes, start, count);
    }
    case 'uuid':
      return copyUuids(vector, data.values as Uint8Array, start, count);
    case 'struct':
      plan.children.forEach(({ plan: child, arrowIndex }, index) => {
        fillVector(duckdb.struct_vector_get_child(vector, index), child, arrowIndex < 0 ? undefined : data.children[arrowIndex], start, count);
      });
      return;
    case 'list': {
      const offsets = data.valueOffsets as Int32Array;
      const begin = offsets[start] ?? 0;
      const total = (offsets[start + count] ?? begin) - begin;
      const entries = new Uint32Array(scratchBytes(count * 16).buffer, 0, count * 4);
      for (let i = 0; i < count; i++) {
        const from = offsets[start + i] ?? 0;
        entries[i * 4] = from - begin;
        entries[i * 4 + 2] = (offsets[start + i + 1] ?? from) - from;
      }
      copyToVector(vector, entries, 0, count * 16);
      duckdb.list_vector_reserve(vector, total);
      duckdb.list_vector_set_size(vector, total);
      fillVector(duckdb.list_vector_get_child(vector), plan.element, data.children[0], begin, total);
      return;
    }
  }
}

function copyToVector(vector: Vector, source: ArrayBufferView, byteOffset: number, byteCount: number): void {
  duckdb.copy_data_to_vector(vector, 0, source.buffer as ArrayBuffer, byteOffset, byteCount);
}

/** Arrow's validity bitmap and DuckDB's validity mask share a layout (LSB first; DuckDB's 64-bit words are LE). */
function copyValidity(vector: Vector, data: Data, start: number, count: number): void {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return;
  duckdb.vector_ensure_validity_writable(vector);
  const firstBit = data.offset + start;
  const byteCount = Math.ceil(count / 8);
  if (firstBit % 8 === 0) {
    duckdb.copy_data_to_vector_validity(vector, 0, bitmap.buffer as ArrayBuffer, bitmap.byteOffset + firstBit / 8, byteCount);
    return;
  }
  const shifted = scratchBytes(byteCount);
  const shift = firstBit % 8;
  const from = firstBit >> 3;
  for (let i = 0; i < byteCount; i++) {
    shifted[i] = ((bitmap[from + i] ?? 0) >> shift) | (((bitmap[from + i + 1] ?? 0) << (8 - shift)) & 0xff);
  }
  duckdb.copy_data_to_vector_validity(vector, 0, shifted.buffer as ArrayBuffer, 0, byteCount);
}

function fillNulls(vector: Vector, plan: VectorPlan, count: number): void {
  duckdb.vector_ensure_validity_writable(vector);
  const none = scratchBytes(Math.ceil(count / 8));
  duckdb.copy_data_to_vector_validity(vector, 0, none.buffer as ArrayBuffer, 0, none.byteLength);
  if (plan.kind === 'struct') plan.children.forEach(({ plan: child }, i) => fillNulls(duckdb.struct_vector_get_child(vector, i), child, count));
  if (plan.kind === 'list') {
    copyToVector(vector, scratchBytes(count * 16), 0, count * 16);
    duckdb.list_vector_set_size(vector, 0);
  }
}

function copyBooleans(vector: Vector, bits: Uint8Array, firstBit: number, count: number): void {
  const bytes = scratchBytes(count);
  for (let i = 0; i < count; i++) {
    const bit = firstBit + i;
    bytes[i] = ((bits[bit >> 3] ?? 0) >> (bit & 7)) & 1;
  }
  copyToVector(vector, bytes, 0, count);
}

/** Sign-extends 32- or 64-bit Arrow decimals (LE words) to DuckDB's 128-bit DECIMAL(38,s) layout. */
function widenDecimal(vector: Vector, words: Uint32Array, perValue: 1 | 2, start: number, count: number): void {
  const out = new Int32Array(scratchBytes(count * 16).buffer, 0, count * 4);
  for (let i = 0; i < count; i++) {
    const low = (words[(start + i) * perValue] ?? 0) | 0;
    const high = perValue === 2 ? (words[(start + i) * 2 + 1] ?? 0) | 0 : low >> 31;
    const sign = high >> 31;
    out[i * 4] = low;
    out[i * 4 + 1] = high;
    out[i * 4 + 2] = sign;
    out[i * 4 + 3] = sign;
  }
  copyToVector(vector, out, 0, count * 16);
}

/**
 * DuckDB's string_t (public C API `duckdb_string_t`) is 16 bytes: uint32 length, then the bytes inline when they fit
 * in 12, else a 4-byte prefix and a pointer. Long values would cost one native call each, so the chunk's whole byte
 * range is handed to DuckDB once (it copies it into the vector's own string heap, which lives as long as the chunk)
 * and each long value's string_t points into that copy. Everything is then copied into the vector in one call.
 */
function copyVariableBytes(vector: Vector, offsets: Int32Array, bytes: Uint8Array, start: number, count: number): void {
  const out = scratchBytes(count * 16);
  const words = new Uint32Array(out.buffer, 0, count * 4);
  const first = offsets[start] ?? 0;
  let heap: HeapAddress | undefined;
  for (let i = 0; i < count; i++) {
    const from = offsets[start + i] ?? 0;
    const length = (offsets[start + i + 1] ?? from) - from;
    words[i * 4] = length;
    const at = i * 16 + 4;
    if (length <= 12) {
      for (let k = 0; k < length; k++) out[at + k] = bytes[from + k] ?? 0;
      continue;
    }
    heap ??= copyToHeap(vector, bytes.subarray(first, offsets[start + count]));
    for (let k = 0; k < 4; k++) out[at + k] = bytes[from + k] ?? 0;
    setPointer(words, i * 4 + 2, heap, from - first);
  }
  copyToVector(vector, out, 0, count * 16);
}

/** A pointer into DuckDB's memory as two uint32 halves (bigint arithmetic per value would cost more than the copy). */
interface HeapAddress { readonly low: number; readonly high: number }

/** Assigns `bytes` to row 0 (DuckDB copies them into the vector's string heap) and reads back where they went. */
function copyToHeap(vector: Vector, bytes: Uint8Array): HeapAddress {
  duckdb.vector_assign_string_element_len(vector, 0, bytes);
  const stringT = duckdb.vector_get_data(vector, 16);
  const view = new DataView(stringT.buffer, stringT.byteOffset, 16);
  if (view.getUint32(0, true) !== bytes.length) throw new DuckHouseError('internal', 'DuckDB string_t layout is not the expected one (length read back differs)');
  return { low: view.getUint32(8, true), high: view.getUint32(12, true) };
}

function setPointer(words: Uint32Array, index: number, heap: HeapAddress, delta: number): void {
  const low = heap.low + delta;
  words[index] = low >>> 0;
  words[index + 1] = heap.high + Math.floor(low / 0x1_0000_0000);
}

/**
 * A UUID arrives as 16 big-endian bytes; DuckDB stores it as a 128-bit integer (LE: low 64 bits, then high 64 bits)
 * with the top bit flipped so that signed order equals the UUID's byte order.
 */
function copyUuids(vector: Vector, bytes: Uint8Array, start: number, count: number): void {
  const out = scratchBytes(count * 16);
  for (let i = 0; i < count; i++) {
    const from = (start + i) * 16;
    const to = i * 16;
    for (let k = 0; k < 16; k++) out[to + k] = bytes[from + 15 - k] ?? 0;
    out[to + 15] = (out[to + 15] ?? 0) ^ 0x80;
  }
  copyToVector(vector, out, 0, count * 16);
}
