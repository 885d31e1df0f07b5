// Postgres column type (type OID + atttypmod, as pgoutput's Relation message and pg_attribute give them) → the Avro type
// DuckHouse publishes and the parser of the value's text form. Built-in types only (their OIDs are fixed); every other
// type (interval, inet, money, enums, domains, extension types such as citext, …) is published as its exact text.
// PURE: no IO. Must never: map a type to an Avro type that cannot hold every value of it exactly (unconstrained numeric
// and numeric wider than 38 digits stay text; see docs/cdc.md).
import { parseArrayText, parseBool, parseBytea, parseDate, parseDecimal, parseFloat8, parseInt4, parseInt8, parseTime, parseTimestamp, parseTimestamptz } from './pg-text.js';
import { DataInvalidError } from '../../shared/errors.js';

/** How one column's values are published. */
export interface PgValueCodec {
  /** The Avro type of a non-null value (the schema adds the null branch for nullable columns). */
  avro: unknown;
  /** Postgres's text form of a value → its Avro value in DuckHouse's conventions. Throws DataInvalidError. */
  parse(text: string): unknown;
  /** A valid value of `avro`: stands in for a NOT NULL column whose value Postgres did not send. */
  zero: unknown;
  /** `int4 → int`, for logs and errors. */
  describe: string;
}

/** OIDs of the built-in types DuckHouse maps (fixed in every Postgres: pg_type.dat). */
export const PG_TYPE_OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Built-in array type OID → element type OID (one-dimensional arrays of these become Avro arrays). */
export const PG_ARRAY_ELEMENT: Readonly<Record<number, number>> = {
  1000: 16, // _bool
  1001: 17, // _bytea
  1002: 18, // _char
  1003: 19, // _name
  1005: 21, // _int2
  1007: 23, // _int4
  1009: 25, // _text
  1014: 1042, // _bpchar
  1015: 1043, // _varchar
  1016: 20, // _int8
  1021: 700, // _float4
  1022: 701, // _float8
  1115: 1114, // _timestamp
  1182: 1082, // _date
  1183: 1083, // _time
  1185: 1184, // _timestamptz
  1231: 1700, // _numeric
  2951: 2950, // _uuid
  3807: 3802, // _jsonb
  199: 114, // _json
  1187: 1186, // _interval
  1270: 1266, // _timetz
  1041: 869, // _inet
  651: 650, // _cidr
  143: 142, // _xml
  1028: 26, // _oid
  791: 790, // _money
};

const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(PG_TYPE_OID).map(([name, oid]) => [oid, name]));

/** Avro's decimal precision limit in DuckHouse (Iceberg decimals hold at most 38 digits). */
export const MAX_DECIMAL_PRECISION = 38;

/**
 * numeric's atttypmod → precision and scale; undefined for unconstrained numeric (-1). Scale is an 11-bit signed field
 * since Postgres 15 (numeric(5,-2) is legal there).
 */
export function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const t = typmod - 4;
  const scaleBits = t & 0x7ff;
  return { precision: (t >> 16) & 0xffff, scale: (scaleBits ^ 0x400) - 0x400 };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const text = (describe: string): PgValueCodec => ({ avro: 'string', parse: (t) => t, zero: '', describe: `${describe} → string` });

function scalarCodec(oid: number, typmod: number): PgValueCodec {
  switch (oid) {
    case PG_TYPE_OID.bool:
      return { avro: 'boolean', parse: parseBool, zero: false, describe: 'bool → boolean' };
    case PG_TYPE_OID.int2:
    case PG_TYPE_OID.int4:
      return { avro: 'int', parse: parseInt4, zero: 0, describe: `${TYPE_NAMES[oid]} → int` };
    case PG_TYPE_OID.int8:
      return { avro: 'long', parse: parseInt8, zero: 0n, describe: 'int8 → long' };
    case PG_TYPE_OID.float4:
      return { avro: 'float', parse: parseFloat8, zero: 0, describe: 'float4 → float' };
    case PG_TYPE_OID.float8:
      return { avro: 'double', parse: parseFloat8, zero: 0, describe: 'float8 → double' };
    case PG_TYPE_OID.numeric: {
      const mod = numericTypmod(typmod);
      if (!mod || mod.precision < 1 || mod.precision > MAX_DECIMAL_PRECISION || mod.scale < 0 || mod.scale > mod.precision) {
        return text(mod ? `numeric(${mod.precision},${mod.scale})` : 'numeric');
      }
      const { precision, scale } = mod;
      return {
        avro: { type: 'bytes', logicalType: 'decimal', precision, scale },
        parse: (t) => parseDecimal(t, precision, scale),
        zero: 0n,
        describe: `numeric(${precision},${scale}) → decimal(${precision},${scale})`,
      };
    }
    case PG_TYPE_OID.text:
    case PG_TYPE_OID.varchar:
    case PG_TYPE_OID.bpchar:
    case PG_TYPE_OID.name:
    case PG_TYPE_OID.char:
    case PG_TYPE_OID.json:
    case PG_TYPE_OID.jsonb:
      return text(TYPE_NAMES[oid] ?? String(oid));
    case PG_TYPE_OID.bytea:
      return { avro: 'bytes', parse: parseBytea, zero: Buffer.alloc(0), describe: 'bytea → bytes' };
    case PG_TYPE_OID.date:
      return { avro: { type: 'int', logicalType: 'date' }, parse: parseDate, zero: 0, describe: 'date → date' };
    case PG_TYPE_OID.time:
      return { avro: { type: 'long', logicalType: 'time-micros' }, parse: parseTime, zero: 0n, describe: 'time → time-micros' };
    case PG_TYPE_OID.timestamp:
      return { avro: { type: 'long', logicalType: 'local-timestamp-micros' }, parse: parseTimestamp, zero: 0n, describe: 'timestamp → local-timestamp-micros' };
    case PG_TYPE_OID.timestamptz:
      return { avro: { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }, parse: parseTimestamptz, zero: 0n, describe: 'timestamptz → timestamp-micros (UTC)' };
    case PG_TYPE_OID.uuid:
      return {
        avro: { type: 'string', logicalType: 'uuid' },
        parse: (t) => {
          if (!UUID.test(t)) throw new DataInvalidError(`expected a Postgres uuid value, found ${JSON.stringify(t)}`, { context: { pgType: 'uuid' } });
          return t;
        },
        zero: '00000000-0000-0000-0000-000000000000',
        describe: 'uuid → uuid',
      };
    default:
      return text(`type ${oid}`);
  }
}

/** The codec of a column of type `oid` with atttypmod `typmod` (for arrays the typmod is the element's). */
export function valueCodec(oid: number, typmod: number): PgValueCodec {
  const elementOid = PG_ARRAY_ELEMENT[oid];
  if (elementOid === undefined) return scalarCodec(oid, typmod);
  const element = scalarCodec(elementOid, typmod);
  return {
    avro: { type: 'array', items: ['null', element.avro] },
    parse: (t) =>
      parseArrayText(t).map((item, index) => {
        if (item === null) return null;
        try {
          return element.parse(item);
        } catch (error) {
          if (!(error instanceof DataInvalidError)) throw error;
          throw new DataInvalidError(`array element ${index + 1}: ${error.message}`, { cause: error, context: error.context });
        }
      }),
    zero: [],
    describe: `${element.describe.replace(' → ', '[] → array<')}>`,
  };
}
