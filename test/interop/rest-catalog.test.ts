// The Iceberg REST catalog server against real clients: PyIceberg reads through REST exactly what it reads through
// the SQL catalog, and writes through it (create, staged create, append, delete, schema change, rename, drop); bearer
// tokens (401 without one), tenant isolation (403/404 on another tenant's tables), and the spec's error bodies for
// malformed requests. Real Postgres, MinIO and PyIceberg; tokens are test-local (the tenant store has its own test).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { startRestCatalogServer } from '../../src/catalog/catalogs/rest-server/server.js';
import type { RestCatalogServer } from '../../src/catalog/catalogs/rest-server/server.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { expireSnapshots } from '../../src/catalog/transaction/expire-snapshots.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { rowDelta } from '../../src/catalog/transaction/row-delta.js';
import { writePositionDeletes } from '../../src/catalog/writer/table-writer.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import type { AccessScope, Tenant } from '../../src/tenants/scope.js';
import { tenantNames } from '../../src/tenants/scope.js';
import type { CatalogFixture } from '../integration/catalog-fixtures.js';
import { catalogFixture, pgConfig } from '../integration/catalog-fixtures.js';
import { TenantStore } from '../../src/tenants/tenant-store.js';
import { endpoints, uniqueName } from '../integration/helpers.js';
import { expected, makeRows, readWithPyIceberg, sortById, TEST_FIELDS, writeRows } from './pyiceberg.js';

const run = promisify(execFile);
const { schema } = buildSchema(TEST_FIELDS, { identifierFields: ['id'] });

interface Setup {
  fx: CatalogFixture;
  server: RestCatalogServer;
  admin: string;
  tenants: { a: Tenant; b: Tenant; tokenA: string; tokenB: string };
  s3: Record<string, string>;
}

/** A SQL catalog on MinIO, two tenants with a table each, and a server whose tokens map to admin, A and B. */
async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<Setup> {
  const fx = await catalogFixture('sql-s3');
  const suffix = uniqueName('t').replace(/[^a-z0-9]/g, '').slice(-8);
  const tenant = (id: string): Tenant => ({ ...tenantNames(id, 'duckhouse', fx.warehouse), createdAt: new Date() });
  const a = tenant(`ta${suffix}`);
  const b = tenant(`tb${suffix}`);
  const admin = `admin-${uniqueName('tok')}`;
  const tokenA = `a-${uniqueName('tok')}`;
  const tokenB = `b-${uniqueName('tok')}`;
  const scopes = new Map<string, AccessScope>([
    [admin, { kind: 'admin', tokenId: 'admin' }],
    [tokenA, { kind: 'tenant', tokenId: 'a', tenant: a }],
    [tokenB, { kind: 'tenant', tokenId: 'b', tenant: b }],
  ]);
  const s3 = endpoints().s3;
  const server = await startRestCatalogServer({
    catalog: fx.catalog,
    authenticate: async (token) => scopes.get(token),
    tenantById: async (id) => [a, b].find((x) => x.id === id),
    clientConfig: { 's3.endpoint': s3.endpoint, 's3.path-style-access': 'true', 's3.region': s3.region },
  });
  t.after(async () => {
    await server.close();
    await fx.cleanup();
  });
  for (const x of [a, b]) {
    await fx.catalog.createNamespace(x.namespace);
    await fx.catalog.createTable({ namespace: x.namespace, name: 'orders' }, { schema });
  }
  return { fx, server, admin, tenants: { a, b, tokenA, tokenB }, s3: { 's3.access-key-id': s3.accessKeyId, 's3.secret-access-key': s3.secretAccessKey } };
}

async function call(server: RestCatalogServer, method: string, route: string, options: { token?: string; body?: unknown; raw?: string } = {}): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${route}`, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

function assertErrorModel(result: { status: number; body: unknown }, status: number, type: string, where: string): void {
  assert.equal(result.status, status, `${where}: status ${result.status}, body ${JSON.stringify(result.body)}`);
  const error = (result.body as { error?: { message?: unknown; type?: unknown; code?: unknown } } | undefined)?.error;
  assert.ok(error, `${where}: no error object in ${JSON.stringify(result.body)}`);
  assert.equal(error.code, status, where);
  assert.equal(error.type, type, where);
  assert.equal(typeof error.message, 'string', where);
  assert.ok((error.message as string).length > 10, `${where}: message too short: ${String(error.message)}`);
}

describe('Iceberg REST catalog server', () => {
  it('PyIceberg through REST reads the same as through the SQL catalog, deletes and time travel included', async (t) => {
    const { fx, server, admin, s3 } = await setup(t);
    const id: TableIdentifier = { namespace: ['interop'], name: uniqueName('rows').replace('-', '_') };
    await fx.catalog.createNamespace(id.namespace);
    await fx.catalog.createTable(id, { schema });
    const rows = makeRows(0, 300);
    let table = await fx.catalog.loadTable(id);
    table = (await commitAction(fx.catalog, id, fastAppend(await writeRows(table, rows)))).table;
    const first = table.metadata.currentSnapshotId!;
    const dataFile = (await writeRows(table, makeRows(300, 400)))[0]!;
    table = (await commitAction(fx.catalog, id, fastAppend([dataFile]))).table;
    // Delete every third of the second batch by position.
    const deletes = await writePositionDeletes(table, [...Array(100).keys()].filter((i) => i % 3 === 0).map((pos) => ({ filePath: dataFile.filePath, pos: BigInt(pos) })));
    table = (await commitAction(fx.catalog, id, rowDelta({ deleteFiles: [deletes] }))).table;
    const model = [...rows, ...makeRows(300, 400).filter((_, i) => i % 3 !== 0)];

    const read = await readWithPyIceberg({ ...fx, pyiceberg: { ...fx.pyiceberg, s3: { ...fx.pyiceberg.s3, ...s3 } } }, table, { snapshotIds: [first], rest: { uri: server.url, token: admin } });
    assert.ok(read.rest, 'PyIceberg did not read through REST');
    assert.deepEqual(read.rest.current, sortById(model.map((r) => expected(r))));
    assert.deepEqual(read.rest.current, read.sql.current);
    assert.deepEqual(read.rest.snapshots, read.sql.snapshots);
    assert.equal(read.rest.current_snapshot_id, read.sql.current_snapshot_id);
    assert.deepEqual(read.rest.history, read.sql.history);
    assert.equal(read.rest.schema, read.sql.schema);
  });

  it('PyIceberg writes through REST: create, staged create, append, delete, new column, rename, drop', async (t) => {
    const { fx, server, tenants, s3 } = await setup(t);
    // As tenant A, in a namespace of its own below its root.
    const ns = [...tenants.a.namespace, 'w'];
    const created = await call(server, 'POST', `/v1/${tenants.a.id}/namespaces`, { token: tenants.tokenA, body: { namespace: ns } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { stdout } = await run(endpoints().python.python, [
      path.join(PROJECT_ROOT, 'test/interop/pyiceberg_rest_write.py'),
      JSON.stringify({ uri: server.url, token: tenants.tokenA, namespace: ns.join('.'), s3: { ...s3, 's3.endpoint': endpoints().s3.endpoint } }),
    ]).catch((error: { stderr?: string }) => {
      throw new Error(`PyIceberg write through REST failed:\n${(error.stderr ?? '').slice(-3000)}`);
    });
    const out = JSON.parse(stdout) as { written: { snapshots: number; columns: string[] }; staged_rows: number; tables_after_rename: string[]; tables_after_drop: string[] };
    assert.deepEqual(out.written.columns, ['id', 'name', 'note']);
    assert.equal(out.staged_rows, 1);
    assert.deepEqual(out.tables_after_rename, [`${ns.join('.')}.renamed`, `${ns.join('.')}.written`]);
    assert.deepEqual(out.tables_after_drop, [`${ns.join('.')}.written`]);

    // DuckHouse's own catalog sees what PyIceberg committed, under A's warehouse prefix.
    const table = await fx.catalog.loadTable({ namespace: ns, name: 'written' });
    assert.ok(table.metadata.location.startsWith(tenants.a.warehousePrefix), table.metadata.location);
    assert.equal(table.metadata.snapshots.length, out.written.snapshots);
    const read = await readWithPyIceberg({ ...fx, pyiceberg: { ...fx.pyiceberg, s3: { ...fx.pyiceberg.s3, ...s3 } } }, table);
    assert.deepEqual(read.sql.current.map((r) => r.id), [1, 2, 4, 5, 6, 7, 8]);
    assert.ok(read.sql.current.every((r) => r.note === null && r.name === `n${String(r.id)}`));
  });

  it('requests without a valid token get 401 with the error model', async (t) => {
    const { server, tenants } = await setup(t);
    for (const route of ['/v1/config', '/v1/namespaces', `/v1/${tenants.a.id}/namespaces/${tenants.a.id}/tables/orders`]) {
      const missing = await call(server, 'GET', route);
      assertErrorModel(missing, 401, 'NotAuthorizedException', `GET ${route} without a token`);
      const wrong = await call(server, 'GET', route, { token: 'not-a-token' });
      assertErrorModel(wrong, 401, 'NotAuthorizedException', `GET ${route} with a wrong token`);
    }
    const response = await fetch(`${server.url}/v1/config`);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  it("one tenant's token gets 403/404 on another tenant's tables, and sees only its own", async (t) => {
    const { server, admin, tenants } = await setup(t);
    const { a, b, tokenA } = tenants;
    const config = await call(server, 'GET', '/v1/config', { token: tokenA });
    assert.deepEqual((config.body as { overrides: unknown }).overrides, { prefix: a.id });
    const mine = await call(server, 'GET', `/v1/${a.id}/namespaces`, { token: tokenA });
    assert.deepEqual((mine.body as { namespaces: string[][] }).namespaces, [[a.id]]);
    const all = await call(server, 'GET', '/v1/namespaces', { token: admin });
    const allNames = (all.body as { namespaces: string[][] }).namespaces.map((n) => n.join('.'));
    assert.ok(allNames.includes(a.id) && allNames.includes(b.id), allNames.join(','));
    assert.equal((await call(server, 'GET', `/v1/${a.id}/namespaces/${a.id}/tables/orders`, { token: tokenA })).status, 200);

    // B's things, reached through A's prefix: as if they did not exist.
    assertErrorModel(await call(server, 'GET', `/v1/${a.id}/namespaces/${b.id}/tables/orders`, { token: tokenA }), 404, 'NoSuchTableException', 'load B table');
    assertErrorModel(await call(server, 'GET', `/v1/${a.id}/namespaces/${b.id}`, { token: tokenA }), 404, 'NoSuchNamespaceException', 'load B namespace');
    assertErrorModel(await call(server, 'GET', `/v1/${a.id}/namespaces/${b.id}/tables`, { token: tokenA }), 404, 'NoSuchNamespaceException', 'list B tables');
    assertErrorModel(await call(server, 'DELETE', `/v1/${a.id}/namespaces/${b.id}/tables/orders`, { token: tokenA }), 404, 'NoSuchTableException', 'drop B table');
    assertErrorModel(await call(server, 'POST', `/v1/${a.id}/namespaces/${b.id}/tables/orders`, { token: tokenA, body: { requirements: [], updates: [{ action: 'set-properties', updates: { x: 'y' } }] } }), 404, 'NoSuchTableException', 'commit to B table');
    assertErrorModel(await call(server, 'POST', `/v1/${a.id}/tables/rename`, { token: tokenA, body: { source: { namespace: [b.id], name: 'orders' }, destination: { namespace: [a.id], name: 'stolen' } } }), 404, 'NoSuchTableException', 'rename B table to A');
    assertErrorModel(await call(server, 'POST', `/v1/${a.id}/tables/rename`, { token: tokenA, body: { source: { namespace: [a.id], name: 'orders' }, destination: { namespace: [b.id], name: 'planted' } } }), 404, 'NoSuchNamespaceException', 'rename A table into B');
    assert.equal((await call(server, 'HEAD', `/v1/${a.id}/namespaces/${b.id}/tables/orders`, { token: tokenA })).status, 404);
    // B's prefix with A's token: forbidden outright.
    assertErrorModel(await call(server, 'GET', `/v1/${b.id}/namespaces/${b.id}/tables/orders`, { token: tokenA }), 403, 'ForbiddenException', 'B prefix');
    assertErrorModel(await call(server, 'GET', `/v1/${b.id}/namespaces`, { token: tokenA }), 403, 'ForbiddenException', 'B prefix list');
    // Creating outside its own namespace or prefix: forbidden.
    assertErrorModel(await call(server, 'POST', `/v1/${a.id}/namespaces`, { token: tokenA, body: { namespace: [b.id, 'x'] } }), 403, 'ForbiddenException', 'create namespace under B');
    assertErrorModel(
      await call(server, 'POST', `/v1/${a.id}/namespaces/${a.id}/tables`, { token: tokenA, body: { name: 'sneaky', location: `${b.warehousePrefix}orders`, schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] } } }),
      403, 'ForbiddenException', 'create a table in B prefix',
    );
    assertErrorModel(
      await call(server, 'POST', `/v1/${a.id}/namespaces/${a.id}/register`, { token: tokenA, body: { name: 'copy', 'metadata-location': `${b.warehousePrefix}orders/metadata/00000-x.metadata.json` } }),
      403, 'ForbiddenException', 'register a B metadata file',
    );
    // Paths that would make DuckHouse write, expire or purge into B's prefix: forbidden.
    const aRoute = `/v1/${a.id}/namespaces/${a.id}/tables/orders`;
    const aTable = (await call(server, 'GET', aRoute, { token: tokenA })).body as { metadata: { 'current-snapshot-id': number } };
    assert.equal(aTable.metadata['current-snapshot-id'], -1);
    assertErrorModel(await call(server, 'POST', aRoute, { token: tokenA, body: { requirements: [], updates: [{ action: 'set-properties', updates: { 'write.data.path': `${b.warehousePrefix}orders/data` } }] } }), 403, 'ForbiddenException', 'write.data.path into B');
    assertErrorModel(await call(server, 'POST', aRoute, { token: tokenA, body: { requirements: [], updates: [{ action: 'set-location', location: b.warehousePrefix }] } }), 403, 'ForbiddenException', 'set-location into B');
    assertErrorModel(await call(server, 'POST', aRoute, { token: tokenA, body: { requirements: [], updates: [{ action: 'set-location', location: a.warehousePrefix }] } }), 403, 'ForbiddenException', 'set-location to the whole A prefix');
    assertErrorModel(await call(server, 'POST', aRoute, { token: tokenA, body: { requirements: [], updates: [{ action: 'set-statistics', statistics: { 'snapshot-id': 1, 'statistics-path': `${b.warehousePrefix}orders/metadata/x.stats`, 'file-size-in-bytes': 1, 'file-footer-size-in-bytes': 1, 'blob-metadata': [] } }] } }), 403, 'ForbiddenException', 'statistics file in B');
    assertErrorModel(
      await call(server, 'POST', `/v1/${a.id}/namespaces/${a.id}/tables`, { token: tokenA, body: { name: 'wide', location: a.warehousePrefix, schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] } } }),
      403, 'ForbiddenException', 'a table at the whole A prefix',
    );
    // B's table is untouched, and an admin can act in a tenant's prefix.
    const bTable = await call(server, 'GET', `/v1/${b.id}/namespaces/${b.id}/tables/orders`, { token: admin });
    assert.equal(bTable.status, 200);
    assert.deepEqual((bTable.body as { metadata: { properties: unknown } }).metadata.properties, {});
    assertErrorModel(await call(server, 'GET', `/v1/nosuchtenant/namespaces`, { token: admin }), 404, 'NotFoundException', 'unknown tenant prefix');
  });

  it('malformed requests get the spec error bodies', async (t) => {
    const { server, admin, tenants } = await setup(t);
    const ns = tenants.a.id;
    const cases: [string, string, { body?: unknown; raw?: string }, number, string][] = [
      ['POST', '/v1/namespaces', { raw: '{"namespace": [' }, 400, 'BadRequestException'],
      ['POST', '/v1/namespaces', { body: { namespace: 'flat-string' } }, 400, 'BadRequestException'],
      ['POST', '/v1/namespaces', { body: { namespace: ['bad.level'] } }, 400, 'BadRequestException'],
      ['POST', '/v1/namespaces', { body: { namespace: [ns] } }, 409, 'AlreadyExistsException'],
      ['POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'x' } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'x', schema: { type: 'struct', fields: [{ id: 1, name: 'a', type: 'no-such-type', required: false }] } } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/tables`, { body: { name: 'orders', schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] } } }, 409, 'AlreadyExistsException'],
      ['POST', `/v1/namespaces/${ns}/tables/orders`, { body: { requirements: [], updates: [{ action: 'no-such-action' }] } }, 406, 'UnsupportedOperationException'],
      ['POST', `/v1/namespaces/${ns}/tables/orders`, { body: { requirements: [{ type: 'assert-nothing' }], updates: [] } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/tables/orders`, { body: { requirements: [], updates: [{ action: 'set-properties', updates: { n: 1 } }] } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/tables/orders`, { body: { updates: [] } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/tables/orders`, { body: { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 42 }], updates: [] } }, 409, 'CommitFailedException'],
      ['GET', `/v1/namespaces/${ns}/tables/orders?snapshots=some`, {}, 400, 'BadRequestException'],
      ['GET', `/v1/namespaces?pageSize=0`, {}, 400, 'BadRequestException'],
      ['GET', `/v1/namespaces/${ns}/tables/missing`, {}, 404, 'NoSuchTableException'],
      ['GET', `/v1/namespaces/missing${ns}`, {}, 404, 'NoSuchNamespaceException'],
      ['DELETE', `/v1/namespaces/${ns}`, {}, 409, 'NamespaceNotEmptyException'],
      ['GET', `/v1/namespaces/${ns}/views`, {}, 404, 'NotFoundException'],
      ['POST', '/v1/namespaces', { body: { namespace: ['a\u001fb'] } }, 400, 'BadRequestException'],
      ['POST', `/v1/namespaces/${ns}/properties`, { body: { removals: ['k'], updates: { k: 'v' } } }, 422, 'UnprocessableEntityException'],
    ];
    for (const [method, route, options, status, type] of cases) {
      assertErrorModel(await call(server, method, route, { token: admin, ...options }), status, type, `${method} ${route} ${options.raw ?? JSON.stringify(options.body)}`);
    }
  });

  it('tokens from the tenant store: a tenant token works through its prefix; revoked or deleting, it gets 401', async (t) => {
    const fx = await catalogFixture('sql-s3');
    const store = new TenantStore({ connection: pgConfig() });
    const id = `tr${uniqueName('x').replace(/[^a-z0-9]/g, '').slice(-10)}`;
    const server = await startRestCatalogServer({
      catalog: fx.catalog,
      authenticate: (token) => store.authenticate(token),
      tenantById: (tenantId) => store.getTenant(tenantId),
    });
    t.after(async () => {
      await server.close();
      await store.deleteTenantRow(id).catch(() => undefined);
      await store.close();
      await fx.cleanup();
    });
    const tenant = await store.insertTenant({ ...tenantNames(id, 'duckhouse', fx.warehouse), catalogName: fx.catalog.name });
    await fx.catalog.createNamespace(tenant.namespace);
    await fx.catalog.createTable({ namespace: tenant.namespace, name: 'events' }, { schema });
    const { token, tokenId } = await store.issueToken({ tenantId: id });
    const second = await store.issueToken({ tenantId: id });
    const config = await call(server, 'GET', '/v1/config', { token });
    assert.deepEqual((config.body as { overrides: unknown }).overrides, { prefix: id });
    assert.equal((await call(server, 'GET', `/v1/${id}/namespaces/${id}/tables/events`, { token })).status, 200);
    await store.revokeToken(tokenId);
    assertErrorModel(await call(server, 'GET', `/v1/${id}/namespaces/${id}/tables/events`, { token }), 401, 'NotAuthorizedException', 'revoked token');
    assert.equal((await call(server, 'GET', `/v1/${id}/namespaces/${id}/tables/events`, { token: second.token })).status, 200);
    await store.markDeleting(id);
    assertErrorModel(await call(server, 'GET', `/v1/${id}/namespaces`, { token: second.token }), 401, 'NotAuthorizedException', 'tenant being deleted');
  });

  it("expiring a table whose metadata names another table's file (an admin may write any path) keeps that file", async (t) => {
    const { fx, server, admin, tenants } = await setup(t);
    const { a, b } = tenants;
    const victim = await fx.catalog.loadTable({ namespace: b.namespace, name: 'orders' });
    const id = { namespace: a.namespace, name: 'orders' };
    let table = await fx.catalog.loadTable(id);
    table = (await commitAction(fx.catalog, id, fastAppend(await writeRows(table, makeRows(0, 10))))).table;
    const first = table.metadata.currentSnapshotId!;
    // The snapshot id as a raw JSON number: all 64 bits.
    const stats = `{"snapshot-id": ${first}, "statistics-path": ${JSON.stringify(victim.metadataLocation)}, "file-size-in-bytes": 1, "file-footer-size-in-bytes": 1, "blob-metadata": []}`;
    const set = await call(server, 'POST', `/v1/namespaces/${a.id}/tables/orders`, { token: admin, raw: `{"requirements": [], "updates": [{"action": "set-statistics", "statistics": ${stats}}]}` });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    table = await fx.catalog.loadTable(id);
    table = (await commitAction(fx.catalog, id, fastAppend(await writeRows(table, makeRows(10, 20))))).table;
    const expiry = expireSnapshots({ snapshotIds: [first] });
    await commitAction(fx.catalog, id, expiry);
    assert.deepEqual(expiry.result.expiredSnapshotIds, [first]);
    assert.equal(expiry.result.keptOutsideLocation, 1);
    assert.equal(await fx.catalog.io.exists(victim.metadataLocation), true, "B's metadata file was deleted");
    assert.equal((await fx.catalog.loadTable({ namespace: b.namespace, name: 'orders' })).metadataLocation, victim.metadataLocation);
  });

  it('commits race by compare-and-swap, lists page, and a tenant drop with purge removes only its files', async (t) => {
    const { fx, server, tenants } = await setup(t);
    const { a, tokenA } = tenants;
    const route = `/v1/${a.id}/namespaces/${a.id}/tables/orders`;
    const loaded = await call(server, 'GET', route, { token: tokenA });
    const uuid = (loaded.body as { metadata: { 'table-uuid': string } }).metadata['table-uuid'];
    const commit = (value: string): Promise<{ status: number; body: unknown }> =>
      call(server, 'POST', route, { token: tokenA, body: { requirements: [{ type: 'assert-table-uuid', uuid }, { type: 'assert-current-schema-id', 'current-schema-id': 0 }], updates: [{ action: 'set-properties', updates: { owner: value } }] } });
    const results = await Promise.all(['x', 'y', 'z'].map(commit));
    assert.ok(results.some((r) => r.status === 200), JSON.stringify(results));
    for (const r of results.filter((x) => x.status !== 200)) assertErrorModel(r, 409, 'CommitFailedException', 'concurrent commit');
    const final = await fx.catalog.loadTable({ namespace: a.namespace, name: 'orders' });
    assert.ok(['x', 'y', 'z'].includes(final.metadata.properties.owner ?? ''));

    for (const name of ['t1', 't2', 't3']) await fx.catalog.createTable({ namespace: a.namespace, name }, { schema });
    const page1 = await call(server, 'GET', `/v1/${a.id}/namespaces/${a.id}/tables?pageSize=2`, { token: tokenA });
    const body1 = page1.body as { identifiers: { name: string }[]; 'next-page-token'?: string };
    assert.deepEqual(body1.identifiers.map((i) => i.name), ['orders', 't1']);
    const page2 = await call(server, 'GET', `/v1/${a.id}/namespaces/${a.id}/tables?pageSize=2&pageToken=${encodeURIComponent(body1['next-page-token'] ?? '')}`, { token: tokenA });
    assert.deepEqual((page2.body as { identifiers: { name: string }[] }).identifiers.map((i) => i.name), ['t2', 't3']);

    const table = await fx.catalog.loadTable({ namespace: a.namespace, name: 't1' });
    // PyIceberg sends purgeRequested=True (capitalised).
    const dropped = await call(server, 'DELETE', `/v1/${a.id}/namespaces/${a.id}/tables/t1?purgeRequested=True`, { token: tokenA });
    assert.equal(dropped.status, 204);
    assert.equal(await fx.catalog.io.exists(table.metadataLocation), false);
    assert.equal(await fx.catalog.tableExists({ namespace: tenants.b.namespace, name: 'orders' }), true);
  });
});
