// The rows of the Iceberg write benchmark, three ways that must agree: the Iceberg schema (10 primitive columns), Arrow
// RecordBatches of the exact Arrow types the TableWriter expects (see planVector in src/catalog/writer/arrow-vectors.ts),
// and a DuckDB SELECT over range(N) producing the same values (for the DuckDB-only baseline). Plus a content digest
// any route's output can be checked with. Must never: make the Arrow and SQL definitions differ.
import type { Data, DataType } from 'apache-arrow';
import { Bool, DateDay, Decimal, Field, Float64, Int32, Int64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import type { FieldSpec } from '../src/catalog/spec/schema.js';
import { buildSchema } from '../src/catalog/spec/schema.js';

export const FIELDS: FieldSpec[] = [
  { name: 'id', type: { kind: 'long' }, required: true },
  { name: 'qty', type: { kind: 'int' } },
  { name: 'price', type: { kind: 'double' } },
  { name: 'email', type: { kind: 'string' } },
  { name: 'flag', type: { kind: 'boolean' } },
  { name: 'day', type: { kind: 'date' } },
  { name: 'ts', type: { kind: 'timestamptz' } },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 } },
  { name: 'status', type: { kind: 'string' } },
  { name: 'seq', type: { kind: 'long' } },
];
export const { schema: SCHEMA } = buildSchema(FIELDS);

/** Arrow type per column, in FIELDS order: long→Int64, int→Int32, timestamptz→Timestamp<µs, "UTC">, decimal→Decimal128. */
const ARROW_TYPES: DataType[] = [
  new Int64(), new Int32(), new Float64(), new Utf8(), new Bool(), new DateDay(), new TimestampMicrosecond('UTC'),
  new Decimal(2, 18, 128), new Utf8(), new Int64(),
];
const ARROW_SCHEMA = new Schema(FIELDS.map((f, i) => new Field(f.name, ARROW_TYPES[i]!, !f.required)));

const STATUS = ['pending', 'paid', 'shipped', 'delivered'];
const TS0 = 1_704_067_200_000_000n; // 2024-01-01T00:00:00Z in µs
const DAY0 = 18_262; // 2020-01-01 in days since the epoch

/** The same rows as SQL (DuckDB types equal to what the writer writes), for ids [0, rows). */
export function selectSql(rows: number): string {
  return `SELECT i::BIGINT AS id, (i % 1000)::INTEGER AS qty, (i % 100000) * 0.25::DOUBLE AS price,
    'customer-' || ((i * 7919) % 100000) || '@example.com' AS email, i % 3 = 0 AS flag,
    (DATE '2020-01-01' + (i % 2000)::INTEGER) AS day,
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1000003) AS ts,
    ((((i * 7) % 2000000) - 1000000)::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS amount,
    CASE WHEN i % 5 = 0 THEN NULL ELSE ['pending', 'paid', 'shipped', 'delivered'][(i % 4) + 1] END AS status,
    ((i * 31) % 1000003)::BIGINT AS seq
    FROM range(${Math.trunc(rows)}) r(i)`;
}

/** Order-independent digest of rows with these columns: `count|sum of row hashes`. */
export function digestSql(from: string): string {
  return `SELECT count(*)::VARCHAR || '|' || sum(hash(id, qty, price, email, flag, day, ts, amount, status, seq)::HUGEINT)::VARCHAR AS digest FROM ${from}`;
}

/** Arrow batches for ids [from, to), at most `batchRows` rows each. */
export function makeBatches(from: number, to: number, batchRows: number): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let begin = from; begin < to; begin += batchRows) batches.push(makeBatch(begin, Math.min(batchRows, to - begin)));
  return batches;
}

function makeBatch(begin: number, n: number): RecordBatch {
  const columns = benchColumns(begin, n, ARROW_TYPES);
  return new RecordBatch(ARROW_SCHEMA, makeData({ type: new Struct(ARROW_SCHEMA.fields), length: n, children: columns }));
}

/** The ten benchmark columns (FIELDS order) for ids [begin, begin + n), built with the given Arrow types. */
export function benchColumns(begin: number, n: number, t: readonly DataType[]): Data[] {
  const at = (k: number): number => begin + k;
  const amount = new Int32Array(n * 4);
  for (let k = 0; k < n; k++) {
    const v = ((at(k) * 7) % 2_000_000) - 1_000_000;
    amount[k * 4] = v;
    amount.fill(v < 0 ? -1 : 0, k * 4 + 1, k * 4 + 4);
  }
  return [
    makeData({ type: t[0] as Int64, length: n, data: BigInt64Array.from({ length: n }, (_, k) => BigInt(at(k))) }),
    makeData({ type: t[1] as Int32, length: n, data: Int32Array.from({ length: n }, (_, k) => at(k) % 1000) }),
    makeData({ type: t[2] as Float64, length: n, data: Float64Array.from({ length: n }, (_, k) => (at(k) % 100000) * 0.25) }),
    vectorFromArray(Array.from({ length: n }, (_, k) => `customer-${(at(k) * 7919) % 100000}@example.com`), t[3] as Utf8).data[0]!,
    vectorFromArray(Array.from({ length: n }, (_, k) => at(k) % 3 === 0), t[4] as Bool).data[0]!,
    makeData({ type: t[5] as DateDay, length: n, data: Int32Array.from({ length: n }, (_, k) => DAY0 + (at(k) % 2000)) }),
    makeData({ type: t[6] as TimestampMicrosecond, length: n, data: BigInt64Array.from({ length: n }, (_, k) => TS0 + BigInt(at(k)) * 1_000_003n) }),
    makeData({ type: t[7] as Decimal, length: n, data: new Uint32Array(amount.buffer) }),
    vectorFromArray(Array.from({ length: n }, (_, k) => (at(k) % 5 === 0 ? null : STATUS[at(k) % 4]!)), t[8] as Utf8).data[0]!,
    makeData({ type: t[9] as Int64, length: n, data: BigInt64Array.from({ length: n }, (_, k) => BigInt((at(k) * 31) % 1_000_003)) }),
  ];
}
