// The files of a snapshot: every live data file with the delete files that apply to it (position deletes with a data
// sequence number >= the data file's, equality deletes strictly greater; same spec and partition, or global for
// equality deletes stored with an unpartitioned spec: no fields, or only void ones), plus history and time-travel lookups. Must never: write or delete anything.
import { NotFoundError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import { fromBytes } from '../spec/conversions.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent, deleteAppliesBySequence, positionDeleteMayReference } from '../spec/manifest.js';
import { isUnpartitioned, partitionKey } from '../spec/partition-spec.js';
import type { Snapshot } from '../spec/snapshot.js';
import type { TableMetadata } from '../spec/table-metadata.js';
import { ancestorsOf, currentSnapshot, requireSnapshot, snapshotAsOf, specById } from '../spec/table-metadata.js';
import { liveFilesOf } from './manifests.js';

export interface FileScanTask {
  readonly file: DataFile;
  readonly dataSequenceNumber: bigint;
  readonly deletes: DataFile[];
}

export interface SnapshotSelector {
  snapshotId?: bigint;
  /** Time travel: the snapshot current at this time (ms since the epoch). */
  asOfTimestampMs?: number;
  /** A branch or tag name. */
  ref?: string;
}

export function selectSnapshot(metadata: TableMetadata, selector: SnapshotSelector = {}): Snapshot | undefined {
  if (selector.snapshotId !== undefined) return requireSnapshot(metadata, selector.snapshotId);
  if (selector.asOfTimestampMs !== undefined) {
    const found = snapshotAsOf(metadata, selector.asOfTimestampMs);
    if (!found) throw new NotFoundError(`table ${metadata.location} has no snapshot at or before ${new Date(selector.asOfTimestampMs).toISOString()} (history starts ${metadata.snapshotLog[0] ? new Date(metadata.snapshotLog[0].timestampMs).toISOString() : 'never'})`);
    return found;
  }
  if (selector.ref !== undefined) {
    const ref = metadata.refs.get(selector.ref);
    if (!ref) throw new NotFoundError(`table ${metadata.location} has no branch or tag "${selector.ref}"`);
    return requireSnapshot(metadata, ref.snapshotId);
  }
  return currentSnapshot(metadata);
}

export async function planFiles(table: Table, selector: SnapshotSelector = {}): Promise<FileScanTask[]> {
  const snapshot = selectSnapshot(table.metadata, selector);
  const live = await liveFilesOf(table.io, snapshot);
  const deletesByPartition = new Map<string, { file: DataFile; sequenceNumber: bigint }[]>();
  const globalDeletes: { file: DataFile; sequenceNumber: bigint }[] = [];
  for (const { entry } of live.deletes) {
    const spec = specById(table.metadata, entry.dataFile.specId);
    const item = { file: entry.dataFile, sequenceNumber: entry.sequenceNumber ?? 0n };
    if (isUnpartitioned(spec) && entry.dataFile.content === DataFileContent.EQUALITY_DELETES) {
      globalDeletes.push(item);
      continue;
    }
    const key = `${entry.dataFile.specId}:${partitionKey(entry.dataFile.partition)}`;
    const list = deletesByPartition.get(key) ?? [];
    list.push(item);
    deletesByPartition.set(key, list);
  }
  return live.data.map(({ entry }) => {
    const dataSequenceNumber = entry.sequenceNumber ?? 0n;
    const key = `${entry.dataFile.specId}:${partitionKey(entry.dataFile.partition)}`;
    const candidates = [...(deletesByPartition.get(key) ?? []), ...globalDeletes];
    const deletes = candidates
      .filter((d) => deleteAppliesBySequence({ content: d.file.content, sequenceNumber: d.sequenceNumber }, dataSequenceNumber))
      .filter((d) => d.file.content !== DataFileContent.POSITION_DELETES || positionDeleteMayReference(d.file, entry.dataFile.filePath))
      .map((d) => d.file);
    return { file: entry.dataFile, dataSequenceNumber, deletes };
  });
}

export interface HistoryEntry {
  readonly snapshotId: bigint;
  readonly parentSnapshotId: bigint | undefined;
  readonly timestampMs: number;
  readonly operation: string;
  readonly isCurrentAncestor: boolean;
  readonly summary: Readonly<Record<string, string>>;
}

/** Every snapshot the table still has, oldest first, marking those on the current branch's line. */
export function snapshotHistory(metadata: TableMetadata): HistoryEntry[] {
  const ancestors = new Set(ancestorsOf(metadata, metadata.currentSnapshotId).map((s) => s.snapshotId));
  return [...metadata.snapshots]
    .sort((a, b) => a.timestampMs - b.timestampMs || (a.sequenceNumber < b.sequenceNumber ? -1 : 1))
    .map((s) => ({
      snapshotId: s.snapshotId,
      parentSnapshotId: s.parentSnapshotId,
      timestampMs: s.timestampMs,
      operation: s.summary.operation,
      isCurrentAncestor: ancestors.has(s.snapshotId),
      summary: s.summary,
    }));
}

/** Decodes a data file's lower/upper bound of a field, for tools and tests. */
export function boundOf(table: Table, file: DataFile, fieldId: number, which: 'lower' | 'upper'): unknown {
  const bytes = (which === 'lower' ? file.lowerBounds : file.upperBounds)?.get(fieldId);
  if (!bytes) return undefined;
  const schema = table.metadata.schemas.find((s) => s.schemaId === table.metadata.currentSchemaId);
  const field = schema?.fields.find((f) => f.id === fieldId);
  if (!field || field.type.kind === 'struct' || field.type.kind === 'list' || field.type.kind === 'map') return undefined;
  return fromBytes(field.type, bytes);
}
