// The workers end to end on real Kafka, the registry, Redis (BullMQ), Postgres (catalog), a warehouse and the stack's
// dbt: the sink publishes commit events, the views worker keeps the DuckDB views equal to what PyIceberg reads, the
// dbt worker rebuilds the marts after commits, and a failing model fails its job while the previous marts stay.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Kafka } from 'kafkajs';
import { withDuckDBFile } from '../../src/compactor/duckdb-file.js';
import type { DbtRunRecord } from '../../src/compactor/dbt/dbt-runner.js';
import { recentDbtRuns } from '../../src/compactor/dbt/dbt-runs.js';
import { CommitEventPublisher, commitLogKey, dbtPendingKey, dbtRunsKey, queueNames } from '../../src/compactor/queues.js';
import { waitForWorkers } from '../../src/compactor/worker-status.js';
import { Workers } from '../../src/compactor/workers.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createKafka } from '../../src/producers/kafka/client.js';
import { createRegistry, type SchemaRegistry } from '../../src/schemas/registry.js';
import { openDuckDB } from '../../src/shared/duckdb.js';
import { createLogger } from '../../src/shared/logger.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { readWithPyIceberg } from '../interop/pyiceberg.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { endpoints, redisConnections, uniqueName } from './helpers.js';
import type { TestSink } from './sink-fixtures.js';
import { startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;
const { connect, closeAll } = redisConnections();
const logger = createLogger('workers-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');

before(async () => {
  kafka = createKafka({ brokers: endpoints().kafka.brokers, quiet: true });
  registry = createRegistry({ url: endpoints().schemaRegistry.url });
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-workers-'));
});

after(async () => {
  await closeAll();
});

/** Rows of a query on the DuckDB file, as JSON-friendly values, taken under the writer lock like any writer. */
async function query(databaseFile: string, sql: string): Promise<Record<string, unknown>[]> {
  return withDuckDBFile(databaseFile, async () => {
    const { instance, connection } = await openDuckDB(databaseFile);
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}

interface Setup {
  readonly fixture: CatalogFixture;
  readonly prefix: string;
  readonly databaseFile: string;
  readonly sink: TestSink;
  readonly workers: Workers;
  readonly publisher: CommitEventPublisher;
  produce(table: 'orders' | 'customers', lines: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

async function setUp(projectDir = path.join(PROJECT_ROOT, 'dbt')): Promise<Setup> {
  // A catalog of its own: both tests use the tables demo.orders and demo.customers.
  const fixture = await catalogFixture('sql-s3');
  const prefix = uniqueName('wk').replace('-', '_');
  const databaseFile = path.join(await mkdtemp(path.join(dir, 'db-')), 'duckhouse.duckdb');
  const publisher = new CommitEventPublisher(connect(), prefix, { compactionDelayMs: 2000 });
  const headers = { orders: 'order_id,customer,amount,status,ordered_at,op', customers: 'customer,full_name,country,tier,updated_at' };
  const keys = { orders: ['order_id'], customers: ['customer'] };
  const topics: string[] = [];
  const produce = async (table: 'orders' | 'customers', lines: string[]): Promise<string> => {
    const file = path.join(dir, `${uniqueName(table)}.csv`);
    await writeFile(file, `${[headers[table], ...lines].join('\n')}\n`);
    const { topic } = await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'demo', table, keyColumns: keys[table], ...(table === 'orders' ? { opColumn: 'op' } : {}), topicPrefix: prefix, partitions: 1 });
    return topic;
  };
  topics.push(await produce('customers', ['alice,Alice Liddell,GB,gold,2026-11-01T08:00:00Z', 'bob,Bob Marley,JM,standard,2026-11-01T08:00:00Z']));
  topics.push(await produce('orders', ['1,alice,10.00,placed,2026-11-01T09:00:00Z,', '2,bob,5.50,placed,2026-11-01T10:00:00Z,']));
  const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics, commitEvents: publisher, flush: { intervalMs: 300 } });
  const workers = new Workers({
    connect, prefix, kinds: ['views', 'compactor', 'dbt'], catalog: fixture.catalog, logger,
    views: { databaseFile, cacheDir: path.join(path.dirname(databaseFile), 'cache') },
    compaction: { maintenanceEveryMs: 0 },
    dbt: { executable: endpoints().python.dbt, projectDir, debounceMs: 1000, targetDir: path.join(path.dirname(databaseFile), 'dbt-runs') },
  });
  await workers.start();
  return {
    fixture, prefix, databaseFile, sink, workers, publisher, produce,
    cleanup: async () => {
      await sink.stop();
      await workers.close();
      await publisher.close();
      const redis = connect();
      for (const name of Object.values(queueNames(prefix))) {
        const queue = new Queue(name, { connection: redis });
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await redis.del(commitLogKey(prefix), dbtPendingKey(prefix), dbtRunsKey(prefix));
      await fixture.cleanup();
    },
  };
}

const settle = async (setup: Setup, since = 0): Promise<DbtRunRecord[]> => waitForWorkers(connect(), setup.prefix, { since });

const byId = (rows: Record<string, unknown>[], key: string): Record<string, unknown>[] => [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key]), 'en', { numeric: true }));

describe('workers', () => {
  test('after bursts of commits the views equal PyIceberg and dbt rebuilds the marts from the new data', async () => {
    const setup = await setUp();
    try {
      const topic = await setup.produce('orders', []);
      await waitCaughtUp(kafka, setup.fixture.catalog, { namespace: ['demo'], name: 'orders' }, topic);
      await settle(setup);
      const burst = Date.now();
      // A burst: new orders, a status change, a cancelled order deleted; several commits.
      for (let round = 0; round < 5; round++) {
        await setup.produce('orders', [`${10 + round},alice,${round + 1}.25,placed,2026-11-02T0${round}:00:00Z,`, `2,bob,5.50,${round % 2 ? 'shipped' : 'placed'},2026-11-01T10:00:00Z,`]);
        await sleep(400);
      }
      await setup.produce('orders', ['1,alice,10.00,cancelled,2026-11-01T09:00:00Z,d']);
      await waitCaughtUp(kafka, setup.fixture.catalog, { namespace: ['demo'], name: 'orders' }, topic);
      const runs = await settle(setup, burst);
      assert.equal(runs[0]!.status, 'success', JSON.stringify(runs[0]));

      const table = await setup.fixture.catalog.loadTable({ namespace: ['demo'], name: 'orders' });
      assert.ok(table.metadata.snapshots.length >= 3, 'several commits');
      const py = (await readWithPyIceberg(setup.fixture, table)).sql.current.map((r) => ({ order_id: String(r.order_id), customer: r.customer, status: r.status }));
      const view = (await query(setup.databaseFile, 'SELECT order_id, customer, status FROM demo.orders')).map((r) => ({ ...r, order_id: String(r.order_id) }));
      assert.deepEqual(byId(view, 'order_id'), byId(py, 'order_id'), 'the view shows what PyIceberg reads');
      assert.equal(view.length, 6);

      const marts = await query(setup.databaseFile, 'SELECT customer, order_count FROM analytics.customer_revenue ORDER BY customer');
      const expected = await query(setup.databaseFile, "SELECT customer, count(*) AS order_count FROM demo.orders GROUP BY customer ORDER BY customer");
      assert.deepEqual(marts.map((r) => [r.customer, Number(r.order_count)]), expected.map((r) => [r.customer, Number(r.order_count)]), 'the mart reflects the new data');
      assert.ok(runs[0]!.tables.includes('demo.orders'));
    } finally {
      await setup.cleanup();
    }
  });

  test('a failing dbt model fails its job and leaves the previous models in place', async () => {
    const project = path.join(await mkdtemp(path.join(dir, 'dbt-')), 'dbt');
    await cp(path.join(PROJECT_ROOT, 'dbt'), project, { recursive: true, filter: (src) => !/[/\\](target|logs)$/.test(src) });
    const setup = await setUp(project);
    try {
      const runs = await settle(setup);
      assert.equal(runs[0]!.status, 'success');
      const before = await query(setup.databaseFile, 'SELECT customer, order_count FROM analytics.customer_revenue ORDER BY customer');
      assert.ok(before.length > 0);
      // Break the mart, then change the data: the next build fails.
      const mart = path.join(project, 'models', 'marts', 'customer_revenue.sql');
      await writeFile(mart, `${await readFile(mart, 'utf8')}\n-- broken on purpose\nwhere no_such_column = 1\n`);
      await setup.produce('orders', ['3,alice,99.00,placed,2026-11-03T09:00:00Z,']);
      const redis = connect();
      const queue = new Queue(queueNames(setup.prefix).dbtRuns, { connection: redis });
      let failed: { failedReason?: string } | undefined;
      const deadline = Date.now() + 120_000;
      while (!failed && Date.now() < deadline) {
        failed = (await queue.getFailed(0, 0))[0];
        await sleep(250);
      }
      await queue.close();
      assert.ok(failed, 'the dbt build job failed');
      assert.match(failed.failedReason ?? '', /customer_revenue/);
      const recorded = (await recentDbtRuns(redis, dbtRunsKey(setup.prefix), 1))[0]!;
      assert.equal(recorded.status, 'error');
      assert.ok(recorded.failures.some((f) => f.node.includes('customer_revenue')), JSON.stringify(recorded.failures));
      assert.deepEqual(await redis.smembers(dbtPendingKey(setup.prefix)), ['demo.orders'], 'the table stays pending for the next build');
      const after = await query(setup.databaseFile, 'SELECT customer, order_count FROM analytics.customer_revenue ORDER BY customer');
      assert.deepEqual(after, before, 'the previous mart is still there, unchanged');
      let rows = 0;
      for (const until = Date.now() + 60_000; rows !== 3 && Date.now() < until; await sleep(250)) rows = Number((await query(setup.databaseFile, 'SELECT count(*) AS n FROM demo.orders'))[0]!.n);
      assert.equal(rows, 3, 'the views were refreshed all the same');
    } finally {
      await setup.cleanup();
    }
  });
});
