// Partition specs and sort orders (spec "Partitioning", "Sorting"): fields, result types, JSON, and applying a spec
// to a row to get its partition tuple. PURE: no IO.
import { MetadataInvalidError } from '../../shared/errors.js';
import type { Schema } from './schema.js';
import { indexById } from './schema.js';
import type { Transform } from './transforms.js';
import {
  bucket,
  dayFromMicros,
  floorDiv,
  hourFromMicros,
  monthFromDays,
  monthFromMicros,
  parseTransform,
  transformToString,
  truncateBinary,
  truncateInteger,
  truncateString,
  yearFromDays,
  yearFromMicros,
} from './transforms.js';
import type { BucketSourceType } from './transforms.js';
import type { IcebergType, PrimitiveType } from './types.js';
import { isPrimitive, typeToString } from './types.js';

/** Partition field ids start here (spec: "1000 for v1 specs"; kept for all versions, as engines do). */
export const PARTITION_FIELD_ID_START = 1000;

export interface PartitionField {
  readonly sourceId: number;
  readonly fieldId: number;
  readonly name: string;
  readonly transform: Transform;
}

export interface PartitionSpec {
  readonly specId: number;
  readonly fields: readonly PartitionField[];
}

/** One value per spec field, in spec order; null for a null source value. */
export type PartitionValues = readonly unknown[];

export const UNPARTITIONED: PartitionSpec = { specId: 0, fields: [] };

export interface PartitionSpecJson {
  'spec-id': number;
  fields: { 'source-id': number; 'field-id': number; name: string; transform: string }[];
}

export function partitionSpecToJson(spec: PartitionSpec): PartitionSpecJson {
  return {
    'spec-id': spec.specId,
    fields: spec.fields.map((f) => ({ 'source-id': f.sourceId, 'field-id': f.fieldId, name: f.name, transform: transformToString(f.transform) })),
  };
}

export function partitionSpecFromJson(json: unknown, where = 'partition spec'): PartitionSpec {
  const obj = json as Record<string, unknown> | null;
  if (!obj || !Array.isArray(obj.fields)) throw new MetadataInvalidError(`${where}: expected {"spec-id", "fields": […]}`);
  let nextId = PARTITION_FIELD_ID_START;
  return {
    specId: typeof obj['spec-id'] === 'number' ? obj['spec-id'] : 0,
    fields: obj.fields.map((raw: unknown, index) => {
      const f = (raw ?? {}) as Record<string, unknown>;
      const sourceId = f['source-id'];
      if (typeof sourceId !== 'number' || !Number.isInteger(sourceId)) {
        throw new MetadataInvalidError(`${where}.fields[${index}]: source-id must be an integer, found ${JSON.stringify(sourceId)}`);
      }
      // v1 specs may omit field ids: they are assigned in order from 1000.
      const fieldId = typeof f['field-id'] === 'number' ? f['field-id'] : nextId;
      nextId = fieldId + 1;
      return { sourceId, fieldId, name: String(f.name), transform: parseTransform(String(f.transform)) };
    }),
  };
}

/** Whether `transform` can apply to a source of `type` (spec table "Partition Transforms"). */
export function transformApplies(transform: Transform, type: IcebergType): boolean {
  if (!isPrimitive(type)) return transform.kind === 'void';
  const k = type.kind;
  switch (transform.kind) {
    case 'identity':
    case 'void':
      return true;
    case 'bucket':
      return !['boolean', 'float', 'double'].includes(k);
    case 'truncate':
      return ['int', 'long', 'decimal', 'string', 'binary'].includes(k);
    case 'year':
    case 'month':
    case 'day':
      return ['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'].includes(k);
    case 'hour':
      return ['timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'].includes(k);
  }
}

/** The type of a transform's result: bucket → int, year/month/hour → int, day → date, identity/truncate → source. */
export function transformResultType(transform: Transform, source: PrimitiveType): PrimitiveType {
  switch (transform.kind) {
    case 'identity':
    case 'truncate':
    case 'void':
      return source;
    case 'bucket':
    case 'year':
    case 'month':
    case 'hour':
      return { kind: 'int' };
    case 'day':
      return { kind: 'date' };
  }
}

/** Source type of each spec field, checked against the schema. */
export function partitionSourceTypes(spec: PartitionSpec, schema: Schema): PrimitiveType[] {
  const index = indexById(schema);
  return spec.fields.map((f) => {
    const source = index.get(f.sourceId)?.field;
    if (!source) throw new MetadataInvalidError(`partition field "${f.name}": source field id ${f.sourceId} is not in schema ${schema.schemaId}`);
    if (!isPrimitive(source.type) || !transformApplies(f.transform, source.type)) {
      throw new MetadataInvalidError(`partition field "${f.name}": ${transformToString(f.transform)} does not apply to ${typeToString(source.type)} field "${source.name}"`);
    }
    return source.type;
  });
}

/** True when every source column of `spec` is still in `schema` with a type its transform applies to. */
export function specFitsSchema(spec: PartitionSpec, schema: Schema): boolean {
  try {
    partitionSourceTypes(spec, schema);
    return true;
  } catch (error) {
    if (error instanceof MetadataInvalidError) return false;
    throw error;
  }
}

export function partitionType(spec: PartitionSpec, schema: Schema): { name: string; fieldId: number; type: PrimitiveType }[] {
  const sources = partitionSourceTypes(spec, schema);
  return spec.fields.map((f, i) => ({ name: f.name, fieldId: f.fieldId, type: transformResultType(f.transform, sources[i]!) }));
}

/**
 * Applies a transform to a value in Iceberg's in-memory form (int/date/float/double: number; long/time/timestamps:
 * bigint µs (ns for *_ns); decimal: unscaled bigint; string/uuid: string; fixed/binary: Uint8Array).
 */
export function applyTransform(transform: Transform, source: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const k = source.kind;
  const micros = (): bigint => (k === 'timestamp_ns' || k === 'timestamptz_ns' ? floorDiv(value as bigint, 1000n) : (value as bigint));
  switch (transform.kind) {
    case 'identity':
      return value;
    case 'void':
      return null;
    case 'bucket':
      return bucket(k as BucketSourceType, value, transform.n);
    case 'truncate':
      if (k === 'string') return truncateString(value as string, transform.width);
      if (k === 'binary') return truncateBinary(value as Uint8Array, transform.width);
      return truncateInteger(value as number | bigint, transform.width);
    case 'year':
      return k === 'date' ? yearFromDays(value as number) : yearFromMicros(micros());
    case 'month':
      return k === 'date' ? monthFromDays(value as number) : monthFromMicros(micros());
    case 'day':
      return k === 'date' ? value : dayFromMicros(micros());
    case 'hour':
      return hourFromMicros(micros());
  }
}

/** The partition tuple of one row, given a getter from source field id to the row's value. */
export function partitionOf(spec: PartitionSpec, sources: readonly PrimitiveType[], get: (sourceId: number) => unknown): PartitionValues {
  return spec.fields.map((f, i) => applyTransform(f.transform, sources[i]!, get(f.sourceId)));
}

/** A stable string key for a partition tuple (used to fan rows out to one writer per partition). */
/** Whether a spec partitions nothing: no fields, or only `void` ones (Java's isUnpartitioned; equality deletes stored
 * with such a spec are global). */
export function isUnpartitioned(spec: PartitionSpec): boolean {
  return spec.fields.every((f) => f.transform.kind === 'void');
}

export function partitionKey(values: PartitionValues): string {
  return JSON.stringify(values, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/**
 * The Hive-style path segment for a partition: `day=2024-01-02/bucket_id=3` (values are escaped). `types` are the
 * spec fields' source types (as from partitionSourceTypes); result types work too, as only identity and truncate,
 * whose result type is their source type, format by type.
 */
export function partitionPath(spec: PartitionSpec, types: readonly PrimitiveType[], values: PartitionValues): string {
  return spec.fields.map((f, i) => `${encodeURIComponent(f.name)}=${encodeURIComponent(humanValue(f.transform, types[i]!, values[i]))}`).join('/');
}

function humanValue(transform: Transform, type: PrimitiveType, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const dateOf = (days: number): string => new Date(days * 86_400_000).toISOString().slice(0, 10);
  switch (transform.kind) {
    case 'year':
      return String(1970 + (value as number));
    case 'month': {
      const m = value as number;
      const year = 1970 + Math.floor(m / 12);
      return `${year}-${String((((m % 12) + 12) % 12) + 1).padStart(2, '0')}`;
    }
    case 'day':
      return dateOf(value as number);
    case 'hour': {
      // Java's form (TransformUtil.humanHour): yyyy-MM-dd-HH.
      const iso = new Date((value as number) * 3_600_000).toISOString();
      return `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
    }
    case 'bucket':
    case 'void':
      return String(value);
    case 'identity':
    case 'truncate':
      if (type.kind === 'date') return dateOf(value as number);
      if (type.kind === 'decimal') return decimalToString(value as bigint, type.scale);
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      return String(value);
  }
}

/** An unscaled decimal as its plain string with `scale` fraction digits: 1420n, 2 → "14.20"; -5n, 2 → "-0.05". */
function decimalToString(unscaled: bigint, scale: number): string {
  if (scale === 0) return unscaled.toString();
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${unscaled < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

// ---- sort orders ----

export interface SortField {
  readonly sourceId: number;
  readonly transform: Transform;
  readonly direction: 'asc' | 'desc';
  readonly nullOrder: 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  readonly orderId: number;
  readonly fields: readonly SortField[];
}

export const UNSORTED: SortOrder = { orderId: 0, fields: [] };

export interface SortOrderJson {
  'order-id': number;
  fields: { 'source-id': number; transform: string; direction: 'asc' | 'desc'; 'null-order': 'nulls-first' | 'nulls-last' }[];
}

export function sortOrderToJson(order: SortOrder): SortOrderJson {
  return {
    'order-id': order.orderId,
    fields: order.fields.map((f) => ({ 'source-id': f.sourceId, transform: transformToString(f.transform), direction: f.direction, 'null-order': f.nullOrder })),
  };
}

export function sortOrderFromJson(json: unknown, where = 'sort order'): SortOrder {
  const obj = json as Record<string, unknown> | null;
  if (!obj || !Array.isArray(obj.fields)) throw new MetadataInvalidError(`${where}: expected {"order-id", "fields": […]}`);
  return {
    orderId: typeof obj['order-id'] === 'number' ? obj['order-id'] : 0,
    fields: obj.fields.map((raw: unknown) => {
      const f = raw as Record<string, unknown>;
      const direction = f.direction === 'desc' ? 'desc' : 'asc';
      const nullOrder = f['null-order'] === 'nulls-last' ? 'nulls-last' : 'nulls-first';
      return { sourceId: f['source-id'] as number, transform: parseTransform(String(f.transform)), direction, nullOrder };
    }),
  };
}

/** Two specs partition the same way (same fields and transforms), so an update to one of them is a no-op. */
export function sameSpecFields(a: PartitionSpec, b: PartitionSpec): boolean {
  return a.fields.length === b.fields.length
    && a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return f.sourceId === g.sourceId && f.name === g.name && transformToString(f.transform) === transformToString(g.transform);
    });
}
