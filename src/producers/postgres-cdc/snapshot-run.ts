// Runs the initial snapshot: creates the slot exporting a snapshot, reads every table inside it, publishes each row as
// op r (source.snapshot "true", "last" on the very last row of the whole snapshot, source.lsn = the slot's consistent
// point) and waits until Kafka acknowledged all of them. The caller records the snapshot complete afterwards.
// Must never: return before every snapshot row is acknowledged; release the exported snapshot before the read is over.
import type { Logger } from 'pino';
import { DuckHouseError } from '../../shared/errors.js';
import { snapshotRow } from './change-events.js';
import { checkCdcTable, type PgSource } from './catalog.js';
import { formatLsn } from './lsn.js';
import { type TableRef, tableName } from './names.js';
import type { Publisher, TableChannel } from './publisher.js';
import type { PgTuple } from './row-schema.js';
import { createSlotWithSnapshot, SnapshotReader } from './snapshot.js';

export interface SnapshotOptions {
  source: PgSource;
  slot: string;
  refs: readonly TableRef[];
  topics: ReadonlyMap<string, { topic: string; partitions: number }>;
  publisher: Publisher;
  logger: Logger;
  batchRows: number;
  onError: (error: Error) => void;
}

export interface SnapshotResult {
  channels: TableChannel[];
  consistentPoint: bigint;
  rows: number;
}

export async function takeSnapshot(options: SnapshotOptions): Promise<SnapshotResult> {
  const { source, publisher, logger } = options;
  const exported = await createSlotWithSnapshot(source, options.slot, options.onError);
  const consistentPoint = exported.consistentPoint;
  logger.info({ slot: options.slot, consistentPoint: formatLsn(consistentPoint), snapshot: exported.snapshotName }, 'slot created; reading the exported snapshot');
  try {
    const reader = await SnapshotReader.open(source, exported.snapshotName, options.onError);
    try {
      const snapshotTimeMs = BigInt(Date.now());
      const channels: TableChannel[] = [];
      // One row is held back so the very last row of the snapshot can be marked "last".
      let held: { channel: TableChannel; tuple: PgTuple } | undefined;
      const release = async (last: boolean): Promise<void> => {
        if (!held) return;
        const { channel, tuple } = held;
        held = undefined;
        await publisher.publish(channel, snapshotRow(channel.ctx, tuple, consistentPoint, snapshotTimeMs, last));
      };
      let rows = 0;
      for (const ref of options.refs) {
        const table = await reader.describe(ref);
        checkCdcTable(table, source);
        const target = options.topics.get(tableName(ref));
        if (!target) throw new DuckHouseError('internal', `snapshot: expected a topic for ${tableName(ref)}, found none`);
        const channel = await publisher.open(ref, table.oid, target.topic, target.partitions, table.shape);
        channels.push(channel);
        const count = await reader.readTable(table, options.batchRows, async (tuple) => {
          await release(false);
          held = { channel, tuple };
        });
        rows += count;
        logger.info({ table: channel.name, topic: channel.topic, rows: count }, 'snapshot of table read');
      }
      await release(true);
      await publisher.sender.flush();
      return { channels, consistentPoint, rows };
    } finally {
      await reader.close();
    }
  } finally {
    await exported.release().catch(() => undefined);
  }
}
