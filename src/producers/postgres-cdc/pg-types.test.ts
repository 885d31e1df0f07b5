import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroCodec } from '../../schemas/avro-codec.js';
import { DataInvalidError } from '../../shared/errors.js';
import { PG_ARRAY_ELEMENT, PG_TYPE_OID, numericTypmod, valueCodec } from './pg-types.js';

/** atttypmod of numeric(p,s) as Postgres computes it. */
const typmod = (p: number, s: number): number => ((p << 16) | (s & 0x7ff)) + 4;

test('numeric typmod → precision/scale; decimal up to 38 digits, text otherwise', () => {
  assert.deepEqual(numericTypmod(typmod(12, 2)), { precision: 12, scale: 2 });
  assert.deepEqual(numericTypmod(typmod(5, -2)), { precision: 5, scale: -2 });
  assert.equal(numericTypmod(-1), undefined);
  assert.deepEqual(valueCodec(PG_TYPE_OID.numeric, typmod(12, 2)).avro, { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 });
  assert.equal(valueCodec(PG_TYPE_OID.numeric, typmod(38, 0)).describe, 'numeric(38,0) → decimal(38,0)');
  for (const [mod, why] of [[-1, 'unconstrained'], [typmod(39, 2), 'wider than 38'], [typmod(5, -2), 'negative scale'], [typmod(2, 4), 'scale > precision']] as const) {
    const codec = valueCodec(PG_TYPE_OID.numeric, mod);
    assert.equal(codec.avro, 'string', why);
    assert.equal(codec.parse('NaN'), 'NaN', `${why}: exact text, NaN included`);
  }
});

test('every mapped type: Avro type, parsed value, and a zero that encodes', () => {
  const cases: [number, number, string, unknown, unknown][] = [
    [PG_TYPE_OID.bool, -1, 't', true, 'boolean'],
    [PG_TYPE_OID.int2, -1, '-5', -5, 'int'],
    [PG_TYPE_OID.int4, -1, '42', 42, 'int'],
    [PG_TYPE_OID.int8, -1, '9007199254740993', 9007199254740993n, 'long'],
    [PG_TYPE_OID.float4, -1, '1.5', 1.5, 'float'],
    [PG_TYPE_OID.float8, -1, '0.1', 0.1, 'double'],
    [PG_TYPE_OID.numeric, typmod(10, 3), '-1.5', -1500n, { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 3 }],
    [PG_TYPE_OID.text, -1, 'hé', 'hé', 'string'],
    [PG_TYPE_OID.varchar, 14, 'x', 'x', 'string'],
    [PG_TYPE_OID.bpchar, 9, 'ab   ', 'ab   ', 'string'],
    [PG_TYPE_OID.jsonb, -1, '{"a": 1}', '{"a": 1}', 'string'],
    [PG_TYPE_OID.bytea, -1, '\\x0102', Buffer.from([1, 2]), 'bytes'],
    [PG_TYPE_OID.date, -1, '1970-01-02', 1, { type: 'int', logicalType: 'date' }],
    [PG_TYPE_OID.time, -1, '00:00:01', 1_000_000n, { type: 'long', logicalType: 'time-micros' }],
    [PG_TYPE_OID.timestamp, -1, '1970-01-01 00:00:01', 1_000_000n, { type: 'long', logicalType: 'local-timestamp-micros' }],
    [PG_TYPE_OID.timestamptz, -1, '1970-01-01 01:00:01+01', 1_000_000n, { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }],
    [PG_TYPE_OID.uuid, -1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', { type: 'string', logicalType: 'uuid' }],
    [1186, -1, '1 day 02:00:00', '1 day 02:00:00', 'string'], // interval
    [869, -1, '10.0.0.1/32', '10.0.0.1/32', 'string'], // inet
    [987654, -1, 'happy', 'happy', 'string'], // an enum or extension type
  ];
  for (const [oid, mod, text, value, avro] of cases) {
    const codec = valueCodec(oid, mod);
    assert.deepEqual(codec.avro, avro, `oid ${oid}`);
    assert.deepEqual(codec.parse(text), value, `oid ${oid}`);
    const record = avroCodec({ type: 'record', name: 'R', fields: [{ name: 'v', type: codec.avro }] });
    assert.deepEqual(record.fromBuffer(record.toBuffer({ v: codec.zero })).v, codec.zero, `zero of oid ${oid} round-trips`);
    assert.deepEqual(record.fromBuffer(record.toBuffer({ v: value })).v, value, `value of oid ${oid} round-trips`);
  }
});

test('arrays of mapped types → Avro arrays of nullable elements; element errors say which element', () => {
  const ints = valueCodec(1007, -1);
  assert.deepEqual(ints.avro, { type: 'array', items: ['null', 'int'] });
  assert.deepEqual(ints.parse('{1,NULL,-3}'), [1, null, -3]);
  assert.equal(ints.describe, 'int4[] → array<int>');
  const decimals = valueCodec(1231, typmod(6, 2));
  assert.deepEqual(decimals.parse('{1.50,NULL}'), [150n, null]);
  assert.deepEqual(valueCodec(1185, -1).parse('{"2024-01-02 03:04:05+00",NULL}'), [BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n, null]);
  assert.deepEqual(valueCodec(1001, -1).parse('{"\\\\x01ff"}'), [Buffer.from([1, 255])]);
  assert.deepEqual(valueCodec(1009, -1).parse('{"a,b",NULL,"NULL"}'), ['a,b', null, 'NULL']);
  assert.deepEqual(valueCodec(2951, -1).parse('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']);
  assert.throws(() => valueCodec(1185, -1).parse('{"2024-01-02 03:04:05+00",infinity}'), (e: unknown) => e instanceof DataInvalidError && /array element 2: .*infinity/.test(e.message));
  const record = avroCodec({ type: 'record', name: 'R', fields: [{ name: 'v', type: decimals.avro }] });
  assert.deepEqual(record.fromBuffer(record.toBuffer({ v: [150n, null] })).v, [150n, null]);
  for (const element of Object.values(PG_ARRAY_ELEMENT)) assert.ok(Number.isInteger(element));
});
