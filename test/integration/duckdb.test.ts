import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDuckDB, quoteLiteral } from '../../src/shared/duckdb.js';

test('@duckdb/node-api writes a Parquet file whose columns carry Iceberg field ids', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-duckdb-'));
  const { instance, connection } = await openDuckDB();
  t.after(async () => {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, 'ids.parquet');
  await connection.run(
    `copy (select i::bigint as id, 'row ' || i as name, make_timestamp(1700000000000000 + i) as ts from range(1000) t(i))
     to ${quoteLiteral(file)} (format parquet, compression zstd, field_ids {id: 7, name: 8, ts: 9})`,
  );
  const schema = await connection.runAndReadAll(
    `select name, field_id from parquet_schema(${quoteLiteral(file)}) where field_id is not null order by field_id`,
  );
  assert.deepEqual(schema.getRowObjectsJS(), [
    { name: 'id', field_id: 7n },
    { name: 'name', field_id: 8n },
    { name: 'ts', field_id: 9n },
  ]);
  const counted = await connection.runAndReadAll(`select count(*)::int as n, max(id)::int as top from read_parquet(${quoteLiteral(file)})`);
  assert.deepEqual(counted.getRowObjectsJS(), [{ n: 1000, top: 999 }]);
});
