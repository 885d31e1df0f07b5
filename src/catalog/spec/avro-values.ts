// Iceberg primitive values ⇄ their Avro form in manifests (partition tuples): the Avro type of each Iceberg
// primitive (spec Appendix A) and value conversion both ways. PURE: no IO.
import { MetadataInvalidError } from '../../shared/errors.js';
import { bigintFromTwosComplement, minimalTwosComplement, uuidFromBytes, uuidToBytes } from './transforms.js';
import type { PrimitiveType } from './types.js';

/** Bytes a fixed must have to hold any unscaled value of a decimal with this precision. */
export function decimalRequiredBytes(precision: number): number {
  let bytes = 1;
  while (2n ** BigInt(8 * bytes - 1) <= 10n ** BigInt(precision)) bytes++;
  return bytes;
}

/** The Avro schema of an Iceberg primitive; fixed-based types need a record-unique `name`. */
export function avroFieldType(type: PrimitiveType, name: string): unknown {
  switch (type.kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return type.kind;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false };
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true };
    case 'timestamp_ns':
      return { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': false };
    case 'timestamptz_ns':
      return { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': true };
    case 'uuid':
      return { type: 'fixed', name: `uuid_fixed_${name}`, size: 16, logicalType: 'uuid' };
    case 'fixed':
      return { type: 'fixed', name: `fixed_${name}`, size: type.length };
    case 'decimal':
      return { type: 'fixed', name: `decimal_${name}`, size: decimalRequiredBytes(type.precision), logicalType: 'decimal', precision: type.precision, scale: type.scale };
  }
}

/** An Iceberg in-memory value → what avsc writes for `avroFieldType(type)`. */
export function toAvroValue(type: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return BigInt(value as bigint | number);
    case 'binary':
    case 'fixed':
      return Buffer.from(value as Uint8Array);
    case 'uuid':
      return Buffer.from(uuidToBytes(value as string));
    case 'decimal': {
      const size = decimalRequiredBytes(type.precision);
      const minimal = minimalTwosComplement(value as bigint);
      if (minimal.length > size) throw new MetadataInvalidError(`decimal value ${String(value)} does not fit decimal(${type.precision}, ${type.scale})`);
      const out = Buffer.alloc(size, (value as bigint) < 0n ? 0xff : 0x00);
      out.set(minimal, size - minimal.length);
      return out;
    }
    default:
      return value;
  }
}

/** A value read with the file's own Avro field type → the Iceberg in-memory form. */
export function fromAvroValue(avroType: unknown, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const type = Array.isArray(avroType) ? avroType.find((t) => t !== 'null') : avroType;
  const logical = typeof type === 'object' && type !== null ? (type as { logicalType?: string }).logicalType : undefined;
  if (Buffer.isBuffer(value)) {
    if (logical === 'decimal') return bigintFromTwosComplement(value);
    if (logical === 'uuid') return uuidFromBytes(value);
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  }
  return value;
}
