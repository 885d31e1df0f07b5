// The demo end to end on the real stack (a random topic prefix and catalog): CSV producer → Kafka → sink → Iceberg on
// MinIO through the SQL catalog → DuckHouse's reader and PyIceberg agree on the rows.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runDemo } from '../../src/demo/pipeline-demo.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { catalogFixture } from './catalog-fixtures.js';
import { endpoints, uniqueName } from './helpers.js';

test('the demo sends the CSV through Kafka and the sink into an Iceberg table that DuckHouse and PyIceberg read alike', async (t) => {
  const fixture = await catalogFixture('sql-s3');
  t.after(() => fixture.cleanup());
  const lines: string[] = [];
  const result = await runDemo(endpoints(), {
    csvFile: path.join(PROJECT_ROOT, 'scripts', 'demo-data', 'orders.csv'),
    catalog: fixture.catalog,
    catalogName: fixture.pyiceberg.catalog!,
    prefix: uniqueName('demo'),
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
});
