import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Data, RecordBatch } from 'apache-arrow';
import { EmbeddedCatalog } from '../catalog/catalogs/embedded-catalog.js';
import { LocalFileIO } from '../catalog/io/local-file-io.js';
import { localPathOf } from '../catalog/io/location.js';
import type { FieldSpec, Schema } from '../catalog/spec/schema.js';
import { buildSchema } from '../catalog/spec/schema.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import { closeWriterDuckDB } from '../catalog/writer/parquet-file.js';
import { TableWriter } from '../catalog/writer/table-writer.js';
import { openDuckDB, quoteLiteral } from '../shared/duckdb.js';
import { DataInvalidError } from '../shared/errors.js';
import { avroCodec } from './avro-codec.js';
import { icebergToAvro } from './avro-iceberg.js';
import { RowBatchBuilder } from './row-batch.js';

const FIELDS: FieldSpec[] = [
  { name: 'id', type: { kind: 'long' }, required: true },
  { name: 'b', type: { kind: 'boolean' } }, { name: 'i', type: { kind: 'int' } }, { name: 'f', type: { kind: 'float' } },
  { name: 'd', type: { kind: 'double' } }, { name: 'dec9', type: { kind: 'decimal', precision: 9, scale: 2 } },
  { name: 'dec38', type: { kind: 'decimal', precision: 38, scale: 10 } }, { name: 'dt', type: { kind: 'date' } },
  { name: 't', type: { kind: 'time' } }, { name: 'ts', type: { kind: 'timestamp' } }, { name: 'tstz', type: { kind: 'timestamptz' } },
  { name: 'tsns', type: { kind: 'timestamp_ns' } }, { name: 's', type: { kind: 'string' } }, { name: 'u', type: { kind: 'uuid' } },
  { name: 'bin', type: { kind: 'binary' } },
  { name: 'st', type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'int' }, required: true }, { name: 'y', type: { kind: 'string' } }, { name: 'inner', type: { kind: 'struct', fields: [{ name: 'z', type: { kind: 'long' } }] } }] } },
  { name: 'tags', type: { kind: 'list', element: { kind: 'string' } } },
  { name: 'pts', type: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'double' }, required: true }, { name: 'y', type: { kind: 'long' } }] }, elementRequired: true } },
  { name: 'm', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'long' } } },
  { name: 'km', type: { kind: 'map', key: { kind: 'int' }, value: { kind: 'string' }, valueRequired: true } },
];
const N = 5000;
type Row = Record<string, unknown>;

const orNull = <T>(i: number, every: number, value: () => T): T | null => (i % every === 0 ? null : value());
const uuidOf = (i: number): string => Buffer.from(Uint8Array.from({ length: 16 }, (_, k) => (i * 31 + k * 7) & 0xff)).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

function row(i: number): Row {
  const r: Row = {
    id: BigInt(i),
    b: orNull(i, 7, () => i % 3 === 0),
    i: i === 1 ? 2147483647 : i === 2 ? -2147483648 : orNull(i, 11, () => ((i * 7919) % 20001) - 10000),
    f: orNull(i, 11, () => (i - 2500) / 8),
    d: orNull(i, 11, () => (i - 2500) * 1.1),
    dec9: orNull(i, 11, () => (i === 3 ? -999_999_999n : BigInt(((i * 37) % 200001) - 100000))),
    dec38: orNull(i, 11, () => (i % 2 ? BigInt(i - 2500) * 10n ** 30n + 7n : BigInt(i - 2500) * -(2n ** 52n))),
    dt: orNull(i, 11, () => i * 13 - 40000),
    t: orNull(i, 11, () => BigInt((i * 17_000_001) % 86_400_000_000)),
    ts: BigInt(i - 2500) * 1_000_000_007n,
    tstz: BigInt(i) * -86_400_000_001n + 10n,
    tsns: BigInt(i - 2500) * 1_000_000_000_123n,
    s: orNull(i, 11, () => [`short${i % 100}`, `a-longer-string-${i}-${'x'.repeat(i % 50)}`, `ünïcødé-${i} \u{1F600}`, ''][i % 4]!),
    u: orNull(i, 11, () => (i % 2 ? uuidOf(i) : uuidOf(i).toUpperCase())),
    bin: orNull(i, 11, () => Uint8Array.from({ length: i % 20 }, (_, k) => (i + k * 91) & 0xff)),
    st: i % 9 === 0 ? null : { x: i, y: i % 2 ? `y${i}` : null, inner: i % 5 === 0 ? null : { z: BigInt(-i) } },
    tags: orNull(i, 7, () => Array.from({ length: i % 4 }, (_, k) => (k === 1 ? null : `t${i % 5}-${k}`))),
    pts: orNull(i, 8, () => Array.from({ length: i % 3 }, (_, k) => ({ x: k + 0.5, y: k % 2 ? null : BigInt(i * k) }))),
    m: i % 6 === 0 ? null : i % 3 === 1 ? new Map([['a', BigInt(i)], ['b', null]]) : Object.fromEntries(Array.from({ length: i % 3 }, (_, k) => [`k${k}`, BigInt(k)])),
    km: orNull(i, 5, () => Array.from({ length: i % 3 }, (_, k) => ({ key: k - 1, value: `v${k}` }))),
  };
  if (i % 13 === 0) delete r.d; // a missing key is a null
  return r;
}

/** Bad variants of a row: each must be refused whole, naming the column and the value. */
const CORRUPTIONS: [Row, RegExp][] = [
  [{ id: 5.5 }, /^column "id" \(long\): expected a 64-bit integer \(bigint\), found 5\.5$/],
  [{ id: 2 ** 53 }, /^column "id" \(long\): expected a 64-bit integer \(bigint\), found 9007199254740992$/],
  [{ id: null }, /^column "id" is required \(long\), found null$/],
  [{ id: 1n << 63n }, /"id" .*found 9223372036854775808n/],
  [{ i: 2 ** 31 }, /^column "i" \(int\): expected a 32-bit integer \(number\), found 2147483648$/],
  [{ i: 1.5 }, /"i" .*found 1\.5/],
  [{ f: '1.5' }, /^column "f" \(float\): expected a number, found "1\.5"$/],
  [{ b: 1 }, /"b" \(boolean\): expected a boolean, found 1/],
  [{ dt: 5n }, /"dt" \(date\): expected days since 1970-01-01/],
  [{ dec9: 10n ** 9n }, /"dec9" \(decimal\(9, 2\)\): expected an unscaled bigint with at most 9 digits, found 1000000000n/],
  [{ dec38: 1.5 }, /"dec38" .*found 1\.5/],
  [{ t: 86_400_000_000n }, /"t" \(time\): expected microseconds since midnight/],
  [{ tstz: 5 }, /"tstz" \(timestamptz\): expected microseconds since 1970-01-01 00:00 \(bigint\), found 5/],
  [{ s: 12 }, /^column "s" \(string\): expected a string, found 12$/],
  [{ s: `abc\uD800${'x'.repeat(40)}` }, /"s" .*well-formed text/],
  [{ s: '\uDC00' }, /"s" .*well-formed text/],
  [{ u: 'not-a-uuid' }, /"u" \(uuid\): expected a UUID string/],
  [{ u: '123e4567-e89b-12d3-a456-42661417400g' }, /"u" \(uuid\)/],
  [{ u: '123e4567-e89b-12d3-a456-4266141740000' }, /"u" \(uuid\)/],
  [{ bin: 'abc' }, /"bin" \(binary\): expected a Uint8Array, found "abc"/],
  [{ st: 5 }, /^column "st" \(struct<.*>\): expected an object with fields x, y, inner, found 5$/],
  [{ st: [1] }, /"st" .*found an array of 1/],
  [{ st: { x: null } }, /^column "st\.x" is required \(int\), found null$/],
  [{ st: { x: 1, inner: { z: 1.5 } } }, /"st\.inner\.z" \(long\)/],
  [{ tags: 'a' }, /"tags" \(list<string>\): expected an array, found "a"/],
  [{ tags: ['a', 'b', 3] }, /^column "tags\.element" \(string\): expected a string, found 3$/],
  [{ pts: [{ x: 1 }, null] }, /"pts\.element" is required/],
  [{ pts: [{ x: 1, y: 1n }, { x: 2, y: 'no' }] }, /"pts\.element\.y" \(long\)/],
  [{ m: new Map<unknown, unknown>([['a', 1n], [null, 2n]]) }, /"m\.key" is required \(string\)/],
  [{ m: { a: 1n, b: 2.5 } }, /"m\.value" \(long\)/],
  [{ m: new Date(0) }, /"m" .*or a plain object, found an object \(Date\)/],
  [{ km: { a: 'x' } }, /"km" .*expected a Map or an array of \{key, value\}, found an object \(Object\)/],
  [{ km: [{ key: 1, value: 'a' }, 5] }, /"km" .*map entries as \{key, value\} objects, found 5/],
  [{ km: [{ key: 1, value: null }] }, /"km\.value" is required/],
];

const dirs: string[] = [];
after(async () => {
  await closeWriterDuckDB();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function writeAndRead(schema: Schema, batches: RecordBatch[]): Promise<{ flat: Row[]; nested: Row[]; schema: Schema }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-rows-'));
  dirs.push(dir);
  const catalog = new EmbeddedCatalog({ warehouse: `file://${dir}`, io: new LocalFileIO() });
  await catalog.createNamespace(['n']);
  const table = await catalog.createTable({ namespace: ['n'], name: 't' }, { schema });
  assert.deepEqual(currentSchema(table.metadata).fields, schema.fields);
  const writer = new TableWriter(table);
  for (const batch of batches) await writer.write(batch);
  const files = await writer.close();
  const source = `read_parquet([${files.map((f) => quoteLiteral(localPathOf(f.filePath))).join(', ')}])`;
  const { instance, connection } = await openDuckDB();
  try {
    const flat = (await connection.runAndReadAll(`SELECT id, b, i, f, d, dec9::VARCHAR AS dec9, dec38::VARCHAR AS dec38,
      (dt - DATE '1970-01-01')::INTEGER AS dt, epoch_us(DATE '1970-01-01' + t) AS t, epoch_us(ts) AS ts, epoch_us(tstz) AS tstz,
      epoch_ns(tsns) AS tsns, s, u::VARCHAR AS u, hex(bin) AS bin FROM ${source}`)).getRowObjectsJS() as Row[];
    const nested = (await connection.runAndReadAll(`SELECT st, tags, pts, m, km FROM ${source}`)).getRowObjectsJson() as Row[];
    return { flat, nested, schema };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const decimalText = (scale: number) => (v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  const n = v as bigint;
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
  return `${n < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
};
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
const entries = (v: unknown): unknown => {
  if (v === null) return null;
  const pairs = v instanceof Map ? [...v] : Array.isArray(v) ? v.map((e: { key: unknown; value: unknown }) => [e.key, e.value]) : Object.entries(v as object);
  return json(pairs.map(([key, value]) => ({ key, value })));
};

describe('RowBatchBuilder', () => {
  it('builds batches the writer writes: every type, nesting and nulls read back by DuckDB; refused rows leave no trace', async () => {
    const { schema } = buildSchema(FIELDS);
    const builder = new RowBatchBuilder(schema);
    const batches: RecordBatch[] = [];
    let refusedCount = 0;
    for (let i = 0; i < N; i++) {
      if (i % 37 === 0) {
        const [change, message] = CORRUPTIONS[refusedCount++ % CORRUPTIONS.length]!;
        assert.throws(() => builder.append({ ...row(i), ...change }), (e: unknown) => e instanceof DataInvalidError && message.test(e.message) && e.context.row === builder.length, String(message));
      }
      builder.append(row(i));
      if (i === 2999) batches.push(builder.build());
    }
    assert.ok(refusedCount >= CORRUPTIONS.length, 'every corruption was tried');
    assert.equal(builder.length, N - 3000);
    batches.push(builder.build());
    assert.deepEqual(batches.map((b) => b.numRows), [3000, N - 3000]);
    assert.deepEqual(batches[0]!.schema.fields, builder.arrowSchema.fields);

    const { flat, nested } = await writeAndRead(schema, batches);
    const rows = Array.from({ length: N }, (_, i) => row(i));
    const expected = (name: string, render: (v: unknown) => unknown = (v) => v ?? null): unknown[] => rows.map((r) => render(r[name]));
    const actual = (name: string): unknown[] => flat.map((r) => r[name]);
    for (const name of ['id', 'b', 'i', 'd', 't', 'ts', 'tstz', 'tsns', 's', 'dt']) assert.deepEqual(actual(name), expected(name), name);
    assert.deepEqual(actual('f'), expected('f', (v) => (v === null ? null : Math.fround(v as number))));
    assert.deepEqual(actual('dec9'), expected('dec9', decimalText(2)));
    assert.deepEqual(actual('dec38'), expected('dec38', decimalText(10)));
    assert.deepEqual(actual('u'), expected('u', (v) => (v === null ? null : (v as string).toLowerCase())));
    assert.deepEqual(actual('bin'), expected('bin', (v) => (v === null ? null : Buffer.from(v as Uint8Array).toString('hex').toUpperCase())));
    for (const name of ['st', 'tags', 'pts']) assert.deepEqual(nested.map((r) => r[name]), expected(name, json), name);
    for (const name of ['m', 'km']) assert.deepEqual(nested.map((r) => r[name]), expected(name, entries), name);
  });

  it('counts rows and bytes, starts empty after build() and builds empty batches', () => {
    const { schema } = buildSchema(FIELDS);
    const builder = new RowBatchBuilder(schema);
    assert.equal(builder.build().numRows, 0);
    for (let i = 0; i < 3000; i++) builder.append(row(i));
    assert.equal(builder.length, 3000);
    const bytes = builder.byteSize;
    const batch = builder.build();
    assert.ok(Math.abs(bytes - batch.data.byteLength) / batch.data.byteLength < 0.1, `byteSize ${bytes} ≈ Arrow's ${batch.data.byteLength}`);
    assert.equal(builder.length, 0);
    assert.ok(builder.byteSize < 100);
    assert.throws(() => builder.append(null as unknown as Row), /expected a row object, found null/);
  });

  it('takes rows as avro-codec decodes them (record instances, Buffers, Avro maps)', () => {
    const { schema } = buildSchema(FIELDS);
    const codec = avroCodec(icebergToAvro(schema, { name: 'Row' }));
    const forAvro = (r: Row): Row => ({
      ...r,
      d: r.d ?? null,
      bin: r.bin === null ? null : Buffer.from(r.bin as Uint8Array),
      m: r.m instanceof Map ? Object.fromEntries(r.m) : r.m,
      u: typeof r.u === 'string' ? r.u.toLowerCase() : null,
    });
    const direct = new RowBatchBuilder(schema);
    const decoded = new RowBatchBuilder(schema);
    for (let i = 0; i < 500; i++) {
      const avroRow = forAvro(row(i));
      direct.append(avroRow);
      decoded.append(codec.fromBuffer(codec.toBuffer(avroRow)) as Row);
    }
    sameData(decoded.build().data, direct.build().data, 'row');
  });
});

describe('RowBatchBuilder rowNames', () => {
  it('reads rows by their Avro names when asked (names Avro does not allow are sanitized)', () => {
    const { schema } = buildSchema([{ name: 'order id', type: { kind: 'int' }, required: true }, { name: 'st', type: { kind: 'struct', fields: [{ name: 'a-b', type: { kind: 'string' } }] } }]);
    const codec = avroCodec(icebergToAvro(schema, { name: 'Row' }));
    const decoded = codec.fromBuffer(codec.toBuffer({ order_x20id: 7, st: { a_x2Db: 'x' } })) as Row;
    const avro = new RowBatchBuilder(schema, { rowNames: 'avro' });
    avro.append(decoded);
    assert.deepEqual(avro.build().toArray().map((r) => JSON.parse(JSON.stringify(r)) as unknown), [{ 'order id': 7, st: { 'a-b': 'x' } }]);
    assert.throws(() => new RowBatchBuilder(schema).append(decoded), /column "order id" is required \(int\), found null$/);
  });
});

function sameData(a: Data, b: Data, where: string): void {
  assert.equal(a.length, b.length, `${where} length`);
  assert.equal(a.nullCount, b.nullCount, `${where} nullCount`);
  assert.deepEqual(a.values, b.values, `${where} values`);
  assert.deepEqual(a.valueOffsets, b.valueOffsets, `${where} offsets`);
  assert.equal(a.children.length, b.children.length, `${where} children`);
  a.children.forEach((child, i) => sameData(child, b.children[i]!, `${where}.${a.type.children[i]?.name ?? i}`));
}
