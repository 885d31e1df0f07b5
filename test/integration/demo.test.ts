// The demo end to end on the real stack (a random topic prefix and catalog): CSV producer → Kafka → sink → Iceberg on
// MinIO through the SQL catalog → DuckHouse's reader and PyIceberg agree on the rows; with a CDC-fed customers table
// and the workers, the dbt marts reflect both.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { runDemo } from '../../src/demo/pipeline-demo.js';
import { createKafka } from '../../src/producers/kafka/client.js';
import { startServer } from '../../src/server/app.js';
import { connectRedis } from '../../src/shared/redis.js';
import { launchChromium, screenshot } from './browser.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { catalogFixture, pgConfig } from './catalog-fixtures.js';
import { endpoints, uniqueName } from './helpers.js';

test('the demo sends the CSV through Kafka and the sink into an Iceberg table that DuckHouse and PyIceberg read alike', async (t) => {
  const fixture = await catalogFixture('sql-s3');
  t.after(() => fixture.cleanup());
  const lines: string[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-demo-'));
  const prefix = uniqueName('demo');
  t.after(async () => {
    const client = new pg.Client(pgConfig());
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${prefix.replace('-', '_')}" CASCADE`);
    await client.end();
  });
  const result = await runDemo(endpoints(), {
    csvFile: path.join(PROJECT_ROOT, 'scripts', 'demo-data', 'orders.csv'),
    databaseFile: path.join(dir, 'duckhouse.duckdb'),
    dbtProject: path.join(PROJECT_ROOT, 'dbt'),
    pgSchema: prefix.replace('-', '_'),
    catalog: fixture.catalog,
    catalogName: fixture.pyiceberg.catalog!,
    prefix,
    report: (line) => lines.push(line),
  });
  assert.equal(result.sent, 11);
  assert.equal(result.deletes, 1);
  assert.ok(result.commits >= 1);
  // Orders 1002 and 1003 were updated and 1005 deleted: the last change per key wins.
  assert.deepEqual(result.rows.map((r) => r.order_id), [1001, 1002, 1003, 1004, 1006, 1007, 1008]);
  assert.equal(result.rows.find((r) => r.order_id === 1002)?.status, 'shipped');
  // Microsecond timestamps and exact decimals survive the whole trip.
  const heidi = result.rows.find((r) => r.order_id === 1008);
  assert.equal(heidi?.ordered_at, '2026-11-03T18:45:30.999999Z');
  assert.equal(heidi?.amount, '64.10');
  assert.deepEqual(result.pyiceberg, result.rows, 'PyIceberg reads the same rows');
  assert.ok(lines.some((l) => l.startsWith('sink: committed snapshot')));
  assert.ok(lines.some((l) => l.startsWith('cdc: 9 changes')), lines.join('\n'));
  // The marts: built by dbt from the views of both tables (CSV-fed orders, CDC-fed customers).
  assert.equal(result.dbt.status, 'success');
  assert.deepEqual([...result.dbt.tables].sort(), ['demo.customers', 'demo.orders']);
  const alice = result.marts.customerRevenue.find((r) => r.customer === 'alice');
  const aliceOrders = result.rows.filter((r) => r.customer === 'alice');
  assert.equal(Number(alice?.order_count), aliceOrders.length);
  assert.equal(alice?.tier, 'platinum', 'the update streamed from the WAL reached the mart');
  assert.equal(result.marts.customerRevenue.find((r) => r.customer === 'grace')?.full_name, 'Grace Hopper', 'the streamed insert too');
  const revenue = (rows: Record<string, unknown>[]): number => rows.reduce((n, r) => n + Number(r.revenue ?? 0), 0);
  const expected = result.rows.filter((r) => r.status !== 'cancelled').reduce((n, r) => n + Number(r.amount), 0);
  assert.equal(revenue(result.marts.customerRevenue).toFixed(2), expected.toFixed(2), 'revenue adds up to the orders');
  assert.equal(revenue(result.marts.dailyOrders).toFixed(2), expected.toFixed(2));
  // The HTTP API's SQL endpoint reads the same orders through the DuckDB views.
  const byStatus = new Map<string, { n: number; amount: number }>();
  for (const r of result.rows) {
    const entry = byStatus.get(String(r.status)) ?? { n: 0, amount: 0 };
    byStatus.set(String(r.status), { n: entry.n + 1, amount: entry.amount + Number(r.amount) });
  }
  assert.deepEqual(result.sqlByStatus.rows.map(([s, n, a]) => [s, n, Number(a).toFixed(2)]), [...byStatus].sort(([a], [b]) => a.localeCompare(b)).map(([s, v]) => [s, v.n, v.amount.toFixed(2)]));
  // The status report: both tables, caught up with their topics.
  const statusRows = new Map(result.status.tables.items.map((item) => [item.table, item]));
  assert.equal(statusRows.get('demo.orders')?.rows, result.rows.length);
  assert.equal(statusRows.get('demo.orders')?.totalLag, 0);
  assert.equal(statusRows.get('demo.customers')?.totalLag, 0);
  assert.ok(lines.some((l) => l.startsWith('status: ')), lines.join('\n'));

  // After the demo, the status page renders its tables in a real browser, signed in through the login form.
  const token = randomBytes(18).toString('base64url');
  const redis = connectRedis(endpoints().redis);
  const kafka = createKafka({ brokers: endpoints().kafka.brokers, clientId: 'demo-status-test', quiet: true });
  const server = await startServer({ catalog: fixture.catalog, authenticate: async (t2) => (t2 === token ? { kind: 'admin', tokenId: 'test' } : undefined), status: { catalog: fixture.catalog, kafka, redis, prefix } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/status?refresh=0`);
    assert.match(page.url(), /\/login\?next=/, 'without a session the page asks for a token');
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/status/), page.click('button[type=submit]')]);
    for (const [table, rows] of [['demo.orders', result.rows.length], ['demo.customers', undefined]] as const) {
      const row = page.locator(`tr[data-table="${table}"]`).first();
      assert.equal(await row.count(), 1, `${table} is on the page`);
      if (rows !== undefined) assert.equal(await row.locator('[data-field="rows"]').getAttribute('data-value'), String(rows));
      assert.equal(await row.getAttribute('data-state'), 'caught-up');
    }
    assert.ok((await page.locator('svg').count()) >= 1, 'the freshness chart is drawn');
    const shot = await screenshot(page, 'status-after-demo');
    assert.ok(shot.width >= 1000 && shot.height >= 600 && shot.bytes > 20_000, JSON.stringify(shot));
  } finally {
    await browser.close();
    await server.close();
    await redis.quit();
  }
});
