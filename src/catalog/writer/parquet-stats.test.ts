import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SchemaIncompatibleError } from '../../shared/errors.js';
import { openDuckDB } from '../../shared/duckdb.js';
import { buildSchema } from '../spec/schema.js';
import type { PrimitiveType } from '../spec/types.js';
import { duckdbSqlType, fieldIdsClause, leafColumns } from './duckdb-types.js';
import { compareCodePoints } from './parquet-file.js';
import { daysFromCivil } from '../spec/transforms.js';
import { parseBound } from './parquet-stats.js';

let db: { instance: DuckDBInstance; connection: DuckDBConnection };
before(async () => {
  db = await openDuckDB();
  await db.connection.run(`SET TimeZone = 'UTC'`);
});
after(() => {
  db.connection.closeSync();
  db.instance.closeSync();
});

/** DuckDB prints each value (as RETURN_STATS does) and computes the exact number; parseBound must agree. */
async function agreesWithDuckDB(type: PrimitiveType, literals: string[], exact: (column: string) => string): Promise<void> {
  const sqlType = duckdbSqlType(type);
  const values = literals.map((l) => `(${l}::${sqlType})`).join(', ');
  const rows = (await db.connection.runAndReadAll(`SELECT v::VARCHAR AS printed, ${exact('v')} AS exact FROM (VALUES ${values}) t(v)`)).getRowObjectsJS();
  for (const row of rows) {
    assert.deepEqual(parseBound(type, String(row.printed)), row.exact, `${sqlType} printed as ${String(row.printed)}`);
  }
}

test('timestamp bounds: pre-1970, BC, far future, time zones, nanoseconds, ±infinity', async () => {
  const ts = ["'1969-12-31 23:59:59.999999'", "'1970-01-01 00:00:00'", "'0044-03-15 (BC) 12:00:00.5'", "'0001-01-01 (BC) 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2024-02-29 13:14:15.000001'"];
  await agreesWithDuckDB({ kind: 'timestamp' }, ts, (c) => `epoch_us(${c})`);
  await agreesWithDuckDB({ kind: 'timestamptz' }, [...ts, "'2024-06-01 12:00:00+05:30'"], (c) => `epoch_us(${c})`);
  await agreesWithDuckDB({ kind: 'timestamp_ns' }, ["'1969-12-31 23:59:59.999999999'", "'2262-04-10 00:00:00.123456789'", "'1677-09-22 00:00:00.000000001'"], (c) => `epoch_ns(${c})`);
  assert.equal(parseBound({ kind: 'timestamptz' }, '2024-06-01 12:00:00+05:30'), parseBound({ kind: 'timestamptz' }, '2024-06-01 06:30:00+00'));
  assert.equal(parseBound({ kind: 'timestamp' }, 'infinity'), 9223372036854775807n);
  assert.equal(parseBound({ kind: 'timestamp' }, '-infinity'), -9223372036854775807n);
});

test('date, time, decimal, float and double bounds are exact', async () => {
  await agreesWithDuckDB({ kind: 'date' }, ["'1969-12-31'", "'1970-01-01'", "'0001-01-01 (BC)'", "'0057-03-15 (BC)'", "'294000-01-01'", "'1600-02-29'"], (c) => `(${c} - DATE '1970-01-01')::INTEGER`);
  await agreesWithDuckDB({ kind: 'time' }, ["'00:00:00'", "'23:59:59.999999'", "'12:00:00.5'", "'24:00:00'"], (c) => `epoch_us(DATE '1970-01-01' + ${c})`);
  for (const [precision, scale] of [[4, 2], [9, 0], [18, 6], [38, 10], [38, 0]] as const) {
    // DuckDB prints the value; the unscaled integer is the literal's digits (scaled in SQL it could overflow).
    const unscaled = [0n, -1n, 10n ** BigInt(scale), -(10n ** BigInt(precision) - 1n), 10n ** BigInt(precision) - 1n];
    const literal = (v: bigint): string => `'${v < 0n ? '-' : ''}${(v < 0n ? -v : v).toString().padStart(scale + 1, '0').replace(new RegExp(`(\\d{${scale}})$`), scale ? '.$1' : '$1')}'`;
    const printed = (await db.connection.runAndReadAll(`SELECT ${unscaled.map((v) => `${literal(v)}::DECIMAL(${precision},${scale})::VARCHAR`).join(', ')}`)).getRows()[0]!;
    assert.deepEqual(printed.map((p) => parseBound({ kind: 'decimal', precision, scale }, String(p))), unscaled, `decimal(${precision},${scale})`);
  }
  assert.equal(parseBound({ kind: 'decimal', precision: 9, scale: 2 }, '-0.50'), -50n);
  await agreesWithDuckDB({ kind: 'double' }, ['0.1', '-1e-300', '1.7976931348623157e308', '123456789.123456789', "'inf'", "'-inf'"], (c) => c);
  await agreesWithDuckDB({ kind: 'float' }, ['0.1', '-3.4028235e38', '1.17549435e-38', '0.5714286'], (c) => `${c}::DOUBLE`);
  assert.equal(parseBound({ kind: 'float' }, '0.1'), Math.fround(0.1));
});

test('boolean, binary, uuid and string bounds', () => {
  assert.equal(parseBound({ kind: 'boolean' }, '0'), false);
  assert.equal(parseBound({ kind: 'boolean' }, '1'), true);
  assert.deepEqual(parseBound({ kind: 'binary' }, '00FF615C'), Uint8Array.from([0, 255, 0x61, 0x5c]));
  assert.deepEqual(parseBound({ kind: 'fixed', length: 2 }, ''), new Uint8Array());
  assert.equal(parseBound({ kind: 'uuid' }, '327e4756-992d-4fdb-9e83-34e7ff3ba08e'), '327e4756-992d-4fdb-9e83-34e7ff3ba08e');
  assert.equal(parseBound({ kind: 'string' }, ''), '');
  assert.throws(() => parseBound({ kind: 'long' }, '1.5'), /cannot read long bound "1.5" exactly/);
  assert.throws(() => parseBound({ kind: 'decimal', precision: 4, scale: 1 }, '1.25'), /cannot read decimal/);
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(2000, 3, 1), 11017);
});

test('type mapping is explicit: every Iceberg type has one DuckDB type, timestamptz_ns and fixed are refused', () => {
  const cases: [PrimitiveType | Parameters<typeof duckdbSqlType>[0], string][] = [
    [{ kind: 'boolean' }, 'BOOLEAN'], [{ kind: 'int' }, 'INTEGER'], [{ kind: 'long' }, 'BIGINT'], [{ kind: 'float' }, 'FLOAT'],
    [{ kind: 'double' }, 'DOUBLE'], [{ kind: 'decimal', precision: 10, scale: 3 }, 'DECIMAL(10,3)'], [{ kind: 'date' }, 'DATE'],
    [{ kind: 'time' }, 'TIME'], [{ kind: 'timestamp' }, 'TIMESTAMP'], [{ kind: 'timestamptz' }, 'TIMESTAMPTZ'],
    [{ kind: 'timestamp_ns' }, 'TIMESTAMP_NS'], [{ kind: 'string' }, 'VARCHAR'], [{ kind: 'uuid' }, 'UUID'],
    [{ kind: 'binary' }, 'BLOB'],
    [{ kind: 'list', elementId: 2, elementRequired: false, element: { kind: 'string' } }, 'VARCHAR[]'],
    [{ kind: 'map', keyId: 2, key: { kind: 'string' }, valueId: 3, valueRequired: false, value: { kind: 'long' } }, 'MAP(VARCHAR, BIGINT)'],
    [{ kind: 'struct', fields: [{ id: 2, name: 'a b', required: false, type: { kind: 'int' } }] }, 'STRUCT("a b" INTEGER)'],
  ];
  for (const [type, sql] of cases) assert.equal(duckdbSqlType(type), sql);
  assert.throws(() => duckdbSqlType({ kind: 'timestamptz_ns' }), SchemaIncompatibleError);
  assert.throws(() => duckdbSqlType({ kind: 'fixed', length: 16 }), /FIXED_LEN_BYTE_ARRAY/);
});

test('FIELD_IDS clause and leaf columns follow the schema, nested ones included', () => {
  const { schema } = buildSchema([
    { name: 'id', type: { kind: 'long' } },
    { name: "o'k", type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'list', element: { kind: 'int' } } }] } },
    { name: 'm', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'double' } } },
  ]);
  assert.equal(fieldIdsClause(schema.fields), `{'id': 1, 'o''k': {'__duckdb_field_id': 2, 'x': {'__duckdb_field_id': 4, 'element': 5}}, 'm': {'__duckdb_field_id': 3, 'key': 6, 'value': 7}}`);
  assert.deepEqual(leafColumns(schema.fields).map((l) => [l.fieldId, l.statsKey, l.repeated]), [
    [1, '"id"', false], [5, `"o'k"."x"."element"`, true], [6, '"m"."key"', true], [7, '"m"."value"', true],
  ]);
});

test('file paths sort by code point (UTF-8 byte order), not by UTF-16 unit', () => {
  const paths = ['b', 'a\u{1F600}', 'a\uFFFD', 'a', 'ab'];
  const sorted = [...paths].sort(compareCodePoints);
  assert.deepEqual(sorted, ['a', 'ab', 'a\uFFFD', 'a\u{1F600}', 'b']);
  assert.deepEqual(sorted, [...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
});
