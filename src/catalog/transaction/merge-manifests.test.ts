// Manifest merging: the packing rule on its own, then commits on an in-memory warehouse where merging must keep every
// file, its sequence numbers and the deletes that apply to it, across appends, deletes, compaction and time travel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetadataInvalidError } from '../../shared/errors.js';
import type { Table, TableIdentifier } from '../catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalogs/embedded-catalog.js';
import { MemoryFileIO } from '../io/memory-file-io.js';
import { entriesOf, manifestsOf } from '../read/manifests.js';
import { planFiles } from '../read/plan-files.js';
import type { DataFile } from '../spec/manifest.js';
import type { ManifestFile } from '../spec/manifest.js';
import { DataFileContent, ManifestContent, ManifestEntryStatus } from '../spec/manifest.js';
import type { Snapshot } from '../spec/snapshot.js';
import { buildSchema } from '../spec/schema.js';
import { currentSnapshot } from '../spec/table-metadata.js';
import { primitive } from '../spec/types.js';
import { commitAction } from './action.js';
import { fastAppend } from './fast-append.js';
import { binsToMerge, manifestMergePolicy, manifestsToMerge, packFromOldest } from './merge-manifests.js';
import { rewriteFiles } from './rewrite-files.js';
import { rewriteManifests } from './rewrite-manifests.js';
import { rowDelta } from './row-delta.js';
import { updatePartitionSpec } from './update-partition-spec.js';
import { updateProperties } from './update-properties.js';
import { updateSchema } from './update-schema.js';

const id: TableIdentifier = { namespace: ['db'], name: 't' };

async function setup(properties: Record<string, string>): Promise<EmbeddedCatalog> {
  const catalog = new EmbeddedCatalog({ warehouse: 'memory://wh', io: new MemoryFileIO() });
  await catalog.createNamespace(['db']);
  const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'name', type: primitive('string') }], { identifierFields: ['id'] });
  await catalog.createTable(id, { schema, properties });
  return catalog;
}

let n = 0;
function dataFile(rows = 10, content: DataFile['content'] = DataFileContent.DATA): DataFile {
  return {
    content,
    filePath: `memory://wh/db/t/data/f${n++}.parquet`,
    fileFormat: 'PARQUET',
    specId: 0,
    partition: [],
    recordCount: BigInt(rows),
    fileSizeInBytes: 100n,
    ...(content === DataFileContent.EQUALITY_DELETES ? { equalityIds: [1] } : {}),
  };
}

async function manifestCount(table: Table): Promise<number> {
  return (await manifestsOf(table.io, currentSnapshot(table.metadata)!)).length;
}

describe('manifest merging: the packing rule', () => {
  const policy = { enabled: true, minCountToMerge: 3, targetSizeBytes: 10 };

  it('fills bins from the oldest, keeps order, and gives an oversized manifest a bin of its own', () => {
    // newest first: weights 2, 2, 20 (oversized), 4, 4, 4
    const items = ['n1', 'n2', 'big', 'o1', 'o2', 'o3'];
    const weight = (s: string): number => ({ n1: 2, n2: 2, big: 20, o1: 4, o2: 4, o3: 4 })[s]!;
    assert.deepEqual(packFromOldest(items, weight, 10), [['n1', 'n2'], ['big'], ['o1'], ['o2', 'o3']]);
    assert.deepEqual(packFromOldest([], weight, 10), []);
  });

  it('merges older bins of two or more, and the newest only once it holds the minimum count', () => {
    assert.deepEqual(binsToMerge([['a', 'b'], ['c'], ['d', 'e']], policy), [false, false, true]);
    assert.deepEqual(binsToMerge([['a', 'b', 'c']], policy), [true]);
    assert.deepEqual(binsToMerge([['a']], policy), [false]);
    assert.deepEqual(binsToMerge([['a', 'b'], ['c']], policy, true), [true, false], 'a rewrite of the manifests merges the newest bin too');
  });

  it('reads the table properties as Java does: defaults, lenient booleans, a min count below 2 as 2, off for v1', async () => {
    const metadata = (props: Record<string, string>, formatVersion = 2) => ({ properties: props, formatVersion }) as unknown as Table['metadata'];
    assert.deepEqual(manifestMergePolicy(metadata({})), { enabled: true, minCountToMerge: 100, targetSizeBytes: 8 * 1024 * 1024 });
    assert.equal(manifestMergePolicy(metadata({ 'commit.manifest-merge.enabled': 'FALSE' })).enabled, false);
    assert.equal(manifestMergePolicy(metadata({ 'commit.manifest-merge.enabled': 'yes' })).enabled, false, 'only "true" is true');
    assert.equal(manifestMergePolicy(metadata({}, 1)).enabled, false, 'v1 tables do not merge');
    const one = manifestMergePolicy(metadata({ 'commit.manifest.min-count-to-merge': '1' }));
    assert.deepEqual(binsToMerge([['a', 'b']], one), [true]);
    assert.deepEqual(binsToMerge([['a']], one), [false]);
    assert.throws(() => manifestMergePolicy(metadata({ 'commit.manifest.target-size-bytes': 'big' })), (e: unknown) => e instanceof MetadataInvalidError && /target-size-bytes="big" is not a number/.test(e.message));
  });

  it('counts what a rewrite of the manifests would merge only in groups that reached the minimum count', () => {
    const manifest = (path: string, specId: number): ManifestFile => ({ manifestPath: path, manifestLength: 100n, partitionSpecId: specId, content: ManifestContent.DATA } as ManifestFile);
    const policy3 = { enabled: true, minCountToMerge: 3, targetSizeBytes: 1000 };
    assert.equal(manifestsToMerge([manifest('a', 0), manifest('b', 0), manifest('c', 1)], policy3), 0);
    assert.equal(manifestsToMerge([manifest('a', 0), manifest('b', 0), manifest('c', 0), manifest('d', 1)], policy3), 3);
  });
});

describe('manifest merging in commits', () => {
  it('appends: the manifest count stays bounded, and every file keeps its snapshot and sequence numbers', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '3' });
    const files: DataFile[] = [];
    const snapshots: bigint[] = [];
    let table!: Table;
    for (let i = 0; i < 10; i++) {
      const file = dataFile();
      files.push(file);
      table = (await commitAction(catalog, id, rowDelta({ dataFiles: [file] }))).table;
      snapshots.push(table.metadata.currentSnapshotId!);
      assert.ok((await manifestCount(table)) <= 3, `after commit ${i + 1}: ${await manifestCount(table)} manifests`);
    }
    const tasks = await planFiles(table);
    assert.deepEqual(
      tasks.map((t) => [t.file.filePath, t.dataSequenceNumber]).sort(),
      files.map((f, i) => [f.filePath, BigInt(i + 1)]).sort(),
    );
    // A merged manifest lists files of older commits as EXISTING, each with the snapshot that added it.
    const manifests = await manifestsOf(table.io, currentSnapshot(table.metadata)!);
    const merged = manifests.find((m) => m.existingFilesCount > 0);
    assert.ok(merged, 'a merged manifest');
    for (const entry of await entriesOf(table.io, merged)) {
      assert.equal(entry.status, ManifestEntryStatus.EXISTING);
      const i = files.findIndex((f) => f.filePath === entry.dataFile.filePath);
      assert.equal(entry.snapshotId, snapshots[i]);
      assert.equal(entry.fileSequenceNumber, BigInt(i + 1));
    }
    // Time travel still reads each older snapshot's own manifests.
    const third = await planFiles(table, { snapshotId: snapshots[2]! });
    assert.deepEqual(third.map((t) => t.file.filePath).sort(), files.slice(0, 3).map((f) => f.filePath).sort());
  });

  it('deletes still apply by sequence number after their manifests and the data manifests are merged', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '2' });
    const a = dataFile();
    await commitAction(catalog, id, rowDelta({ dataFiles: [a] })); // seq 1
    const b = dataFile();
    const del = dataFile(1, DataFileContent.EQUALITY_DELETES);
    await commitAction(catalog, id, rowDelta({ dataFiles: [b], deleteFiles: [del] })); // seq 2: applies to a only
    const del2 = dataFile(1, DataFileContent.EQUALITY_DELETES);
    await commitAction(catalog, id, rowDelta({ deleteFiles: [del2] })); // seq 3: applies to a and b
    let table!: Table;
    const later: DataFile[] = [];
    for (let i = 0; i < 4; i++) {
      later.push(dataFile());
      table = (await commitAction(catalog, id, rowDelta({ dataFiles: [later.at(-1)!] }))).table;
    }
    const manifests = await manifestsOf(table.io, currentSnapshot(table.metadata)!);
    assert.equal(manifests.filter((m) => m.content === ManifestContent.DELETES).length, 1, 'the two delete manifests merged');
    const deletesOf = new Map((await planFiles(table)).map((t) => [t.file.filePath, t.deletes.map((d) => d.filePath).sort()]));
    assert.deepEqual(deletesOf.get(a.filePath), [del.filePath, del2.filePath].sort());
    assert.deepEqual(deletesOf.get(b.filePath), [del2.filePath]);
    for (const f of later) assert.deepEqual(deletesOf.get(f.filePath), []);
  });

  it('a compaction over many manifests leaves one, and its record of removed files is dropped by the next commit', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '2' });
    const files: DataFile[] = [];
    for (let i = 0; i < 5; i++) {
      files.push(dataFile());
      await commitAction(catalog, id, fastAppend([files.at(-1)!]));
    }
    let table = await catalog.loadTable(id);
    assert.equal(await manifestCount(table), 5, 'fast-append never merges');
    const compacted = dataFile(50);
    table = (await commitAction(catalog, id, rewriteFiles({ removed: files, added: [compacted], startingSnapshotId: table.metadata.currentSnapshotId }))).table;
    const manifests = await manifestsOf(table.io, currentSnapshot(table.metadata)!);
    assert.equal(manifests.length, 2, 'the new manifest, and one merged manifest holding the removals');
    const removals = manifests.find((m) => m.deletedFilesCount > 0)!;
    assert.equal(removals.deletedFilesCount, 5);
    assert.deepEqual((await planFiles(table)).map((t) => t.file.filePath), [compacted.filePath]);
    table = (await commitAction(catalog, id, rowDelta({ dataFiles: [dataFile()] }))).table;
    assert.equal(await manifestCount(table), 2, 'the all-deleted manifest is gone');
  });

  it('rewrite-manifests merges fast-appended manifests into one replace snapshot, files and sequence numbers unchanged', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '5' });
    for (let i = 0; i < 6; i++) await commitAction(catalog, id, fastAppend([dataFile()]));
    const before = await catalog.loadTable(id);
    const manifests = await manifestsOf(before.io, currentSnapshot(before.metadata)!);
    assert.equal(manifestsToMerge(manifests, manifestMergePolicy(before.metadata)), 6);
    const tasks = async (t: Table): Promise<string[]> => (await planFiles(t)).map((f) => `${f.file.filePath}@${f.dataSequenceNumber}`).sort();
    const after = (await commitAction(catalog, id, rewriteManifests())).table;
    const snapshot = currentSnapshot(after.metadata)!;
    assert.equal(snapshot.summary.operation, 'replace');
    const merged = await manifestsOf(after.io, snapshot);
    assert.equal(merged.length, 1);
    assert.equal(merged[0]!.existingFilesCount, 6);
    assert.equal(manifestsToMerge(merged, manifestMergePolicy(after.metadata)), 0, 'nothing left to merge');
    assert.deepEqual(await tasks(after), await tasks(before));
  });

  it('a retry after a concurrent commit reuses the merged manifests of the bins that did not change', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '3' });
    for (let i = 0; i < 6; i++) await commitAction(catalog, id, fastAppend([dataFile()]));
    const appended = await catalog.loadTable(id);
    const lengths = (await manifestsOf(appended.io, currentSnapshot(appended.metadata)!)).map((m) => Number(m.manifestLength));
    // Bins of three manifests each.
    await commitAction(catalog, id, updateProperties({ 'commit.manifest.target-size-bytes': String(3 * Math.max(...lengths)) }));
    const action = rowDelta({ dataFiles: [dataFile()] });
    const listOf = async (pending: Awaited<ReturnType<typeof action.prepare>>, table: Table): Promise<string[]> => {
      const update = pending.updates.find((u) => u.action === 'add-snapshot') as { snapshot: Snapshot } | undefined;
      return (await manifestsOf(table.io, update!.snapshot)).map((m) => m.manifestPath);
    };
    const base1 = await catalog.loadTable(id);
    const first = await listOf(await action.prepare(base1), base1);
    assert.equal(first.length, 3, 'its new manifest and two merged ones');
    await commitAction(catalog, id, fastAppend([dataFile()])); // a concurrent commit lands first
    const base2 = await catalog.loadTable(id);
    const second = await listOf(await action.prepare(base2), base2);
    assert.equal(second.length, 4, 'its new manifest, the concurrent one, and the two merged ones');
    assert.deepEqual(second.slice(2), first.slice(1), 'the merged manifests are reused, not written again');
    const { table } = await commitAction(catalog, id, action, { base: base2 });
    assert.equal((await planFiles(table)).length, 8);
  });

  it('a rewrite of the manifests with nothing to merge commits nothing', async () => {
    const catalog = await setup({});
    await commitAction(catalog, id, fastAppend([dataFile()]));
    const before = await catalog.loadTable(id);
    const { table } = await commitAction(catalog, id, rewriteManifests());
    assert.equal(table.metadata.currentSnapshotId, before.metadata.currentSnapshotId);
    assert.equal(table.metadata.snapshots.length, 1);
  });

  it('manifests of an old spec whose source column was dropped stay unmerged, and commits go on', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '2' });
    await commitAction(catalog, id, updatePartitionSpec([{ op: 'add', source: 'name', transform: { kind: 'identity' } }]));
    for (let i = 0; i < 3; i++) await commitAction(catalog, id, fastAppend([{ ...dataFile(), specId: 1, partition: [`p${i}`] }]));
    await commitAction(catalog, id, updatePartitionSpec([{ op: 'remove', name: 'name' }]));
    await commitAction(catalog, id, updateSchema([{ op: 'drop', name: 'name' }]));
    let table!: Table;
    const specId = (await catalog.loadTable(id)).metadata.defaultSpecId;
    assert.notEqual(specId, 1);
    for (let i = 0; i < 4; i++) table = (await commitAction(catalog, id, rowDelta({ dataFiles: [{ ...dataFile(), specId }] }))).table;
    const manifests = await manifestsOf(table.io, currentSnapshot(table.metadata)!);
    assert.equal(manifests.filter((m) => m.partitionSpecId === 1).length, 3, 'the old spec cannot be written any more: left as they are');
    assert.ok(manifests.filter((m) => m.partitionSpecId === specId).length <= 2, 'the current spec merges');
    assert.equal((await planFiles(table)).length, 7);
  });

  it('commit.manifest-merge.enabled=false keeps one manifest per commit', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '2' });
    await commitAction(catalog, id, updateProperties({ 'commit.manifest-merge.enabled': 'false' }));
    let table!: Table;
    for (let i = 0; i < 4; i++) table = (await commitAction(catalog, id, rowDelta({ dataFiles: [dataFile()] }))).table;
    assert.equal(await manifestCount(table), 4);
  });
});
