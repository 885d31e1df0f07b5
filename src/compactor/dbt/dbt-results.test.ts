import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DBT_RUN_ID,
  dbtRunId,
  dbtSelection,
  parseProgressLine,
  parseRunResults,
  progressPercent,
  runStatus,
  shortNodeName,
} from './dbt-results.js';

test('dbtSelection: one @source selector per distinct namespace.table; anything else is ignored', () => {
  assert.deepEqual(dbtSelection(['demo.orders', 'demo.customers', 'demo.orders', 'a.b.c', 'demo.x y', 'nodot', 'demo.ok-name', 'demo.t+']), {
    selectors: ['@source:demo.orders', '@source:demo.customers', '@source:demo.ok-name'],
    ignored: ['a.b.c', 'demo.x y', 'nodot', 'demo.t+'],
  });
  assert.deepEqual(dbtSelection([]), { selectors: [], ignored: [] });
});

test('shortNodeName drops the package and a generic test hash', () => {
  assert.equal(shortNodeName('model.duckhouse.customer_revenue'), 'model.customer_revenue');
  assert.equal(shortNodeName('test.duckhouse.not_null_stg_orders_order_id.3a2b1c9d8e'), 'test.not_null_stg_orders_order_id');
  assert.equal(shortNodeName('test.duckhouse.marts_revenue_reconciles'), 'test.marts_revenue_reconciles');
  assert.equal(shortNodeName('unit_test.duckhouse.stg_orders.cleans_status'), 'unit_test.stg_orders.cleans_status');
  assert.equal(shortNodeName('odd'), 'odd');
});

test('parseRunResults keeps every node in order and lists failed models and tests with their messages', () => {
  const json = JSON.stringify({
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json' },
    results: [
      { unique_id: 'model.duckhouse.stg_orders', status: 'success', execution_time: 0.0212345, message: 'OK' },
      { unique_id: 'test.duckhouse.relationships_x.0123456789', status: 'warn', execution_time: 0.01, message: 'Got 1 result, configured to warn if != 0' },
      { unique_id: 'test.duckhouse.accepted_values_stg_orders_status.abcdef0123', status: 'fail', execution_time: 0.02, message: 'Got 1 result, configured to fail if != 0', failures: 1 },
      { unique_id: 'model.duckhouse.customer_revenue', status: 'error', execution_time: 0.05, message: 'Runtime Error in model customer_revenue\n  Binder Error: nope' },
      { unique_id: 'model.duckhouse.daily_orders', status: 'skipped', execution_time: 0, message: null },
      { unique_id: 'test.duckhouse.not_null_x.abcdef0123', status: 'pass', execution_time: 0.01, message: null },
    ],
  });
  const { models, failures } = parseRunResults(json);
  assert.deepEqual(models, [
    { name: 'model.stg_orders', status: 'success', executionTime: 0.021 },
    { name: 'test.relationships_x', status: 'warn', executionTime: 0.01, message: 'Got 1 result, configured to warn if != 0' },
    { name: 'test.accepted_values_stg_orders_status', status: 'fail', executionTime: 0.02, message: 'Got 1 result, configured to fail if != 0' },
    { name: 'model.customer_revenue', status: 'error', executionTime: 0.05, message: 'Runtime Error in model customer_revenue\n  Binder Error: nope' },
    { name: 'model.daily_orders', status: 'skipped', executionTime: 0 },
    { name: 'test.not_null_x', status: 'pass', executionTime: 0.01 },
  ]);
  assert.deepEqual(failures, [
    { node: 'test.accepted_values_stg_orders_status', status: 'fail', message: 'Got 1 result, configured to fail if != 0' },
    { node: 'model.customer_revenue', status: 'error', message: 'Runtime Error in model customer_revenue\n  Binder Error: nope' },
  ]);
  assert.throws(() => parseRunResults('{}'), /results/);
  assert.throws(() => parseRunResults('not json'));
});

test('parseRunResults clips very long messages', () => {
  const { failures } = parseRunResults(JSON.stringify({ results: [{ unique_id: 'model.p.m', status: 'error', message: 'x'.repeat(10_000) }] }));
  assert.equal(failures[0]?.message.length, 4000);
  assert.ok(failures[0]?.message.endsWith('…'));
});

test('parseProgressLine reads finished-node lines of dbt text output and ignores the rest', () => {
  const ok = parseProgressLine('15:58:36  2 of 24 OK created sql view model staging.stg_orders ........................... [OK in 0.02s]');
  assert.deepEqual(ok, { done: 2, total: 24, outcome: 'OK', text: 'created sql view model staging.stg_orders' });
  assert.equal(progressPercent(ok!), 8);
  const warn = parseProgressLine('15:58:36  13 of 24 WARN 1 relationships_stg_orders_customer__customer__ref_stg_customers_  [WARN 1 in 0.01s]');
  assert.deepEqual(warn, { done: 13, total: 24, outcome: 'WARN', text: '1 relationships_stg_orders_customer__customer__ref_stg_customers_' });
  assert.equal(parseProgressLine('15:58:36  2 of 24 START sql view model staging.stg_orders ........ [RUN]'), null);
  assert.equal(parseProgressLine('15:58:36  Done. PASS=23 WARN=1 ERROR=0 SKIP=0 NO-OP=0 TOTAL=24'), null);
  assert.equal(progressPercent({ done: 24, total: 24, outcome: 'PASS', text: '' }), 100);
});

test('runStatus: non-zero exit or a failure is an error; nothing run is skipped; warnings still succeed', () => {
  const warned = [{ name: 'test.t', status: 'warn', executionTime: 0 }];
  assert.equal(runStatus(0, warned, []), 'success');
  assert.equal(runStatus(0, [], []), 'skipped');
  assert.equal(runStatus(1, warned, [{ node: 'test.t', status: 'fail', message: 'x' }]), 'error');
  assert.equal(runStatus(2, [], []), 'error');
  assert.equal(runStatus(null, [], []), 'error');
});

test('dbtRunId sorts by time and matches DBT_RUN_ID', () => {
  const a = dbtRunId(new Date('2025-01-02T03:04:05.678Z'), 'a1b2c3');
  assert.equal(a, 'dbt-20250102T030405678Z-a1b2c3');
  assert.match(a, DBT_RUN_ID);
  assert.ok(dbtRunId(new Date('2025-01-02T03:04:05.679Z'), '000000') > a);
  assert.doesNotMatch('partial-parse', DBT_RUN_ID);
});
