import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldSpec, Schema } from '../catalog/spec/schema.js';
import { buildSchema, indexByName } from '../catalog/spec/schema.js';
import { typeToString } from '../catalog/spec/types.js';
import { SchemaIncompatibleError } from '../shared/errors.js';
import { avroCodec } from './avro-codec.js';
import { avroToIceberg, icebergToAvro, sanitizeAvroName } from './avro-iceberg.js';
import type { AvroFieldSchema, AvroRecordSchema } from './envelope.js';
import { envelopeAvroSchema, rowSchemaOfEnvelope } from './envelope.js';
import { withStableFieldIds } from './field-ids.js';

const rec = (fields: AvroFieldSchema[], extra: Record<string, unknown> = {}): AvroRecordSchema => ({ type: 'record', name: 'Row', namespace: 'io.test', fields, ...extra });
const convert = (fields: AvroFieldSchema[], options: Parameters<typeof avroToIceberg>[1] = {}): Schema => avroToIceberg(rec(fields), options).schema;
const typeOf = (type: unknown): string => typeToString(convert([{ name: 'x', type }]).fields[0]!.type);
const refused = (fields: AvroFieldSchema[], message: RegExp): void => {
  assert.throws(() => convert(fields), (e: unknown) => e instanceof SchemaIncompatibleError && message.test(e.message), String(message));
};

describe('avroToIceberg: types', () => {
  it('maps every Avro type and logical type', () => {
    const cases: [unknown, string][] = [
      ['boolean', 'boolean'], ['int', 'int'], ['long', 'long'], ['float', 'float'], ['double', 'double'], ['string', 'string'],
      ['bytes', 'binary'], [{ type: 'string' }, 'string'],
      [{ type: 'enum', name: 'E', symbols: ['A', 'B'] }, 'string'],
      [{ type: 'fixed', name: 'F', size: 4 }, 'binary'],
      [{ type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' }, 'uuid'],
      [{ type: 'string', logicalType: 'uuid' }, 'uuid'],
      [{ type: 'int', logicalType: 'date' }, 'date'],
      [{ type: 'int', logicalType: 'time-millis' }, 'time'],
      [{ type: 'long', logicalType: 'time-micros' }, 'time'],
      [{ type: 'long', logicalType: 'timestamp-millis' }, 'timestamptz'],
      [{ type: 'long', logicalType: 'timestamp-micros' }, 'timestamptz'],
      [{ type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }, 'timestamptz'],
      [{ type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false }, 'timestamp'],
      [{ type: 'long', logicalType: 'timestamp-millis', 'adjust-to-utc': false }, 'timestamp'],
      [{ type: 'long', logicalType: 'local-timestamp-millis' }, 'timestamp'],
      [{ type: 'long', logicalType: 'local-timestamp-micros' }, 'timestamp'],
      [{ type: 'long', logicalType: 'timestamp-nanos' }, 'timestamptz_ns'],
      [{ type: 'long', logicalType: 'local-timestamp-nanos' }, 'timestamp_ns'],
      [{ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }, 'decimal(10, 2)'],
      [{ type: 'bytes', logicalType: 'decimal', precision: 38 }, 'decimal(38, 0)'],
      [{ type: 'fixed', name: 'D', size: 8, logicalType: 'decimal', precision: 18, scale: 4 }, 'decimal(18, 4)'],
      [{ type: 'fixed', name: 'Dur', size: 12, logicalType: 'duration' }, 'binary'],
      [{ type: 'string', logicalType: 'not-a-known-one' }, 'string'],
      [{ type: 'array', items: 'int' }, 'list<int>'],
      [{ type: 'map', values: 'long' }, 'map<string, long>'],
      [{ type: 'array', logicalType: 'map', items: { type: 'record', name: 'KV', fields: [{ name: 'key', type: 'int' }, { name: 'value', type: ['null', 'string'] }] } }, 'map<int, string>'],
      [{ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] }, 'struct<2: a: required int>'],
    ];
    for (const [avro, expected] of cases) assert.equal(typeOf(avro), expected, JSON.stringify(avro));
  });

  it('reads optional values from [null, T] unions in either order, and elements and map values likewise', () => {
    const s = convert([
      { name: 'a', type: ['null', 'int'], default: null },
      { name: 'b', type: ['int', 'null'] },
      { name: 'c', type: ['int'] },
      { name: 'd', type: 'int' },
      { name: 'l', type: { type: 'array', items: ['null', 'int'] } },
      { name: 'm', type: { type: 'map', values: ['null', 'long'] } },
    ]);
    assert.deepEqual(s.fields.map((f) => [f.name, f.required]), [['a', false], ['b', false], ['c', true], ['d', true], ['l', true], ['m', true]]);
    assert.deepEqual([s.fields[4]!.type, s.fields[5]!.type].map((t) => (t.kind === 'list' ? t.elementRequired : t.kind === 'map' ? t.valueRequired : undefined)), [false, false]);
  });

  it('refuses what Iceberg cannot hold, naming the field path and what was found', () => {
    const nested = (type: unknown): AvroFieldSchema[] => [{ name: 'a', type: { type: 'record', name: 'A', fields: [{ name: 'b', type }] } }];
    refused(nested(['null', 'int', 'string']), /field "a\.b": .*found the union \["null","int","string"\]: Iceberg has no union type/);
    refused(nested(['int', 'string']), /field "a\.b": .*union/);
    refused(nested('null'), /field "a\.b": type "null" alone/);
    refused([{ name: 'n', type: { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] } }], /field "n\.next": record io\.test\.Node contains itself/);
    refused(nested({ type: 'string', logicalType: 'date' }), /field "a\.b": logical type "date" applies to int, found it on string/);
    refused(nested({ type: 'fixed', name: 'F8', size: 8, logicalType: 'uuid' }), /"uuid" applies to string or fixed\(16\), found it on fixed\(8\)/);
    refused(nested({ type: 'int', logicalType: 'timestamp-micros' }), /applies to long, found it on int/);
    refused(nested({ type: 'bytes', logicalType: 'decimal', precision: 39, scale: 2 }), /decimal\(39, 2\) has more than 38 digits/);
    refused(nested({ type: 'bytes', logicalType: 'decimal', precision: 5, scale: 6 }), /scale must be an integer from 0 to the precision/);
    refused(nested({ type: 'fixed', name: 'F4', size: 4, logicalType: 'decimal', precision: 10 }), /precision 10 does not fit fixed\(4\)/);
    refused(nested('Nope'), /field "a\.b": unknown type name "Nope"/);
    refused(nested({ type: 'array', logicalType: 'map', items: 'int' }), /logicalType "map" needs an array of records/);
    refused(nested({ type: 'array', logicalType: 'map', items: { type: 'record', name: 'KV', fields: [{ name: 'key', type: ['null', 'int'] }, { name: 'value', type: 'int' }] } }), /field "a\.b\.key": map keys cannot be null/);
    refused([{ name: 'x', type: 'int', 'field-id': 'seven' }], /field "x": attribute "field-id" must be a non-negative integer/);
    refused([{ name: 'x', type: { type: 'fixed', name: 'F', size: 1 } }, { name: 'y', type: { type: 'fixed', name: 'F', size: 2 } }], /the name io\.test\.F is defined twice/);
    assert.throws(() => avroToIceberg({ type: 'enum' } as unknown as AvroRecordSchema), SchemaIncompatibleError);
  });

  it('resolves named types with Avro namespaces, later in the schema and from nested records', () => {
    const s = convert([
      { name: 'home', type: { type: 'record', name: 'Address', namespace: 'io.geo', fields: [{ name: 'city', type: 'string' }, { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A'] } }] } },
      { name: 'work', type: ['null', 'io.geo.Address'], default: null },
      { name: 'kind', type: 'io.geo.Kind' },
      { name: 'place', type: { type: 'record', name: 'Place', namespace: 'io.geo', fields: [{ name: 'k', type: 'Kind' }, { name: 'at', type: 'Address' }] } },
      { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
      { name: 'hash2', type: 'Hash' },
      { name: 'hash3', type: 'io.test.Hash' },
      { name: 'dotted', type: { type: 'record', name: 'x.y.Z', fields: [{ name: 'h', type: 'io.test.Hash' }, { name: 'self', type: ['null', { type: 'fixed', name: 'Q', size: 1 }] }] } },
      { name: 'q', type: 'x.y.Q' },
    ]);
    const names = [...indexByName(s).keys()];
    for (const path of ['home.city', 'home.kind', 'work.city', 'work.kind', 'kind', 'place.k', 'place.at.city', 'place.at.kind', 'hash2', 'hash3', 'dotted.h', 'q']) assert.ok(names.includes(path), path);
    assert.equal(s.fields.find((f) => f.name === 'work')?.required, false);
    assert.equal(new Set(indexByName(s).values()).size, names.length, 'every use of a named record gets its own ids');
  });

  it('reads a Debezium-style envelope and its row schema', () => {
    const value = rec([{ name: 'id', type: 'long' }, { name: 'note', type: ['null', 'string'], default: null }], { name: 'Value', namespace: 'dh.inventory.orders' });
    const envelope = envelopeAvroSchema(value);
    assert.deepEqual(convert(rowSchemaOfEnvelope(envelope, 'test').fields).fields.map((f) => f.name), ['id', 'note']);
    const whole = avroToIceberg(envelope).schema;
    assert.deepEqual(whole.fields.map((f) => f.name), ['before', 'after', 'source', 'op', 'ts_ms', 'unavailable_columns']);
    assert.equal(typeToString(whole.fields[1]!.type).replace(/\d+: /g, ''), 'struct<id: required long, note: optional string>');
  });
});

describe('avroToIceberg: field ids', () => {
  it('uses field-id, element-id and key-id/value-id attributes (and key/value field-ids of logical maps)', () => {
    const { schema, lastColumnId } = avroToIceberg(rec([
      { name: 'a', type: 'int', 'field-id': 5 },
      { name: 'l', type: { type: 'array', items: 'string', 'element-id': 9 }, 'field-id': 7 },
      { name: 'm', type: { type: 'map', values: 'long', 'key-id': 10, 'value-id': 11 }, 'field-id': 8 },
      { name: 'km', 'field-id': 12, type: { type: 'array', logicalType: 'map', 'element-id': 99, items: { type: 'record', name: 'k13_v14', fields: [{ name: 'key', type: 'int', 'field-id': 13 }, { name: 'value', type: 'int', 'field-id': 14 }] } } },
    ]));
    assert.deepEqual([...indexByName(schema)], [['a', 5], ['l', 7], ['l.element', 9], ['m', 8], ['m.key', 10], ['m.value', 11], ['km', 12], ['km.key', 13], ['km.value', 14]]);
    assert.equal(lastColumnId, 14);
  });

  it('keeps the ids of fields found by name (nested too) or alias in previous; new fields get ids above them', () => {
    const v1 = convert([
      { name: 'id', type: 'long' },
      { name: 'name', type: 'string' },
      { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'sku', type: 'string' }] } } },
      { name: 'attrs', type: { type: 'map', values: { type: 'record', name: 'Attr', fields: [{ name: 'v', type: 'string' }] } } },
    ]);
    const v2 = avroToIceberg(rec([
      { name: 'full_name', type: 'string', aliases: ['name'] },
      { name: 'attrs', type: { type: 'map', values: { type: 'record', name: 'Attr', fields: [{ name: 'v', type: 'string' }, { name: 'w', type: 'int' }] } } },
      { name: 'id', type: 'long' },
      { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'qty', type: 'int' }, { name: 'sku', type: 'string' }] } } },
      { name: 'added', type: 'int' },
    ]), { previous: v1 });
    const before = indexByName(v1);
    const after = indexByName(v2.schema);
    for (const path of ['id', 'items', 'items.element', 'items.element.sku', 'attrs', 'attrs.key', 'attrs.value', 'attrs.value.v']) assert.equal(after.get(path), before.get(path), path);
    assert.equal(after.get('full_name'), before.get('name'), 'an alias names the old field');
    const top = Math.max(...before.values());
    assert.deepEqual(['added', 'attrs.value.w', 'items.element.qty'].map((p) => after.get(p)).sort(), [top + 1, top + 2, top + 3].sort());
    assert.equal(v2.lastColumnId, top + 3);
    const later = avroToIceberg(rec([{ name: 'id', type: 'long' }, { name: 'fresh', type: 'int' }]), { previous: v1, lastColumnId: 40 });
    assert.deepEqual([...indexByName(later.schema)], [['id', 1], ['fresh', 41]], 'fresh ids start above the table\'s last-column-id');
  });

  it('an attribute id wins over a name match; duplicate attribute ids are refused', () => {
    const previous = convert([{ name: 'a', type: 'int' }, { name: 'b', type: 'int' }]);
    const s = convert([{ name: 'a', type: 'int' }, { name: 'c', type: 'int', 'field-id': 1 }], { previous });
    assert.deepEqual([...indexByName(s)], [['a', 3], ['c', 1]]);
    assert.throws(() => convert([{ name: 'a', type: 'int', 'field-id': 4 }, { name: 'b', type: { type: 'array', items: 'int', 'element-id': 4 } }]), /field id 4 is given to both "a" and "b\.element"/);
  });

  it('a named record used twice: its definition keeps its attribute ids, the reference gets its own', () => {
    const address = { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string', 'field-id': 2 }] };
    const s = convert([{ name: 'home', type: address, 'field-id': 1 }, { name: 'work', type: 'Address', 'field-id': 3 }]);
    assert.deepEqual([...indexByName(s)], [['home', 1], ['home.city', 2], ['work', 3], ['work.city', 4]]);
  });

  it('sets identifier fields by name; refuses ones Iceberg does not allow', () => {
    const s = convert([{ name: 'id', type: 'long' }, { name: 'k', type: { type: 'record', name: 'K', fields: [{ name: 'part', type: 'string' }] } }], { identifierFields: ['id', 'k.part'] });
    assert.deepEqual(s.identifierFieldIds, [1, 3]);
    assert.throws(() => convert([{ name: 'id', type: ['null', 'long'] }], { identifierFields: ['id'], where: 'topic t' }), (e: unknown) => e instanceof SchemaIncompatibleError && /topic t: identifier field "id" must be required/.test(e.message));
    assert.throws(() => convert([{ name: 'id', type: 'long' }], { identifierFields: ['nope'] }), /identifier field "nope" is not in the schema; fields: id/);
  });

  it('reads the ids withStableFieldIds writes, across versions', () => {
    const v1 = withStableFieldIds(rec([{ name: 'id', type: 'long' }, { name: 'tags', type: { type: 'array', items: 'string' } }]));
    const t1 = avroToIceberg(v1).schema;
    const v2 = withStableFieldIds(rec([{ name: 'tags', type: { type: 'array', items: 'string' } }, { name: 'id', type: 'long' }, { name: 'n', type: 'int' }]), v1);
    const t2 = avroToIceberg(v2, { previous: t1 }).schema;
    assert.deepEqual([...indexByName(t2)].sort(), [...indexByName(t1), ['n', 4]].sort());
  });
});

// ---- Iceberg → Avro ----

const EVERYTHING: FieldSpec[] = [
  { name: 'id', type: { kind: 'long' }, required: true, doc: 'the key' },
  { name: 'b', type: { kind: 'boolean' } }, { name: 'i', type: { kind: 'int' } }, { name: 'f', type: { kind: 'float' } },
  { name: 'd', type: { kind: 'double' } }, { name: 'dec', type: { kind: 'decimal', precision: 20, scale: 4 } },
  { name: 'dt', type: { kind: 'date' } }, { name: 't', type: { kind: 'time' } }, { name: 'ts', type: { kind: 'timestamp' } },
  { name: 'tstz', type: { kind: 'timestamptz' } }, { name: 'tsns', type: { kind: 'timestamp_ns' } }, { name: 'tstzns', type: { kind: 'timestamptz_ns' } },
  { name: 's', type: { kind: 'string' }, required: true }, { name: 'u', type: { kind: 'uuid' } }, { name: 'bin', type: { kind: 'binary' } },
  { name: 'st', type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'int' }, required: true }, { name: 'inner', type: { kind: 'struct', fields: [{ name: 'y', type: { kind: 'string' } }] } }] } },
  { name: 'pts', type: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'double' }, required: true }] }, elementRequired: true } },
  { name: 'nums', type: { kind: 'list', element: { kind: 'int' } } },
  { name: 'grid', type: { kind: 'list', element: { kind: 'list', element: { kind: 'long' }, elementRequired: true } }, required: true },
  { name: 'attrs', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'struct', fields: [{ name: 'v', type: { kind: 'string' } }] } } },
  { name: 'counts', type: { kind: 'map', key: { kind: 'int' }, value: { kind: 'long' }, valueRequired: true } },
  { name: 'by_day', type: { kind: 'map', key: { kind: 'date' }, value: { kind: 'list', element: { kind: 'string' } } } },
];

describe('icebergToAvro', () => {
  it('round-trips through avroToIceberg: every type, nesting, lists of structs, maps with any key', () => {
    const { schema, lastColumnId } = buildSchema([...EVERYTHING, { name: 'order id', type: { kind: 'string' } }, { name: '1st', type: { kind: 'int' } }], { identifierFields: ['id'] });
    const avro = icebergToAvro(schema, { name: 'Row', namespace: 'io.duckhouse.test' });
    const back = avroToIceberg(avro, { identifierFields: ['id'] });
    assert.deepEqual(back.schema, schema);
    assert.equal(back.lastColumnId, lastColumnId);
    avroCodec(avro); // avsc accepts it: names unique and valid
    assert.deepEqual(avro.fields.slice(-2).map((f) => [f.name, f['iceberg-field-name']]), [['order_x20id', 'order id'], ['_1st', '1st']]);
    assert.deepEqual(avro.fields.find((f) => f.name === 'tstz')?.type, ['null', { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }]);
    assert.deepEqual(avro.fields[0], { name: 'id', type: 'long', doc: 'the key', 'field-id': 1 });
  });

  it('writes fixed[L] as Avro fixed, which reads back as binary (the writer cannot write fixed)', () => {
    const { schema } = buildSchema([{ name: 'h', type: { kind: 'fixed', length: 8 } }]);
    const avro = icebergToAvro(schema, { name: 'R' });
    assert.deepEqual(avro.fields[0]?.type, ['null', { type: 'fixed', name: 'fixed1', size: 8 }]);
    assert.equal(typeToString(avroToIceberg(avro).schema.fields[0]!.type), 'binary');
  });

  it('sanitizes names as Iceberg does', () => {
    assert.deepEqual(['ok_1', '9lives', 'a-b', 'ünï', 'x y'].map(sanitizeAvroName), ['ok_1', '_9lives', 'a_x2Db', '_xFCn_xEF', 'x_x20y']);
  });

  it('its schemas carry values in the in-memory form through avroCodec', () => {
    const { schema } = buildSchema(EVERYTHING);
    const codec = avroCodec(icebergToAvro(schema, { name: 'Row', namespace: 'io.duckhouse.test' }));
    const full = {
      id: 1n, b: true, i: -5, f: 1.5, d: -2.25, dec: -123456789012345678n, dt: 19000, t: 3_600_000_001n, ts: -1n, tstz: 1_700_000_000_000_001n,
      tsns: 5n, tstzns: 1_700_000_000_000_000_001n, s: 'ünïcødé', u: '123e4567-e89b-12d3-a456-426614174000', bin: Buffer.from([0, 255]), // avsc takes Buffers only
      st: { x: 1, inner: { y: 'y' } }, pts: [{ x: 0.5 }, { x: -1 }], nums: [1, null, 3], grid: [[1n, 2n], []],
      attrs: { a: { v: 'x' }, b: null }, counts: [{ key: 1, value: 10n }, { key: -2, value: 0n }], by_day: [{ key: 18000, value: ['a', null] }],
    };
    const empty = { ...Object.fromEntries(Object.keys(full).map((k) => [k, null])), id: 2n, s: '', grid: [] };
    for (const row of [full, empty]) assert.deepEqual(plain(codec.fromBuffer(codec.toBuffer(row))), plain(row));
    assert.throws(() => codec.toBuffer({ ...full, bin: Uint8Array.of(1) }), /invalid/, 'avsc refuses a Uint8Array that is not a Buffer');
  });
});

/** avsc decodes records as class instances and bytes as Buffers; compare as plain objects and Uint8Arrays. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}
