// The demo end to end on the real stack (a random topic prefix and catalog): CSV producer → Kafka → sink → Iceberg on
// MinIO through the SQL catalog → DuckHouse's reader and PyIceberg agree on the rows; with a CDC-fed customers table
// and the workers, the dbt marts reflect both.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { runDemo } from '../../src/demo/pipeline-demo.js';
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
});
