// Tenants against the running stack: the SQL catalog on Postgres with a MinIO warehouse, Kafka topics, registry
// subjects and a temporary DuckDB views file. Tenant ids are random, and tenant B's id is A's plus "2", so every
// prefix check (topics, files, namespaces, DuckDB schemas) is tested against its nearest neighbour.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import type { DataFile } from '../../src/catalog/spec/manifest.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { ViewRefresher } from '../../src/compactor/views/refresher.js';
import { createKafka, ensureTopic, tableTopic, topicAdmin } from '../../src/producers/kafka/client.js';
import { createRegistry, keySubject, registerAvro, subjectAdmin, valueSubject } from '../../src/schemas/registry.js';
import { DuckHouseError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import type { CreateTenantDeps, DeleteTenantDeps } from '../../src/tenants/lifecycle.js';
import { createTenant, deleteTenant, planTenantDelete, TENANT_PROPERTY } from '../../src/tenants/lifecycle.js';
import { tenantNames } from '../../src/tenants/scope.js';
import { TenantStore } from '../../src/tenants/tenant-store.js';
import { makeRows, TEST_FIELDS, writeRows } from '../interop/pyiceberg.js';
import { catalogFixture, pgConfig } from './catalog-fixtures.js';
import { endpoints, queryDuckDBFile, uniqueName } from './helpers.js';

const { schema } = buildSchema(TEST_FIELDS, { identifierFields: ['id'] });
const AVRO = { type: 'record', name: 'Row', namespace: 'duckhouse.test', fields: [{ name: 'id', type: 'long' }] };

async function filesUnder(catalog: Catalog, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const f of catalog.io.list(prefix)) found.push(f.location);
  return found;
}

const duckdb = queryDuckDBFile;

const schemasIn = async (file: string): Promise<string[]> =>
  (await duckdb(file, 'SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() ORDER BY 1')).map((r) => String(r.schema_name));
const viewTablesIn = async (file: string): Promise<string[]> => (await duckdb(file, 'SELECT table_name FROM "_duckhouse"."tables" ORDER BY 1')).map((r) => String(r.table_name));

/** Topics are deleted asynchronously by the broker: waits until `check` holds. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function addTable(catalog: Catalog, id: TableIdentifier, rows: number): Promise<DataFile[]> {
  const table = await catalog.createTable(id, { schema });
  const files = await writeRows(table, makeRows(0, rows));
  await commitAction(catalog, id, fastAppend(files));
  return files;
}

describe('tenants', () => {
  it('are created isolated, authenticate to their own scope, and delete only what they own', async (t) => {
    const fx = await catalogFixture('sql-s3');
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-tenants-it-'));
    const pool = new pg.Pool({ ...pgConfig(), max: 4 });
    const store = new TenantStore({ pool });
    const kafka = createKafka({ brokers: endpoints().kafka.brokers, clientId: 'tenants-test', quiet: true });
    const topics = topicAdmin(kafka);
    const subjects = subjectAdmin({ url: endpoints().schemaRegistry.url });
    const registry = createRegistry({ url: endpoints().schemaRegistry.url });
    const prefix = uniqueName('tenants');
    const idA = uniqueName('ta').replace('-', '_');
    const idB = `${idA}2`;
    const idC = `${idA}c`;
    const plain = `${idA}_x`;
    const duckdbFile = path.join(dir, 'views.duckdb');
    const deps: CreateTenantDeps & DeleteTenantDeps = { store, catalog: fx.catalog, duckdbFile, topicPrefix: prefix, topics, subjects };
    const plainTopic = tableTopic(prefix, plain, 'orders');
    const adminTokens: string[] = [];
    t.after(async () => {
      for (const id of [idA, idB, idC]) await deleteTenant(deps, id).catch(() => undefined);
      await pool.query('DELETE FROM duckhouse_tokens WHERE token_id = ANY($1)', [adminTokens]).catch(() => undefined);
      await topics.deleteTopics([plainTopic]).catch(() => undefined);
      await subjects.deleteSubject(valueSubject(plainTopic)).catch(() => undefined);
      await store.close();
      await pool.end();
      await fx.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    // A namespace of no tenant whose name starts with A's id, with a table, a topic and a subject: it must survive.
    await fx.catalog.createNamespace([plain]);
    await addTable(fx.catalog, { namespace: [plain], name: 'orders' }, 3);

    const progress: string[] = [];
    const a = await createTenant(deps, idA, { description: 'tenant A', onProgress: (m) => progress.push(m) });
    const b = await createTenant(deps, idB);
    assert.ok(progress.some((m) => m.includes('namespace')), progress.join('\n'));
    assert.deepEqual(a.tenant.namespace, [idA]);
    assert.equal(a.tenant.topicPrefix, `${prefix}.${idA}.`);
    assert.equal(a.tenant.warehousePrefix, `${fx.warehouse}/${idA}/`);
    assert.equal(a.tenant.description, 'tenant A');
    assert.match(a.token, /^dhk_[0-9a-f]{12}_/);
    assert.equal((await fx.catalog.loadNamespaceProperties([idA]))[TENANT_PROPERTY], idA);
    assert.deepEqual((await schemasIn(duckdbFile)).filter((s) => s.startsWith(idA)), [idA, idB]);

    // Each tenant: a table, one nested namespace with a table for A, a topic and subjects, and views in DuckDB.
    await addTable(fx.catalog, { namespace: [idA], name: 'orders' }, 5);
    await fx.catalog.createNamespace([idA, 'sub']);
    await addTable(fx.catalog, { namespace: [idA, 'sub'], name: 'events' }, 2);
    const filesB = await addTable(fx.catalog, { namespace: [idB], name: 'orders' }, 4);
    // A's table also references B's data file (as a hostile commit could): deleting A must leave it alone.
    await commitAction(fx.catalog, { namespace: [idA], name: 'orders' }, fastAppend(filesB));
    for (const [ns, keyToo] of [[idA, true], [idB, false], [plain, false]] as const) {
      const topic = tableTopic(prefix, ns, 'orders');
      await ensureTopic(kafka, topic);
      await registerAvro(registry, valueSubject(topic), AVRO);
      if (keyToo) await registerAvro(registry, keySubject(topic), { ...AVRO, name: 'Key' });
    }
    const refresher = new ViewRefresher({ catalog: fx.catalog, databaseFile: duckdbFile, cacheDir: path.join(dir, 'cache'), logger: createLogger('tenants-test', 'silent') });
    for (const id of [{ namespace: [idA], name: 'orders' }, { namespace: [idA, 'sub'], name: 'events' }, { namespace: [idB], name: 'orders' }, { namespace: [plain], name: 'orders' }]) await refresher.refresh(id);
    assert.deepEqual(await viewTablesIn(duckdbFile), [`${idA}.orders`, `${idA}.sub.events`, `${idB}.orders`, `${plain}.orders`].sort());

    // Tokens: each authenticates to its own tenant; malformed, wrong-secret and revoked ones do not.
    const scopeA = await store.authenticate(a.token);
    assert.equal(scopeA?.kind === 'tenant' && scopeA.tenant.id, idA);
    assert.equal(scopeA?.tokenId, a.tokenId);
    const scopeB = await store.authenticate(b.token);
    assert.equal(scopeB?.kind === 'tenant' && scopeB.tenant.id, idB);
    assert.equal(await store.authenticate(`${a.token.slice(0, -4)}AAAA`), undefined, 'right id, wrong secret');
    assert.equal(await store.authenticate('Bearer nonsense'), undefined);
    assert.ok((await store.listTokens({ tenantId: idA }))[0]?.lastUsedAt, 'last_used_at is written on use');
    const admin = await store.issueToken({ admin: true }, 'test admin');
    adminTokens.push(admin.tokenId);
    assert.deepEqual(await store.authenticate(admin.token), { kind: 'admin', tokenId: admin.tokenId });
    const second = await store.issueToken({ tenantId: idA }, 'to revoke');
    const elsewhere = new TenantStore({ pool, authCacheMs: 300 });
    assert.equal((await elsewhere.authenticate(second.token))?.kind, 'tenant');
    assert.equal(await store.revokeToken(second.tokenId), true);
    assert.equal(await store.authenticate(second.token), undefined, 'revoked: at once in the revoking process');
    assert.equal((await elsewhere.authenticate(second.token))?.kind, 'tenant', 'another process may still hold it within its cache time');
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal(await elsewhere.authenticate(second.token), undefined, 'and not after it');
    assert.equal(await store.revokeToken('000000000000'), false);
    const envToken = 'e'.repeat(40);
    elsewhere.bootstrapAdminTokens([envToken]);
    assert.deepEqual(await elsewhere.authenticate(envToken), { kind: 'admin', tokenId: 'env' });
    assert.throws(() => elsewhere.bootstrapAdminTokens(['short']), /too short/);
    await elsewhere.close();

    const listed = await store.listTenants();
    const rowA = listed.find((x) => x.id === idA);
    assert.deepEqual([rowA?.state, rowA?.activeTokens, rowA?.revokedTokens], ['active', 1, 1]);

    // Create refuses an existing, a reserved, a malformed id, and a namespace that exists without a tenant.
    const refusal = (pattern: RegExp) => (e: unknown) => e instanceof DuckHouseError && e.kind === 'config' && pattern.test(e.message);
    await assert.rejects(createTenant(deps, idB), refusal(/already exists/));
    await assert.rejects(createTenant(deps, 'main'), refusal(/reserved/));
    await assert.rejects(createTenant(deps, 'Bad-Id'), refusal(/not valid/));
    await assert.rejects(createTenant(deps, plain), refusal(/belongs to no tenant/));
    // A failing step undoes the earlier ones: no half tenant stays.
    await assert.rejects(createTenant({ ...deps, duckdbFile: '/dev/null/views.duckdb' }, idC));
    assert.equal(await store.getTenant(idC), undefined);
    assert.equal(await fx.catalog.namespaceExists([idC]), false);

    const plan = await planTenantDelete(deps, idA);
    assert.deepEqual(plan?.tables.map((x) => [...x.namespace, x.name].join('.')).sort(), [`${idA}.orders`, `${idA}.sub.events`]);
    assert.deepEqual(plan?.topics, [tableTopic(prefix, idA, 'orders')]);
    assert.deepEqual(plan?.subjects, [keySubject(tableTopic(prefix, idA, 'orders')), valueSubject(tableTopic(prefix, idA, 'orders'))]);

    // A table outside A's namespaces that an admin placed under A's prefix keeps its files through A's delete.
    const squatter = await fx.catalog.createTable({ namespace: [plain], name: 'squatter' }, { schema, location: `${a.tenant.warehousePrefix}squatter` });

    // Delete A.
    const before = { b: await filesUnder(fx.catalog, b.tenant.warehousePrefix), plain: await filesUnder(fx.catalog, `${fx.warehouse}/${plain}/`) };
    assert.ok(before.b.length > 0 && before.plain.length > 0);
    const steps: string[] = [];
    const result = await deleteTenant(deps, idA, { onProgress: (m) => steps.push(m) });
    assert.deepEqual(
      [result.found, result.tables, result.namespaces, result.duckdbSchemas, result.viewTables, result.topics, result.subjects, result.tokens, result.filesOutsidePrefix],
      [true, 2, 2, 2, 2, 1, 2, 2, 1],
      JSON.stringify(result),
    );
    assert.ok(result.tableFiles > 0 && result.cachedFiles > 0, JSON.stringify(result));
    assert.ok(steps.some((m) => m.includes('deleting')), steps.join('\n'));

    assert.equal(await store.getTenant(idA), undefined);
    assert.deepEqual(await store.listTokens({ tenantId: idA }), []);
    assert.equal(await store.authenticate(a.token), undefined);
    assert.equal(await new TenantStore({ pool }).authenticate(a.token), undefined);
    assert.equal(await fx.catalog.namespaceExists([idA]), false);
    assert.equal(await fx.catalog.namespaceExists([idA, 'sub']), false);
    assert.deepEqual(await filesUnder(fx.catalog, a.tenant.warehousePrefix), [squatter.metadataLocation]);
    assert.ok(steps.some((m) => m.includes(`keeping ${squatter.metadata.location}/`)), steps.join('\n'));
    assert.deepEqual((await schemasIn(duckdbFile)).filter((s) => s === idA || s.startsWith(`${idA}.`)), []);
    assert.deepEqual(await viewTablesIn(duckdbFile), [`${idB}.orders`, `${plain}.orders`].sort());
    await eventually(async () => !(await topics.listTopics()).includes(tableTopic(prefix, idA, 'orders')), `topic of ${idA} is gone`);
    const subjectsLeft = await subjects.listSubjects();
    assert.ok(!subjectsLeft.some((s) => s.startsWith(`${prefix}.${idA}.`)), 'A has no subjects left, not even soft-deleted');

    // B and the namespace of no tenant are intact.
    assert.equal((await store.authenticate(b.token))?.kind, 'tenant');
    assert.equal((await store.getTenant(idB))?.state, 'active');
    assert.equal((await fx.catalog.loadTable({ namespace: [idB], name: 'orders' })).metadata.currentSnapshotId !== undefined, true);
    assert.deepEqual(await filesUnder(fx.catalog, b.tenant.warehousePrefix), before.b);
    assert.deepEqual(await filesUnder(fx.catalog, `${fx.warehouse}/${plain}/`), before.plain);
    assert.ok(await fx.catalog.tableExists({ namespace: [plain], name: 'orders' }));
    assert.deepEqual(await duckdb(duckdbFile, `SELECT count(*)::INTEGER AS n FROM "${idB}"."orders"`), [{ n: 4 }], 'B\'s cached file, shared with A\'s view, was kept');
    assert.deepEqual(await duckdb(duckdbFile, `SELECT count(*)::INTEGER AS n FROM "${plain}"."orders"`), [{ n: 3 }]);
    const topicsLeft = await topics.listTopics();
    assert.ok(topicsLeft.includes(tableTopic(prefix, idB, 'orders')) && topicsLeft.includes(plainTopic));
    assert.ok(subjectsLeft.includes(valueSubject(tableTopic(prefix, idB, 'orders'))) && subjectsLeft.includes(valueSubject(plainTopic)));

    // Deleting again is a no-op.
    assert.equal((await deleteTenant(deps, idA)).found, false);
  });

  it('finish an interrupted delete, and refuse to be created again meanwhile', async (t) => {
    const fx = await catalogFixture('sql-s3');
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-tenants-it-'));
    const store = new TenantStore({ connection: pgConfig() });
    const id = uniqueName('tc').replace('-', '_');
    const deps: CreateTenantDeps & DeleteTenantDeps = {
      store, catalog: fx.catalog, duckdbFile: path.join(dir, 'views.duckdb'), topicPrefix: uniqueName('tenants'),
      topics: topicAdmin(createKafka({ brokers: endpoints().kafka.brokers, quiet: true })), subjects: subjectAdmin({ url: endpoints().schemaRegistry.url }),
    };
    t.after(async () => {
      await deleteTenant(deps, id).catch(() => undefined);
      await store.close();
      await fx.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const created = await createTenant(deps, id);
    await addTable(fx.catalog, { namespace: [id], name: 'orders' }, 2);
    // A delete that stopped after marking the tenant and dropping the table entry (its files left behind).
    await store.markDeleting(id);
    await fx.catalog.dropTable({ namespace: [id], name: 'orders' });
    assert.equal(await store.authenticate(created.token), undefined, 'a tenant being deleted does not authenticate');
    await assert.rejects(createTenant(deps, id), /being deleted/);
    await assert.rejects(store.issueToken({ tenantId: id }), /being deleted/);
    const result = await deleteTenant(deps, id);
    assert.deepEqual([result.found, result.tables, result.namespaces], [true, 0, 1]);
    assert.ok(result.orphanFiles > 0, 'the files the first run left are swept');
    assert.deepEqual(await filesUnder(fx.catalog, created.tenant.warehousePrefix), []);
    assert.equal(await store.getTenant(id), undefined);
  });
  it('authenticate a burst with one lookup and write last_used_at at most once a minute', async (t) => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const pool = new pg.Pool({ ...pgConfig(), max: 2 });
    const store = new TenantStore({ pool, now: () => now });
    const id = uniqueName('td').replace('-', '_');
    t.after(async () => {
      await store.deleteTenantRow(id).catch(() => undefined);
      await store.close();
      await pool.end();
    });
    await store.insertTenant({ ...tenantNames(id, 'duckhouse', 's3://nowhere/warehouse'), catalogName: 'test' });
    const { token, tokenId } = await store.issueToken({ tenantId: id });
    const lastUsed = async (): Promise<number | undefined> => (await store.listTokens({ tenantId: id })).find((x) => x.tokenId === tokenId)?.lastUsedAt?.getTime();
    const scopes = await Promise.all(Array.from({ length: 20 }, () => store.authenticate(token)));
    assert.ok(scopes.every((s) => s?.kind === 'tenant' && s.tenant.id === id));
    assert.equal(await lastUsed(), now);
    const first = now;
    now += 30_000; // past the cache time: looked up again, but the last write is recent
    assert.equal((await store.authenticate(token))?.kind, 'tenant');
    assert.equal(await lastUsed(), first);
    now += 31_000;
    assert.equal((await store.authenticate(token))?.kind, 'tenant');
    assert.equal(await lastUsed(), now);
  });
});
