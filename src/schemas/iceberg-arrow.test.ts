import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataType } from 'apache-arrow';
import * as A from 'apache-arrow';
import type { FieldSpec } from '../catalog/spec/schema.js';
import { buildSchema, indexById, indexByName } from '../catalog/spec/schema.js';
import { planVector } from '../catalog/writer/arrow-vectors.js';
import { SchemaIncompatibleError } from '../shared/errors.js';
import { ARROW_EXTENSION_NAME, ARROW_UUID, arrowToIceberg, icebergToArrow, PARQUET_FIELD_ID } from './iceberg-arrow.js';

const WRITABLE: FieldSpec[] = [
  { name: 'id', type: { kind: 'long' }, required: true },
  { name: 'b', type: { kind: 'boolean' } }, { name: 'i', type: { kind: 'int' } }, { name: 'f', type: { kind: 'float' } },
  { name: 'd', type: { kind: 'double' } }, { name: 'dec', type: { kind: 'decimal', precision: 20, scale: 4 } },
  { name: 'dt', type: { kind: 'date' } }, { name: 't', type: { kind: 'time' } }, { name: 'ts', type: { kind: 'timestamp' } },
  { name: 'tstz', type: { kind: 'timestamptz' } }, { name: 'tsns', type: { kind: 'timestamp_ns' } },
  { name: 's', type: { kind: 'string' } }, { name: 'u', type: { kind: 'uuid' } }, { name: 'bin', type: { kind: 'binary' } },
  { name: 'st', type: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'int' }, required: true }, { name: 'inner', type: { kind: 'struct', fields: [{ name: 'u', type: { kind: 'uuid' } }] } }] } },
  { name: 'pts', type: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'x', type: { kind: 'double' } }] }, elementRequired: true } },
  { name: 'm', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'list', element: { kind: 'int' } } } },
  { name: 'km', type: { kind: 'map', key: { kind: 'int' }, value: { kind: 'string' }, valueRequired: true } },
];

function fieldIds(fields: readonly A.Field[]): number[] {
  return fields.flatMap((f) => [Number(f.metadata.get(PARQUET_FIELD_ID)), ...fieldIds(childFields(f.type))]);
}
function childFields(type: DataType): A.Field[] {
  if (A.DataType.isMap(type)) return (type.children[0]!.type as A.Struct).children;
  return (type.children ?? []) as A.Field[];
}

describe('icebergToArrow', () => {
  it('gives the Arrow types the writer plans for, with every field id in PARQUET:field_id', () => {
    const { schema } = buildSchema(WRITABLE);
    const arrow = icebergToArrow(schema);
    schema.fields.forEach((f, i) => {
      const field = arrow.fields[i]!;
      assert.equal(field.name, f.name);
      assert.equal(field.nullable, !f.required);
      assert.doesNotThrow(() => planVector(f.type, field.type, f.name, f.required, true), f.name);
    });
    assert.deepEqual(fieldIds(arrow.fields).sort((a, b) => a - b), [...indexById(schema).keys()].sort((a, b) => a - b));
    const tstz = arrow.fields.find((f) => f.name === 'tstz')!.type as A.Timestamp;
    assert.equal(tstz.timezone, 'UTC');
    assert.equal(arrow.fields.find((f) => f.name === 'u')!.metadata.get(ARROW_EXTENSION_NAME), ARROW_UUID);
  });
});

describe('arrowToIceberg', () => {
  it('reverses icebergToArrow exactly, fixed[L], uuid and timestamptz_ns included', () => {
    const { schema, lastColumnId } = buildSchema([...WRITABLE, { name: 'h', type: { kind: 'fixed', length: 16 } }, { name: 'tzns', type: { kind: 'timestamptz_ns' } }], { identifierFields: ['id'] });
    const back = arrowToIceberg(icebergToArrow(schema), { identifierFields: ['id'] });
    assert.deepEqual(back.schema, schema);
    assert.equal(back.lastColumnId, lastColumnId);
  });

  it('assigns ids when the metadata has none: by name from previous, else fresh', () => {
    const plain = new A.Schema([
      new A.Field('id', new A.Int64(), false),
      new A.Field('tags', new A.List(new A.Field('item', new A.Utf8(), true)), true),
      new A.Field('at', new A.TimestampMicrosecond('Europe/Paris'), true),
      new A.Field('m', new A.Map_(new A.Field('entries', new A.Struct<{ key: A.Utf8; value: A.Decimal }>([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Decimal(2, 9, 64), true)]), false)), true),
    ]);
    const first = arrowToIceberg(plain);
    assert.deepEqual(Object.fromEntries(indexByName(first.schema)), { id: 1, tags: 2, at: 3, m: 4, 'tags.element': 5, 'm.key': 6, 'm.value': 7 });
    assert.equal(first.schema.fields[2]!.type.kind, 'timestamptz', 'any time zone means instants (UTC-based values)');
    const { schema: previous } = buildSchema([{ name: 'x', type: { kind: 'int' } }, { name: 'tags', type: { kind: 'list', element: { kind: 'string' } } }]);
    const second = arrowToIceberg(plain, { previous, lastColumnId: 10 });
    assert.deepEqual(Object.fromEntries(indexByName(second.schema)), { id: 11, tags: 2, at: 12, m: 13, 'tags.element': 3, 'm.key': 14, 'm.value': 15 });
  });

  it('refuses Arrow types with no Iceberg type the writer takes, naming the field and what to do', () => {
    const cases: [DataType, RegExp][] = [
      [new A.Int16(), /Int16 .*cast it to Int32/],
      [new A.Uint32(), /Uint32 .*cast it/],
      [new A.Float16(), /Float16 .*Float32 or Float64/],
      [new A.DateMillisecond(), /use DateDay/],
      [new A.TimeMillisecond(), /use TimeMicrosecond/],
      [new A.TimestampMillisecond(), /use microseconds/],
      [new A.LargeUtf8(), /as Utf8/],
      [new A.Dictionary(new A.Utf8(), new A.Int32()), /decode dictionaries/],
      [new A.LargeBinary(), /as Binary/],
      [new A.FixedSizeList(2, new A.Field('x', new A.Int32())), /as List/],
      [new A.Decimal(2, 40, 256), /at most 38 digits/],
      [new A.Null(), /Iceberg has no such type/],
    ];
    for (const [type, message] of cases) {
      const schema = new A.Schema([new A.Field('outer', new A.Struct([new A.Field('inner', type, true)]), true)]);
      assert.throws(() => arrowToIceberg(schema, { where: 'POST /ingest' }), (e: unknown) => e instanceof SchemaIncompatibleError && /^POST \/ingest, field "outer\.inner": Arrow /.test(e.message) && message.test(e.message), String(type));
    }
    const badUuid = new A.Schema([new A.Field('u', new A.FixedSizeBinary(8), true, new Map([[ARROW_EXTENSION_NAME, ARROW_UUID]]))]);
    assert.throws(() => arrowToIceberg(badUuid), /arrow\.uuid needs FixedSizeBinary\(16\)/);
    const badId = new A.Schema([new A.Field('x', new A.Int32(), true, new Map([[PARQUET_FIELD_ID, 'x1']]))]);
    assert.throws(() => arrowToIceberg(badId), /PARQUET:field_id must be a non-negative integer, found "x1"/);
  });
});
