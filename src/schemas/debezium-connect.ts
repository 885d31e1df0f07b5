// Kafka Connect schemas as Debezium's JsonConverter writes them (`{"type":"int64","name":"io.debezium.time.MicroTimestamp",
// …}`): converting a payload value by its schema into Iceberg's in-memory form (catalog/spec/conversions.ts), mapping a
// row schema to Iceberg fields, and the text/number helpers both this and the schemaless path share (base64, decimal
// text, ISO timestamps). Supported semantic types are listed in docs/debezium-contract.md.
// PURE: no IO. Must never: hand out a JS number for an int64 or a timestamp, or round a decimal silently.
import { DataInvalidError } from '../shared/errors.js';
import { bigintFromTwosComplement, daysFromCivil } from '../catalog/spec/transforms.js';
import type { FieldSpec, TypeSpec } from '../catalog/spec/schema.js';

export type ConnectType = 'int8' | 'int16' | 'int32' | 'int64' | 'float' | 'double' | 'boolean' | 'string' | 'bytes' | 'array' | 'map' | 'struct';

/** A Connect schema in the JsonConverter's JSON form. */
export interface ConnectSchema {
  type: ConnectType;
  optional?: boolean;
  name?: string;
  version?: number;
  doc?: string;
  parameters?: Record<string, string>;
  default?: unknown;
  /** The field name, when this schema is a struct member. */
  field?: string;
  fields?: ConnectSchema[];
  items?: ConnectSchema;
  keys?: ConnectSchema;
  values?: ConnectSchema;
}

export const CONNECT_DECIMAL = 'org.apache.kafka.connect.data.Decimal';
export const DEBEZIUM_VARIABLE_SCALE_DECIMAL = 'io.debezium.data.VariableScaleDecimal';

function fail(where: string, message: string): never {
  throw new DataInvalidError(`${where}: ${message}`, { context: { where } });
}

export function describeJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `${v.length} bytes` : v)) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

// ---- shared value helpers ----

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (the JsonConverter's encoding of `bytes`), as a plain Uint8Array. */
export function decodeBase64(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) fail(where, `expected base64 text (Connect bytes), found ${describeJson(value)}`);
  return new Uint8Array(Buffer.from(value as string, 'base64'));
}

/** `unscaled × 10^-scale` as plain decimal text: (12345, 2) → "123.45", (-5, 3) → "-0.005", (7, -2) → "700". */
export function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** Moves an unscaled value from `from` to `to` digits after the point; throws when digits would be lost. */
export function rescale(unscaled: bigint, from: number, to: number, where: string): bigint {
  if (to >= from) return unscaled * 10n ** BigInt(to - from);
  const factor = 10n ** BigInt(from - to);
  if (unscaled % factor !== 0n) fail(where, `decimal ${decimalText(unscaled, from)} has more than ${to} digits after the point`);
  return unscaled / factor;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Decimal text (`-12.50`, `1e3`) → unscaled bigint at `scale`; throws on anything else or on lost digits. */
export function unscaledFromDecimalText(text: string, scale: number, where: string): bigint {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m || `${m[2] ?? ''}${m[3] ?? ''}` === '') return fail(where, `expected decimal text, found ${describeJson(text)}`);
  const fraction = m[3] ?? '';
  const unscaled = BigInt(`${m[1] ?? ''}${m[2] || '0'}${fraction}`);
  return rescale(unscaled, fraction.length - Number(m[4] ?? 0), scale, where);
}

/** Number of decimal digits of an unscaled value (its precision). */
export function decimalDigits(unscaled: bigint): number {
  return (unscaled < 0n ? -unscaled : unscaled).toString().length;
}


const DATE_TEXT = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/;
const TIME_TEXT = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const ZONE_TEXT = /^(?:Z|([+-])(\d{2}):?(\d{2})?)$/;
const TIMESTAMP_TEXT = /^([+-]?\d{4,}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export function daysFromDateText(text: string, where: string): number {
  const m = DATE_TEXT.exec(text);
  if (!m) return fail(where, `expected a date YYYY-MM-DD, found ${describeJson(text)}`);
  const [month, day] = [Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > 31) fail(where, `date ${text} is out of range`);
  return daysFromCivil(Number(m[1]), month, day);
}

/** `HH:MM:SS[.fraction]` → µs (or ns) since midnight; digits beyond the unit are dropped. */
export function timeOfDayFromText(text: string, where: string, unit: 'us' | 'ns' = 'us'): bigint {
  const m = TIME_TEXT.exec(text);
  if (!m) return fail(where, `expected a time HH:MM:SS[.ffffff], found ${describeJson(text)}`);
  const seconds = BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]));
  const digits = unit === 'us' ? 6 : 9;
  return seconds * 10n ** BigInt(digits) + BigInt((m[4] ?? '').padEnd(digits, '0').slice(0, digits));
}

/**
 * An ISO-8601 timestamp (`2024-02-29T11:45:56.123456Z`, Debezium's ZonedTimestamp; a zone offset or none, read as
 * UTC) → µs (or ns) since the epoch, UTC.
 */
export function epochFromIsoText(text: string, where: string, unit: 'us' | 'ns' = 'us'): bigint {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return fail(where, `expected an ISO-8601 timestamp, found ${describeJson(text)}`);
  const perSecond = unit === 'us' ? 1_000_000n : 1_000_000_000n;
  const days = BigInt(daysFromDateText(m[1]!, where));
  let value = days * 86_400n * perSecond + timeOfDayFromText(m[2]!, where, unit);
  const zone = m[3] ? ZONE_TEXT.exec(m[3]) : null;
  if (zone?.[1]) {
    const offsetSeconds = BigInt(Number(zone[2]) * 3600 + Number(zone[3] ?? 0) * 60);
    value += (zone[1] === '-' ? 1n : -1n) * offsetSeconds * perSecond;
  }
  return value;
}

/** JSON numbers arrive as number (safe) or bigint (parsed losslessly); int64 text is accepted too. */
export function toBigInt(value: unknown, where: string, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) return BigInt(value);
  return fail(where, `expected ${what} (an integer), found ${describeJson(value)}`);
}

const SPECIAL_FLOATS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

/** A float/double: a JSON number, or Jackson's quoted "NaN" / "Infinity" / "-Infinity". */
export function toFloat(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value in SPECIAL_FLOATS) return SPECIAL_FLOATS[value]!;
  return fail(where, `expected a number (or "NaN", "Infinity", "-Infinity"), found ${describeJson(value)}`);
}

function toInt(value: unknown, where: string, bits: number): number {
  const limit = 2 ** (bits - 1);
  if (typeof value === 'number' && Number.isInteger(value) && value >= -limit && value < limit) return value;
  return fail(where, `expected an int${bits}, found ${describeJson(value)}`);
}

/** VariableScaleDecimal's struct {scale, value: base64 unscaled} → [unscaled, scale]. */
export function variableScaleDecimal(value: unknown, where: string): [bigint, number] {
  const struct = value as { scale?: unknown; value?: unknown } | null;
  if (typeof struct !== 'object' || struct === null || typeof struct.scale !== 'number') {
    return fail(where, `expected a VariableScaleDecimal {"scale": n, "value": base64}, found ${describeJson(value)}`);
  }
  return [bigintFromTwosComplement(decodeBase64(struct.value, `${where}.value`)), struct.scale];
}

// ---- values by schema ----

const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/** Converts one payload value by its Connect schema into the in-memory form (see the module comment). */
export function connectValue(value: unknown, schema: ConnectSchema, where: string): unknown {
  if (value === null || value === undefined) return null;
  switch (schema.name) {
    case CONNECT_DECIMAL: {
      const scale = Number(schema.parameters?.scale ?? 0);
      if (typeof value === 'number' || typeof value === 'bigint') return unscaledFromDecimalText(String(value), scale, where);
      return bigintFromTwosComplement(decodeBase64(value, where));
    }
    case DEBEZIUM_VARIABLE_SCALE_DECIMAL: {
      const [unscaled, scale] = variableScaleDecimal(value, where);
      return decimalText(unscaled, scale);
    }
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return toInt(value, where, 32);
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Time':
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
      return toBigInt(value, where, 'milliseconds') * 1000n;
    case 'io.debezium.time.NanoTime':
    case 'io.debezium.time.NanoTimestamp':
      return floorDiv(toBigInt(value, where, 'nanoseconds'), 1000n);
    case 'io.debezium.time.ZonedTimestamp':
      if (typeof value !== 'string') fail(where, `expected an ISO-8601 timestamp string, found ${describeJson(value)}`);
      return epochFromIsoText(value as string, where);
    case 'io.debezium.data.Uuid':
      if (typeof value !== 'string') fail(where, `expected a UUID string, found ${describeJson(value)}`);
      return (value as string).toLowerCase();
    default:
      break;
  }
  switch (schema.type) {
    case 'int8': return toInt(value, where, 8);
    case 'int16': return toInt(value, where, 16);
    case 'int32': return toInt(value, where, 32);
    case 'int64': return toBigInt(value, where, 'an int64');
    case 'float':
    case 'double': return toFloat(value, where);
    case 'boolean':
      if (typeof value !== 'boolean') fail(where, `expected true or false, found ${describeJson(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string') fail(where, `expected a string, found ${describeJson(value)}`);
      return value;
    case 'bytes': return decodeBase64(value, where);
    case 'array': {
      if (!Array.isArray(value) || !schema.items) return fail(where, `expected an array, found ${describeJson(value)}`);
      return value.map((item, i) => connectValue(item, schema.items!, `${where}[${i}]`));
    }
    case 'map': {
      if (!schema.keys || !schema.values) return fail(where, 'map schema without keys/values');
      // String keys: a JSON object; other keys: an array of [key, value] pairs (the JsonConverter's two forms).
      const entries: [unknown, unknown][] = Array.isArray(value) ? (value as [unknown, unknown][]) : Object.entries(value as object);
      return new Map(entries.map(([k, v]) => [connectValue(k, schema.keys!, `${where}.key`), connectValue(v, schema.values!, `${where}[${String(k)}]`)]));
    }
    case 'struct': return connectStruct(value, schema, where);
    default: return fail(where, `unknown Connect type ${describeJson(schema.type)}`);
  }
}

/** A struct payload → a row keyed by field name, every field converted by its schema (missing fields → null). */
export function connectStruct(value: unknown, schema: ConnectSchema, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(where, `expected a struct (JSON object), found ${describeJson(value)}`);
  const row: Record<string, unknown> = {};
  for (const field of schema.fields ?? []) {
    const name = field.field ?? fail(where, 'struct field without a name');
    row[name] = connectValue((value as Record<string, unknown>)[name], field, `${where}.${name}`);
  }
  return row;
}

// ---- Iceberg types ----

/** Named (semantic) types → the Iceberg type their converted value has. */
const NAMED_TYPES: Record<string, TypeSpec> = {
  [DEBEZIUM_VARIABLE_SCALE_DECIMAL]: { kind: 'string' },
  'io.debezium.time.Date': { kind: 'date' },
  'org.apache.kafka.connect.data.Date': { kind: 'date' },
  'io.debezium.time.Time': { kind: 'time' },
  'io.debezium.time.MicroTime': { kind: 'time' },
  'io.debezium.time.NanoTime': { kind: 'time' },
  'org.apache.kafka.connect.data.Time': { kind: 'time' },
  'io.debezium.time.Timestamp': { kind: 'timestamp' },
  'io.debezium.time.MicroTimestamp': { kind: 'timestamp' },
  'io.debezium.time.NanoTimestamp': { kind: 'timestamp' },
  'org.apache.kafka.connect.data.Timestamp': { kind: 'timestamp' },
  'io.debezium.time.ZonedTimestamp': { kind: 'timestamptz' },
  'io.debezium.data.Uuid': { kind: 'uuid' },
};

const PLAIN_TYPES: Partial<Record<ConnectType, TypeSpec>> = {
  int8: { kind: 'int' },
  int16: { kind: 'int' },
  int32: { kind: 'int' },
  int64: { kind: 'long' },
  float: { kind: 'float' },
  double: { kind: 'double' },
  boolean: { kind: 'boolean' },
  string: { kind: 'string' },
  bytes: { kind: 'binary' },
};

/**
 * The Iceberg type of a Connect schema. Unknown semantic names fall back to their physical type (io.debezium.data.Json,
 * Enum, Xml, ZonedTime, Interval → string; Bits → binary; Year → int; MicroDuration → long).
 */
export function connectTypeToIceberg(schema: ConnectSchema, where: string): TypeSpec {
  if (schema.name === CONNECT_DECIMAL) {
    const precision = Number(schema.parameters?.['connect.decimal.precision'] ?? 38);
    const scale = Number(schema.parameters?.scale ?? 0);
    if (!Number.isInteger(precision) || precision < 1 || precision > 38 || !Number.isInteger(scale) || scale < 0 || scale > precision) {
      fail(where, `decimal(${precision}, ${scale}) does not fit Iceberg (precision 1..38, scale 0..precision); use decimal.handling.mode=string`);
    }
    return { kind: 'decimal', precision, scale };
  }
  const named = schema.name === undefined ? undefined : NAMED_TYPES[schema.name];
  if (named) return named;
  const plain = PLAIN_TYPES[schema.type];
  if (plain) return plain;
  switch (schema.type) {
    case 'array':
      if (!schema.items) return fail(where, 'array schema without items');
      return { kind: 'list', element: connectTypeToIceberg(schema.items, `${where}.element`), elementRequired: schema.items.optional === false };
    case 'map':
      if (!schema.keys || !schema.values) return fail(where, 'map schema without keys/values');
      return {
        kind: 'map',
        key: connectTypeToIceberg(schema.keys, `${where}.key`),
        value: connectTypeToIceberg(schema.values, `${where}.value`),
        valueRequired: schema.values.optional === false,
      };
    case 'struct':
      return { kind: 'struct', fields: connectFieldsToIceberg(schema, where) };
    default:
      return fail(where, `unknown Connect type ${describeJson(schema.type)}`);
  }
}

/** A struct schema's fields as Iceberg field specs (required where the Connect field is not optional). */
export function connectFieldsToIceberg(struct: ConnectSchema, where: string): FieldSpec[] {
  if (struct.type !== 'struct') return fail(where, `expected a struct schema, found ${describeJson(struct.type)}`);
  return (struct.fields ?? []).map((field) => {
    const name = field.field ?? fail(where, 'struct field without a name');
    const spec: FieldSpec = { name, type: connectTypeToIceberg(field, `${where}.${name}`), required: field.optional === false };
    if (field.doc !== undefined) spec.doc = field.doc;
    return spec;
  });
}
