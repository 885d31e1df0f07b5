import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { TableMetadata } from '../../catalog/spec/table-metadata.js';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import { openDuckDB } from '../../shared/duckdb.js';
import { FileRanges, ordinalsOf } from './file-ranges.js';
import { deleteTableSql, historyRows, initMeta, readFiles, readOtherLocalPaths, readTable, readTables, saveFilesSql, saveTableSql, snapshotRows } from './meta-store.js';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
const run = async (statements: string[]): Promise<void> => {
  for (const sql of statements) await connection.run(sql);
};

before(async () => {
  ({ instance, connection } = await openDuckDB());
  await initMeta(connection);
  await initMeta(connection);
});

after(() => {
  connection.closeSync();
  instance.closeSync();
});

const snap = (id: bigint, sequence: bigint, parent: bigint | undefined, ms: number): Snapshot => ({
  snapshotId: id, ...(parent === undefined ? {} : { parentSnapshotId: parent }), sequenceNumber: sequence, timestampMs: ms,
  manifestList: `s3://b/t/metadata/snap-${id}.avro`, summary: { operation: 'append', "it's": 'a "value"' } as Snapshot['summary'], schemaId: 0,
});

describe('meta-store', () => {
  it('saves and reads a table row, its snapshots and its history', async () => {
    const big = 9_123_456_789_012_345_678n;
    const snapshots = [snap(1n, 1n, undefined, 1_700_000_000_123), snap(big, 2n, 1n, 1_700_000_001_456), snap(3n, 3n, 1n, 1_700_000_002_789)];
    const metadata = {
      snapshots, currentSnapshotId: big,
      snapshotLog: [{ snapshotId: 1n, timestampMs: 1_700_000_000_123 }, { snapshotId: 3n, timestampMs: 1_700_000_002_789 }, { snapshotId: big, timestampMs: 1_700_000_003_000 }],
    } as unknown as TableMetadata;
    const ordinals = ordinalsOf([snapshots[0]!, snapshots[1]!]);
    const row = { tableName: 'ns.t', namespace: ['ns'], name: 't', tableUuid: 'u', location: 's3://b/t', metadataLocation: 's3://b/t/metadata/v1.json', cacheDir: '/c', snapshotId: big, ordinalMode: ordinals.mode, schemaId: 0 };
    await run(saveTableSql(row, snapshotRows(metadata, ordinals), historyRows(metadata), Date.UTC(2024, 0, 1)));
    await run(saveTableSql(row, snapshotRows(metadata, ordinals), historyRows(metadata), Date.UTC(2024, 0, 1)));
    assert.deepEqual(await readTable(connection, 'ns.t'), { tableName: 'ns.t', namespace: ['ns'], name: 't', tableUuid: 'u', location: 's3://b/t', cacheDir: '/c', snapshotId: big, ordinalMode: 'sequence' });
    assert.equal((await readTables(connection)).length, 1);
    const stored = (await connection.runAndReadAll(`SELECT snapshot_id, parent_id, epoch_ms(committed_at) AS ms, summary['it''s'] AS v, ordinal FROM "_duckhouse"."snapshots" ORDER BY sequence_number`)).getRowsJS();
    assert.deepEqual(stored, [[1n, null, 1_700_000_000_123n, 'a "value"', 1n], [big, 1n, 1_700_000_001_456n, 'a "value"', 2n], [3n, 1n, 1_700_000_002_789n, 'a "value"', null]]);
    const history = (await connection.runAndReadAll('SELECT snapshot_id, parent_id, is_current_ancestor FROM "_duckhouse"."history" ORDER BY position')).getRowsJS();
    assert.deepEqual(history, [[1n, null, true], [3n, 1n, false], [big, 1n, true]]);
    await run(deleteTableSql('ns.t'));
    assert.equal(await readTable(connection, 'ns.t'), undefined);
  });

  it('writes file ranges back as a diff, and finds other tables\' cached files', async () => {
    const localPath = (location: string): string => `/c/s3/${location.slice('s3://'.length)}`;
    const first = new FileRanges();
    first.add({ location: 's3://b/t/a', content: 0 }, 1n);
    first.add({ location: 's3://b/t/b', content: 0 }, 1n);
    await run(saveFilesSql('ns.t', first.changes(), true, localPath));
    const second = FileRanges.load(await readFiles(connection, 'ns.t'));
    second.apply({ added: [{ location: 's3://b/t/c', content: 0 }, { location: 's3://b/t/d', content: 1 }], removed: ['s3://b/t/a'] }, 2n, 1n);
    second.apply({ added: [], removed: ['s3://b/t/c'] }, 3n, 2n);
    second.prune(3n);
    await run(saveFilesSql('ns.t', second.changes(), false, localPath));
    const files = await readFiles(connection, 'ns.t');
    assert.deepEqual(files.map((f) => [f.location, f.localPath, f.content, f.firstOrdinal, f.lastOrdinal]), [
      ['s3://b/t/b', '/c/s3/b/t/b', 0, 1n, null],
      ['s3://b/t/d', '/c/s3/b/t/d', 1, 2n, null],
    ]);
    await run(saveFilesSql('ns.t2', { inserted: [{ location: 's3://b/t/b', content: 0, firstOrdinal: 5n, lastOrdinal: null }], ended: [], prunedBefore: undefined }, true, localPath));
    assert.deepEqual([...await readOtherLocalPaths(connection, 'ns.t', ['/c/s3/b/t'], [])], ['/c/s3/b/t/b']);
    assert.deepEqual([...await readOtherLocalPaths(connection, 'ns.t', ['/c/s3/b/t2'], ['/c/s3/b/t/b'])], ['/c/s3/b/t/b']);
    assert.deepEqual([...await readOtherLocalPaths(connection, 'ns.t', ['/c/s3/b/t2'], [])], []);
    assert.deepEqual([...await readOtherLocalPaths(connection, 'ns.t2', ['/c/s3/b/t'], [])].sort(), ['/c/s3/b/t/b', '/c/s3/b/t/d']);
  });
});
