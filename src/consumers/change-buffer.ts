// One table's micro-batch: what the sink consumed since the last flush. Append-only tables (no key) stream their rows
// straight into Arrow; keyed tables keep only the last change of each key (offset order within a partition, source
// position order across partitions: the last change wins). It also records, per topic-partition, the offsets the
// batch covers and the highest source position seen, and the dead letters to send with it.
// Must never: keep a change older than one it already has for the same key, or lose track of a consumed offset.
import type { RecordBatch } from 'apache-arrow';
import { DuckHouseError } from '../shared/errors.js';
import type { DeadLetter } from '../producers/dead-letter.js';
import type { Row, SourceInfo } from '../schemas/envelope.js';
import { comparePositions, sourcePosition } from '../schemas/envelope.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import type { Schema } from '../catalog/spec/schema.js';
import type { PartitionKey, Position } from './offsets.js';

/** Rows per Arrow batch handed to the writer. */
export const BATCH_ROWS = 8192;

/** The last change of one key in a batch. */
export interface BufferedChange {
  /** true: insert or update (c, u, r): the row replaces whatever the table has; false: delete. */
  readonly upsert: boolean;
  /** The new row for an upsert; for a delete, a row holding at least the key columns. */
  readonly row: Row;
  /** Columns of an upsert whose value was not sent (unchanged TOAST): filled from the current row at flush. */
  readonly unavailable: readonly string[] | null;
  readonly partition: PartitionKey;
  readonly offset: bigint;
  readonly position: Position | null;
}

export interface SourceOrder {
  readonly position: Position;
  /**
   * DuckHouse's CDC gives every event its own position (three-part sequence): one at or below the committed one is a
   * replay. Debezium's own events may share one (a key change's delete and create): only strictly lower is a replay.
   */
  readonly unique: boolean;
}

/** Where an event stands in its source's order, or null when it has none (snapshot rows, CSV lines). */
export function sourceOrderOf(source: SourceInfo): SourceOrder | null {
  const position = sourcePosition(source);
  if (!position) return null;
  let unique = false;
  if (source.sequence) {
    try {
      const parsed = JSON.parse(source.sequence) as unknown;
      unique = Array.isArray(parsed) && parsed.length === 3;
    } catch {
      unique = false;
    }
  }
  return { position, unique };
}

/** True when `order` was already applied: it is behind (or, for unique positions, at) the highest one seen. */
export function isReplay(order: SourceOrder, highest: Position | undefined): boolean {
  if (!highest) return false;
  const c = comparePositions(order.position, highest);
  return c < 0 || (c === 0 && order.unique);
}

/** The schema of a batch begun before its table existed (it can only hold dead letters until it takes the table's). */
export const NO_SCHEMA: Schema = { schemaId: -1, identifierFieldIds: [], fields: [] };

export class ChangeBuffer {
  readonly openedAtMs: number;
  /** The dead letters were sent to the DLQ topic (a retried flush does not send them again). */
  deadLettersSent = false;
  /** Records consumed (every one, also tombstones, replays and dead letters). */
  records = 0;
  /** Bytes of the consumed records' keys and values. */
  bytes = 0;
  /** The oldest and newest Kafka record timestamps (ms) of the consumed records (undefined: none had one). */
  minTimestampMs: number | undefined;
  maxTimestampMs: number | undefined;
  /** Rows or changes kept (what a flush writes). */
  rows = 0;
  /** Per topic-partition: the first offset consumed and the next one to read. */
  readonly ranges = new Map<PartitionKey, { first: bigint; next: bigint }>();
  /** Per topic-partition: the highest source position kept. */
  readonly positions = new Map<PartitionKey, Position>();
  readonly deadLetters: DeadLetter[] = [];
  /** Keyed tables: key → its last change. */
  readonly changes = new Map<string, BufferedChange>();
  /** Keyed tables: partitions truncated in this batch (their rows in the table are deleted before the changes apply). */
  readonly truncated = new Set<PartitionKey>();
  private readonly batches: RecordBatch[] = [];
  private builder: RowBatchBuilder | undefined;

  constructor(readonly schema: Schema, readonly rowNames: 'iceberg' | 'avro', openedAtMs = Date.now()) {
    this.openedAtMs = openedAtMs;
  }

  /**
   * The same batch for another schema, when it holds no rows yet (only dead letters and skipped records, taken before
   * the table existed): what it consumed carries over.
   */
  withSchema(schema: Schema, rowNames: 'iceberg' | 'avro'): ChangeBuffer {
    if (this.rows > 0) throw new DuckHouseError('internal', `a batch holding ${this.rows} rows for schema ${this.schema.schemaId} cannot change to schema ${schema.schemaId}`);
    const next = new ChangeBuffer(schema, rowNames, this.openedAtMs);
    next.records = this.records;
    next.bytes = this.bytes;
    next.minTimestampMs = this.minTimestampMs;
    next.maxTimestampMs = this.maxTimestampMs;
    for (const [tp, range] of this.ranges) next.ranges.set(tp, { ...range });
    for (const [tp, position] of this.positions) next.positions.set(tp, position);
    next.deadLetters.push(...this.deadLetters);
    return next;
  }

  /** False for a batch begun before its table existed (schema NO_SCHEMA). */
  get hasSchema(): boolean {
    return this.schema !== NO_SCHEMA;
  }

  get empty(): boolean {
    return this.records === 0;
  }

  /** Records that a message was consumed, whatever became of it (with its Kafka timestamp, when it has one). */
  consumed(partition: PartitionKey, offset: bigint, bytes: number, timestampMs?: number): void {
    this.records++;
    this.bytes += bytes;
    if (timestampMs !== undefined && Number.isFinite(timestampMs) && timestampMs >= 0) {
      if (this.minTimestampMs === undefined || timestampMs < this.minTimestampMs) this.minTimestampMs = timestampMs;
      if (this.maxTimestampMs === undefined || timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
    }
    const range = this.ranges.get(partition);
    if (range) range.next = offset + 1n;
    else this.ranges.set(partition, { first: offset, next: offset + 1n });
  }

  /** Raises the partition's highest kept position. */
  keptPosition(partition: PartitionKey, position: Position): void {
    const old = this.positions.get(partition);
    if (!old || comparePositions(position, old) > 0) this.positions.set(partition, position);
  }

  /** Append-only tables: adds a row (DataInvalidError for a row the schema refuses, which leaves nothing behind). */
  appendRow(row: Row): void {
    this.builder ??= new RowBatchBuilder(this.schema, { rowNames: this.rowNames });
    this.builder.append(row);
    this.rows++;
    if (this.builder.length >= BATCH_ROWS) this.batches.push(this.builder.build());
  }

  /** Keyed tables: keeps `change` unless the buffer already has a later one for `key` (by source position). */
  putChange(key: string, change: BufferedChange): void {
    const old = this.changes.get(key);
    if (old?.position && change.position && comparePositions(change.position, old.position) < 0) return;
    if (!old) this.rows++;
    let next = change;
    if (old && old.upsert && change.upsert && change.unavailable) {
      // The values the new change did not send are the ones the previous change in this batch set.
      const row = { ...change.row };
      const still: string[] = [];
      for (const column of change.unavailable) {
        if (column in old.row && !old.unavailable?.includes(column)) row[column] = old.row[column];
        else still.push(column);
      }
      next = { ...change, row, unavailable: still.length > 0 ? still : null };
    }
    this.changes.set(key, next);
  }

  /** Keyed tables: a truncate of `partition` drops the changes the batch holds from it. */
  truncate(partition: PartitionKey): void {
    for (const [key, change] of this.changes) {
      if (change.partition === partition) {
        this.changes.delete(key);
        this.rows--;
      }
    }
    this.truncated.add(partition);
  }

  /** Append-only tables: the rows as Arrow batches (call once, at flush). */
  takeBatches(): RecordBatch[] {
    if (this.builder && this.builder.length > 0) this.batches.push(this.builder.build());
    return this.batches.splice(0);
  }
}
