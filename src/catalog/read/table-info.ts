// What a person asks about a table — its size and freshness, its columns, its snapshots and history, which snapshot a
// time-travel read means — as plain JSON-ready records, for the CLI (`duckhouse tables …`) and the HTTP API alike.
// PURE: metadata in, records out; the clock is passed in. Must never: report a number the metadata does not hold
// (a missing summary count is null, not 0).
import type { TableIdentifier } from '../catalogs/catalog.js';
import { formatIdentifier } from '../catalogs/catalog.js';
import type { Snapshot } from '../spec/snapshot.js';
import { Summary } from '../spec/snapshot.js';
import type { TableMetadata } from '../spec/table-metadata.js';
import { ancestorsOf, currentSchema, currentSnapshot, defaultSortOrder, defaultSpec, snapshotAsOf, snapshotById } from '../spec/table-metadata.js';
import { transformToString } from '../spec/transforms.js';
import { typeToString } from '../spec/types.js';
import { NotFoundError } from '../../shared/errors.js';

export interface TableOverview {
  table: string;
  namespace: string[];
  name: string;
  location: string;
  formatVersion: number;
  /**
   * Live rows: the current snapshot's records minus its position deletes (DuckHouse never deletes a row twice), from
   * the summary; null when the summary lacks a count. `records` is the raw count in data files.
   */
  rows: number | null;
  records: number | null;
  dataFiles: number | null;
  deleteFiles: number | null;
  positionDeletes: number | null;
  sizeBytes: number | null;
  snapshotId: string | null;
  snapshots: number;
  lastCommitAt: string | null;
  lastOperation: string | null;
  /** Seconds since the last commit (or since creation when there is none). */
  secondsSinceCommit: number;
}

export interface SnapshotInfo {
  snapshotId: string;
  parentId: string | null;
  sequenceNumber: string;
  committedAt: string;
  operation: string;
  /** True for the current snapshot and its ancestors (what `history` lists as the table's line). */
  isCurrentAncestor: boolean;
  isCurrent: boolean;
  addedRows: number | null;
  deletedRows: number | null;
  totalRows: number | null;
  addedDataFiles: number | null;
  addedDeleteFiles: number | null;
  totalDataFiles: number | null;
  totalDeleteFiles: number | null;
  summary: Record<string, string>;
}

export interface HistoryEntry {
  madeCurrentAt: string;
  snapshotId: string;
  parentId: string | null;
  isCurrentAncestor: boolean;
  operation: string | null;
}

export interface ColumnInfo {
  id: number;
  name: string;
  type: string;
  required: boolean;
  key: boolean;
  doc: string | null;
}

export interface TableDescription extends TableOverview {
  tableUuid: string;
  schemaId: number;
  columns: ColumnInfo[];
  partitionBy: { name: string; source: string; transform: string }[];
  sortOrder: { source: string; transform: string; direction: string; nullOrder: string }[];
  properties: Record<string, string>;
}

const count = (summary: Readonly<Record<string, string>> | undefined, key: string): number | null => {
  const value = summary?.[key];
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

/** Records in data files minus position deletes, when the summary has both (equality deletes: unknown → null). */
export function liveRows(summary: Readonly<Record<string, string>> | undefined): number | null {
  const records = count(summary, Summary.TOTAL_RECORDS);
  const positionDeletes = count(summary, Summary.TOTAL_POSITION_DELETES) ?? 0;
  const equalityDeletes = count(summary, Summary.TOTAL_EQUALITY_DELETES) ?? 0;
  if (records === null || equalityDeletes > 0) return null;
  return Math.max(0, records - positionDeletes);
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function tableOverview(id: TableIdentifier, metadata: TableMetadata, nowMs: number): TableOverview {
  const current = currentSnapshot(metadata);
  const summary = current?.summary;
  return {
    table: formatIdentifier(id),
    namespace: [...id.namespace],
    name: id.name,
    location: metadata.location,
    formatVersion: metadata.formatVersion,
    rows: current ? liveRows(summary) : 0,
    records: current ? count(summary, Summary.TOTAL_RECORDS) : 0,
    dataFiles: current ? count(summary, Summary.TOTAL_DATA_FILES) : 0,
    deleteFiles: current ? count(summary, Summary.TOTAL_DELETE_FILES) : 0,
    positionDeletes: current ? count(summary, Summary.TOTAL_POSITION_DELETES) : 0,
    sizeBytes: current ? count(summary, Summary.TOTAL_FILE_SIZE) : 0,
    snapshotId: current ? current.snapshotId.toString() : null,
    snapshots: metadata.snapshots.length,
    lastCommitAt: current ? iso(current.timestampMs) : null,
    lastOperation: current?.summary.operation ?? null,
    secondsSinceCommit: Math.max(0, Math.round((nowMs - (current?.timestampMs ?? metadata.lastUpdatedMs)) / 1000)),
  };
}

function snapshotInfo(snapshot: Snapshot, current: bigint | undefined, lineage: ReadonlySet<bigint>): SnapshotInfo {
  const s = snapshot.summary;
  return {
    snapshotId: snapshot.snapshotId.toString(),
    parentId: snapshot.parentSnapshotId?.toString() ?? null,
    sequenceNumber: snapshot.sequenceNumber.toString(),
    committedAt: iso(snapshot.timestampMs),
    operation: s.operation,
    isCurrentAncestor: lineage.has(snapshot.snapshotId),
    isCurrent: snapshot.snapshotId === current,
    addedRows: count(s, Summary.ADDED_RECORDS),
    deletedRows: count(s, Summary.DELETED_RECORDS) ?? count(s, Summary.ADDED_POSITION_DELETES),
    totalRows: count(s, Summary.TOTAL_RECORDS),
    addedDataFiles: count(s, Summary.ADDED_DATA_FILES),
    addedDeleteFiles: count(s, Summary.ADDED_DELETE_FILES),
    totalDataFiles: count(s, Summary.TOTAL_DATA_FILES),
    totalDeleteFiles: count(s, Summary.TOTAL_DELETE_FILES),
    summary: { ...s },
  };
}

const lineageOf = (metadata: TableMetadata): Set<bigint> => new Set(ancestorsOf(metadata, metadata.currentSnapshotId).map((s) => s.snapshotId));

/** Every retained snapshot, newest first (Trino's `$snapshots`, with the summary's counts pulled out). */
export function tableSnapshots(metadata: TableMetadata): SnapshotInfo[] {
  const lineage = lineageOf(metadata);
  return [...metadata.snapshots]
    .sort((a, b) => b.timestampMs - a.timestampMs || Number(b.sequenceNumber - a.sequenceNumber))
    .map((s) => snapshotInfo(s, metadata.currentSnapshotId, lineage));
}

/** The snapshot log: when each snapshot became current, newest first (Trino's `$history`). */
export function tableHistory(metadata: TableMetadata): HistoryEntry[] {
  const lineage = lineageOf(metadata);
  return [...metadata.snapshotLog].reverse().map((entry) => {
    const snapshot = snapshotById(metadata, entry.snapshotId);
    return {
      madeCurrentAt: iso(entry.timestampMs),
      snapshotId: entry.snapshotId.toString(),
      parentId: snapshot?.parentSnapshotId?.toString() ?? null,
      isCurrentAncestor: lineage.has(entry.snapshotId),
      operation: snapshot?.summary.operation ?? null,
    };
  });
}

export function describeTable(id: TableIdentifier, metadata: TableMetadata, nowMs: number): TableDescription {
  const schema = currentSchema(metadata);
  const byId = new Map(schema.fields.map((f) => [f.id, f.name]));
  const keys = new Set(schema.identifierFieldIds);
  const nameOf = (sourceId: number): string => byId.get(sourceId) ?? `field ${sourceId}`;
  return {
    ...tableOverview(id, metadata, nowMs),
    tableUuid: metadata.tableUuid,
    schemaId: schema.schemaId,
    columns: schema.fields.map((f) => ({ id: f.id, name: f.name, type: typeToString(f.type), required: f.required, key: keys.has(f.id), doc: f.doc ?? null })),
    partitionBy: defaultSpec(metadata).fields.map((f) => ({ name: f.name, source: nameOf(f.sourceId), transform: transformToString(f.transform) })),
    sortOrder: defaultSortOrder(metadata).fields.map((f) => ({ source: nameOf(f.sourceId), transform: transformToString(f.transform), direction: f.direction, nullOrder: f.nullOrder })),
    properties: { ...metadata.properties },
  };
}

/** The snapshot a time-travel read means: by id, or the newest one current at or before a time. */
export function resolveSnapshot(id: TableIdentifier, metadata: TableMetadata, at: { snapshotId?: bigint; asOf?: Date }): Snapshot {
  const table = formatIdentifier(id);
  if (at.snapshotId !== undefined) {
    const snapshot = snapshotById(metadata, at.snapshotId);
    if (!snapshot) throw new NotFoundError(`table ${table} has no snapshot ${at.snapshotId} (expired, or never existed): \`duckhouse tables snapshots ${table}\` lists them`);
    return snapshot;
  }
  if (at.asOf !== undefined) {
    const snapshot = snapshotAsOf(metadata, at.asOf.getTime());
    if (!snapshot) {
      const first = metadata.snapshotLog[0];
      const since = first ? `; its oldest retained snapshot is from ${iso(first.timestampMs)}` : '';
      throw new NotFoundError(`table ${table} had no snapshot at ${at.asOf.toISOString()}${since}`);
    }
    return snapshot;
  }
  const current = currentSnapshot(metadata);
  if (!current) throw new NotFoundError(`table ${table} has no snapshot yet: nothing was committed to it`);
  return current;
}
