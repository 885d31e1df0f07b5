// The views refresher against the running stack: SQL catalog on Postgres, warehouses on local disk and on MinIO (the
// S3 one read through the refresher's file cache), PyIceberg as the independent reader. Each test uses a random
// namespace, a temp DuckDB file and a temp cache directory.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Catalog, Table, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { mapLimit } from '../../src/catalog/read/manifests.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import type { DataFile } from '../../src/catalog/spec/manifest.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { primitive } from '../../src/catalog/spec/types.js';
import type { TableAction } from '../../src/catalog/transaction/action.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { expireSnapshots } from '../../src/catalog/transaction/expire-snapshots.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { rewriteFiles } from '../../src/catalog/transaction/rewrite-files.js';
import { rowDelta } from '../../src/catalog/transaction/row-delta.js';
import { updateSchema } from '../../src/catalog/transaction/update-schema.js';
import { TableWriter, writePositionDeletes } from '../../src/catalog/writer/table-writer.js';
import { cacheDirOf } from '../../src/compactor/views/file-cache.js';
import { ViewRefresher } from '../../src/compactor/views/refresher.js';
import { openDuckDB, quoteLiteral } from '../../src/shared/duckdb.js';
import { createLogger } from '../../src/shared/logger.js';
import type { Row } from '../interop/pyiceberg.js';
import { expected, makeRows, readWithPyIceberg, sortById, TEST_FIELDS, toBatch } from '../interop/pyiceberg.js';
import type { CatalogFixture, CatalogKind } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { queryDuckDBFile, uniqueName } from './helpers.js';

const { schema } = buildSchema(TEST_FIELDS, { identifierFields: ['id'] });

interface Setup {
  fx: CatalogFixture;
  id: TableIdentifier;
  databaseFile: string;
  cacheDir: string;
  refresher: ViewRefresher;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, kind: CatalogKind): Promise<Setup> {
  const fx = await catalogFixture(kind);
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-views-it-'));
  t.after(async () => {
    await fx.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const namespace = uniqueName('views').replace('-', '_');
  await fx.catalog.createNamespace([namespace]);
  const id: TableIdentifier = { namespace: [namespace], name: 'orders' };
  await fx.catalog.createTable(id, { schema });
  const databaseFile = path.join(dir, 'views.duckdb');
  const cacheDir = path.join(dir, 'cache');
  const refresher = new ViewRefresher({ catalog: fx.catalog, databaseFile, cacheDir, logger: createLogger('views-test', 'silent') });
  return { fx, id, databaseFile, cacheDir, refresher };
}

async function writeRows(table: Table, rows: Row[], columns?: Parameters<typeof toBatch>[1], options: Parameters<typeof toBatch>[2] = {}): Promise<DataFile[]> {
  const writer = new TableWriter(table);
  await writer.write(toBatch(rows, columns, options));
  return writer.close();
}

const commit = async (catalog: Catalog, id: TableIdentifier, action: TableAction): Promise<Table> => (await commitAction(catalog, id, action)).table;

const query = queryDuckDBFile;

/** The rows of a view or macro call in PyIceberg's JSON shape (pyiceberg_read.py), sorted by id. */
async function viewRows(file: string, from: string, columns: string[] = ['id', 'name', 'qty', 'price', 'day', 'ts']): Promise<Record<string, unknown>[]> {
  const select = columns.map((c) => {
    if (c === 'day') return `strftime("day", '%Y-%m-%d') AS "day"`;
    if (c === 'ts') return `strftime(timezone('UTC', "ts"), '%Y-%m-%dT%H:%M:%S.%f') AS "ts"`;
    return `"${c}"`;
  });
  const rows = await query(file, `SELECT ${select.join(', ')} FROM ${from}`);
  return sortById(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))));
}

const modelView = (rows: Iterable<Row>): Record<string, unknown>[] => sortById([...rows].map((r) => expected(r)));

async function cachedFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
}

/** Upserts: deletes the rows of `update` by position, writes them again as `version`, plus `insert`. */
async function upsert(s: Setup, where: Map<bigint, { file: string; pos: bigint }>, update: bigint[], insert: Row[], version: number): Promise<Table> {
  const table = await s.fx.catalog.loadTable(s.id);
  const model = makeRowsById(update, version);
  const deletes = await writePositionDeletes(table, update.map((key) => ({ filePath: where.get(key)!.file, pos: where.get(key)!.pos })));
  const rows = [...model, ...insert];
  const files = await writeRows(table, rows);
  assert.equal(files.length, 1);
  const after = await commit(s.fx.catalog, s.id, rowDelta({ dataFiles: files, deleteFiles: [deletes], referencedDataFiles: [...new Set(update.map((k) => where.get(k)!.file))] }));
  rows.forEach((r, pos) => where.set(r.id, { file: files[0]!.filePath, pos: BigInt(pos) }));
  return after;
}

function makeRowsById(ids: bigint[], version: number): Row[] {
  return ids.map((i) => makeRows(Number(i), Number(i) + 1, version)[0]!);
}

for (const kind of ['sql-local', 'sql-s3'] as CatalogKind[]) {
  describe(`views refresher (${kind})`, () => {
    it('a burst of upserts: the view equals PyIceberg; $snapshots, $history and time travel match; a rewrite + expire evicts', async (t) => {
      const s = await setup(t, kind);
      const { catalog } = s.fx;
      const model = new Map<bigint, Row>();
      const where = new Map<bigint, { file: string; pos: bigint }>();
      let table = await catalog.loadTable(s.id);
      const initial = makeRows(0, 40);
      const files = await writeRows(table, initial);
      table = await commit(catalog, s.id, fastAppend(files));
      initial.forEach((r, pos) => {
        model.set(r.id, r);
        where.set(r.id, { file: files[0]!.filePath, pos: BigInt(pos) });
      });
      const first = await s.refresher.refresh(s.id);
      assert.deepEqual([first.dataFiles, first.deleteFiles, first.downloaded], [1, 0, kind === 'sql-s3' ? 1 : 0]);
      const history: { id: bigint; at: number; rows: Row[] }[] = [{ id: table.metadata.currentSnapshotId!, at: table.metadata.snapshots.at(-1)!.timestampMs, rows: [...model.values()] }];

      // Five upsert commits between two refreshes: the refresh applies them all incrementally.
      for (let round = 1; round <= 5; round++) {
        const update = [...new Set([round, round * 7, 30 + round])].map(BigInt);
        const insert = makeRows(40 + round * 3, 43 + round * 3);
        table = await upsert(s, where, update, insert, round);
        for (const r of [...makeRowsById(update, round), ...insert]) model.set(r.id, r);
        history.push({ id: table.metadata.currentSnapshotId!, at: table.metadata.snapshots.at(-1)!.timestampMs, rows: [...model.values()] });
      }
      const burst = await s.refresher.refresh(s.id);
      assert.equal(burst.snapshotId, String(table.metadata.currentSnapshotId));
      assert.deepEqual([burst.dataFiles, burst.deleteFiles, burst.downloaded], [6, 5, kind === 'sql-s3' ? 10 : 0]);

      const view = `"${s.id.namespace[0]}"."orders"`;
      const macro = (name: string, arg: string): string => `"${s.id.namespace[0]}"."orders$${name}"(${arg})`;
      const read = await readWithPyIceberg(s.fx, table, { snapshotIds: history.map((h) => h.id), asOfMs: history.map((h) => h.at) });
      const py = read.sql;
      assert.deepEqual(await viewRows(s.databaseFile, view), py.current);
      assert.deepEqual(py.current, modelView(model.values()));
      for (const h of history) {
        assert.deepEqual(await viewRows(s.databaseFile, macro('at_snapshot', String(h.id))), py.snapshots[String(h.id)], `$at_snapshot(${h.id})`);
        assert.equal(py.as_of[String(h.at)], String(h.id));
        assert.deepEqual(await viewRows(s.databaseFile, macro('as_of', `'${new Date(h.at).toISOString()}'`)), modelView(h.rows), `$as_of(${h.at})`);
      }

      // dbt-duckdb and other sessions may ATTACH the file under another name.
      const attached = await openDuckDB();
      try {
        await attached.connection.run(`ATTACH ${quoteLiteral(s.databaseFile)} AS lake (READ_ONLY)`);
        const count = async (from: string): Promise<unknown> => (await attached.connection.runAndReadAll(`SELECT count(*)::INT FROM lake.${from}`)).getRowsJS()[0]![0];
        assert.equal(await count(view), py.current.length);
        assert.equal(await count(macro('at_snapshot', String(history[1]!.id))), history[1]!.rows.length);
      } finally {
        attached.connection.closeSync();
        attached.instance.closeSync();
      }

      const snapshots = await query(s.databaseFile, `SELECT epoch_ms(committed_at) AS at, snapshot_id, parent_id, sequence_number, operation, summary, manifest_list FROM "${s.id.namespace[0]}"."orders$snapshots"`);
      assert.deepEqual(snapshots.map((r) => [Number(r.at), r.snapshot_id, r.parent_id, r.sequence_number, r.operation, r.manifest_list]),
        table.metadata.snapshots.map((m) => [m.timestampMs, m.snapshotId, m.parentSnapshotId ?? null, m.sequenceNumber, m.summary.operation, m.manifestList]));
      assert.deepEqual(snapshots.map((r) => Object.fromEntries((r.summary as { key: string; value: string }[]).map((e) => [e.key, e.value]))), table.metadata.snapshots.map((m) => ({ ...m.summary })));
      const log = await query(s.databaseFile, `SELECT epoch_ms(made_current_at) AS at, snapshot_id, parent_id, is_current_ancestor FROM "${s.id.namespace[0]}"."orders$history"`);
      assert.deepEqual(log.map((r) => [Number(r.at), r.snapshot_id, r.parent_id, r.is_current_ancestor]),
        table.metadata.snapshotLog.map((e) => [e.timestampMs, e.snapshotId, table.metadata.snapshots.find((m) => m.snapshotId === e.snapshotId)?.parentSnapshotId ?? null, true]));
      assert.deepEqual(log.map((r) => String(r.snapshot_id)), py.history);

      // Compaction replaces every file; expiring the older snapshots removes their files, and the cache follows.
      const before = table.metadata.currentSnapshotId!;
      const tasks = await planFiles(table);
      const replaced = [...tasks.map((task) => task.file), ...new Map(tasks.flatMap((task) => task.deletes).map((d) => [d.filePath, d])).values()];
      const compacted = await writeRows(table, [...model.values()].sort((a, b) => Number(a.id - b.id)));
      table = await commit(catalog, s.id, rewriteFiles({ removed: replaced, added: compacted, startingSnapshotId: before }));
      const rewritten = await s.refresher.refresh(s.id);
      assert.deepEqual([rewritten.dataFiles, rewritten.deleteFiles, rewritten.evicted], [1, 0, 0]);
      assert.deepEqual(await viewRows(s.databaseFile, macro('at_snapshot', String(history[2]!.id))), modelView(history[2]!.rows), 'replaced files still serve time travel');
      table = await commit(catalog, s.id, expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 }));
      const expired = await s.refresher.refresh(s.id);
      assert.equal(expired.evicted, kind === 'sql-s3' ? replaced.length : 0);
      if (kind === 'sql-s3') {
        const tableDir = cacheDirOf(s.cacheDir, table.metadata.location);
        assert.deepEqual(await cachedFiles(s.cacheDir), [path.join(tableDir, compacted[0]!.filePath.slice(table.metadata.location.length + 1))]);
      }
      const last = await readWithPyIceberg(s.fx, table);
      assert.deepEqual(await viewRows(s.databaseFile, view), last.sql.current);
      assert.deepEqual(await viewRows(s.databaseFile, macro('at_snapshot', String(table.metadata.currentSnapshotId))), last.sql.current);
      await assert.rejects(query(s.databaseFile, `SELECT * FROM ${macro('at_snapshot', String(before))}`), /has no snapshot/);
      assert.deepEqual((await query(s.databaseFile, `SELECT snapshot_id FROM "${s.id.namespace[0]}"."orders$snapshots"`)).map((r) => r.snapshot_id), [table.metadata.currentSnapshotId]);
    });

    it('a renamed column, a widened column and an added column read right from older files', async (t) => {
      const s = await setup(t, kind);
      const { catalog } = s.fx;
      let table = await catalog.loadTable(s.id);
      const old = makeRows(0, 20);
      table = await commit(catalog, s.id, fastAppend(await writeRows(table, old)));
      await s.refresher.refresh(s.id);
      table = await commit(catalog, s.id, updateSchema([
        { op: 'rename', name: 'name', newName: 'label' },
        { op: 'update-type', name: 'qty', type: primitive('long') },
        { op: 'add', field: { name: 'extra', type: primitive('double') } },
      ]));
      const fresh = makeRows(20, 30, 2);
      const columns = { id: 'id', label: 'name', qty: 'qty', price: 'price', day: 'day', ts: 'ts', extra: 'price' } as const;
      table = await commit(catalog, s.id, fastAppend(await writeRows(table, fresh, columns, { longQty: true })));
      await s.refresher.refresh(s.id);
      const read = await readWithPyIceberg(s.fx, table);
      const names = ['id', 'label', 'qty', 'price', 'day', 'ts', 'extra'];
      const rows = await viewRows(s.databaseFile, `"${s.id.namespace[0]}"."orders"`, names);
      assert.deepEqual(rows, read.sql.current);
      assert.deepEqual(rows.slice(0, 20).map((r) => [r.label, r.extra]), old.map((r) => [expected(r).name, null]), 'older files: renamed column by field id, added column null');
      const types = await query(s.databaseFile, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${s.id.namespace[0]}' AND table_name = 'orders' ORDER BY ordinal_position`);
      assert.deepEqual(types.map((r) => `${String(r.column_name)} ${String(r.data_type)}`), ['id BIGINT', 'label VARCHAR', 'qty BIGINT', 'price DOUBLE', 'day DATE', 'ts TIMESTAMP WITH TIME ZONE', 'extra DOUBLE']);
    });

    it('a dropped table loses its views, macros and rows', async (t) => {
      const s = await setup(t, kind);
      const { catalog } = s.fx;
      const table = await catalog.loadTable(s.id);
      await commit(catalog, s.id, fastAppend(await writeRows(table, makeRows(0, 5))));
      const other: TableIdentifier = { namespace: s.id.namespace, name: 'kept' };
      await catalog.createTable(other, { schema });
      const all = await s.refresher.refreshAll();
      assert.deepEqual(all.map((r) => r.table).sort(), [`${s.id.namespace[0]}.kept`, `${s.id.namespace[0]}.orders`]);
      await catalog.dropTable(s.id);
      const dropped = await s.refresher.refresh(s.id);
      assert.deepEqual([dropped.dropped, dropped.evicted], [true, kind === 'sql-s3' ? 1 : 0]);
      const objects = await query(s.databaseFile, `SELECT view_name AS name FROM duckdb_views() WHERE schema_name = '${s.id.namespace[0]}' UNION ALL SELECT function_name FROM duckdb_functions() WHERE schema_name = '${s.id.namespace[0]}' ORDER BY 1`);
      assert.deepEqual(objects.map((o) => o.name), ['kept', 'kept$as_of', 'kept$at_snapshot', 'kept$history', 'kept$snapshots']);
      assert.deepEqual(await query(s.databaseFile, `SELECT DISTINCT table_name FROM "_duckhouse"."files" UNION SELECT table_name FROM "_duckhouse"."tables"`), [{ table_name: `${s.id.namespace[0]}.kept` }]);
      assert.deepEqual(await cachedFiles(s.cacheDir), []);
      // refreshAll also notices a table dropped since the last refresh.
      await catalog.dropTable(other);
      const again = await s.refresher.refreshAll();
      assert.deepEqual(again.map((r) => [r.table, r.dropped]), [[`${s.id.namespace[0]}.kept`, true]]);
    });
  });
}

describe('views refresher at 1,000 data files', () => {
  for (const kind of ['sql-local', 'sql-s3'] as CatalogKind[]) {
    it(`refreshes a table of 1,000 small files (${kind}); durations are printed, not asserted`, async (t) => {
      const s = await setup(t, kind);
      const { catalog } = s.fx;
      let table = await catalog.loadTable(s.id);
      const [template] = await writeRows(table, makeRows(0, 3));
      const bytes = await table.io.read(template!.filePath);
      const copies = await mapLimit(Array.from({ length: 999 }, (_, i) => i), 16, async (i) => {
        const filePath = template!.filePath.replace(/\.parquet$/, `-copy${i}.parquet`);
        await table.io.write(filePath, bytes);
        return { ...template!, filePath };
      });
      table = await commit(catalog, s.id, fastAppend([template!, ...copies]));
      const view = `"${s.id.namespace[0]}"."orders"`;
      const cold = await s.refresher.refresh(s.id);
      assert.equal(cold.dataFiles, 1000);
      assert.equal(cold.downloaded, kind === 'sql-s3' ? 1000 : 0);
      assert.deepEqual(await query(s.databaseFile, `SELECT count(*)::INT AS n FROM ${view}`), [{ n: 3000 }]);
      const again = await s.refresher.refresh(s.id);
      // A fresh DuckDB file with the same cache: ranges rebuilt from the manifests, nothing downloaded.
      const rebuilt = await new ViewRefresher({ catalog, databaseFile: `${s.databaseFile}.2`, cacheDir: s.cacheDir, logger: createLogger('views-test', 'silent') }).refresh(s.id);
      assert.equal(rebuilt.downloaded, 0);
      await rm(`${s.databaseFile}.2`, { force: true });
      table = await commit(catalog, s.id, fastAppend(await writeRows(table, makeRows(3, 6))));
      const next = await s.refresher.refresh(s.id);
      assert.deepEqual([next.dataFiles, next.downloaded], [1001, kind === 'sql-s3' ? 1 : 0]);
      assert.deepEqual(await query(s.databaseFile, `SELECT count(*)::INT AS n FROM ${view}`), [{ n: 3003 }]);
      console.log(`views refresh, 1,000 data files (${kind}): cold ${cold.durationMs} ms (${cold.downloaded} downloaded), `
        + `same snapshot again ${again.durationMs} ms, new DuckDB file + warm cache ${rebuilt.durationMs} ms, after one more commit ${next.durationMs} ms`);
    });
  }
});
