import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DataInvalidError } from '../shared/errors.js';
import { lastPerKey, parseTimestampMicros, readOrders, type OrderRow } from './csv-demo.js';

test('timestamps keep all six fractional digits as microseconds', () => {
  assert.equal(parseTimestampMicros('2026-11-03T18:45:30.999999Z'), 1793731530999999n);
  assert.equal(parseTimestampMicros('1970-01-01T00:00:00.5Z'), 500000n);
  assert.equal(parseTimestampMicros('1970-01-01T00:00:01Z'), 1000000n);
  assert.equal(parseTimestampMicros('2026-11-03 18:45:30'), undefined);
});

test('the last change per key wins, in arrival order', () => {
  const row = (id: bigint, status: string): OrderRow => ({ order_id: id, customer: 'c', amount: 1, status, ordered_at: 0n });
  const kept = lastPerKey([row(2n, 'a'), row(1n, 'a'), row(2n, 'b'), row(1n, 'c'), row(3n, 'a')]);
  assert.deepEqual(kept.map((r) => [r.order_id, r.status]), [[1n, 'c'], [2n, 'b'], [3n, 'a']]);
});

test('a bad value is reported with file, line and column', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-csv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bad.csv');
  await writeFile(file, 'order_id,customer,amount,status,ordered_at\n1,a,1.5,placed,2026-01-01T00:00:00Z\n2,b,lots,placed,2026-01-01T00:00:00Z\n');
  const seen: OrderRow[] = [];
  await assert.rejects(
    (async () => {
      for await (const row of readOrders(file)) seen.push(row);
    })(),
    (error: unknown) => error instanceof DataInvalidError && error.message === `${file}:3: column amount: expected a number, found "lots"`,
  );
  assert.equal(seen.length, 1);
});
