// The HTTP API end to end on the real stack: two tenants with real tokens (Postgres), CSV uploaded through the API into
// Kafka, a real sink committing to Iceberg, the real views worker refreshing DuckDB, and the rows read back through the
// read-only SQL endpoint; then what the SQL endpoint must refuse, tenant isolation, the table routes and the document.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Workers } from '../../src/compactor/workers.js';
import { CommitEventPublisher } from '../../src/compactor/queues.js';
import { topicAdmin } from '../../src/producers/kafka/client.js';
import { subjectAdmin } from '../../src/schemas/registry.js';
import type { RunningServer } from '../../src/server/app.js';
import { startServer } from '../../src/server/app.js';
import { SqlEngine } from '../../src/server/sql/sql-engine.js';
import { createLogger } from '../../src/shared/logger.js';
import type { CreatedTenant } from '../../src/tenants/lifecycle.js';
import { createTenant } from '../../src/tenants/lifecycle.js';
import { TenantStore } from '../../src/tenants/tenant-store.js';
import { pgConfig } from './catalog-fixtures.js';
import { endpoints, redisConnections, uniqueName } from './helpers.js';
import type { SinkTestContext, TestSink } from './sink-fixtures.js';
import { closeSinkTestContext, openSinkTestContext, startTestSink } from './sink-fixtures.js';

const logger = createLogger('http-api-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { message: string; type: string; code: number } };
}

let ctx: SinkTestContext;
let dir: string;
let pool: pg.Pool;
let store: TenantStore;
let acme: CreatedTenant;
let globex: CreatedTenant;
let adminToken: string;
let sink: TestSink;
let workers: Workers;
let publisher: CommitEventPublisher;
let sql: SqlEngine;
let server: RunningServer;
let prefix: string;
const redis = redisConnections();

async function call(method: string, route: string, token: string | undefined, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': contentType }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? (JSON.parse(text) as Reply['body']) : { text } };
}

const query = (token: string, text: string, extra: Record<string, unknown> = {}): Promise<Reply> => call('POST', '/api/v1/sql', token, { sql: text, ...extra });

/** Polls the SQL endpoint until `check` accepts its rows (the sink and the views worker take a few seconds). */
async function until(token: string, text: string, check: (rows: unknown[][]) => boolean, what: string): Promise<unknown[][]> {
  const deadline = Date.now() + 60_000;
  let last: Reply | undefined;
  while (Date.now() < deadline) {
    last = await query(token, text);
    if (last.status === 200 && check(last.body.rows as unknown[][])) return last.body.rows as unknown[][];
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`${what}: the SQL endpoint never showed it; last answer ${last?.status} ${JSON.stringify(last?.body).slice(0, 500)}`);
}

before(async () => {
  ctx = await openSinkTestContext('duckhouse-http-api-');
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-http-api-db-'));
  pool = new pg.Pool({ ...pgConfig(), max: 4 });
  store = new TenantStore({ pool });
  prefix = uniqueName('api').replace('-', '_');
  const databaseFile = path.join(dir, 'views.duckdb');
  const deps = { store, catalog: ctx.fixture.catalog, duckdbFile: databaseFile, topicPrefix: prefix, topics: topicAdmin(ctx.kafka), subjects: subjectAdmin({ url: endpoints().schemaRegistry.url }) };
  const base = uniqueName('t').replace('-', '_');
  acme = await createTenant(deps, `${base}_acme`);
  globex = await createTenant(deps, `${base}_globex`);
  adminToken = (await store.issueToken({ admin: true }, 'http-api test')).token;
  publisher = new CommitEventPublisher(redis.connect(), prefix, { compactionDelayMs: 60_000 });
  workers = new Workers({ connect: redis.connect, prefix, kinds: ['views'], catalog: ctx.fixture.catalog, logger, views: { databaseFile, cacheDir: path.join(dir, 'cache') } });
  await workers.start();
  sql = new SqlEngine({ databaseFile, cacheDir: path.join(dir, 'cache'), warehouse: ctx.fixture.catalog.warehouse, defaultTimeoutMs: 10_000, logger });
  server = await startServer({
    catalog: ctx.fixture.catalog,
    authenticate: (token) => store.authenticate(token),
    csv: { kafka: ctx.kafka, registry: ctx.registry, prefix },
    sql,
    logger,
  });
});

after(async () => {
  await server?.close();
  await sql?.close();
  await sink?.stop();
  await workers?.close();
  await publisher?.close();
  await redis.closeAll();
  await store?.close();
  await pool?.end();
  await closeSinkTestContext(ctx);
  await rm(dir, { recursive: true, force: true });
});

describe('HTTP API', () => {
  it('turns a CSV upload into rows visible through the SQL endpoint, with counts, rejects, upserts and deletes', async () => {
    const ns = acme.tenant.id;
    const csv = ['id,name,amount,op', '1,anvil,10.50,', '2,rocket,99.00,', '3,magnet,3.25,', '4,broken-row', '5,"quoted, name",1.00,'].join('\n');
    const first = await call('POST', `/api/v1/tables/${ns}/orders/csv?key=id&opColumn=op&name=orders-1.csv`, acme.token, `${csv}\n`, 'text/csv');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'completed');
    assert.equal(first.body.topic, `${prefix}.${ns}.orders`);
    assert.deepEqual([first.body.rows, first.body.sent, first.body.rejected, first.body.deletes], [5, 4, 1, 0]);
    const rejects = first.body.rejects as { line: number; message: string }[];
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0]!.line, 5, 'the header is line 1: the short row is line 5');
    assert.match(rejects[0]!.message, /orders-1\.csv/);
    // The sink subscribes to topics that exist: the upload made this one.
    sink = await startTestSink(ctx.kafka, ctx.registry, ctx.fixture.catalog, { prefix, topics: [String(first.body.topic)], commitEvents: publisher, flush: { intervalMs: 300 } });

    const table = `"${ns}"."orders"`;
    const rows = await until(acme.token, `SELECT id, name, amount FROM ${table} ORDER BY id`, (r) => r.length === 4, 'the first upload');
    assert.deepEqual(rows, [[1, 'anvil', '10.50'], [2, 'rocket', '99.00'], [3, 'magnet', '3.25'], [5, 'quoted, name', '1.00']]);

    // The same file again: the ledger knows it, nothing is sent twice.
    const again = await call('POST', `/api/v1/tables/${ns}/orders/csv?key=id&opColumn=op&name=orders-1.csv`, acme.token, `${csv}\n`, 'text/csv');
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'already-completed');
    assert.equal(again.body.sent, 0);

    // An upsert and a delete.
    const second = await call('POST', `/api/v1/tables/${ns}/orders/csv?key=id&opColumn=op&name=orders-2.csv`, acme.token, 'id,name,amount,op\n2,rocket,12.00,\n3,,,d\n', 'text/csv');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.deepEqual([second.body.sent, second.body.deletes, second.body.rejected], [2, 1, 0]);
    const after2 = await until(acme.token, `SELECT id, amount FROM ${table} ORDER BY id`, (r) => r.length === 3 && r[1]?.[1] === '12.00', 'the upsert and delete');
    assert.deepEqual(after2, [[1, '10.50'], [2, '12.00'], [5, '1.00']]);

    // Time travel through the views' macros, and the table routes.
    const history = await call('GET', `/api/v1/tables/${ns}/orders/history`, acme.token);
    assert.equal(history.status, 200);
    const entries = history.body.history as { snapshotId: string }[];
    assert.ok(entries.length >= 2, 'two commits at least');
    const oldest = entries.at(-1)!.snapshotId;
    const past = await query(acme.token, `SELECT count(*) AS n FROM ${table.replace('"orders"', '"orders$at_snapshot"')}(${oldest})`);
    assert.equal(past.status, 200, JSON.stringify(past.body));
    assert.deepEqual(past.body.rows, [[4]]);
    const listed = await call('GET', '/api/v1/tables', acme.token);
    assert.deepEqual((listed.body.tables as { table: string; rows: number }[]).map((t) => [t.table, t.rows]), [[`${ns}.orders`, 3]]);
    const described = await call('GET', `/api/v1/tables/${ns}/orders`, acme.token);
    assert.deepEqual((described.body.columns as { name: string; key: boolean }[]).map((c) => [c.name, c.key]), [['id', true], ['name', false], ['amount', false]]);
  });

  it('refuses what is not one read-only SELECT over the caller\'s views, saying why', async () => {
    const ns = acme.tenant.id;
    const refusals: [string, RegExp, number][] = [
      [`SELECT * FROM "${ns}"."orders"; DROP TABLE "${ns}"."orders"`, /2 statements|one (read-only )?SELECT/i, 400],
      [`SELECT 1; ATTACH '/tmp/evil.db' AS evil`, /statements|ATTACH/i, 400],
      [`ATTACH '/etc/passwd' AS p`, /ATTACH is not allowed/, 400],
      [`COPY (SELECT * FROM "${ns}"."orders") TO '/tmp/stolen.csv'`, /COPY is not allowed/, 400],
      ['INSTALL httpfs', /INSTALL is not allowed/, 400],
      ['LOAD httpfs', /LOAD is not allowed/, 400],
      ["SET enable_external_access = true", /SET is not allowed/, 400],
      ["SELECT * FROM read_csv('/etc/passwd')", /read_csv\(\) is not allowed/, 400],
      ["SELECT * FROM read_text('/etc/hostname')", /read_text\(\) is not allowed/, 400],
      ["SELECT * FROM '/etc/passwd'", /passwd|file/i, 400],
      ["SELECT * FROM glob('/*')", /glob\(\) is not allowed/, 400],
      ["SELECT * FROM duckdb_tables()", /duckdb_tables\(\) is not allowed/, 400],
      ["SELECT current_setting('allowed_directories')", /current_setting\(\) is not allowed/, 400],
      [`SELECT * FROM "${ns}"."orders" WHERE name = '' OR 1=1; DELETE FROM "${ns}"."orders"; --'`, /statements|one (read-only )?SELECT/i, 400],
      [`SELECT * FROM (SELECT * FROM read_parquet('/etc/*')) t`, /read_parquet\(\) is not allowed/, 400],
      [`SELECT * FROM "${globex.tenant.id}"."orders"`, /not readable with this token/, 403],
      [`WITH x AS (SELECT * FROM "${globex.tenant.id}"."orders") SELECT * FROM x`, /not readable with this token/, 403],
      ['SELECT * FROM _duckhouse.files', /_duckhouse.files is not readable/, 403],
    ];
    for (const [text, expected, status] of refusals) {
      const reply = await query(acme.token, text);
      assert.equal(reply.status, status, `${text} → ${reply.status} ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error?.code, status);
      assert.match(reply.body.error?.message ?? '', expected, text);
    }
    // A literal that merely contains SQL is data, not a statement.
    const harmless = await query(acme.token, `SELECT count(*) FROM "${ns}"."orders" WHERE name = '; DROP TABLE x; --'`);
    assert.equal(harmless.status, 200, JSON.stringify(harmless.body));
    assert.deepEqual(harmless.body.rows, [[0]]);
    // Limits: rows are cut at the cap, and a long query is stopped.
    const capped = await query(acme.token, 'SELECT * FROM range(5000)', { maxRows: 10 });
    assert.equal(capped.status, 200);
    assert.equal((capped.body.rows as unknown[]).length, 10);
    assert.equal(capped.body.truncated, true);
    const slow = await query(acme.token, 'SELECT count(*) FROM range(100000000) a, range(100000) b', { timeoutMs: 500 });
    assert.equal(slow.status, 422, JSON.stringify(slow.body));
    assert.match(slow.body.error!.message, /stopped after 0\.5 s/);
    // The table is still there and unchanged.
    assert.deepEqual((await query(acme.token, `SELECT count(*) FROM "${ns}"."orders"`)).body.rows, [[3]]);
  });

  it('checks tokens and keeps tenants to their own tables', async () => {
    const ns = acme.tenant.id;
    assert.equal((await call('GET', '/api/v1/tables', undefined)).status, 401);
    assert.equal((await call('GET', '/api/v1/tables', 'dhk_0123456789ab_not-a-real-secret')).status, 401);
    assert.equal((await query('nope', 'SELECT 1')).status, 401);
    const cross = await call('POST', `/api/v1/tables/${ns}/orders/csv?key=id`, globex.token, 'id\n1\n', 'text/csv');
    assert.equal(cross.status, 403);
    assert.match(cross.body.error!.message, new RegExp(`may not write to ${ns}\\.orders`));
    assert.equal((await call('GET', `/api/v1/tables/${ns}/orders/history`, globex.token)).status, 404);
    assert.deepEqual((await call('GET', '/api/v1/tables', globex.token)).body.tables, []);
    const admin = await query(adminToken, `SELECT count(*) FROM "${ns}"."orders"`);
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.body.rows, [[3]]);
    assert.equal((await call('GET', '/metrics', acme.token)).status, 403);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# HELP duckhouse_/m);
    const bad = await call('POST', `/api/v1/tables/${ns}/orders/csv`, acme.token, { not: 'csv' });
    assert.equal(bad.status, 415);
  });

  it('serves its OpenAPI document without a token, listing every route', async () => {
    const doc = await call('GET', '/api/openapi.json', undefined);
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.0.3');
    const paths = Object.keys(doc.body.paths as object);
    for (const route of ['/api/v1/tables', '/api/v1/tables/{namespace}/{table}', '/api/v1/tables/{namespace}/{table}/history', '/api/v1/tables/{namespace}/{table}/snapshots', '/api/v1/tables/{namespace}/{table}/csv', '/api/v1/sql']) {
      assert.ok(paths.includes(route), `${route} in ${paths.join(', ')}`);
    }
    assert.ok(!paths.some((p) => p.startsWith('/iceberg')), 'the Iceberg REST catalog has its own spec');
  });
});
