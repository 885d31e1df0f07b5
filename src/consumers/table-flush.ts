// One flush of one table: the batch's rows become data files, the rows they replace or delete become position
// deletes (found through the primary-key index), and both land in one row-delta snapshot whose summary carries the
// Kafka offsets and source positions the batch reaches. The commit is fenced: it only lands while the table still
// records, for every topic-partition of the batch, the offsets this sink built the batch on.
// Must never: commit a batch whose partitions another writer moved on; delete a file after an unknown commit outcome.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { CommitStateUnknownError, PartitionFencedError } from '../shared/errors.js';
import { measureSinkCommit } from '../shared/metrics.js';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import { readRowsAt } from '../catalog/read/scan-table.js';
import type { DataFile } from '../catalog/spec/manifest.js';
import { partitionKey } from '../catalog/spec/partition-spec.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import { commitAction } from '../catalog/transaction/action.js';
import { rowDelta } from '../catalog/transaction/row-delta.js';
import type { PositionDelete } from '../catalog/writer/parquet-file.js';
import type { TableWriterOptions } from '../catalog/writer/table-writer.js';
import { TableWriter, writePositionDeletes } from '../catalog/writer/table-writer.js';
import { avroFieldName } from '../schemas/avro-iceberg.js';
import type { Row } from '../schemas/envelope.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import type { BufferedChange, ChangeBuffer } from './change-buffer.js';
import { BATCH_ROWS } from './change-buffer.js';
import type { PartitionKey, Position, TableProgress } from './offsets.js';
import {
  COMMIT_ID_PROPERTY, encodeOffsets, encodePositions, hasCommit, KAFKA_GROUP_PROPERTY, KAFKA_MAX_TIMESTAMP_PROPERTY, KAFKA_MIN_TIMESTAMP_PROPERTY,
  KAFKA_OFFSETS_PROPERTY, mergeProgress, parsePartitionKey, SOURCE_POSITIONS_PROPERTY, tableProgress,
} from './offsets.js';
import type { IndexedFile, PrimaryKeyIndex } from './pk-index.js';
import { indexedFile } from './pk-index.js';


export interface FlushContext {
  readonly catalog: Catalog;
  readonly id: TableIdentifier;
  readonly group: string;
  readonly logger: Logger;
  readonly writerOptions?: TableWriterOptions;
  /** The offsets this sink believes the table has, per topic-partition it owns (the fence). */
  readonly committed: ReadonlyMap<PartitionKey, bigint | undefined>;
  /** Keyed tables: the index, current for `base`. */
  readonly index: PrimaryKeyIndex | undefined;
  /** Keyed tables with a truncate in the batch: whether a key's rows go (its partition was truncated). */
  readonly truncates?: (key: string) => boolean;
}

export interface FlushOutcome {
  readonly table: Table;
  readonly snapshotId: bigint | undefined;
  readonly rowsAdded: number;
  readonly rowsDeleted: number;
  readonly dataFiles: number;
  readonly deleteFiles: number;
  /** Next offset per topic-partition, as committed. */
  readonly offsets: ReadonlyMap<PartitionKey, bigint>;
  readonly positions: ReadonlyMap<PartitionKey, Position>;
}

/** Throws PartitionFencedError when the table's offsets for the batch's partitions are not the ones expected. */
export function checkFence(name: string, progress: TableProgress, partitions: Iterable<PartitionKey>, committed: ReadonlyMap<PartitionKey, bigint | undefined>): void {
  for (const tp of partitions) {
    const expected = committed.get(tp);
    const found = progress.offsets.get(tp);
    if (expected !== found) {
      const { topic, partition } = parsePartitionKey(tp);
      throw new PartitionFencedError(`${name}: expected the table to record offset ${expected ?? 'none'} for ${topic} partition ${partition}, found ${found ?? 'none'} (another sink committed it): the batch is dropped and read again`, { context: { table: name, topic, partition, expected: expected?.toString(), found: found?.toString() } });
    }
  }
}

/** Fills the columns changes did not send (unchanged TOAST values) from the rows the table has for their keys. */
async function fillUnavailable(base: Table, index: PrimaryKeyIndex, changes: [string, BufferedChange][], rowNames: 'avro' | 'iceberg'): Promise<Map<string, Row>> {
  const filled = new Map<string, Row>();
  const byFile = new Map<string, { file: IndexedFile; wants: { key: string; position: number; change: BufferedChange }[] }>();
  for (const [key, change] of changes) {
    if (!change.upsert || !change.unavailable) continue;
    const at = index.lookup(key)[0];
    if (!at) continue; // no current row: the columns stay null
    const entry = byFile.get(at.file.path) ?? { file: at.file, wants: [] };
    entry.wants.push({ key, position: at.position, change });
    byFile.set(at.file.path, entry);
  }
  const schema = currentSchema(base.metadata);
  const nameOf = new Map(schema.fields.map((f) => [rowNames === 'avro' ? avroFieldName(f.name) : f.name, f.name]));
  for (const { file, wants } of byFile.values()) {
    const columns = [...new Set(wants.flatMap((w) => w.change.unavailable ?? []))].map((c) => nameOf.get(c) ?? c);
    const rows = await readRowsAt(base, { filePath: file.path, recordCount: file.recordCount }, wants.map((w) => w.position), columns);
    for (const want of wants) {
      const old = rows.get(want.position);
      if (!old) continue;
      const row = { ...want.change.row };
      for (const column of want.change.unavailable ?? []) row[column] = old[nameOf.get(column) ?? column] ?? null;
      filled.set(want.key, row);
    }
  }
  return filled;
}

/**
 * Writes and commits one batch. On a lost or refused commit the files written are removed (never after an unknown
 * outcome). Measured (metrics.ts measureSinkCommit): outcome, duration, rows, batch size, freshness.
 */
export async function flushBatch(ctx: FlushContext, base: Table, buffer: ChangeBuffer): Promise<FlushOutcome> {
  return measureSinkCommit(formatIdentifier(ctx.id), buffer, () => writeAndCommit(ctx, base, buffer));
}

async function writeAndCommit(ctx: FlushContext, base: Table, buffer: ChangeBuffer): Promise<FlushOutcome> {
  const name = formatIdentifier(ctx.id);
  checkFence(name, tableProgress(base.metadata), buffer.ranges.keys(), ctx.committed);
  const writer = new TableWriter(base, ctx.writerOptions);
  const rowKeys: string[] = [];
  const deletes: { file: IndexedFile; position: number }[] = [];
  const truncatedKeys: string[] = [];
  let written: DataFile[] = [];
  const deleteFiles: DataFile[] = [];
  try {
    if (ctx.index) {
      const index = ctx.index;
      const changes = [...buffer.changes];
      const filled = changes.some(([, c]) => c.unavailable) ? await fillUnavailable(base, index, changes, buffer.rowNames) : new Map<string, Row>();
      const seen = new Set<string>();
      const remove = (key: string): void => {
        for (const at of index.lookup(key)) {
          const id = `${at.position}:${at.file.path}`;
          if (!seen.has(id)) deletes.push(at);
          seen.add(id);
        }
      };
      if (buffer.truncated.size > 0) {
        // A truncate: the rows of the truncated partitions' keys go (the batch's later changes are written below).
        const matches = ctx.truncates ?? ((): boolean => true);
        for (const key of index.keys()) if (matches(key)) truncatedKeys.push(key);
        truncatedKeys.forEach(remove);
      }
      const builder = new RowBatchBuilder(currentSchema(base.metadata), { rowNames: buffer.rowNames });
      for (const [key, change] of changes) {
        remove(key);
        if (!change.upsert) continue;
        builder.append(filled.get(key) ?? change.row);
        rowKeys.push(key);
        if (builder.length >= BATCH_ROWS) await writer.write(builder.build());
      }
      if (builder.length > 0) await writer.write(builder.build());
    } else {
      for (const batch of buffer.takeBatches()) await writer.write(batch);
    }
    written = await writer.close();
    // Position deletes, one file per partition of the data files they point at.
    const byPartition = new Map<string, { file: IndexedFile; rows: PositionDelete[] }>();
    for (const { file, position } of deletes) {
      const key = `${file.specId}:${partitionKey(file.partition)}`;
      const group = byPartition.get(key) ?? { file, rows: [] };
      group.rows.push({ filePath: file.path, pos: BigInt(position) });
      byPartition.set(key, group);
    }
    for (const { file, rows } of byPartition.values()) deleteFiles.push(await writePositionDeletes(base, rows, { specId: file.specId, partition: file.partition, ...ctx.writerOptions }));
  } catch (error) {
    await base.io.deleteMany([...written, ...deleteFiles].map((f) => f.filePath)).catch(() => undefined);
    throw error;
  }

  const commitId = randomUUID();
  const nextOffsets = new Map([...buffer.ranges].map(([tp, r]) => [tp, r.next]));
  const action = rowDelta({
    dataFiles: written,
    deleteFiles,
    referencedDataFiles: [...new Set(deletes.map((d) => d.file.path))],
    validate: (latest) => checkFence(name, tableProgress(latest.metadata), buffer.ranges.keys(), ctx.committed),
    summary: (latest) => {
      const merged = mergeProgress(tableProgress(latest.metadata), nextOffsets, buffer.positions);
      return {
        [KAFKA_OFFSETS_PROPERTY]: encodeOffsets(merged.offsets),
        ...(merged.positions.size > 0 ? { [SOURCE_POSITIONS_PROPERTY]: encodePositions(merged.positions) } : {}),
        [KAFKA_GROUP_PROPERTY]: ctx.group,
        [COMMIT_ID_PROPERTY]: commitId,
        ...(buffer.minTimestampMs === undefined ? {} : { [KAFKA_MIN_TIMESTAMP_PROPERTY]: String(buffer.minTimestampMs), [KAFKA_MAX_TIMESTAMP_PROPERTY]: String(buffer.maxTimestampMs) }),
      };
    },
  });
  let table: Table;
  try {
    table = (await commitAction(ctx.catalog, ctx.id, action, { base })).table;
  } catch (error) {
    if (error instanceof CommitStateUnknownError) {
      // Did it land? Only the table can say; if it cannot be read either, the caller starts over from the table.
      const reloaded = await ctx.catalog.loadTable(ctx.id);
      if (!hasCommit(reloaded.metadata, commitId)) throw error;
      ctx.logger.warn({ table: name, commitId }, 'the catalog did not confirm the commit, but the table has it');
      table = reloaded;
    } else {
      await base.io.deleteMany([...written, ...deleteFiles].map((f) => f.filePath)).catch(() => undefined);
      throw error;
    }
  }

  // The index follows the commit: replaced and deleted keys leave, new rows come in where the writer put them.
  if (ctx.index) {
    const index = ctx.index;
    for (const key of truncatedKeys) index.delete(key);
    for (const key of buffer.changes.keys()) index.delete(key);
    for (const file of written) {
      const at = indexedFile(file);
      let position = 0;
      for (const range of writer.rowRangesOf(file.filePath)) {
        for (let i = 0; i < range.count; i++) index.set(rowKeys[range.firstRow + i]!, at, position++);
      }
    }
  }
  const progress = tableProgress(table.metadata);
  return {
    table,
    snapshotId: table.metadata.currentSnapshotId,
    rowsAdded: written.reduce((n, f) => n + Number(f.recordCount), 0),
    rowsDeleted: deletes.length,
    dataFiles: written.length,
    deleteFiles: deleteFiles.length,
    offsets: nextOffsets,
    positions: new Map([...buffer.positions.keys()].map((tp) => [tp, progress.positions.get(tp)!] as const).filter(([, p]) => p !== undefined)),
  };
}
