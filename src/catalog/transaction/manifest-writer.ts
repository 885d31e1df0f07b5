// Writes one manifest file through FileIO and returns its manifest-list entry (counts, row totals, partition field
// summaries with bounds in the single-value encoding). Must never: overwrite an existing file (conditional create).
import type { FileIO } from '../io/file-io.js';
import type { PrimitiveValue } from '../spec/conversions.js';
import { compareValues, toBytes } from '../spec/conversions.js';
import type { FieldSummary, ManifestContent, ManifestEntry, ManifestFile } from '../spec/manifest.js';
import { ManifestEntryStatus, UNASSIGNED_SEQUENCE_NUMBER } from '../spec/manifest.js';
import { writeManifest } from '../spec/manifest-avro.js';
import type { PartitionSpec } from '../spec/partition-spec.js';
import { partitionType } from '../spec/partition-spec.js';
import type { Schema } from '../spec/schema.js';

export interface ManifestWriteRequest {
  io: FileIO;
  location: string;
  schema: Schema;
  spec: PartitionSpec;
  content: ManifestContent;
  snapshotId: bigint;
  entries: readonly ManifestEntry[];
}

function partitionSummaries(spec: PartitionSpec, schema: Schema, entries: readonly ManifestEntry[]): FieldSummary[] {
  const types = partitionType(spec, schema);
  return types.map((t, i) => {
    let containsNull = false;
    let containsNan = false;
    let lower: PrimitiveValue | undefined;
    let upper: PrimitiveValue | undefined;
    for (const entry of entries) {
      const value = entry.dataFile.partition[i] as PrimitiveValue | null | undefined;
      if (value === null || value === undefined) {
        containsNull = true;
        continue;
      }
      if (typeof value === 'number' && Number.isNaN(value)) {
        containsNan = true;
        continue;
      }
      if (lower === undefined || compareValues(t.type, value, lower) < 0) lower = value;
      if (upper === undefined || compareValues(t.type, value, upper) > 0) upper = value;
    }
    const isFloat = t.type.kind === 'float' || t.type.kind === 'double';
    return {
      containsNull,
      ...(isFloat ? { containsNan } : {}),
      ...(lower === undefined ? {} : { lowerBound: toBytes(t.type, lower) }),
      ...(upper === undefined ? {} : { upperBound: toBytes(t.type, upper) }),
    };
  });
}

export async function writeManifestFile(request: ManifestWriteRequest): Promise<ManifestFile> {
  const { entries } = request;
  const bytes = writeManifest({ schema: request.schema, spec: request.spec, content: request.content, entries });
  await request.io.write(request.location, bytes, { ifNoneMatch: true, contentType: 'avro/binary' });
  let added = 0;
  let existing = 0;
  let deleted = 0;
  let addedRows = 0n;
  let existingRows = 0n;
  let deletedRows = 0n;
  let minSequence: bigint | undefined;
  for (const entry of entries) {
    const rows = entry.dataFile.recordCount;
    if (entry.status === ManifestEntryStatus.ADDED) {
      added++;
      addedRows += rows;
    } else if (entry.status === ManifestEntryStatus.EXISTING) {
      existing++;
      existingRows += rows;
    } else {
      deleted++;
      deletedRows += rows;
    }
    if (entry.status !== ManifestEntryStatus.DELETED && entry.sequenceNumber !== undefined) {
      minSequence = minSequence === undefined || entry.sequenceNumber < minSequence ? entry.sequenceNumber : minSequence;
    }
  }
  return {
    manifestPath: request.location,
    manifestLength: BigInt(bytes.length),
    partitionSpecId: request.spec.specId,
    content: request.content,
    sequenceNumber: UNASSIGNED_SEQUENCE_NUMBER,
    minSequenceNumber: minSequence ?? UNASSIGNED_SEQUENCE_NUMBER,
    addedSnapshotId: request.snapshotId,
    addedFilesCount: added,
    existingFilesCount: existing,
    deletedFilesCount: deleted,
    addedRowsCount: addedRows,
    existingRowsCount: existingRows,
    deletedRowsCount: deletedRows,
    partitions: partitionSummaries(request.spec, request.schema, entries),
  };
}
