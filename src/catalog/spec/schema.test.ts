import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataInvalidError } from '../../shared/errors.js';
import type { Schema } from './schema.js';
import {
  buildSchema,
  findField,
  highestFieldId,
  indexById,
  indexByName,
  requireField,
  sameSchemaStructure,
  schemaFromJson,
  schemaToJson,
  validateSchema,
} from './schema.js';
import { decimal, fixed, primitive, typeFromJson, typeToJson } from './types.js';

const ORDERS = buildSchema(
  [
    { name: 'id', type: primitive('long'), required: true },
    {
      name: 'customer',
      type: { kind: 'struct', fields: [{ name: 'name', type: primitive('string') }, { name: 'email', type: primitive('string'), required: true }] },
      required: true,
    },
    { name: 'tags', type: { kind: 'list', element: primitive('string'), elementRequired: true } },
    { name: 'attrs', type: { kind: 'map', key: primitive('string'), value: { kind: 'struct', fields: [{ name: 'v', type: primitive('int') }] } } },
    { name: 'amount', type: decimal(9, 2), doc: 'order total' },
    { name: 'hash', type: fixed(16) },
  ],
  { identifierFields: ['id', 'customer.email'] },
);

test('buildSchema numbers top-level fields first, then nested ones depth first (as Java and PyIceberg do)', () => {
  const { schema, lastColumnId } = ORDERS;
  assert.deepEqual(schema.fields.map((f) => [f.name, f.id]), [['id', 1], ['customer', 2], ['tags', 3], ['attrs', 4], ['amount', 5], ['hash', 6]]);
  const customer = schema.fields[1]!.type;
  assert.ok(customer.kind === 'struct');
  assert.deepEqual(customer.fields.map((f) => [f.name, f.id]), [['name', 7], ['email', 8]]);
  const tags = schema.fields[2]!.type;
  assert.ok(tags.kind === 'list');
  assert.equal(tags.elementId, 9);
  assert.equal(tags.elementRequired, true);
  const attrs = schema.fields[3]!.type;
  assert.ok(attrs.kind === 'map');
  assert.deepEqual([attrs.keyId, attrs.valueId], [10, 11], 'key and value ids before the value\'s own fields');
  assert.ok(attrs.value.kind === 'struct');
  assert.equal(attrs.value.fields[0]!.id, 12);
  assert.equal(lastColumnId, 12);
  assert.equal(highestFieldId(schema), 12);
  assert.deepEqual(schema.identifierFieldIds, [1, 8]);
  assert.equal(schema.fields[4]!.doc, 'order total');
  assert.equal(schema.fields[4]!.required, false, 'fields are optional unless said otherwise');
});

test('buildSchema continues from nextId and sets the schema id', () => {
  const { schema, lastColumnId } = buildSchema([{ name: 'a', type: primitive('int') }, { name: 'b', type: { kind: 'list', element: primitive('int') } }], { nextId: 20, schemaId: 3 });
  assert.equal(schema.schemaId, 3);
  assert.deepEqual(schema.fields.map((f) => f.id), [20, 21]);
  assert.equal(lastColumnId, 22);
});

test('indexByName gives dotted names for nested fields, list elements and map keys and values', () => {
  const names = indexByName(ORDERS.schema);
  assert.deepEqual(Object.fromEntries(names), {
    id: 1,
    customer: 2,
    tags: 3,
    attrs: 4,
    amount: 5,
    hash: 6,
    'customer.name': 7,
    'customer.email': 8,
    'tags.element': 9,
    'attrs.key': 10,
    'attrs.value': 11,
    'attrs.value.v': 12,
  });
  const byId = indexById(ORDERS.schema);
  assert.equal(byId.get(12)?.path, 'attrs.value.v');
  assert.equal(byId.get(12)?.parentId, 11);
  assert.equal(byId.get(8)?.parentId, 2);
  assert.equal(byId.get(1)?.parentId, undefined);
  assert.equal(findField(ORDERS.schema, 'customer.email')?.id, 8);
  assert.equal(findField(ORDERS.schema, 10)?.name, 'key');
  assert.equal(findField(ORDERS.schema, 'nope'), undefined);
  assert.throws(() => requireField(ORDERS.schema, 'nope'), /schema 0 has no field "nope"; top-level fields: id, customer, tags/);
  assert.throws(() => requireField(ORDERS.schema, 99), /has no field with id 99/);
});

test('identifier fields must exist, be required primitives (not float/double) and not sit under a list, map or optional struct', () => {
  const build = (fields: Parameters<typeof buildSchema>[0], identifierFields: string[]): Schema => buildSchema(fields, { identifierFields }).schema;
  const expectError = (fn: () => unknown, message: RegExp): void => {
    assert.throws(fn, (error: unknown) => error instanceof MetadataInvalidError && message.test(error.message));
  };
  expectError(() => build([{ name: 'id', type: primitive('long') }], ['id']), /identifier field "id" must be required/);
  expectError(() => build([{ name: 'id', type: primitive('long'), required: true }], ['nope']), /identifier field "nope" is not in the schema/);
  expectError(() => build([{ name: 'x', type: primitive('double'), required: true }], ['x']), /identifier field "x" cannot be double/);
  expectError(() => build([{ name: 'x', type: primitive('float'), required: true }], ['x']), /identifier field "x" cannot be float/);
  expectError(
    () => build([{ name: 's', type: { kind: 'struct', fields: [{ name: 'a', type: primitive('int'), required: true }] }, required: true }], ['s']),
    /identifier field "s" must be a primitive, found struct/,
  );
  expectError(
    () => build([{ name: 'l', type: { kind: 'list', element: primitive('int'), elementRequired: true }, required: true }], ['l.element']),
    /identifier field "l.element" is nested in a list \("l"\)/,
  );
  expectError(
    () => build([{ name: 'l', type: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'a', type: primitive('int'), required: true }] }, elementRequired: true }, required: true }], ['l.element.a']),
    /identifier field "l.element.a" is nested in a list \("l"\)/,
  );
  expectError(
    () => build([{ name: 'm', type: { kind: 'map', key: primitive('string'), value: primitive('int') }, required: true }], ['m.key']),
    /identifier field "m.key" is nested in a map \("m"\)/,
  );
  expectError(
    () => build([{ name: 's', type: { kind: 'struct', fields: [{ name: 'a', type: primitive('int'), required: true }] } }], ['s.a']),
    /identifier field "s.a" is nested in optional field "s"/,
  );
  // Accepted: a required primitive in a chain of required structs.
  const ok = build([{ name: 's', type: { kind: 'struct', fields: [{ name: 'a', type: primitive('uuid'), required: true }] }, required: true }], ['s.a']);
  assert.deepEqual(ok.identifierFieldIds, [2]);
  expectError(
    () => schemaFromJson({ type: 'struct', 'schema-id': 4, 'identifier-field-ids': [7], fields: [{ id: 1, name: 'a', required: true, type: 'int' }] }),
    /^schema: identifier field id 7 is not in the schema$/,
  );
});

test('schema JSON round trips, with list, map, struct, decimal, fixed and identifier fields', () => {
  const json = schemaToJson({ ...ORDERS.schema, schemaId: 5 });
  assert.equal(json['schema-id'], 5);
  assert.deepEqual(json['identifier-field-ids'], [1, 8]);
  assert.equal(json.fields[4]!.type, 'decimal(9, 2)');
  assert.equal(json.fields[4]!.doc, 'order total');
  assert.equal(json.fields[5]!.type, 'fixed[16]');
  assert.deepEqual(json.fields[2]!.type, { type: 'list', 'element-id': 9, 'element-required': true, element: 'string' });
  assert.deepEqual(json.fields[3]!.type, {
    type: 'map',
    'key-id': 10,
    key: 'string',
    'value-id': 11,
    'value-required': false,
    value: { type: 'struct', fields: [{ id: 12, name: 'v', required: false, type: 'int' }] },
  });
  const back = schemaFromJson(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(back, { ...ORDERS.schema, schemaId: 5 });
  assert.ok(sameSchemaStructure(back, ORDERS.schema), 'the schema id does not matter for structure');
  assert.ok(!sameSchemaStructure(back, buildSchema([{ name: 'id', type: primitive('long'), required: true }]).schema));
  const noIdentifiers = schemaToJson(buildSchema([{ name: 'a', type: primitive('int') }]).schema);
  assert.equal('identifier-field-ids' in noIdentifiers, false, 'omitted when empty');
});

test('types parse the spec\'s spellings and reject unknown ones', () => {
  assert.deepEqual(typeFromJson('decimal(9,2)'), decimal(9, 2), 'with or without the space');
  assert.deepEqual(typeFromJson('decimal( 38 , 0 )'), decimal(38, 0));
  assert.deepEqual(typeFromJson('fixed[3]'), fixed(3));
  for (const kind of ['timestamp_ns', 'timestamptz_ns', 'uuid', 'time', 'binary'] as const) assert.deepEqual(typeFromJson(typeToJson(primitive(kind))), primitive(kind));
  assert.throws(() => typeFromJson('decimal(39,2)'), /decimal\(39,2\) is out of range/);
  assert.throws(() => typeFromJson('varchar'), /unknown type "varchar"/);
  assert.throws(() => typeFromJson({ type: 'set' }), /unknown nested type "set"/);
  assert.throws(() => typeFromJson({ type: 'list', 'element-id': 'x', 'element-required': true, element: 'int' }, 'f'), /^MetadataInvalidError: f.element-id: expected an integer, found "x"$/);
});

test('duplicate field ids and names are rejected, wherever the duplicate sits', () => {
  const field = (id: number, name: string, type: unknown = 'int'): unknown => ({ id, name, required: false, type });
  const parse = (fields: unknown[]): Schema => schemaFromJson({ type: 'struct', 'schema-id': 0, fields });
  assert.throws(() => parse([field(1, 'a'), field(1, 'b')]), /field id 1 is used twice \("a" and "b"\)/);
  assert.throws(
    () => parse([field(1, 'a'), field(2, 'l', { type: 'list', 'element-id': 1, 'element-required': false, element: 'int' })]),
    /field id 1 is used twice \("a" and "l.element"\)/,
  );
  assert.throws(
    () => parse([field(1, 'm', { type: 'map', 'key-id': 2, key: 'string', 'value-id': 2, 'value-required': false, value: 'int' })]),
    /field id 2 is used twice \("m.key" and "m.value"\)/,
  );
  assert.throws(
    () => parse([field(1, 's', { type: 'struct', fields: [field(2, 'x')] }), field(3, 'l', { type: 'list', 'element-id': 2, 'element-required': false, element: 'int' })]),
    /field id 2 is used twice \("s.x" and "l.element"\)/,
  );
  assert.throws(() => parse([field(1, 'a'), field(2, 'a')]), /name "a" is used by field ids 1 and 2/);
  assert.throws(() => validateSchema({ schemaId: 7, identifierFieldIds: [], fields: [{ id: 1, name: 'a', required: true, type: primitive('int') }, { id: 1, name: 'b', required: true, type: primitive('int') }] }), /schema 7: field id 1 is used twice/);
});
