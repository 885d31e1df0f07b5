// DuckHouse writes, PyIceberg 0.11 reads (through its SQL catalog on Postgres and through StaticTable.from_metadata),
// on a MinIO warehouse and on local disk. Every scenario keeps a reference model of the rows per snapshot and
// compares what PyIceberg returns, historical snapshots included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Catalog, Table, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { manifestsOf } from '../../src/catalog/read/manifests.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import type { DataFile } from '../../src/catalog/spec/manifest.js';
import type { PartitionSpec } from '../../src/catalog/spec/partition-spec.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { currentSnapshot } from '../../src/catalog/spec/table-metadata.js';
import type { Transform } from '../../src/catalog/spec/transforms.js';
import { primitive } from '../../src/catalog/spec/types.js';
import type { TableAction } from '../../src/catalog/transaction/action.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { expireSnapshots } from '../../src/catalog/transaction/expire-snapshots.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { rewriteFiles } from '../../src/catalog/transaction/rewrite-files.js';
import { rowDelta } from '../../src/catalog/transaction/row-delta.js';
import { updateSchema } from '../../src/catalog/transaction/update-schema.js';
import { writePositionDeletes } from '../../src/catalog/writer/table-writer.js';
import type { CatalogFixture, CatalogKind } from '../integration/catalog-fixtures.js';
import { catalogFixture } from '../integration/catalog-fixtures.js';
import type { Row } from './pyiceberg.js';
import { expected, makeRows, readWithPyIceberg, sortById, TEST_FIELDS, writeRows } from './pyiceberg.js';

const { schema } = buildSchema(TEST_FIELDS, { identifierFields: ['id'] });

async function newTable(fx: CatalogFixture, name: string, spec?: PartitionSpec, properties?: Record<string, string>): Promise<TableIdentifier> {
  const id: TableIdentifier = { namespace: ['interop'], name };
  if (!(await fx.catalog.namespaceExists(['interop']))) await fx.catalog.createNamespace(['interop']);
  await fx.catalog.createTable(id, { schema, ...(spec ? { spec } : {}), ...(properties ? { properties } : {}) });
  return id;
}

async function commit(catalog: Catalog, id: TableIdentifier, action: TableAction): Promise<Table> {
  return (await commitAction(catalog, id, action)).table;
}

const view = (rows: Iterable<Row>): Record<string, unknown>[] => sortById([...rows].map((r) => expected(r)));

for (const kind of ['sql-s3', 'sql-local'] as CatalogKind[]) {
  describe(`PyIceberg reads what DuckHouse writes (${kind})`, () => {
    it('one append, then several appends; each snapshot reads back exactly; time travel by id and timestamp', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const id = await newTable(fx, 'appends');
      const model: Row[] = [];
      const history: { id: bigint; rows: Row[]; at: number }[] = [];
      for (const [from, to] of [[0, 100], [100, 130], [130, 131], [131, 200]] as const) {
        const rows = makeRows(from, to);
        const table = await fx.catalog.loadTable(id);
        const after = await commit(fx.catalog, id, fastAppend(await writeRows(table, rows)));
        model.push(...rows);
        const snapshot = after.metadata.snapshots.at(-1)!;
        history.push({ id: snapshot.snapshotId, rows: [...model], at: snapshot.timestampMs });
      }
      const table = await fx.catalog.loadTable(id);
      const first = history[0]!;
      const read = await readWithPyIceberg(fx, table, { snapshotIds: history.map((h) => h.id), asOfMs: [...history.map((h) => h.at), first.at - 1] });
      for (const result of Object.values(read)) {
        assert.equal(result.format_version, 2);
        assert.deepEqual(result.current, view(model));
        for (const h of history) assert.deepEqual(result.snapshots[String(h.id)], view(h.rows), `snapshot ${h.id}`);
        for (const h of history) assert.equal(result.as_of[String(h.at)], String(h.id));
        assert.equal(result.as_of[String(first.at - 1)], null);
        assert.deepEqual(result.history, history.map((h) => String(h.id)));
      }
    });

    it('a row-delta with position deletes: deletes and updates land in one snapshot', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const id = await newTable(fx, 'deltas');
      const rows = makeRows(0, 50);
      let table = await fx.catalog.loadTable(id);
      const files = await writeRows(table, rows);
      assert.equal(files.length, 1);
      table = await commit(fx.catalog, id, fastAppend(files));
      const before = table.metadata.currentSnapshotId!;
      const file = files[0]!.filePath;
      // Delete ids 3, 7, 10; update 20 and 21 (delete + re-insert as version 1); insert 50..54.
      const updated = makeRows(20, 22, 1);
      const inserted = makeRows(50, 55);
      const deletes = await writePositionDeletes(table, [21n, 3n, 20n, 10n, 7n].map((pos) => ({ filePath: file, pos })));
      const newData = await writeRows(table, [...updated, ...inserted]);
      table = await commit(fx.catalog, id, rowDelta({ dataFiles: newData, deleteFiles: [deletes], referencedDataFiles: [file] }));
      const gone = new Set([3n, 7n, 10n, 20n, 21n]);
      const model = [...rows.filter((r) => !gone.has(r.id)), ...updated, ...inserted];
      const tasks = await planFiles(table);
      assert.deepEqual(tasks.find((task) => task.file.filePath === file)?.deletes.map((d) => d.filePath), [deletes.filePath]);
      const read = await readWithPyIceberg(fx, table, { snapshotIds: [before] });
      for (const result of Object.values(read)) {
        assert.deepEqual(result.current, view(model));
        assert.deepEqual(result.snapshots[String(before)], view(rows));
      }
    });

    it('merged manifests: appends and deletes over many commits, merged every 2 manifests, read back exactly', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const id = await newTable(fx, 'merged', undefined, { 'commit.manifest.min-count-to-merge': '2' });
      const model = new Map<bigint, Row>();
      const fileOf = new Map<bigint, { path: string; pos: bigint }>();
      const snapshots: { id: bigint; rows: Row[] }[] = [];
      for (let i = 0; i < 6; i++) {
        let table = await fx.catalog.loadTable(id);
        const rows = makeRows(i * 10, i * 10 + 10);
        const files = await writeRows(table, rows);
        rows.forEach((r, pos) => fileOf.set(r.id, { path: files[0]!.filePath, pos: BigInt(pos) }));
        // From the second commit on, delete two rows of the commit before (position deletes on an older file).
        const victims = i === 0 ? [] : [BigInt(i * 10 - 10), BigInt(i * 10 - 9)];
        const deleteFiles = victims.length > 0 ? [await writePositionDeletes(table, victims.map((v) => ({ filePath: fileOf.get(v)!.path, pos: fileOf.get(v)!.pos })))] : [];
        table = await commit(fx.catalog, id, rowDelta({ dataFiles: files, deleteFiles, referencedDataFiles: victims.map((v) => fileOf.get(v)!.path) }));
        for (const r of rows) model.set(r.id, r);
        for (const v of victims) model.delete(v);
        snapshots.push({ id: table.metadata.currentSnapshotId!, rows: [...model.values()] });
      }
      const table = await fx.catalog.loadTable(id);
      const manifests = await manifestsOf(table.io, currentSnapshot(table.metadata)!);
      assert.ok(manifests.length <= 4, `${manifests.length} manifests after 6 commits`);
      assert.ok(manifests.some((m) => m.existingFilesCount > 0), 'a merged data manifest');
      const read = await readWithPyIceberg(fx, table, { snapshotIds: snapshots.map((s) => s.id) });
      for (const result of Object.values(read)) {
        assert.deepEqual(result.current, view(model.values()));
        for (const s of snapshots) assert.deepEqual(result.snapshots[String(s.id)], view(s.rows), `snapshot ${s.id}`);
      }
    });

    it('schema evolution (add, rename, widen int→long, drop) followed by an append', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const id = await newTable(fx, 'evolve');
      const old = makeRows(0, 20);
      let table = await fx.catalog.loadTable(id);
      table = await commit(fx.catalog, id, fastAppend(await writeRows(table, old)));
      const before = table.metadata.currentSnapshotId!;
      table = await commit(fx.catalog, id, updateSchema([
        { op: 'add', field: { name: 'extra', type: primitive('double') } },
        { op: 'rename', name: 'name', newName: 'label' },
        { op: 'update-type', name: 'qty', type: primitive('long') },
        { op: 'drop', name: 'day' },
      ]));
      const fresh = makeRows(20, 30, 2);
      const columns = { id: 'id', label: 'name', qty: 'qty', price: 'price', ts: 'ts', extra: 'price' } as const;
      table = await commit(fx.catalog, id, fastAppend(await writeRows(table, fresh, { longQty: true }, columns)));
      const shape = (r: Row, withExtra: boolean): Record<string, unknown> => {
        const e = expected(r);
        return { id: e.id, label: e.name, qty: e.qty, price: e.price, ts: e.ts, extra: withExtra ? e.price : null };
      };
      const read = await readWithPyIceberg(fx, table, { snapshotIds: [before] });
      for (const result of Object.values(read)) {
        assert.match(result.schema, /label/);
        assert.doesNotMatch(result.schema, /\bday\b/);
        assert.deepEqual(result.current, sortById([...old.map((r) => shape(r, false)), ...fresh.map((r) => shape(r, true))]));
        // Time travel reads the snapshot with the schema it was written with (the snapshot's schema-id).
        assert.deepEqual(result.snapshots[String(before)], view(old));
      }
    });

    const transforms: [string, string, Transform][] = [
      ['identity', 'name', { kind: 'identity' }],
      ['year', 'day', { kind: 'year' }],
      ['month', 'ts', { kind: 'month' }],
      ['day', 'ts', { kind: 'day' }],
      ['hour', 'ts', { kind: 'hour' }],
      ['bucket', 'id', { kind: 'bucket', n: 4 }],
      ['truncate', 'name', { kind: 'truncate', width: 6 }],
    ];
    it('partitioned tables, one per transform: rows read back, and PyIceberg prunes with our partition values', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      for (const [label, column, transform] of transforms) {
        const sourceId = schema.fields.find((f) => f.name === column)!.id;
        const id = await newTable(fx, `part_${label}`, { specId: 0, fields: [{ sourceId, fieldId: 1000, name: `${column}_${label}`, transform }] });
        const rows = makeRows(0, 80);
        let table = await fx.catalog.loadTable(id);
        const files = await writeRows(table, rows);
        assert.ok(files.length > 1, `${label}: expected several partitions, found ${files.length} file(s)`);
        table = await commit(fx.catalog, id, fastAppend(files));
        const probe = rows[18]!;
        const literal = expected(probe)[column];
        const filterValue = column === 'ts' ? `${String(literal)}+00:00` : literal;
        const read = await readWithPyIceberg(fx, table, { filters: [[column, filterValue]] });
        for (const result of Object.values(read)) {
          assert.deepEqual(result.current, view(rows), `${label}: all rows`);
          const matching = rows.filter((r) => expected(r)[column] === literal);
          assert.deepEqual(result.filtered[0], view(matching), `${label}: rows where ${column} = ${String(literal)}`);
        }
      }
    });

    it('a rewrite (compaction) replaces files and deletes; expire-snapshots then drops history and files', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const id = await newTable(fx, 'compact');
      let table = await fx.catalog.loadTable(id);
      const model = new Map<bigint, Row>();
      for (const [from, to] of [[0, 30], [30, 60], [60, 90]] as const) {
        const rows = makeRows(from, to);
        table = await commit(fx.catalog, id, fastAppend(await writeRows(table, rows)));
        for (const r of rows) model.set(r.id, r);
      }
      const firstFile = (await planFiles(table)).map((task) => task.file).find((f) => f.recordCount === 30n)!;
      const deletes = await writePositionDeletes(table, [{ filePath: firstFile.filePath, pos: 0n }, { filePath: firstFile.filePath, pos: 1n }]);
      table = await commit(fx.catalog, id, rowDelta({ deleteFiles: [deletes], referencedDataFiles: [firstFile.filePath] }));
      const tasks = await planFiles(table);
      assert.equal(tasks.length, 3);
      for (const gone of firstTwoIds(firstFile)) model.delete(gone);
      const beforeRewrite = table.metadata.currentSnapshotId!;
      const compacted = await writeRows(table, [...model.values()].sort((x, y) => Number(x.id - y.id)));
      table = await commit(fx.catalog, id, rewriteFiles({
        removed: [...tasks.map((task) => task.file), deletes],
        added: compacted,
        startingSnapshotId: beforeRewrite,
      }));
      assert.equal(table.metadata.snapshots.at(-1)!.summary.operation, 'replace');
      let read = await readWithPyIceberg(fx, table, { snapshotIds: [beforeRewrite] });
      for (const result of Object.values(read)) {
        assert.deepEqual(result.current, view(model.values()));
        assert.deepEqual(result.snapshots[String(beforeRewrite)], view(model.values()));
        assert.equal(result.files, 1);
      }
      const expire = expireSnapshots({ olderThanMs: Date.now() + 1, retainLast: 1 });
      table = await commit(fx.catalog, id, expire);
      assert.equal(table.metadata.snapshots.length, 1);
      assert.equal(expire.result.expiredSnapshotIds.length, 4);
      assert.equal(expire.result.deletedFiles.contentFiles, 4, 'three replaced data files and one delete file');
      for (const task of tasks) assert.equal(await table.io.exists(task.file.filePath), false);
      read = await readWithPyIceberg(fx, table);
      for (const result of Object.values(read)) {
        assert.deepEqual(result.current, view(model.values()));
        assert.deepEqual(result.history, [String(table.metadata.currentSnapshotId)]);
      }
    });
  });
}

/** The ids at positions 0 and 1 of a data file written in id order: its lower id bound and the next one. */
function firstTwoIds(file: DataFile): bigint[] {
  const lower = file.lowerBounds?.get(1);
  assert.ok(lower, 'data files carry id bounds');
  const first = new DataView(lower.buffer, lower.byteOffset, lower.byteLength).getBigInt64(0, true);
  return [first, first + 1n];
}
