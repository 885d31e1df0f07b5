// Reads single values out of Arrow columns in Iceberg's in-memory form (int/date: number; long/time/timestamps:
// bigint; decimal: unscaled bigint; string; uuid string; binary/fixed Uint8Array; boolean), for partition
// transforms. Relies on the layouts the writer accepts (see arrow-vectors.ts): anything else is refused there first.
// Must never: guess a value from a layout it does not know.
import type { Data } from 'apache-arrow';
import { DataType as ArrowType } from 'apache-arrow';
import { SchemaIncompatibleError } from '../../shared/errors.js';

const decoder = new TextDecoder();

function isValid(data: Data, row: number): boolean {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return true;
  const bit = data.offset + row;
  return ((data.nullBitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

function decimalValue(words: Uint32Array, row: number, bitWidth: number): bigint {
  const n = bitWidth / 32;
  let v = 0n;
  for (let w = n - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[row * n + w]!);
  return BigInt.asIntN(bitWidth, v);
}

/** Value of `row` (relative to the Data's offset) or null. */
export function arrowValueAt(data: Data, row: number): unknown {
  if (!isValid(data, row)) return null;
  const type = data.type;
  if (ArrowType.isBool(type)) {
    const bit = data.offset + row;
    return ((data.values[bit >> 3]! >> (bit & 7)) & 1) === 1;
  }
  if (ArrowType.isUtf8(type)) {
    const offsets = data.valueOffsets as Int32Array;
    return decoder.decode((data.values as Uint8Array).subarray(offsets[row]!, offsets[row + 1]!));
  }
  if (ArrowType.isBinary(type)) {
    const offsets = data.valueOffsets as Int32Array;
    return (data.values as Uint8Array).slice(offsets[row]!, offsets[row + 1]!);
  }
  if (ArrowType.isFixedSizeBinary(type)) {
    return (data.values as Uint8Array).slice(row * type.byteWidth, (row + 1) * type.byteWidth);
  }
  if (ArrowType.isDecimal(type)) return decimalValue(data.values as Uint32Array, row, type.bitWidth);
  if (ArrowType.isInt(type) || ArrowType.isFloat(type) || ArrowType.isDate(type) || ArrowType.isTime(type) || ArrowType.isTimestamp(type)) {
    return (data.values as Int32Array | BigInt64Array | Float32Array | Float64Array)[row];
  }
  throw new SchemaIncompatibleError(`cannot read partition values from an Arrow ${String(type)} column`);
}
