// Turns DuckDB's `COPY … RETURN_STATS` output into per-field-id column statistics with bounds in Iceberg's in-memory
// form (int/date/float/double: number; long/time/timestamps: bigint µs (ns for *_ns); decimal: unscaled bigint;
// string and uuid: string; binary/fixed: Uint8Array; boolean). PURE: no IO.
// Must never approximate: a bound whose text does not parse exactly is an error, not a guess.
import { DuckHouseError } from '../../shared/errors.js';
import type { PrimitiveType } from '../spec/types.js';
import { daysFromCivil } from '../spec/transforms.js';
import { typeToString } from '../spec/types.js';
import type { LeafColumn } from './duckdb-types.js';

export interface ColumnStats {
  /** Compressed bytes of this column's chunks in the file. */
  readonly columnSize?: bigint;
  /** Parquet values (for a column inside a list or map: elements, including null and empty-list slots). */
  readonly valueCount: bigint;
  readonly nullCount: bigint;
  /**
   * Lower and upper bounds, NaN excluded. DuckDB truncates string and binary bounds longer than 256 bytes (the upper
   * one rounded up, so both stay valid bounds) and drops them when no valid truncation exists.
   */
  readonly min?: unknown;
  readonly max?: unknown;
}

/** One file's RETURN_STATS: `column_statistics` is a map of column key → map of statistic name → text. */
export interface CopyStatsRow {
  readonly count: bigint;
  readonly fileSizeBytes: bigint;
  readonly columns: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

const internal = (message: string, context: Record<string, unknown> = {}): DuckHouseError => new DuckHouseError('internal', message, { context });

/** Parses the row DuckDB returns from COPY … RETURN_STATS (as read by `getRowObjectsJson()`). */
export function parseCopyStatsRow(row: Record<string, unknown>): CopyStatsRow {
  const entries = (value: unknown, where: string): [string, unknown][] => {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw internal(`RETURN_STATS ${where}: expected a map, found ${JSON.stringify(value)}`);
    return value.map((e: { key?: unknown; value?: unknown }) => [String(e.key), e.value]);
  };
  const columns = new Map<string, Map<string, string>>();
  for (const [key, stats] of entries(row.column_statistics, 'column_statistics')) {
    columns.set(key, new Map(entries(stats, key).map(([name, text]) => [name, String(text)])));
  }
  return { count: BigInt(String(row.count)), fileSizeBytes: BigInt(String(row.file_size_bytes)), columns };
}

/** Statistics per leaf field id; a leaf DuckDB reported nothing for is an internal error (the key scheme changed). */
export function columnStatsByFieldId(leaves: readonly LeafColumn[], stats: CopyStatsRow): Map<number, ColumnStats> {
  const result = new Map<number, ColumnStats>();
  for (const leaf of leaves) {
    const column = stats.columns.get(leaf.statsKey);
    if (!column) {
      if (stats.count === 0n) {
        result.set(leaf.fieldId, { valueCount: 0n, nullCount: 0n });
        continue;
      }
      throw internal(`RETURN_STATS has no entry for column ${leaf.statsKey} (field id ${leaf.fieldId}); keys: ${[...stats.columns.keys()].join(', ')}`);
    }
    const number = (name: string): bigint | undefined => {
      const text = column.get(name);
      return text === undefined ? undefined : BigInt(text);
    };
    const min = column.get('min');
    const max = column.get('max');
    const where = `${leaf.path} (field id ${leaf.fieldId})`;
    result.set(leaf.fieldId, {
      ...(number('column_size_bytes') === undefined ? {} : { columnSize: number('column_size_bytes') }),
      valueCount: number('num_values') ?? stats.count,
      nullCount: number('null_count') ?? 0n,
      ...(min === undefined ? {} : { min: parseBound(leaf.type, min, where) }),
      ...(max === undefined ? {} : { max: parseBound(leaf.type, max, where) }),
    });
  }
  return result;
}

/** Parses one bound as DuckDB prints it for the written type (see duckdbSqlType) into Iceberg's in-memory value. */
export function parseBound(type: PrimitiveType, text: string, where = 'bound'): unknown {
  const fail = (): never => {
    throw internal(`${where}: cannot read ${typeToString(type)} bound ${JSON.stringify(text)} exactly`, { text });
  };
  switch (type.kind) {
    case 'boolean':
      if (text === '1' || text === 'true') return true;
      if (text === '0' || text === 'false') return false;
      return fail();
    case 'int':
      return /^-?\d+$/.test(text) ? Number(text) : fail();
    case 'long':
      return /^-?\d+$/.test(text) ? BigInt(text) : fail();
    case 'float':
    case 'double': {
      const value = text === 'inf' ? Infinity : text === '-inf' ? -Infinity : /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? Number(text) : fail();
      return type.kind === 'float' ? Math.fround(value) : value;
    }
    case 'decimal': {
      const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      const fraction = match?.[3] ?? '';
      if (!match || fraction.length > type.scale) return fail();
      const unscaled = BigInt(`${match[2]}${fraction.padEnd(type.scale, '0')}`);
      return match[1] === '-' ? -unscaled : unscaled;
    }
    case 'date':
      return parseDate(text) ?? fail();
    case 'time': {
      const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
      return match ? clockMicros(match[1], match[2], match[3], match[4], 6) : fail();
    }
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return parseTimestamp(text, type.kind.endsWith('_ns') ? 9 : 6) ?? fail();
    case 'string':
    case 'uuid':
      return text;
    case 'binary':
    case 'fixed':
      return /^(?:[0-9A-Fa-f]{2})*$/.test(text) ? Uint8Array.from(Buffer.from(text, 'hex')) : fail();
  }
}


/** DuckDB prints year N BC as `000N-MM-DD (BC)`; there is no year 0 in that notation, so N BC is year 1 - N. */
const DATE = String.raw`(\d{4,})-(\d{2})-(\d{2})( \(BC\))?`;
const DATE_PATTERN = new RegExp(`^${DATE}$`);
const TIMESTAMP_PATTERNS = {
  6: timestampPattern(6),
  9: timestampPattern(9),
};
function timestampPattern(digits: number): RegExp {
  return new RegExp(String.raw`^${DATE} (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,${digits}}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?$`);
}

function parseDate(text: string): number | undefined {
  const match = DATE_PATTERN.exec(text);
  if (!match) return undefined;
  return civilDays(match[1], match[2], match[3], match[4]);
}

function civilDays(year?: string, month?: string, day?: string, bc?: string): number {
  const y = Number(year);
  return daysFromCivil(bc ? 1 - y : y, Number(month), Number(day));
}

function clockMicros(h?: string, m?: string, s?: string, fraction = '', digits = 6): bigint {
  const seconds = BigInt(Number(h) * 3600 + Number(m) * 60 + Number(s));
  return seconds * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
}

/** `YYYY-MM-DD[ (BC)] HH:MM:SS[.f…][±HH[:MM[:SS]]]`, or ±infinity (DuckDB's sentinels ±(2^63 - 1)). */
function parseTimestamp(text: string, digits: 6 | 9): bigint | undefined {
  if (text === 'infinity') return 9223372036854775807n;
  if (text === '-infinity') return -9223372036854775807n;
  const match = TIMESTAMP_PATTERNS[digits].exec(text);
  if (!match) return undefined;
  const perSecond = 10n ** BigInt(digits);
  const days = BigInt(civilDays(match[1], match[2], match[3], match[4]));
  let value = days * 86400n * perSecond + clockMicros(match[5], match[6], match[7], match[8], digits);
  if (match[9]) {
    const offset = BigInt(Number(match[10]) * 3600 + Number(match[11] ?? 0) * 60 + Number(match[12] ?? 0)) * perSecond;
    value = match[9] === '+' ? value - offset : value + offset;
  }
  return value;
}
