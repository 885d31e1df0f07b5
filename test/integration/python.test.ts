import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { endpoints } from './helpers.js';

const run = promisify(execFile);

test('the venv runs `dbt --version` with dbt-core 1.x and the duckdb adapter', async () => {
  const { stdout } = await run(endpoints().python.dbt, ['--version'], { timeout: 60_000 });
  assert.match(stdout, /installed:\s+1\.\d+\.\d+/);
  assert.match(stdout, /duckdb:\s+1\.\d+\.\d+/);
});

test('the venv imports pyiceberg 0.11 and a duckdb of the same version as @duckdb/node-api', async () => {
  const { stdout } = await run(
    endpoints().python.python,
    ['-c', 'import json, pyiceberg, duckdb; print(json.dumps({"pyiceberg": pyiceberg.__version__, "duckdb": duckdb.__version__}))'],
    { timeout: 60_000 },
  );
  const versions = JSON.parse(stdout) as { pyiceberg: string; duckdb: string };
  assert.match(versions.pyiceberg, /^0\.11\./);
  const nodeApi = (createRequire(import.meta.url)('@duckdb/node-api/package.json') as { version: string }).version;
  assert.equal(versions.duckdb, nodeApi.split('-')[0]);
});
