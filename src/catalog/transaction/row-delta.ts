// row-delta: data files and position (or equality) delete files in one snapshot — the sink's upsert commit.
// Validates that every data file the new position deletes point at is still live, so a concurrent compaction that
// rewrote one of them turns into a conflict instead of a lost delete.
// Must never: commit deletes against a data file that is no longer in the table.
import { CommitConflictError } from '../../shared/errors.js';
import { liveFilesOf } from '../read/manifests.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import { SnapshotProducer } from './snapshot-producer.js';

export interface RowDeltaOptions {
  dataFiles?: readonly DataFile[];
  deleteFiles?: readonly DataFile[];
  /** Data files the position deletes reference; each must still be live when the commit lands. */
  referencedDataFiles?: readonly string[];
  summary?: Readonly<Record<string, string>>;
  branch?: string;
}

export function rowDelta(options: RowDeltaOptions): SnapshotProducer {
  const dataFiles = options.dataFiles ?? [];
  const deleteFiles = options.deleteFiles ?? [];
  const referenced = new Set(options.referencedDataFiles ?? []);
  for (const f of deleteFiles) if (f.referencedDataFile) referenced.add(f.referencedDataFile);
  const operation = deleteFiles.length > 0 ? (dataFiles.length > 0 ? 'overwrite' : 'delete') : 'append';
  return new SnapshotProducer({
    operation,
    added: [...dataFiles, ...deleteFiles],
    ...(options.summary ? { summary: options.summary } : {}),
    ...(options.branch ? { branch: options.branch } : {}),
    validate: async (base, parent) => {
      if (referenced.size === 0) return;
      const live = new Set((await liveFilesOf(base.io, parent)).data.map((d) => d.entry.dataFile.filePath));
      const gone = [...referenced].filter((p) => !live.has(p));
      if (gone.length > 0) {
        throw new CommitConflictError(`row-delta: expected the data files its deletes reference to be live, found ${gone.length} rewritten or removed since: ${gone.slice(0, 5).join(', ')}`, { retriable: false, context: { gone } });
      }
      const wrongKind = dataFiles.find((f) => f.content !== DataFileContent.DATA);
      if (wrongKind) throw new CommitConflictError(`row-delta: ${wrongKind.filePath} is listed as a data file but has content ${wrongKind.content}`, { retriable: false });
    },
  });
}
