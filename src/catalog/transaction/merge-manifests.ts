// Manifest merging, as Iceberg's merge-append does it: a streaming writer commits every few seconds, and a manifest per
// commit would leave a table with tens of thousands of small manifests a day that every scan, view refresh and
// compaction must read. Each commit packs the manifests it carries over, per partition spec and content, from the
// oldest into bins of up to `commit.manifest.target-size-bytes`; a bin of more than one manifest is merged into one,
// except the newest bin, which waits until it holds `commit.manifest.min-count-to-merge` manifests. Table properties
// (Iceberg's names and defaults): commit.manifest-merge.enabled (true), commit.manifest.min-count-to-merge (100),
// commit.manifest.target-size-bytes (8 MiB).
// Must never: change a file's sequence numbers or the snapshot that added it; keep an entry deleted by an older snapshot;
// fail a commit over a tuning property Java would accept.
import type { ManifestEntry, ManifestFile } from '../spec/manifest.js';
import { ManifestEntryStatus } from '../spec/manifest.js';
import type { TableMetadata } from '../spec/table-metadata.js';
import { propertyInt } from '../spec/table-metadata.js';

export const MANIFEST_MERGE_ENABLED = 'commit.manifest-merge.enabled';
export const MANIFEST_MIN_COUNT_TO_MERGE = 'commit.manifest.min-count-to-merge';
export const MANIFEST_TARGET_SIZE_BYTES = 'commit.manifest.target-size-bytes';

export interface ManifestMergePolicy {
  readonly enabled: boolean;
  readonly minCountToMerge: number;
  readonly targetSizeBytes: number;
}

/**
 * The table's merge policy, read as Java reads it: a boolean is true only when it says "true"; a min count below 2
 * acts as 2; a target of 0 or less merges nothing. A number that is not one fails (Java fails the same way). Merging is
 * off for format v1 tables: the manifests written here have the v2 layout.
 */
export function manifestMergePolicy(metadata: TableMetadata): ManifestMergePolicy {
  const raw = metadata.properties[MANIFEST_MERGE_ENABLED];
  return {
    enabled: metadata.formatVersion >= 2 && (raw === undefined || raw.trim().toLowerCase() === 'true'),
    minCountToMerge: propertyInt(metadata, MANIFEST_MIN_COUNT_TO_MERGE, 100),
    targetSizeBytes: propertyInt(metadata, MANIFEST_TARGET_SIZE_BYTES, 8 * 1024 * 1024),
  };
}

/**
 * Packs `items` (newest first) into bins of at most `target` total weight, filling from the oldest so that the newest
 * bin is the one left partly full. An item heavier than the target gets a bin of its own. Order is kept: bins newest
 * first, items within a bin newest first.
 */
export function packFromOldest<T>(items: readonly T[], weight: (item: T) => number, target: number): T[][] {
  const bins: T[][] = [];
  let bin: T[] = [];
  let size = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    const w = weight(item);
    if (bin.length > 0 && size + w > target) {
      bins.push(bin);
      bin = [];
      size = 0;
    }
    bin.push(item);
    size += w;
  }
  if (bin.length > 0) bins.push(bin);
  return bins.reverse().map((b) => b.reverse());
}

/**
 * Which bins to merge: every bin of two or more manifests, except the newest while it is under the minimum count
 * (`all`: the newest too, as a rewrite of the manifests does).
 */
export function binsToMerge<T>(bins: readonly T[][], policy: ManifestMergePolicy, all = false): boolean[] {
  return bins.map((bin, i) => bin.length > 1 && (all || i > 0 || bin.length >= policy.minCountToMerge));
}

/**
 * How many of a snapshot's manifests a rewrite of the manifests (every bin merged) would replace, counting only the
 * spec-and-content groups that reached the minimum count: commits that merge keep each group under it.
 */
export function manifestsToMerge(manifests: readonly ManifestFile[], policy: ManifestMergePolicy): number {
  let count = 0;
  for (const group of groupBySpecAndContent(manifests.map((manifest) => ({ manifest })))) {
    if (group.length < policy.minCountToMerge) continue;
    const bins = packFromOldest(group, (c) => Number(c.manifest.manifestLength), policy.targetSizeBytes);
    binsToMerge(bins, policy, true).forEach((merge, i) => {
      if (merge) count += bins[i]!.length;
    });
  }
  return count;
}

/**
 * The entries a merged manifest written by snapshot `snapshotId` keeps: files deleted by this snapshot stay DELETED
 * (the snapshot's own record of what it removed), files deleted by older snapshots are dropped, and every live file
 * becomes EXISTING with its snapshot id and sequence numbers written out (they can no longer be inherited).
 */
export function mergedEntries(entries: readonly ManifestEntry[], snapshotId: bigint): ManifestEntry[] {
  const kept: ManifestEntry[] = [];
  for (const entry of entries) {
    if (entry.status === ManifestEntryStatus.DELETED) {
      if (entry.snapshotId === snapshotId) kept.push(entry);
      continue;
    }
    kept.push({ ...entry, status: ManifestEntryStatus.EXISTING });
  }
  return kept;
}

/** Groups manifests by partition spec and content, in order of first appearance. */
export function groupBySpecAndContent<T extends { manifest: ManifestFile }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = `${item.manifest.partitionSpecId}:${item.manifest.content}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}
