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
import { CommitConflictError, FileExistsError, MetadataInvalidError, NotFoundError } from '../../src/shared/errors.js';
import type { CatalogKind } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';

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
