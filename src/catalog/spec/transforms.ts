// Iceberg partition transforms (spec "Partition Transforms"): identity, bucket[N], truncate[W], year, month, day, hour,
// void, applied to values in their Iceberg in-memory form (int/date: number; long/time/timestamp µs: bigint;
// decimal: unscaled bigint; string; binary/fixed: Uint8Array; uuid: string).
// PURE: no IO, no clock, no randomness. Bucket hashing follows the spec's byte encodings exactly.
import { murmur3x86_32 } from './murmur3.js';

export type Transform =
  | { kind: 'identity' }
  | { kind: 'bucket'; n: number }
  | { kind: 'truncate'; width: number }
  | { kind: 'year' }
  | { kind: 'month' }
  | { kind: 'day' }
  | { kind: 'hour' }
  | { kind: 'void' };

/** Parses a transform as written in metadata JSON: `identity`, `bucket[16]`, `truncate[10]`, `day`, … */
export function parseTransform(text: string): Transform {
  const sized = /^(bucket|truncate)\[(\d+)\]$/.exec(text);
  if (sized?.[1] && sized[2]) {
    const size = Number(sized[2]);
    if (size <= 0) throw new RangeError(`transform ${text}: expected a positive size`);
    return sized[1] === 'bucket' ? { kind: 'bucket', n: size } : { kind: 'truncate', width: size };
  }
  if (['identity', 'year', 'month', 'day', 'hour', 'void'].includes(text)) return { kind: text } as Transform;
  throw new RangeError(`unknown partition transform "${text}"; expected identity, bucket[N], truncate[W], year, month, day, hour or void`);
}

export function transformToString(transform: Transform): string {
  if (transform.kind === 'bucket') return `bucket[${transform.n}]`;
  if (transform.kind === 'truncate') return `truncate[${transform.width}]`;
  return transform.kind;
}

/** The value types a bucket hash is defined for, named by their Iceberg primitive type. */
export type BucketSourceType = 'int' | 'long' | 'decimal' | 'date' | 'time' | 'timestamp' | 'timestamptz' | 'timestamp_ns' | 'timestamptz_ns' | 'string' | 'uuid' | 'fixed' | 'binary';

function longLittleEndian(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, value), true);
  return bytes;
}

/** The minimum number of bytes holding `value` in big-endian two's complement (the spec's decimal hash input). */
export function minimalTwosComplement(value: bigint): Uint8Array {
  const small = Number(value);
  if (small >= -(2 ** 47) && small < 2 ** 47) {
    // Exact in double arithmetic: the common case (decimals of up to 14 digits) without bigint shifts.
    let length = 1;
    while (small < -(2 ** (8 * length - 1)) || small >= 2 ** (8 * length - 1)) length++;
    const bytes = new Uint8Array(length);
    let v = small < 0 ? small + 2 ** (8 * length) : small;
    for (let i = length - 1; i >= 0; i--) {
      bytes[i] = v % 256;
      v = Math.floor(v / 256);
    }
    return bytes;
  }
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length++;
  const bytes = new Uint8Array(length);
  let v = BigInt.asUintN(8 * length, value);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes;
}

/** Days since 1970-01-01 of a proleptic Gregorian date, any year (H. Hinnant's days_from_civil; no Date.UTC quirks). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The signed value of big-endian two's complement bytes (a decimal's unscaled value); empty is 0. */
export function bigintFromTwosComplement(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return bytes[0]! & 0x80 ? v - (1n << BigInt(8 * bytes.length)) : v;
}

/** A UUID's 16 bytes, big-endian (the spec's uuid encoding). */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`"${uuid}" is not a UUID`);
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** 16 big-endian bytes as the UUID text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lower case). */
export function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The spec's 32-bit hash of a value, before bucketing. */
export function bucketHash(type: BucketSourceType, value: unknown): number {
  switch (type) {
    case 'int':
    case 'date':
      return murmur3x86_32(longLittleEndian(BigInt(value as number)));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return murmur3x86_32(longLittleEndian(value as bigint));
    case 'timestamp_ns':
    case 'timestamptz_ns':
      // Nanosecond timestamps hash as their microsecond value (spec: "hashed as microseconds").
      return murmur3x86_32(longLittleEndian(floorDiv(value as bigint, 1000n)));
    case 'decimal':
      return murmur3x86_32(minimalTwosComplement(value as bigint));
    case 'string':
      return murmur3x86_32(new TextEncoder().encode(value as string));
    case 'uuid':
      return murmur3x86_32(uuidToBytes(value as string));
    case 'fixed':
    case 'binary':
      return murmur3x86_32(value as Uint8Array);
  }
}

/** bucket[N]: `(hash & Integer.MAX_VALUE) % N`. */
export function bucket(type: BucketSourceType, value: unknown, n: number): number {
  return (bucketHash(type, value) & 0x7fffffff) % n;
}

/** Integer division rounding toward negative infinity (Java's Math.floorDiv). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function floorMod(a: bigint, b: bigint): bigint {
  return ((a % b) + b) % b;
}

/** truncate[W] of an int or long (or a decimal's unscaled value): the largest multiple of W not above the value. */
export function truncateInteger<T extends number | bigint>(value: T, width: number): T {
  if (typeof value === 'bigint') return (value - floorMod(value, BigInt(width))) as T;
  return (value - (((value % width) + width) % width)) as T;
}

/** truncate[W] of a string: its first W Unicode code points (not UTF-16 units). */
export function truncateString(value: string, width: number): string {
  return Array.from(value).slice(0, width).join('');
}

/** truncate[W] of binary: its first W bytes. */
export function truncateBinary(value: Uint8Array, width: number): Uint8Array {
  return value.slice(0, width);
}

const MICROS_PER_HOUR = 3_600_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;

/** day of a timestamp in µs: days since 1970-01-01 (floor, so instants before 1970 go to the earlier day). */
export function dayFromMicros(micros: bigint): number {
  return Number(floorDiv(micros, MICROS_PER_DAY));
}

export function hourFromMicros(micros: bigint): number {
  return Number(floorDiv(micros, MICROS_PER_HOUR));
}

function civilFromDays(days: number): { year: number; month: number } {
  const date = new Date(days * 86_400_000);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() };
}

/** year of a date (days since epoch): years since 1970. */
export function yearFromDays(days: number): number {
  return civilFromDays(days).year - 1970;
}

/** month of a date (days since epoch): months since 1970-01. */
export function monthFromDays(days: number): number {
  const { year, month } = civilFromDays(days);
  return (year - 1970) * 12 + month;
}

export const yearFromMicros = (micros: bigint): number => yearFromDays(dayFromMicros(micros));
export const monthFromMicros = (micros: bigint): number => monthFromDays(dayFromMicros(micros));
