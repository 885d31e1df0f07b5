import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AvroRecordSchema } from './envelope.js';
import { LAST_FIELD_ID_ATTRIBUTE, withStableFieldIds } from './field-ids.js';

const v1: AvroRecordSchema = {
  type: 'record',
  name: 'Value',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'tags', type: ['null', { type: 'array', items: 'string' }], default: null },
    { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
  ],
};

const ids = (schema: AvroRecordSchema): unknown => JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === 'default' ? undefined : value)));

test('a first version gets top-down ids and records the last id handed out', () => {
  const annotated = withStableFieldIds(v1);
  const f = annotated.fields;
  assert.deepEqual(f.map((x) => x['field-id']), [1, 2, 4, 6]);
  assert.equal((f[1]!.type as [string, Record<string, unknown>])[1]['element-id'], 3);
  assert.equal(((f[2]!.type as { fields: { 'field-id': number }[] }).fields[0]!)['field-id'], 5);
  assert.deepEqual([(f[3]!.type as Record<string, unknown>)['key-id'], (f[3]!.type as Record<string, unknown>)['value-id']], [7, 8]);
  assert.equal(annotated[LAST_FIELD_ID_ATTRIBUTE], 8);
});

test('the next version keeps ids by name, follows aliases, and never reuses a dropped id', () => {
  const first = withStableFieldIds(v1);
  const v2: AvroRecordSchema = {
    type: 'record',
    name: 'Value',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'labels', aliases: ['tags'], type: ['null', { type: 'array', items: 'string' }], default: null },
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }] } },
      { name: 'note', type: ['null', 'string'], default: null },
    ],
  };
  const second = withStableFieldIds(v2, first);
  assert.deepEqual(second.fields.map((x) => x['field-id']), [1, 2, 4, 10]);
  assert.equal(((second.fields[2]!.type as { fields: { 'field-id': number }[] }).fields[1]!)['field-id'], 9);
  assert.equal(second[LAST_FIELD_ID_ATTRIBUTE], 10);
  // attrs (6, 7, 8) was dropped and tags renamed: going back to v1 gives both new ids (13 after tags' element 12).
  const third = withStableFieldIds(v1, second);
  assert.deepEqual(third.fields.map((x) => x['field-id']), [1, 11, 4, 13]);
  assert.deepEqual(ids(withStableFieldIds(third, third)), ids(third), 'annotating an annotated schema changes nothing');
});

test('a record type used twice is refused: its fields could not get their own ids', () => {
  const reused: AvroRecordSchema = {
    type: 'record',
    name: 'Value',
    fields: [
      { name: 'home', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] } },
      { name: 'work', type: 'Address' },
    ],
  };
  assert.throws(() => withStableFieldIds(reused), /record type "Address" is used a second time/);
});
