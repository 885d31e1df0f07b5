import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { REQUIREMENTS_FILE, pinnedVersion } from './python.js';

test('the venv pins duckdb to the DuckDB inside @duckdb/node-api, so both open the same database file', () => {
  const nodeApi = (createRequire(import.meta.url)('@duckdb/node-api/package.json') as { version: string }).version;
  assert.equal(pinnedVersion('duckdb'), nodeApi.split('-')[0]);
});

test('dbt-core is capped below 2 (the Rust engine alphas) and below 1.12 (its parser downloads from GitHub)', () => {
  const text = readFileSync(REQUIREMENTS_FILE, 'utf8');
  assert.match(text, /^dbt-core>=1\.10,<1\.12$/m);
  assert.match(text, /^pyiceberg\[[^\]]*sql-postgres[^\]]*\]>=0\.11,<0\.12$/m);
});
