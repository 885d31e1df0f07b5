// Primary-key text: the one canonical string per row key that the sink's PK index stores, computed the same way in
// JS from a row in Iceberg's in-memory value form (rowKeyOf) and in DuckDB SQL over a Parquet data file
// (duckdbKeyExpression), so an index rebuilt from the table matches keys decoded from Kafka byte for byte.
// One key field → its canonical text; several → JSON.stringify of the list of texts. Canonical text: integers,
// dates, times, timestamps (µs; ns for *_ns) and unscaled decimals → decimal digits; boolean → true/false; string as
// is; uuid lowercased; binary/fixed → lowercase hex; float/double → String(number).
// PURE: no IO. Must never: accept a null key part (DataInvalidError naming the column), or let two equal values (a
// long given as number or as bigint) yield different texts.
import type { Schema } from '../catalog/spec/schema.js';
import { uuidFromBytes } from '../catalog/spec/transforms.js';
import type { PrimitiveType } from '../catalog/spec/types.js';
import { isPrimitive, typeToString } from '../catalog/spec/types.js';
import { DataInvalidError } from '../shared/errors.js';

export interface KeyField {
  readonly name: string;
  readonly type: PrimitiveType;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'object' && value !== null) return `a ${value.constructor.name}`;
  return String(value);
}

function wrong(field: KeyField, expected: string, value: unknown): never {
  throw new DataInvalidError(`key column "${field.name}" (${typeToString(field.type)}): expected ${expected}, found ${describe(value)}`, {
    context: { column: field.name },
  });
}

/** Integral number or bigint → its decimal digits (a number beyond 2^53 is taken at its exact double value). */
function integerText(field: KeyField, value: unknown, expected: string): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  return wrong(field, expected, value);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The canonical text of one key part (throws DataInvalidError for null or a value of the wrong form). */
export function keyPartText(field: KeyField, value: unknown): string {
  if (value === null || value === undefined) {
    throw new DataInvalidError(`key column "${field.name}" is null`, { context: { column: field.name } });
  }
  switch (field.type.kind) {
    case 'int': case 'long': case 'date':
      return integerText(field, value, 'an integer (number or bigint)');
    case 'time': case 'timestamp': case 'timestamptz': case 'timestamp_ns': case 'timestamptz_ns':
      return integerText(field, value, `an integer count of ${field.type.kind.endsWith('_ns') ? 'nanoseconds' : 'microseconds'} (bigint)`);
    case 'decimal':
      // An unscaled bigint only: a number would be ambiguous (12 meaning 12.00 or 0.12?).
      return typeof value === 'bigint' ? value.toString() : wrong(field, 'an unscaled bigint', value);
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : wrong(field, 'a boolean', value);
    case 'float': case 'double':
      return typeof value === 'number' ? String(value) : wrong(field, 'a number', value);
    case 'string':
      return typeof value === 'string' ? value : wrong(field, 'a string', value);
    case 'uuid':
      if (typeof value === 'string' && UUID_PATTERN.test(value)) return value.toLowerCase();
      if (value instanceof Uint8Array && value.length === 16) return uuidFromBytes(value);
      return wrong(field, 'a UUID string xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', value);
    case 'binary': case 'fixed':
      return value instanceof Uint8Array ? hex(value) : wrong(field, 'a Uint8Array', value);
  }
}

/** The canonical key string of a row (see the module comment); a missing or null key column throws DataInvalidError. */
export function rowKeyOf(row: Record<string, unknown>, keyFields: readonly KeyField[]): string {
  if (keyFields.length === 1) return keyPartText(keyFields[0]!, row[keyFields[0]!.name]);
  if (keyFields.length === 0) throw new DataInvalidError('rowKeyOf: the table has no key fields (identifier-field-ids is empty)');
  return JSON.stringify(keyFields.map((f) => keyPartText(f, row[f.name])));
}

/** One key part back from its canonical text, in the in-memory value form (rowKeyOf's inverse). */
export function keyPartValue(field: KeyField, text: string): unknown {
  switch (field.type.kind) {
    case 'int': case 'date': case 'float': case 'double':
      return Number(text);
    case 'long': case 'time': case 'timestamp': case 'timestamptz': case 'timestamp_ns': case 'timestamptz_ns': case 'decimal':
      return BigInt(text);
    case 'boolean':
      return text === 'true';
    case 'string': case 'uuid':
      return text;
    case 'binary': case 'fixed':
      return new Uint8Array(Buffer.from(text, 'hex'));
  }
}

/** The key columns of a canonical key string, by the key fields' names (rowKeyOf's inverse). */
export function keyValuesOf(key: string, keyFields: readonly KeyField[]): Record<string, unknown> {
  const parts = keyFields.length === 1 ? [key] : (JSON.parse(key) as string[]);
  return Object.fromEntries(keyFields.map((f, i) => [f.name, keyPartValue(f, parts[i]!)]));
}

/** The key fields of a schema, from its identifier-field-ids, in that order. Only top-level primitive columns. */
export function keyFieldsOf(schema: Schema): KeyField[] {
  return schema.identifierFieldIds.map((id) => {
    const field = schema.fields.find((f) => f.id === id);
    if (!field) {
      throw new DataInvalidError(`schema ${schema.schemaId}: identifier field id ${id} is not a top-level column (nested key fields are not supported)`, { context: { fieldId: id } });
    }
    if (!isPrimitive(field.type)) {
      throw new DataInvalidError(`schema ${schema.schemaId}: identifier field "${field.name}" must be a primitive, found ${field.type.kind}`, { context: { column: field.name } });
    }
    return { name: field.name, type: field.type };
  });
}

// ---- the same text in DuckDB SQL ----

/** JSON.stringify's escapes for the characters it escapes (", \ and U+0000..U+001F; lowercase hex). */
const JSON_ESCAPES: [number, string][] = [
  [0x5c, '\\\\'],
  [0x22, '\\"'],
  ...Array.from({ length: 0x20 }, (_, c): [number, string] => [c, JSON.stringify(String.fromCharCode(c)).slice(1, -1)]),
];

const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** SQL: a VARCHAR escaped exactly as JSON.stringify escapes a string's content (without the quotes). */
function jsonEscapeSql(text: string): string {
  // The backslash goes first so later escapes are not escaped again. chr(0) is the NUL character.
  const chain = JSON_ESCAPES.reduce((sql, [code, escape]) => `replace(${sql}, chr(${code}), ${sqlText(escape)})`, text);
  return `(CASE WHEN regexp_matches(${text}, '[\\x00-\\x1f"\\\\]') THEN ${chain} ELSE ${text} END)`;
}

/**
 * SQL: a DOUBLE as JS's String(number) writes it. DuckDB prints the same shortest round-trip digits, in another
 * layout (`1.0`, `1e-07`, `1.5e+20`); this takes out the digits and the decimal exponent n (value = 0.d1d2… × 10^n)
 * and lays them out as ECMAScript's Number::toString does.
 */
function jsNumberSql(value: string): string {
  const parts = `list_transform([ltrim(CAST(d AS VARCHAR), '-')], lambda a: list_transform([{
      'raw': split_part(split_part(a, 'e', 1), '.', 1) || split_part(split_part(a, 'e', 1), '.', 2),
      'n': length(split_part(split_part(a, 'e', 1), '.', 1)) + (CASE WHEN contains(a, 'e') THEN CAST(split_part(a, 'e', 2) AS INTEGER) ELSE 0 END)
    }], lambda p: {'digits': rtrim(ltrim(p.raw, '0'), '0'), 'n': p.n - (length(p.raw) - length(ltrim(p.raw, '0')))})[1])[1]`;
  const layout = `list_transform([${parts}], lambda q: CASE
      WHEN length(q.digits) <= q.n AND q.n <= 21 THEN q.digits || repeat('0', q.n - length(q.digits))
      WHEN 0 < q.n AND q.n <= 21 THEN substr(q.digits, 1, q.n) || '.' || substr(q.digits, q.n + 1)
      WHEN -6 < q.n AND q.n <= 0 THEN '0.' || repeat('0', -q.n) || q.digits
      ELSE substr(q.digits, 1, 1) || (CASE WHEN length(q.digits) > 1 THEN '.' || substr(q.digits, 2) ELSE '' END)
        || 'e' || (CASE WHEN q.n >= 1 THEN '+' ELSE '-' END) || CAST(abs(q.n - 1) AS VARCHAR)
    END)[1]`;
  return `list_transform([CAST(${value} AS DOUBLE)], lambda d: CASE WHEN isnan(d) THEN 'NaN'
      WHEN isinf(d) THEN (CASE WHEN d > 0 THEN 'Infinity' ELSE '-Infinity' END)
      WHEN d = 0 THEN '0'
      ELSE (CASE WHEN d < 0 THEN '-' ELSE '' END) || ${layout} END)[1]`;
}

/**
 * SQL (VARCHAR) for one key column of a Parquet file as DuckHouse writes it (catalog/writer/duckdb-types.ts), giving
 * keyPartText's text. Also right for files written before an int → long or decimal precision promotion.
 */
export function duckdbKeyPartExpression(field: KeyField, column: string): string {
  switch (field.type.kind) {
    case 'boolean': case 'int': case 'long':
      return `CAST(${column} AS VARCHAR)`;
    case 'decimal':
      // DuckDB prints a DECIMAL(p,s) with exactly s fraction digits: drop the point and the leading zeros. Exact up
      // to precision 38 (HUGEINT holds 38 digits).
      return `CAST(CAST(replace(CAST(${column} AS VARCHAR), '.', '') AS HUGEINT) AS VARCHAR)`;
    case 'date':
      return `CAST((${column} - DATE '1970-01-01') AS VARCHAR)`;
    case 'time': case 'timestamp': case 'timestamptz':
      return `CAST(epoch_us(${column}) AS VARCHAR)`;
    case 'timestamp_ns': case 'timestamptz_ns':
      return `CAST(epoch_ns(${column}) AS VARCHAR)`;
    case 'float': case 'double':
      return jsNumberSql(column);
    case 'string':
      return `CAST(${column} AS VARCHAR)`;
    case 'uuid':
      return `lower(CAST(${column} AS VARCHAR))`;
    case 'binary': case 'fixed':
      return `lower(hex(${column}))`;
  }
}

/**
 * A DuckDB SQL expression (VARCHAR) over a Parquet file's columns that yields rowKeyOf's string for each row; NULL
 * when a key column is NULL. `quoteIdent` turns a key field's name into the SQL for its column (a file written
 * before a rename names the column differently: map the name there).
 */
export function duckdbKeyExpression(keyFields: readonly KeyField[], quoteIdent: (name: string) => string): string {
  if (keyFields.length === 0) throw new DataInvalidError('duckdbKeyExpression: no key fields');
  const parts = keyFields.map((f) => duckdbKeyPartExpression(f, quoteIdent(f.name)));
  if (parts.length === 1) return parts[0]!;
  // Only string parts can hold characters JSON escapes: digits, hex, uuids, true/false and numbers cannot.
  const json = keyFields.map((f, i) => `'"' || ${f.type.kind === 'string' ? jsonEscapeSql(parts[i]!) : parts[i]!} || '"'`);
  return `('[' || ${json.join(` || ',' || `)} || ']')`;
}
