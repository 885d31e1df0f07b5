// Both catalogs against real storage (local disk, MinIO) and Postgres: namespaces, table lifecycle, commit conflicts,
// missing metadata, and two writers racing on one table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { primitive } from '../../src/catalog/spec/types.js';
import type { DataFile } from '../../src/catalog/spec/manifest.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import pg from 'pg';
import { SqlCatalog } from '../../src/catalog/catalogs/sql-catalog.js';
import { CommitConflictError, CommitStateUnknownError, FileExistsError, MetadataInvalidError, NotFoundError } from '../../src/shared/errors.js';
import type { CatalogKind } from './catalog-fixtures.js';
import { catalogFixture, pgConfig } from './catalog-fixtures.js';

const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'v', type: primitive('string') }]);

function fakeFile(warehouse: string, i: number): DataFile {
  return { content: 0, filePath: `${warehouse}/ns/t/data/${i}.parquet`, fileFormat: 'PARQUET', specId: 0, partition: [], recordCount: 1n, fileSizeInBytes: 10n };
}

for (const kind of ['embedded-local', 'embedded-s3', 'sql-s3'] as CatalogKind[]) {
  describe(`catalog: ${kind}`, () => {
    it('namespaces and the table lifecycle: create, load, list, rename, register, drop', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const { catalog } = fx;
      await catalog.createNamespace(['ns'], { owner: 'data-eng' });
      await catalog.createNamespace(['ns', 'child']);
      await assert.rejects(catalog.createNamespace(['ns']), FileExistsError);
      assert.deepEqual(await catalog.listNamespaces(), [['ns']]);
      assert.deepEqual(await catalog.listNamespaces(['ns']), [['ns', 'child']]);
      assert.equal((await catalog.loadNamespaceProperties(['ns'])).owner, 'data-eng');

      const id: TableIdentifier = { namespace: ['ns'], name: 't' };
      const created = await catalog.createTable(id, { schema });
      await assert.rejects(catalog.createTable(id, { schema }), FileExistsError);
      await assert.rejects(catalog.createTable({ namespace: ['nope'], name: 't' }, { schema }), /namespace nope does not exist/);
      const loaded = await catalog.loadTable(id);
      assert.equal(loaded.metadata.tableUuid, created.metadata.tableUuid);
      assert.deepEqual(await catalog.listTables(['ns']), [id]);
      await assert.rejects(catalog.dropNamespace(['ns']), /not empty/);

      const renamed: TableIdentifier = { namespace: ['ns', 'child'], name: 'moved' };
      await catalog.renameTable(id, renamed);
      assert.equal(await catalog.tableExists(id), false);
      assert.equal((await catalog.loadTable(renamed)).metadata.tableUuid, created.metadata.tableUuid);

      const registered = await catalog.registerTable({ namespace: ['ns'], name: 'again' }, created.metadataLocation);
      assert.equal(registered.metadata.tableUuid, created.metadata.tableUuid);

      await catalog.dropTable(renamed);
      await catalog.dropTable({ namespace: ['ns'], name: 'again' }, { purge: true });
      await assert.rejects(catalog.loadTable(renamed), NotFoundError);
      await catalog.dropNamespace(['ns', 'child']);
      await catalog.dropNamespace(['ns']);
      assert.deepEqual(await catalog.listNamespaces(), []);
    });

    it('a stale commit is refused, naming expected and found; two racing writers both land through retry', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const { catalog } = fx;
      await catalog.createNamespace(['ns']);
      const id: TableIdentifier = { namespace: ['ns'], name: 't' };
      const table = await catalog.createTable(id, { schema });
      await commitAction(catalog, id, fastAppend([fakeFile(fx.warehouse, 0)]));
      const stale = fastAppend([fakeFile(fx.warehouse, 1)]);
      const pending = await stale.prepare(table);
      await assert.rejects(
        catalog.commitTable(id, pending.requirements, pending.updates),
        (e: unknown) => e instanceof CommitConflictError && /expected ref "main" at no snapshot, found snapshot \d+/.test(e.message),
      );

      const writers = [2, 3].map((i) => commitAction(catalog, id, fastAppend([fakeFile(fx.warehouse, i)]), { minWaitMs: 5, maxWaitMs: 50 }));
      await Promise.all(writers);
      const after = await catalog.loadTable(id);
      assert.equal(after.metadata.snapshots.length, 3);
      const files = (await planFiles(after)).map((f) => f.file.filePath).sort();
      assert.deepEqual(files, [0, 2, 3].map((i) => fakeFile(fx.warehouse, i).filePath).sort());
    });

    it('a missing or corrupt metadata file gives an error naming the file', async (t) => {
      const fx = await catalogFixture(kind);
      t.after(() => fx.cleanup());
      const { catalog } = fx;
      await catalog.createNamespace(['ns']);
      const id: TableIdentifier = { namespace: ['ns'], name: 't' };
      const table = await catalog.createTable(id, { schema });
      await catalog.io.delete(table.metadataLocation);
      await assert.rejects(catalog.loadTable(id), (e: unknown) => e instanceof MetadataInvalidError && e.message.includes(table.metadataLocation) && /missing/.test(e.message));
      await catalog.io.write(table.metadataLocation, new TextEncoder().encode('{"format-version": 2, "location": '));
      await assert.rejects(catalog.loadTable(id), (e: unknown) => e instanceof MetadataInvalidError && e.message.startsWith(`${table.metadataLocation}: not valid JSON`));
    });
  });
}

describe('commit outcomes', () => {
  it('an unknown outcome (the catalog times out) keeps every file already written', async (t) => {
    const fx = await catalogFixture('sql-s3');
    t.after(() => fx.cleanup());
    await fx.catalog.createNamespace(['ns']);
    const id: TableIdentifier = { namespace: ['ns'], name: 't' };
    await fx.catalog.createTable(id, { schema });
    // A second catalog on the same Postgres rows whose statements time out after 300 ms.
    const slow = new SqlCatalog({ name: fx.pyiceberg.catalog!, warehouse: fx.warehouse, io: fx.catalog.io, connection: { ...pgConfig(), statement_timeout: 300 } });
    t.after(() => slow.close().catch(() => undefined));
    const locker = new pg.Client(pgConfig());
    await locker.connect();
    t.after(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 FOR UPDATE', [fx.pyiceberg.catalog]);
    const file = fakeFile(fx.warehouse, 9);
    await fx.catalog.io.write(file.filePath, Uint8Array.of(1, 2, 3));
    const action = fastAppend([file]);
    const error = await commitAction(slow, id, action).then(() => undefined, (e: unknown) => e);
    await locker.query('ROLLBACK');
    assert.ok(error instanceof CommitStateUnknownError, `expected CommitStateUnknownError, found ${String(error)}`);
    assert.match(error.message, /did not confirm the commit .*files were kept/);
    const metadataLocation = error.context.metadataLocation as string;
    assert.equal(await fx.catalog.io.exists(metadataLocation), true, 'the new metadata file stays');
    assert.equal(await fx.catalog.io.exists(file.filePath), true, 'the data file stays');
    const written: string[] = [];
    for await (const f of fx.catalog.io.list(`${fx.warehouse}/ns/t/metadata/`)) if (f.location.endsWith('.avro')) written.push(f.location);
    assert.ok(written.some((f) => /\/snap-/.test(f)), 'the manifest list stays');
    assert.ok(written.some((f) => /-m0\.avro$/.test(f)), 'the manifest stays');
    const table = await fx.catalog.loadTable(id);
    assert.equal(table.metadata.snapshots.length, 0, 'the pointer did not move');
  });

  it('a missing manifest names the file and what referenced it', async (t) => {
    const fx = await catalogFixture('embedded-local');
    t.after(() => fx.cleanup());
    await fx.catalog.createNamespace(['ns']);
    const id: TableIdentifier = { namespace: ['ns'], name: 't' };
    await fx.catalog.createTable(id, { schema });
    const { table } = await commitAction(fx.catalog, id, fastAppend([fakeFile(fx.warehouse, 1)]));
    const manifests: string[] = [];
    for await (const f of table.io.list(`${table.metadata.location}/metadata/`)) if (/-m0\.avro$/.test(f.location)) manifests.push(f.location);
    assert.equal(manifests.length, 1);
    await table.io.delete(manifests[0]!);
    await assert.rejects(planFiles(table), (e: unknown) => e instanceof MetadataInvalidError && e.message === `manifest ${manifests[0]} (referenced by a manifest list) is missing`);
    await table.io.write(manifests[0]!, Uint8Array.of(0x4f, 0x62, 0x6a, 0x01, 9, 9));
    await assert.rejects(planFiles(table), (e: unknown) => e instanceof MetadataInvalidError && e.message.startsWith(`${manifests[0]}: not a valid Avro file`));
  });
});
