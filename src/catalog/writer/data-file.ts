// Builds the manifest's DataFile for a written Parquet file from its column statistics: counts per field id, and
// lower/upper bounds in the single-value encoding, truncated as the table's metrics mode says (Iceberg's default
// `truncate(16)` for strings and binary; `full` for the file_path of position deletes, so planning can prune).
// Must never: write a bound that is not a bound (a truncated upper bound is rounded up, or left out).
import { DuckHouseError } from '../../shared/errors.js';
import type { PrimitiveValue } from '../spec/conversions.js';
import { toBytes, truncateLowerBound, truncateUpperBound } from '../spec/conversions.js';
import type { DataFile, DataFileContent } from '../spec/manifest.js';
import type { PartitionValues } from '../spec/partition-spec.js';
import type { Schema } from '../spec/schema.js';
import { indexById } from '../spec/schema.js';
import type { PrimitiveType } from '../spec/types.js';
import { isPrimitive } from '../spec/types.js';
import type { ColumnStats } from './parquet-stats.js';

/** `none`, `counts`, `truncate(N)` or `full` (Iceberg's `write.metadata.metrics.*` values). */
export type MetricsMode = { kind: 'none' } | { kind: 'counts' } | { kind: 'truncate'; length: number } | { kind: 'full' };

export const DEFAULT_METRICS_MODE: MetricsMode = { kind: 'truncate', length: 16 };

export function parseMetricsMode(text: string): MetricsMode {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'none' || trimmed === 'counts' || trimmed === 'full') return { kind: trimmed };
  const match = /^truncate\((\d+)\)$/.exec(trimmed);
  if (match && Number(match[1]) > 0) return { kind: 'truncate', length: Number(match[1]) };
  throw new DuckHouseError('config', `metrics mode "${text}" is not valid: expected none, counts, truncate(N) or full`);
}

/** The metrics mode per column from table properties (`write.metadata.metrics.default`, `…metrics.column.<name>`). */
export function metricsModes(schema: Schema, properties: Readonly<Record<string, string>>): (fieldId: number) => MetricsMode {
  const fallback = properties['write.metadata.metrics.default'] ? parseMetricsMode(properties['write.metadata.metrics.default']) : DEFAULT_METRICS_MODE;
  const index = indexById(schema);
  return (fieldId) => {
    const path = index.get(fieldId)?.path;
    const own = path === undefined ? undefined : properties[`write.metadata.metrics.column.${path}`];
    return own ? parseMetricsMode(own) : fallback;
  };
}

function encodeBounds(type: PrimitiveType, mode: MetricsMode, stats: ColumnStats): { lower?: Uint8Array; upper?: Uint8Array } {
  if (mode.kind === 'none' || mode.kind === 'counts' || stats.min === undefined || stats.max === undefined) return {};
  let min = stats.min as PrimitiveValue;
  let max: PrimitiveValue | undefined = stats.max as PrimitiveValue;
  if (mode.kind === 'truncate') {
    min = truncateLowerBound(type, min, mode.length);
    max = truncateUpperBound(type, max, mode.length);
  }
  return { lower: toBytes(type, min), ...(max === undefined ? {} : { upper: toBytes(type, max) }) };
}

export interface DataFileFromStatsOptions {
  content: DataFileContent;
  path: string;
  specId: number;
  partition: PartitionValues;
  recordCount: bigint;
  fileSizeInBytes: bigint;
  columns: ReadonlyMap<number, ColumnStats>;
  schema: Schema;
  metrics: (fieldId: number) => MetricsMode;
  sortOrderId?: number;
}

export function dataFileFromStats(options: DataFileFromStatsOptions): DataFile {
  const index = indexById(options.schema);
  const columnSizes = new Map<number, bigint>();
  const valueCounts = new Map<number, bigint>();
  const nullCounts = new Map<number, bigint>();
  const lower = new Map<number, Uint8Array>();
  const upper = new Map<number, Uint8Array>();
  for (const [fieldId, stats] of options.columns) {
    const mode = options.metrics(fieldId);
    if (mode.kind === 'none') continue;
    if (stats.columnSize !== undefined) columnSizes.set(fieldId, stats.columnSize);
    valueCounts.set(fieldId, stats.valueCount);
    nullCounts.set(fieldId, stats.nullCount);
    const field = index.get(fieldId);
    // Bounds only for top-level or struct-nested primitives: inside lists and maps, bounds mean little to planners.
    const nestedInCollection = field?.path.includes('.element') || field?.path.includes('.key') || field?.path.includes('.value');
    if (!field || !isPrimitive(field.field.type) || nestedInCollection) continue;
    const bounds = encodeBounds(field.field.type, mode, stats);
    if (bounds.lower) lower.set(fieldId, bounds.lower);
    if (bounds.upper) upper.set(fieldId, bounds.upper);
  }
  return {
    content: options.content,
    filePath: options.path,
    fileFormat: 'PARQUET',
    specId: options.specId,
    partition: options.partition,
    recordCount: options.recordCount,
    fileSizeInBytes: options.fileSizeInBytes,
    columnSizes,
    valueCounts,
    nullValueCounts: nullCounts,
    lowerBounds: lower,
    upperBounds: upper,
    ...(options.sortOrderId === undefined ? {} : { sortOrderId: options.sortOrderId }),
  };
}
