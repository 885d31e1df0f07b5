import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withStableFieldIds } from '../../schemas/field-ids.js';
import { DataInvalidError, SchemaIncompatibleError } from '../../shared/errors.js';
import { PG_TYPE_OID } from './pg-types.js';
import { RowCodec, sameRowShape, type TableShape } from './row-schema.js';

const shape: TableShape = {
  columns: [
    { name: 'id', typeOid: PG_TYPE_OID.int4, typeMod: -1, notNull: true },
    { name: 'name', typeOid: PG_TYPE_OID.text, typeMod: -1, notNull: true },
    { name: 'note', typeOid: PG_TYPE_OID.text, typeMod: -1, notNull: false },
    { name: 'tags', typeOid: 1007, typeMod: -1, notNull: false },
  ],
  primaryKey: ['id'],
};

test('Value record: NOT NULL → T, nullable → ["null", T] default null; Key reuses the value ids', () => {
  const codec = new RowCodec(shape, 'public.t');
  const value = withStableFieldIds(codec.valueRecord('p.public.t'));
  assert.deepEqual(
    value.fields.map((f) => [f.name, f.type, f['field-id']]),
    [
      ['id', 'int', 1],
      ['name', 'string', 2],
      ['note', ['null', 'string'], 3],
      ['tags', ['null', { type: 'array', items: ['null', 'int'], 'element-id': 5 }], 4],
    ],
  );
  assert.equal(value.fields[2]?.default, null);
  const key = codec.keyRecord(value);
  assert.deepEqual(key.fields, [{ name: 'id', type: 'int', 'field-id': 1 }]);
  assert.equal(key.name, 'Key');
  assert.equal(key['duckhouse.last-field-id'], 1);
  // A value column added later leaves the key schema exactly as it was (same registry id, same partitioning).
  const wider = new RowCodec({ ...shape, columns: [...shape.columns, { name: 'extra', typeOid: PG_TYPE_OID.int8, typeMod: -1, notNull: false }] }, 'public.t');
  const widerValue = withStableFieldIds(wider.valueRecord('p.public.t'), value);
  assert.deepEqual(wider.keyRecord(widerValue), key);
  assert.equal(widerValue.fields.find((f) => f.name === 'extra')?.['field-id'], 6);
  assert.ok(!sameRowShape(widerValue, value));
  assert.ok(sameRowShape(withStableFieldIds(codec.valueRecord('p.public.t')), value));
  assert.notEqual(wider.shapeKey, codec.shapeKey);
});

test('a primary-key column is never nullable; names Avro refuses are sanitized and keep the Postgres name', () => {
  const codec = new RowCodec({ columns: [{ name: 'Order Id', typeOid: PG_TYPE_OID.int8, typeMod: -1, notNull: false }, { name: '1st', typeOid: PG_TYPE_OID.text, typeMod: -1, notNull: false }], primaryKey: ['Order Id'] }, 'public.t');
  const value = codec.valueRecord('ns');
  assert.deepEqual(value.fields[0], { name: 'Order_x20Id', type: 'long', 'iceberg-field-name': 'Order Id' });
  assert.equal(value.fields[1]?.name, '_1st');
  assert.deepEqual(codec.key({ 'Order Id': '7' }), { Order_x20Id: 7n });
  assert.throws(() => new RowCodec({ columns: [{ name: 'a b', typeOid: 25, typeMod: -1, notNull: false }, { name: 'a_x20b', typeOid: 25, typeMod: -1, notNull: false }], primaryKey: ['a b'] }, 't'), SchemaIncompatibleError);
  assert.throws(() => new RowCodec({ columns: shape.columns, primaryKey: [] }, 't'), SchemaIncompatibleError);
});

test('tuples: values not sent become null (or the zero of a NOT NULL column) and are listed; bad values name column and text', () => {
  const codec = new RowCodec(shape, 'public.t');
  assert.deepEqual(codec.row({ id: '1', name: 'a', note: null, tags: '{1,NULL}' }), { row: { id: 1, name: 'a', note: null, tags: [1, null] }, missing: [] });
  assert.deepEqual(codec.row({ id: '1', name: undefined, note: undefined, tags: null }), { row: { id: 1, name: '', note: null, tags: null }, missing: ['name', 'note'] });
  assert.throws(
    () => codec.row({ id: '1', name: 'a', note: null, tags: '{1,x}' }),
    (e: unknown) => e instanceof DataInvalidError && e.context.column === 'tags' && e.context.raw === '{1,x}' && /public\.t: column tags \(int4\[\] → array<int>\): array element 2/.test(e.message),
  );
  assert.throws(() => codec.row({ id: '1', name: null, note: null, tags: null }), (e: unknown) => e instanceof DataInvalidError && /NOT NULL/.test(e.message));
  assert.throws(() => codec.key({ name: 'a' }), (e: unknown) => e instanceof DataInvalidError && /primary-key column id/.test(e.message));
  assert.equal(codec.keyChanged({ id: '1' }, { id: '2', name: 'a' }), true);
  assert.equal(codec.keyChanged({ id: '1', name: 'x' }, { id: '1', name: 'a' }), false);
});
