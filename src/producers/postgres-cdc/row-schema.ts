// One table's row shape (its columns as Postgres describes them, and its primary key) → the Avro `Value` and `Key`
// records DuckHouse registers (field ids stable across versions, the key's ids equal to the same columns' ids in the
// value), and the conversion of a tuple of Postgres text values into those records.
// PURE: no IO. Must never: give a key column a different field id than the same column in the value; turn a value that
// was not sent (unchanged TOAST, a key-only old tuple) into a silent real value without listing it as missing.
import { DataInvalidError, SchemaIncompatibleError } from '../../shared/errors.js';
import type { AvroFieldSchema, AvroRecordSchema, Row } from '../../schemas/envelope.js';
import { highestAvroFieldId, LAST_FIELD_ID_ATTRIBUTE } from '../../schemas/field-ids.js';
import { ICEBERG_FIELD_NAME, sanitizeAvroName } from '../../schemas/avro-iceberg.js';
import { type PgValueCodec, valueCodec } from './pg-types.js';

/** A column as pgoutput's Relation message (name, type, typmod) and pg_attribute (NOT NULL) describe it. */
export interface PgColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  notNull: boolean;
}

export interface TableShape {
  columns: PgColumn[];
  /** Primary-key column names in key order. */
  primaryKey: string[];
}

export interface RowColumn {
  pgName: string;
  avroName: string;
  codec: PgValueCodec;
  nullable: boolean;
  typeOid: number;
  typeMod: number;
}

/** A tuple as pgoutput sends it: column → text, null (SQL NULL) or undefined (value not sent). */
export type PgTuple = Record<string, string | null | undefined>;

/** The result of converting a tuple: the row, and the columns whose value was not sent (placeholders in `row`). */
export interface ConvertedRow {
  row: Row;
  missing: string[];
}

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The columns of a shape with their codecs; a key column is never nullable. */
export class RowCodec {
  readonly columns: RowColumn[];
  readonly keyColumns: RowColumn[];
  /** Equal for two shapes exactly when they give the same Avro schemas. */
  readonly shapeKey: string;

  constructor(
    readonly shape: TableShape,
    readonly where: string,
  ) {
    if (shape.primaryKey.length === 0) throw new SchemaIncompatibleError(`${where}: expected a primary key, found none`);
    const names = new Map<string, string>();
    this.columns = shape.columns.map((column) => {
      const avroName = AVRO_NAME.test(column.name) ? column.name : sanitizeAvroName(column.name);
      const clash = names.get(avroName);
      if (clash !== undefined) throw new SchemaIncompatibleError(`${where}: columns "${clash}" and "${column.name}" both become the Avro field name "${avroName}"; rename one`);
      names.set(avroName, column.name);
      const isKey = shape.primaryKey.includes(column.name);
      return { pgName: column.name, avroName, codec: valueCodec(column.typeOid, column.typeMod), nullable: !column.notNull && !isKey, typeOid: column.typeOid, typeMod: column.typeMod };
    });
    this.keyColumns = shape.primaryKey.map((name) => {
      const column = this.columns.find((c) => c.pgName === name);
      if (!column) throw new SchemaIncompatibleError(`${where}: primary-key column "${name}" is not among the columns (${this.columns.map((c) => c.pgName).join(', ')})`);
      return column;
    });
    this.shapeKey = JSON.stringify([this.columns.map((c) => [c.pgName, c.typeOid, c.typeMod, c.nullable]), shape.primaryKey]);
  }

  /** The `Value` record without field ids (annotate it with schemasFor). */
  valueRecord(namespace: string): AvroRecordSchema {
    return {
      type: 'record',
      name: 'Value',
      namespace,
      fields: this.columns.map((c): AvroFieldSchema => {
        const renamed = c.avroName === c.pgName ? {} : { [ICEBERG_FIELD_NAME]: c.pgName };
        return c.nullable ? { name: c.avroName, type: ['null', c.codec.avro], default: null, ...renamed } : { name: c.avroName, type: c.codec.avro, ...renamed };
      }),
    };
  }

  /**
   * The key record of an annotated value row: the key columns' fields with the value's ids. It carries only its own
   * columns' ids, so it stays the same schema (same registry id, same key bytes, same partition) when value columns
   * come and go.
   */
  keyRecord(value: AvroRecordSchema): AvroRecordSchema {
    const fields = this.keyColumns.map((c) => {
      const field = value.fields.find((f) => f.name === c.avroName);
      if (!field) throw new SchemaIncompatibleError(`${this.where}: key column ${c.pgName} missing from the value schema`);
      const { default: _default, ...rest } = field;
      return rest;
    });
    const key: AvroRecordSchema = { type: 'record', name: 'Key', ...(value.namespace ? { namespace: value.namespace } : {}), fields };
    return { ...key, [LAST_FIELD_ID_ATTRIBUTE]: highestAvroFieldId(key) };
  }

  /**
   * Converts a full tuple. A value not sent (undefined) becomes null, or the type's zero for a NOT NULL column, and is
   * listed in `missing`. Throws DataInvalidError with context {column, raw} when a value cannot be converted.
   */
  row(tuple: PgTuple): ConvertedRow {
    const row: Row = {};
    const missing: string[] = [];
    for (const column of this.columns) {
      const raw = tuple[column.pgName];
      if (raw === undefined) {
        row[column.avroName] = column.nullable ? null : column.codec.zero;
        missing.push(column.avroName);
      } else {
        row[column.avroName] = this.value(column, raw);
      }
    }
    return { row, missing };
  }

  /** The key record of a tuple (full or key-only); every key column must be present and not null. */
  key(tuple: PgTuple): Row {
    const key: Row = {};
    for (const column of this.keyColumns) {
      const raw = tuple[column.pgName];
      if (raw === undefined || raw === null) {
        throw new DataInvalidError(`${this.where}: expected a value for primary-key column ${column.pgName}, found ${raw === null ? 'NULL' : 'none sent'}`, { context: { column: column.pgName, raw: null } });
      }
      key[column.avroName] = this.value(column, raw);
    }
    return key;
  }

  /** True when the key columns of the two tuples have different texts (a primary-key change). */
  keyChanged(before: PgTuple, after: PgTuple): boolean {
    return this.keyColumns.some((c) => before[c.pgName] !== undefined && after[c.pgName] !== undefined && before[c.pgName] !== after[c.pgName]);
  }

  private value(column: RowColumn, raw: string | null): unknown {
    if (raw === null) {
      if (column.nullable) return null;
      throw new DataInvalidError(`${this.where}: column ${column.pgName} is NOT NULL in the published schema, found NULL`, { context: { column: column.pgName, raw: null } });
    }
    try {
      return column.codec.parse(raw);
    } catch (error) {
      if (!(error instanceof DataInvalidError)) throw error;
      throw new DataInvalidError(`${this.where}: column ${column.pgName} (${column.codec.describe}): ${error.message}`, { cause: error, context: { column: column.pgName, raw } });
    }
  }
}

const ID_ATTRIBUTES = new Set(['field-id', 'element-id', 'key-id', 'value-id', LAST_FIELD_ID_ATTRIBUTE]);

/** JSON of a schema node without field ids, with sorted keys: equal for two rows of the same shape. */
function canonical(node: unknown): string {
  if (Array.isArray(node)) return `[${node.map(canonical).join(',')}]`;
  if (typeof node !== 'object' || node === null) return JSON.stringify(node);
  const entries = Object.entries(node as Record<string, unknown>)
    .filter(([k]) => !ID_ATTRIBUTES.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** True when two row records have the same fields (names, types, order), whatever their field ids. */
export function sameRowShape(a: AvroRecordSchema, b: AvroRecordSchema): boolean {
  return canonical(a.fields) === canonical(b.fields);
}
