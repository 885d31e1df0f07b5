// Dead-letter counts for the status page: the DLQ topic's size (end − start offset per partition) and the DLQ Iceberg
// table's live letters per target table and kind. The table is scanned (three columns, position deletes applied) only
// when it is small enough, and the counts are cached per table snapshot, so a page refreshing every few seconds scans
// once per change of the DLQ table.
// Must never: read letters' payloads, or show a tenant letters meant for tables that are not its own.
import type { Catalog, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../../catalog/catalogs/catalog.js';
import { scanRows } from '../../catalog/read/scan-table.js';
import { liveRows } from '../../catalog/read/table-info.js';
import { Summary } from '../../catalog/spec/snapshot.js';
import { currentSnapshot } from '../../catalog/spec/table-metadata.js';
import type { AccessScope } from '../../tenants/scope.js';
import type { TopicOffsetsResult } from './status-sources.js';
import { errorText, ownsTableName } from './status-sources.js';
import type { DeadLetterCount, DeadLettersSection } from './status-types.js';

/** Counts of the DLQ table, remembered per metadata file (one entry: the newest). */
export interface DeadLetterCache {
  metadataLocation?: string;
  counts?: DeadLetterCount[];
}

export interface DeadLetterCountsOptions {
  readonly catalog: Catalog;
  readonly table: TableIdentifier;
  readonly scope: AccessScope;
  /** Scan the table for per-table counts only up to this many records. */
  readonly maxScanRows: number;
  readonly cache?: DeadLetterCache;
}

type TablePart = Pick<DeadLettersSection, 'tableTotal' | 'tableError' | 'byTable' | 'note'>;

/** Live letters per target table and kind (largest first), counted by scanning the table's kind and table columns. */
async function countLetters(options: DeadLetterCountsOptions): Promise<{ counts: DeadLetterCount[] | undefined; total: number; note: string | null }> {
  const { catalog, table: id, maxScanRows, cache } = options;
  const table = await catalog.loadTable(id);
  const snapshot = currentSnapshot(table.metadata);
  if (!snapshot) return { counts: [], total: 0, note: null };
  const records = Number(snapshot.summary[Summary.TOTAL_RECORDS] ?? 0);
  const total = liveRows(snapshot.summary) ?? records;
  if (cache?.metadataLocation === table.metadataLocation && cache.counts) return { counts: cache.counts, total, note: null };
  if (records > maxScanRows) {
    return { counts: undefined, total, note: `the DLQ table holds ${records} records, more than the ${maxScanRows} this page scans: use \`duckhouse dlq list\` for details` };
  }
  const byKey = new Map<string, DeadLetterCount>();
  for await (const chunk of scanRows(table, { snapshotId: snapshot.snapshotId, columns: ['kind', 'table'] })) {
    for (const row of chunk) {
      const target = row.table === null || row.table === undefined ? null : String(row.table);
      const kind = String(row.kind);
      const key = JSON.stringify([target, kind]);
      const old = byKey.get(key);
      byKey.set(key, { table: target, kind, count: (old?.count ?? 0) + 1 });
    }
  }
  const counts = [...byKey.values()].sort((a, b) => b.count - a.count || (a.table ?? '').localeCompare(b.table ?? '') || a.kind.localeCompare(b.kind));
  if (cache) {
    cache.metadataLocation = table.metadataLocation;
    cache.counts = counts;
  }
  return { counts, total: counts.reduce((n, c) => n + c.count, 0), note: null };
}

/** The DLQ table's part of the dead-letter section, for the scope (a tenant sees the letters of its own tables). */
export async function deadLetterTableCounts(options: DeadLetterCountsOptions): Promise<TablePart> {
  const { catalog, table, scope } = options;
  try {
    if (!(await catalog.tableExists(table))) return { tableTotal: 0, tableError: null, byTable: [], note: `no DLQ table ${formatIdentifier(table)} yet: nothing was dead-lettered` };
    const { counts, total, note } = await countLetters(options);
    if (scope.kind === 'admin') return { tableTotal: total, tableError: null, byTable: counts ?? [], note };
    if (!counts) return { tableTotal: null, tableError: null, byTable: [], note };
    const own = counts.filter((c) => c.table !== null && ownsTableName(scope, c.table));
    return { tableTotal: own.reduce((n, c) => n + c.count, 0), tableError: null, byTable: own, note };
  } catch (error) {
    return { tableTotal: null, tableError: `reading ${formatIdentifier(table)} failed: ${errorText(error)}`, byTable: [], note: null };
  }
}

/** Letters in the DLQ topic: end − start offset summed over its partitions (admins only: it holds every tenant's). */
export function deadLetterTopicTotal(offsets: TopicOffsetsResult | undefined, topic: string): { topicTotal: number | null; topicError: string | null } {
  if (!offsets) return { topicTotal: null, topicError: `the offsets of ${topic} were not read` };
  if ('error' in offsets) {
    // No DLQ topic yet: nothing was ever dead-lettered.
    if (offsets.missing) return { topicTotal: 0, topicError: null };
    return { topicTotal: null, topicError: offsets.error };
  }
  const total = offsets.partitions.reduce((n, p) => n + (p.high - p.low), 0n);
  return { topicTotal: Number(total), topicError: null };
}
