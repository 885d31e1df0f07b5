import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { KeyField } from '../../schemas/row-key.js';
import { rowKeyOf } from '../../schemas/row-key.js';
import { RowBatchBuilder } from '../../schemas/row-batch.js';
import { DuckHouseError, MetadataInvalidError } from '../../shared/errors.js';
import type { Catalog, Table, TableIdentifier } from '../catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalogs/embedded-catalog.js';
import type { FileIO } from '../io/file-io.js';
import { LocalFileIO } from '../io/local-file-io.js';
import { localPathOf } from '../io/location.js';
import { MemoryFileIO } from '../io/memory-file-io.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import type { FieldSpec } from '../spec/schema.js';
import { buildSchema } from '../spec/schema.js';
import { currentSchema } from '../spec/table-metadata.js';
import type { PrimitiveType } from '../spec/types.js';
import { decimal, primitive } from '../spec/types.js';
import { commitAction } from '../transaction/action.js';
import { fastAppend } from '../transaction/fast-append.js';
import { rowDelta } from '../transaction/row-delta.js';
import { updateSchema } from '../transaction/update-schema.js';
import { closeWriterDuckDB } from '../writer/parquet-file.js';
import { TableWriter, writePositionDeletes } from '../writer/table-writer.js';
import { planFiles } from './plan-files.js';
import { readRowsAt, scanKeys, scanRows } from './scan-table.js';

type Row = Record<string, unknown>;
const id: TableIdentifier = { namespace: ['n'], name: 't' };

const KEY_TYPES: [string, PrimitiveType][] = [
  ['id', primitive('long')], ['k_int', primitive('int')], ['k_str', primitive('string')], ['k_uuid', primitive('uuid')],
  ['k_date', primitive('date')], ['k_ts', primitive('timestamp')], ['k_tstz', primitive('timestamptz')],
  ['k_tsns', primitive('timestamp_ns')], ['k_time', primitive('time')], ['k_dec', decimal(38, 6)], ['k_dec9', decimal(9, 2)],
  ['k_bool', primitive('boolean')], ['k_bin', primitive('binary')], ['k_double', primitive('double')], ['k_float', primitive('float')],
];
const FIELDS: FieldSpec[] = [
  ...KEY_TYPES.map(([name, type]): FieldSpec => ({ name, type, required: name === 'id' })),
  { name: 'st', type: { kind: 'struct', fields: [{ name: 'a', type: primitive('int') }, { name: 'tags', type: { kind: 'list', element: primitive('string') } }, { name: 'inner', type: { kind: 'struct', fields: [{ name: 'z', type: decimal(5, 1) }] } }] } },
  { name: 'm', type: { kind: 'map', key: primitive('string'), value: primitive('long') } },
  { name: 'pts', type: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'x', type: primitive('double'), required: true }, { name: 'u', type: primitive('uuid') }] } } },
];
const { schema } = buildSchema(FIELDS, { identifierFields: ['id'] });
const field = (name: string): KeyField => ({ name, type: KEY_TYPES.find(([n]) => n === name)![1] });

const STRINGS = ['plain', 'ünïcødé 😀', 'quote " and \\ backslash', 'ctl \u0000\u0001\u001f\n\t\r\b\f', '', "single ' quote", '\u2028\u2029\u007f', '[1,"2"]'];
const uuidOf = (i: number): string => Buffer.from(Uint8Array.from({ length: 16 }, (_, k) => (i * 37 + k * 11) & 0xff)).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** Row i of data file `f`, in Iceberg's in-memory form exactly as readRowsAt gives it back. */
function row(f: number, i: number): Row {
  const n = f * 1000 + i;
  const sign = i % 2 ? -1 : 1;
  return {
    id: BigInt(n), k_int: sign * n * 7919, k_str: `${STRINGS[i % STRINGS.length]!}${n}`, k_uuid: uuidOf(n),
    k_date: sign * n * 13, k_ts: BigInt(sign * n) * 1_000_000_007n, k_tstz: BigInt(n) * -86_400_000_001n + 10n,
    k_tsns: BigInt(sign * n) * 1_000_000_000_123n, k_time: BigInt((n * 17_000_001) % 86_400_000_000),
    k_dec: BigInt(sign) * (10n ** 37n + BigInt(n)), k_dec9: BigInt(sign * n * 101), k_bool: i % 3 === 0,
    k_bin: Uint8Array.from({ length: i % 5 }, (_, k) => (n + k * 91) & 0xff), k_double: sign * n * 1.1e-3, k_float: Math.fround(sign * n / 3),
    st: i % 4 === 0 ? null : { a: i % 3 ? n : null, tags: i % 5 ? [`t${n}`, null, 'ü"'] : null, inner: i % 6 ? { z: BigInt(-n) } : null },
    m: i % 3 === 0 ? null : new Map<string, bigint | null>([['a', BigInt(n)], ['b', null]]),
    pts: i % 7 === 0 ? null : [{ x: n + 0.5, u: uuidOf(-n) }, { x: -1, u: null }],
  };
}

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

async function newCatalog(kind: 'local' | 'memory'): Promise<{ catalog: Catalog; io: FileIO }> {
  const io = kind === 'local' ? new LocalFileIO() : new MemoryFileIO();
  const warehouse = kind === 'local' ? `file://${await tempDir('duckhouse-scan-wh-')}` : 'memory://wh';
  const catalog = new EmbeddedCatalog({ warehouse, io });
  await catalog.createNamespace(['n']);
  return { catalog, io };
}

async function append(catalog: Catalog, table: Table, rows: readonly Row[]): Promise<{ table: Table; file: DataFile }> {
  const builder = new RowBatchBuilder(currentSchema(table.metadata));
  for (const r of rows) builder.append(r);
  const writer = new TableWriter(table);
  await writer.write(builder.build());
  const files = await writer.close();
  assert.equal(files.length, 1);
  const result = await commitAction(catalog, id, fastAppend(files));
  return { table: result.table, file: files[0]! };
}

const ROWS = 40;
/** Deleted positions by data file index: file 1's position 3 comes from a second delete file that names file 1 only. */
const DELETED: Record<number, number[]> = { 0: [1, 5, 39], 1: [0, 2, 3] };

/** Two data files of ROWS rows each, then one position delete file spanning both (DELETED, by file index). */
async function fixture(kind: 'local' | 'memory'): Promise<{ catalog: Catalog; io: FileIO; table: Table; files: DataFile[]; rows: Row[][]; beforeDeletes: bigint }> {
  const { catalog, io } = await newCatalog(kind);
  let table = await catalog.createTable(id, { schema });
  const rows = [0, 1].map((f) => Array.from({ length: ROWS }, (_, i) => row(f, i)));
  const files: DataFile[] = [];
  for (const fileRows of rows) {
    const appended = await append(catalog, table, fileRows);
    table = appended.table;
    files.push(appended.file);
  }
  const deletes = Object.entries(DELETED).flatMap(([f, positions]) => positions.filter((pos) => f !== '1' || pos !== 3).map((pos) => ({ filePath: files[Number(f)]!.filePath, pos: BigInt(pos) })));
  // One delete file spans both data files (so it applies to both); the second names only file 1, at a position that
  // file 0 also has.
  const spanning = await writePositionDeletes(table, deletes);
  const other = await writePositionDeletes(table, [{ filePath: files[1]!.filePath, pos: 3n }]);
  const beforeDeletes = table.metadata.currentSnapshotId!;
  ({ table } = await commitAction(catalog, id, rowDelta({ deleteFiles: [spanning, other], referencedDataFiles: files.map((f) => f.filePath) })));
  return { catalog, io, table, files, rows, beforeDeletes };
}

async function collectKeys(table: Table, keyFields: readonly KeyField[], options: Parameters<typeof scanKeys>[2] = {}): Promise<{ file: string; keys: string[]; positions: number[] }[]> {
  const out = [];
  for await (const { file, keys, positions } of scanKeys(table, keyFields, options)) out.push({ file: file.filePath, keys, positions });
  return out;
}

/** What scanKeys must give, in planFiles order (newest manifest first). */
async function expectedKeys(table: Table, rows: Row[][], files: DataFile[], keyFields: readonly KeyField[]): Promise<{ file: string; keys: string[]; positions: number[] }[]> {
  const order = (await planFiles(table)).map((task) => files.findIndex((f) => f.filePath === task.file.filePath));
  assert.deepEqual([...order].sort(), [0, 1]);
  return order.map((f) => {
    const positions = rows[f]!.map((_, i) => i).filter((i) => !DELETED[f]!.includes(i));
    return { file: files[f]!.filePath, keys: positions.map((i) => rowKeyOf(rows[f]![i]!, keyFields)), positions };
  });
}

for (const kind of ['local', 'memory'] as const) {
  describe(`scan-table (${kind} warehouse)`, () => {
    const setup = fixture(kind);

    it('scanKeys gives rowKeyOf\'s text for every key type, skipping position-deleted rows of the right file only', async () => {
      const { table, files, rows } = await setup;
      const scratch = await tempDir('duckhouse-scan-tmp-');
      for (const [name] of KEY_TYPES) {
        const keyFields = [field(name)];
        assert.deepEqual(await collectKeys(table, keyFields, { tempDir: scratch }), await expectedKeys(table, rows, files, keyFields), name);
      }
      for (const names of [['k_str', 'id'], ['k_uuid', 'k_str', 'k_bin', 'k_dec9'], ['k_ts', 'k_tstz', 'k_date', 'k_time', 'k_bool', 'k_int', 'k_double'], ['k_str', 'k_str']]) {
        const keyFields = names.map(field);
        assert.deepEqual(await collectKeys(table, keyFields, { tempDir: scratch, concurrency: 1 }), await expectedKeys(table, rows, files, keyFields), names.join(', '));
      }
      assert.deepEqual(await readdir(scratch), [], 'downloaded copies are removed');
    });

    it('scanKeys reads an older snapshot, downloading each remote file once per scan', async () => {
      const { table, files, io, beforeDeletes } = await setup;
      const reads: string[] = [];
      const read = io.read.bind(io);
      io.read = (location: string) => {
        if (location.endsWith('.parquet')) reads.push(location);
        return read(location);
      };
      try {
        const all = await collectKeys(table, [field('id')], { snapshotId: beforeDeletes });
        assert.deepEqual(all.map((r) => r.positions.length), [ROWS, ROWS], 'no deletes in the older snapshot');
        assert.deepEqual(reads.sort(), kind === 'local' ? [] : files.map((f) => f.filePath).sort());
        reads.length = 0;
        await collectKeys(table, [field('id')]);
      } finally {
        io.read = read;
      }
      const deleteFiles = (await planFiles(table)).flatMap((t) => t.deletes.map((d) => d.filePath));
      const expected = kind === 'local' ? [] : [...files.map((f) => f.filePath), ...new Set(deleteFiles)].sort();
      assert.deepEqual(reads.sort(), expected, 'local files are read in place; a delete file shared by two data files is downloaded once');
    });

    it('scanKeys stops early without leaving temp files behind', async () => {
      const { table, files } = await setup;
      const scratch = await tempDir('duckhouse-scan-tmp-');
      for await (const result of scanKeys(table, [field('id')], { tempDir: scratch, concurrency: 2 })) {
        assert.ok(files.some((f) => f.filePath === result.file.filePath));
        break;
      }
      assert.deepEqual(await readdir(scratch), []);
    });

    it('readRowsAt round-trips every type, nested ones included', async () => {
      const { table, files, rows } = await setup;
      const got = await readRowsAt(table, files[1]!, [7, 0, 39, 7, 12, 13, 14, 15, 16, 21, 28]);
      assert.deepEqual([...got.keys()].sort((a, b) => a - b), [0, 7, 12, 13, 14, 15, 16, 21, 28, 39]);
      for (const [pos, r] of got) assert.deepEqual(r, rows[1]![pos], `row ${pos}`);
      const some = await readRowsAt(table, files[0]!, [3], ['k_str', 'pts']);
      assert.deepEqual(some.get(3), { k_str: rows[0]![3]!.k_str, pts: rows[0]![3]!.pts });
      assert.deepEqual(await readRowsAt(table, files[0]!, []), new Map());
      await assert.rejects(readRowsAt(table, files[0]!, [ROWS]), /position 40 is not a row/);
      await assert.rejects(readRowsAt(table, files[0]!, [0], ['nope']), /no column "nope"/);
    });

    it('scanRows gives every live row in chunks, with position deletes applied', async () => {
      const { table, files, rows } = await setup;
      const order = (await planFiles(table)).map((task) => files.findIndex((f) => f.filePath === task.file.filePath));
      const live = order.flatMap((f) => rows[f]!.filter((_, i) => !DELETED[f]!.includes(i)));
      const got: Row[] = [];
      for await (const chunk of scanRows(table)) got.push(...chunk);
      assert.deepEqual(got, live);
      const ids: Row[] = [];
      for await (const chunk of scanRows(table, { columns: ['id', 'k_bin'] })) ids.push(...chunk);
      assert.deepEqual(ids, live.map((r) => ({ id: r.id, k_bin: r.k_bin })));
    });

    it('names a missing data file', async () => {
      const { catalog, io } = await newCatalog(kind);
      const created = await catalog.createTable(id, { schema });
      const { table, file } = await append(catalog, created, [row(0, 0)]);
      if (kind === 'local') await rm(localPathOf(file.filePath));
      else await io.delete(file.filePath);
      const missing = (e: unknown): boolean => e instanceof MetadataInvalidError && e.message.includes(`data file ${file.filePath}`) && /is missing/.test(e.message);
      await assert.rejects(collectKeys(table, [field('id')]), missing);
      await assert.rejects(readRowsAt(table, file, [0]), missing);
      await assert.rejects(async () => {
        for await (const _ of scanRows(table));
      }, missing);
    });
  });
}

describe('scan-table on larger files', () => {
  it('keeps keys and positions right across row groups and chunks', async () => {
    const { catalog } = await newCatalog('local');
    const { schema: simple } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 's', type: primitive('string') }], { identifierFields: ['id'] });
    let table = await catalog.createTable(id, { schema: simple });
    const count = 300_000;
    const builder = new RowBatchBuilder(simple);
    for (let i = 0; i < count; i++) builder.append({ id: BigInt(i), s: `s${i}` });
    const writer = new TableWriter(table, { parallelism: 1 });
    await writer.write(builder.build());
    const [file] = await writer.close();
    ({ table } = await commitAction(catalog, id, fastAppend([file!])));
    const deleted = Array.from({ length: count / 997 }, (_, k) => k * 997 + 13);
    const deleteFile = await writePositionDeletes(table, deleted.map((pos) => ({ filePath: file!.filePath, pos: BigInt(pos) })));
    ({ table } = await commitAction(catalog, id, rowDelta({ deleteFiles: [deleteFile], referencedDataFiles: [file!.filePath] })));
    const [only, ...rest] = await collectKeys(table, [{ name: 'id', type: primitive('long') }]);
    assert.equal(rest.length, 0);
    assert.equal(only!.positions.length, count - deleted.length);
    const gone = new Set(deleted);
    assert.ok(only!.positions.every((pos, i) => only!.keys[i] === String(pos) && !gone.has(pos)));
    assert.equal(new Set(only!.positions).size, count - deleted.length);
    const rows = await readRowsAt(table, file!, [count - 1, 0, 122_880, 122_879, 245_760]);
    assert.deepEqual([...rows.entries()].sort((a, b) => a[0] - b[0]), [0, 122_879, 122_880, 245_760, count - 1].map((pos) => [pos, { id: BigInt(pos), s: `s${pos}` }]));
  });
});

describe('scan-table and schema evolution', () => {
  it('finds columns by field id after renames, reads promoted and added columns', async () => {
    const { catalog } = await newCatalog('local');
    const { schema: first } = buildSchema([
      { name: 'id', type: primitive('long'), required: true }, { name: 'name', type: primitive('string') }, { name: 'n', type: primitive('int') },
    ], { identifierFields: ['id'] });
    const created = await catalog.createTable(id, { schema: first });
    const { file } = await append(catalog, created, [{ id: 1n, name: 'a"b', n: -5 }, { id: 2n, name: 'ü', n: 7 }]);
    const { table } = await commitAction(catalog, id, updateSchema([
      { op: 'rename', name: 'name', newName: 'label' },
      { op: 'update-type', name: 'n', type: primitive('long') },
      { op: 'add', field: { name: 'extra', type: primitive('string') } },
    ]));
    const rows = await readRowsAt(table, file, [0, 1]);
    assert.deepEqual(rows.get(0), { id: 1n, label: 'a"b', n: -5n, extra: null });
    assert.deepEqual(rows.get(1), { id: 2n, label: 'ü', n: 7n, extra: null });
    const keyFields: KeyField[] = [{ name: 'label', type: primitive('string') }, { name: 'n', type: primitive('long') }];
    const [only] = await collectKeys(table, keyFields);
    assert.deepEqual(only?.keys, [...rows.values()].map((r) => rowKeyOf(r, keyFields)));
    assert.deepEqual(only?.keys, [rowKeyOf({ label: 'a"b', n: -5 }, keyFields), rowKeyOf({ label: 'ü', n: 7 }, keyFields)]);
    await assert.rejects(collectKeys(table, [{ name: 'extra', type: primitive('string') }]), /key column "extra" is missing from data file/);
  });

  it('refuses a table with equality deletes', async () => {
    const { catalog } = await newCatalog('memory');
    const created = await catalog.createTable(id, { schema });
    await append(catalog, created, [row(0, 0)]);
    const equality: DataFile = { content: DataFileContent.EQUALITY_DELETES, filePath: 'memory://wh/n/t/data/eq.parquet', fileFormat: 'PARQUET', specId: 0, partition: [], recordCount: 1n, fileSizeInBytes: 10n, equalityIds: [1] };
    const { table } = await commitAction(catalog, id, rowDelta({ deleteFiles: [equality] }));
    await assert.rejects(collectKeys(table, [field('id')]), (e: unknown) => e instanceof DuckHouseError && /unsupported: .*equality delete file memory:\/\/wh\/n\/t\/data\/eq\.parquet/.test(e.message));
  });
});
