// Decoded pgoutput changes (and snapshot rows) → the change envelopes, tombstones and dead letters DuckHouse publishes
// for them: insert → c; update → u (before = the old row only when REPLICA IDENTITY FULL sent it); an update that
// changes the primary key → d for the old key, its tombstone, then c for the new key; delete → d and a tombstone;
// truncate → t (no key, no rows, for every partition). Every streamed event carries `sequence` =
// ["<commit lsn>","<lsn>","<index>"]: the index counts events at the same LSN within the transaction (a key change's
// d and c, the rows of one multi-insert record), so positions are unique and identical when a restart re-sends them.
// PURE: no IO. Must never: drop an event silently (a value that cannot be converted becomes a dead letter), or reuse
// a position within one transaction.
import { DataInvalidError } from '../../shared/errors.js';
import { type ChangeEvent, type ChangeOp, emptySource, type Row, type SourceInfo } from '../../schemas/envelope.js';
import type { PgTuple, RowCodec } from './row-schema.js';

export const CONNECTOR = 'postgresql';

/** What the events of one table need to know besides the change. */
export interface TableContext {
  /** Producer name (`source.name`, the topic prefix). */
  name: string;
  db: string;
  schema: string;
  table: string;
  codec: RowCodec;
  tombstones: boolean;
  /** Processing time in ms (the envelope's ts_ms). */
  now: () => bigint;
}

export interface TransactionInfo {
  xid: bigint;
  /** The LSN of the commit record (pgoutput's Begin carries it), first element of `sequence`. */
  commitLsn: bigint;
  commitTimeMs: bigint;
}

export type Outgoing =
  | { kind: 'event'; key: Row | null; event: ChangeEvent; allPartitions: boolean }
  | { kind: 'tombstone'; key: Row }
  | { kind: 'dead-letter'; op: ChangeOp; reason: string; column: string | null; raw: string | null; lsn: bigint | null; sequence: string | null };

/** Hands out the index of each event within its LSN, per transaction (reset on Begin). */
export class Positioner {
  private lsn = -1n;
  private index = 0n;

  reset(): void {
    this.lsn = -1n;
    this.index = 0n;
  }

  next(lsn: bigint): bigint {
    if (lsn !== this.lsn) {
      this.lsn = lsn;
      this.index = 0n;
      return 0n;
    }
    return ++this.index;
  }
}

function streamSource(ctx: TableContext, tx: TransactionInfo, lsn: bigint, index: bigint): SourceInfo {
  return {
    ...emptySource(CONNECTOR, ctx.name, ctx.db, tx.commitTimeMs),
    schema: ctx.schema,
    table: ctx.table,
    txId: tx.xid,
    lsn,
    sequence: JSON.stringify([tx.commitLsn.toString(), lsn.toString(), index.toString()]),
  };
}

/** Builds one event; a conversion failure becomes a dead letter saying which column and value. */
function attempt(op: ChangeOp, source: SourceInfo, build: () => Outgoing[]): Outgoing[] {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof DataInvalidError)) throw error;
    const column = typeof error.context.column === 'string' ? error.context.column : null;
    const raw = typeof error.context.raw === 'string' ? error.context.raw : null;
    return [{ kind: 'dead-letter', op, reason: error.message, column, raw, lsn: source.lsn, sequence: source.sequence }];
  }
}

function envelope(ctx: TableContext, op: ChangeOp, source: SourceInfo, before: Row | null, after: Row | null, missing: string[] = []): ChangeEvent {
  return { before, after, source, op, ts_ms: ctx.now(), unavailable_columns: missing.length > 0 ? missing : null };
}

/** A snapshot row (op r). `last` marks the very last row of the whole snapshot. */
export function snapshotRow(ctx: TableContext, tuple: PgTuple, consistentLsn: bigint, snapshotTimeMs: bigint, last: boolean): Outgoing[] {
  const source: SourceInfo = { ...emptySource(CONNECTOR, ctx.name, ctx.db, snapshotTimeMs), snapshot: last ? 'last' : 'true', schema: ctx.schema, table: ctx.table, lsn: consistentLsn };
  return attempt('r', source, () => {
    const { row } = ctx.codec.row(tuple);
    return [{ kind: 'event', key: ctx.codec.key(tuple), event: envelope(ctx, 'r', source, null, row), allPartitions: false }];
  });
}

export function insertEvents(ctx: TableContext, tx: TransactionInfo, lsn: bigint, positions: Positioner, tuple: PgTuple): Outgoing[] {
  const source = streamSource(ctx, tx, lsn, positions.next(lsn));
  return attempt('c', source, () => {
    const { row, missing } = ctx.codec.row(tuple);
    return [{ kind: 'event', key: ctx.codec.key(tuple), event: envelope(ctx, 'c', source, null, row, missing), allPartitions: false }];
  });
}

/** pgoutput's update: `old` = the full old row (REPLICA IDENTITY FULL), `key` = the old key (default identity, key changed). */
export function updateEvents(ctx: TableContext, tx: TransactionInfo, lsn: bigint, positions: Positioner, change: { old: PgTuple | null; key: PgTuple | null; new: PgTuple }): Outgoing[] {
  const previous = change.old ?? change.key;
  if (previous && ctx.codec.keyChanged(previous, change.new)) {
    const removed = deleteEvents(ctx, tx, lsn, positions, { old: change.old, key: change.key });
    return [...removed, ...insertEvents(ctx, tx, lsn, positions, change.new)];
  }
  const source = streamSource(ctx, tx, lsn, positions.next(lsn));
  return attempt('u', source, () => {
    const { row, missing } = ctx.codec.row(change.new);
    const before = change.old ? ctx.codec.row(change.old).row : null;
    return [{ kind: 'event', key: ctx.codec.key(change.new), event: envelope(ctx, 'u', source, before, row, missing), allPartitions: false }];
  });
}

/**
 * pgoutput's delete: `old` = the full old row (FULL), else `key` = the old key; then `before` holds the key columns and
 * null (or the type's zero for NOT NULL columns) elsewhere.
 */
export function deleteEvents(ctx: TableContext, tx: TransactionInfo, lsn: bigint, positions: Positioner, change: { old: PgTuple | null; key: PgTuple | null }): Outgoing[] {
  const source = streamSource(ctx, tx, lsn, positions.next(lsn));
  return attempt('d', source, () => {
    const previous = change.old ?? change.key;
    if (!previous) throw new DataInvalidError(`${ctx.codec.where}: a delete without an old key or row (REPLICA IDENTITY NOTHING?)`, { context: { column: null, raw: null } });
    const key = ctx.codec.key(previous);
    const out: Outgoing[] = [{ kind: 'event', key, event: envelope(ctx, 'd', source, ctx.codec.row(previous).row, null), allPartitions: false }];
    if (ctx.tombstones) out.push({ kind: 'tombstone', key });
    return out;
  });
}

/** A truncate: op t with no key and no rows, to be sent to every partition of the table's topic. */
export function truncateEvents(ctx: TableContext, tx: TransactionInfo, lsn: bigint, positions: Positioner): Outgoing[] {
  const source = streamSource(ctx, tx, lsn, positions.next(lsn));
  return [{ kind: 'event', key: null, event: envelope(ctx, 't', source, null, null), allPartitions: true }];
}
