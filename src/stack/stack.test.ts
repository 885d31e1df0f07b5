import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectWithDependencies } from './stack.js';

const names = (only?: Parameters<typeof selectWithDependencies>[0], extra?: Parameters<typeof selectWithDependencies>[1]): string[] =>
  selectWithDependencies(only, extra).map((c) => c.name);

test('a plain `stack up` takes every component except the optional ones (Trino)', () => {
  assert.deepEqual(names(), ['postgres', 'redis', 'minio', 'kafka', 'registry', 'python']);
});

test('`--with trino` adds it (last: it starts after what it reads from); naming it takes it and what it needs', () => {
  assert.deepEqual(names(undefined, ['trino']), ['postgres', 'redis', 'minio', 'kafka', 'registry', 'python', 'trino']);
  assert.deepEqual(names(['trino']), ['postgres', 'minio', 'trino']);
  assert.deepEqual(names(['kafka'], ['trino']), ['postgres', 'minio', 'kafka', 'trino']);
});
