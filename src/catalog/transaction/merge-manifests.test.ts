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
import { DataFileContent, ManifestContent, ManifestEntryStatus } from '../spec/manifest.js';
import { buildSchema } from '../spec/schema.js';
import { currentSnapshot } from '../spec/table-metadata.js';
import { primitive } from '../spec/types.js';
import { commitAction } from './action.js';
import { fastAppend } from './fast-append.js';
import { binsToMerge, manifestMergePolicy, manifestsToMerge, packFromOldest } from './merge-manifests.js';
import { rewriteFiles } from './rewrite-files.js';
import { rewriteManifests } from './rewrite-manifests.js';
import { rowDelta } from './row-delta.js';
import { updateProperties } from './update-properties.js';

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

  it('reads the table properties, with Iceberg defaults, and names a bad one', async () => {
    const metadata = (props: Record<string, string>) => ({ properties: props }) as unknown as Table['metadata'];
    assert.deepEqual(manifestMergePolicy(metadata({})), { enabled: true, minCountToMerge: 100, targetSizeBytes: 8 * 1024 * 1024 });
    assert.equal(manifestMergePolicy(metadata({ 'commit.manifest-merge.enabled': 'FALSE' })).enabled, false);
    assert.throws(() => manifestMergePolicy(metadata({ 'commit.manifest-merge.enabled': 'yes' })), (e: unknown) => e instanceof MetadataInvalidError && /commit\.manifest-merge\.enabled="yes"/.test(e.message));
    assert.throws(() => manifestMergePolicy(metadata({ 'commit.manifest.min-count-to-merge': '1' })), /min-count-to-merge=1 must be at least 2/);
    assert.throws(() => manifestMergePolicy(metadata({ 'commit.manifest.target-size-bytes': 'big' })), /target-size-bytes="big" is not a number/);
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
    const catalog = await setup({});
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

  it('commit.manifest-merge.enabled=false keeps one manifest per commit', async () => {
    const catalog = await setup({ 'commit.manifest.min-count-to-merge': '2' });
    await commitAction(catalog, id, updateProperties({ 'commit.manifest-merge.enabled': 'false' }));
    let table!: Table;
    for (let i = 0; i < 4; i++) table = (await commitAction(catalog, id, rowDelta({ dataFiles: [dataFile()] }))).table;
    assert.equal(await manifestCount(table), 4);
  });
});
