// The sink's dead-letter path: records it cannot take (undecodable, a schema the table refuses, a row that breaks the
// table's constraints) go to the DLQ topic AND to an Iceberg table where they can be queried. Each batch's letters
// land before the batch itself commits, and the DLQ table records up to which offset of each source partition it holds
// letters, so a batch read again after a crash does not add its letters twice.
// Must never: drop a letter's raw bytes, or commit the source table's offsets past a letter that was not recorded.
import type { Producer } from 'kafkajs';
import type { Logger } from '../shared/logger.js';
import { CommitConflictError, CommitStateUnknownError, FileExistsError } from '../shared/errors.js';
import { deadLettersSent } from '../shared/metrics.js';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import type { Schema } from '../catalog/spec/schema.js';
import { buildSchema } from '../catalog/spec/schema.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import { primitive } from '../catalog/spec/types.js';
import { commitAction } from '../catalog/transaction/action.js';
import { rowDelta } from '../catalog/transaction/row-delta.js';
import { TableWriter } from '../catalog/writer/table-writer.js';
import type { DeadLetter } from '../producers/dead-letter.js';
import { deadLetterMessage } from '../producers/dead-letter.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import type { PartitionKey } from './offsets.js';
import { encodeOffsets, KAFKA_OFFSETS_PROPERTY, partitionKeyOf, tableProgress } from './offsets.js';

const STRING = primitive('string');

/** The DLQ table's columns: the DeadLetter record (producers/dead-letter.ts), typed. */
export const DEAD_LETTER_SCHEMA: Schema = buildSchema([
  { name: 'kind', type: STRING, required: true },
  { name: 'message', type: STRING, required: true },
  { name: 'table', type: STRING },
  { name: 'topic', type: STRING },
  { name: 'partition', type: primitive('int') },
  { name: 'offset', type: primitive('long') },
  { name: 'key_base64', type: STRING },
  { name: 'raw_base64', type: STRING, required: true },
  { name: 'time', type: primitive('timestamptz'), required: true },
  { name: 'file', type: STRING },
  { name: 'file_sha256', type: STRING },
  { name: 'line', type: primitive('long') },
  { name: 'column', type: STRING },
  { name: 'lsn', type: STRING },
]).schema;

/** A letter as a row of the DLQ table. */
export function deadLetterRow(letter: DeadLetter): Record<string, unknown> {
  return {
    ...letter,
    offset: letter.offset === null ? null : BigInt(letter.offset),
    line: letter.line === null ? null : BigInt(letter.line),
    time: BigInt(Date.parse(letter.time)) * 1000n,
  };
}

export interface DeadLetterSinkOptions {
  readonly catalog: Catalog;
  readonly table: TableIdentifier;
  readonly topic: string;
  readonly producer: Producer;
  readonly logger: Logger;
}

export class DeadLetterSink {
  private readonly name: string;

  constructor(private readonly options: DeadLetterSinkOptions) {
    this.name = formatIdentifier(options.table);
  }

  private async loadOrCreate(): Promise<Table> {
    const { catalog, table } = this.options;
    if (await catalog.tableExists(table)) return catalog.loadTable(table);
    if (!(await catalog.namespaceExists(table.namespace))) {
      await catalog.createNamespace(table.namespace).catch(async (error: unknown) => {
        if (!(await catalog.namespaceExists(table.namespace))) throw error;
      });
    }
    try {
      return await catalog.createTable(table, { schema: DEAD_LETTER_SCHEMA, properties: { 'write.parquet.compression-codec': 'zstd', 'duckhouse.created-by': 'duckhouse sink (dead letters)' } });
    } catch (error) {
      if (error instanceof FileExistsError) return catalog.loadTable(table);
      throw error;
    }
  }

  /** Sends letters to the DLQ topic and appends them to the DLQ table. */
  async record(letters: readonly DeadLetter[]): Promise<void> {
    await this.send(letters);
    await this.append(letters);
  }

  /** Sends letters to the DLQ topic (acknowledged by all in-sync replicas); counted in duckhouse_dead_letters_total. */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.options.producer.send({ topic: this.options.topic, acks: -1, messages: letters.map(deadLetterMessage) });
    deadLettersSent(letters);
  }

  /** Appends the letters the DLQ table does not hold yet (by source partition and offset). */
  async append(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      const base = await this.loadOrCreate();
      const recorded = tableProgress(base.metadata).offsets;
      const fresh = letters.filter((l) => l.topic === null || l.partition === null || l.offset === null || BigInt(l.offset) >= (recorded.get(partitionKeyOf(l.topic, l.partition)) ?? 0n));
      if (fresh.length === 0) return;
      const next = new Map<PartitionKey, bigint>();
      for (const l of fresh) {
        if (l.topic === null || l.partition === null || l.offset === null) continue;
        const tp = partitionKeyOf(l.topic, l.partition);
        const after = BigInt(l.offset) + 1n;
        if ((next.get(tp) ?? -1n) < after) next.set(tp, after);
      }
      const first = new Map<PartitionKey, bigint>();
      for (const l of fresh) {
        if (l.topic === null || l.partition === null || l.offset === null) continue;
        const tp = partitionKeyOf(l.topic, l.partition);
        const offset = BigInt(l.offset);
        if ((first.get(tp) ?? offset + 1n) > offset) first.set(tp, offset);
      }
      const builder = new RowBatchBuilder(currentSchema(base.metadata));
      for (const letter of fresh) builder.append(deadLetterRow(letter));
      const writer = new TableWriter(base);
      await writer.write(builder.build());
      const files = await writer.close();
      const action = rowDelta({
        dataFiles: files,
        // Another sink that recorded letters of the same partitions past ours since: filter again.
        validate: (latest) => {
          const now = tableProgress(latest.metadata).offsets;
          for (const [tp, offset] of first) {
            if ((now.get(tp) ?? 0n) > offset) throw new CommitConflictError(`${this.name}: letters of ${tp} were recorded meanwhile`, { retriable: false, context: { moved: tp } });
          }
        },
        summary: (latest) => {
          const offsets = new Map(tableProgress(latest.metadata).offsets);
          for (const [tp, after] of next) if ((offsets.get(tp) ?? -1n) < after) offsets.set(tp, after);
          return { [KAFKA_OFFSETS_PROPERTY]: encodeOffsets(offsets) };
        },
      });
      try {
        await commitAction(this.options.catalog, this.options.table, action, { base });
        this.options.logger.warn({ dlq: this.name, letters: fresh.length }, 'dead letters recorded in the DLQ table');
        return;
      } catch (error) {
        if (!(error instanceof CommitStateUnknownError)) await base.io.deleteMany(files.map((f) => f.filePath)).catch(() => undefined);
        const moved = error instanceof CommitConflictError && error.context.moved !== undefined;
        if (!moved || attempt >= 5) throw error;
      }
    }
  }
}
