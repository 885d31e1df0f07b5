// Which files a table references: manifest lists, manifests, data and delete files of a set of snapshots, and the
// metadata files. Used by expire-snapshots (what became unreferenced), remove-orphan-files (what never was) and
// drop-with-purge. Must never: delete a file that a kept snapshot still references.
import type { Table } from '../catalogs/catalog.js';
import { isLive } from '../spec/manifest.js';
import type { Snapshot } from '../spec/snapshot.js';
import { entriesOf, manifestsOf, mapLimit } from './manifests.js';

export interface ReachableFiles {
  readonly manifestLists: Set<string>;
  readonly manifests: Set<string>;
  /** Data and delete files live in at least one of the snapshots. */
  readonly contentFiles: Set<string>;
}

/**
 * Files that `snapshots` read. An entry with status DELETED does not count: the snapshot that wrote it no longer reads
 * that file (its parent did, and the parent is in the set if it is kept).
 */
export async function reachableFiles(table: Table, snapshots: readonly Snapshot[]): Promise<ReachableFiles> {
  const manifestLists = new Set<string>();
  const manifests = new Map<string, Parameters<typeof entriesOf>[1]>();
  for (const snapshot of snapshots) {
    manifestLists.add(snapshot.manifestList);
    for (const manifest of await manifestsOf(table.io, snapshot)) manifests.set(manifest.manifestPath, manifest);
  }
  const contentFiles = new Set<string>();
  const perManifest = await mapLimit([...manifests.values()], 8, (m) => entriesOf(table.io, m));
  for (const entries of perManifest) for (const entry of entries) if (isLive(entry)) contentFiles.add(entry.dataFile.filePath);
  return { manifestLists, manifests: new Set(manifests.keys()), contentFiles };
}

/** Statistics and partition-statistics files the metadata lists (Puffin files written by Trino or Spark ANALYZE). */
export function statisticsFiles(metadata: Table['metadata']): string[] {
  return [...metadata.statistics, ...metadata.partitionStatistics]
    .map((e) => (e as Record<string, unknown> | null)?.['statistics-path'])
    .filter((p): p is string => typeof p === 'string');
}

/**
 * Every file of the table that its metadata knows of: all snapshots' files, statistics files, and the current and
 * logged metadata files.
 */
export async function allKnownFiles(table: Table): Promise<Set<string>> {
  const reachable = await reachableFiles(table, table.metadata.snapshots);
  return new Set([
    ...reachable.manifestLists,
    ...reachable.manifests,
    ...reachable.contentFiles,
    ...statisticsFiles(table.metadata),
    table.metadataLocation,
    ...table.metadata.metadataLog.map((e) => e.metadataFile),
  ]);
}

/**
 * Deletes the files the table references (drop with purge) that lie below its own location and that `within`
 * accepts: metadata may name any path, and dropping one table must never delete another's files. Missing files are
 * fine. Returns how many were deleted.
 */
export async function purgeTableFiles(table: Table, options: { within?: (location: string) => boolean } = {}): Promise<number> {
  const within = options.within ?? (() => true);
  const inside = `${table.metadata.location}/`;
  const files = [...(await allKnownFiles(table))].filter((f) => within(f) && f.startsWith(inside) && !f.slice(inside.length).split('/').includes('..'));
  await table.io.deleteMany(files);
  return files.length;
}
