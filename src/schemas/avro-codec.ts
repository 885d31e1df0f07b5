// Avro encoding and decoding of records in Iceberg's in-memory value form (catalog/spec/conversions.ts): every Avro
// `long` is a bigint (exact over 64 bits), `decimal` is an unscaled bigint, `timestamp-millis`/`time-millis` become
// microseconds (bigint), `date` stays days (number), `uuid` a string, `bytes`/`fixed` a Buffer. Used by the producers
// and the sink so both sides agree on values, and by the registry wrapper for schemas fetched by id.
// PURE: no IO. Must never: hand out JS numbers for longs (precision loss above 2^53).
import avro from 'avsc';
import { bigintFromTwosComplement, minimalTwosComplement } from '../catalog/spec/transforms.js';

const SMALL = 2 ** 52;

/** Zigzag varint bytes of a 64-bit integer (Avro's long encoding); number arithmetic while it is exact. */
function encodeLong(n: bigint): Buffer {
  const v = Number(n);
  if (v > -SMALL && v < SMALL) {
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    const out: number[] = [];
    while (z >= 0x80) {
      out.push((z % 0x80) | 0x80);
      z = Math.floor(z / 0x80);
    }
    out.push(z);
    return Buffer.from(out);
  }
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

function decodeLong(bytes: Buffer): bigint {
  if (bytes.length <= 7) {
    let z = 0;
    let scale = 1;
    for (const byte of bytes) {
      z += (byte & 0x7f) * scale;
      scale *= 0x80;
    }
    return BigInt(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  }
  let z = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    z |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  }
  return (z >> 1n) ^ -(z & 1n);
}

/**
 * avsc long type whose JS form is bigint. It works on the varint bytes directly (avsc's `noUnpack` mode) instead of
 * avsc's default 8-byte detour, which made longs the most expensive part of encoding a row.
 */
const bigLong = avro.types.LongType.__with(
  {
    fromBuffer: decodeLong,
    toBuffer: encodeLong,
    fromJSON: (json: unknown) => BigInt(json as number | string),
    toJSON: (n: bigint) => Number(n),
    isValid: (n: unknown) => typeof n === 'bigint' && n >= -(1n << 63n) && n < 1n << 63n,
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  },
  true,
);

type LogicalTypeOptions = ConstructorParameters<typeof avro.types.LogicalType>;

/** `decimal` on bytes or fixed: the JS value is the unscaled bigint; bytes are big-endian two's complement. */
class DecimalType extends avro.types.LogicalType {
  private readonly size: number | undefined;
  private readonly attrs: { precision: number; scale: number };
  constructor(...args: LogicalTypeOptions) {
    super(...args);
    const schema = args[0] as { precision?: number; scale?: number };
    this.attrs = { precision: schema.precision ?? 0, scale: schema.scale ?? 0 };
    const underlying = this.underlyingType as unknown as { typeName: string; size?: number };
    this.size = underlying.typeName === 'fixed' ? underlying.size : undefined;
  }
  override _fromValue(value: Buffer): bigint {
    return bigintFromTwosComplement(value);
  }
  override _toValue(value: unknown): Buffer {
    if (typeof value !== 'bigint') throw new TypeError(`decimal value must be an unscaled bigint, found ${typeof value}`);
    const minimal = Buffer.from(minimalTwosComplement(value));
    if (this.size === undefined) return minimal;
    if (minimal.length > this.size) throw new RangeError(`decimal ${value} needs ${minimal.length} bytes, fixed has ${this.size}`);
    const padded = Buffer.alloc(this.size, value < 0n ? 0xff : 0);
    minimal.copy(padded, this.size - minimal.length);
    return padded;
  }
  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    return type instanceof DecimalType ? (v: unknown) => v : undefined;
  }
  override _export(attrs: avro.Schema): void {
    Object.assign(attrs as object, this.attrs);
  }
}

/** `*-millis` on int/long: the JS value is microseconds as bigint (Iceberg's only time unit here). */
class MillisToMicrosType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): bigint {
    return BigInt(value) * 1000n;
  }
  override _toValue(value: unknown): number | bigint {
    if (typeof value === 'number') value = BigInt(value);
    if (typeof value !== 'bigint') throw new TypeError(`millisecond value must be microseconds as bigint, found ${typeof value}`);
    if (value % 1000n !== 0n) throw new RangeError(`${value} µs does not fit a millisecond field exactly`);
    // The underlying int/long is avsc's own (see typeHook): a JS number, exact for any realistic millisecond time.
    return Number(value / 1000n);
  }
  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    return type instanceof MillisToMicrosType ? (v: unknown) => v : undefined;
  }
}

/** `time-micros` on long: already µs; kept as a logical type only so the schema round-trips. */
const LOGICAL_TYPES: Record<string, new (...args: LogicalTypeOptions) => avro.types.LogicalType> = {
  decimal: DecimalType,
  'timestamp-millis': MillisToMicrosType,
  'local-timestamp-millis': MillisToMicrosType,
  'time-millis': MillisToMicrosType,
};

/**
 * Every `long` (`"long"` or `{"type": "long"}`) becomes the bigint long, except under a logical type of ours that
 * converts millis itself. A hook rather than avsc's `registry` option: the schema-registry client reuses one options
 * object for every schema, and avsc adds each named type to that registry (a second schema would clash).
 */
function longHook(schema: avro.Schema): avro.Type | undefined {
  if (schema === 'long') return bigLong;
  if (typeof schema !== 'object' || Array.isArray(schema) || (schema as { type?: unknown }).type !== 'long') return undefined;
  const logical = (schema as { logicalType?: string }).logicalType;
  return logical !== undefined && logical in LOGICAL_TYPES ? undefined : bigLong;
}

/** The avsc options behind DuckHouse's value conventions (also given to @kafkajs/confluent-schema-registry). */
export function registryAvroOptions(): Partial<avro.ForSchemaOptions> {
  return {
    logicalTypes: LOGICAL_TYPES as unknown as avro.ForSchemaOptions['logicalTypes'],
    typeHook: longHook as avro.ForSchemaOptions['typeHook'],
    wrapUnions: false,
  };
}

/**
 * A faster writer for hot paths (the CSV producer): Avro longs take JS numbers (avsc's native long, ~7× faster than
 * bigint), every other convention as avroCodec. Only for values whose longs are safe integers; others need avroCodec.
 */
export function avroNumberLongCodec(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, {
    logicalTypes: LOGICAL_TYPES as unknown as avro.ForSchemaOptions['logicalTypes'],
    wrapUnions: false,
  });
}

/** An avsc type for `schema` with DuckHouse's value conventions (see the module comment). */
export function avroCodec(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, registryAvroOptions());
}

/** Confluent wire format: magic byte 0, the schema id as a big-endian int32, then the Avro binary body. */
export const WIRE_HEADER_BYTES = 5;

export function wireHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_BYTES);
  header.writeUInt8(0, 0);
  header.writeInt32BE(schemaId, 1);
  return header;
}

/** Reads the schema id from a Confluent-framed message; undefined when the bytes are not framed. */
export function wireSchemaId(message: Buffer): number | undefined {
  if (message.length < WIRE_HEADER_BYTES || message[0] !== 0) return undefined;
  return message.readInt32BE(1);
}

/** Encodes `value` with `codec` behind the wire header of `schemaId`. */
export function encodeFramed(codec: avro.Type, schemaId: number, value: unknown): Buffer {
  const body = codec.toBuffer(value);
  const out = Buffer.allocUnsafe(WIRE_HEADER_BYTES + body.length);
  out.writeUInt8(0, 0);
  out.writeInt32BE(schemaId, 1);
  body.copy(out, WIRE_HEADER_BYTES);
  return out;
}
