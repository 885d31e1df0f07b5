// rewrite-files (operation "replace"): swaps files for files with the same rows, as compaction does. Validates that
// no delete file added since `startingSnapshotId` applies to a data file being replaced; otherwise the rewrite would
// resurrect deleted rows, so it fails with a non-retriable conflict and the compactor starts over.
// Must never: commit when a newer delete touches an input file.
import { CommitConflictError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import { entriesOf, manifestsOf } from '../read/manifests.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent, ManifestContent, ManifestEntryStatus, positionDeleteMayReference } from '../spec/manifest.js';
import { isUnpartitioned, partitionKey } from '../spec/partition-spec.js';
import type { Snapshot } from '../spec/snapshot.js';
import type { TableMetadata } from '../spec/table-metadata.js';
import { ancestorsOf, specById } from '../spec/table-metadata.js';
import type { SummaryProperties } from './snapshot-producer.js';
import { SnapshotProducer } from './snapshot-producer.js';

export interface RewriteFilesOptions {
  /** Files to replace: data files and the delete files that applied to them. */
  removed: readonly DataFile[];
  added: readonly DataFile[];
  /** The snapshot the rewrite read its input from. */
  startingSnapshotId: bigint | undefined;
  /** Extra summary properties, or a function of the base each attempt commits on (as SnapshotProducer takes). */
  summary?: SummaryProperties;
}

function mayTouch(metadata: TableMetadata, deleteFile: DataFile, data: DataFile): boolean {
  if (deleteFile.specId !== data.specId || partitionKey(deleteFile.partition) !== partitionKey(data.partition)) {
    return deleteFile.content === DataFileContent.EQUALITY_DELETES && isUnpartitioned(specById(metadata, deleteFile.specId));
  }
  if (deleteFile.content !== DataFileContent.POSITION_DELETES) return true;
  return positionDeleteMayReference(deleteFile, data.filePath);
}

async function deletesAddedSince(base: Table, parent: Snapshot | undefined, startingSnapshotId: bigint | undefined): Promise<DataFile[]> {
  const added: DataFile[] = [];
  for (const snapshot of ancestorsOf(base.metadata, parent?.snapshotId)) {
    if (snapshot.snapshotId === startingSnapshotId) return added;
    for (const manifest of await manifestsOf(base.io, snapshot)) {
      if (manifest.content !== ManifestContent.DELETES || manifest.addedSnapshotId !== snapshot.snapshotId) continue;
      for (const entry of await entriesOf(base.io, manifest)) {
        if (entry.status === ManifestEntryStatus.ADDED && entry.snapshotId === snapshot.snapshotId) added.push(entry.dataFile);
      }
    }
  }
  if (startingSnapshotId === undefined) return added;
  throw new CommitConflictError(`rewrite-files: expected snapshot ${startingSnapshotId} in the current history, found it expired; cannot validate`, { retriable: false });
}

export function rewriteFiles(options: RewriteFilesOptions): SnapshotProducer {
  const replacedData = options.removed.filter((f) => f.content === DataFileContent.DATA);
  return new SnapshotProducer({
    operation: 'replace',
    added: options.added,
    removed: options.removed,
    ...(options.summary ? { summary: options.summary } : {}),
    validate: async (base, parent) => {
      const newDeletes = await deletesAddedSince(base, parent, options.startingSnapshotId);
      for (const deleteFile of newDeletes) {
        const touched = replacedData.find((data) => mayTouch(base.metadata, deleteFile, data));
        if (touched) {
          throw new CommitConflictError(
            `rewrite-files: expected no new deletes for the files being replaced since snapshot ${options.startingSnapshotId}, found ${deleteFile.filePath} touching ${touched.filePath}`,
            { retriable: false, context: { deleteFile: deleteFile.filePath, dataFile: touched.filePath } },
          );
        }
      }
    },
  });
}
