import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DbtRunRecord } from './dbt-results.js';
import { formatDbtRun } from './dbt-runs.js';

const base: DbtRunRecord = {
  id: 'dbt-20250102T030405678Z-a1b2c3',
  status: 'success',
  startedAt: '2025-01-02T03:04:05.678Z',
  durationMs: 4210,
  tables: ['demo.orders'],
  selector: '@source:demo.orders',
  models: [
    { name: 'model.stg_orders', status: 'success', executionTime: 0.02 },
    { name: 'model.daily_orders', status: 'success', executionTime: 0.02 },
    { name: 'test.not_null_x', status: 'pass', executionTime: 0.01 },
    { name: 'test.relationships_x', status: 'warn', executionTime: 0.01, message: 'Got 1 result' },
  ],
  failures: [],
  exitCode: 0,
};

test('formatDbtRun: a success counts models and tests on one line', () => {
  assert.equal(
    formatDbtRun(base),
    'dbt dbt-20250102T030405678Z-a1b2c3 success in 4.2 s (demo.orders): models 2 ok; tests 1 passed, 1 warned',
  );
});

test('formatDbtRun: an error names the first failure, flattened and clipped, and how many more', () => {
  const line = formatDbtRun({
    ...base,
    status: 'error',
    exitCode: 1,
    models: [
      { name: 'model.stg_orders', status: 'success', executionTime: 0.02 },
      { name: 'model.customer_revenue', status: 'error', executionTime: 0.02, message: 'boom' },
      { name: 'model.daily_orders', status: 'skipped', executionTime: 0 },
      { name: 'test.accepted_values_x', status: 'fail', executionTime: 0.01 },
    ],
    failures: [
      { node: 'model.customer_revenue', status: 'error', message: `Runtime Error in model customer_revenue\n  Binder Error: ${'y'.repeat(400)}` },
      { node: 'test.accepted_values_x', status: 'fail', message: 'Got 1 result' },
    ],
  });
  assert.match(line, /^dbt \S+ error in 4\.2 s \(demo\.orders\): models 1 ok, 1 failed, 1 skipped; tests 1 failed; first failure: model\.customer_revenue: Runtime Error in model customer_revenue Binder Error: y+… \(\+1 more\)$/);
  assert.ok(!line.includes('\n'));
});

test('formatDbtRun: skipped and dbt-level failures', () => {
  assert.equal(
    formatDbtRun({ ...base, status: 'skipped', models: [], tables: ['other.t'], selector: '@source:other.t', durationMs: 2900 }),
    'dbt dbt-20250102T030405678Z-a1b2c3 skipped in 2.9 s (other.t): nothing selected by @source:other.t',
  );
  assert.equal(
    formatDbtRun({ ...base, status: 'error', models: [], exitCode: null, failures: [{ node: 'dbt', status: 'timeout', message: 'dbt build did not finish' }] }),
    'dbt dbt-20250102T030405678Z-a1b2c3 error in 4.2 s (demo.orders): models none; tests none; first failure: dbt: dbt build did not finish',
  );
});
