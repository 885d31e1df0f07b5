import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCsvDemo } from '../../src/demo/csv-demo.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { endpoints, uniqueName } from './helpers.js';

test('the demo sends the CSV through the registry and Kafka into an Iceberg snapshot that DuckDB and PyIceberg read', async (t) => {
  const outDir = await mkdtemp(path.join(tmpdir(), 'duckhouse-demo-'));
  t.after(() => rm(outDir, { recursive: true, force: true }));
  const topic = `${uniqueName('demo')}.orders`;
  const result = await runCsvDemo(endpoints(), {
    csvFile: path.join(PROJECT_ROOT, 'scripts', 'demo-data', 'orders.csv'),
    outDir,
    topic,
  });
  assert.equal(result.produced, 10);
  assert.equal(result.consumed, 10);
  // Orders 1002 and 1003 were updated: the last change per key wins.
  assert.equal(result.rowsWritten, 8);
  assert.deepEqual(result.fieldIds.map((f) => f.fieldId), [1, 2, 3, 4, 5]);
  assert.equal(result.pyicebergRows, 8);
  assert.match(result.metadataLocation, /warehouse\/demo\/orders\/metadata\/00001-.*\.metadata\.json$/);
  const bob = result.rows.find((r) => r.order_id === '1002');
  assert.equal(bob?.status, 'shipped');
  // Microsecond timestamps survive the whole trip.
  const heidi = result.rows.find((r) => r.order_id === '1008');
  assert.equal(heidi?.ordered_at, '2026-11-03 18:45:30.999999+00');
});
