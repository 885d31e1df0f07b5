// Iceberg's binary single-value serialization (spec Appendix D) used for manifest lower/upper bounds and partition
// summaries, in both directions, plus what writers need to compute bounds: the spec's ordering of values and the
// truncation of string/binary bounds ("metrics mode truncate(N)").
// PURE: no IO, no clock, no randomness. The Iceberg type always decides the encoding: never guess it from a JS value.
import { MetadataInvalidError } from '../../shared/errors.js';
import { bigintFromTwosComplement, minimalTwosComplement, truncateString, uuidFromBytes, uuidToBytes } from './transforms.js';
import type { PrimitiveType } from './types.js';
import { typeToString } from './types.js';

/**
 * A primitive value in its in-memory form (the same as transforms.ts): int/date/float/double → number;
 * long/time/timestamp* → bigint (µs, or ns for *_ns); decimal → unscaled bigint; string → string;
 * uuid → 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'; fixed/binary → Uint8Array; boolean → boolean.
 */
export type PrimitiveValue = boolean | number | bigint | string | Uint8Array;

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return `a ${typeof value === 'object' ? value.constructor.name : typeof value}`;
}

/** A value of the wrong JS form or out of range for its type: a programmer error, not bad metadata. */
function misuse(type: PrimitiveType, expected: string, value: unknown): never {
  throw new RangeError(`${typeToString(type)} value: expected ${expected}, found ${describe(value)}`);
}

// ---- checking in-memory values ----

function asBoolean(type: PrimitiveType, value: unknown): boolean {
  return typeof value === 'boolean' ? value : misuse(type, 'a boolean', value);
}

function asInt(type: PrimitiveType, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT_MIN || value > INT_MAX) {
    return misuse(type, 'a 32-bit integer (number)', value);
  }
  return value;
}

function asLong(type: PrimitiveType, value: unknown): bigint {
  if (typeof value !== 'bigint' || value < LONG_MIN || value > LONG_MAX) return misuse(type, 'a 64-bit integer (bigint)', value);
  return value;
}

function asFloat(type: PrimitiveType, value: unknown): number {
  return typeof value === 'number' ? value : misuse(type, 'a number', value);
}

function asDecimal(type: PrimitiveType & { kind: 'decimal' }, value: unknown): bigint {
  const limit = 10n ** BigInt(type.precision);
  if (typeof value !== 'bigint' || value <= -limit || value >= limit) {
    return misuse(type, `an unscaled bigint with at most ${type.precision} digits`, value);
  }
  return value;
}

function asString(type: PrimitiveType, value: unknown): string {
  if (typeof value !== 'string') return misuse(type, 'a string', value);
  if (LONE_SURROGATE.test(value)) return misuse(type, 'well-formed UTF-16 (no lone surrogates)', value);
  return value;
}

function asUuid(type: PrimitiveType, value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) return misuse(type, 'a UUID string xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', value);
  return value.toLowerCase();
}

function asBytes(type: PrimitiveType, value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : misuse(type, 'a Uint8Array', value);
}

// ---- value → bytes ----

function littleEndian(size: 4 | 8, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** The spec's binary single-value serialization of `value` (Appendix D). Throws RangeError for a misfit value. */
export function toBytes(type: PrimitiveType, value: PrimitiveValue): Uint8Array {
  switch (type.kind) {
    case 'boolean':
      return Uint8Array.of(asBoolean(type, value) ? 1 : 0);
    case 'int':
    case 'date':
      return littleEndian(4, (v) => v.setInt32(0, asInt(type, value), true));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return littleEndian(8, (v) => v.setBigInt64(0, asLong(type, value), true));
    case 'float':
      return littleEndian(4, (v) => v.setFloat32(0, asFloat(type, value), true));
    case 'double':
      return littleEndian(8, (v) => v.setFloat64(0, asFloat(type, value), true));
    case 'decimal':
      return minimalTwosComplement(asDecimal(type, value));
    case 'string':
      return utf8Encoder.encode(asString(type, value));
    case 'uuid':
      return uuidToBytes(asUuid(type, value));
    case 'fixed': {
      const bytes = asBytes(type, value);
      if (bytes.length !== type.length) misuse(type, `exactly ${type.length} bytes`, value);
      return bytes.slice();
    }
    case 'binary':
      return asBytes(type, value).slice();
  }
}

// ---- bytes → value ----

function invalid(type: PrimitiveType, expected: string, bytes: Uint8Array): never {
  throw new MetadataInvalidError(`${typeToString(type)} bound: expected ${expected}, found ${bytes.length} bytes`, {
    context: { type: typeToString(type), length: bytes.length },
  });
}

/**
 * Decodes a single value (a bound or partition summary). Accepts what other writers legally produce: 4-byte bounds
 * for long and double columns promoted from int and float, and fixed bounds truncated below the fixed length.
 * Throws MetadataInvalidError naming the type and what was found.
 */
export function fromBytes(type: PrimitiveType, bytes: Uint8Array): PrimitiveValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type.kind) {
    case 'boolean':
      if (bytes.length !== 1) invalid(type, '1 byte', bytes);
      return bytes[0] !== 0;
    case 'int':
    case 'date':
      if (bytes.length !== 4) invalid(type, '4 bytes (little-endian)', bytes);
      return view.getInt32(0, true);
    case 'long':
      if (bytes.length === 4) return BigInt(view.getInt32(0, true)); // written before the column was promoted from int
      if (bytes.length !== 8) invalid(type, '8 bytes (little-endian), or 4 for a column promoted from int', bytes);
      return view.getBigInt64(0, true);
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      if (bytes.length !== 8) invalid(type, '8 bytes (little-endian)', bytes);
      return view.getBigInt64(0, true);
    case 'float':
      if (bytes.length !== 4) invalid(type, '4 bytes (IEEE 754 little-endian)', bytes);
      return view.getFloat32(0, true);
    case 'double':
      if (bytes.length === 4) return view.getFloat32(0, true); // written before the column was promoted from float
      if (bytes.length !== 8) invalid(type, '8 bytes (IEEE 754 little-endian), or 4 for a column promoted from float', bytes);
      return view.getFloat64(0, true);
    case 'decimal': {
      if (bytes.length === 0) invalid(type, 'at least 1 byte (big-endian two\'s complement)', bytes);
      return bigintFromTwosComplement(bytes);
    }
    case 'string':
      try {
        return utf8Decoder.decode(bytes);
      } catch (error) {
        throw new MetadataInvalidError(`string bound: expected UTF-8, found ${bytes.length} bytes that are not valid UTF-8`, { cause: error });
      }
    case 'uuid': {
      if (bytes.length !== 16) invalid(type, '16 bytes (big-endian)', bytes);
      return uuidFromBytes(bytes);
    }
    case 'fixed':
      // Writers truncate fixed bounds like binary ones (metrics mode truncate(N)), so a bound may be shorter.
      if (bytes.length > type.length) invalid(type, `at most ${type.length} bytes`, bytes);
      return bytes.slice();
    case 'binary':
      return bytes.slice();
  }
}

// ---- ordering ----

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Java's Float.compare/Double.compare: -0 < +0, every NaN equal and above +Infinity. */
function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  if (a === 0 && b === 0) return sign((Object.is(a, -0) ? 0 : 1) - (Object.is(b, -0) ? 0 : 1));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strings by Unicode code point (the order of their UTF-8 bytes), not by UTF-16 unit as JS `<` does. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF) stand for code points above U+FFFF, so they sort after U+E000..FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return sign(x - y);
  }
  return sign(a.length - b.length);
}

/** Unsigned lexicographic byte order; a prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return sign(a[i]! - b[i]!);
  return sign(a.length - b.length);
}

const compareBigints = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Iceberg's ordering of two values of `type`: -1, 0 or 1. Strings compare by code point (UTF-8 byte order), binary,
 * fixed and uuid by unsigned bytes, floats as Java does (-0 < +0, NaN above everything, NaN equal to NaN).
 */
export function compareValues(type: PrimitiveType, a: PrimitiveValue, b: PrimitiveValue): number {
  switch (type.kind) {
    case 'boolean':
      return sign(Number(asBoolean(type, a)) - Number(asBoolean(type, b)));
    case 'int':
    case 'date':
      return sign(asInt(type, a) - asInt(type, b));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return compareBigints(asLong(type, a), asLong(type, b));
    case 'decimal':
      return compareBigints(asDecimal(type, a), asDecimal(type, b));
    case 'float':
    case 'double':
      return compareFloats(asFloat(type, a), asFloat(type, b));
    case 'string':
      return compareCodePoints(asString(type, a), asString(type, b));
    case 'uuid': {
      // Lower-case hex with dashes in fixed places sorts exactly as the 16 unsigned bytes do.
      const x = asUuid(type, a);
      const y = asUuid(type, b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'fixed':
    case 'binary':
      return compareBytes(asBytes(type, a), asBytes(type, b));
  }
}

// ---- truncated bounds (metrics mode truncate(N)) ----

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length <= 0) throw new RangeError(`truncate length: expected a positive integer, found ${length}`);
}

function codePointCountAbove(value: string, length: number): boolean {
  let count = 0;
  for (const _ of value) if (++count > length) return true;
  return false;
}

/**
 * A lower bound for `value` no longer than `length` (code points for strings, bytes for binary and fixed): a prefix
 * is never greater than the value. Other types are returned unchanged (they are never truncated).
 */
export function truncateLowerBound(type: PrimitiveType, value: PrimitiveValue, length: number): PrimitiveValue {
  checkLength(length);
  switch (type.kind) {
    case 'string':
      return truncateString(asString(type, value), length);
    case 'binary':
    case 'fixed': {
      const bytes = asBytes(type, value);
      return bytes.length <= length ? bytes : bytes.slice(0, length);
    }
    default:
      return value;
  }
}

/**
 * An upper bound for `value` no longer than `length`: the value itself if short enough, else its prefix with the last
 * code point (or byte) that can be incremented incremented, dropping what follows it. Undefined when no such bound
 * exists (every kept code point is U+10FFFF, or every kept byte 0xFF): the caller then writes no upper bound.
 * Incrementing U+D7FF skips the surrogates to U+E000, which UTF-8 can encode. Other types are returned unchanged.
 */
export function truncateUpperBound(type: PrimitiveType, value: PrimitiveValue, length: number): PrimitiveValue | undefined {
  checkLength(length);
  switch (type.kind) {
    case 'string': {
      const text = asString(type, value);
      if (!codePointCountAbove(text, length)) return text;
      const kept = Array.from(truncateString(text, length));
      for (let i = kept.length - 1; i >= 0; i--) {
        const next = kept[i]!.codePointAt(0)! + 1;
        if (next > 0x10ffff) continue;
        return kept.slice(0, i).join('') + String.fromCodePoint(next === 0xd800 ? 0xe000 : next);
      }
      return undefined;
    }
    case 'binary':
    case 'fixed': {
      const bytes = asBytes(type, value);
      if (bytes.length <= length) return bytes;
      for (let i = length - 1; i >= 0; i--) {
        if (bytes[i] === 0xff) continue;
        const bound = bytes.slice(0, i + 1);
        bound[i] = bytes[i]! + 1;
        return bound;
      }
      return undefined;
    }
    default:
      return value;
  }
}
