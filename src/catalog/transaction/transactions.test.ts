// The commit machinery on an in-memory warehouse: snapshots, manifests, summaries, deletes, validation, retries.
// Data files are described, not written: these tests are about metadata. Parquet round trips live in test/interop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitConflictError, CommitStateUnknownError, DataInvalidError, SchemaIncompatibleError } from '../../shared/errors.js';
import type { Catalog, TableIdentifier } from '../catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalogs/embedded-catalog.js';
import { MemoryFileIO } from '../io/memory-file-io.js';
import { planFiles, snapshotHistory } from '../read/plan-files.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent, POSITION_DELETE_FILE_PATH_FIELD_ID } from '../spec/manifest.js';
import { buildSchema } from '../spec/schema.js';
import { Summary } from '../spec/snapshot.js';
import { currentSchema, currentSnapshot, serializeTableMetadata } from '../spec/table-metadata.js';
import { readAvroFile, writeAvroFile } from '../spec/avro-file.js';
import { manifestsOf } from '../read/manifests.js';
import { primitive } from '../spec/types.js';
import type { TableAction } from './action.js';
import { commitAction } from './action.js';
import { expireSnapshots } from './expire-snapshots.js';
import { fastAppend } from './fast-append.js';
import { removeOrphanFiles } from './remove-orphan-files.js';
import { rewriteFiles } from './rewrite-files.js';
import { rowDelta } from './row-delta.js';
import { updatePartitionSpec } from './update-partition-spec.js';
import { updateProperties } from './update-properties.js';
import { updateSchema } from './update-schema.js';

const id: TableIdentifier = { namespace: ['db'], name: 't' };

async function setup(): Promise<{ catalog: Catalog; io: MemoryFileIO }> {
  const io = new MemoryFileIO();
  const catalog = new EmbeddedCatalog({ warehouse: 'memory://wh', io });
  await catalog.createNamespace(['db']);
  const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'name', type: primitive('string') }], { identifierFields: ['id'] });
  await catalog.createTable(id, { schema });
  return { catalog, io };
}

let n = 0;
function dataFile(rows: number, content: DataFile['content'] = DataFileContent.DATA): DataFile {
  return { content, filePath: `memory://wh/db/t/data/f${n++}.parquet`, fileFormat: 'PARQUET', specId: 0, partition: [], recordCount: BigInt(rows), fileSizeInBytes: 100n };
}

describe('transactions', () => {
  it('appends: each snapshot sees its own files and the totals add up', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    const b = dataFile(5);
    const first = await commitAction(catalog, id, fastAppend([a]));
    const second = await commitAction(catalog, id, fastAppend([b], { summary: { 'duckhouse.offsets': 'x' } }));
    const snapshot = second.table.metadata.snapshots.at(-1)!;
    assert.equal(snapshot.summary[Summary.TOTAL_RECORDS], '15');
    assert.equal(snapshot.summary[Summary.ADDED_DATA_FILES], '1');
    assert.equal(snapshot.summary['duckhouse.offsets'], 'x');
    assert.equal(snapshot.sequenceNumber, 2n);
    assert.equal(snapshot.parentSnapshotId, first.table.metadata.currentSnapshotId);
    const now = await planFiles(second.table);
    assert.deepEqual(now.map((t) => t.file.filePath).sort(), [a.filePath, b.filePath].sort());
    assert.deepEqual(now.map((t) => t.dataSequenceNumber).sort(), [1n, 2n]);
    const then = await planFiles(second.table, { snapshotId: first.table.metadata.currentSnapshotId! });
    assert.deepEqual(then.map((t) => t.file.filePath), [a.filePath]);
    assert.equal(snapshotHistory(second.table.metadata).length, 2);
  });

  it('row-delta attaches position deletes to the data files they may touch, by sequence number', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    await commitAction(catalog, id, fastAppend([a]));
    const path = new TextEncoder().encode(a.filePath);
    const del = { ...dataFile(2, DataFileContent.POSITION_DELETES), lowerBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, path]]), upperBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, path]]) };
    const b = dataFile(2);
    const { table } = await commitAction(catalog, id, rowDelta({ dataFiles: [b], deleteFiles: [del], referencedDataFiles: [a.filePath] }));
    assert.equal(table.metadata.snapshots.at(-1)!.summary.operation, 'overwrite');
    assert.equal(table.metadata.snapshots.at(-1)!.summary[Summary.TOTAL_POSITION_DELETES], '2');
    const tasks = await planFiles(table);
    const byPath = new Map(tasks.map((t) => [t.file.filePath, t.deletes.map((d) => d.filePath)]));
    assert.deepEqual(byPath.get(a.filePath), [del.filePath]);
    assert.deepEqual(byPath.get(b.filePath), []);
  });

  it('row-delta refuses deletes against a data file a compaction already replaced', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    const start = await commitAction(catalog, id, fastAppend([a]));
    await commitAction(catalog, id, rewriteFiles({ removed: [a], added: [dataFile(10)], startingSnapshotId: start.table.metadata.currentSnapshotId }));
    const del = { ...dataFile(1, DataFileContent.POSITION_DELETES), referencedDataFile: a.filePath };
    await assert.rejects(commitAction(catalog, id, rowDelta({ deleteFiles: [del] })), (e: unknown) => e instanceof CommitConflictError && e.message.includes(a.filePath) && !e.retriable);
  });

  it('row-delta validates a delete file that names one data file by its file_path bounds, and accepts deletes of rows it adds', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    const start = await commitAction(catalog, id, fastAppend([a]));
    await commitAction(catalog, id, rewriteFiles({ removed: [a], added: [dataFile(10)], startingSnapshotId: start.table.metadata.currentSnapshotId }));
    const onlyA = new TextEncoder().encode(a.filePath);
    const del = { ...dataFile(1, DataFileContent.POSITION_DELETES), lowerBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, onlyA]]), upperBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, onlyA]]) };
    // No referencedDataFiles given: the bounds alone say the deletes are for `a`, which a compaction replaced.
    await assert.rejects(commitAction(catalog, id, rowDelta({ deleteFiles: [del] })), (e: unknown) => e instanceof CommitConflictError && e.message.includes(a.filePath));

    const b = dataFile(3);
    const onlyB = new TextEncoder().encode(b.filePath);
    const delB = { ...dataFile(1, DataFileContent.POSITION_DELETES), lowerBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, onlyB]]), upperBounds: new Map([[POSITION_DELETE_FILE_PATH_FIELD_ID, onlyB]]) };
    const { table } = await commitAction(catalog, id, rowDelta({ dataFiles: [b], deleteFiles: [delB], referencedDataFiles: [b.filePath] }));
    const task = (await planFiles(table)).find((t) => t.file.filePath === b.filePath)!;
    assert.deepEqual(task.deletes.map((d) => d.filePath), [delB.filePath], 'deletes of rows added in the same commit apply');
  });

  it('equality deletes stored with an all-void spec are global, as Java plans them', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    await commitAction(catalog, id, fastAppend([a]));
    // A v1-style "removed" partition field: the spec keeps it with a void transform.
    await commitAction(catalog, id, updatePartitionSpec([{ op: 'add', source: 'id', transform: { kind: 'void' } }]));
    const eq: DataFile = { ...dataFile(1, DataFileContent.EQUALITY_DELETES), specId: 1, partition: [null], equalityIds: [1] };
    const { table } = await commitAction(catalog, id, rowDelta({ deleteFiles: [eq] }));
    const task = (await planFiles(table)).find((t) => t.file.filePath === a.filePath)!;
    assert.deepEqual(task.deletes.map((d) => d.filePath), [eq.filePath]);
  });

  it('rewrite-files fails when a delete arrived for an input file after it started, and removes replaced files otherwise', async () => {
    const { catalog } = await setup();
    const a = dataFile(10);
    const start = await commitAction(catalog, id, fastAppend([a]));
    const startId = start.table.metadata.currentSnapshotId;
    await commitAction(catalog, id, rowDelta({ deleteFiles: [{ ...dataFile(1, DataFileContent.POSITION_DELETES), referencedDataFile: a.filePath }] }));
    await assert.rejects(
      commitAction(catalog, id, rewriteFiles({ removed: [a], added: [dataFile(9)], startingSnapshotId: startId })),
      (e: unknown) => e instanceof CommitConflictError && /expected no new deletes/.test(e.message) && e.message.includes(a.filePath),
    );
    const table = await catalog.loadTable(id);
    const tasks = await planFiles(table);
    const del = tasks[0]!.deletes[0]!;
    const compacted = dataFile(9);
    const done = await commitAction(catalog, id, rewriteFiles({ removed: [a, del], added: [compacted], startingSnapshotId: table.metadata.currentSnapshotId }));
    const after = await planFiles(done.table);
    assert.deepEqual(after.map((t) => [t.file.filePath, t.deletes.length]), [[compacted.filePath, 0]]);
    const summary = done.table.metadata.snapshots.at(-1)!.summary;
    assert.equal(summary.operation, 'replace');
    assert.equal(summary[Summary.TOTAL_RECORDS], '9');
    assert.equal(summary[Summary.TOTAL_DELETE_FILES], '0');
  });

  it('two writers committing at once both land through retry, and no snapshot is lost', async () => {
    const { catalog } = await setup();
    const files = Array.from({ length: 8 }, () => dataFile(1));
    const results = await Promise.all(files.map((f) => commitAction(catalog, id, fastAppend([f]), { minWaitMs: 1, maxWaitMs: 5 })));
    const table = await catalog.loadTable(id);
    assert.equal(table.metadata.snapshots.length, 8);
    assert.ok(results.some((r) => r.attempts > 1), 'expected at least one retry');
    const tasks = await planFiles(table);
    assert.deepEqual(tasks.map((t) => t.file.filePath).sort(), files.map((f) => f.filePath).sort());
    assert.equal(table.metadata.snapshots.at(-1)!.summary[Summary.TOTAL_RECORDS], '8');
  });

  it('an error after the commit landed (in the action\'s post-commit step) never aborts or retries it', async () => {
    const { catalog } = await setup();
    let aborted = 0;
    let prepared = 0;
    const action: TableAction = {
      name: 'post-commit-fails',
      prepare: (base) => {
        prepared++;
        return Promise.resolve({ updates: [{ action: 'set-properties', updates: { landed: 'yes' } }], requirements: [{ type: 'assert-table-uuid', uuid: base.metadata.tableUuid }] });
      },
      committed: () => Promise.reject(new CommitConflictError('cleanup failed')),
      abort: () => {
        aborted++;
        return Promise.resolve();
      },
    };
    await assert.rejects(commitAction(catalog, id, action), /cleanup failed/);
    assert.equal(aborted, 0, 'abort would delete files the committed table references');
    assert.equal(prepared, 1, 'a retry would apply the change twice');
    assert.equal((await catalog.loadTable(id)).metadata.properties.landed, 'yes');
  });

  it('committing an action again after an unknown outcome deletes nothing and does not commit twice', async () => {
    const { catalog } = await setup();
    // A catalog whose first commit lands but whose answer is lost.
    let lose = true;
    const lossy: Catalog = Object.create(catalog) as Catalog;
    lossy.commitTable = async (...args) => {
      const table = await catalog.commitTable(...args);
      if (lose) {
        lose = false;
        throw new CommitStateUnknownError('injected: the answer was lost');
      }
      return table;
    };
    const a = dataFile(1);
    const action = fastAppend([a]);
    await assert.rejects(commitAction(lossy, id, action), CommitStateUnknownError);
    const again = await commitAction(lossy, id, action);
    assert.equal(again.table.metadata.snapshots.length, 1, 'one snapshot, not two');
    assert.deepEqual((await planFiles(await catalog.loadTable(id))).map((t) => t.file.filePath), [a.filePath]);
  });

  it('expire-snapshots drops old snapshots and deletes only files no kept snapshot uses', async () => {
    const { catalog, io } = await setup();
    const a = dataFile(10);
    let clock = 1_000;
    const first = await commitAction(catalog, id, fastAppend([a]));
    await io.write(a.filePath, Uint8Array.of(1));
    const start = first.table.metadata.currentSnapshotId;
    const b = dataFile(10);
    await io.write(b.filePath, Uint8Array.of(1));
    await commitAction(catalog, id, rewriteFiles({ removed: [a], added: [b], startingSnapshotId: start }));
    clock = Date.now() + 1;
    const action = expireSnapshots({ olderThanMs: clock, retainLast: 1 });
    const { table } = await commitAction(catalog, id, action);
    assert.deepEqual(action.result.expiredSnapshotIds, [start]);
    assert.equal(table.metadata.snapshots.length, 1);
    assert.equal(await io.exists(a.filePath), false, 'the replaced file is gone');
    assert.equal(await io.exists(b.filePath), true, 'the live file stays');
    assert.equal((await planFiles(table)).length, 1);
    await assert.rejects(planFiles(table, { snapshotId: start! }), /has no snapshot/);
  });

  it('expire-snapshots planned before a tag was set on an old snapshot keeps the tag, its snapshot and its files', async () => {
    const { catalog, io } = await setup();
    const a = dataFile(10);
    await io.write(a.filePath, Uint8Array.of(1));
    const first = await commitAction(catalog, id, fastAppend([a]));
    const tagged = first.table.metadata.currentSnapshotId!;
    await commitAction(catalog, id, rewriteFiles({ removed: [a], added: [dataFile(10)], startingSnapshotId: tagged }));
    const planned = await catalog.loadTable(id);
    const tag: TableAction = {
      name: 'tag',
      prepare: () => Promise.resolve({ updates: [{ action: 'set-snapshot-ref', refName: 'audit', ref: { snapshotId: tagged, type: 'tag' } }], requirements: [] }),
    };
    await commitAction(catalog, id, tag);
    // The expiry starts from metadata without the tag, as if it had loaded the table just before the tag landed.
    const expire = expireSnapshots({ olderThanMs: Date.now() + 1000, retainLast: 1 });
    const { table } = await commitAction(catalog, id, expire, { base: planned, minWaitMs: 1, maxWaitMs: 2 });
    assert.equal(table.metadata.refs.get('audit')?.snapshotId, tagged);
    assert.deepEqual(expire.result.expiredSnapshotIds, []);
    assert.equal(await io.exists(a.filePath), true, 'the tagged snapshot still reads this file');
    assert.deepEqual((await planFiles(table, { ref: 'audit' })).map((t) => t.file.filePath), [a.filePath]);
  });

  it('expire-snapshots honours a branch\'s own min-snapshots-to-keep', async () => {
    const { catalog } = await setup();
    for (let i = 0; i < 3; i++) await commitAction(catalog, id, fastAppend([dataFile(1)]));
    const head = (await catalog.loadTable(id)).metadata.currentSnapshotId!;
    const retain: TableAction = {
      name: 'retain',
      prepare: () => Promise.resolve({ updates: [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: head, type: 'branch', minSnapshotsToKeep: 3 } }], requirements: [] }),
    };
    await commitAction(catalog, id, retain);
    const expire = expireSnapshots({ olderThanMs: Date.now() + 1000, retainLast: 1 });
    const { table } = await commitAction(catalog, id, expire);
    assert.deepEqual(expire.result.expiredSnapshotIds, []);
    assert.equal(table.metadata.snapshots.length, 3);
  });

  it('a format v1 table gets sequence number 0 on every snapshot and refuses delete files', async () => {
    const { catalog, io } = await setup();
    const v2 = await catalog.loadTable(id);
    const location = 'memory://wh/db/t/metadata/00000-v1.metadata.json';
    await io.write(location, new TextEncoder().encode(serializeTableMetadata({ ...v2.metadata, formatVersion: 1 })));
    const old: TableIdentifier = { namespace: ['db'], name: 'old' };
    await catalog.registerTable(old, location);
    await commitAction(catalog, old, fastAppend([dataFile(1)]));
    const { table } = await commitAction(catalog, old, fastAppend([dataFile(1)]));
    assert.equal(table.metadata.formatVersion, 1);
    assert.deepEqual(table.metadata.snapshots.map((s) => s.sequenceNumber), [0n, 0n]);
    assert.deepEqual((await planFiles(table)).map((t) => t.dataSequenceNumber), [0n, 0n]);
    await assert.rejects(commitAction(catalog, old, rowDelta({ deleteFiles: [dataFile(1, DataFileContent.POSITION_DELETES)] })), (e: unknown) => e instanceof DataInvalidError && /format v1/.test(e.message));
  });

  it('statistics files (Puffin, from Trino or Spark) are known files, and go with the snapshot they describe', async () => {
    const { catalog, io } = await setup();
    const first = (await commitAction(catalog, id, fastAppend([dataFile(1)]))).table.metadata.currentSnapshotId!;
    const second = (await commitAction(catalog, id, fastAppend([dataFile(1)]))).table;
    const stats = (snapshotId: bigint, path: string): Record<string, unknown> => ({ 'snapshot-id': snapshotId, 'statistics-path': path, 'file-size-in-bytes': 1, 'file-footer-size-in-bytes': 1, 'blob-metadata': [] });
    const p1 = 'memory://wh/db/t/metadata/s1.stats';
    const p2 = 'memory://wh/db/t/metadata/s2.stats';
    for (const p of [p1, p2]) await io.write(p, Uint8Array.of(1));
    const location = 'memory://wh/db/t/metadata/00099-stats.metadata.json';
    const withStats = { ...second.metadata, statistics: [stats(first, p1), stats(second.metadata.currentSnapshotId!, p2)] };
    await io.write(location, new TextEncoder().encode(serializeTableMetadata(withStats)));
    const statsId: TableIdentifier = { namespace: ['db'], name: 'with_stats' };
    const table = await catalog.registerTable(statsId, location);
    const orphans = await removeOrphanFiles(table, { olderThanMs: Date.now() + 1000 });
    assert.ok(!orphans.includes(p1) && !orphans.includes(p2), `statistics files were taken for orphans: ${orphans.join(', ')}`);
    const expire = expireSnapshots({ snapshotIds: [first] });
    const expired = (await commitAction(catalog, statsId, expire)).table;
    assert.deepEqual(expired.metadata.statistics.map((e) => (e as Record<string, unknown>)['statistics-path']), [p2]);
    assert.equal(await io.exists(p1), false);
    assert.equal(await io.exists(p2), true);
  });

  it('a commit to a tag is refused instead of turning the tag into a branch', async () => {
    const { catalog } = await setup();
    const head = (await commitAction(catalog, id, fastAppend([dataFile(1)]))).table.metadata.currentSnapshotId!;
    const tag: TableAction = {
      name: 'tag',
      prepare: () => Promise.resolve({ updates: [{ action: 'set-snapshot-ref', refName: 'release', ref: { snapshotId: head, type: 'tag' } }], requirements: [] }),
    };
    await commitAction(catalog, id, tag);
    await assert.rejects(commitAction(catalog, id, fastAppend([dataFile(1)], { branch: 'release' })), (e: unknown) => e instanceof DataInvalidError && /is a tag/.test(e.message));
    const ref = (await catalog.loadTable(id)).metadata.refs.get('release');
    assert.deepEqual([ref?.type, ref?.snapshotId], ['tag', head]);
  });

  it('remove-orphan-files deletes unreferenced old files only', async () => {
    const { catalog, io } = await setup();
    const a = dataFile(1);
    await io.write(a.filePath, Uint8Array.of(1));
    await io.write('memory://wh/db/t/data/orphan.parquet', Uint8Array.of(1));
    const { table } = await commitAction(catalog, id, fastAppend([a]));
    const none = await removeOrphanFiles(table, { olderThanMs: 0 });
    assert.deepEqual(none, []);
    const removed = await removeOrphanFiles(table, { olderThanMs: Date.now() + 1000 });
    assert.deepEqual(removed, ['memory://wh/db/t/data/orphan.parquet']);
    assert.equal(await io.exists(a.filePath), true);
    assert.equal(await io.exists(table.metadataLocation), true);
  });

  it('schema evolution: add, rename, widen, make optional, drop; long→int refused with the reason', async () => {
    const { catalog } = await setup();
    await commitAction(catalog, id, updateSchema([
      { op: 'add', field: { name: 'qty', type: primitive('int') } },
      { op: 'rename', name: 'name', newName: 'label' },
    ]));
    const { table } = await commitAction(catalog, id, updateSchema([{ op: 'update-type', name: 'qty', type: primitive('long') }, { op: 'drop', name: 'label' }]));
    const schema = currentSchema(table.metadata);
    assert.deepEqual(schema.fields.map((f) => [f.id, f.name, f.type.kind]), [[1, 'id', 'long'], [3, 'qty', 'long']]);
    assert.equal(table.metadata.lastColumnId, 3);
    assert.equal(table.metadata.schemas.length, 3);
    await assert.rejects(commitAction(catalog, id, updateSchema([{ op: 'update-type', name: 'qty', type: primitive('int') }])), (e: unknown) => e instanceof SchemaIncompatibleError && /from long to int: narrowing/.test(e.message));
    await assert.rejects(commitAction(catalog, id, updateSchema([{ op: 'drop', name: 'id' }])), /identifier/);
  });

  it('properties and partition specs evolve', async () => {
    const { catalog } = await setup();
    await commitAction(catalog, id, updateProperties({ 'write.target-file-size-bytes': '1000' }));
    const { table } = await commitAction(catalog, id, updatePartitionSpec([{ op: 'add', source: 'id', transform: { kind: 'bucket', n: 4 } }]));
    assert.equal(table.metadata.properties['write.target-file-size-bytes'], '1000');
    assert.equal(table.metadata.defaultSpecId, 1);
    assert.deepEqual(table.metadata.partitionSpecs[1]!.fields, [{ sourceId: 1, fieldId: 1000, name: 'id_bucket_4', transform: { kind: 'bucket', n: 4 } }]);
  });

  it('a manifest list that leaves the file counts out (optional in v1) loses no file: the manifest is read and written anew with them', async () => {
    const { catalog, io } = await setup();
    const a = dataFile(10);
    const first = await commitAction(catalog, id, fastAppend([a]));
    // Rewrite the snapshot's manifest list as a writer that omits the optional counts would.
    const list = currentSnapshot(first.table.metadata)!.manifestList;
    const content = readAvroFile(await io.read(list), list);
    const optionalCounts = new Set(['added_files_count', 'existing_files_count', 'deleted_files_count']);
    const schema = content.schema as { fields: { name: string; type: unknown }[] };
    const fields = schema.fields.map((f) => (optionalCounts.has(f.name) ? { ...f, type: ['null', f.type], default: null } : f));
    const records = (content.records as Record<string, unknown>[]).map((r) => ({ ...r, added_files_count: null, existing_files_count: null, deleted_files_count: null }));
    await io.write(list, writeAvroFile({ schema: { ...schema, fields }, metadata: content.metadata, records }));
    assert.equal((await manifestsOf(io, currentSnapshot(first.table.metadata)!))[0]!.countsUnknown, true);

    const b = dataFile(5);
    const second = await commitAction(catalog, id, rowDelta({ dataFiles: [b] }));
    assert.deepEqual((await planFiles(second.table)).map((t) => t.file.filePath).sort(), [a.filePath, b.filePath].sort());
    const carried = (await manifestsOf(io, currentSnapshot(second.table.metadata)!)).find((m) => m.existingFilesCount > 0);
    assert.equal(carried?.existingFilesCount, 1, 'written anew with its counts');
    const third = await commitAction(catalog, id, rowDelta({ dataFiles: [dataFile(1)] }));
    assert.equal((await planFiles(third.table)).length, 3);
  });
});
