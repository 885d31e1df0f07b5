import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PartitionSpec, SortOrder } from './partition-spec.js';
import {
  applyTransform,
  partitionKey,
  partitionOf,
  partitionPath,
  partitionSourceTypes,
  partitionSpecFromJson,
  partitionSpecToJson,
  partitionType,
  sameSpecFields,
  sortOrderFromJson,
  sortOrderToJson,
  transformApplies,
} from './partition-spec.js';
import { buildSchema } from './schema.js';
import type { Transform } from './transforms.js';
import { parseTransform } from './transforms.js';
import type { PrimitiveKind, PrimitiveType } from './types.js';
import { decimal, fixed, primitive } from './types.js';

const T = parseTransform;
const DAY_2017_11_16 = 17486;
const MICROS_2017_11_16T22_31_08 = 1_510_871_468_000_000n;

test('identity, void and null values', () => {
  assert.equal(applyTransform(T('identity'), primitive('string'), 'x'), 'x');
  assert.equal(applyTransform(T('identity'), primitive('long'), 5n), 5n);
  assert.equal(applyTransform(T('void'), primitive('long'), 5n), null);
  for (const t of ['identity', 'bucket[4]', 'truncate[2]', 'day', 'void']) {
    assert.equal(applyTransform(T(t), primitive('long'), null), null, `${t} of null`);
    assert.equal(applyTransform(T(t), primitive('long'), undefined), null, `${t} of undefined`);
  }
});

test('bucket[N] hashes by source type as the spec says', () => {
  assert.equal(applyTransform(T('bucket[16]'), primitive('int'), 34), 2017239379 % 16);
  assert.equal(applyTransform(T('bucket[16]'), primitive('long'), 34n), 2017239379 % 16, 'int and long hash alike');
  assert.equal(applyTransform(T('bucket[100]'), primitive('date'), DAY_2017_11_16), (-653330422 & 0x7fffffff) % 100);
  assert.equal(applyTransform(T('bucket[100]'), primitive('timestamptz'), MICROS_2017_11_16T22_31_08), (-2047944441 & 0x7fffffff) % 100);
  assert.equal(
    applyTransform(T('bucket[100]'), primitive('timestamp_ns'), MICROS_2017_11_16T22_31_08 * 1000n + 999n),
    (-2047944441 & 0x7fffffff) % 100,
    'nanosecond timestamps hash as their microseconds',
  );
  assert.equal(applyTransform(T('bucket[10]'), primitive('string'), 'iceberg'), 1210000089 % 10);
  assert.equal(applyTransform(T('bucket[10]'), decimal(9, 2), 1420n), (-500754589 & 0x7fffffff) % 10);
  assert.equal(applyTransform(T('bucket[10]'), primitive('uuid'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7'), 1488055340 % 10);
  assert.equal(applyTransform(T('bucket[10]'), fixed(4), Uint8Array.of(0, 1, 2, 3)), (-188683207 & 0x7fffffff) % 10);
});

test('truncate[W] floors negative numbers and cuts strings at code points', () => {
  assert.equal(applyTransform(T('truncate[10]'), primitive('int'), 1), 0);
  assert.equal(applyTransform(T('truncate[10]'), primitive('int'), -1), -10);
  assert.equal(applyTransform(T('truncate[10]'), primitive('int'), -10), -10);
  assert.equal(applyTransform(T('truncate[10]'), primitive('int'), -11), -20);
  assert.equal(applyTransform(T('truncate[10]'), primitive('long'), -1n), -10n);
  assert.equal(applyTransform(T('truncate[50]'), decimal(9, 2), 1065n), 1050n);
  assert.equal(applyTransform(T('truncate[50]'), decimal(9, 2), -1n), -50n, '-0.01 → -0.50');
  assert.equal(applyTransform(T('truncate[3]'), primitive('string'), 'iceberg'), 'ice');
  assert.equal(applyTransform(T('truncate[2]'), primitive('string'), '🦆é🦆'), '🦆é');
  assert.equal(applyTransform(T('truncate[5]'), primitive('string'), 'ab'), 'ab');
  assert.deepEqual(applyTransform(T('truncate[2]'), primitive('binary'), Uint8Array.of(1, 2, 3)), Uint8Array.of(1, 2));
});

test('year, month, day and hour of dates and timestamps (µs and ns), before and after 1970', () => {
  const date = primitive('date');
  assert.equal(applyTransform(T('year'), date, DAY_2017_11_16), 47);
  assert.equal(applyTransform(T('month'), date, DAY_2017_11_16), 574);
  assert.equal(applyTransform(T('day'), date, DAY_2017_11_16), DAY_2017_11_16);
  assert.equal(applyTransform(T('year'), date, -1), -1, '1969-12-31 is in year 1969');
  assert.equal(applyTransform(T('month'), date, -1), -1, '… and in month 1969-12');
  assert.equal(applyTransform(T('year'), date, -25567), -70, '1900-01-01');
  assert.equal(applyTransform(T('month'), date, -25567), -840);
  assert.equal(applyTransform(T('month'), date, -25568), -841, '1899-12-31');

  for (const kind of ['timestamp', 'timestamptz'] as const) {
    const ts = primitive(kind);
    assert.equal(applyTransform(T('year'), ts, MICROS_2017_11_16T22_31_08), 47);
    assert.equal(applyTransform(T('month'), ts, MICROS_2017_11_16T22_31_08), 574);
    assert.equal(applyTransform(T('day'), ts, MICROS_2017_11_16T22_31_08), DAY_2017_11_16);
    assert.equal(applyTransform(T('hour'), ts, MICROS_2017_11_16T22_31_08), DAY_2017_11_16 * 24 + 22);
    assert.equal(applyTransform(T('day'), ts, -1n), -1, 'one µs before 1970 is day -1');
    assert.equal(applyTransform(T('hour'), ts, -1n), -1);
    assert.equal(applyTransform(T('year'), ts, -1n), -1);
    assert.equal(applyTransform(T('month'), ts, -1n), -1);
    assert.equal(applyTransform(T('hour'), ts, -3_600_000_000n), -1, 'exactly one hour before is still hour -1');
    assert.equal(applyTransform(T('hour'), ts, -3_600_000_001n), -2);
  }
  for (const kind of ['timestamp_ns', 'timestamptz_ns'] as const) {
    const ns = primitive(kind);
    const value = MICROS_2017_11_16T22_31_08 * 1000n + 1n;
    assert.equal(applyTransform(T('year'), ns, value), 47);
    assert.equal(applyTransform(T('month'), ns, value), 574);
    assert.equal(applyTransform(T('day'), ns, value), DAY_2017_11_16);
    assert.equal(applyTransform(T('hour'), ns, value), DAY_2017_11_16 * 24 + 22);
    assert.equal(applyTransform(T('day'), ns, -1n), -1, 'one ns before 1970 is day -1');
    assert.equal(applyTransform(T('hour'), ns, -1n), -1);
    assert.equal(applyTransform(T('day'), ns, 86_400_000_000_000n - 1n), 0);
  }
});

test('transformApplies follows the spec\'s table of source types', () => {
  const kinds: PrimitiveType[] = [
    'boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns', 'string', 'uuid', 'binary',
  ].map((k) => primitive(k as Exclude<PrimitiveKind, 'decimal' | 'fixed'>)).concat([decimal(9, 2), fixed(4)]);
  const expected: Record<string, string[]> = {
    identity: kinds.map((k) => k.kind),
    void: kinds.map((k) => k.kind),
    'bucket[8]': ['int', 'long', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns', 'string', 'uuid', 'binary', 'decimal', 'fixed'],
    'truncate[4]': ['int', 'long', 'string', 'binary', 'decimal'],
    year: ['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'],
    month: ['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'],
    day: ['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'],
    hour: ['timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'],
  };
  for (const [transform, applies] of Object.entries(expected)) {
    assert.deepEqual(kinds.filter((k) => transformApplies(T(transform), k)).map((k) => k.kind), applies, transform);
  }
  const list = { kind: 'list', elementId: 2, elementRequired: false, element: primitive('int') } as const;
  assert.equal(transformApplies(T('identity'), list), false, 'nested types cannot be partition sources');
  assert.equal(transformApplies(T('void'), list), true);
});

const { schema: EVENTS } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'ts', type: primitive('timestamptz') },
  { name: 'name', type: primitive('string') },
  { name: 'd', type: primitive('date') },
  { name: 'amount', type: decimal(9, 2) },
  { name: 'blob', type: primitive('binary') },
]);

const spec = (fields: [sourceId: number, name: string, transform: string][], specId = 1): PartitionSpec => ({
  specId,
  fields: fields.map(([sourceId, name, transform], i) => ({ sourceId, fieldId: 1000 + i, name, transform: T(transform) })),
});

test('partitionPath renders human values as Java does and escapes them', () => {
  const s = spec([
    [2, 'ts_day', 'day'], [2, 'ts_hour', 'hour'], [2, 'ts_month', 'month'], [2, 'ts_year', 'year'], [1, 'id_bucket', 'bucket[16]'],
    [3, 'name', 'identity'], [4, 'd', 'identity'], [5, 'amount', 'truncate[50]'], [6, 'blob', 'identity'], [4, 'd_bucket', 'bucket[4]'],
  ]);
  const types = partitionSourceTypes(s, EVENTS);
  const values = partitionOf(s, types, (id) => ({ 1: 34n, 2: MICROS_2017_11_16T22_31_08, 3: 'a b/c', 4: -1, 5: -1n, 6: Uint8Array.of(0xfb, 0xff) })[id]);
  assert.equal(
    partitionPath(s, types, values),
    'ts_day=2017-11-16/ts_hour=2017-11-16-22/ts_month=2017-11/ts_year=2017/id_bucket=3/name=a%20b%2Fc/d=1969-12-31/amount=-0.50/blob=%2B%2F8%3D/d_bucket=' + String(values[9]),
  );
  assert.equal(partitionPath(spec([[2, 'ts_month', 'month'], [3, 'name', 'identity']]), [primitive('timestamptz'), primitive('string')], [-1, null]), 'ts_month=1969-12/name=null');
  assert.equal(partitionPath(spec([[5, 'amount', 'identity']]), [decimal(9, 2)], [5n]), 'amount=0.05');
  assert.equal(partitionPath(spec([[5, 'amount', 'identity']]), [decimal(9, 0)], [-42n]), 'amount=-42');
  assert.equal(partitionPath(spec([]), [], []), '');
});

test('partition types, source checks and keys', () => {
  const s = spec([[2, 'ts_day', 'day'], [1, 'id_bucket', 'bucket[16]'], [3, 'name', 'truncate[2]'], [2, 'ts_hour', 'hour']]);
  assert.deepEqual(partitionType(s, EVENTS), [
    { name: 'ts_day', fieldId: 1000, type: primitive('date') },
    { name: 'id_bucket', fieldId: 1001, type: primitive('int') },
    { name: 'name', fieldId: 1002, type: primitive('string') },
    { name: 'ts_hour', fieldId: 1003, type: primitive('int') },
  ]);
  assert.throws(() => partitionSourceTypes(spec([[99, 'x', 'identity']]), EVENTS), /partition field "x": source field id 99 is not in schema 0/);
  assert.throws(() => partitionSourceTypes(spec([[3, 'x', 'day']]), EVENTS), /partition field "x": day does not apply to string field "name"/);
  assert.equal(partitionKey([1n, 'a', Uint8Array.of(255), null]), '["1n","a","ff",null]');
  assert.notEqual(partitionKey([1n]), partitionKey([1]));
});

test('partition specs and sort orders round trip through JSON', () => {
  const s = spec([[2, 'ts_day', 'day'], [1, 'id_bucket', 'bucket[16]'], [3, 'name_trunc', 'truncate[4]'], [4, 'd_void', 'void']], 3);
  const json = partitionSpecToJson(s);
  assert.deepEqual(json, {
    'spec-id': 3,
    fields: [
      { 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' },
      { 'source-id': 1, 'field-id': 1001, name: 'id_bucket', transform: 'bucket[16]' },
      { 'source-id': 3, 'field-id': 1002, name: 'name_trunc', transform: 'truncate[4]' },
      { 'source-id': 4, 'field-id': 1003, name: 'd_void', transform: 'void' },
    ],
  });
  assert.deepEqual(partitionSpecFromJson(JSON.parse(JSON.stringify(json))), s);
  assert.ok(sameSpecFields(s, { ...s, specId: 9 }));
  assert.ok(!sameSpecFields(s, spec([[2, 'ts_day', 'hour']])));

  const order: SortOrder = {
    orderId: 2,
    fields: [
      { sourceId: 1, transform: T('identity'), direction: 'desc', nullOrder: 'nulls-last' },
      { sourceId: 2, transform: T('day'), direction: 'asc', nullOrder: 'nulls-first' },
    ],
  };
  const orderJson = sortOrderToJson(order);
  assert.deepEqual(orderJson.fields[0], { 'source-id': 1, transform: 'identity', direction: 'desc', 'null-order': 'nulls-last' });
  assert.deepEqual(sortOrderFromJson(JSON.parse(JSON.stringify(orderJson))), order);
});

test('v1 specs without field ids get ids from 1000 in order', () => {
  const parsed = partitionSpecFromJson({ fields: [{ 'source-id': 2, name: 'ts_day', transform: 'day' }, { 'source-id': 1, name: 'id_bucket', transform: 'bucket[4]' }] });
  assert.equal(parsed.specId, 0);
  assert.deepEqual(parsed.fields.map((f) => [f.fieldId, f.name, f.sourceId]), [[1000, 'ts_day', 2], [1001, 'id_bucket', 1]]);
  const transforms: Transform[] = parsed.fields.map((f) => f.transform);
  assert.deepEqual(transforms, [{ kind: 'day' }, { kind: 'bucket', n: 4 }]);
  assert.throws(() => partitionSpecFromJson({ fields: [{ name: 'x', transform: 'identity' }] }), /partition spec.fields\[0\]: source-id must be an integer, found undefined/);
  assert.throws(() => partitionSpecFromJson({ 'spec-id': 0 }), /partition spec: expected \{"spec-id", "fields": \[…\]\}/);
  assert.throws(() => partitionSpecFromJson({ fields: [{ 'source-id': 1, name: 'x', transform: 'zorder' }] }), /unknown partition transform "zorder"/);
});
