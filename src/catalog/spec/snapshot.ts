// Snapshots, snapshot refs (branches and tags) and the snapshot summary with the spec's keys.
// PURE: no IO, no clock, no randomness: timestamps and ids are passed in.
import { MetadataInvalidError } from '../../shared/errors.js';
import type { DataFile } from './manifest.js';
import { DataFileContent } from './manifest.js';

export type Operation = 'append' | 'replace' | 'overwrite' | 'delete';

export const MAIN_BRANCH = 'main';

/** Snapshot summary keys (spec "Snapshot Summary" / Java SnapshotSummary). */
export const Summary = {
  OPERATION: 'operation',
  ADDED_DATA_FILES: 'added-data-files',
  DELETED_DATA_FILES: 'deleted-data-files',
  TOTAL_DATA_FILES: 'total-data-files',
  ADDED_DELETE_FILES: 'added-delete-files',
  ADDED_EQUALITY_DELETE_FILES: 'added-equality-delete-files',
  REMOVED_EQUALITY_DELETE_FILES: 'removed-equality-delete-files',
  ADDED_POSITION_DELETE_FILES: 'added-position-delete-files',
  REMOVED_POSITION_DELETE_FILES: 'removed-position-delete-files',
  REMOVED_DELETE_FILES: 'removed-delete-files',
  TOTAL_DELETE_FILES: 'total-delete-files',
  ADDED_RECORDS: 'added-records',
  DELETED_RECORDS: 'deleted-records',
  TOTAL_RECORDS: 'total-records',
  ADDED_FILE_SIZE: 'added-files-size',
  REMOVED_FILE_SIZE: 'removed-files-size',
  TOTAL_FILE_SIZE: 'total-files-size',
  ADDED_POSITION_DELETES: 'added-position-deletes',
  REMOVED_POSITION_DELETES: 'removed-position-deletes',
  TOTAL_POSITION_DELETES: 'total-position-deletes',
  ADDED_EQUALITY_DELETES: 'added-equality-deletes',
  REMOVED_EQUALITY_DELETES: 'removed-equality-deletes',
  TOTAL_EQUALITY_DELETES: 'total-equality-deletes',
  CHANGED_PARTITION_COUNT: 'changed-partition-count',
} as const;

export interface Snapshot {
  readonly snapshotId: bigint;
  readonly parentSnapshotId?: bigint;
  readonly sequenceNumber: bigint;
  readonly timestampMs: number;
  readonly manifestList: string;
  readonly summary: Readonly<Record<string, string>> & { operation: Operation };
  readonly schemaId?: number;
}

export interface SnapshotRef {
  readonly snapshotId: bigint;
  readonly type: 'branch' | 'tag';
  readonly minSnapshotsToKeep?: number;
  readonly maxSnapshotAgeMs?: number;
  readonly maxRefAgeMs?: number;
}

/** What a snapshot changes, for its summary. */
export interface SnapshotChanges {
  readonly added?: readonly DataFile[];
  readonly removed?: readonly DataFile[];
}

const TOTALS: [total: string, added: string, removed: string][] = [
  [Summary.TOTAL_DATA_FILES, Summary.ADDED_DATA_FILES, Summary.DELETED_DATA_FILES],
  [Summary.TOTAL_DELETE_FILES, Summary.ADDED_DELETE_FILES, Summary.REMOVED_DELETE_FILES],
  [Summary.TOTAL_RECORDS, Summary.ADDED_RECORDS, Summary.DELETED_RECORDS],
  [Summary.TOTAL_FILE_SIZE, Summary.ADDED_FILE_SIZE, Summary.REMOVED_FILE_SIZE],
  [Summary.TOTAL_POSITION_DELETES, Summary.ADDED_POSITION_DELETES, Summary.REMOVED_POSITION_DELETES],
  [Summary.TOTAL_EQUALITY_DELETES, Summary.ADDED_EQUALITY_DELETES, Summary.REMOVED_EQUALITY_DELETES],
];

function tally(files: readonly DataFile[], prefix: 'added' | 'removed'): Map<string, bigint> {
  const counts = new Map<string, bigint>();
  const add = (key: string, n: bigint): void => {
    counts.set(key, (counts.get(key) ?? 0n) + n);
  };
  const dataFiles = prefix === 'added' ? Summary.ADDED_DATA_FILES : Summary.DELETED_DATA_FILES;
  const records = prefix === 'added' ? Summary.ADDED_RECORDS : Summary.DELETED_RECORDS;
  for (const file of files) {
    add(prefix === 'added' ? Summary.ADDED_FILE_SIZE : Summary.REMOVED_FILE_SIZE, file.fileSizeInBytes);
    if (file.content === DataFileContent.DATA) {
      add(dataFiles, 1n);
      add(records, file.recordCount);
      continue;
    }
    add(prefix === 'added' ? Summary.ADDED_DELETE_FILES : Summary.REMOVED_DELETE_FILES, 1n);
    if (file.content === DataFileContent.POSITION_DELETES) {
      add(prefix === 'added' ? Summary.ADDED_POSITION_DELETE_FILES : Summary.REMOVED_POSITION_DELETE_FILES, 1n);
      add(prefix === 'added' ? Summary.ADDED_POSITION_DELETES : Summary.REMOVED_POSITION_DELETES, file.recordCount);
    } else {
      add(prefix === 'added' ? Summary.ADDED_EQUALITY_DELETE_FILES : Summary.REMOVED_EQUALITY_DELETE_FILES, 1n);
      add(prefix === 'added' ? Summary.ADDED_EQUALITY_DELETES : Summary.REMOVED_EQUALITY_DELETES, file.recordCount);
    }
  }
  return counts;
}

/**
 * The summary of a new snapshot: its operation, the added/removed counts of `changes`, totals carried from the
 * previous snapshot's summary, and `extra` properties (for example Kafka offsets). Counts that are zero are omitted,
 * as other writers do; totals are always written.
 */
export function buildSummary(
  operation: Operation,
  changes: SnapshotChanges,
  previous: Readonly<Record<string, string>> | undefined,
  extra: Readonly<Record<string, string>> = {},
): Snapshot['summary'] {
  const counts = new Map([...tally(changes.added ?? [], 'added'), ...tally(changes.removed ?? [], 'removed')]);
  const summary: Record<string, string> = { ...extra, operation };
  for (const [key, value] of counts) if (value !== 0n) summary[key] = value.toString();
  const partitions = new Set([...(changes.added ?? []), ...(changes.removed ?? [])].map((f) => `${f.specId}:${JSON.stringify(f.partition, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`));
  summary[Summary.CHANGED_PARTITION_COUNT] = String(partitions.size);
  for (const [total, added, removed] of TOTALS) {
    const before = previous?.[total];
    // A previous snapshot without totals (written by a writer that omits them) makes totals unknowable: omit them.
    if (previous && before === undefined) continue;
    const value = BigInt(before ?? '0') + (counts.get(added) ?? 0n) - (counts.get(removed) ?? 0n);
    summary[total] = (value < 0n ? 0n : value).toString();
  }
  return summary as Snapshot['summary'];
}

// ---- JSON ----

export type Long = number | bigint;

export interface SnapshotJson {
  'snapshot-id': Long;
  'parent-snapshot-id'?: Long;
  'sequence-number'?: Long;
  'timestamp-ms': Long;
  'manifest-list'?: string;
  manifests?: string[];
  summary?: Record<string, string>;
  'schema-id'?: number;
}

export interface SnapshotRefJson {
  'snapshot-id': Long;
  type: 'branch' | 'tag';
  'min-snapshots-to-keep'?: number;
  'max-snapshot-age-ms'?: Long;
  'max-ref-age-ms'?: Long;
}

export function toLong(value: unknown, where: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new MetadataInvalidError(`${where}: expected a 64-bit integer, found ${JSON.stringify(value)}`);
}

/** Emits a long as a JSON number: small values as number, large ones as bigint (written unquoted by our serializer). */
export function fromLong(value: bigint): Long {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export function snapshotToJson(snapshot: Snapshot): SnapshotJson {
  const json: SnapshotJson = {
    'snapshot-id': fromLong(snapshot.snapshotId),
    'sequence-number': fromLong(snapshot.sequenceNumber),
    'timestamp-ms': snapshot.timestampMs,
    'manifest-list': snapshot.manifestList,
    summary: { ...snapshot.summary },
  };
  if (snapshot.parentSnapshotId !== undefined) json['parent-snapshot-id'] = fromLong(snapshot.parentSnapshotId);
  if (snapshot.schemaId !== undefined) json['schema-id'] = snapshot.schemaId;
  return json;
}

export function snapshotFromJson(raw: unknown, where = 'snapshot'): Snapshot {
  const json = raw as Record<string, unknown>;
  const id = toLong(json['snapshot-id'], `${where}.snapshot-id`);
  const at = `${where} ${id}`;
  if (typeof json['manifest-list'] !== 'string') {
    // v1 allowed an inline `manifests` list instead; nothing we read writes that form any more.
    throw new MetadataInvalidError(`${at}: has no manifest-list (v1 inline "manifests" are not supported)`);
  }
  const summary = (json.summary ?? { operation: 'append' }) as Record<string, string>;
  if (!['append', 'replace', 'overwrite', 'delete'].includes(summary.operation ?? '')) {
    throw new MetadataInvalidError(`${at}: summary.operation must be append, replace, overwrite or delete, found ${JSON.stringify(summary.operation)}`);
  }
  return {
    snapshotId: id,
    ...(json['parent-snapshot-id'] === undefined || json['parent-snapshot-id'] === null ? {} : { parentSnapshotId: toLong(json['parent-snapshot-id'], `${at}.parent-snapshot-id`) }),
    sequenceNumber: json['sequence-number'] === undefined ? 0n : toLong(json['sequence-number'], `${at}.sequence-number`),
    timestampMs: Number(toLong(json['timestamp-ms'], `${at}.timestamp-ms`)),
    manifestList: json['manifest-list'],
    summary: summary as Snapshot['summary'],
    ...(typeof json['schema-id'] === 'number' ? { schemaId: json['schema-id'] } : {}),
  };
}

export function refToJson(ref: SnapshotRef): SnapshotRefJson {
  const json: SnapshotRefJson = { 'snapshot-id': fromLong(ref.snapshotId), type: ref.type };
  if (ref.minSnapshotsToKeep !== undefined) json['min-snapshots-to-keep'] = ref.minSnapshotsToKeep;
  if (ref.maxSnapshotAgeMs !== undefined) json['max-snapshot-age-ms'] = ref.maxSnapshotAgeMs;
  if (ref.maxRefAgeMs !== undefined) json['max-ref-age-ms'] = ref.maxRefAgeMs;
  return json;
}

export function refFromJson(raw: unknown, where: string): SnapshotRef {
  const json = raw as Record<string, unknown>;
  const type = json.type;
  if (type !== 'branch' && type !== 'tag') throw new MetadataInvalidError(`${where}: ref type must be branch or tag, found ${JSON.stringify(type)}`);
  return {
    snapshotId: toLong(json['snapshot-id'], `${where}.snapshot-id`),
    type,
    ...(json['min-snapshots-to-keep'] === undefined ? {} : { minSnapshotsToKeep: Number(json['min-snapshots-to-keep']) }),
    ...(json['max-snapshot-age-ms'] === undefined ? {} : { maxSnapshotAgeMs: Number(json['max-snapshot-age-ms']) }),
    ...(json['max-ref-age-ms'] === undefined ? {} : { maxRefAgeMs: Number(json['max-ref-age-ms']) }),
  };
}
