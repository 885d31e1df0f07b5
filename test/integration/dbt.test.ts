// The dbt project (dbt/) run by the dbt runner (src/compactor/dbt/) against a real DuckDB file with the demo views,
// through the stack's venv dbt. Six dbt invocations in all (each takes a few seconds): build, rebuild after changes,
// nothing selected, a broken model, a failing test, a timeout. The tests share one database and run in order.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { withDuckDBFile } from '../../src/compactor/duckdb-file.js';
import { type DbtRunOptions, type DbtRunRecord, runDbtBuild } from '../../src/compactor/dbt/dbt-runner.js';
import { formatDbtRun, recentDbtRuns, recordDbtRun } from '../../src/compactor/dbt/dbt-runs.js';
import { openDuckDB } from '../../src/shared/duckdb.js';
import { createLogger } from '../../src/shared/logger.js';
import { connectRedis } from '../../src/shared/redis.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { endpoints, uniqueName } from './helpers.js';

const logger = createLogger('dbt-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');
const PROJECT = path.join(PROJECT_ROOT, 'dbt');

let dir: string;
let databaseFile: string;
let redis: Redis;
let runsKey: string;
const records: DbtRunRecord[] = [];

type Row = Record<string, string | null>;

/** Runs statements against the database file (holding its writer lock, closed again before dbt needs it). */
async function sql(...statements: string[]): Promise<void> {
  await withDuckDBFile(databaseFile, async () => {
    const { instance, connection } = await openDuckDB(databaseFile);
    try {
      for (const statement of statements) await connection.run(statement);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}

/** A query's rows with every value rendered as text by DuckDB (decimals and timestamps compare exactly). */
async function rows(query: string, orderBy: string): Promise<Row[]> {
  return withDuckDBFile(databaseFile, async () => {
    const { instance, connection } = await openDuckDB(databaseFile);
    try {
      await connection.run(`set TimeZone = 'UTC'`);
      const reader = await connection.runAndReadAll(`select columns(*)::varchar from (${query}) q order by ${orderBy}`);
      return reader.getRowObjectsJS() as Row[];
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}

async function build(tables: string[], options: Partial<DbtRunOptions> = {}): Promise<DbtRunRecord> {
  const record = await runDbtBuild({
    dbt: endpoints().python.dbt,
    projectDir: PROJECT,
    databaseFile,
    tables,
    logger,
    targetDir: path.join(dir, 'runs'),
    ...options,
  });
  records.push(record);
  return record;
}

// What the marts must say, written against the source views directly (independently of the models' SQL).
const EXPECTED_CUSTOMER_REVENUE = `
  with keys as (
    select lower(trim(customer)) as customer from demo.customers
    union select lower(trim(customer)) from demo.orders
  )
  select k.customer,
    (select trim(full_name) from demo.customers c where lower(trim(c.customer)) = k.customer) as full_name,
    (select upper(trim(country)) from demo.customers c where lower(trim(c.customer)) = k.customer) as country,
    (select lower(trim(tier)) from demo.customers c where lower(trim(c.customer)) = k.customer) as tier,
    (select count(*) from demo.orders o where lower(trim(o.customer)) = k.customer) as order_count,
    (select count(*) from demo.orders o where lower(trim(o.customer)) = k.customer and status = 'cancelled') as cancelled_orders,
    (select coalesce(sum(amount::decimal(18,2)), 0)::decimal(38,2) from demo.orders o
      where lower(trim(o.customer)) = k.customer and status <> 'cancelled') as revenue,
    (select min(ordered_at) from demo.orders o where lower(trim(o.customer)) = k.customer) as first_order_at,
    (select max(ordered_at) from demo.orders o where lower(trim(o.customer)) = k.customer) as last_order_at,
    k.customer in (select lower(trim(customer)) from demo.customers) as known_customer
  from keys k`;
const EXPECTED_DAILY_ORDERS = `
  select (ordered_at at time zone 'UTC')::date as order_date, status, count(*) as orders,
    (case when status = 'cancelled' then 0 else sum(amount::decimal(18,2)) end)::decimal(38,2) as revenue,
    sum(amount::decimal(18,2))::decimal(38,2) as gross_amount
  from demo.orders group by 1, 2`;
const CUSTOMER_REVENUE = 'select * from analytics.customer_revenue';
const DAILY_ORDERS = 'select * from analytics.daily_orders';

async function assertMartsMatchSources(): Promise<{ customers: Row[]; daily: Row[] }> {
  const customers = await rows(CUSTOMER_REVENUE, 'customer');
  assert.deepEqual(customers, await rows(EXPECTED_CUSTOMER_REVENUE, 'customer'));
  const daily = await rows(DAILY_ORDERS, 'order_date, status');
  assert.deepEqual(daily, await rows(EXPECTED_DAILY_ORDERS, 'order_date, status'));
  return { customers, daily };
}

const byCustomer = (customers: Row[], name: string): Row => {
  const row = customers.find((r) => r.customer === name);
  assert.ok(row, `customer_revenue has a row for ${name}`);
  return row;
};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-dbt-test-'));
  databaseFile = path.join(dir, 'views.duckdb');
  const { redis: r } = endpoints();
  redis = connectRedis(r);
  runsKey = `duckhouse:${uniqueName('dbt-test')}:dbt-runs`;
  // Like the views refresher: schema per namespace; orders is a view (over a table here), customers a table.
  await sql(
    'create schema demo',
    `create table demo.orders_data (order_id bigint, customer varchar, amount double, status varchar, ordered_at timestamptz)`,
    `insert into demo.orders_data values
       (1, 'alice', 120.50, 'delivered', '2024-03-01 09:15:00+00'),
       (2, 'bob',    35.00, 'shipped',   '2024-03-01 12:00:00+00'),
       (3, 'alice',  15.25, 'cancelled', '2024-03-01 18:40:00+00'),
       (4, 'carol',  89.99, 'placed',    '2024-03-01 23:30:00-05'),
       (5, 'bob',    12.00, 'delivered', '2024-03-02 08:00:00+00'),
       (6, 'Alice ', 42.10, 'placed',    '2024-03-02 10:00:00+00')`,
    'create view demo.orders as select * from demo.orders_data',
    `create table demo.customers (customer varchar primary key, full_name varchar, country varchar, tier varchar, updated_at timestamptz)`,
    `insert into demo.customers values
       ('alice', 'Alice Archer', 'us', 'gold',     '2024-02-01 00:00:00+00'),
       ('bob',   'Bob Baker',    'DE', 'standard', '2024-02-01 00:00:00+00'),
       ('carol', 'Carol Chen',   'FR', 'platinum', '2024-02-01 00:00:00+00'),
       ('dave',  'Dave Diaz',    'GB', 'standard', '2024-02-01 00:00:00+00')`,
  );
});

after(async () => {
  await redis?.del(runsKey);
  await redis?.quit();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a build for demo.orders creates the staging views and the marts, matching SQL over the sources', async (t) => {
  const progress: [number, string][] = [];
  const record = await build(['demo.orders'], { onProgress: (percent, message) => progress.push([percent, message]) });
  t.diagnostic(formatDbtRun(record));
  assert.equal(record.status, 'success', formatDbtRun(record));
  assert.equal(record.exitCode, 0);
  assert.equal(record.selector, '@source:demo.orders');
  assert.deepEqual(record.failures, []);
  const models = record.models.filter((m) => m.name.startsWith('model.')).map((m) => `${m.name}=${m.status}`).sort();
  assert.deepEqual(models, ['model.customer_revenue=success', 'model.daily_orders=success', 'model.stg_customers=success', 'model.stg_orders=success']);
  assert.ok(record.models.some((m) => m.name.startsWith('test.accepted_values_stg_orders_status') && m.status === 'pass'));

  const { customers, daily } = await assertMartsMatchSources();
  assert.deepEqual(
    { ...byCustomer(customers, 'alice'), first_order_at: undefined, last_order_at: undefined },
    { customer: 'alice', full_name: 'Alice Archer', country: 'US', tier: 'gold', order_count: '3', cancelled_orders: '1', revenue: '162.60',
      first_order_at: undefined, last_order_at: undefined, known_customer: 'true' },
  );
  assert.equal(byCustomer(customers, 'dave').revenue, '0.00');
  // 23:30 at UTC-5 is the next UTC day.
  assert.deepEqual(daily.find((r) => r.order_date === '2024-03-02' && r.status === 'placed'),
    { order_date: '2024-03-02', status: 'placed', orders: '2', revenue: '132.09', gross_amount: '132.09' });
  const views = await rows(`select table_schema || '.' || table_name as name, table_type from information_schema.tables
    where table_schema in ('staging', 'analytics')`, 'name');
  assert.deepEqual(views, [
    { name: 'analytics.customer_revenue', table_type: 'BASE TABLE' },
    { name: 'analytics.daily_orders', table_type: 'BASE TABLE' },
    { name: 'staging.stg_customers', table_type: 'VIEW' },
    { name: 'staging.stg_orders', table_type: 'VIEW' },
  ]);

  assert.equal(progress.at(-1)?.[0], 100);
  const percents = progress.map(([p]) => p);
  assert.deepEqual(percents, [...percents].sort((a, b) => a - b), 'progress only goes up');
  assert.ok(progress.some(([p, m]) => p > 0 && p < 100 && m.includes('analytics.customer_revenue')));
  assert.match(await readFile(record.logFile!, 'utf8'), /Done\. PASS=/);
});

test('after a new order, an order update and a customer update, a rebuild reflects them (unknown tables do no harm)', async () => {
  await sql(
    `insert into demo.orders_data values (7, 'dave', 60.00, 'placed', '2024-03-03 07:00:00+00')`,
    `update demo.orders_data set status = 'delivered' where order_id = 2`,
    `update demo.customers set tier = 'gold', updated_at = '2024-03-03 00:00:00+00' where customer = 'bob'`,
  );
  const record = await build(['demo.orders', 'demo.customers', 'demo.not_modelled']);
  assert.equal(record.status, 'success', formatDbtRun(record));
  assert.equal(record.selector, '@source:demo.orders @source:demo.customers @source:demo.not_modelled');
  const { customers, daily } = await assertMartsMatchSources();
  assert.equal(byCustomer(customers, 'bob').tier, 'gold');
  assert.equal(byCustomer(customers, 'bob').revenue, '47.00');
  assert.deepEqual([byCustomer(customers, 'dave').order_count, byCustomer(customers, 'dave').revenue], ['1', '60.00']);
  assert.equal(daily.filter((r) => r.status === 'shipped').length, 0);
});

test('a build for tables that are no source of the project is skipped', async () => {
  const record = await build(['other.events', 'a.b.c']);
  assert.equal(record.status, 'skipped', formatDbtRun(record));
  assert.equal(record.selector, '@source:other.events');
  assert.deepEqual(record.models, []);
  assert.deepEqual(record.failures, []);
  assert.equal(record.exitCode, 0);
});

test('a broken model fails the run naming it, and its table keeps the rows of the last good build', async () => {
  const before = await rows(CUSTOMER_REVENUE, 'customer');
  const broken = path.join(dir, 'broken-project');
  await cp(PROJECT, broken, { recursive: true, filter: (source) => !/[/\\](target|logs)$/.test(source) });
  await writeFile(path.join(broken, 'models', 'marts', 'customer_revenue.sql'), `select no_such_column from {{ ref('stg_orders') }}\n`);
  await sql(`insert into demo.orders_data values (8, 'bob', 10.00, 'delivered', '2024-03-03 09:00:00+00')`);

  const record = await build(['demo.orders'], { projectDir: broken });
  assert.equal(record.status, 'error');
  assert.equal(record.exitCode, 1);
  const failure = record.failures.find((f) => f.node === 'model.customer_revenue');
  assert.ok(failure, `failures name the model: ${JSON.stringify(record.failures)}`);
  assert.equal(failure.status, 'error');
  assert.match(failure.message, /no_such_column/);
  assert.match(formatDbtRun(record), /first failure: model\.customer_revenue: /);

  assert.deepEqual(await rows(CUSTOMER_REVENUE, 'customer'), before, 'customer_revenue still holds its old rows');
  // The branch that did not break was built: daily_orders has order 8.
  assert.deepEqual(await rows(DAILY_ORDERS, 'order_date, status'), await rows(EXPECTED_DAILY_ORDERS, 'order_date, status'));
});

test('a failing dbt test fails the run naming the test, and the marts downstream of it are not rebuilt', async () => {
  const daily = await rows(DAILY_ORDERS, 'order_date, status');
  await sql(`insert into demo.orders_data values (9, 'carol', 5.00, 'lost', '2024-03-04 10:00:00+00')`);
  const record = await build(['demo.orders']);
  assert.equal(record.status, 'error');
  const failure = record.failures.find((f) => f.node.startsWith('test.accepted_values_stg_orders_status'));
  assert.ok(failure, `failures name the test: ${JSON.stringify(record.failures)}`);
  assert.equal(failure.status, 'fail');
  assert.match(failure.message, /Got 1 result/);
  const status = (name: string): string | undefined => record.models.find((m) => m.name === name)?.status;
  assert.equal(status('model.daily_orders'), 'skipped');
  assert.equal(status('model.customer_revenue'), 'skipped');
  assert.deepEqual(await rows(DAILY_ORDERS, 'order_date, status'), daily, 'daily_orders never saw the bad row');
});

test('a dbt run past its timeout is killed, reported as an error, and the DuckDB file lock is free again', async () => {
  const record = await build(['demo.orders'], { timeoutMs: 300 });
  assert.equal(record.status, 'error');
  assert.equal(record.exitCode, null);
  assert.equal(record.failures[0]?.status, 'timeout');
  assert.match(record.failures[0]?.message ?? '', /did not finish within 300 ms/);
  assert.ok(record.durationMs < 10_000, `killed quickly (${record.durationMs} ms)`);
  assert.equal(await withDuckDBFile(databaseFile, async () => 'free', { waitMs: 1000 }), 'free');
});

test('runs are recorded in Redis newest first and trimmed to the newest `keep`', async () => {
  assert.equal(records.length, 6);
  for (const record of records) await recordDbtRun(redis, runsKey, record, 4);
  const recent = await recentDbtRuns(redis, runsKey, 10);
  assert.deepEqual(recent.map((r) => r.id), records.slice(-4).reverse().map((r) => r.id));
  assert.deepEqual(recent[0], records.at(-1));
  assert.deepEqual((await recentDbtRuns(redis, runsKey, 2)).map((r) => r.status), ['error', 'error']);
  await assert.rejects(recordDbtRun(redis, runsKey, records[0]!, 0), /positive integer/);
});
