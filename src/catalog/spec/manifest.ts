// The manifest model (spec "Manifests", "Manifest Lists"): DataFile, ManifestEntry, ManifestFile, and the rules for
// data and file sequence numbers. PURE: no IO. Avro encoding lives in manifest-avro.ts.
import type { PartitionValues } from './partition-spec.js';

export const DataFileContent = { DATA: 0, POSITION_DELETES: 1, EQUALITY_DELETES: 2 } as const;
export type DataFileContent = (typeof DataFileContent)[keyof typeof DataFileContent];

export const ManifestContent = { DATA: 0, DELETES: 1 } as const;
export type ManifestContent = (typeof ManifestContent)[keyof typeof ManifestContent];

export const ManifestEntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
export type ManifestEntryStatus = (typeof ManifestEntryStatus)[keyof typeof ManifestEntryStatus];

export type FileFormat = 'PARQUET' | 'AVRO' | 'ORC';

/** A data or delete file with its statistics. Maps are keyed by field id; bounds use the single-value encoding. */
export interface DataFile {
  readonly content: DataFileContent;
  readonly filePath: string;
  readonly fileFormat: FileFormat;
  readonly specId: number;
  readonly partition: PartitionValues;
  readonly recordCount: bigint;
  readonly fileSizeInBytes: bigint;
  readonly columnSizes?: ReadonlyMap<number, bigint>;
  readonly valueCounts?: ReadonlyMap<number, bigint>;
  readonly nullValueCounts?: ReadonlyMap<number, bigint>;
  readonly nanValueCounts?: ReadonlyMap<number, bigint>;
  readonly lowerBounds?: ReadonlyMap<number, Uint8Array>;
  readonly upperBounds?: ReadonlyMap<number, Uint8Array>;
  readonly keyMetadata?: Uint8Array;
  readonly splitOffsets?: readonly bigint[];
  readonly equalityIds?: readonly number[];
  readonly sortOrderId?: number;
  /** v3 field, also written by engines for position-delete files that reference a single data file. */
  readonly referencedDataFile?: string;
}

/**
 * A manifest entry. `sequenceNumber` (data sequence number) and `fileSequenceNumber` are undefined for ADDED entries
 * in a new manifest: readers inherit them from the manifest (spec "Sequence Number Inheritance").
 */
export interface ManifestEntry {
  readonly status: ManifestEntryStatus;
  readonly snapshotId: bigint | undefined;
  readonly sequenceNumber: bigint | undefined;
  readonly fileSequenceNumber: bigint | undefined;
  readonly dataFile: DataFile;
}

export interface FieldSummary {
  readonly containsNull: boolean;
  readonly containsNan?: boolean;
  readonly lowerBound?: Uint8Array;
  readonly upperBound?: Uint8Array;
}

/** An entry of a manifest list. */
export interface ManifestFile {
  readonly manifestPath: string;
  readonly manifestLength: bigint;
  readonly partitionSpecId: number;
  readonly content: ManifestContent;
  readonly sequenceNumber: bigint;
  readonly minSequenceNumber: bigint;
  readonly addedSnapshotId: bigint;
  readonly addedFilesCount: number;
  readonly existingFilesCount: number;
  readonly deletedFilesCount: number;
  readonly addedRowsCount: bigint;
  readonly existingRowsCount: bigint;
  readonly deletedRowsCount: bigint;
  readonly partitions?: readonly FieldSummary[];
  readonly keyMetadata?: Uint8Array;
  /**
   * True when the manifest list left the added or existing file counts out (optional in v1): the counts above then
   * read 0 but the manifest may hold live files, so it is read, never skipped, and written anew with its counts.
   */
  readonly countsUnknown?: boolean;
}

/** Marker for "not yet assigned": a new manifest's sequence numbers are assigned when the snapshot commits. */
export const UNASSIGNED_SEQUENCE_NUMBER = -1n;

/**
 * Applies sequence-number inheritance to entries read from `manifest`: ADDED entries with no explicit numbers take the
 * manifest's sequence number; an entry from a v1 table (no numbers at all) gets 0.
 */
export function inheritSequenceNumbers(manifest: ManifestFile, entry: ManifestEntry): ManifestEntry {
  const inherit = (value: bigint | undefined): bigint | undefined => {
    if (value !== undefined) return value;
    if (entry.status === ManifestEntryStatus.ADDED) return manifest.sequenceNumber;
    return undefined;
  };
  return {
    ...entry,
    snapshotId: entry.snapshotId ?? manifest.addedSnapshotId,
    sequenceNumber: inherit(entry.sequenceNumber) ?? 0n,
    fileSequenceNumber: inherit(entry.fileSequenceNumber) ?? 0n,
  };
}

/** Whether a delete file applies to a data file by sequence number (partition and path checks are the caller's). */
export function deleteAppliesBySequence(deleteFile: { content: DataFileContent; sequenceNumber: bigint }, dataSequenceNumber: bigint): boolean {
  // Position deletes apply to data files with a data sequence number <= their own; equality deletes to strictly lower.
  if (deleteFile.content === DataFileContent.POSITION_DELETES) return dataSequenceNumber <= deleteFile.sequenceNumber;
  return dataSequenceNumber < deleteFile.sequenceNumber;
}

/** Reserved field ids of the position delete schema (spec "Position Delete Files"): `file_path` and `pos`. */
export const POSITION_DELETE_FILE_PATH_FIELD_ID = 2147483546;
export const POSITION_DELETE_POS_FIELD_ID = 2147483545;

const utf8 = new TextDecoder();

/**
 * Whether a position delete file may hold deletes for the data file at `dataPath`: its `referenced_data_file`, else
 * its `file_path` bounds decide (no bounds: it may).
 */
export function positionDeleteMayReference(deleteFile: DataFile, dataPath: string): boolean {
  if (deleteFile.referencedDataFile !== undefined) return deleteFile.referencedDataFile === dataPath;
  const lower = deleteFile.lowerBounds?.get(POSITION_DELETE_FILE_PATH_FIELD_ID);
  const upper = deleteFile.upperBounds?.get(POSITION_DELETE_FILE_PATH_FIELD_ID);
  if (lower && dataPath < utf8.decode(lower)) return false;
  if (upper && dataPath > utf8.decode(upper)) return false;
  return true;
}

/**
 * The one data file a position delete file references, if known: `referenced_data_file`, or equal lower and upper
 * bounds of its `file_path` column (as Java's ContentFileUtil reads it). Undefined for equality deletes, and for
 * position delete files that may reference several data files.
 */
export function referencedDataFileOf(file: DataFile): string | undefined {
  if (file.content !== DataFileContent.POSITION_DELETES) return undefined;
  if (file.referencedDataFile !== undefined) return file.referencedDataFile;
  const lower = file.lowerBounds?.get(POSITION_DELETE_FILE_PATH_FIELD_ID);
  const upper = file.upperBounds?.get(POSITION_DELETE_FILE_PATH_FIELD_ID);
  if (!lower || !upper || lower.length !== upper.length || !lower.every((b, i) => b === upper[i])) return undefined;
  return utf8.decode(lower);
}

export function isLive(entry: ManifestEntry): boolean {
  return entry.status !== ManifestEntryStatus.DELETED;
}
