// The consistent initial snapshot: a replication connection creates the slot with EXPORT_SNAPSHOT and stays open and
// idle while a second connection reads every table inside that exported snapshot (REPEATABLE READ + SET TRANSACTION
// SNAPSHOT) through a cursor, in bounded batches. Rows read here are exactly the database as of the slot's consistent
// point, and streaming from the slot starts right after it: no gap, no overlap.
// Must never: close the replication connection before the snapshot read is over (the exported snapshot dies with it),
// or hold a whole table in memory.
import type pg from 'pg';
import { DuckHouseError } from '../../shared/errors.js';
import { connect, connectionError, describeTable, type PgSource, type TableDescription } from './catalog.js';
import { parseLsn } from './lsn.js';
import { quoteIdent, quoteTable, type TableRef } from './names.js';
import type { PgTuple } from './row-schema.js';

export interface ExportedSnapshot {
  /** The replication connection that holds the snapshot open; close it with `release()` after reading. */
  release(): Promise<void>;
  consistentPoint: bigint;
  snapshotName: string;
}

/** Creates `slot` (pgoutput) exporting a snapshot; the caller must `release()` once every table is read. */
export async function createSlotWithSnapshot(source: PgSource, slot: string, onError: (error: Error) => void): Promise<ExportedSnapshot> {
  const replication = await connect(source, { replication: true, onError });
  try {
    const result = await replication.query<{ slot_name: string; consistent_point: string; snapshot_name: string }>(`CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const row = result.rows[0];
    if (!row || !/^[0-9A-Fa-f-]+$/.test(row.snapshot_name)) throw new DuckHouseError('internal', `CREATE_REPLICATION_SLOT ${slot}: expected a consistent point and a snapshot name, found ${JSON.stringify(row)}`);
    return { consistentPoint: parseLsn(row.consistent_point, 'consistent_point'), snapshotName: row.snapshot_name, release: () => replication.end() };
  } catch (error) {
    await replication.end().catch(() => undefined);
    if ((error as { code?: string }).code === '42710') throw new DuckHouseError('config', `replication slot ${slot} already exists in Postgres at ${source.where} (created by another process just now?)`, { cause: error });
    if (error instanceof DuckHouseError) throw error;
    throw connectionError(source, error);
  }
}

/** A read-only REPEATABLE READ transaction on the exported snapshot; values come back as Postgres text. */
export class SnapshotReader {
  private constructor(
    private readonly client: pg.Client,
    private readonly source: PgSource,
  ) {}

  static async open(source: PgSource, snapshotName: string, onError: (error: Error) => void): Promise<SnapshotReader> {
    const client = await connect(source, { rawText: true, onError });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName}'`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new DuckHouseError('io', `cannot open the exported snapshot ${snapshotName} in Postgres at ${source.where}: ${(error as Error).message}`, { cause: error, retriable: true });
    }
    return new SnapshotReader(client, source);
  }

  /** The table's columns and key as of the snapshot (so the snapshot's schema matches its rows). */
  describe(ref: TableRef): Promise<TableDescription> {
    return describeTable(this.client, ref, this.source);
  }

  /** Streams the table's rows in batches of `batchRows`; `onRow` may apply backpressure by returning a promise. */
  async readTable(table: TableDescription, batchRows: number, onRow: (tuple: PgTuple) => Promise<void>): Promise<number> {
    const columns = table.shape.columns.map((c) => quoteIdent(c.name)).join(', ');
    await this.client.query(`DECLARE duckhouse_snapshot NO SCROLL CURSOR FOR SELECT ${columns} FROM ONLY ${quoteTable(table.ref)}`);
    let rows = 0;
    for (;;) {
      const batch = await this.client.query<PgTuple>(`FETCH FORWARD ${batchRows} FROM duckhouse_snapshot`);
      for (const tuple of batch.rows) await onRow(tuple);
      rows += batch.rows.length;
      if (batch.rows.length < batchRows) break;
    }
    await this.client.query('CLOSE duckhouse_snapshot');
    return rows;
  }

  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
    await this.client.end();
  }
}
