// One table as the sink feeds it: creates it from the first writer schema when missing, evolves it when a compatible
// new schema arrives (committing the rows it holds first), turns decoded records into the current ChangeBuffer (the
// last change per key for keyed tables, rows for append-only ones, dead letters for what it cannot take), keeps the
// primary-key index current, and knows the offsets the table records for the partitions this process owns.
// Must never: let a record that breaks the table's schema or key into a batch, apply a replayed CDC event, or flush
// a table concurrently with itself (the caller serialises flushes).
import type { Logger } from '../shared/logger.js';
import { DataInvalidError, describeError, DuckHouseError } from '../shared/errors.js';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import { ancestorsOf, currentSchema } from '../catalog/spec/table-metadata.js';
import { commitAction } from '../catalog/transaction/action.js';
import { updateSchema } from '../catalog/transaction/update-schema.js';
import type { TableWriterOptions } from '../catalog/writer/table-writer.js';
import type { DeadLetterKind } from '../producers/dead-letter.js';
import { deadLetter } from '../producers/dead-letter.js';
import { avroFieldName } from '../schemas/avro-iceberg.js';
import { coerceRow } from '../schemas/debezium-json.js';
import type { Row } from '../schemas/envelope.js';
import { comparePositions } from '../schemas/envelope.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import type { KeyField } from '../schemas/row-key.js';
import { rowKeyOf } from '../schemas/row-key.js';
import { ChangeBuffer, isReplay, NO_SCHEMA, sourceOrderOf } from './change-buffer.js';
import type { DecodedRecord, KafkaRecord, WriterSchema } from './decode.js';
import type { PartitionKey, Position } from './offsets.js';
import { KAFKA_OFFSETS_PROPERTY, parsePartitionKey, partitionKeyOf, tableProgress } from './offsets.js';
import type { KeyPartitions } from './key-partitions.js';
import { PrimaryKeyIndex } from './pk-index.js';
import type { FlushOutcome } from './table-flush.js';
import { flushBatch } from './table-flush.js';
import type { SchemaDecision } from './table-schemas.js';
import { createSinkTable, decideSchema, keyFieldsFor } from './table-schemas.js';

const VALIDATE_ROWS = 4096;

export interface TableSinkOptions {
  readonly catalog: Catalog;
  readonly id: TableIdentifier;
  readonly group: string;
  readonly logger: Logger;
  readonly partitionBy?: string;
  readonly writerOptions?: TableWriterOptions;
  /** Finds which partition a key belongs to, so a truncate of one partition deletes only its keys. */
  readonly keyPartitions?: KeyPartitions;
  /** Flushes what this table holds (dead letters first) and waits: called before a schema update. */
  readonly flushNow: () => Promise<void>;
}

export class TableSink {
  readonly name: string;
  private table: Table | undefined;
  private index: PrimaryKeyIndex | undefined;
  /** The snapshot the index reflects. */
  private indexedSnapshot: bigint | undefined;
  private buffer: ChangeBuffer | undefined;
  /** Bumped by reset(): a batch taken before a reset must not commit, and a commit landing after one changes nothing here. */
  private epoch = 0;
  private readonly bufferEpochs = new WeakMap<ChangeBuffer, number>();
  private validator: RowBatchBuilder | undefined;
  private rowNames: 'avro' | 'iceberg' = 'avro';
  private keys: { table: KeyField[]; row: KeyField[] } | undefined;
  private readonly decisions = new Map<string, SchemaDecision>();
  /** Offsets (and positions) the table records for the partitions this process owns: the fence of each commit. */
  private readonly committed = new Map<PartitionKey, bigint | undefined>();
  private readonly committedPositions = new Map<PartitionKey, Position>();

  constructor(private readonly options: TableSinkOptions) {
    this.name = formatIdentifier(options.id);
  }

  /** The current batch (undefined when nothing was consumed since the last flush). */
  get pending(): ChangeBuffer | undefined {
    return this.buffer;
  }

  /** Hands the current batch to a flush; records consumed from now on start a new one. */
  takeBuffer(): ChangeBuffer | undefined {
    const buffer = this.buffer;
    this.buffer = undefined;
    if (buffer) this.bufferEpochs.set(buffer, this.epoch);
    return buffer;
  }

  /**
   * Takes ownership of a topic-partition: reads where the table says it stands (a fresh load) and returns that
   * offset (undefined: the table has nothing from it yet).
   */
  async claim(topic: string, partition: number): Promise<bigint | undefined> {
    const exists = await this.options.catalog.tableExists(this.options.id);
    const tp = partitionKeyOf(topic, partition);
    if (!exists) {
      this.committed.set(tp, undefined);
      return undefined;
    }
    const table = await this.options.catalog.loadTable(this.options.id);
    this.adopt(table);
    const progress = tableProgress(table.metadata);
    const offset = progress.offsets.get(tp);
    this.committed.set(tp, offset);
    const position = progress.positions.get(tp);
    if (position) this.committedPositions.set(tp, position);
    else this.committedPositions.delete(tp);
    return offset;
  }

  /**
   * Drops the batch and the index (after a fence, a rebalance or a failed flush): everything is read again. Returns
   * the partitions it held with the offsets the dropped batch started from (undefined: from the beginning).
   */
  reset(): [PartitionKey, bigint | undefined][] {
    const owned = [...this.committed.entries()];
    this.epoch++;
    this.buffer = undefined;
    this.index = undefined;
    this.indexedSnapshot = undefined;
    this.table = undefined;
    this.decisions.clear();
    this.committed.clear();
    this.committedPositions.clear();
    return owned;
  }

  private adopt(table: Table): void {
    if (this.table && this.table.metadata.currentSchemaId !== table.metadata.currentSchemaId) {
      this.decisions.clear();
      this.validator = undefined;
    }
    this.table = table;
  }

  private async ensureTable(writer: WriterSchema): Promise<Table> {
    if (this.table) return this.table;
    const { catalog, id } = this.options;
    const table = (await catalog.tableExists(id)) ? await catalog.loadTable(id) : await createSinkTable(catalog, id, writer, this.options.partitionBy ? { partitionBy: this.options.partitionBy } : {});
    this.adopt(table);
    return table;
  }

  private current(table: Table): ChangeBuffer {
    const schema = currentSchema(table.metadata);
    if (this.buffer && (this.buffer.schema.schemaId !== schema.schemaId || this.buffer.rowNames !== this.rowNames)) {
      // Only a batch without rows can change (begun by dead letters before the table existed); withSchema refuses others.
      this.buffer = this.buffer.withSchema(schema, this.rowNames);
    }
    this.buffer ??= new ChangeBuffer(schema, this.rowNames);
    return this.buffer;
  }

  private deadLetter(record: KafkaRecord, kind: DeadLetterKind, message: string, table: Table | undefined): true {
    const buffer = table ? this.current(table) : (this.buffer ??= new ChangeBuffer(NO_SCHEMA, this.rowNames));
    buffer.deadLetters.push(deadLetter({
      kind,
      message,
      table: this.name,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset.toString(),
      key_base64: record.key ? record.key.toString('base64') : null,
      raw: record.value ?? Buffer.alloc(0),
    }));
    buffer.consumed(partitionKeyOf(record.topic, record.partition), record.offset, recordBytes(record), record.timestampMs);
    return true;
  }

  /** The table's answer to a writer schema, evolving the table first when it can take it after a schema update. */
  private async decide(table: Table, writer: WriterSchema): Promise<{ table: Table; decision: SchemaDecision }> {
    const known = this.decisions.get(writer.id);
    if (known) return { table, decision: known };
    const decision = decideSchema(table, writer);
    if (decision.kind !== 'evolve') {
      this.decisions.set(writer.id, decision);
      return { table, decision };
    }
    // Rows already held were written for the old schema: commit them first, then change the schema.
    await this.options.flushNow();
    const { catalog, id, logger } = this.options;
    const latest = await catalog.loadTable(id);
    const again = decideSchema(latest, writer);
    let evolved = latest;
    if (again.kind === 'evolve') {
      evolved = (await commitAction(catalog, id, updateSchema(again.changes), { base: latest })).table;
      logger.info({ table: this.name, schemaId: evolved.metadata.currentSchemaId, changes: again.changes.map((c) => c.op), notes: again.notes }, 'schema evolved');
    }
    this.adopt(evolved);
    this.indexedSnapshot = this.index ? evolved.metadata.currentSnapshotId : undefined;
    const settled = again.kind === 'evolve' ? ({ kind: 'accept' } as const) : again;
    this.decisions.set(writer.id, settled);
    return { table: evolved, decision: settled };
  }

  /**
   * ingest() without waiting, when the table and the record's writer schema are already settled (the common case):
   * true/false as ingest() says, or undefined when it needs ingest() (a new table, a new schema version).
   */
  ingestKnown(record: KafkaRecord, tp: PartitionKey, decoded: DecodedRecord | DataInvalidError): boolean | undefined {
    if (!this.committed.has(tp)) return false;
    if (decoded instanceof DataInvalidError) return this.deadLetter(record, 'decode', decoded.message, this.table);
    const table = this.table;
    if (!table) return undefined;
    if (!decoded.event) {
      this.current(table).consumed(tp, record.offset, recordBytes(record), record.timestampMs); // a tombstone: nothing to apply
      return true;
    }
    const decision = this.decisions.get(decoded.writer.id);
    return decision === undefined ? undefined : this.take(record, tp, decoded, table, decision);
  }

  /**
   * Takes one consumed record (decoded, or the error decoding it gave) into the current batch. False when the record's
   * partition is no longer claimed (the table was reset meanwhile, by a fence or a rebalance): the caller stops and
   * the partition is positioned again from the table.
   */
  async ingest(record: KafkaRecord, decoded: DecodedRecord | DataInvalidError): Promise<boolean> {
    const tp = partitionKeyOf(record.topic, record.partition);
    const claimed = (): boolean => this.committed.has(tp);
    if (!claimed()) return false;
    if (decoded instanceof DataInvalidError) return this.deadLetter(record, 'decode', decoded.message, this.table);
    let table: Table;
    try {
      table = await this.ensureTable(decoded.writer);
    } catch (error) {
      if (!claimed()) return false;
      if (error instanceof DuckHouseError && error.kind !== 'io' && !error.retriable) return this.deadLetter(record, 'schema', describeError(error), undefined);
      throw error;
    }
    if (!claimed()) return false;
    if (!decoded.event) {
      this.current(table).consumed(tp, record.offset, recordBytes(record), record.timestampMs); // a tombstone: nothing to apply
      return true;
    }
    const decided = await this.decide(table, decoded.writer);
    if (!claimed()) return false;
    return this.take(record, tp, decoded, decided.table, decided.decision);
  }

  /** The part of ingesting that needs no waiting: schema verdict, replay check, the change into the batch. */
  private take(record: KafkaRecord, tp: PartitionKey, decoded: DecodedRecord, table: Table, decision: SchemaDecision): boolean {
    const event = decoded.event!;
    if (decision.kind === 'refuse') return this.deadLetter(record, 'schema', `the table cannot take schema ${decoded.writer.id.slice(0, 60)}: ${decision.reasons.join('; ')}`, table);
    this.rowNames = decoded.writer.format === 'avro' ? 'avro' : 'iceberg';
    const buffer = this.current(table);
    const bytes = recordBytes(record);
    const order = event.source.sequence === null && event.source.lsn === null ? null : sourceOrderOf(event.source);
    if (order && isReplay(order, maxPosition(this.committedPositions.get(tp), buffer.positions.get(tp)))) {
      buffer.consumed(tp, record.offset, bytes, record.timestampMs); // a replayed CDC event, already applied
      return true;
    }
    try {
      this.apply(table, buffer, record, tp, decoded, order?.position ?? null);
    } catch (error) {
      if (error instanceof DataInvalidError) return this.deadLetter(record, 'constraint', `${record.topic} partition ${record.partition} offset ${record.offset}: ${error.message}`, table);
      throw error;
    }
    if (order) buffer.keptPosition(tp, order.position);
    buffer.consumed(tp, record.offset, bytes, record.timestampMs);
    return true;
  }

  private apply(table: Table, buffer: ChangeBuffer, record: KafkaRecord, tp: PartitionKey, decoded: DecodedRecord, position: Position | null): void {
    const event = decoded.event!;
    const schemaless = decoded.writer.format === 'json' && !decoded.writer.valueSchema;
    const shape = (row: Row | null): Row | null => (row && schemaless ? coerceRow(row, currentSchema(table.metadata), 'row') : row);
    this.keys ??= keyFieldsFor(table, buffer.rowNames);
    const keyed = this.keys.table.length > 0;
    if (event.op === 't') {
      if (!keyed) throw new DataInvalidError('a truncate cannot be applied to a table without key columns');
      buffer.truncate(tp);
      return;
    }
    const upsert = event.op !== 'd';
    const row = shape(upsert ? event.after : (event.before ?? renameKey(decoded.key, buffer.rowNames)));
    if (!row) throw new DataInvalidError(`a "${event.op}" event without ${upsert ? '"after"' : '"before" or a key'}`);
    if (upsert) this.validate(table, buffer, row);
    if (!keyed) {
      if (!upsert) throw new DataInvalidError('a delete cannot be applied to a table without key columns (give the table a key)');
      buffer.appendRow(row);
      return;
    }
    const key = rowKeyOf(row, this.keys.row);
    buffer.putChange(key, { upsert, row, unavailable: upsert ? event.unavailable_columns : null, partition: tp, offset: record.offset, position });
  }

  /** Keyed tables keep rows as objects until the flush: check now that the table takes them. */
  private validate(table: Table, buffer: ChangeBuffer, row: Row): void {
    if (!this.keys || this.keys.table.length === 0) return; // appendRow checks append-only rows itself
    this.validator ??= new RowBatchBuilder(currentSchema(table.metadata), { rowNames: buffer.rowNames });
    this.validator.append(row);
    if (this.validator.length >= VALIDATE_ROWS) this.validator.clear();
  }

  /** Flushes a batch taken with takeBuffer(): fenced commit, index kept current. Undefined when there was nothing to commit. */
  async flush(buffer: ChangeBuffer): Promise<FlushOutcome | undefined> {
    const { catalog, id } = this.options;
    const epoch = this.bufferEpochs.get(buffer) ?? this.epoch;
    const stale = (): DuckHouseError => new DuckHouseError('commit-conflict', `${this.name}: the table was reset (rebalance or failed flush) since the batch began; it is read again`, { retriable: false });
    if (epoch !== this.epoch) throw stale();
    if (buffer.rows === 0 && !buffer.hasSchema && !(await catalog.tableExists(id))) {
      // Only dead letters for a table that does not exist (schemaless JSON): nothing to commit, and nowhere to record
      // offsets; the DLQ table holds the letters (and skips them when they are read again).
      return undefined;
    }
    const base = await catalog.loadTable(id);
    if (buffer.hasSchema && currentSchema(base.metadata).schemaId !== buffer.schema.schemaId) {
      throw new DuckHouseError('commit-conflict', `${this.name}: the table's schema changed (another writer) since the batch began; reading it again`, { retriable: false });
    }
    this.adopt(base);
    this.keys ??= keyFieldsFor(base, buffer.rowNames);
    if (this.keys.table.length > 0) await this.ensureIndex(base);
    const truncates = buffer.truncated.size > 0 ? await this.truncateMatcher(buffer) : undefined;
    if (epoch !== this.epoch) throw stale();
    // The offsets the batch was built on, as they are now: a reset during the commit re-claims the live map, and a
    // retry inside the commit must still expect what this batch expects.
    const committed = new Map(this.committed);
    const outcome = await flushBatch({ ...this.options, committed, index: this.keys.table.length > 0 ? this.index : undefined, ...(truncates ? { truncates } : {}) }, base, buffer);
    if (epoch !== this.epoch) {
      // Reset while committing: the partitions were (or will be) claimed again from the table, whose offsets now
      // include this commit; recording it here as well would let a batch re-read from the old offsets pass the fence.
      return outcome;
    }
    this.adopt(outcome.table);
    if (this.index) this.indexedSnapshot = outcome.snapshotId;
    for (const [tp, offset] of outcome.offsets) if (this.committed.has(tp)) this.committed.set(tp, offset);
    for (const [tp, position] of outcome.positions) this.committedPositions.set(tp, position);
    return outcome;
  }

  /** Which keys a batch's truncates delete: those hashing to a truncated partition, or all when that is unknown. */
  private async truncateMatcher(buffer: ChangeBuffer): Promise<(key: string) => boolean> {
    const topics = [...new Set([...buffer.truncated].map((tp) => parsePartitionKey(tp).topic))];
    const partitioners = buffer.rowNames === 'avro' && this.options.keyPartitions
      ? await Promise.all(topics.map((topic) => this.options.keyPartitions!.forTopic(topic, this.keys!.row)))
      : [];
    if (partitioners.length !== topics.length || partitioners.some((p) => p === undefined)) {
      this.options.logger.warn({ table: this.name, partitions: [...buffer.truncated] }, 'a truncate empties the whole table: the partitions of its keys are unknown (no registered key schema)');
      return () => true;
    }
    return (key) => topics.some((topic, i) => buffer.truncated.has(partitionKeyOf(topic, partitioners[i]!(key))));
  }

  /** Rebuilds the index unless every snapshot since the indexed one only added rows for other partitions. */
  private async ensureIndex(base: Table): Promise<void> {
    const head = base.metadata.currentSnapshotId;
    if (this.index && this.indexedSnapshot === head) return;
    if (this.index && this.indexedSnapshot !== undefined) {
      // Back from the head to the indexed snapshot, over sink commits that removed no data file only: still current.
      for (const s of ancestorsOf(base.metadata, head)) {
        if (s.snapshotId === this.indexedSnapshot) {
          this.indexedSnapshot = head;
          return;
        }
        if (s.summary[KAFKA_OFFSETS_PROPERTY] === undefined || (s.summary['deleted-data-files'] ?? '0') !== '0') break;
      }
    }
    const started = Date.now();
    this.index = await PrimaryKeyIndex.build(base, this.keys!.table, this.options.writerOptions?.tempDir ? { tempDir: this.options.writerOptions.tempDir } : {});
    this.indexedSnapshot = head;
    this.options.logger.info({ table: this.name, keys: this.index.size, duplicates: this.index.duplicateKeys, ms: Date.now() - started }, 'primary-key index built from the table');
  }
}

const recordBytes = (record: KafkaRecord): number => (record.key?.length ?? 0) + (record.value?.length ?? 0);

function maxPosition(a: Position | undefined, b: Position | undefined): Position | undefined {
  if (!a || !b) return a ?? b;
  return comparePositions(a, b) >= 0 ? a : b;
}

function renameKey(key: Record<string, unknown> | null, rowNames: 'avro' | 'iceberg'): Row | null {
  if (!key || rowNames === 'iceberg') return key;
  return Object.fromEntries(Object.entries(key).map(([k, v]) => [avroFieldName(k), v]));
}
