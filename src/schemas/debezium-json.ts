// Parses change events that an external Debezium (Postgres connector) wrote through Kafka Connect's JsonConverter,
// with schemas (`{"schema": …, "payload": …}`) or without (the bare payload), into our ChangeEvent (envelope.ts) with
// values in Iceberg's in-memory form; maps a schema'd topic's row to Iceberg fields; and coerces schemaless rows to a
// known Iceberg schema. The contract it enforces is docs/debezium-contract.md.
// PURE: no IO. Must never: lose int64/decimal digits (JSON is parsed losslessly), pass Debezium's unavailable-value
// placeholder through as data, or throw anything but DataInvalidError for bad input (the message names `where`).
import { createHash } from 'node:crypto';
import { isInteger, isSafeNumber, parse as parseLossless } from 'lossless-json';
import { DuckHouseError, DataInvalidError } from '../shared/errors.js';
import type { FieldSpec, Schema } from '../catalog/spec/schema.js';
import { buildSchema } from '../catalog/spec/schema.js';
import type { IcebergType } from '../catalog/spec/types.js';
import { typeToString } from '../catalog/spec/types.js';
import { bigintFromTwosComplement } from '../catalog/spec/transforms.js';
import type { ChangeEvent, ChangeOp, Row, SourceInfo } from './envelope.js';
import { CHANGE_OPS, DEBEZIUM_UNAVAILABLE_PLACEHOLDER, validateChangeEvent } from './envelope.js';
import type { ConnectSchema } from './debezium-connect.js';
import {
  connectFieldsToIceberg, connectStruct, daysFromDateText, decimalDigits, decimalText, decodeBase64, describeJson,
  epochFromIsoText, rescale, timeOfDayFromText, toBigInt, toFloat, unscaledFromDecimalText, variableScaleDecimal,
} from './debezium-connect.js';

export type { ConnectSchema } from './debezium-connect.js';

export interface DebeziumParseOptions {
  /** The connector's `unavailable.value.placeholder` (default `__debezium_unavailable_value`). */
  unavailablePlaceholder?: string;
}

export interface DebeziumMessage {
  /** The key columns (typed by the key schema when there is one), or null for a truncate / null key. */
  key: Record<string, unknown> | null;
  /** null for a tombstone (null value). */
  event: ChangeEvent | null;
  /** The Connect schemas when the converter had `schemas.enable=true`, else null. */
  keySchema: ConnectSchema | null;
  valueSchema: ConnectSchema | null;
}

function fail(where: string, message: string): never {
  throw new DataInvalidError(`${where}: ${message}`, { context: { where } });
}

/** JSON with exact integers: safe ones as number, larger ones as bigint (int64 ids, µs timestamps). */
function parseJson(input: Buffer | string, what: string, where: string): unknown {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  try {
    return parseLossless(text, null, (n: string) => (isInteger(n) && !isSafeNumber(n) ? BigInt(n) : Number(n)));
  } catch (error) {
    return fail(where, `${what} is not valid JSON (${(error as Error).message}); expected a JsonConverter message, found ${describeJson(text)}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** `{schema, payload}` (schemas.enable=true) → both; anything else is a bare payload. */
function unwrap(parsed: unknown): { schema: ConnectSchema | null; payload: unknown } {
  if (isObject(parsed) && Object.keys(parsed).length === 2 && 'schema' in parsed && 'payload' in parsed) {
    const schema = parsed.schema;
    if (schema === null || (isObject(schema) && typeof schema.type === 'string')) return { schema: schema as ConnectSchema | null, payload: parsed.payload };
  }
  return { schema: null, payload: parsed };
}

const fieldOf = (schema: ConnectSchema | null, name: string): ConnectSchema | undefined => schema?.fields?.find((f) => f.field === name);

// ---- the unavailable-value placeholder ----

interface PlaceholderForms { text: string; base64: string; uuid: string; codes: number[] }
const formsCache = new Map<string, PlaceholderForms>();

/**
 * Every form Debezium's Postgres connector gives an unchanged TOASTed value: the text; its UTF-8 bytes (base64 in
 * JSON) for bytea; `[text]` / `[bytes]` for text and bytea arrays; the bytes as numbers for int/bigint arrays;
 * `[UUID.nameUUIDFromBytes(bytes)]` for uuid arrays; `{text: text}` for hstore.
 */
function placeholderForms(text: string): PlaceholderForms {
  let forms = formsCache.get(text);
  if (!forms) {
    const bytes = Buffer.from(text, 'utf8');
    const md5 = createHash('md5').update(bytes).digest();
    md5[6] = (md5[6]! & 0x0f) | 0x30;
    md5[8] = (md5[8]! & 0x3f) | 0x80;
    const hex = md5.toString('hex');
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    forms = { text, base64: bytes.toString('base64'), uuid, codes: [...bytes] };
    formsCache.set(text, forms);
  }
  return forms;
}

function isPlaceholder(value: unknown, p: PlaceholderForms): boolean {
  if (typeof value === 'string') return value === p.text || value === p.base64;
  if (Array.isArray(value)) {
    if (value.length === 1) return value[0] === p.text || value[0] === p.base64 || value[0] === p.uuid;
    return value.length === p.codes.length && value.every((v, i) => Number(v) === p.codes[i]);
  }
  return isObject(value) && Object.keys(value).length === 1 && value[p.text] === p.text;
}

/** A copy of `row` with placeholder values set to null, and the names of those columns. */
function dropPlaceholders(row: Record<string, unknown>, p: PlaceholderForms): { row: Record<string, unknown>; columns: string[] } {
  const columns = Object.keys(row).filter((name) => isPlaceholder(row[name], p));
  if (columns.length === 0) return { row, columns };
  const copy = { ...row };
  for (const name of columns) copy[name] = null;
  return { row: copy, columns };
}

// ---- messages ----

function parseRow(raw: unknown, schema: ConnectSchema | undefined, p: PlaceholderForms, where: string): { row: Row | null; unavailable: string[] } {
  if (raw === null || raw === undefined) return { row: null, unavailable: [] };
  if (!isObject(raw)) return fail(where, `expected a row (JSON object) or null, found ${describeJson(raw)}`);
  const { row, columns } = dropPlaceholders(raw, p);
  return { row: schema ? connectStruct(row, schema, where) : row, unavailable: columns };
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : String(v));

function parseSource(raw: unknown, where: string): SourceInfo {
  if (!isObject(raw)) return fail(where, `expected a "source" block (JSON object), found ${describeJson(raw)}`);
  const required = (name: string): string => {
    const v = raw[name];
    return typeof v === 'string' ? v : fail(`${where}.${name}`, `expected a string, found ${describeJson(v)}`);
  };
  const long = (name: string): bigint | null => (raw[name] === null || raw[name] === undefined ? null : toBigInt(raw[name], `${where}.${name}`, 'an int64'));
  const tsMs = long('ts_ms');
  return {
    version: required('version'),
    connector: required('connector'),
    name: required('name'),
    ts_ms: tsMs ?? fail(`${where}.ts_ms`, 'expected milliseconds since the epoch, found nothing'),
    snapshot: str(raw.snapshot),
    db: required('db'),
    sequence: str(raw.sequence),
    schema: str(raw.schema),
    table: str(raw.table),
    txId: long('txId'),
    lsn: long('lsn'),
    xmin: long('xmin'),
    file: str(raw.file),
    file_sha256: str(raw.file_sha256),
    line: long('line'),
  };
}

/**
 * Parses one Kafka message written by Debezium through the JsonConverter. A null (or empty) value is a tombstone:
 * `event` is null. `where` (e.g. "topic t partition 0 offset 12") starts every error message.
 */
export function parseDebeziumJson(key: Buffer | string | null, value: Buffer | string | null, where: string, options: DebeziumParseOptions = {}): DebeziumMessage {
  const p = placeholderForms(options.unavailablePlaceholder ?? DEBEZIUM_UNAVAILABLE_PLACEHOLDER);
  let parsedKey: Record<string, unknown> | null = null;
  let keySchema: ConnectSchema | null = null;
  if (key !== null && key.length > 0) {
    const { schema, payload } = unwrap(parseJson(key, 'the key', where));
    keySchema = schema;
    if (payload !== null) {
      if (!isObject(payload)) fail(where, `expected the key to be a JSON object of key columns, found ${describeJson(payload)}`);
      parsedKey = schema ? connectStruct(payload, schema, `${where}, key`) : payload;
    }
  }
  if (value === null || value.length === 0) return { key: parsedKey, event: null, keySchema, valueSchema: null };

  const { schema: valueSchema, payload } = unwrap(parseJson(value, 'the value', where));
  if (valueSchema && !fieldOf(valueSchema, 'op')) {
    fail(where, `expected a Debezium envelope schema (fields before, after, source, op), found ${valueSchema.name ?? valueSchema.type} with fields ${(valueSchema.fields ?? []).map((f) => f.field).join(', ')} (flattened records, e.g. ExtractNewRecordState, are not accepted)`);
  }
  if (!isObject(payload)) return fail(where, `expected a change envelope (JSON object with op, before, after, source), found ${describeJson(payload)}`);
  const op = payload.op;
  if (typeof op !== 'string') return fail(where, `expected "op" (one of ${CHANGE_OPS.join(', ')}), found ${describeJson(op)}`);
  if (!(CHANGE_OPS as readonly string[]).includes(op)) {
    fail(where, `expected "op" to be one of ${CHANGE_OPS.join(', ')}, found ${JSON.stringify(op)}${op === 'm' ? ' (logical decoding messages are not change events)' : ''}`);
  }
  const before = parseRow(payload.before, fieldOf(valueSchema, 'before'), p, `${where}, before`);
  const after = parseRow(payload.after, fieldOf(valueSchema, 'after'), p, `${where}, after`);
  let beforeRow = before.row;
  // REPLICA IDENTITY NOTHING: a delete without a before image still names its row through the key.
  if (op === 'd' && beforeRow === null && parsedKey !== null) beforeRow = { ...parsedKey };
  const tsMs = payload.ts_ms;
  const event: ChangeEvent = {
    before: beforeRow,
    after: after.row,
    source: parseSource(payload.source, `${where}, source`),
    op: op as ChangeOp,
    ts_ms: tsMs === null || tsMs === undefined ? null : toBigInt(tsMs, `${where}, ts_ms`, 'milliseconds'),
    unavailable_columns: after.unavailable.length > 0 ? after.unavailable : null,
  };
  validateChangeEvent(event, where);
  return { key: parsedKey, event, keySchema, valueSchema };
}

// ---- Iceberg schema from a Connect schema ----

export interface ConnectSchemaToIcebergOptions {
  /** The topic's key schema: its fields become the identifier fields (unless `identifierFields` is given). */
  keySchema?: ConnectSchema | null;
  identifierFields?: string[];
  schemaId?: number;
  nextId?: number;
}

/**
 * The Iceberg schema of a Debezium topic's rows, from its value schema (the envelope: its `after`/`before` struct; or
 * the row struct itself). See debezium-connect.ts connectTypeToIceberg for the type mapping.
 */
export function connectSchemaToIceberg(valueSchema: ConnectSchema, options: ConnectSchemaToIcebergOptions = {}, where = 'value schema'): { fields: FieldSpec[]; schema: Schema; lastColumnId: number } {
  const row = fieldOf(valueSchema, 'op') ? (fieldOf(valueSchema, 'after') ?? fieldOf(valueSchema, 'before')) : valueSchema;
  if (!row || row.type !== 'struct') return fail(where, `expected an envelope with an "after" struct or a row struct, found ${describeJson(valueSchema.name ?? valueSchema.type)}`);
  const fields = connectFieldsToIceberg(row, where);
  const identifierFields = options.identifierFields ?? (options.keySchema?.fields ?? []).map((f) => f.field ?? '');
  try {
    return { fields, ...buildSchema(fields, { identifierFields, schemaId: options.schemaId, nextId: options.nextId }) };
  } catch (error) {
    if (error instanceof DataInvalidError || !(error instanceof DuckHouseError)) throw error;
    return fail(where, `cannot build an Iceberg schema with identifier fields ${identifierFields.join(', ')}: ${error.message}`);
  }
}

// ---- schemaless rows → a known Iceberg schema ----

export interface CoerceRowOptions {
  /**
   * How a digits-only string in a decimal column is read: `base64` (the JsonConverter's default decimal.format) or
   * `text` (decimal.handling.mode=string). Strings with a point or a minus sign are always decimal text.
   */
  decimalStrings?: 'base64' | 'text';
  /** Columns in the row that the schema lacks: `error` (default) or `ignore`. */
  unknownColumns?: 'error' | 'ignore';
}

/**
 * Converts a schemaless Debezium row (values as JSON gave them) to the in-memory form of `schema`. Missing columns
 * become null; nullability is the writer's check, not this one's.
 */
export function coerceRow(row: Record<string, unknown>, schema: Schema, where: string, options: CoerceRowOptions = {}): Row {
  return coerceStruct(row, schema.fields, where, options);
}

function coerceStruct(row: unknown, fields: Schema['fields'], where: string, options: CoerceRowOptions): Row {
  if (!isObject(row)) return fail(where, `expected a row (JSON object), found ${describeJson(row)}`);
  if (options.unknownColumns !== 'ignore') {
    const known = new Set(fields.map((f) => f.name));
    const unknown = Object.keys(row).filter((name) => !known.has(name));
    if (unknown.length > 0) fail(where, `columns ${unknown.join(', ')} are not in the table schema (columns: ${[...known].join(', ')})`);
  }
  const out: Row = {};
  for (const field of fields) out[field.name] = coerceValue(row[field.name], field.type, `${where}.${field.name}`, options);
  return out;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
const NOT_BASE64_DECIMAL = /^[+-]?\d*\.\d*$|^-\d+$|^[+-]?\d+(\.\d*)?[eE][+-]?\d+$/;

function coerceDecimal(value: unknown, precision: number, scale: number, where: string, options: CoerceRowOptions): bigint {
  let unscaled: bigint;
  if (typeof value === 'bigint') unscaled = rescale(value, 0, scale, where);
  else if (typeof value === 'number') unscaled = unscaledFromDecimalText(String(value), scale, where);
  else if (typeof value === 'string') {
    unscaled = options.decimalStrings === 'text' || NOT_BASE64_DECIMAL.test(value)
      ? unscaledFromDecimalText(value, scale, where)
      : bigintFromTwosComplement(decodeBase64(value, where)); // Connect's Decimal bytes are at the column's scale
  } else if (isObject(value)) {
    const [raw, rawScale] = variableScaleDecimal(value, where);
    unscaled = rescale(raw, rawScale, scale, where);
  } else return fail(where, `expected a decimal (base64, decimal text, a number or {scale, value}), found ${describeJson(value)}`);
  if (decimalDigits(unscaled) > precision) fail(where, `decimal ${decimalText(unscaled, scale)} does not fit decimal(${precision}, ${scale})`);
  return unscaled;
}

function coerceValue(value: unknown, type: IcebergType, where: string, options: CoerceRowOptions): unknown {
  if (value === null || value === undefined) return null;
  const wrong = (expected: string): never => fail(where, `expected ${expected} for ${typeToString(type)}, found ${describeJson(value)}`);
  switch (type.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong('true or false');
    case 'int': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? n : wrong('an int32');
    }
    case 'long': {
      const n = toBigInt(value, where, 'a long');
      return n >= LONG_MIN && n <= LONG_MAX ? n : wrong('a 64-bit integer');
    }
    case 'float':
    case 'double':
      return toFloat(value, where);
    case 'decimal':
      return coerceDecimal(value, type.precision, type.scale, where, options);
    case 'date':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      return typeof value === 'string' ? daysFromDateText(value, where) : wrong('days since 1970-01-01 or YYYY-MM-DD');
    case 'time':
      return typeof value === 'string' ? timeOfDayFromText(value, where) : toBigInt(value, where, 'microseconds since midnight');
    case 'timestamp':
    case 'timestamptz':
      return typeof value === 'string' ? epochFromIsoText(value, where) : toBigInt(value, where, 'microseconds since the epoch');
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return typeof value === 'string' ? epochFromIsoText(value, where, 'ns') : toBigInt(value, where, 'nanoseconds since the epoch');
    case 'string':
      if (typeof value === 'string') return value;
      if (isObject(value)) {
        const [unscaled, scale] = variableScaleDecimal(value, where);
        return decimalText(unscaled, scale);
      }
      return wrong('a string');
    case 'uuid':
      return typeof value === 'string' && UUID_TEXT.test(value) ? value.toLowerCase() : wrong('a UUID string');
    case 'binary':
      return decodeBase64(value, where);
    case 'fixed': {
      const bytes = decodeBase64(value, where);
      return bytes.length === type.length ? bytes : wrong(`base64 of exactly ${type.length} bytes`);
    }
    case 'list':
      if (!Array.isArray(value)) return wrong('a JSON array');
      return value.map((item, i) => coerceValue(item, type.element, `${where}[${i}]`, options));
    case 'map': {
      const entries: unknown[] = Array.isArray(value) ? value : isObject(value) ? Object.entries(value) : wrong('a JSON object or an array of [key, value] pairs');
      return new Map(entries.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 2) return wrong('[key, value] pairs');
        return [coerceValue(entry[0], type.key, `${where}.key[${i}]`, options), coerceValue(entry[1], type.value, `${where}[${String(entry[0])}]`, options)];
      }));
    }
    case 'struct':
      return coerceStruct(value, type.fields, where, options);
  }
}
