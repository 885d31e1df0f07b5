// remove-orphan-files: deletes files under the table's location that no metadata references (left by crashed
// writers or lost commits), if they are older than a safety margin so in-flight writes are never touched.
// Must never: delete a file younger than the margin, or one the table's metadata knows of.
import type { Table } from '../catalogs/catalog.js';
import { allKnownFiles } from '../read/reachable-files.js';

export interface RemoveOrphanFilesOptions {
  /** Only files last modified before this (ms since the epoch). Default: now minus 3 days, Iceberg's default. */
  olderThanMs?: number;
  /** List what would go without deleting. */
  dryRun?: boolean;
  /** Locations of other tables nested under this table's location (a table `a.b.c` under `a.b`): never touched. */
  otherTables?: readonly string[];
  now?: () => number;
}

/** file:///a/b, file:/a/b and /a/b are the same file; s3a:// and s3:// the same object. */
export function normalizeLocation(location: string): string {
  return location.replace(/^file:(\/\/)?/, '').replace(/^s3[an]:\/\//, 's3://').replace(/\/{2,}/g, (m, offset: number) => (offset <= 5 ? m : '/'));
}

export async function removeOrphanFiles(table: Table, options: RemoveOrphanFilesOptions = {}): Promise<string[]> {
  const now = options.now?.() ?? Date.now();
  const olderThan = options.olderThanMs ?? now - 3 * 24 * 3600 * 1000;
  const known = new Set([...(await allKnownFiles(table))].map(normalizeLocation));
  const orphans: string[] = [];
  const others = (options.otherTables ?? []).map((l) => `${normalizeLocation(l).replace(/\/+$/, '')}/`);
  for await (const file of table.io.list(`${table.metadata.location}/`)) {
    if (file.lastModifiedMs >= olderThan) continue;
    if (others.some((prefix) => normalizeLocation(file.location).startsWith(prefix))) continue;
    if (!known.has(normalizeLocation(file.location))) orphans.push(file.location);
  }
  if (!options.dryRun) await table.io.deleteMany(orphans);
  return orphans;
}
