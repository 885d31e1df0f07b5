// The views refresher end to end, in process: an embedded catalog on a memory:// warehouse (so every file goes through
// the refresher's file cache) and a temp DuckDB file. The same behaviour against Postgres, MinIO and PyIceberg is in
// test/integration/views.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Int64, makeData, RecordBatch, Utf8, vectorFromArray } from 'apache-arrow';
import type { Catalog, Table, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../../catalog/catalogs/embedded-catalog.js';
import { MemoryFileIO } from '../../catalog/io/memory-file-io.js';
import { planFiles } from '../../catalog/read/plan-files.js';
import { buildSchema } from '../../catalog/spec/schema.js';
import { primitive } from '../../catalog/spec/types.js';
import type { TableAction } from '../../catalog/transaction/action.js';
import { commitAction } from '../../catalog/transaction/action.js';
import { expireSnapshots } from '../../catalog/transaction/expire-snapshots.js';
import { fastAppend } from '../../catalog/transaction/fast-append.js';
import { rewriteFiles } from '../../catalog/transaction/rewrite-files.js';
import { rewriteManifests } from '../../catalog/transaction/rewrite-manifests.js';
import { rowDelta } from '../../catalog/transaction/row-delta.js';
import { updateSchema } from '../../catalog/transaction/update-schema.js';
import { TableWriter, writePositionDeletes } from '../../catalog/writer/table-writer.js';
import { openDuckDB, quoteLiteral } from '../../shared/duckdb.js';
import { createLogger } from '../../shared/logger.js';
import { ViewRefresher } from './refresher.js';

const id: TableIdentifier = { namespace: ['db'], name: 'orders' };
const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'name', type: primitive('string') }], { identifierFields: ['id'] });

function batch(rows: [number, string][], nameColumn = 'name'): RecordBatch {
  return new RecordBatch({
    id: makeData({ type: new Int64(), length: rows.length, data: BigInt64Array.from(rows, ([i]) => BigInt(i)) }),
    [nameColumn]: vectorFromArray(rows.map(([, n]) => n), new Utf8()).data[0]!,
  });
}

async function write(table: Table, rows: [number, string][], nameColumn?: string): Promise<Awaited<ReturnType<TableWriter['close']>>> {
  const writer = new TableWriter(table);
  await writer.write(batch(rows, nameColumn));
  return writer.close();
}

const commit = async (catalog: Catalog, action: TableAction): Promise<Table> => (await commitAction(catalog, id, action)).table;

/** Runs `sql` on the DuckDB file; with `attachAs`, from an in-memory session that ATTACHes it under that name. */
async function query(file: string, sql: string, attachAs?: string): Promise<Record<string, unknown>[]> {
  const { instance, connection } = await openDuckDB(attachAs ? ':memory:' : file);
  try {
    if (attachAs) await connection.run(`ATTACH ${quoteLiteral(file)} AS ${attachAs} (READ_ONLY)`);
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const rowsOf = (rows: Record<string, unknown>[]): string[] => rows.map((r) => `${String(r.id)}:${String(r.name ?? r.label ?? null)}`);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('ViewRefresher on a memory:// warehouse (file cache)', () => {
  it('follows appends, upserts, time travel, a rewrite with expiry, schema changes and a drop', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-views-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const catalog = new EmbeddedCatalog({ warehouse: 'memory://wh', io: new MemoryFileIO() });
    await catalog.createNamespace(['db']);
    let table = await catalog.createTable(id, { schema });
    const databaseFile = path.join(dir, 'views.duckdb');
    const cacheDir = path.join(dir, 'cache');
    const refresher = new ViewRefresher({ catalog, databaseFile, cacheDir, logger: createLogger('test', 'silent') });

    const empty = await refresher.refresh(id);
    assert.equal(empty.snapshotId, null);
    assert.deepEqual(await query(databaseFile, 'SELECT * FROM "db"."orders"'), []);
    assert.deepEqual((await query(databaseFile, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'db' AND table_name = 'orders'`)).map((r) => `${String(r.column_name)} ${String(r.data_type)}`), ['id BIGINT', 'name VARCHAR']);

    table = await commit(catalog, fastAppend(await write(table, [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']])));
    const first = table.metadata.currentSnapshotId!;
    const progress: number[] = [];
    const r1 = await refresher.refresh(id, (p) => progress.push(p));
    assert.equal(r1.snapshotId, String(first));
    assert.deepEqual([r1.dataFiles, r1.deleteFiles, r1.downloaded, r1.evicted], [1, 0, 1, 0]);
    assert.equal(progress.at(-1), 100);
    assert.ok(progress.every((p, i) => i === 0 || p > progress[i - 1]!), `progress increases: ${progress.join(',')}`);

    // Upsert: rows 2 and 3 deleted by position, 3 re-inserted with a new name, 5 added.
    const [dataFile] = (await planFiles(table)).map((task) => task.file);
    const deletes = await writePositionDeletes(table, [{ filePath: dataFile!.filePath, pos: 1n }, { filePath: dataFile!.filePath, pos: 2n }]);
    table = await commit(catalog, rowDelta({ dataFiles: await write(table, [[3, 'c2'], [5, 'e']]), deleteFiles: [deletes], referencedDataFiles: [dataFile!.filePath] }));
    const second = table.metadata.currentSnapshotId!;
    const r2 = await refresher.refresh(id);
    assert.deepEqual([r2.dataFiles, r2.deleteFiles, r2.downloaded], [2, 1, 2]);
    assert.deepEqual(rowsOf(await query(databaseFile, 'SELECT * FROM "db"."orders" ORDER BY id')), ['1:a', '3:c2', '4:d', '5:e']);
    assert.deepEqual(rowsOf(await query(databaseFile, `SELECT * FROM "db"."orders$at_snapshot"(${first}) ORDER BY id`)), ['1:a', '2:b', '3:c', '4:d']);
    assert.deepEqual(rowsOf(await query(databaseFile, `SELECT * FROM "db"."orders$at_snapshot"(${second}) ORDER BY id`)), ['1:a', '3:c2', '4:d', '5:e']);
    // A session that attaches the file under another name (macros bind in the caller's database).
    assert.deepEqual(rowsOf(await query(databaseFile, 'SELECT * FROM lake."db"."orders" ORDER BY id', 'lake')), ['1:a', '3:c2', '4:d', '5:e']);
    assert.deepEqual(rowsOf(await query(databaseFile, `SELECT * FROM lake."db"."orders$at_snapshot"(${first}) ORDER BY id`, 'lake')), ['1:a', '2:b', '3:c', '4:d']);
    const at = table.metadata.snapshots.find((s) => s.snapshotId === first)!.timestampMs;
    assert.deepEqual(rowsOf(await query(databaseFile, `SELECT * FROM "db"."orders$as_of"('${new Date(at).toISOString()}') ORDER BY id`)), ['1:a', '2:b', '3:c', '4:d']);
    await assert.rejects(query(databaseFile, `SELECT * FROM "db"."orders$as_of"('${new Date(at - 1).toISOString()}')`), /no snapshot in its current history committed at or before/);
    await assert.rejects(query(databaseFile, 'SELECT * FROM "db"."orders$at_snapshot"(42)'), /has no snapshot 42 in its current history/);
    const snapshots = await query(databaseFile, 'SELECT snapshot_id, parent_id, operation, summary[\'total-records\'] AS total FROM "db"."orders$snapshots"');
    assert.deepEqual(snapshots.map((s) => [s.snapshot_id, s.parent_id, s.operation, s.total]), [[first, null, 'append', '4'], [second, first, 'overwrite', '6']]);
    const history = await query(databaseFile, 'SELECT snapshot_id, is_current_ancestor FROM "db"."orders$history"');
    assert.deepEqual(history.map((h) => [h.snapshot_id, h.is_current_ancestor]), [[first, true], [second, true]]);

    // Compaction replaces both data files and the delete file; expiring the older snapshots evicts their files.
    const tasks = await planFiles(table);
    const compacted = await write(table, [[1, 'a'], [3, 'c2'], [4, 'd'], [5, 'e']]);
    table = await commit(catalog, rewriteFiles({ removed: [...tasks.map((task) => task.file), deletes], added: compacted, startingSnapshotId: second }));
    const r3 = await refresher.refresh(id);
    assert.deepEqual([r3.dataFiles, r3.deleteFiles, r3.downloaded, r3.evicted], [1, 0, 1, 0], 'time travel still needs the replaced files');
    assert.deepEqual(rowsOf(await query(databaseFile, `SELECT * FROM "db"."orders$at_snapshot"(${first}) ORDER BY id`)), ['1:a', '2:b', '3:c', '4:d']);
    table = await commit(catalog, expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 }));
    const r4 = await refresher.refresh(id);
    assert.equal(r4.evicted, 3, 'two replaced data files, the delete file');
    assert.deepEqual(await filesUnder(cacheDir), [path.join(cacheDir, 'memory', 'wh', 'db', 'orders', compacted[0]!.filePath.slice('memory://wh/db/orders/'.length))]);
    assert.deepEqual(rowsOf(await query(databaseFile, 'SELECT * FROM "db"."orders" ORDER BY id')), ['1:a', '3:c2', '4:d', '5:e']);
    await assert.rejects(query(databaseFile, `SELECT * FROM "db"."orders$at_snapshot"(${first})`), /has no snapshot/);
    assert.equal((await query(databaseFile, 'SELECT count(*)::INT AS n FROM "_duckhouse"."files"'))[0]!.n, 1);

    // Rename a column and add one: old files read by field id.
    table = await commit(catalog, updateSchema([{ op: 'rename', name: 'name', newName: 'label' }, { op: 'add', field: { name: 'note', type: primitive('string') } }]));
    table = await commit(catalog, fastAppend(await write(table, [[6, 'f']], 'label')));
    await refresher.refresh(id);
    assert.deepEqual(await query(databaseFile, 'SELECT id::INT AS id, label, note FROM "db"."orders" ORDER BY id'), [
      { id: 1, label: 'a', note: null }, { id: 3, label: 'c2', note: null }, { id: 4, label: 'd', note: null }, { id: 5, label: 'e', note: null }, { id: 6, label: 'f', note: null },
    ]);

    await catalog.dropTable(id);
    const dropped = await refresher.refresh(id);
    assert.equal(dropped.dropped, true);
    assert.equal(dropped.evicted, 2);
    assert.deepEqual(await filesUnder(cacheDir), []);
    assert.deepEqual(await query(databaseFile, `SELECT view_name FROM duckdb_views() WHERE schema_name = 'db'`), []);
    assert.deepEqual(await query(databaseFile, `SELECT function_name FROM duckdb_functions() WHERE schema_name = 'db'`), []);
    assert.equal((await query(databaseFile, 'SELECT count(*)::INT AS n FROM "_duckhouse"."snapshots"'))[0]!.n, 0);
  });
  it('follows commits whose manifests merge (every 2 manifests) and a rewrite of the manifests, one refresh or several commits apart', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-views-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const catalog = new EmbeddedCatalog({ warehouse: 'memory://wh', io: new MemoryFileIO() });
    await catalog.createNamespace(['db']);
    let table = await catalog.createTable(id, { schema, properties: { 'commit.manifest.min-count-to-merge': '2' } });
    const databaseFile = path.join(dir, 'views.duckdb');
    const refresher = new ViewRefresher({ catalog, databaseFile, cacheDir: path.join(dir, 'cache'), logger: createLogger('test', 'silent') });
    const model = new Map<number, string>();
    const where = new Map<number, { file: string; pos: bigint }>();
    for (let i = 0; i < 7; i++) {
      // Three new rows; from the second commit on, rename one row of the commit before (position delete + new row).
      const rows: [number, string][] = [[i * 3, `n${i}`], [i * 3 + 1, `n${i}`], [i * 3 + 2, `n${i}`]];
      const updated = i === 0 ? undefined : (i - 1) * 3;
      if (updated !== undefined) rows.push([updated, `u${i}`]);
      const files = await write(table, rows);
      const deleteFiles = updated === undefined ? [] : [await writePositionDeletes(table, [{ filePath: where.get(updated)!.file, pos: where.get(updated)!.pos }])];
      table = await commit(catalog, rowDelta({ dataFiles: files, deleteFiles, ...(updated === undefined ? {} : { referencedDataFiles: [where.get(updated)!.file] }) }));
      rows.forEach(([rowId, name], pos) => {
        model.set(rowId, name);
        where.set(rowId, { file: files[0]!.filePath, pos: BigInt(pos) });
      });
      if (i % 3 !== 1) {
        await refresher.refresh(id);
        const expected = [...model].sort(([a], [b]) => a - b).map(([rowId, name]) => `${rowId}:${name}`);
        assert.deepEqual(rowsOf(await query(databaseFile, 'SELECT * FROM "db"."orders" ORDER BY id')), expected, `after commit ${i + 1}`);
      }
    }
    const before = rowsOf(await query(databaseFile, 'SELECT * FROM "db"."orders" ORDER BY id'));
    table = await commit(catalog, rewriteManifests());
    const r = await refresher.refresh(id);
    assert.equal(r.snapshotId, String(table.metadata.currentSnapshotId));
    assert.deepEqual(rowsOf(await query(databaseFile, 'SELECT * FROM "db"."orders" ORDER BY id')), before);
  });
});
