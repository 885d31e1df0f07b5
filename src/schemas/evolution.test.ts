import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Schema } from '../catalog/spec/schema.js';
import { highestFieldId, indexByName } from '../catalog/spec/schema.js';
import { typeToString } from '../catalog/spec/types.js';
import { evolveSchema } from '../catalog/transaction/update-schema.js';
import { avroToIceberg } from './avro-iceberg.js';
import type { AvroFieldSchema } from './envelope.js';
import { planSchemaEvolution, schemaAccepts } from './evolution.js';
import { RowBatchBuilder } from './row-batch.js';

const rec = (name: string, fields: AvroFieldSchema[]): Record<string, unknown> => ({ type: 'record', name, fields });
const opt = (type: unknown): unknown => ['null', type];
const TABLE_FIELDS: AvroFieldSchema[] = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'qty', type: opt('int') },
  { name: 'price', type: opt('float') },
  { name: 'amount', type: opt({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }) },
  { name: 'big', type: opt('long') },
  { name: 'ratio', type: opt('double') },
  { name: 'addr', type: opt(rec('Addr', [{ name: 'street', type: 'string' }, { name: 'zip', type: opt('int') }])) },
  { name: 'tags', type: opt({ type: 'array', items: 'int' }) },
  { name: 'attrs', type: opt({ type: 'map', values: 'int' }) },
];
const TABLE = avroToIceberg({ type: 'record', name: 'Row', fields: TABLE_FIELDS }, { identifierFields: ['id'] }).schema;

/** The table's fields with some replaced (by name), removed (undefined) or appended. */
function incoming(changes: Record<string, AvroFieldSchema | undefined>, options: { identifierFields?: string[]; base?: Schema } = {}): Schema {
  const fields = TABLE_FIELDS.flatMap((f) => (f.name in changes ? (changes[f.name] ? [changes[f.name]!] : []) : [f]));
  for (const [name, field] of Object.entries(changes)) if (field && !TABLE_FIELDS.some((f) => f.name === name)) fields.push(field);
  return avroToIceberg({ type: 'record', name: 'Row', fields }, { previous: options.base ?? TABLE, identifierFields: options.identifierFields ?? ['id'] }).schema;
}
const plan = (next: Schema, table: Schema = TABLE): ReturnType<typeof planSchemaEvolution> => planSchemaEvolution(table, next);

/** Applies a plan as the commit would and checks the result takes the incoming rows. */
function applied(next: Schema, table: Schema = TABLE): Schema {
  const { changes, refusals } = plan(next, table);
  assert.deepEqual(refusals, []);
  const evolved = evolveSchema(table, highestFieldId(table), changes, table.schemaId + 1).schema;
  assert.deepEqual(schemaAccepts(evolved, next), []);
  return evolved;
}

describe('planSchemaEvolution', () => {
  it('plans nothing for the same schema', () => {
    assert.deepEqual(plan(incoming({})), { changes: [], refusals: [], notes: [] });
  });

  it('adds new fields (top level and inside a struct) as optional, noting required ones', () => {
    const next = incoming({ note: { name: 'note', type: 'string' }, addr: { name: 'addr', type: opt(rec('Addr', [{ name: 'street', type: 'string' }, { name: 'zip', type: opt('int') }, { name: 'city', type: opt('string') }])) } });
    const p = plan(next);
    assert.deepEqual(p.changes, [
      { op: 'add', field: { name: 'note', type: { kind: 'string' }, required: false } },
      { op: 'add', parent: 'addr', field: { name: 'city', type: { kind: 'string' }, required: false } },
    ], 'in the order of their incoming ids, so the table gives them the same ids');
    assert.deepEqual(p.notes, ['"note" is required in the incoming schema but is added as optional: rows written before have no value']);
    const evolved = applied(next);
    assert.equal(evolved.fields.at(-1)?.required, false);
  });

  it('keeps fields the incoming schema lacks, making required ones optional', () => {
    const next = incoming({ name: undefined, qty: undefined });
    const p = plan(next);
    assert.deepEqual(p.changes, [{ op: 'make-optional', name: 'name' }]);
    assert.deepEqual(p.notes, ['"name" is not in the incoming schema: the column stays and new rows write null', '"qty" is not in the incoming schema: the column stays and new rows write null']);
    assert.deepEqual(applied(next).fields.map((f) => f.name), TABLE.fields.map((f) => f.name));
  });

  it('promotes int→long, float→double and decimal precision (same scale)', () => {
    const next = incoming({
      qty: { name: 'qty', type: opt('long') },
      price: { name: 'price', type: opt('double') },
      amount: { name: 'amount', type: opt({ type: 'bytes', logicalType: 'decimal', precision: 14, scale: 2 }) },
      addr: { name: 'addr', type: opt(rec('Addr', [{ name: 'street', type: 'string' }, { name: 'zip', type: opt('long') }])) },
    });
    assert.deepEqual(plan(next).changes, [
      { op: 'update-type', name: 'qty', type: { kind: 'long' } },
      { op: 'update-type', name: 'price', type: { kind: 'double' } },
      { op: 'update-type', name: 'amount', type: { kind: 'decimal', precision: 14, scale: 2 } },
      { op: 'update-type', name: 'addr.zip', type: { kind: 'long' } },
    ]);
    applied(next);
  });

  it('required→optional makes the column optional; optional→required changes nothing', () => {
    const next = incoming({ name: { name: 'name', type: opt('string') }, qty: { name: 'qty', type: 'int' } });
    const p = plan(next);
    assert.deepEqual(p.changes, [{ op: 'make-optional', name: 'name' }]);
    assert.deepEqual(p.notes, ['"qty" is required in the incoming schema; it stays optional in the table']);
    applied(next);
  });

  it('renames fields whose id stayed (Avro aliases), nested ones and swapped names included', () => {
    const next = incoming({
      name: { name: 'full_name', type: 'string', aliases: ['name'] },
      addr: { name: 'address', aliases: ['addr'], type: opt(rec('Addr', [{ name: 'road', type: 'string', aliases: ['street'] }, { name: 'zip', type: opt('int') }])) },
    });
    const p = plan(next);
    assert.deepEqual(p.changes, [
      { op: 'rename', name: 'name', newName: 'full_name' },
      { op: 'rename', name: 'addr', newName: 'address' },
      { op: 'rename', name: 'address.street', newName: 'road' },
    ]);
    assert.equal(applied(next).fields.find((f) => f.name === 'address')?.id, TABLE.fields.find((f) => f.name === 'addr')?.id);
    const swapped = incoming({ qty: { name: 'big', type: opt('int'), aliases: ['qty'] }, big: { name: 'qty', type: opt('long'), aliases: ['big'] } }, { base: TABLE });
    // avroToIceberg matches by name before aliases, so give the ids explicitly to express a swap.
    const ids = new Map(TABLE.fields.map((f) => [f.name, f.id]));
    const swap: Schema = { ...swapped, fields: swapped.fields.map((f) => (f.name === 'big' ? { ...f, id: ids.get('qty')! } : f.name === 'qty' ? { ...f, id: ids.get('big')! } : f)) };
    assert.equal(plan(swap).changes.filter((c) => c.op === 'rename').length, 4, 'through temporary names');
    applied(swap);
  });

  it('refuses narrowing, decimal scale or precision loss and other type changes, saying path, from and to', () => {
    const cases: [Record<string, AvroFieldSchema>, string][] = [
      [{ big: { name: 'big', type: opt('int') } }, '"big": cannot change from long to int: narrowing would lose values already written'],
      [{ ratio: { name: 'ratio', type: opt('float') } }, '"ratio": cannot change from double to float: narrowing would lose values already written'],
      [{ amount: { name: 'amount', type: opt({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 3 }) } }, '"amount": cannot change from decimal(10, 2) to decimal(10, 3): a decimal\'s scale cannot change (values already written would change)'],
      [{ amount: { name: 'amount', type: opt({ type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 }) } }, '"amount": cannot change from decimal(10, 2) to decimal(9, 2): decimal precision can only grow'],
      [{ name: { name: 'name', type: 'int' } }, '"name": cannot change from string to int: Iceberg only promotes int→long, float→double and decimal(P,S)→decimal(P\',S) with P\'≥P'],
      [{ addr: { name: 'addr', type: opt('string') } }, '"addr": cannot change from struct to string: only primitive types can change, by promotion'],
      [{ tags: { name: 'tags', type: opt({ type: 'array', items: 'string' }) } }, '"tags.element": cannot change from int to string: Iceberg only promotes int→long, float→double and decimal(P,S)→decimal(P\',S) with P\'≥P'],
      [{ tags: { name: 'tags', type: opt({ type: 'map', values: 'int' }) } }, '"tags": cannot change from list<int> to map<string, int>: only primitive types can change, by promotion'],
      [{ attrs: { name: 'attrs', type: opt({ type: 'map', values: 'string' }) } }, '"attrs.value": cannot change from int to string: Iceberg only promotes int→long, float→double and decimal(P,S)→decimal(P\',S) with P\'≥P'],
    ];
    for (const [change, reason] of cases) assert.deepEqual(plan(incoming(change)).refusals, [reason], reason);
  });

  it('refuses a change of key columns, a key column going optional or missing, moved fields and reused names', () => {
    assert.deepEqual(plan(incoming({}, { identifierFields: ['name'] })).refusals, ['identifier fields (key columns) cannot change: the table has "id", the incoming schema has "name"']);
    assert.deepEqual(plan(incoming({}, { identifierFields: [] })).refusals, [], 'no key columns stated: the table\'s stay');
    assert.deepEqual(plan(incoming({ id: undefined }, { identifierFields: [] })).refusals, ['"id" is a key column: it cannot become optional (the incoming schema does not have it)']);
    assert.deepEqual(plan(incoming({ id: { name: 'id', type: opt('long') } }, { identifierFields: [] })).refusals, ['"id" is a key column: it cannot become optional (the incoming schema makes it optional)']);
    const zipId = indexByName(TABLE).get('addr.zip')!;
    const moved = incoming({ zip: { name: 'zip', type: opt('int'), 'field-id': zipId }, addr: { name: 'addr', type: opt(rec('Addr', [{ name: 'street', type: 'string' }])) } });
    assert.deepEqual(plan(moved).refusals, [`"zip": field id ${zipId} is "addr.zip" in the table; moving a field to another struct is not supported`]);
    const reused = incoming({ qty: { name: 'qty', type: opt('int'), 'field-id': 99 } });
    assert.match(plan(reused).refusals[0] ?? '', /^"qty": the incoming field \(id 99\) has the name of column id 3, which the incoming schema no longer has/);
  });

  it('plans changes inside list elements and map values (element/value paths)', () => {
    const next = incoming({ tags: { name: 'tags', type: opt({ type: 'array', items: opt('long') }) }, attrs: { name: 'attrs', type: opt({ type: 'map', values: opt('long') }) } });
    const p = plan(next);
    assert.deepEqual(p.changes.slice(0, 4), [
      { op: 'make-optional', name: 'tags.element' },
      { op: 'update-type', name: 'tags.element', type: { kind: 'long' } },
      { op: 'make-optional', name: 'attrs.value' },
      { op: 'update-type', name: 'attrs.value', type: { kind: 'long' } },
    ]);
    assert.deepEqual(p.refusals, [], 'update-schema carries out changes to list elements and map values');
  });

  it('applies changes inside list elements and map values', () => {
    applied(incoming({ tags: { name: 'tags', type: opt({ type: 'array', items: opt('long') }) }, attrs: { name: 'attrs', type: opt({ type: 'map', values: opt('long') }) } }));
  });

  it('a mixed change applied with evolveSchema takes the incoming rows (names and types, optionality aside)', () => {
    const lastColumnId = highestFieldId(TABLE);
    const next = incoming({
      name: { name: 'full_name', type: opt('string'), aliases: ['name'] },
      qty: { name: 'qty', type: 'long' },
      ratio: undefined,
      dims: { name: 'dims', 'field-id': lastColumnId + 1, type: rec('Dims', [
        { name: 'inner', 'field-id': lastColumnId + 2, type: rec('Inner', [{ name: 'x', type: 'int', 'field-id': lastColumnId + 3 }]) },
        { name: 'w', type: 'double', 'field-id': lastColumnId + 4 },
      ]) },
    });
    const p = plan(next);
    assert.deepEqual(p.refusals, []);
    assert.match(p.notes.at(-1) ?? '', /new fields get other ids in the table than in the incoming schema \("dims\.inner\.x" \d+ → \d+, "dims\.w" \d+ → \d+\)/);
    const evolved = applied(next);
    const shape = (s: Schema): string[] => s.fields.map((f) => `${f.name}: ${typeToString(f.type).replace(/\d+: /g, '').replace(/required |optional /g, '')}`);
    assert.deepEqual(shape(evolved).filter((f) => !f.startsWith('ratio')), shape(next));
    const builder = new RowBatchBuilder(evolved);
    builder.append({ id: 1n, full_name: 'x', qty: 5n, dims: { inner: { x: 1 }, w: 2.5 } });
    assert.equal(builder.build().numRows, 1);
  });
});
