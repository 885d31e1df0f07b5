// expire-snapshots: removes snapshots older than a cutoff (keeping branch and tag heads and the newest
// `retainLast` snapshots of each branch's line, or what a branch's own retention settings say), commits that, and only then deletes the manifest lists, manifests,
// data and delete files that no kept snapshot references any more.
// Must never: delete a file before the commit is confirmed, or a file a kept snapshot still reads.
import type { Table } from '../catalogs/catalog.js';
import { reachableFiles, statisticsFiles } from '../read/reachable-files.js';
import type { Snapshot } from '../spec/snapshot.js';
import { ancestorsOf } from '../spec/table-metadata.js';
import type { PendingCommit, TableAction } from './action.js';

export interface ExpireSnapshotsOptions {
  /** Snapshots older than this (ms since the epoch) may expire. Default: `history.expire.max-snapshot-age-ms` or 5 days. */
  olderThanMs?: number;
  /** Snapshots to keep on each branch line however old. Default: `history.expire.min-snapshots-to-keep` or 1. */
  retainLast?: number;
  /** Expire exactly these (they must not be branch or tag heads). */
  snapshotIds?: readonly bigint[];
  /** Delete the files that become unreferenced (default true). */
  deleteFiles?: boolean;
  now?: () => number;
}

export interface ExpireSnapshotsResult {
  expiredSnapshotIds: bigint[];
  deletedFiles: { manifestLists: number; manifests: number; contentFiles: number };
  /** Unreferenced files outside the table's location, kept: another table's (or tenant's) files are never deleted. */
  keptOutsideLocation: number;
}

export class ExpireSnapshots implements TableAction {
  readonly name = 'expire-snapshots';
  result: ExpireSnapshotsResult = { expiredSnapshotIds: [], deletedFiles: { manifestLists: 0, manifests: 0, contentFiles: 0 }, keptOutsideLocation: 0 };
  private expired: Snapshot[] = [];

  constructor(private readonly options: ExpireSnapshotsOptions = {}) {}

  private selectExpired(base: Table): Snapshot[] {
    const metadata = base.metadata;
    const props = metadata.properties;
    const now = this.options.now?.() ?? Date.now();
    const olderThan = this.options.olderThanMs ?? now - Number(props['history.expire.max-snapshot-age-ms'] ?? 5 * 24 * 3600 * 1000);
    const retainLast = Math.max(1, this.options.retainLast ?? Number(props['history.expire.min-snapshots-to-keep'] ?? 1));
    const keep = new Set<bigint>();
    for (const [, ref] of metadata.refs) {
      keep.add(ref.snapshotId);
      if (ref.type === 'branch') {
        // A branch's own retention (min-snapshots-to-keep, max-snapshot-age-ms) overrides the table's, as in Java.
        const branchRetain = ref.minSnapshotsToKeep ?? retainLast;
        const branchOlderThan = ref.maxSnapshotAgeMs === undefined ? olderThan : now - ref.maxSnapshotAgeMs;
        ancestorsOf(metadata, ref.snapshotId).forEach((s, i) => {
          if (i < branchRetain || (this.options.snapshotIds === undefined && s.timestampMs >= branchOlderThan)) keep.add(s.snapshotId);
        });
      }
    }
    if (this.options.snapshotIds) {
      const wanted = new Set(this.options.snapshotIds);
      return metadata.snapshots.filter((s) => wanted.has(s.snapshotId) && !keep.has(s.snapshotId));
    }
    return metadata.snapshots.filter((s) => !keep.has(s.snapshotId) && s.timestampMs < olderThan);
  }

  prepare(base: Table): Promise<PendingCommit> {
    this.expired = this.selectExpired(base);
    if (this.expired.length === 0) return Promise.resolve({ updates: [], requirements: [] });
    return Promise.resolve({
      requirements: [{ type: 'assert-table-uuid', uuid: base.metadata.tableUuid }],
      updates: [{ action: 'remove-snapshots', snapshotIds: this.expired.map((s) => s.snapshotId) }],
    });
  }

  async committed(result: Table, base: Table): Promise<void> {
    const expiredIds = this.expired.map((s) => s.snapshotId);
    this.result = { expiredSnapshotIds: expiredIds, deletedFiles: { manifestLists: 0, manifests: 0, contentFiles: 0 }, keptOutsideLocation: 0 };
    if (this.expired.length === 0 || this.options.deleteFiles === false) return;
    const before = await reachableFiles(base, this.expired);
    const after = await reachableFiles(result, result.metadata.snapshots);
    // Only files below the table's own location are deleted: metadata may name any path (a REST client wrote it), and
    // expiring one table must never delete another's files. Files elsewhere are left, and counted.
    const inside = `${result.metadata.location}/`;
    let outside = 0;
    const gone = (files: Set<string>, kept: Set<string>): string[] => [...files].filter((f) => {
      if (kept.has(f)) return false;
      if (f.startsWith(inside) && !f.slice(inside.length).split('/').includes('..')) return true;
      outside++;
      return false;
    });
    const manifestLists = gone(before.manifestLists, after.manifestLists);
    const manifests = gone(before.manifests, after.manifests);
    const contentFiles = gone(before.contentFiles, after.contentFiles);
    const statistics = gone(new Set(statisticsFiles(base.metadata)), new Set(statisticsFiles(result.metadata)));
    await result.io.deleteMany([...contentFiles, ...manifests, ...manifestLists, ...statistics]);
    this.result.keptOutsideLocation = outside;
    this.result.deletedFiles = { manifestLists: manifestLists.length, manifests: manifests.length, contentFiles: contentFiles.length };
  }
}

export const expireSnapshots = (options?: ExpireSnapshotsOptions): ExpireSnapshots => new ExpireSnapshots(options);
