// Table metadata (spec "Table Metadata"): the model, v2 JSON writing, v1 and v2 JSON reading, and lookups
// (current schema, spec, snapshot, ancestry, time travel). PURE: no IO, no clock.
import { isInteger, isSafeNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import type { PartitionSpec, SortOrder } from './partition-spec.js';
import {
  PARTITION_FIELD_ID_START,
  partitionSpecFromJson,
  partitionSpecToJson,
  sortOrderFromJson,
  sortOrderToJson,
  UNSORTED,
} from './partition-spec.js';
import type { Schema } from './schema.js';
import { highestFieldId, schemaFromJson, schemaToJson } from './schema.js';
import type { Long, Snapshot, SnapshotRef } from './snapshot.js';
import { fromLong, MAIN_BRANCH, refFromJson, refToJson, snapshotFromJson, snapshotToJson, toLong } from './snapshot.js';

export interface SnapshotLogEntry {
  readonly timestampMs: number;
  readonly snapshotId: bigint;
}

export interface MetadataLogEntry {
  readonly timestampMs: number;
  readonly metadataFile: string;
}

export interface TableMetadata {
  readonly formatVersion: 1 | 2;
  readonly tableUuid: string;
  readonly location: string;
  readonly lastSequenceNumber: bigint;
  readonly lastUpdatedMs: number;
  readonly lastColumnId: number;
  readonly schemas: readonly Schema[];
  readonly currentSchemaId: number;
  readonly partitionSpecs: readonly PartitionSpec[];
  readonly defaultSpecId: number;
  readonly lastPartitionId: number;
  readonly properties: Readonly<Record<string, string>>;
  readonly currentSnapshotId: bigint | undefined;
  readonly snapshots: readonly Snapshot[];
  readonly snapshotLog: readonly SnapshotLogEntry[];
  readonly metadataLog: readonly MetadataLogEntry[];
  readonly sortOrders: readonly SortOrder[];
  readonly defaultSortOrderId: number;
  readonly refs: ReadonlyMap<string, SnapshotRef>;
  /** Statistics and partition-statistics entries, carried through unchanged. */
  readonly statistics: readonly unknown[];
  readonly partitionStatistics: readonly unknown[];
}

// ---- lookups ----

export function currentSchema(metadata: TableMetadata): Schema {
  return schemaById(metadata, metadata.currentSchemaId);
}

export function schemaById(metadata: TableMetadata, schemaId: number): Schema {
  const schema = metadata.schemas.find((s) => s.schemaId === schemaId);
  if (!schema) throw new MetadataInvalidError(`table ${metadata.location}: schema ${schemaId} is not among schemas [${metadata.schemas.map((s) => s.schemaId).join(', ')}]`);
  return schema;
}

export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  return specById(metadata, metadata.defaultSpecId);
}

export function specById(metadata: TableMetadata, specId: number): PartitionSpec {
  const spec = metadata.partitionSpecs.find((s) => s.specId === specId);
  if (!spec) throw new MetadataInvalidError(`table ${metadata.location}: partition spec ${specId} is not among specs [${metadata.partitionSpecs.map((s) => s.specId).join(', ')}]`);
  return spec;
}

export function defaultSortOrder(metadata: TableMetadata): SortOrder {
  return metadata.sortOrders.find((o) => o.orderId === metadata.defaultSortOrderId) ?? UNSORTED;
}

export function snapshotById(metadata: TableMetadata, snapshotId: bigint): Snapshot | undefined {
  return metadata.snapshots.find((s) => s.snapshotId === snapshotId);
}

export function requireSnapshot(metadata: TableMetadata, snapshotId: bigint): Snapshot {
  const snapshot = snapshotById(metadata, snapshotId);
  if (!snapshot) throw new NotFoundError(`table ${metadata.location} has no snapshot ${snapshotId}`, { context: { snapshotId: snapshotId.toString() } });
  return snapshot;
}

/** The snapshot a branch or tag points at (main = the current snapshot); undefined for an empty table. */
export function snapshotForRef(metadata: TableMetadata, ref: string = MAIN_BRANCH): Snapshot | undefined {
  const target = metadata.refs.get(ref)?.snapshotId ?? (ref === MAIN_BRANCH ? metadata.currentSnapshotId : undefined);
  if (target === undefined) {
    if (ref === MAIN_BRANCH) return undefined;
    throw new NotFoundError(`table ${metadata.location} has no branch or tag "${ref}"`);
  }
  return requireSnapshot(metadata, target);
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  return snapshotForRef(metadata, MAIN_BRANCH);
}

/** The snapshot and its ancestors, newest first (stops where history was expired). */
export function ancestorsOf(metadata: TableMetadata, snapshotId: bigint | undefined): Snapshot[] {
  const chain: Snapshot[] = [];
  const byId = new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
  const seen = new Set<bigint>();
  for (let id = snapshotId; id !== undefined && !seen.has(id);) {
    seen.add(id);
    const snapshot = byId.get(id);
    if (!snapshot) break;
    chain.push(snapshot);
    id = snapshot.parentSnapshotId;
  }
  return chain;
}

/**
 * Time travel by timestamp: the snapshot that was current at `timestampMs`, from the snapshot log (the spec's
 * history), or undefined if the table had no snapshot yet.
 */
export function snapshotAsOf(metadata: TableMetadata, timestampMs: number): Snapshot | undefined {
  let found: bigint | undefined;
  for (const entry of metadata.snapshotLog) if (entry.timestampMs <= timestampMs) found = entry.snapshotId;
  if (found === undefined) return undefined;
  return snapshotById(metadata, found);
}

export function propertyInt(metadata: TableMetadata, key: string, fallback: number): number {
  const raw = metadata.properties[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new MetadataInvalidError(`table property ${key}=${JSON.stringify(raw)} is not a number`);
  return value;
}

// ---- JSON ----

/** Parses JSON keeping integers beyond 2^53 exact (as bigint): snapshot ids use all 63 bits. */
export function parseJsonLossless(text: string): unknown {
  return parseLossless(text, null, (value: string) => (isInteger(value) && !isSafeNumber(value) ? BigInt(value) : Number(value)));
}

export function stringifyJsonLossless(value: unknown, space?: number): string {
  return stringifyLossless(value, null, space) ?? 'null';
}

export function tableMetadataToJson(metadata: TableMetadata): Record<string, unknown> {
  const json: Record<string, unknown> = {
    'format-version': metadata.formatVersion,
    'table-uuid': metadata.tableUuid,
    location: metadata.location,
    'last-sequence-number': fromLong(metadata.lastSequenceNumber),
    'last-updated-ms': metadata.lastUpdatedMs,
    'last-column-id': metadata.lastColumnId,
    'current-schema-id': metadata.currentSchemaId,
    schemas: metadata.schemas.map(schemaToJson),
    'default-spec-id': metadata.defaultSpecId,
    'partition-specs': metadata.partitionSpecs.map(partitionSpecToJson),
    'last-partition-id': metadata.lastPartitionId,
    'default-sort-order-id': metadata.defaultSortOrderId,
    'sort-orders': metadata.sortOrders.map(sortOrderToJson),
    properties: { ...metadata.properties },
    'current-snapshot-id': metadata.currentSnapshotId === undefined ? -1 : fromLong(metadata.currentSnapshotId),
    refs: Object.fromEntries([...metadata.refs].map(([name, ref]) => [name, refToJson(ref)])),
    snapshots: metadata.snapshots.map(snapshotToJson),
    statistics: [...metadata.statistics],
    'partition-statistics': [...metadata.partitionStatistics],
    'snapshot-log': metadata.snapshotLog.map((e) => ({ 'timestamp-ms': e.timestampMs, 'snapshot-id': fromLong(e.snapshotId) })),
    'metadata-log': metadata.metadataLog.map((e) => ({ 'timestamp-ms': e.timestampMs, 'metadata-file': e.metadataFile })),
  };
  if (metadata.formatVersion === 1) {
    // v1 readers need the single current schema and spec too.
    json.schema = schemaToJson(currentSchema(metadata));
    json['partition-spec'] = partitionSpecToJson(defaultSpec(metadata)).fields;
    delete json['last-sequence-number'];
  }
  return json;
}

export function serializeTableMetadata(metadata: TableMetadata): string {
  return stringifyJsonLossless(tableMetadataToJson(metadata), 2);
}

/** Parses metadata JSON text; `file` names the file in error messages. Reads format versions 1 and 2. */
export function parseTableMetadata(text: string, file = 'metadata.json'): TableMetadata {
  let json: unknown;
  try {
    json = parseJsonLossless(text);
  } catch (error) {
    throw new MetadataInvalidError(`${file}: not valid JSON (${(error as Error).message})`, { cause: error, context: { file } });
  }
  try {
    return tableMetadataFromJson(json);
  } catch (error) {
    if (error instanceof MetadataInvalidError) {
      throw new MetadataInvalidError(`${file}: ${error.message}`, { cause: error, context: { file } });
    }
    throw new MetadataInvalidError(`${file}: ${(error as Error).message}`, { cause: error, context: { file } });
  }
}

export function tableMetadataFromJson(raw: unknown): TableMetadata {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new MetadataInvalidError('expected a JSON object');
  const json = raw as Record<string, unknown>;
  const formatVersion = json['format-version'];
  if (formatVersion !== 1 && formatVersion !== 2) {
    throw new MetadataInvalidError(`format-version ${JSON.stringify(formatVersion)} is not supported (expected 1 or 2)`);
  }
  const location = required(json, 'location', 'string');
  const schemas = Array.isArray(json.schemas)
    ? json.schemas.map((s, i) => schemaFromJson(s, `schemas[${i}]`))
    : [schemaFromJson(json.schema, 'schema')];
  const currentSchemaId = typeof json['current-schema-id'] === 'number' ? json['current-schema-id'] : schemas[0]!.schemaId;
  const partitionSpecs = Array.isArray(json['partition-specs'])
    ? json['partition-specs'].map((s, i) => partitionSpecFromJson(s, `partition-specs[${i}]`))
    : [partitionSpecFromJson({ 'spec-id': 0, fields: json['partition-spec'] ?? [] }, 'partition-spec')];
  const defaultSpecId = typeof json['default-spec-id'] === 'number' ? json['default-spec-id'] : partitionSpecs[0]!.specId;
  const lastPartitionId = typeof json['last-partition-id'] === 'number'
    ? json['last-partition-id']
    : Math.max(PARTITION_FIELD_ID_START - 1, ...partitionSpecs.flatMap((s) => s.fields.map((f) => f.fieldId)));
  const sortOrders = Array.isArray(json['sort-orders']) ? json['sort-orders'].map((o, i) => sortOrderFromJson(o, `sort-orders[${i}]`)) : [UNSORTED];
  const snapshots = Array.isArray(json.snapshots) ? json.snapshots.map((s, i) => snapshotFromJson(s, `snapshots[${i}]`)) : [];
  const rawCurrent = json['current-snapshot-id'];
  const currentSnapshotId = rawCurrent === undefined || rawCurrent === null || rawCurrent === -1 ? undefined : toLong(rawCurrent, 'current-snapshot-id');
  const refs = new Map<string, SnapshotRef>();
  for (const [name, ref] of Object.entries((json.refs ?? {}) as Record<string, unknown>)) refs.set(name, refFromJson(ref, `refs.${name}`));
  // v1 tables (and old writers) may have no refs: main is the current snapshot.
  if (!refs.has(MAIN_BRANCH) && currentSnapshotId !== undefined) refs.set(MAIN_BRANCH, { snapshotId: currentSnapshotId, type: 'branch' });
  const metadata: TableMetadata = {
    formatVersion,
    tableUuid: typeof json['table-uuid'] === 'string' ? json['table-uuid'] : '',
    location,
    lastSequenceNumber: formatVersion === 2 ? toLong(json['last-sequence-number'], 'last-sequence-number') : 0n,
    lastUpdatedMs: Number(toLong(json['last-updated-ms'], 'last-updated-ms')),
    lastColumnId: Number(json['last-column-id'] ?? Math.max(...schemas.map(highestFieldId))),
    schemas,
    currentSchemaId,
    partitionSpecs,
    defaultSpecId,
    lastPartitionId,
    properties: (json.properties ?? {}) as Record<string, string>,
    currentSnapshotId,
    snapshots,
    snapshotLog: ((json['snapshot-log'] ?? []) as Record<string, Long>[]).map((e) => ({ timestampMs: Number(e['timestamp-ms']), snapshotId: toLong(e['snapshot-id'], 'snapshot-log') })),
    metadataLog: ((json['metadata-log'] ?? []) as Record<string, unknown>[]).map((e) => ({ timestampMs: Number(e['timestamp-ms']), metadataFile: String(e['metadata-file']) })),
    sortOrders,
    defaultSortOrderId: typeof json['default-sort-order-id'] === 'number' ? json['default-sort-order-id'] : sortOrders[0]?.orderId ?? 0,
    refs,
    statistics: Array.isArray(json.statistics) ? json.statistics : [],
    partitionStatistics: Array.isArray(json['partition-statistics']) ? json['partition-statistics'] : [],
  };
  validateTableMetadata(metadata);
  return metadata;
}

function required(json: Record<string, unknown>, key: string, type: 'string'): string {
  const value = json[key];
  if (typeof value !== type) throw new MetadataInvalidError(`"${key}" is required (a ${type}), found ${JSON.stringify(value)}`);
  return value as string;
}

/** Cross-references hold: current schema/spec/order exist, refs point at known snapshots, ids within their maxima. */
export function validateTableMetadata(metadata: TableMetadata): void {
  currentSchema(metadata);
  defaultSpec(metadata);
  if (!metadata.sortOrders.some((o) => o.orderId === metadata.defaultSortOrderId)) {
    throw new MetadataInvalidError(`default-sort-order-id ${metadata.defaultSortOrderId} is not among sort-orders [${metadata.sortOrders.map((o) => o.orderId).join(', ')}]`);
  }
  for (const schema of metadata.schemas) {
    const highest = highestFieldId(schema);
    if (highest > metadata.lastColumnId) throw new MetadataInvalidError(`schema ${schema.schemaId} uses field id ${highest} above last-column-id ${metadata.lastColumnId}`);
  }
  for (const [name, ref] of metadata.refs) {
    if (!snapshotById(metadata, ref.snapshotId)) throw new MetadataInvalidError(`ref "${name}" points at snapshot ${ref.snapshotId}, which is not in snapshots`);
  }
  if (metadata.currentSnapshotId !== undefined && !snapshotById(metadata, metadata.currentSnapshotId)) {
    throw new MetadataInvalidError(`current-snapshot-id ${metadata.currentSnapshotId} is not in snapshots`);
  }
  if (metadata.formatVersion === 2) {
    for (const snapshot of metadata.snapshots) {
      if (snapshot.sequenceNumber > metadata.lastSequenceNumber) {
        throw new MetadataInvalidError(`snapshot ${snapshot.snapshotId} has sequence number ${snapshot.sequenceNumber} above last-sequence-number ${metadata.lastSequenceNumber}`);
      }
    }
  }
}
