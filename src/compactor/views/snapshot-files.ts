// The files the views refresher tracks, read from a table's manifests: the whole live file set of one snapshot (the
// oldest retained one, when ranges are rebuilt), and what one snapshot changed, read only from the manifests that
// snapshot wrote (`added_snapshot_id` = its id): ADDED entries of that snapshot start a file's range, DELETED ones end
// it. Refuses, like scan-table's checkTask, what DuckDB views cannot read: equality deletes and non-Parquet files.
// Must never: write or delete anything.
import type { Table } from '../../catalog/catalogs/catalog.js';
import { entriesOf, liveFilesOf, manifestsOf, mapLimit } from '../../catalog/read/manifests.js';
import type { DataFile } from '../../catalog/spec/manifest.js';
import { DataFileContent, ManifestEntryStatus } from '../../catalog/spec/manifest.js';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import { formatIdentifier } from '../../catalog/catalogs/catalog.js';
import { DuckHouseError } from '../../shared/errors.js';
import type { SnapshotDelta, TrackedFile } from './file-ranges.js';

/** Manifests read at once. */
const CONCURRENCY = 8;

/** The tracked form of a data or position delete file; throws for what the views cannot read. */
export function trackedFile(table: Table, file: DataFile): TrackedFile {
  const unsupported = (reason: string): DuckHouseError =>
    new DuckHouseError('metadata-invalid', `unsupported: table ${formatIdentifier(table.identifier)} cannot get DuckDB views: ${reason}`, { context: { file: file.filePath, unsupported: true } });
  if (file.content === DataFileContent.EQUALITY_DELETES) throw unsupported(`it has equality delete file ${file.filePath}; only position deletes can be applied`);
  if (file.fileFormat !== 'PARQUET') throw unsupported(`${file.content === DataFileContent.DATA ? 'data' : 'position delete'} file ${file.filePath} is ${file.fileFormat}; only Parquet files can be read`);
  return { location: file.filePath, content: file.content === DataFileContent.DATA ? 0 : 1 };
}

/** Every data and position delete file live in `snapshot`. */
export async function liveFilesAt(table: Table, snapshot: Snapshot): Promise<TrackedFile[]> {
  const live = await liveFilesOf(table.io, snapshot);
  return [...live.data, ...live.deletes].map(({ entry }) => trackedFile(table, entry.dataFile));
}

/** What `snapshot` added and removed, from the manifests it wrote. */
export async function changesOf(table: Table, snapshot: Snapshot): Promise<SnapshotDelta> {
  const manifests = (await manifestsOf(table.io, snapshot)).filter((m) => m.addedSnapshotId === snapshot.snapshotId);
  const perManifest = await mapLimit(manifests, CONCURRENCY, (m) => entriesOf(table.io, m));
  const added: TrackedFile[] = [];
  const removed: string[] = [];
  for (const entries of perManifest) {
    for (const entry of entries) {
      if (entry.snapshotId !== snapshot.snapshotId) continue;
      if (entry.status === ManifestEntryStatus.ADDED) added.push(trackedFile(table, entry.dataFile));
      else if (entry.status === ManifestEntryStatus.DELETED) removed.push(entry.dataFile.filePath);
    }
  }
  return { added, removed };
}

/** The changes of several snapshots (read `CONCURRENCY` snapshots at a time), in their order. */
export async function changesOfAll(table: Table, snapshots: readonly Snapshot[], onSnapshot?: (done: number) => void): Promise<SnapshotDelta[]> {
  let done = 0;
  return mapLimit(snapshots, CONCURRENCY, async (s) => {
    const delta = await changesOf(table, s);
    onSnapshot?.(++done);
    return delta;
  });
}
