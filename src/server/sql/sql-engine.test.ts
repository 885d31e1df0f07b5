// The SQL engine end to end, in process: the real views refresher over an embedded catalog on a memory:// warehouse
// (views read Parquet files from the refresher's cache), tenants acme and globex, and an admin.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Int64, makeData, RecordBatch, Utf8, vectorFromArray } from 'apache-arrow';
import type { Catalog, TableIdentifier } from '../../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../../catalog/catalogs/embedded-catalog.js';
import { MemoryFileIO } from '../../catalog/io/memory-file-io.js';
import { buildSchema } from '../../catalog/spec/schema.js';
import { primitive } from '../../catalog/spec/types.js';
import { commitAction } from '../../catalog/transaction/action.js';
import { fastAppend } from '../../catalog/transaction/fast-append.js';
import { TableWriter } from '../../catalog/writer/table-writer.js';
import { withDuckDBFile } from '../../compactor/duckdb-file.js';
import { ViewRefresher } from '../../compactor/views/refresher.js';
import { openDuckDB } from '../../shared/duckdb.js';
import { NotFoundError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { AccessScope } from '../../tenants/scope.js';
import { tenantNames, tenantScope } from '../../tenants/scope.js';
import { Sandbox } from './sandbox.js';
import { SnapshotCopy } from './snapshot-copy.js';
import { SqlQueryError, SqlRefusedError, SqlTimeoutError, SqlUnavailableError } from './sql-errors.js';
import type { SqlResult } from './sql-engine.js';
import { SqlEngine, VIEWS_CATALOG } from './sql-engine.js';

const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'name', type: primitive('string') }], { identifierFields: ['id'] });
const WAREHOUSE = 'memory://wh';
const admin: AccessScope = { kind: 'admin', tokenId: 'admin-token' };
const acme = tenantScope({ ...tenantNames('acme', 'duckhouse', WAREHOUSE), createdAt: new Date() }, 'acme-token');
const globex = tenantScope({ ...tenantNames('globex', 'duckhouse', WAREHOUSE), createdAt: new Date() }, 'globex-token');

async function append(catalog: Catalog, id: TableIdentifier, rows: [number, string][]): Promise<bigint> {
  const table = await catalog.loadTable(id);
  const writer = new TableWriter(table);
  await writer.write(new RecordBatch({
    id: makeData({ type: new Int64(), length: rows.length, data: BigInt64Array.from(rows, ([i]) => BigInt(i)) }),
    name: vectorFromArray(rows.map(([, n]) => n), new Utf8()).data[0]!,
  }));
  const committed = await commitAction(catalog, id, fastAppend(await writer.close()));
  return committed.table.metadata.currentSnapshotId!;
}

/** A cross join that runs for hours unless interrupted. */
const LONG_QUERY = 'SELECT count(*) FROM range(1000000) a CROSS JOIN range(1000000) b WHERE a.range + b.range = -1';

const values = (result: SqlResult): unknown[] => result.rows.map((r) => (r.length === 1 ? r[0] : r));

describe('SqlEngine over the views of a memory:// warehouse', () => {
  let dir: string;
  let databaseFile: string;
  let cacheDir: string;
  let catalog: EmbeddedCatalog;
  let refresher: ViewRefresher;
  let engine: SqlEngine;
  let firstSnapshot: bigint;
  const orders = { namespace: ['acme'], name: 'orders' };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-sql-'));
    databaseFile = path.join(dir, 'views.duckdb');
    cacheDir = path.join(dir, 'cache');
    catalog = new EmbeddedCatalog({ warehouse: WAREHOUSE, io: new MemoryFileIO() });
    refresher = new ViewRefresher({ catalog, databaseFile, cacheDir, logger: createLogger('test', 'silent') });
    const tables: [TableIdentifier, [number, string][]][] = [
      [orders, [[1, 'a'], [2, 'b'], [3, 'c']]],
      [{ namespace: ['acme'], name: 'customers' }, [[1, 'ann'], [3, 'cy']]],
      [{ namespace: ['globex'], name: 'orders' }, [[7, 'secret']]],
    ];
    for (const ns of ['acme', 'globex']) await catalog.createNamespace([ns]);
    for (const [id, rows] of tables) {
      await catalog.createTable(id, { schema });
      const snapshot = await append(catalog, id, rows);
      if (id === orders) firstSnapshot = snapshot;
    }
    await append(catalog, orders, [[4, 'd']]);
    await refresher.refreshAll();
    engine = new SqlEngine({ databaseFile, cacheDir, warehouse: WAREHOUSE, logger: createLogger('test', 'silent') });
  });

  after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a SELECT with a join, a CTE, an aggregation and time travel, JSON-safe', async () => {
    const join = await engine.query('SELECT o.id, o.name, c.name AS customer FROM acme.orders o JOIN acme.customers c ON c.id = o.id ORDER BY o.id', { scope: acme });
    assert.deepEqual(join.columns, [{ name: 'id', type: 'BIGINT' }, { name: 'name', type: 'VARCHAR' }, { name: 'customer', type: 'VARCHAR' }]);
    assert.deepEqual(join.rows, [[1, 'a', 'ann'], [3, 'c', 'cy']], 'BIGINT as numbers when exact');
    assert.equal(join.rowCount, 2);
    assert.equal(join.truncated, false);
    assert.equal(join.snapshot.stale, false);
    assert.ok(Date.parse(join.snapshot.asOf) <= Date.now());
    assert.deepEqual(join.limits, { maxRows: 1000, timeoutMs: 10_000 });

    const cte = await engine.query('WITH big AS (SELECT * FROM orders WHERE id > 1) SELECT count(*) AS n, sum(id) AS total, max(name) FROM big', { scope: acme });
    assert.deepEqual(cte.rows, [[3, 9, 'd']], 'unqualified names resolve to the tenant schema');
    const travel = await engine.query(`SELECT string_agg(name, ',' ORDER BY id) FROM acme."orders$at_snapshot"(${firstSnapshot})`, { scope: acme });
    assert.deepEqual(values(travel), ['a,b,c']);
    const asOf = await engine.query(`SELECT count(*) FROM "orders$as_of"(now())`, { scope: acme });
    assert.deepEqual(values(asOf), [4]);
    const typed = await engine.query("SELECT 1.5::DECIMAL(10,2) AS d, DATE '2024-01-02' AS day, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS ts, 'nan'::DOUBLE AS n, 170141183460469231731687303715884105727::HUGEINT AS h, [1, 2] AS l", { scope: admin });
    assert.deepEqual(typed.rows, [['1.50', '2024-01-02', '2024-01-02 03:04:05+00', 'NaN', '170141183460469231731687303715884105727', [1, 2]]]);
    const both = await engine.query('SELECT (SELECT count(*) FROM acme.orders) AS a, (SELECT count(*) FROM globex.orders) AS g, (SELECT count(*) FROM "acme"."orders$history") AS h', { scope: admin });
    assert.deepEqual(both.rows, [[4, 1, 2]], 'an admin reads every schema');
    assert.deepEqual(values(await engine.query('VALUES (1), (2) UNION ALL SELECT range::INT FROM range(3, 4)', { scope: acme })), [1, 2, 3]);
    assert.deepEqual(values(await engine.query(`SELECT count(*) FROM ${VIEWS_CATALOG}.acme.orders`, { scope: acme })), [4]);
    assert.equal((await engine.query('DESCRIBE SELECT * FROM acme.orders', { scope: acme })).rowCount, 2);
    // Statement separators inside comments and strings are text, not statements.
    const tricks = await engine.query("SELECT 'it''s; ATTACH ''/tmp/x'' AS x' AS s /* ; DROP VIEW acme.orders */ -- ; INSTALL httpfs", { scope: acme });
    assert.deepEqual(values(tricks), ["it's; ATTACH '/tmp/x' AS x"]);
  });

  const refusals: [sql: string, message: RegExp, scope?: AccessScope][] = [
    ["ATTACH '/tmp/x.duckdb' AS x", /^ATTACH is not allowed: the SQL endpoint runs one read-only SELECT$/],
    ["COPY (SELECT * FROM acme.orders) TO '/tmp/out.csv'", /^COPY is not allowed/],
    ['INSTALL httpfs', /^INSTALL is not allowed/],
    ['FORCE INSTALL httpfs', /^FORCE INSTALL is not allowed/],
    ['LOAD httpfs', /^LOAD is not allowed/],
    ['SET enable_external_access = true', /^SET is not allowed/],
    ['RESET threads', /^RESET is not allowed/],
    ['PRAGMA version', /^PRAGMA is not allowed/],
    ["PRAGMA import_database('/etc')", /^PRAGMA is not allowed/],
    ['CALL duckdb_settings()', /^CALL is not allowed/],
    ["EXPORT DATABASE '/tmp/x'", /^EXPORT is not allowed/],
    ['CREATE TABLE t AS SELECT 1', /^CREATE is not allowed/],
    ['DROP VIEW acme.orders', /^DROP is not allowed/],
    ['DELETE FROM acme.orders', /^DELETE is not allowed/],
    ["/* hello /* nested */ */ -- x\n  attach ':memory:' AS m", /^ATTACH is not allowed/],
    ['select 1; drop view acme.orders', /^found 2 statements; send one SELECT$/],
    ['SELECT 1; SELECT 2', /^found 2 statements; send one SELECT$/],
    ['SELECT 1 WHERE 1 = 1; DROP TABLE x --', /^found 2 statements/],
    ["SELECT * FROM acme.orders WHERE name = 'x'; ATTACH '/tmp/y' AS y; --'", /^found 2 statements/],
    ['-- only a comment', /^found no statement/],
    ["SELECT * FROM read_csv('/etc/passwd')", /^read_csv\(\) is not allowed: the SQL endpoint reads the DuckHouse views only/],
    ["SELECT * FROM read_text('/etc/passwd')", /^read_text\(\) is not allowed/],
    ["SELECT * FROM glob('/*')", /^glob\(\) is not allowed/],
    [`SELECT * FROM read_parquet('/etc/x.parquet')`, /^read_parquet\(\) is not allowed/],
    ["SELECT * FROM acme.orders WHERE id IN (SELECT 1 FROM read_csv_auto('/etc/passwd'))", /^read_csv_auto\(\) is not allowed/],
    ["WITH x AS (SELECT * FROM read_blob('/etc/passwd')) SELECT * FROM x", /^read_blob\(\) is not allowed/],
    ["SELECT * FROM acme.orders o, LATERAL (SELECT * FROM parquet_metadata('/x/' || o.name || '.parquet'))", /^parquet_metadata\(\) is not allowed/],
    ["SELECT * FROM query('SELECT * FROM globex.orders')", /^query\(\) is not allowed/],
    ["SELECT * FROM '/etc/passwd'", /^reading files is not allowed: FROM '\/etc\/passwd' would read a file/],
    ["SELECT * FROM 'orders.csv'", /^reading files is not allowed/],
    ['SELECT * FROM duckdb_tables()', /^duckdb_tables\(\) is not allowed/],
    ['SELECT * FROM duckdb_tables', /^duckdb_tables is not allowed: DuckDB's catalog views are not readable/],
    ['SELECT * FROM system.main.duckdb_views', /^table system\.main\.duckdb_views is not allowed: DuckDB's system catalog/],
    ['SELECT * FROM pg_settings', /^pg_settings is not allowed/],
    ['SELECT * FROM information_schema.tables', /^table information_schema\.tables is not readable: schema information_schema is DuckDB's catalog/],
    ['SELECT * FROM _duckhouse.files', /^table _duckhouse\.files is not readable: schema _duckhouse is DuckHouse's own bookkeeping/, admin],
    ["SELECT current_setting('allowed_directories')", /^current_setting\(\) is not allowed/],
    ['SELECT pg_get_viewdef(1)', /^pg_get_viewdef\(\) is not allowed/],
    ["SELECT getenv('HOME')", /^getenv\(\) is not allowed/],
    ['SELECT * FROM globex.orders', /^table globex\.orders is not readable with this token$/],
    ['SELECT * FROM globex.nothing_here', /^table globex\.nothing_here is not readable with this token$/],
    ['SELECT * FROM GLOBEX."ORDERS"', /^table GLOBEX\.ORDERS is not readable with this token$/],
    ['SELECT * FROM duckhouse.globex.orders', /^table duckhouse\.globex\.orders is not readable with this token$/],
    ['WITH mine AS (SELECT * FROM acme.orders) SELECT * FROM mine JOIN globex.orders USING (id)', /^table globex\.orders is not readable/],
    ['SELECT * FROM acme.orders WHERE id IN (SELECT id FROM globex.orders)', /^table globex\.orders is not readable/],
    [`SELECT * FROM globex."orders$at_snapshot"(1)`, /^table macro globex\.orders\$at_snapshot is not readable with this token$/],
    ['SELECT * FROM (WITH duckdb_tables AS (SELECT 1) SELECT * FROM duckdb_tables), duckdb_tables', /^duckdb_tables is not allowed/],
    ['WITH a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM a', /^duckdb_views is not allowed/],
    ['SHOW TABLES', /^SHOW tables is not allowed/],
    ['SHOW ALL TABLES', /is not allowed/],
  ];
  for (const [sql, message, scope] of refusals) {
    it(`refuses ${JSON.stringify(sql)}`, async () => {
      await assert.rejects(engine.query(sql, { scope: scope ?? acme }), (error: unknown) => {
        assert.ok(error instanceof SqlRefusedError, `expected a SqlRefusedError, found ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('keeps tenants apart both ways, and reports bad SQL with DuckDB\'s message minus its hints', async () => {
    assert.deepEqual(values(await engine.query('SELECT * FROM orders', { scope: globex })), [[7, 'secret']]);
    await assert.rejects(engine.query('SELECT * FROM acme.orders', { scope: globex }), /table acme\.orders is not readable with this token/);
    await assert.rejects(engine.query('SELECT * FROM customers', { scope: globex }), /table customers does not exist$/);
    await assert.rejects(engine.query('SELEC 1', { scope: acme }), (error: unknown) => error instanceof SqlQueryError && /syntax error at or near "SELEC"/.test(error.message));
    await assert.rejects(engine.query('SELECT nme FROM orders', { scope: acme }), (error: unknown) => {
      assert.ok(error instanceof SqlQueryError && error.duckdbType === 'Binder', String(error));
      assert.doesNotMatch(error.message, /Did you mean|Candidate/);
      return true;
    });
  });

  it('stops a query at its time limit and truncates at the row cap', async () => {
    const started = Date.now();
    await assert.rejects(engine.query(LONG_QUERY, { scope: acme, timeoutMs: 300 }), (error: unknown) => {
      assert.ok(error instanceof SqlTimeoutError, String(error));
      assert.match(error.message, /^query stopped after 0\.3 s \(the limit is 0\.3 s for this request, at most 60 s\)/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'interrupted, not run to the end');
    const capped = await engine.query('SELECT range FROM range(5000)', { scope: acme, maxRows: 10 });
    assert.deepEqual([capped.rowCount, capped.truncated, capped.rows.at(-1)], [10, true, [9]]);
    const exact = await engine.query('SELECT range FROM range(10)', { scope: acme, maxRows: 10 });
    assert.deepEqual([exact.rowCount, exact.truncated], [10, false]);
    const server = await engine.query('SELECT range FROM range(20000)', { scope: acme, maxRows: 1_000_000 });
    assert.deepEqual([server.rowCount, server.truncated, server.limits.maxRows], [10_000, true, 10_000], 'capped by the server maximum');
    await assert.rejects(engine.query('SELECT 1', { scope: acme, maxRows: -1 }), /maxRows: expected a whole number/);
    await assert.rejects(engine.query(`SELECT ${'1+'.repeat(60_000)}1`, { scope: acme }), /characters long; at most 100000 are accepted/);
  });

  it('runs queries side by side, queues them beyond maxConcurrent, and stops one whose request is aborted', async () => {
    const parallel = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.query(`SELECT count(*) + ${i} FROM acme.orders`, { scope: acme })));
    assert.deepEqual(parallel.map(values), Array.from({ length: 8 }, (_, i) => [4 + i]));

    const single = new SqlEngine({ databaseFile, cacheDir, warehouse: WAREHOUSE, maxConcurrent: 1 });
    try {
      const slow = single.query(LONG_QUERY, { scope: acme, timeoutMs: 1_500 });
      await assert.rejects(single.query('SELECT 1', { scope: acme, timeoutMs: 200 }), (error: unknown) => error instanceof SqlUnavailableError && error.retriable && /slots stayed busy/.test(error.message));
      await assert.rejects(slow, SqlTimeoutError);
      assert.deepEqual(values(await single.query('SELECT 1', { scope: acme })), [1], 'the slot is free again');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      await assert.rejects(single.query(LONG_QUERY, { scope: acme, signal: controller.signal }), /the query was cancelled: its request was aborted/);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await single.close();
    }
  });

  it('serves the previous copy while a writer holds the views file open, and the new state once it is free', async () => {
    await engine.query('SELECT 1', { scope: admin });
    let release!: () => void;
    let changed!: () => void;
    const isChanged = new Promise<void>((resolve) => (changed = resolve));
    const holding = withDuckDBFile(databaseFile, async () => {
      const { instance, connection } = await openDuckDB(databaseFile);
      try {
        await connection.run('CREATE VIEW acme.marker AS SELECT 42 AS answer');
        changed();
        await new Promise<void>((resolve) => (release = resolve));
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    });
    await isChanged;
    const during = await engine.query('SELECT count(*) FROM acme.orders', { scope: acme });
    assert.deepEqual([values(during), during.snapshot.stale], [[4], true]);
    await assert.rejects(engine.query('SELECT * FROM acme.marker', { scope: acme }), /table acme\.marker does not exist/);
    release();
    await holding;
    const afterwards = await engine.query('SELECT * FROM acme.marker', { scope: acme });
    assert.deepEqual([values(afterwards), afterwards.snapshot.stale], [[42], false]);
    assert.ok(afterwards.snapshot.asOf > during.snapshot.asOf);
  });

  it('says when there are no views yet', async () => {
    const none = new SqlEngine({ databaseFile: path.join(dir, 'missing', 'views.duckdb'), cacheDir });
    await assert.rejects(none.query('SELECT 1', { scope: admin }), (error: unknown) => error instanceof NotFoundError && /^no views yet: start `duckhouse workers` and commit to a table/.test(error.message));
    await none.close();
  });

  it('has a second wall: the sandbox itself refuses files outside the scope\'s views', async () => {
    const copies = new SnapshotCopy({ databaseFile, copyDir: path.join(dir, 'wall') });
    const lease = await copies.acquire();
    const sandbox = await Sandbox.open({ copyPath: lease.path, alias: VIEWS_CATALOG, threads: 1, memoryLimit: '256MB' });
    try {
      await sandbox.lockDown('acme', [path.join(cacheDir, 'memory', 'wh', 'acme')]);
      assert.equal((await sandbox.run('SELECT * FROM orders', 10)).rows.length, 4);
      for (const sql of ["SELECT * FROM read_csv('/etc/passwd')", 'SELECT * FROM globex.orders', "ATTACH '/tmp/z.duckdb' AS z", "COPY (SELECT 1) TO '/tmp/z.csv'", 'INSTALL httpfs']) {
        await assert.rejects(sandbox.run(sql, 10), /Permission Error/, sql);
      }
      await assert.rejects(sandbox.run('SET enable_external_access = true', 10), /the configuration has been locked/);
    } finally {
      sandbox.close();
      lease.release();
      await copies.close();
    }
  });
});
