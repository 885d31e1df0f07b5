// The guard's decisions on DuckDB's real parse trees, against a described catalog (no views file needed): CTE scoping
// as DuckDB resolves it, name resolution for tenants and admins, the function rules, and naming of statements.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../../shared/duckdb.js';
import type { AccessScope } from '../../tenants/scope.js';
import { tenantNames, tenantScope } from '../../tenants/scope.js';
import { readBuiltins } from './sandbox.js';
import { SqlQueryError, SqlRefusedError } from './sql-errors.js';
import type { GuardCatalog, SchemaObjects } from './sql-guard.js';
import { firstWord, guardSql } from './sql-guard.js';

const admin: AccessScope = { kind: 'admin', tokenId: 'a' };
const acme = tenantScope({ ...tenantNames('acme', 'duckhouse', 's3://lake/wh'), createdAt: new Date() });
const objects = (name: string, relations: string[], tableMacros: string[] = []): [string, SchemaObjects] =>
  [name.toLowerCase(), { name, relations: new Set(relations), tableMacros: new Set(tableMacros) }];

describe('sql-guard', () => {
  let opened: { instance: DuckDBInstance; connection: DuckDBConnection };
  let catalog: (defaultSchema: string | undefined) => GuardCatalog;

  before(async () => {
    opened = await openDuckDB();
    const builtins = await readBuiltins(opened.connection);
    const schemas = new Map([
      objects('acme', ['orders', 'customers'], ['orders$at_snapshot']),
      objects('acme.sub', ['events']),
      objects('globex', ['orders']),
      objects('main', ['model']),
      objects('_duckhouse', ['files']),
    ]);
    catalog = (defaultSchema) => ({ alias: 'duckhouse', defaultSchema, schemas, builtins });
  });

  after(() => {
    opened.connection.closeSync();
    opened.instance.closeSync();
  });

  const allowed = (sql: string, scope: AccessScope = acme): Promise<void> =>
    guardSql(opened.connection, sql, scope, catalog(scope.kind === 'tenant' ? 'acme' : 'main'));
  const refused = (sql: string, message: RegExp, scope: AccessScope = acme, defaultSchema?: string): Promise<void> =>
    assert.rejects(guardSql(opened.connection, sql, scope, catalog(defaultSchema ?? (scope.kind === 'tenant' ? 'acme' : 'main'))), (error: unknown) => {
      assert.ok(error instanceof SqlRefusedError, `${sql}: expected a refusal, found ${String(error)}`);
      assert.match(error.message, message, sql);
      return true;
    });

  it('names the first word of a statement past comments and parentheses', () => {
    assert.equal(firstWord('  /* a /* nested */ comment */ -- line\n ((select 1))'), 'SELECT');
    assert.equal(firstWord('--only\n/* comments */'), '');
    assert.equal(firstWord('attach x'), 'ATTACH');
  });

  it('lets CTEs shadow names only where DuckDB resolves them as CTEs', async () => {
    await allowed('WITH duckdb_tables AS (SELECT 1 AS x) SELECT * FROM duckdb_tables');
    await allowed('WITH "Recent" AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers USING (id)');
    await allowed('WITH a AS (SELECT 1 AS x), b AS (SELECT * FROM a) SELECT * FROM b WHERE x IN (SELECT x FROM a)');
    await allowed('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t');
    await refused('WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a', /^table b does not exist$/);
    await refused('WITH duckdb_tables AS (SELECT * FROM duckdb_tables) SELECT 1', /^duckdb_tables is not allowed/);
    await refused('WITH RECURSIVE pg_settings AS (SELECT * FROM pg_settings UNION ALL SELECT * FROM pg_settings) SELECT 1', /^pg_settings is not allowed/);
    await refused('SELECT * FROM (WITH sqlite_master AS (SELECT 1) SELECT * FROM sqlite_master) AS s, sqlite_master', /^sqlite_master is not allowed/);
    await refused('SELECT (WITH x AS (SELECT 1) SELECT 1) FROM x', /^table x does not exist$/);
  });

  it('resolves names for a tenant: its schemas only, unqualified in its own', async () => {
    await allowed('SELECT * FROM orders, acme.customers, "acme.sub".events, ACME.Orders, duckhouse.acme.orders');
    await allowed('SELECT * FROM "orders$at_snapshot"(1), acme."orders$at_snapshot"(2), range(3), generate_series(1, 2), unnest([1])');
    await refused('SELECT * FROM model', /^table model does not exist$/);
    await refused('SELECT * FROM main.model', /^table main\.model is not readable with this token$/);
    await refused('SELECT * FROM globex."orders$at_snapshot"(1)', /^table macro globex\.orders\$at_snapshot is not readable with this token$/);
    await refused('SELECT * FROM "acme2".orders', /^table acme2\.orders is not readable with this token$/);
    await refused('SELECT * FROM other.duckhouse.orders', /^table other\.duckhouse\.orders is not readable with this token$/);
    await refused('SELECT * FROM temp.main.t', /DuckDB's temp catalog is not readable/);
    await refused('SELECT * FROM orders', /^table orders is not readable with this token$/, acme, 'nowhere');
    await refused('SELECT globex.f(1)', /^function globex\.f is not readable with this token$/);
    await refused('SELECT * FROM main.read_csv(\'/etc/passwd\')', /^table macro main\.read_csv is not readable with this token$/);
  });

  it('resolves names for an admin: every schema but DuckHouse\'s and DuckDB\'s own, unqualified in main', async () => {
    await allowed('SELECT * FROM model, acme.orders, globex.orders, main.model', admin);
    await allowed('SELECT acme.f(1), main.floor(1.5), pg_catalog.pg_typeof(1)', admin);
    await refused('SELECT * FROM orders', /^table orders does not exist in schema main; name tables as <schema>\.<table>$/, admin);
    await refused('SELECT * FROM nope.orders', /^table nope\.orders does not exist in the views$/, admin);
    await refused('SELECT * FROM "_duckhouse".files', /schema _duckhouse is DuckHouse's own bookkeeping/, admin);
    await refused('SELECT * FROM pg_catalog.pg_class', /schema pg_catalog is DuckDB's catalog/, admin);
  });

  it('allows pure functions and refuses those that read settings, files or the catalog', async () => {
    await allowed("SELECT histogram(id), range(3), list_transform([1], x -> x + 1), json_extract('{}', '$.a'), now(), pg_typeof(1) FROM orders");
    for (const fn of ["current_setting('threads')", "getenv('HOME')", 'pg_get_viewdef(1)', 'col_description(1, 1)', "json_serialize_plan('SELECT 1')", "read_csv('/etc/passwd')", 'duckdb_settings()', 'sleep_ms(1)']) {
      await refused(`SELECT ${fn}`, /\(\) is not allowed: it reads DuckDB's settings, files or catalog/);
    }
    await refused("SELECT * FROM sniff_csv('/etc/passwd')", /^sniff_csv\(\) is not allowed/);
    await refused('SELECT * FROM which_secret(\'s3://x\', \'s3\')', /^which_secret\(\) is not allowed/);
  });

  it('names statements that are not one SELECT, and passes syntax errors on', async () => {
    await refused('WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x', /^this statement \(WITH …\) is not a SELECT/);
    await refused('EXPLAIN SELECT 1', /^EXPLAIN is not allowed/);
    await refused('USE globex', /^USE is not allowed/);
    await refused('SELECT 1;;SELECT 2;', /^found 2 statements/);
    await refused('SELECT * FROM (PIVOT orders ON name USING sum(id))', /found 2 statements; send one SELECT \(DuckDB runs a PIVOT without an IN list as two statements/);
    await allowed('DESCRIBE orders');
    await allowed('SUMMARIZE SELECT * FROM orders');
    await refused('DESCRIBE globex.orders', /^table globex\.orders is not readable/);
    await refused('SHOW TABLES FROM globex', /^this SHOW is not allowed: it lists the views file's catalog/);
    await refused('SHOW DATABASES', /^SHOW databases is not allowed/);
    await refused("SELECT 'x'::globex.mood", /^type globex\.mood is not readable with this token$/);
    await allowed("SELECT 'x'::acme.mood, 'a'::VARCHAR, [1]::INTEGER[]");
    await assert.rejects(allowed("SELECT 'unterminated"), (error: unknown) => error instanceof SqlQueryError && /unterminated quoted string/.test(error.message));
  });
});
