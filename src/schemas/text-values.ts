// Text → typed value for the column types a text source (CSV) can carry, in Iceberg's in-memory form (int/date:
// number; long/time/timestamps: bigint µs; decimal: unscaled bigint; uuid: lowercase string; binary: Buffer from
// base64). Each parser is strict and exact: a value that does not fit its type is refused with the reason, never
// rounded, truncated or wrapped. Also the inference of a column's type from sample values.
// PURE: no IO. Must never: accept a value by losing digits (a 3rd decimal place in decimal(10,2), nanoseconds in µs).
import { daysFromCivil } from '../catalog/spec/transforms.js';
import { type PrimitiveType, typeToString } from '../catalog/spec/types.js';

/** A parser returns the value, or a string saying why the text is not a value of the type. */
export type TextParser = (text: string) => { ok: true; value: unknown } | { ok: false; reason: string };

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);
const DAY_MICROS = 86_400_000_000n;

const ok = (value: unknown): { ok: true; value: unknown } => ({ ok: true, value });
const no = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a valid calendar date, or undefined (2023-02-30 is not a date). Any year 0000–9999. */
function epochDay(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!)) return undefined;
  return daysFromCivil(year, month, day);
}

/** Microseconds of a time of day; undefined when out of range. Fractions past µs must be zeros. */
function timeMicros(h: string, m: string, s: string | undefined, fraction: string | undefined): bigint | string {
  const hours = Number(h);
  const minutes = Number(m);
  const seconds = Number(s ?? '0');
  if (hours > 23 || minutes > 59 || seconds > 59) return 'is not a valid time of day';
  const digits = fraction ?? '';
  if (digits.length > 6 && /[1-9]/.test(digits.slice(6))) return 'has sub-microsecond digits (microseconds are the finest unit)';
  const micros = BigInt(digits.slice(0, 6).padEnd(6, '0'));
  return (BigInt(hours * 3600 + minutes * 60 + seconds) * 1_000_000n) + micros;
}

function offsetMicros(zone: string): bigint | undefined {
  if (zone === 'Z' || zone === 'z') return 0n;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? '0');
  if (hours > 18 || minutes > 59) return undefined;
  const micros = BigInt(hours * 3600 + minutes * 60) * 1_000_000n;
  return match[1] === '-' ? -micros : micros;
}

function parseTimestamp(text: string, zoned: boolean): { ok: true; value: unknown } | { ok: false; reason: string } {
  const m = TIMESTAMP.exec(text);
  if (!m) return no(`is not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]${zoned ? ' with Z or ±HH:MM' : ''})`);
  const day = epochDay(Number(m[1]), Number(m[2]), Number(m[3]));
  if (day === undefined) return no('is not a valid calendar date');
  const time = timeMicros(m[4]!, m[5]!, m[6], m[7]);
  if (typeof time === 'string') return no(time);
  const zone = m[8];
  if (zoned && zone === undefined) return no('has no time zone (expected Z or ±HH:MM for timestamptz)');
  if (!zoned && zone !== undefined) return no('has a time zone, but the column is a timestamp without zone');
  let micros = BigInt(day) * DAY_MICROS + time;
  if (zone !== undefined) {
    const offset = offsetMicros(zone);
    if (offset === undefined) return no(`has an invalid zone offset "${zone}"`);
    micros -= offset;
  }
  return ok(micros);
}

/** The strict parser for an Iceberg primitive type. */
export function textParser(type: PrimitiveType): TextParser {
  switch (type.kind) {
    case 'boolean':
      return (text) => {
        const lower = text.trim().toLowerCase();
        if (TRUE.has(lower)) return ok(true);
        if (FALSE.has(lower)) return ok(false);
        return no('is not a boolean (true/false, t/f, yes/no, 1/0)');
      };
    case 'int':
      return (text) => {
        if (!INTEGER.test(text)) return no('is not an integer');
        const n = Number(text);
        return n >= INT_MIN && n <= INT_MAX ? ok(n) : no('does not fit int (32-bit)');
      };
    case 'long':
      return (text) => {
        if (!INTEGER.test(text)) return no('is not an integer');
        const n = BigInt(text);
        return n >= LONG_MIN && n <= LONG_MAX ? ok(n) : no('does not fit long (64-bit)');
      };
    case 'float':
    case 'double':
      return (text) => {
        if (FLOAT.test(text)) return ok(Number(text));
        if (text === 'NaN') return ok(Number.NaN);
        if (text === 'Infinity' || text === '+Infinity' || text === 'inf') return ok(Number.POSITIVE_INFINITY);
        if (text === '-Infinity' || text === '-inf') return ok(Number.NEGATIVE_INFINITY);
        return no('is not a number');
      };
    case 'decimal': {
      const limit = 10n ** BigInt(type.precision);
      return (text) => {
        const m = DECIMAL.exec(text);
        if (!m || (m[2] === '' && (m[3] ?? '') === '')) return no(`is not a decimal number`);
        const fraction = m[3] ?? '';
        if (fraction.length > type.scale && /[1-9]/.test(fraction.slice(type.scale))) {
          return no(`has ${fraction.replace(/0+$/, '').length} decimal places, ${typeToString(type)} allows ${type.scale}`);
        }
        const unscaled = BigInt(`${m[2] || '0'}${fraction.slice(0, type.scale).padEnd(type.scale, '0')}`);
        if (unscaled >= limit) return no(`has more than ${type.precision - type.scale} digits before the point, ${typeToString(type)} allows ${type.precision - type.scale}`);
        return ok(m[1] === '-' ? -unscaled : unscaled);
      };
    }
    case 'date':
      return (text) => {
        const m = DATE.exec(text);
        const day = m ? epochDay(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
        return day === undefined ? no('is not a date (expected YYYY-MM-DD)') : ok(day);
      };
    case 'time':
      return (text) => {
        const m = TIME.exec(text);
        if (!m) return no('is not a time (expected HH:MM:SS[.ffffff])');
        const micros = timeMicros(m[1]!, m[2]!, m[3], m[4]);
        return typeof micros === 'string' ? no(micros) : ok(micros);
      };
    case 'timestamp':
      return (text) => parseTimestamp(text, false);
    case 'timestamptz':
      return (text) => parseTimestamp(text, true);
    case 'string':
      return (text) => ok(text);
    case 'uuid':
      return (text) => (UUID.test(text) ? ok(text.toLowerCase()) : no('is not a UUID'));
    case 'binary':
      return (text) => (BASE64.test(text) ? ok(Buffer.from(text, 'base64')) : no('is not base64'));
    default:
      return () => no(`cannot be read from text: ${typeToString(type)} is not supported in CSV`);
  }
}

/** What a sample of one column's values looks like; `inferType` turns it into a column type. */
export class ColumnSample {
  private integers = 0;
  private intRange = true;
  private decimals = 0;
  private maxScale = 0;
  private maxIntegerDigits = 0;
  private floats = 0;
  private booleans = 0;
  private dates = 0;
  private timestamps = 0;
  private zoned = 0;
  private others = 0;
  nonNull = 0;
  nulls = 0;

  add(text: string | null): void {
    if (text === null) {
      this.nulls++;
      return;
    }
    this.nonNull++;
    if (INTEGER.test(text)) {
      this.integers++;
      const n = BigInt(text);
      if (n < BigInt(INT_MIN) || n > BigInt(INT_MAX)) this.intRange = false;
      this.maxIntegerDigits = Math.max(this.maxIntegerDigits, text.replace(/^[+-]?0*/, '').length);
      if (n < LONG_MIN || n > LONG_MAX) this.others++;
      return;
    }
    const decimal = DECIMAL.exec(text);
    if (decimal && `${decimal[2]}${decimal[3] ?? ''}` !== '') {
      this.decimals++;
      this.maxScale = Math.max(this.maxScale, (decimal[3] ?? '').length);
      this.maxIntegerDigits = Math.max(this.maxIntegerDigits, (decimal[2] ?? '').replace(/^0+/, '').length);
      return;
    }
    if (FLOAT.test(text) || text === 'NaN' || text === 'Infinity' || text === '-Infinity') return void this.floats++;
    const lower = text.toLowerCase();
    if (lower === 'true' || lower === 'false' || lower === 'yes' || lower === 'no' || lower === 't' || lower === 'f') return void this.booleans++;
    const date = DATE.exec(text);
    if (date && epochDay(Number(date[1]), Number(date[2]), Number(date[3])) !== undefined) return void this.dates++;
    const ts = TIMESTAMP.exec(text);
    if (ts && parseTimestamp(text, ts[8] !== undefined).ok) {
      this.timestamps++;
      if (ts[8] !== undefined) this.zoned++;
      return;
    }
    this.others++;
  }

  /**
   * The narrowest type that holds every sampled value. `wholeFile`: the sample is the whole input, so int and a
   * tight decimal precision are safe; otherwise integers become long and decimals get precision 38 (later rows may
   * be larger than anything sampled).
   */
  inferType(wholeFile: boolean): PrimitiveType {
    const n = this.nonNull;
    if (n === 0 || this.others > 0) return { kind: 'string' };
    if (this.booleans === n) return { kind: 'boolean' };
    if (this.integers === n) return wholeFile && this.intRange ? { kind: 'int' } : { kind: 'long' };
    if (this.integers + this.decimals === n) {
      const integerDigits = Math.max(1, this.maxIntegerDigits);
      if (this.maxScale <= 18 && integerDigits + this.maxScale <= 38) {
        return { kind: 'decimal', precision: wholeFile ? integerDigits + this.maxScale : 38, scale: this.maxScale };
      }
      return { kind: 'double' };
    }
    if (this.integers + this.decimals + this.floats === n) return { kind: 'double' };
    if (this.dates === n) return { kind: 'date' };
    if (this.timestamps === n && (this.zoned === 0 || this.zoned === n)) return { kind: this.zoned === n ? 'timestamptz' : 'timestamp' };
    return { kind: 'string' };
  }
}
