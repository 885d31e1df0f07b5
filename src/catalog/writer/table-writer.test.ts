import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Int32, Int64, makeData, RecordBatch, Utf8, vectorFromArray } from 'apache-arrow';
import { openDuckDB, quoteLiteral } from '../../shared/duckdb.js';
import type { Table } from '../catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalogs/embedded-catalog.js';
import { LocalFileIO } from '../io/local-file-io.js';
import { localPathOf } from '../io/location.js';
import { fromBytes } from '../spec/conversions.js';
import { DataFileContent } from '../spec/manifest.js';
import type { PartitionSpec } from '../spec/partition-spec.js';
import { bucket } from '../spec/transforms.js';
import { buildSchema } from '../spec/schema.js';
import { primitive } from '../spec/types.js';
import { splitRows, TableWriter, writePositionDeletes } from './table-writer.js';

const { schema } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'grp', type: primitive('int') },
  { name: 'note', type: primitive('string') },
]);

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function table(spec?: PartitionSpec, properties: Record<string, string> = {}): Promise<Table> {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-tw-'));
  dirs.push(dir);
  const catalog = new EmbeddedCatalog({ warehouse: `file://${dir}`, io: new LocalFileIO() });
  await catalog.createNamespace(['n']);
  return catalog.createTable({ namespace: ['n'], name: 't' }, { schema, ...(spec ? { spec } : {}), properties });
}

function batch(from: number, count: number): RecordBatch {
  const ids = BigInt64Array.from({ length: count }, (_, i) => BigInt(from + i));
  return new RecordBatch({
    id: makeData({ type: new Int64(), length: count, data: ids }),
    grp: makeData({ type: new Int32(), length: count, data: Int32Array.from({ length: count }, (_, i) => (from + i) % 3) }),
    note: vectorFromArray(Array.from({ length: count }, (_, i) => `row ${from + i} ${'x'.repeat((from + i) % 50)}`), new Utf8()).data[0]!,
  });
}

async function idsOf(file: string): Promise<bigint[]> {
  const { instance, connection } = await openDuckDB();
  try {
    const reader = await connection.runAndReadAll(`SELECT id FROM read_parquet(${quoteLiteral(localPathOf(file))})`);
    return reader.getRows().map((r) => r[0] as bigint);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('TableWriter', () => {
  it('rolls files near write.target-file-size-bytes and keeps row order', async () => {
    const t = await table(undefined, { 'write.target-file-size-bytes': String(256 * 1024) });
    const writer = new TableWriter(t);
    for (let i = 0; i < 40; i++) await writer.write(batch(i * 10_000, 10_000));
    const files = await writer.close();
    assert.ok(files.length >= 3, `expected several files, found ${files.length}`);
    assert.equal(files.reduce((n, f) => n + f.recordCount, 0n), 400_000n);
    // After the first file calibrates the compression ratio, files land within a factor of two of the target.
    for (const f of files.slice(1, -1)) assert.ok(f.fileSizeInBytes > 128n * 1024n && f.fileSizeInBytes < 512n * 1024n, `file of ${f.fileSizeInBytes} bytes`);
    let next = 0n;
    for (const f of files) {
      const ids = await idsOf(f.filePath);
      assert.equal(ids[0], next, 'files continue where the previous one ended');
      assert.ok(ids.every((id, i) => id === next + BigInt(i)), 'rows keep their order within a file');
      next += BigInt(ids.length);
      assert.equal(fromBytes(primitive('long'), f.lowerBounds!.get(1)!), ids[0]);
      assert.equal(fromBytes(primitive('long'), f.upperBounds!.get(1)!), ids.at(-1));
    }
  });

  it('fans out one file set per partition, with the partition tuple on each DataFile', async () => {
    const spec: PartitionSpec = { specId: 0, fields: [{ sourceId: 2, fieldId: 1000, name: 'grp', transform: { kind: 'identity' } }, { sourceId: 1, fieldId: 1001, name: 'id_bucket', transform: { kind: 'bucket', n: 2 } }] };
    const t = await table(spec);
    const writer = new TableWriter(t);
    await writer.write(batch(0, 3000));
    const files = await writer.close();
    assert.equal(files.length, 6);
    for (const f of files) {
      const ids = await idsOf(f.filePath);
      assert.ok(ids.length > 0);
      for (const id of ids) assert.deepEqual(f.partition, [Number(id % 3n), bucket('long', id, 2)]);
      assert.match(f.filePath, new RegExp(`/data/grp=${String(f.partition[0])}/id_bucket=${String(f.partition[1])}/`));
    }
    assert.equal(files.reduce((n, f) => n + f.recordCount, 0n), 3000n);
  });

  it('splits a large flush into files written at once, keeping row order across them', async () => {
    const parts = splitRows([batch(0, 7), batch(7, 3), batch(10, 11)], 3);
    assert.deepEqual(parts.map((p) => p.reduce((n, b) => n + b.numRows, 0)), [7, 7, 7]);
    const ids = parts.flat().flatMap((b) => Array.from(b.getChild('id')!.toArray() as BigInt64Array));
    assert.deepEqual(ids, Array.from({ length: 21 }, (_, i) => BigInt(i)));
    const t = await table();
    const writer = new TableWriter(t, { parallelism: 2, minRowsPerParallelFile: 1000 });
    await writer.write(batch(0, 5000));
    const files = await writer.close();
    assert.deepEqual(files.map((f) => f.recordCount), [2500n, 2500n]);
    assert.deepEqual((await idsOf(files[1]!.filePath))[0], 2500n);
    const single = new TableWriter(await table(), { parallelism: 2, minRowsPerParallelFile: 4000 });
    await single.write(batch(0, 5000));
    assert.equal((await single.close()).length, 1, 'too few rows to split');
  });


  it('says which input rows each file holds, across partitions, rolled and parallel files', async () => {
    const spec: PartitionSpec = { specId: 0, fields: [{ sourceId: 2, fieldId: 1000, name: 'grp', transform: { kind: 'identity' } }] };
    const t = await table(spec, { 'write.target-file-size-bytes': String(64 * 1024) });
    const writer = new TableWriter(t, { parallelism: 2, minRowsPerParallelFile: 500 });
    // Row i of the input has id 1000 + i; grp = id % 3 interleaves the partitions row by row.
    for (let i = 0; i < 6; i++) await writer.write(batch(1000 + i * 2000, 2000));
    const files = await writer.close();
    assert.ok(files.length > 3, `expected several files per partition, found ${files.length}`);
    const seen = new Set<number>();
    for (const f of files) {
      const ranges = writer.rowRangesOf(f.filePath);
      const expected = ranges.flatMap((r) => Array.from({ length: r.count }, (_, i) => BigInt(1000 + r.firstRow + i)));
      assert.deepEqual(await idsOf(f.filePath), expected, `rows of ${f.filePath} follow its ranges`);
      for (const id of expected) seen.add(Number(id));
    }
    assert.equal(seen.size, 12_000, 'every input row is in exactly one range');
  });
  it('writes position deletes sorted by (file_path, pos) with full file_path bounds', async () => {
    const t = await table();
    const file = await writePositionDeletes(t, [
      { filePath: 'file:///b.parquet', pos: 5n },
      { filePath: 'file:///a.parquet', pos: 9n },
      { filePath: 'file:///b.parquet', pos: 1n },
      { filePath: 'file:///a.parquet', pos: 2n },
    ]);
    assert.equal(file.content, DataFileContent.POSITION_DELETES);
    assert.equal(file.recordCount, 4n);
    assert.equal(new TextDecoder().decode(file.lowerBounds!.get(2147483546)), 'file:///a.parquet');
    assert.equal(new TextDecoder().decode(file.upperBounds!.get(2147483546)), 'file:///b.parquet');
    const { instance, connection } = await openDuckDB();
    try {
      const rows = (await connection.runAndReadAll(`SELECT file_path, pos FROM read_parquet(${quoteLiteral(localPathOf(file.filePath))})`)).getRows();
      assert.deepEqual(rows, [['file:///a.parquet', 2n], ['file:///a.parquet', 9n], ['file:///b.parquet', 1n], ['file:///b.parquet', 5n]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
