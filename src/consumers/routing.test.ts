import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionField } from '../catalog/spec/partition-spec.js';
import { partitionType } from '../catalog/spec/partition-spec.js';
import { buildSchema } from '../catalog/spec/schema.js';
import { newTableMetadata } from '../catalog/spec/table-update.js';
import { decimal, primitive } from '../catalog/spec/types.js';
import { DuckHouseError } from '../shared/errors.js';
import { parsePartitionSpec, partitionSpecsByTable, tableForTopic } from './routing.js';

const { schema } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'name', type: primitive('string') },
  { name: 'region', type: primitive('string') },
  { name: 'created_at', type: primitive('timestamptz') },
  { name: 'day_date', type: primitive('date') },
  { name: 'price', type: primitive('double') },
  { name: 'amount', type: decimal(10, 2) },
  { name: 'flag', type: primitive('boolean') },
  { name: 'order id', type: primitive('long') },
  { name: 'f(x)', type: primitive('int') },
  { name: 'a,b', type: primitive('string') },
  { name: 'addr', type: { kind: 'struct', fields: [{ name: 'zip', type: primitive('int') }] } },
], { identifierFields: ['id'] });
const idOf = (name: string): number => schema.fields.find((f) => f.name === name)!.id;

/** A config error whose message matches every pattern. */
function configError(...patterns: RegExp[]): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof DuckHouseError, String(error));
    assert.equal(error.kind, 'config');
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  };
}

const fieldsOf = (text: string): Omit<PartitionField, 'fieldId'>[] => parsePartitionSpec(text, schema).fields.map(({ sourceId, name, transform }) => ({ sourceId, name, transform }));

describe('tableForTopic', () => {
  it('maps <prefix>.<namespace>.<table> to namespace.table', () => {
    assert.deepEqual(tableForTopic('duckhouse.sales.orders', { prefix: 'duckhouse' }), { namespace: ['sales'], name: 'orders' });
    assert.deepEqual(tableForTopic('pg.public.users', { prefix: 'pg' }), { namespace: ['public'], name: 'users' }, 'Debezium\'s <topic.prefix>.<schema>.<table>');
    assert.deepEqual(tableForTopic('acme.prod.sales.orders', { prefix: 'acme.prod' }), { namespace: ['sales'], name: 'orders' }, 'a prefix with dots');
    assert.deepEqual(tableForTopic('duckhouse.sales-eu.order_lines', { prefix: 'duckhouse', tables: {} }), { namespace: ['sales-eu'], name: 'order_lines' });
  });

  it('lets an explicit mapping win over the naming rule', () => {
    const tables = { 'duckhouse.sales.orders': 'archive.orders_v2', legacy_orders: 'sales.orders', 'pg.x': 'a.b.c' };
    assert.deepEqual(tableForTopic('duckhouse.sales.orders', { prefix: 'duckhouse', tables }), { namespace: ['archive'], name: 'orders_v2' });
    assert.deepEqual(tableForTopic('legacy_orders', { prefix: 'duckhouse', tables }), { namespace: ['sales'], name: 'orders' });
    assert.deepEqual(tableForTopic('pg.x', { prefix: 'duckhouse', tables }), { namespace: ['a', 'b'], name: 'c' }, 'a multi-level namespace');
    assert.deepEqual(tableForTopic('duckhouse.sales.items', { prefix: 'duckhouse', tables }), { namespace: ['sales'], name: 'items' }, 'other topics still follow the rule');
    assert.throws(() => tableForTopic('legacy', { prefix: 'duckhouse', tables: { legacy: 'orders' } }), configError(/table name "orders" must be namespace\.table/));
  });

  it('refuses a topic it cannot map with a config error naming the topic and suggesting --table-map', () => {
    for (const topic of ['other.sales.orders', 'duckhouse.orders', 'duckhouse.a.b.c', 'duckhouse..orders', 'duckhouse.sales.', 'duckhouse', 'duckhousesales.orders.x', 'duckhouse.dlq']) {
      assert.throws(() => tableForTopic(topic, { prefix: 'duckhouse', tables: { 'duckhouse.x.y': 'a.b' } }), configError(
        new RegExp(`^topic "${topic.replace(/\./g, '\\.')}" does not name a table: expected "duckhouse\\.<namespace>\\.<table>"`),
        new RegExp(`--table-map ${topic.replace(/\./g, '\\.')}=<namespace>\\.<table>$`),
      ), topic);
    }
  });

  it('refuses topics named like Object.prototype members with the same config error', () => {
    for (const topic of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.throws(() => tableForTopic(topic, { prefix: 'duckhouse', tables: {} }), configError(/does not name a table/), topic);
    }
  });
});

describe('parsePartitionSpec', () => {
  it('parses transforms and bare columns with Iceberg\'s default field names and ids from 1000', () => {
    const spec = parsePartitionSpec('day(created_at), bucket(16, id), region', schema);
    assert.deepEqual(spec, {
      specId: 0,
      fields: [
        { sourceId: idOf('created_at'), fieldId: 1000, name: 'created_at_day', transform: { kind: 'day' } },
        { sourceId: idOf('id'), fieldId: 1001, name: 'id_bucket', transform: { kind: 'bucket', n: 16 } },
        { sourceId: idOf('region'), fieldId: 1002, name: 'region', transform: { kind: 'identity' } },
      ],
    });
    const metadata = newTableMetadata({ location: 'mem://t', tableUuid: 'u', schema, spec, nowMs: 0 });
    assert.deepEqual(partitionType(spec, schema).map((f) => f.name), ['created_at_day', 'id_bucket', 'region'], 'a spec the table accepts');
    assert.equal(metadata.lastPartitionId, 1002);
  });

  it('knows identity, year/month/day/hour (singular and plural), bucket and truncate, in any case', () => {
    assert.deepEqual(fieldsOf('identity(region)'), [{ sourceId: idOf('region'), name: 'region', transform: { kind: 'identity' } }]);
    for (const [text, name, kind] of [
      ['year(created_at)', 'created_at_year', 'year'], ['years(created_at)', 'created_at_year', 'year'],
      ['month(day_date)', 'day_date_month', 'month'], ['MONTHS(day_date)', 'day_date_month', 'month'],
      ['day(day_date)', 'day_date_day', 'day'], ['Days(created_at)', 'created_at_day', 'day'],
      ['hour(created_at)', 'created_at_hour', 'hour'], ['hours (created_at)', 'created_at_hour', 'hour'],
    ] as const) {
      const source = text.includes('day_date') ? 'day_date' : 'created_at';
      assert.deepEqual(fieldsOf(text), [{ sourceId: idOf(source), name, transform: { kind } }], text);
    }
    assert.deepEqual(fieldsOf('BUCKET( 8 ,name )'), [{ sourceId: idOf('name'), name: 'name_bucket', transform: { kind: 'bucket', n: 8 } }]);
    assert.deepEqual(fieldsOf('truncate(4, name), truncate(100, amount), truncate(10, id)'), [
      { sourceId: idOf('name'), name: 'name_trunc', transform: { kind: 'truncate', width: 4 } },
      { sourceId: idOf('amount'), name: 'amount_trunc', transform: { kind: 'truncate', width: 100 } },
      { sourceId: idOf('id'), name: 'id_trunc', transform: { kind: 'truncate', width: 10 } },
    ]);
  });

  it('takes quoted column names, with spaces or parentheses inside', () => {
    assert.deepEqual(fieldsOf('"order id"'), [{ sourceId: idOf('order id'), name: 'order id', transform: { kind: 'identity' } }]);
    assert.deepEqual(fieldsOf('bucket(4, "order id"), day("created_at")'), [
      { sourceId: idOf('order id'), name: 'order id_bucket', transform: { kind: 'bucket', n: 4 } },
      { sourceId: idOf('created_at'), name: 'created_at_day', transform: { kind: 'day' } },
    ]);
    assert.deepEqual(fieldsOf('"f(x)", bucket(2, "f(x)")'), [
      { sourceId: idOf('f(x)'), name: 'f(x)', transform: { kind: 'identity' } },
      { sourceId: idOf('f(x)'), name: 'f(x)_bucket', transform: { kind: 'bucket', n: 2 } },
    ]);
  });

  it('takes quoted column names with a comma inside', () => {
    assert.deepEqual(fieldsOf('"a,b", truncate(2, "a,b")'), [
      { sourceId: idOf('a,b'), name: 'a,b', transform: { kind: 'identity' } },
      { sourceId: idOf('a,b'), name: 'a,b_trunc', transform: { kind: 'truncate', width: 2 } },
    ]);
  });

  it('splits only on top-level commas and ignores empty items and whitespace', () => {
    assert.deepEqual(parsePartitionSpec(' , bucket( 16 , id ) ,truncate(4,name),, region ,', schema).fields.map((f) => [f.name, f.fieldId]), [['id_bucket', 1000], ['name_trunc', 1001], ['region', 1002]]);
    assert.deepEqual(parsePartitionSpec('', schema), { specId: 0, fields: [] });
    assert.deepEqual(parsePartitionSpec('  ', schema), { specId: 0, fields: [] });
    assert.throws(() => parsePartitionSpec('day(bucket(4, id))', schema), configError(/no top-level column "bucket\(4, id\)"/), 'a nested call is one argument');
  });

  it('refuses an unknown transform, naming the table, the item and what is expected', () => {
    assert.throws(() => parsePartitionSpec('region, week(created_at)', schema, 'sales.orders'), configError(
      /^partition spec of sales\.orders, item 2 "week\(created_at\)": unknown transform "week"; expected a column, year\|month\|day\|hour\(column\), bucket\(N, column\) or truncate\(W, column\)$/,
    ));
    assert.throws(() => parsePartitionSpec('void(region)', schema), configError(/^partition spec of table, item 1 "void\(region\)": unknown transform "void"/));
  });

  it('reports a transform named like an Object.prototype member as unknown', () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      assert.throws(() => parsePartitionSpec(`${name}(id)`, schema), configError(new RegExp(`unknown transform "${name}"`)), name);
    }
  });

  it('refuses the wrong number of arguments', () => {
    assert.throws(() => parsePartitionSpec('bucket(id)', schema), configError(/item 1 "bucket\(id\)": bucket takes 2 argument\(s\), found 1/));
    assert.throws(() => parsePartitionSpec('truncate(1, 2, name)', schema), configError(/truncate takes 2 argument\(s\), found 3/));
    assert.throws(() => parsePartitionSpec('day(created_at, id)', schema), configError(/day takes 1 argument\(s\), found 2/));
    assert.throws(() => parsePartitionSpec('day()', schema), configError(/day takes 1 argument\(s\), found 0/));
    assert.throws(() => parsePartitionSpec('identity(id, region)', schema), configError(/identity takes 1 argument\(s\), found 2/));
  });

  it('refuses a bucket count or width that is not a positive whole number', () => {
    for (const n of ['0', '-1', '1.5', 'x', '"16"']) {
      assert.throws(() => parsePartitionSpec(`bucket(${n}, id)`, schema), configError(new RegExp(`expected a positive whole number, found "${n.replace(/[.]/g, '\\.')}"`)), n);
    }
    assert.throws(() => parsePartitionSpec('truncate(0, name)', schema), configError(/expected a positive whole number, found "0"/));
  });

  it('refuses an unknown or nested column, listing the columns', () => {
    assert.throws(() => parsePartitionSpec('day(nope)', schema, 'a.b'), configError(/^partition spec of a\.b, item 1 "day\(nope\)": no top-level column "nope"; columns: id, name, region, created_at, /));
    assert.throws(() => parsePartitionSpec('addr.zip', schema), configError(/no top-level column "addr\.zip"/));
    assert.throws(() => parsePartitionSpec('Region', schema), configError(/no top-level column "Region"/), 'column names are case-sensitive');
    assert.throws(() => parsePartitionSpec('day(created_at', schema), configError(/no top-level column "day\(created_at"/), 'an unclosed call');
  });

  it('refuses a transform that does not apply to the column\'s type', () => {
    assert.throws(() => parsePartitionSpec('day(id)', schema), configError(/item 1 "day\(id\)": day does not apply to long column "id"/));
    assert.throws(() => parsePartitionSpec('hour(day_date)', schema), configError(/hour does not apply to date column "day_date"/));
    assert.throws(() => parsePartitionSpec('bucket(4, price)', schema), configError(/bucket\[4\] does not apply to double column "price"/));
    assert.throws(() => parsePartitionSpec('bucket(4, flag)', schema), configError(/bucket\[4\] does not apply to boolean column "flag"/));
    assert.throws(() => parsePartitionSpec('truncate(4, created_at)', schema), configError(/truncate\[4\] does not apply to timestamptz column "created_at"/));
    assert.throws(() => parsePartitionSpec('year(name)', schema), configError(/year does not apply to string column "name"/));
    assert.throws(() => parsePartitionSpec('addr', schema), configError(/identity does not apply to struct<.*zip.*> column "addr"/));
  });

  it('refuses two fields with the same name', () => {
    assert.throws(() => parsePartitionSpec('region, identity(region)', schema, 's.t'), configError(/^partition spec of s\.t has two fields named "region"$/));
    assert.throws(() => parsePartitionSpec('day(created_at), days(created_at)', schema), configError(/two fields named "created_at_day"/));
    assert.throws(() => parsePartitionSpec('bucket(16, id), bucket(8, id)', schema), configError(/two fields named "id_bucket"/));
  });
});

describe('partitionSpecsByTable', () => {
  it('maps each --partition-by item to its table, the spec text kept as given', () => {
    const specs = partitionSpecsByTable(['sales.orders=day(created_at),bucket(16,id)', ' a.b.c = region', 'x.y=a=b']);
    assert.deepEqual([...specs], [['sales.orders', 'day(created_at),bucket(16,id)'], ['a.b.c', ' region'], ['x.y', 'a=b']]);
    assert.deepEqual(partitionSpecsByTable([]), new Map());
  });

  it('lets a later item for the same table win', () => {
    assert.deepEqual([...partitionSpecsByTable(['s.t=day(a)', 's.t=hour(a)'])], [['s.t', 'hour(a)']]);
  });

  it('refuses items without a table or not namespace.table', () => {
    for (const item of ['sales.orders', '=day(created_at)', '']) {
      assert.throws(() => partitionSpecsByTable([item]), configError(
        new RegExp(`^--partition-by "${item.replace(/[.()]/g, '\\$&')}": expected <namespace>\\.<table>=<spec>, for example analytics\\.orders=day\\(created_at\\)$`),
      ), item);
    }
    assert.throws(() => partitionSpecsByTable(['orders=day(created_at)']), configError(/table name "orders" must be namespace\.table/));
    assert.throws(() => partitionSpecsByTable(['a..b=x']), configError(/not valid/));
  });
});
