import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import * as A from 'apache-arrow';
import { DataInvalidError, SchemaIncompatibleError } from '../../shared/errors.js';
import { openDuckDB, quoteLiteral } from '../../shared/duckdb.js';
import type { FieldSpec } from '../spec/schema.js';
import { buildSchema, indexById } from '../spec/schema.js';
import type { ParquetFileResult } from './parquet-file.js';
import {
  closeWriterDuckDB, POSITION_DELETE_FILE_PATH_FIELD_ID, POSITION_DELETE_POS_FIELD_ID, writeParquetFile, writePositionDeleteFile,
} from './parquet-file.js';

const N = 5000;
let dir: string;
let db: { instance: DuckDBInstance; connection: DuckDBConnection };
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'duckhouse-parquet-'));
  db = await openDuckDB();
});
after(async () => {
  db.connection.closeSync();
  db.instance.closeSync();
  await closeWriterDuckDB();
  rmSync(dir, { recursive: true, force: true });
});

// ---- one column per Iceberg type: its values (null where the generator says so) and how Arrow holds them ----

const bitmap = (values: readonly unknown[]): Uint8Array => {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => { if (v !== null) bits[i >> 3]! |= 1 << (i & 7); });
  return bits;
};
const fixedWidth = <T extends A.DataType>(type: T, values: readonly unknown[], data: ArrayBufferView) =>
  A.makeData({ type, length: values.length, data: data as T['TArray'], nullBitmap: bitmap(values) } as never) as A.Data;
const decimalData = (precision: number, scale: number, values: readonly (bigint | null)[]): A.Data => {
  const words = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    for (let w = 0; w < 4; w++) words[i * 4 + w] = Number(BigInt.asUintN(32, (v ?? 0n) >> BigInt(32 * w)));
  });
  return fixedWidth(new A.Decimal(scale, precision, 128), values, words);
};
const bytesOf = (values: readonly (Uint8Array | null)[], width: number): Uint8Array => {
  const out = new Uint8Array(values.length * width);
  values.forEach((v, i) => { if (v) out.set(v, i * width); });
  return out;
};
const orNull = <T>(i: number, every: number, value: () => T): T | null => (i % every === 0 ? null : value());
const range = <T>(make: (i: number) => T): T[] => Array.from({ length: N }, (_, i) => make(i));
const uuidBytes = (i: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, k) => (i * 31 + k * 7 + (k === 0 ? i >> 3 : 0)) & 0xff);
const uuidText = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

interface Column {
  spec: FieldSpec;
  values: unknown[];
  arrow: A.Data;
  /** SQL that reads the column back as something comparable, and the same rendering of an input value. */
  sql: string;
  render: (v: unknown) => unknown;
}
const text = (v: unknown): unknown => (v === null ? null : String(v));
const decimalText = (scale: number) => (v: unknown): unknown => {
  if (v === null) return null;
  const digits = ((v as bigint) < 0n ? -(v as bigint) : (v as bigint)).toString().padStart(scale + 1, '0');
  return `${(v as bigint) < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
};

function columns(): Column[] {
  const cols: Column[] = [];
  const add = (spec: FieldSpec, values: unknown[], arrow: A.Data, sql: string, render: (v: unknown) => unknown = (v) => v): void => {
    cols.push({ spec, values, arrow, sql, render });
  };
  const b = range((i) => orNull(i, 11, () => i % 3 === 0));
  add({ name: 'b', type: { kind: 'boolean' } }, b, A.vectorFromArray(b, new A.Bool()).data[0]!, 'b');
  const i32 = range((i) => orNull(i, 11, () => ((i * 7919) % 20001) - 10000));
  add({ name: 'i', type: { kind: 'int' } }, i32, A.vectorFromArray(i32, new A.Int32()).data[0]!, 'i');
  const l = range((i) => BigInt(i) * 3_000_000_007n - 7_000_000_000_000n);
  add({ name: 'l', type: { kind: 'long' }, required: true }, l, A.vectorFromArray(l, new A.Int64()).data[0]!, 'l');
  const f = range((i) => (i === 17 ? NaN : orNull(i, 11, () => Math.fround((i - 2500) / 8))));
  add({ name: 'f', type: { kind: 'float' } }, f, A.vectorFromArray(f, new A.Float32()).data[0]!, 'f');
  const d = range((i) => (i === 18 ? NaN : orNull(i, 11, () => (i - 2500) * 1.1)));
  add({ name: 'd', type: { kind: 'double' } }, d, A.vectorFromArray(d, new A.Float64()).data[0]!, 'd');
  for (const [name, precision, scale, make] of [
    ['dec9', 9, 2, (i: number) => BigInt(((i * 37) % 200001) - 100000)],
    ['dec18', 18, 4, (i: number) => BigInt(i) * 123456789n - 300000000000n],
    ['dec38', 38, 10, (i: number) => BigInt(i - 2500) * 10n ** 30n + 7n],
  ] as const) {
    const values = range((i) => orNull(i, 11, () => make(i)));
    add({ name, type: { kind: 'decimal', precision, scale } }, values, decimalData(precision, scale, values), `${name}::VARCHAR`, decimalText(scale));
  }
  const dt = range((i) => orNull(i, 11, () => i * 13 - 40000));
  add({ name: 'dt', type: { kind: 'date' } }, dt, fixedWidth(new A.DateDay(), dt, Int32Array.from(dt, (v) => v ?? 0)), `dt - DATE '1970-01-01'`);
  const t = range((i) => orNull(i, 11, () => BigInt((i * 17_000_001) % 86_400_000_000)));
  add({ name: 't', type: { kind: 'time' } }, t, fixedWidth(new A.TimeMicrosecond(), t, BigInt64Array.from(t, (v) => v ?? 0n)), `epoch_us(DATE '1970-01-01' + t)`);
  for (const [name, kind, type, make, sql] of [
    ['ts', 'timestamp', new A.TimestampMicrosecond(), (i: number) => BigInt(i - 2500) * 1_000_000_007n, 'epoch_us(ts)'],
    ['tstz', 'timestamptz', new A.TimestampMicrosecond('UTC'), (i: number) => BigInt(i) * -86_400_000_001n + 10n, 'epoch_us(tstz)'],
    ['tsns', 'timestamp_ns', new A.TimestampNanosecond(), (i: number) => BigInt(i - 2500) * 1_000_000_000_123n, 'epoch_ns(tsns)'],
  ] as const) {
    const values = range((i) => orNull(i, 11, () => make(i)));
    add({ name, type: { kind } }, values, fixedWidth(type, values, BigInt64Array.from(values, (v) => v ?? 0n)), sql);
  }
  const s = range((i) => orNull(i, 11, () => [`short${i % 100}`, `a-longer-string-${i}-${'x'.repeat(i % 50)}`, `ünïcødé-${i}`, ''][i % 4]!));
  add({ name: 's', type: { kind: 'string' } }, s, A.vectorFromArray(s, new A.Utf8()).data[0]!, 's');
  const u = range((i) => orNull(i, 11, () => uuidBytes(i)));
  add({ name: 'u', type: { kind: 'uuid' } }, u, fixedWidth(new A.FixedSizeBinary(16), u, bytesOf(u, 16)), 'u::VARCHAR', (v) => (v === null ? null : uuidText(v as Uint8Array)));
  const bin = range((i) => orNull(i, 11, () => Uint8Array.from({ length: i % 20 }, (_, k) => (i + k * 91) & 0xff)));
  add({ name: 'bin', type: { kind: 'binary' } }, bin, A.vectorFromArray(bin, new A.Binary()).data[0]!, 'hex(bin)', (v) => (v === null ? null : Buffer.from(v as Uint8Array).toString('hex').toUpperCase()));
  const tags = range((i) => orNull(i, 7, () => Array.from({ length: i % 4 }, (_, k) => `t${i % 5}-${k}`)));
  add({ name: 'tags', type: { kind: 'list', element: { kind: 'string' } } }, tags, A.vectorFromArray(tags, new A.List(new A.Field('element', new A.Utf8(), true))).data[0]!, 'tags');
  const st = range((i) => orNull(i, 9, () => ({ x: i, y: i % 2 ? `y${i}` : null })));
  const stType = new A.Struct([new A.Field('x', new A.Int32(), false), new A.Field('y', new A.Utf8(), true)]);
  add({ name: 'st', type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'int' }, required: true }, { name: 'y', type: { kind: 'string' } }] } }, st, A.vectorFromArray(st, stType).data[0]!, 'st');
  const m = range((i) => orNull(i, 6, () => new Map(Array.from({ length: i % 3 }, (_, k) => [`k${k}`, BigInt(i * k)] as [string, bigint]))));
  const entries = new A.Struct<{ key: A.Utf8; value: A.Int64 }>([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Int64(), true)]);
  const mType = new A.Map_<A.Utf8, A.Int64>(new A.Field('entries', entries, false));
  add({ name: 'm', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'long' } } }, m, A.vectorFromArray(m, mType).data[0]!, 'm');
  return cols;
}

const COLUMNS = columns();
const { schema } = buildSchema(COLUMNS.map((c) => c.spec));
const fullBatch = new A.RecordBatch(Object.fromEntries(COLUMNS.map((c) => [c.spec.name, c.arrow])));
// Slices at 3 and 2500: offsets that are not byte-aligned (validity shifting) and batches that are not chunk-aligned.
const batches = (): A.RecordBatch[] => [fullBatch.slice(0, 3), fullBatch.slice(3, 2500), fullBatch.slice(2500)];

let written: ParquetFileResult;
const file = (): string => quoteLiteral(written.path);
const rowsOf = async (sql: string): Promise<Record<string, unknown>[]> => (await db.connection.runAndReadAll(sql)).getRowObjectsJS();

test('writes every row in input order, across batches and row groups', async () => {
  written = await writeParquetFile({ schema, batches: batches(), path: path.join(dir, 'all.parquet'), rowGroupSize: 2048 });
  assert.equal(written.recordCount, BigInt(N));
  const groups = await rowsOf(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${file()})`);
  assert.equal(groups[0]?.n, 3n);
  const order = await rowsOf(`SELECT count(*) AS bad FROM read_parquet(${file()}, file_row_number = true) WHERE l <> file_row_number * 3000000007 - 7000000000000`);
  assert.equal(order[0]?.bad, 0n, 'row i of the file is row i of the input (position deletes depend on it)');
});

test('every column carries its Iceberg field id, nested ones too, with Iceberg-readable logical types', async () => {
  const rows = await rowsOf(`SELECT name, field_id, type, logical_type, num_children FROM parquet_schema(${file()})`);
  const ids = rows.filter((r) => r.field_id !== null).map((r) => Number(r.field_id)).sort((a, b) => a - b);
  assert.deepEqual(ids, [...indexById(schema).keys()].sort((a, b) => a - b));
  const unnamed = rows.filter((r) => r.field_id === null).map((r) => r.name);
  assert.deepEqual(unnamed.sort(), ['duckdb_schema', 'key_value', 'list'], 'only the root and Parquet\'s repeated groups lack an id');
  const logical = (name: string): string => String(rows.find((r) => r.name === name)?.logical_type);
  assert.match(logical('ts'), /isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
  assert.match(logical('tstz'), /isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
  assert.match(logical('tsns'), /NANOS=NanoSeconds\(\)/);
  assert.match(logical('t'), /TimeType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
  assert.match(logical('u'), /UUIDType/);
  assert.match(logical('dec9'), /DecimalType\(scale=2, precision=9\)/);
  assert.deepEqual(['dec9', 'dec18', 'dec38'].map((n) => rows.find((r) => r.name === n)?.type), ['INT32', 'INT64', 'FIXED_LEN_BYTE_ARRAY']);
});

test('values round-trip through DuckDB read_parquet, every type, nulls included', async () => {
  const primitives = COLUMNS.filter((c) => !['tags', 'st', 'm'].includes(c.spec.name));
  const read = await rowsOf(`SELECT ${primitives.map((c) => `${c.sql} AS ${c.spec.name}`).join(', ')} FROM read_parquet(${file()})`);
  for (const c of primitives) {
    const expected = c.values.map((v) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : c.render(v)));
    const actual = read.map((r) => { const v = r[c.spec.name]; return typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v; });
    assert.deepEqual(actual.map(text), expected.map(text), `column ${c.spec.name}`);
  }
  const nested = (await db.connection.runAndReadAll(`SELECT tags, st, m FROM read_parquet(${file()})`)).getRowObjectsJson();
  const col = (name: string): unknown[] => COLUMNS.find((c) => c.spec.name === name)!.values;
  assert.deepEqual(nested.map((r) => r.tags), col('tags'));
  assert.deepEqual(nested.map((r) => r.st), col('st'));
  assert.deepEqual(nested.map((r) => r.m), col('m').map((v) => (v === null ? null : [...(v as Map<string, bigint>)].map(([key, value]) => ({ key, value: String(value) })))));
});

const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
const compareValues = (a: unknown, b: unknown): number => {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  if (typeof a === 'string' && typeof b === 'string') return compareBytes(Buffer.from(a), Buffer.from(b));
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
};
function bounds(values: readonly unknown[]): { min?: unknown; max?: unknown; nulls: number } {
  const present = values.filter((v) => v !== null && !(typeof v === 'number' && Number.isNaN(v))).sort(compareValues);
  return { min: present[0], max: present.at(-1), nulls: values.filter((v) => v === null).length };
}

test('statistics per field id: counts, sizes and exact bounds in Iceberg form for every type', () => {
  const ids = new Map(schema.fields.map((f) => [f.name, f.id]));
  for (const c of COLUMNS.filter((c) => !['tags', 'st', 'm'].includes(c.spec.name))) {
    const stats = written.columns.get(ids.get(c.spec.name)!);
    assert.ok(stats, `stats for ${c.spec.name}`);
    const values = c.spec.type.kind === 'uuid' ? c.values.map((v) => (v === null ? null : uuidText(v as Uint8Array))) : c.values;
    const expected = bounds(values);
    assert.equal(stats.nullCount, BigInt(expected.nulls), `${c.spec.name} null count`);
    assert.equal(stats.valueCount, BigInt(N), `${c.spec.name} value count`);
    assert.ok((stats.columnSize ?? 0n) > 0n, `${c.spec.name} column size`);
    assert.deepEqual(stats.min, expected.min, `${c.spec.name} min`);
    assert.deepEqual(stats.max, expected.max, `${c.spec.name} max`);
  }
  const dec9 = written.columns.get(ids.get('dec9')!)!;
  assert.ok((dec9.min as bigint) < 0n, 'a negative decimal lower bound is an unscaled negative bigint');
  assert.ok((written.columns.get(ids.get('ts')!)!.min as bigint) < 0n, 'a pre-1970 timestamp bound is negative µs');
  assert.equal(typeof written.columns.get(ids.get('dt')!)!.min, 'number');
});

test('statistics of nested leaves: list elements, struct fields, map keys and values', () => {
  const byPath = new Map([...indexById(schema)].map(([id, e]) => [e.path, id]));
  const stats = (p: string) => written.columns.get(byPath.get(p)!)!;
  const tags = COLUMNS.find((c) => c.spec.name === 'tags')!.values as (string[] | null)[];
  const elements = tags.flatMap((t) => t ?? []);
  assert.deepEqual([stats('tags.element').min, stats('tags.element').max], [bounds(elements).min, bounds(elements).max]);
  // Parquet counts one slot per element, plus one (null) slot for each null or empty list.
  const emptyOrNull = tags.filter((t) => t === null || t.length === 0).length;
  assert.equal(stats('tags.element').valueCount, BigInt(elements.length + emptyOrNull));
  assert.equal(stats('tags.element').nullCount, BigInt(emptyOrNull));
  const st = COLUMNS.find((c) => c.spec.name === 'st')!.values as ({ x: number; y: string | null } | null)[];
  assert.equal(stats('st.x').nullCount, BigInt(st.filter((v) => v === null).length));
  assert.equal(stats('st.y').nullCount, BigInt(st.filter((v) => v === null || v.y === null).length));
  assert.deepEqual([stats('st.x').min, stats('st.x').max], [1, N - 1]);
  assert.deepEqual([stats('m.key').min, stats('m.key').max], ['k0', 'k1']);
  const maps = COLUMNS.find((c) => c.spec.name === 'm')!.values as (Map<string, bigint> | null)[];
  const mapValues = maps.flatMap((v) => [...(v?.values() ?? [])]);
  assert.deepEqual([stats('m.value').min, stats('m.value').max], [bounds(mapValues).min, bounds(mapValues).max]);
});

test('more statistics: bounds over several row groups, long strings, all-NaN and all-null columns', async () => {
  const { schema: s } = buildSchema([{ name: 'x', type: { kind: 'double' } }, { name: 'long', type: { kind: 'string' } }, { name: 'none', type: { kind: 'int' } }]);
  const long = range((i) => `${'ß'.repeat(200)}${i}`);
  const batch = new A.RecordBatch({ x: A.vectorFromArray(range(() => NaN), new A.Float64()).data[0]!, long: A.vectorFromArray(long, new A.Utf8()).data[0]! });
  const result = await writeParquetFile({ schema: s, batches: [batch], path: path.join(dir, 'more.parquet'), rowGroupSize: 2048 });
  const [x, lng, none] = s.fields.map((f) => result.columns.get(f.id)!);
  assert.equal(x?.min, undefined, 'NaN never becomes a bound');
  assert.equal(none?.nullCount, BigInt(N), 'a missing optional column is all nulls');
  const b = bounds(long);
  assert.ok(compareValues(lng?.min, b.min) <= 0 && compareValues(lng?.max, b.max) >= 0, 'truncated bounds still bound every value');
});

test('refuses bad input with the column named, and leaves no file behind', async () => {
  const { schema: s } = buildSchema([{ name: 'id', type: { kind: 'long' }, required: true }, { name: 'amount', type: { kind: 'decimal', precision: 4, scale: 2 } }]);
  const id = A.vectorFromArray([1n, 2n], new A.Int64()).data[0]!;
  const cases: [string, A.RecordBatch, RegExp][] = [
    ['wrong Arrow type', new A.RecordBatch({ id: A.vectorFromArray([1, 2], new A.Int32()).data[0]! }), /id: Iceberg long expects Arrow Int64, found Int32/],
    ['unknown column', new A.RecordBatch({ id, extra: id }), /not in the Iceberg schema: extra/],
    ['missing required column', new A.RecordBatch({ amount: decimalData(4, 2, [1n, 2n]) }), /id: required long column is missing/],
    ['null in a required column', new A.RecordBatch({ id: A.vectorFromArray([1n, null], new A.Int64()).data[0]! }), /id: required column has 1 null/],
    ['decimal out of range', new A.RecordBatch({ id, amount: decimalData(4, 2, [1n, 123456n]) }), /Could not cast|out of range|DECIMAL\(4,2\)/],
  ];
  for (const [name, batch, message] of cases) {
    const out = path.join(dir, `bad-${name.replaceAll(' ', '-')}.parquet`);
    await assert.rejects(writeParquetFile({ schema: s, batches: [batch], path: out }), (e: unknown) => e instanceof DataInvalidError && message.test(e.message), name);
    assert.equal(existsSync(out), false, `${name}: no partial file`);
  }
  const { schema: strings } = buildSchema([{ name: 's', type: { kind: 'string' } }]);
  const invalid = A.makeData({ type: new A.Utf8(), length: 1, valueOffsets: new Int32Array([0, 2]), data: new Uint8Array([0xc3, 0x28]) });
  await assert.rejects(writeParquetFile({ schema: strings, batches: [new A.RecordBatch({ s: invalid })], path: path.join(dir, 'utf8.parquet') }), /invalid UTF-8/);
  // DuckDB cannot write these with the Parquet types Iceberg readers require: refused before anything is written.
  for (const type of [{ kind: 'timestamptz_ns' }, { kind: 'fixed', length: 4 }] as const) {
    const { schema: unwritable } = buildSchema([{ name: 'x', type: { kind: 'struct', fields: [{ name: 'y', type }] } }]);
    await assert.rejects(writeParquetFile({ schema: unwritable, batches: [], path: path.join(dir, 'no.parquet') }), (e: unknown) => e instanceof SchemaIncompatibleError && /x\.y/.test(e.message));
  }
});

test('Arrow 32- and 64-bit decimals are widened exactly, negatives included', async () => {
  const { schema: s } = buildSchema([{ name: 'd32', type: { kind: 'decimal', precision: 9, scale: 2 } }, { name: 'd64', type: { kind: 'decimal', precision: 18, scale: 3 } }]);
  const d32 = [-999_999_999n, -5n, 0n, 99_999_999n];
  const d64 = [-(10n ** 18n) + 1n, -1n, 2n ** 40n, 10n ** 18n - 1n];
  const words = (values: bigint[], perValue: number): Uint32Array =>
    Uint32Array.from(values.flatMap((v) => Array.from({ length: perValue }, (_, w) => Number(BigInt.asUintN(32, v >> BigInt(32 * w))))));
  const batch = new A.RecordBatch({
    d32: A.makeData({ type: new A.Decimal(2, 9, 32), length: 4, data: words(d32, 1) }),
    d64: A.makeData({ type: new A.Decimal(3, 18, 64), length: 4, data: words(d64, 2) }),
  });
  const result = await writeParquetFile({ schema: s, batches: [batch], path: path.join(dir, 'narrow.parquet') });
  const read = await rowsOf(`SELECT d32::VARCHAR AS a, d64::VARCHAR AS b FROM read_parquet(${quoteLiteral(result.path)})`);
  assert.deepEqual(read.map((r) => r.a), d32.map(decimalText(2)));
  assert.deepEqual(read.map((r) => r.b), d64.map(decimalText(3)));
  assert.deepEqual([result.columns.get(1)?.min, result.columns.get(2)?.max], [-999_999_999n, 10n ** 18n - 1n]);
});

test('accepts an async iterable of batches; concurrent writes stay apart', async () => {
  const { schema: s } = buildSchema([{ name: 'id', type: { kind: 'long' } }]);
  async function* source(): AsyncGenerator<A.RecordBatch> {
    for (let b = 0; b < 3; b++) yield new A.RecordBatch({ id: A.vectorFromArray([BigInt(b * 2), BigInt(b * 2 + 1)], new A.Int64()).data[0]! });
  }
  const result = await writeParquetFile({ schema: s, batches: source(), path: path.join(dir, 'async.parquet') });
  assert.equal(result.recordCount, 6n);
  assert.deepEqual([result.columns.get(1)?.min, result.columns.get(1)?.max], [0n, 5n]);
  const many = await Promise.all([10, 20, 30].map((k) => writeParquetFile({
    schema: s, path: path.join(dir, `concurrent-${k}.parquet`),
    batches: [0, 1, 2].map((b) => new A.RecordBatch({ id: A.vectorFromArray(range((i) => BigInt(k * 1_000_000 + b * N + i)), new A.Int64()).data[0]! })),
  })));
  assert.deepEqual(many.map((r) => [r.recordCount, r.columns.get(1)?.min, r.columns.get(1)?.max]), [10, 20, 30].map((k) => [BigInt(3 * N), BigInt(k * 1_000_000), BigInt(k * 1_000_000 + 3 * N - 1)]));
});

test('position delete file: spec schema with reserved field ids, rows sorted by file_path then pos', async () => {
  const rows = [
    { filePath: 's3://b/data/2.parquet', pos: 7n }, { filePath: 's3://b/data/1.parquet', pos: 10n }, { filePath: 's3://b/data/1.parquet', pos: 2n },
    { filePath: 's3://b/data/\u{1F600}.parquet', pos: 1n }, { filePath: 's3://b/data/\uFFFD.parquet', pos: 1n }, { filePath: 's3://b/data/1.parquet', pos: 9n },
  ];
  const result = await writePositionDeleteFile(path.join(dir, 'deletes.parquet'), rows);
  const out = quoteLiteral(result.path);
  const ids = await rowsOf(`SELECT name, field_id FROM parquet_schema(${out}) WHERE field_id IS NOT NULL ORDER BY name`);
  assert.deepEqual(ids.map((r) => [r.name, Number(r.field_id)]), [['file_path', POSITION_DELETE_FILE_PATH_FIELD_ID], ['pos', POSITION_DELETE_POS_FIELD_ID]]);
  const read = await rowsOf(`SELECT file_path, pos FROM read_parquet(${out})`);
  assert.deepEqual(read.map((r) => [r.file_path, r.pos]), [
    ['s3://b/data/1.parquet', 2n], ['s3://b/data/1.parquet', 9n], ['s3://b/data/1.parquet', 10n], ['s3://b/data/2.parquet', 7n],
    ['s3://b/data/\uFFFD.parquet', 1n], ['s3://b/data/\u{1F600}.parquet', 1n], // code point order: U+FFFD < U+1F600
  ]);
  assert.deepEqual([result.columns.get(POSITION_DELETE_POS_FIELD_ID)?.min, result.columns.get(POSITION_DELETE_POS_FIELD_ID)?.max], [1n, 10n]);
  assert.equal(result.columns.get(POSITION_DELETE_FILE_PATH_FIELD_ID)?.min, 's3://b/data/1.parquet');
  await assert.rejects(writePositionDeleteFile(path.join(dir, 'x.parquet'), [{ filePath: 'a', pos: -1n }]), DataInvalidError);
});
