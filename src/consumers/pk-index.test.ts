import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { TableIdentifier } from '../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalog/catalogs/embedded-catalog.js';
import { LocalFileIO } from '../catalog/io/local-file-io.js';
import type { DataFile } from '../catalog/spec/manifest.js';
import { DataFileContent } from '../catalog/spec/manifest.js';
import type { PartitionSpec } from '../catalog/spec/partition-spec.js';
import { buildSchema } from '../catalog/spec/schema.js';
import { primitive } from '../catalog/spec/types.js';
import { commitAction } from '../catalog/transaction/action.js';
import { fastAppend } from '../catalog/transaction/fast-append.js';
import { rowDelta } from '../catalog/transaction/row-delta.js';
import { closeWriterDuckDB } from '../catalog/writer/parquet-file.js';
import { TableWriter, writePositionDeletes } from '../catalog/writer/table-writer.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import type { KeyField } from '../schemas/row-key.js';
import { rowKeyOf } from '../schemas/row-key.js';
import type { IndexedFile, RowLocation } from './pk-index.js';
import { PrimaryKeyIndex } from './pk-index.js';

const dirs: string[] = [];
after(async () => {
  await closeWriterDuckDB();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const indexed = (name: string, partition: unknown[] = []): IndexedFile => ({ path: `file:///wh/n/t/data/${name}.parquet`, specId: 0, partition, recordCount: 2n ** 32n });
const dataFile = (name: string, partition: unknown[] = []): DataFile => ({
  content: DataFileContent.DATA, filePath: `file:///wh/n/t/data/${name}.parquet`, fileFormat: 'PARQUET', specId: 0, partition, recordCount: 10n, fileSizeInBytes: 100n,
});
/** Locations as comparable `path@position` strings, sorted. */
const where = (locations: readonly RowLocation[]): string[] => locations.map((l) => `${path.basename(l.file.path)}@${l.position}`).sort();

describe('PrimaryKeyIndex in memory', () => {
  it('set, lookup and delete', () => {
    const index = new PrimaryKeyIndex();
    assert.deepEqual(index.lookup('1'), []);
    const a = indexed('a', ['eu']);
    index.set('1', a, 0);
    index.set('2', a, 1);
    index.set('3', indexed('b'), 0);
    assert.equal(index.size, 3);
    assert.deepEqual(index.lookup('1'), [{ file: a, position: 0 }]);
    assert.deepEqual(index.lookup('2'), [{ file: a, position: 1 }]);
    assert.deepEqual(where(index.lookup('3')), ['b.parquet@0']);
    index.set('1', indexed('b'), 7);
    assert.deepEqual(where(index.lookup('1')), ['b.parquet@7'], 'set replaces');
    assert.equal(index.size, 3);
    index.delete('2');
    index.delete('nope');
    assert.deepEqual(index.lookup('2'), []);
    assert.equal(index.size, 2);
    assert.deepEqual([...index.keys()].sort(), ['1', '3']);
    assert.equal(index.duplicateKeys, 0);
  });

  it('keeps each file\'s id stable: the first description of a path is the one handed out', () => {
    const index = new PrimaryKeyIndex();
    const first = indexed('a', ['eu']);
    index.set('1', first, 0);
    for (let i = 0; i < 50; i++) index.set(`other-${i}`, indexed(`f${i}`), i);
    index.set('2', { ...first }, 5);
    index.addFile(dataFile('a', ['eu']), ['3'], [9]);
    assert.equal(index.lookup('1')[0]!.file, first);
    assert.equal(index.lookup('2')[0]!.file, first, 'the same path is the same file');
    assert.equal(index.lookup('3')[0]!.file, first);
    for (let i = 0; i < 50; i++) assert.deepEqual(where(index.lookup(`other-${i}`)), [`f${i}.parquet@${i}`]);
    assert.deepEqual(index.lookup('3'), [{ file: first, position: 9 }]);
  });

  it('keeps positions up to 2^32 - 1 exactly, in files registered late', () => {
    const index = new PrimaryKeyIndex();
    for (let i = 0; i < 1000; i++) index.set(`k${i}`, indexed(`f${i}`), i);
    const max = 2 ** 32 - 1;
    index.set('max', indexed('last'), max);
    index.set('zero', indexed('last'), 0);
    index.addFile(dataFile('later'), ['big', 'bigger'], [2 ** 31, max - 1]);
    assert.deepEqual(where(index.lookup('max')), [`last.parquet@${max}`]);
    assert.deepEqual(where(index.lookup('zero')), ['last.parquet@0']);
    assert.deepEqual(where(index.lookup('big')), [`later.parquet@${2 ** 31}`]);
    assert.deepEqual(where(index.lookup('bigger')), [`later.parquet@${max - 1}`]);
    assert.deepEqual(where(index.lookup('k999')), ['f999.parquet@999']);
  });

  it('addFile keeps every live row of a key seen twice; set and delete clear them', () => {
    const index = new PrimaryKeyIndex();
    index.addFile(dataFile('a'), ['1', '2', '3'], [0, 1, 5]);
    index.addFile(dataFile('b'), ['1', '4'], [7, 8]);
    index.addFile(dataFile('c'), ['1', '3'], [2, 3]);
    assert.equal(index.size, 4, 'keys, not rows');
    assert.equal(index.duplicateKeys, 2);
    assert.deepEqual(where(index.lookup('1')), ['a.parquet@0', 'b.parquet@7', 'c.parquet@2']);
    assert.deepEqual(where(index.lookup('3')), ['a.parquet@5', 'c.parquet@3']);
    assert.deepEqual(where(index.lookup('2')), ['a.parquet@1']);
    index.set('1', indexed('d'), 4);
    assert.deepEqual(where(index.lookup('1')), ['d.parquet@4'], 'the caller deleted every old row');
    assert.equal(index.duplicateKeys, 1);
    index.delete('3');
    assert.deepEqual(index.lookup('3'), []);
    assert.equal(index.duplicateKeys, 0);
    assert.equal(index.size, 3);
  });

  it('addFile with a key twice in one file keeps both rows', () => {
    const index = new PrimaryKeyIndex();
    index.addFile(dataFile('a'), ['x', 'x'], [0, 1]);
    assert.deepEqual(where(index.lookup('x')), ['a.parquet@0', 'a.parquet@1']);
    assert.equal(index.duplicateKeys, 1);
  });
});

describe('PrimaryKeyIndex.build', () => {
  const { schema } = buildSchema([
    { name: 'id', type: primitive('long'), required: true },
    { name: 'region', type: primitive('string'), required: true },
    { name: 'note', type: primitive('string') },
  ], { identifierFields: ['id'] });
  const spec: PartitionSpec = { specId: 0, fields: [{ sourceId: 2, fieldId: 1000, name: 'region', transform: { kind: 'identity' } }] };
  const id: TableIdentifier = { namespace: ['n'], name: 't' };
  const ID: KeyField[] = [{ name: 'id', type: primitive('long') }];

  /**
   * Partition eu: ids 0..9 at positions 0..9; partition us: ids 5..14 at positions 0..9 (id = 5 + position). Position
   * deletes: eu 5, 6, 7 and us 0 (id 5), 3 (id 8). Live: id 5 nowhere, 9 in both, every other id once.
   */
  async function fixture() {
    const catalog = new EmbeddedCatalog({ warehouse: `file://${await tempDir('duckhouse-pk-wh-')}`, io: new LocalFileIO() });
    await catalog.createNamespace(['n']);
    const created = await catalog.createTable(id, { schema, spec });
    const builder = new RowBatchBuilder(schema);
    for (let i = 0; i < 10; i++) builder.append({ id: BigInt(i), region: 'eu', note: `eu${i}` });
    for (let i = 0; i < 10; i++) builder.append({ id: BigInt(5 + i), region: 'us', note: null });
    const writer = new TableWriter(created);
    await writer.write(builder.build());
    const files = await writer.close();
    assert.equal(files.length, 2);
    const eu = files.find((f) => f.partition[0] === 'eu')!;
    const us = files.find((f) => f.partition[0] === 'us')!;
    let { table } = await commitAction(catalog, id, fastAppend(files));
    const beforeDeletes = table;
    const deletes = [
      await writePositionDeletes(table, [5n, 6n, 7n].map((pos) => ({ filePath: eu.filePath, pos })), { partition: ['eu'] }),
      await writePositionDeletes(table, [0n, 3n].map((pos) => ({ filePath: us.filePath, pos })), { partition: ['us'] }),
    ];
    ({ table } = await commitAction(catalog, id, rowDelta({ deleteFiles: deletes, referencedDataFiles: [eu.filePath, us.filePath] })));
    return { catalog, table, eu, us, beforeDeletes };
  }
  const setup = fixture();

  it('indexes the live rows only, with each file\'s spec and partition', async () => {
    const { table, eu, us } = await setup;
    const index = await PrimaryKeyIndex.build(table, ID);
    const euName = path.basename(eu.filePath);
    const usName = path.basename(us.filePath);
    const expected = new Map<string, string[]>();
    for (const i of [0, 1, 2, 3, 4, 8, 9]) expected.set(String(i), [`${euName}@${i}`]);
    for (const pos of [1, 2, 4, 5, 6, 7, 8, 9]) expected.set(String(5 + pos), [...(expected.get(String(5 + pos)) ?? []), `${usName}@${pos}`].sort());
    assert.equal(index.size, expected.size);
    assert.deepEqual([...index.keys()].sort(), [...expected.keys()].sort());
    for (const [key, locations] of expected) assert.deepEqual(where(index.lookup(key)), locations, `key ${key}`);
    assert.deepEqual(index.lookup('5'), [], 'deleted from both files');
    assert.equal(index.duplicateKeys, 1, 'id 9 is live in both files');
    assert.deepEqual(index.lookup('0')[0]!.file, { path: eu.filePath, specId: 0, partition: ['eu'], recordCount: eu.recordCount });
    assert.deepEqual(index.lookup('14')[0]!.file, { path: us.filePath, specId: 0, partition: ['us'], recordCount: us.recordCount });
  });

  it('uses the same key text as rowKeyOf, composite keys included', async () => {
    const { table } = await setup;
    const keyFields: KeyField[] = [{ name: 'region', type: primitive('string') }, { name: 'id', type: primitive('long') }];
    const index = await PrimaryKeyIndex.build(table, keyFields, { tempDir: await tempDir('duckhouse-pk-tmp-') });
    assert.equal(index.duplicateKeys, 0, 'eu/9 and us/9 are different keys');
    assert.equal(index.size, 15);
    assert.equal(index.lookup(rowKeyOf({ region: 'us', id: 9n }, keyFields)).length, 1);
    assert.deepEqual(index.lookup(rowKeyOf({ region: 'eu', id: 9 }, keyFields)).map((l) => l.position), [9]);
    assert.deepEqual(index.lookup(rowKeyOf({ region: 'eu', id: 5n }, keyFields)), []);
  });

  it('indexes every row written when there are no deletes yet', async () => {
    const { beforeDeletes } = await setup;
    const index = await PrimaryKeyIndex.build(beforeDeletes, ID);
    assert.equal(index.size, 15);
    assert.equal(index.duplicateKeys, 5, 'ids 5..9 are in both files');
    assert.deepEqual(index.lookup('5').map((l) => l.position).sort(), [0, 5]);
  });

  it('is empty for a table without a snapshot', async () => {
    const { catalog } = await setup;
    const created = await catalog.createTable({ namespace: ['n'], name: 'fresh' }, { schema });
    const index = await PrimaryKeyIndex.build(created, ID);
    assert.equal(index.size, 0);
    assert.deepEqual([...index.keys()], []);
  });
});
