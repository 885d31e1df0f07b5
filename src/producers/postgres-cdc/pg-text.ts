// Parsers for Postgres's text output of values (what pgoutput sends and what a text-protocol SELECT returns), into
// DuckHouse's value conventions: int → number, int8 → bigint, numeric(p,s) → unscaled bigint, date → days since
// 1970-01-01, time → µs since midnight (bigint), timestamp/timestamptz → µs since the epoch (bigint, UTC for tz),
// bytea → Buffer, arrays → (element | null)[]. Assumes the session settings DuckHouse sets on every connection it opens
// (DateStyle=ISO, bytea_output=hex), but reads any UTC offset a timestamptz carries (`+05:30`, `-03`, `+00:19:32`).
// PURE: no IO, no JS Date. Must never: round, truncate or shift a value (µs and UTC stay exact); accept a value that
// has no DuckHouse representation (infinity, NaN decimals) instead of refusing it with the reason.
import { daysFromCivil } from '../../catalog/spec/transforms.js';
import { DataInvalidError } from '../../shared/errors.js';

const fail = (type: string, text: string, why?: string): never => {
  throw new DataInvalidError(`expected a Postgres ${type} value${why ? ` (${why})` : ''}, found ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}`, {
    context: { pgType: type },
  });
};

const INT = /^-?\d+$/;
const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;
const INT8_MIN = -(1n << 63n);
const INT8_MAX = (1n << 63n) - 1n;

export function parseBool(text: string): boolean {
  if (text === 't') return true;
  if (text === 'f') return false;
  return fail('boolean', text, 'expected t or f');
}

/** int2 / int4 → number. */
export function parseInt4(text: string): number {
  if (!INT.test(text)) return fail('integer', text);
  const n = Number(text);
  if (n < INT4_MIN || n > INT4_MAX) return fail('integer', text, 'out of the 32-bit range');
  return n;
}

/** int8 → bigint. */
export function parseInt8(text: string): bigint {
  if (!INT.test(text)) return fail('bigint', text);
  const n = BigInt(text);
  if (n < INT8_MIN || n > INT8_MAX) return fail('bigint', text, 'out of the 64-bit range');
  return n;
}

const FLOAT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** float4 / float8 → number; NaN and ±Infinity are valid Avro float/double values. */
export function parseFloat8(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (!FLOAT.test(text)) return fail('double precision', text);
  return Number(text);
}

const NUMERIC = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * numeric → the unscaled bigint at `scale` (what an Avro decimal(precision, scale) carries): `-12.30` at scale 2 is
 * -1230n. NaN and ±Infinity have no decimal form and are refused, so are values with more digits than the type allows.
 */
export function parseDecimal(text: string, precision: number, scale: number): bigint {
  const type = `numeric(${precision},${scale})`;
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return fail(type, text, `${text} has no Avro/Iceberg decimal representation`);
  const match = NUMERIC.exec(text);
  if (!match) return fail(type, text);
  const fraction = match[3] ?? '';
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) return fail(type, text, `more than ${scale} decimal places`);
  const digits = `${match[2]}${fraction.slice(0, scale).padEnd(scale, '0')}`.replace(/^0+(?=\d)/, '');
  if (digits.length > precision && digits !== '0') return fail(type, text, `more than ${precision} digits`);
  const unscaled = BigInt(digits);
  return match[1] ? -unscaled : unscaled;
}


const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function checkedDays(type: string, text: string, year: string, month: string, day: string, bc: string | undefined): number {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > (DAYS_IN_MONTH[m - 1] ?? 0) || (bc && y === 0)) return fail(type, text, 'not a calendar date');
  // Postgres prints 1 BC as "0001 BC"; the proleptic Gregorian (astronomical) year of "Y BC" is 1 - Y.
  const days = daysFromCivil(bc ? 1 - y : y, m, d);
  if (m === 2 && d === 29 && daysFromCivil(bc ? 1 - y : y, 3, 1) - days !== 1) return fail(type, text, 'not a calendar date');
  return days;
}

const refuseInfinity = (type: string, text: string): void => {
  if (text === 'infinity' || text === '-infinity') fail(type, text, `${text} has no Avro/Iceberg ${type} representation`);
};

const DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;

/** date → days since 1970-01-01 (ISO DateStyle: `2024-01-02`, `0044-03-15 BC`). */
export function parseDate(text: string): number {
  refuseInfinity('date', text);
  const match = DATE.exec(text);
  if (!match) return fail('date', text);
  return checkedDays('date', text, match[1]!, match[2]!, match[3]!, match[4]);
}

const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

function timeOfDayMicros(type: string, text: string, h: string, m: string, s: string, fraction: string | undefined): bigint {
  const hours = Number(h);
  const minutes = Number(m);
  const seconds = Number(s);
  const micros = BigInt((fraction ?? '').padEnd(6, '0'));
  // 24:00:00 is a valid Postgres time (end of day); nothing later is.
  if (minutes > 59 || seconds > 59 || hours > 24 || (hours === 24 && (minutes > 0 || seconds > 0 || micros > 0n))) return fail(type, text, 'not a time of day');
  return BigInt(hours * 3600 + minutes * 60 + seconds) * 1_000_000n + micros;
}

/** time (without time zone) → µs since midnight. */
export function parseTime(text: string): bigint {
  const match = TIME.exec(text);
  if (!match) return fail('time', text);
  return timeOfDayMicros('time', text, match[1]!, match[2]!, match[3]!, match[4]);
}

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::\d{2}(?::\d{2})?)?)?( BC)?$/;
const DAY_MICROS = 86_400_000_000n;

function parseTimestampText(type: string, text: string, withZone: boolean): bigint {
  refuseInfinity(type, text);
  const match = TIMESTAMP.exec(text);
  if (!match || (withZone ? match[8] === undefined : match[8] !== undefined)) return fail(type, text, withZone ? 'ISO DateStyle with a UTC offset' : 'ISO DateStyle without an offset');
  const days = checkedDays(type, text, match[1]!, match[2]!, match[3]!, match[9]);
  const local = BigInt(days) * DAY_MICROS + timeOfDayMicros(type, text, match[4]!, match[5]!, match[6]!, match[7]);
  if (!withZone) return local;
  // The offset is east of UTC: local = UTC + offset, so UTC = local - offset. Historic zones have second offsets.
  const zone = match[8]!;
  const [hh, mm, ss] = zone.slice(1).split(':').map(Number);
  const offsetSeconds = (hh ?? 0) * 3600 + (mm ?? 0) * 60 + (ss ?? 0);
  return local - BigInt(zone.startsWith('-') ? -offsetSeconds : offsetSeconds) * 1_000_000n;
}

/** timestamp (without time zone) → µs since 1970-01-01 00:00 of the same wall clock (Avro local-timestamp-micros). */
export function parseTimestamp(text: string): bigint {
  return parseTimestampText('timestamp', text, false);
}

/** timestamptz → µs since the epoch, UTC, exact, whatever offset the text carries. */
export function parseTimestamptz(text: string): bigint {
  return parseTimestampText('timestamptz', text, true);
}

const HEX = /^[0-9A-Fa-f]*$/;

/** bytea in hex (`\x0a0b`) or escape (`ab\000\\`) output format → Buffer. */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2);
    if (hex.length % 2 !== 0 || !HEX.test(hex)) return fail('bytea', text, 'odd or non-hex digits after \\x');
    return Buffer.from(hex, 'hex');
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x5c) {
      if (code > 0xff) return fail('bytea', text, 'escape format holds only single-byte characters');
      bytes.push(code);
    } else if (text[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else if (/^[0-3][0-7]{2}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      return fail('bytea', text, `bad escape at character ${i}`);
    }
  }
  return Buffer.from(bytes);
}

/**
 * A one-dimensional Postgres array in text form (`{1,NULL,"a \"b\"",""}`, optionally with bounds `[0:2]={…}`) → its
 * elements' texts, null for NULL. A quoted "NULL" is the string NULL. Multi-dimensional arrays are refused.
 */
export function parseArrayText(text: string, delimiter = ','): (string | null)[] {
  const type = 'array';
  let i = 0;
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq < 0 || !/^(\[-?\d+:-?\d+\])+$/.test(text.slice(0, eq))) return fail(type, text, 'bad dimension decoration');
    if (text.slice(0, eq).split('[').length > 2) return fail(type, text, 'multi-dimensional arrays are not supported');
    i = eq + 1;
  }
  const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
  if (text[i] !== '{') return fail(type, text, 'expected "{"');
  i++;
  const out: (string | null)[] = [];
  while (isSpace(text[i])) i++;
  if (text[i] === '}') {
    i++;
    if (i !== text.length) return fail(type, text, 'text after the closing "}"');
    return out;
  }
  for (;;) {
    while (isSpace(text[i])) i++;
    const ch = text[i];
    if (ch === undefined) return fail(type, text, 'unterminated array');
    if (ch === '{') return fail(type, text, 'multi-dimensional arrays are not supported');
    if (ch === '"') {
      let value = '';
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) return fail(type, text, 'unterminated quoted element');
        if (c === '"') break;
        if (c === '\\') {
          i++;
          if (text[i] === undefined) return fail(type, text, 'backslash at the end');
          value += text[i];
        } else {
          value += c;
        }
        i++;
      }
      i++;
      out.push(value);
    } else {
      let value = '';
      let escaped = false;
      let trailingSpace = 0;
      for (;;) {
        const c = text[i];
        if (c === undefined) return fail(type, text, 'unterminated array');
        if (c === delimiter || c === '}') break;
        if (c === '"' || c === '{') return fail(type, text, `unexpected ${c} inside an unquoted element`);
        if (c === '\\') {
          i++;
          if (text[i] === undefined) return fail(type, text, 'backslash at the end');
          value += text[i];
          escaped = true;
          trailingSpace = 0;
        } else {
          value += c;
          trailingSpace = isSpace(c) ? trailingSpace + 1 : 0;
        }
        i++;
      }
      value = value.slice(0, value.length - trailingSpace);
      out.push(!escaped && value.toUpperCase() === 'NULL' ? null : value);
    }
    while (isSpace(text[i])) i++;
    if (text[i] === delimiter) {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    return fail(type, text, `expected "${delimiter}" or "}" at character ${i}`);
  }
  if (i !== text.length) return fail(type, text, 'text after the closing "}"');
  return out;
}
