// row-delta: data files and position (or equality) delete files in one snapshot — the sink's upsert commit.
// Validates that every data file the new position deletes point at is still live, so a concurrent compaction that
// rewrote one of them turns into a conflict instead of a lost delete.
// Must never: commit deletes against a data file that is no longer in the table.
import { CommitConflictError, DataInvalidError } from '../../shared/errors.js';
import { liveFilesOf } from '../read/manifests.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent, referencedDataFileOf } from '../spec/manifest.js';
import type { Table } from '../catalogs/catalog.js';
import type { Snapshot } from '../spec/snapshot.js';
import type { SummaryProperties } from './snapshot-producer.js';
import { SnapshotProducer } from './snapshot-producer.js';

export interface RowDeltaOptions {
  dataFiles?: readonly DataFile[];
  deleteFiles?: readonly DataFile[];
  /**
   * Data files the position deletes reference; each must still be live when the commit lands (or be added by this
   * commit). Files a delete file names itself (`referencedDataFile`, or equal file_path bounds) are added to these;
   * a delete file spanning several data files is only validated through this list, so pass it.
   */
  referencedDataFiles?: readonly string[];
  summary?: SummaryProperties;
  branch?: string;
  /** An extra check of the base before each attempt (the sink's Kafka-offset fencing); throw CommitConflictError. */
  validate?: (base: Table, parent: Snapshot | undefined) => Promise<void> | void;
}

export function rowDelta(options: RowDeltaOptions): SnapshotProducer {
  const dataFiles = options.dataFiles ?? [];
  const deleteFiles = options.deleteFiles ?? [];
  const wrongData = dataFiles.find((f) => f.content !== DataFileContent.DATA);
  if (wrongData) throw new DataInvalidError(`row-delta: ${wrongData.filePath} is listed as a data file but has content ${wrongData.content} (a delete file)`);
  const wrongDelete = deleteFiles.find((f) => f.content === DataFileContent.DATA);
  if (wrongDelete) throw new DataInvalidError(`row-delta: ${wrongDelete.filePath} is listed as a delete file but has content 0 (data)`);
  const referenced = new Set(options.referencedDataFiles ?? []);
  for (const f of deleteFiles) {
    const path = referencedDataFileOf(f);
    if (path !== undefined) referenced.add(path);
  }
  // Deletes may also point at rows this same commit adds (equal sequence numbers apply).
  for (const f of dataFiles) referenced.delete(f.filePath);
  const operation = deleteFiles.length > 0 ? (dataFiles.length > 0 ? 'overwrite' : 'delete') : 'append';
  return new SnapshotProducer({
    operation,
    added: [...dataFiles, ...deleteFiles],
    ...(options.summary ? { summary: options.summary } : {}),
    ...(options.branch ? { branch: options.branch } : {}),
    validate: async (base, parent) => {
      await options.validate?.(base, parent);
      if (referenced.size === 0) return;
      const live = new Set((await liveFilesOf(base.io, parent)).data.map((d) => d.entry.dataFile.filePath));
      const gone = [...referenced].filter((p) => !live.has(p));
      if (gone.length > 0) {
        throw new CommitConflictError(`row-delta: expected the data files its deletes reference to be live, found ${gone.length} rewritten or removed since: ${gone.slice(0, 5).join(', ')}`, { retriable: false, context: { gone } });
      }
    },
  });
}
