// The exact Iceberg → DuckDB type mapping the Parquet writer relies on, the COPY `FIELD_IDS` clause built from an
// Iceberg schema, and the leaf columns (with the key DuckDB's RETURN_STATS uses for each). PURE: no IO, no DuckDB.
// Must never guess: a type DuckDB cannot write with the Parquet logical type Iceberg requires is refused here.
import { SchemaIncompatibleError } from '../../shared/errors.js';
import { quoteIdent, quoteLiteral } from '../../shared/duckdb.js';
import type { Schema } from '../spec/schema.js';
import type { IcebergType, NestedField, PrimitiveType } from '../spec/types.js';

/**
 * The DuckDB SQL type a column of this Iceberg type is written as. Each choice keeps the Parquet type Iceberg reads:
 * timestamp → TIMESTAMP (INT64, MICROS, isAdjustedToUTC=false), timestamptz → TIMESTAMPTZ (MICROS, UTC=true),
 * timestamp_ns → TIMESTAMP_NS (NANOS), time → TIME (TIME_MICROS), date → DATE, decimal(p,s) → DECIMAL(p,s)
 * (INT32/INT64/FIXED by precision, as the spec allows), uuid → UUID (FIXED[16] + UUID logical type),
 * binary → BLOB, list → T[], map → MAP(K, V), struct → STRUCT(...). timestamptz_ns and fixed[L] are refused.
 */
export function duckdbSqlType(type: IcebergType, where = 'column'): string {
  switch (type.kind) {
    case 'boolean': return 'BOOLEAN';
    case 'int': return 'INTEGER';
    case 'long': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'decimal':
      if (type.precision < 1 || type.precision > 38 || type.scale < 0 || type.scale > type.precision) {
        throw new SchemaIncompatibleError(`${where}: decimal(${type.precision}, ${type.scale}) is out of range (precision 1..38, 0 <= scale <= precision)`);
      }
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'timestamp_ns': return 'TIMESTAMP_NS';
    case 'timestamptz_ns':
      // DuckDB has no nanosecond timestamp WITH time zone: TIMESTAMP_NS would write isAdjustedToUTC=false.
      throw new SchemaIncompatibleError(`${where}: Iceberg timestamptz_ns cannot be written through DuckDB (it has no TIMESTAMPTZ_NS type; TIMESTAMP_NS would lose the UTC flag)`);
    case 'string': return 'VARCHAR';
    case 'uuid': return 'UUID';
    case 'fixed':
      // DuckDB writes BLOB as BYTE_ARRAY; Iceberg readers want FIXED_LEN_BYTE_ARRAY[L] (PyIceberg 0.11: "Cannot promote
      // an binary to fixed[L]"). Refused rather than written unreadable. See ADR 0003.
      throw new SchemaIncompatibleError(`${where}: Iceberg fixed[${type.length}] cannot be written through DuckDB (it writes BYTE_ARRAY, readers require FIXED_LEN_BYTE_ARRAY); use binary`);
    case 'binary': return 'BLOB';
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${duckdbSqlType(f.type, `${where}.${f.name}`)}`).join(', ')})`;
    case 'list':
      return `${duckdbSqlType(type.element, `${where}.element`)}[]`;
    case 'map':
      return `MAP(${duckdbSqlType(type.key, `${where}.key`)}, ${duckdbSqlType(type.value, `${where}.value`)})`;
  }
}

/** `{'id': 1, 'tags': {'__duckdb_field_id': 2, 'element': 3}, …}`: the COPY option that writes Iceberg field ids. */
export function fieldIdsClause(fields: readonly NestedField[]): string {
  return `{${fields.map((f) => `${quoteLiteral(f.name)}: ${fieldIdValue(f.id, f.type)}`).join(', ')}}`;
}

function fieldIdValue(id: number, type: IcebergType): string {
  const nested = (entries: [string, string][]): string =>
    `{'__duckdb_field_id': ${id}, ${entries.map(([name, value]) => `${quoteLiteral(name)}: ${value}`).join(', ')}}`;
  switch (type.kind) {
    case 'struct':
      return nested(type.fields.map((f) => [f.name, fieldIdValue(f.id, f.type)]));
    case 'list':
      return nested([['element', fieldIdValue(type.elementId, type.element)]]);
    case 'map':
      return nested([['key', fieldIdValue(type.keyId, type.key)], ['value', fieldIdValue(type.valueId, type.value)]]);
    default:
      return String(id);
  }
}

/** A primitive column of the Parquet file: its Iceberg field id and type, and the key RETURN_STATS gives it. */
export interface LeafColumn {
  readonly fieldId: number;
  readonly type: PrimitiveType;
  /** Dotted Iceberg name (`tags.element`, `attrs.key`). */
  readonly path: string;
  /** DuckDB's key in COPY … RETURN_STATS column_statistics: `"tags"."element"`. */
  readonly statsKey: string;
  /** Inside a list or map: Parquet counts values per element, not per row. */
  readonly repeated: boolean;
}

/** The leaf columns in Parquet column order (depth first; list → element; map → key, value). */
export function leafColumns(fields: readonly NestedField[]): LeafColumn[] {
  const leaves: LeafColumn[] = [];
  const visit = (id: number, type: IcebergType, names: string[], repeated: boolean): void => {
    switch (type.kind) {
      case 'struct':
        for (const f of type.fields) visit(f.id, f.type, [...names, f.name], repeated);
        return;
      case 'list':
        visit(type.elementId, type.element, [...names, 'element'], true);
        return;
      case 'map':
        visit(type.keyId, type.key, [...names, 'key'], true);
        visit(type.valueId, type.value, [...names, 'value'], true);
        return;
      default:
        leaves.push({ fieldId: id, type, path: names.join('.'), statsKey: names.map(quoteIdent).join('.'), repeated });
    }
  };
  for (const f of fields) visit(f.id, f.type, [f.name], false);
  return leaves;
}

/**
 * Refuses schemas DuckDB cannot write as they are: a type without an exact DuckDB mapping, or struct fields whose names
 * are equal ignoring case (DuckDB identifiers are case-insensitive, so one would shadow the other).
 */
export function checkWritableSchema(schema: Schema): void {
  const visit = (type: IcebergType, where: string): void => {
    if (type.kind === 'list') return visit(type.element, `${where}.element`);
    if (type.kind === 'map') {
      visit(type.key, `${where}.key`);
      return visit(type.value, `${where}.value`);
    }
    if (type.kind !== 'struct') {
      duckdbSqlType(type, where);
      return;
    }
    const seen = new Map<string, string>();
    for (const f of type.fields) {
      const other = seen.get(f.name.toLowerCase());
      if (other !== undefined) {
        throw new SchemaIncompatibleError(`${where}: fields "${other}" and "${f.name}" differ only in case; DuckDB cannot write both`);
      }
      seen.set(f.name.toLowerCase(), f.name);
      visit(f.type, where ? `${where}.${f.name}` : f.name);
    }
  };
  visit({ kind: 'struct', fields: schema.fields }, '');
}
