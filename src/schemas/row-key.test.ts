import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { buildSchema } from '../catalog/spec/schema.js';
import type { Schema } from '../catalog/spec/schema.js';
import { decimal, primitive } from '../catalog/spec/types.js';
import { openDuckDB, quoteIdent } from '../shared/duckdb.js';
import { DataInvalidError } from '../shared/errors.js';
import type { KeyField } from './row-key.js';
import { duckdbKeyExpression, keyFieldsOf, keyValuesOf, rowKeyOf } from './row-key.js';

const key = (name: string, type: KeyField['type']): KeyField => ({ name, type });

describe('rowKeyOf', () => {
  it('gives each type its canonical text', () => {
    const cases: [KeyField['type'], unknown, string][] = [
      [primitive('int'), -42, '-42'],
      [primitive('long'), 9_007_199_254_740_993n, '9007199254740993'],
      [primitive('date'), -1, '-1'],
      [primitive('time'), 3_723_000_004n, '3723000004'],
      [primitive('timestamp'), -1_500_000n, '-1500000'],
      [primitive('timestamptz_ns'), 1_577_836_800_123_456_789n, '1577836800123456789'],
      [decimal(9, 2), -5n, '-5'],
      [primitive('boolean'), false, 'false'],
      [primitive('string'), 'ä "q" \\', 'ä "q" \\'],
      [primitive('uuid'), 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      [primitive('uuid'), Uint8Array.from([0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11]), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      [primitive('binary'), Uint8Array.from([0, 0xab, 0xff]), '00abff'],
      [{ kind: 'fixed', length: 2 }, new Uint8Array(Buffer.from([1, 2, 3]).subarray(1)), '0203'],
      [primitive('double'), 0.1, '0.1'],
      [primitive('double'), -0, '0'],
      [primitive('float'), Math.fround(0.1), '0.10000000149011612'],
    ];
    for (const [type, value, text] of cases) assert.equal(rowKeyOf({ k: value }, [key('k', type)]), text, `${type.kind} ${String(value)}`);
  });

  it('gives equal values the same text whether a long or int comes as number or bigint', () => {
    for (const [n, b] of [[0, 0n], [-0, 0n], [123, 123n], [-(2 ** 53), -(2n ** 53n)], [2 ** 60, 2n ** 60n]] as const) {
      assert.equal(rowKeyOf({ k: n }, [key('k', primitive('long'))]), rowKeyOf({ k: b }, [key('k', primitive('long'))]));
      assert.equal(rowKeyOf({ k: b }, [key('k', primitive('int'))]), String(b));
    }
  });

  it('joins several key fields as a JSON array of their texts', () => {
    const fields = [key('a', primitive('string')), key('b', primitive('long')), key('c', primitive('binary'))];
    assert.equal(rowKeyOf({ a: 'x"\\\n', b: 5, c: new Uint8Array([255]) }, fields), JSON.stringify(['x"\\\n', '5', 'ff']));
  });

  it('refuses a null, missing or mistyped key part, naming the column', () => {
    const fields = [key('id', primitive('long')), key('name', primitive('string'))];
    for (const row of [{ id: null, name: 'a' }, { name: 'a' }, { id: undefined, name: 'a' }]) {
      assert.throws(() => rowKeyOf(row, fields), (e: unknown) => e instanceof DataInvalidError && e.message === 'key column "id" is null');
    }
    assert.throws(() => rowKeyOf({ id: 1n }, fields), /key column "name" is null/);
    assert.throws(() => rowKeyOf({ id: 1.5, name: 'a' }, fields), /key column "id" \(long\): expected an integer/);
    assert.throws(() => rowKeyOf({ id: 1n, name: 5 }, fields), /key column "name" \(string\): expected a string, found 5/);
    assert.throws(() => rowKeyOf({ d: 5 }, [key('d', decimal(9, 2))]), /expected an unscaled bigint/);
    assert.throws(() => rowKeyOf({ u: 'nope' }, [key('u', primitive('uuid'))]), /expected a UUID/);
    assert.throws(() => rowKeyOf({}, []), DataInvalidError);
  });
});

describe('keyFieldsOf', () => {
  it('reads identifier-field-ids in order, top-level primitives only', () => {
    const { schema } = buildSchema([
      { name: 'a', type: primitive('string'), required: true },
      { name: 'b', type: primitive('long'), required: true },
      { name: 's', type: { kind: 'struct', fields: [{ name: 'x', type: primitive('int'), required: true }] }, required: true },
    ], { identifierFields: ['b', 'a'] });
    assert.deepEqual(keyFieldsOf(schema), [key('b', primitive('long')), key('a', primitive('string'))]);
    const nested: Schema = { ...schema, identifierFieldIds: [4] };
    assert.throws(() => keyFieldsOf(nested), (e: unknown) => e instanceof DataInvalidError && /nested key fields/.test(e.message));
    assert.throws(() => keyFieldsOf({ ...schema, identifierFieldIds: [3] }), /"s" must be a primitive, found struct/);
    assert.deepEqual(keyFieldsOf({ ...schema, identifierFieldIds: [] }), []);
  });
});

describe('duckdbKeyExpression', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  before(async () => ({ instance, connection } = await openDuckDB()));
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it('matches JSON.stringify for every Unicode scalar value in a composite key', async () => {
    const fields = [key('s', primitive('string')), key('n', primitive('int'))];
    const sql = `SELECT cp, ${duckdbKeyExpression(fields, quoteIdent)} FROM (
      SELECT cp, chr(cp::INTEGER) || 'x\\"' || chr(cp::INTEGER) AS s, 7 AS n FROM range(0, 1114112) t(cp) WHERE cp < 55296 OR cp > 57343)`;
    const rows = (await connection.runAndReadAll(sql)).getRows();
    assert.equal(rows.length, 1_112_064);
    let mismatches = 0;
    for (const [cp, text] of rows) {
      const ch = String.fromCodePoint(Number(cp));
      if (text !== rowKeyOf({ s: `${ch}x\\"${ch}`, n: 7 }, fields)) mismatches++;
    }
    assert.equal(mismatches, 0);
  });

  it('matches String(number) for doubles and floats', async () => {
    const values = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 1e-6, 1.2345678901234568e20, 1e20, 1.5e300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 63, 123.456, -2.5e-8];
    const bits = new BigUint64Array(1);
    const doubles = new Float64Array(bits.buffer);
    let seed = 12345n;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
      bits[0] = seed;
      values.push(doubles[0]!, Number(seed % 1_000_000n) / 10 ** Number(seed % 13n));
    }
    const list = values.map((v) => (Number.isNaN(v) ? "'nan'::DOUBLE" : v === Infinity ? "'inf'::DOUBLE" : v === -Infinity ? "'-inf'::DOUBLE" : `${Object.is(v, -0) ? '-0.0' : v.toExponential(16)}::DOUBLE`));
    for (const [type, cast] of [['double', 'DOUBLE'], ['float', 'FLOAT']] as const) {
      const fields = [key('v', primitive(type))];
      // Values a float cannot hold are left out of the float run (DuckDB refuses the cast).
      const keep = `${type === 'float' ? 'WHERE NOT (abs(l[i]) > 3.4028234663852886e38 AND isfinite(l[i]))' : ''}`;
      const rows = (await connection.runAndReadAll(`SELECT i, ${duckdbKeyExpression(fields, quoteIdent)} FROM (SELECT i, CAST(l[i] AS ${cast}) AS v FROM (SELECT [${list.join(', ')}] AS l), range(1, ${values.length + 1}) r(i) ${keep})`)).getRows();
      assert.ok(rows.length > values.length * 0.6, `${type}: ${rows.length} values compared`);
      for (const [i, text] of rows) {
        const v = values[Number(i) - 1]!;
        assert.equal(text, rowKeyOf({ v: type === 'float' ? Math.fround(v) : v }, fields), `${type} ${v}`);
      }
    }
  });

  it('matches rowKeyOf for each type as the writer stores it', async () => {
    const cases: [KeyField['type'], string, unknown][] = [
      [primitive('int'), 'CAST(-7 AS INTEGER)', -7],
      [primitive('long'), 'CAST(-9223372036854775808 AS BIGINT)', -(2n ** 63n)],
      [primitive('long'), 'CAST(5 AS INTEGER)', 5n],
      [decimal(9, 2), 'CAST(-0.05 AS DECIMAL(9,2))', -5n],
      [decimal(9, 2), 'CAST(0 AS DECIMAL(9,2))', 0n],
      [decimal(38, 10), "CAST('-1234567890123456789012345678.0123456789' AS DECIMAL(38,10))", -12345678901234567890123456780123456789n],
      [decimal(5, 0), 'CAST(99999 AS DECIMAL(5,0))', 99999n],
      [primitive('date'), "DATE '1969-12-31'", -1],
      [primitive('time'), "TIME '23:59:59.999999'", 86_399_999_999n],
      [primitive('timestamp'), "TIMESTAMP '1969-12-31 23:59:59.999999'", -1n],
      [primitive('timestamptz'), "TIMESTAMPTZ '2020-01-01 00:00:00.123456+00'", 1_577_836_800_123_456n],
      [primitive('timestamp_ns'), "TIMESTAMP_NS '2020-01-01 00:00:00.123456789'", 1_577_836_800_123_456_789n],
      [primitive('boolean'), 'true', true],
      [primitive('uuid'), "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID", 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      [primitive('binary'), "'\\x00\\xAB\\xff'::BLOB", Uint8Array.from([0, 0xab, 0xff])],
      [primitive('binary'), "''::BLOB", new Uint8Array()],
    ];
    for (const [type, literal, value] of cases) {
      const fields = [key('k', type)];
      const [[single]] = (await connection.runAndReadAll(`SELECT ${duckdbKeyExpression(fields, quoteIdent)} FROM (SELECT ${literal} AS k)`)).getRows() as [[unknown]];
      assert.equal(single, rowKeyOf({ k: value }, fields), `${type.kind} ${literal}`);
      const pair = [key('k', type), key('s', primitive('string'))];
      const [[composite]] = (await connection.runAndReadAll(`SELECT ${duckdbKeyExpression(pair, quoteIdent)} FROM (SELECT ${literal} AS k, 'é"' AS s)`)).getRows() as [[unknown]];
      assert.equal(composite, rowKeyOf({ k: value, s: 'é"' }, pair), `${type.kind} ${literal} in a composite key`);
    }
    const [[nullKey]] = (await connection.runAndReadAll(`SELECT ${duckdbKeyExpression([key('a', primitive('int')), key('b', primitive('string'))], quoteIdent)} FROM (SELECT 1 AS a, NULL::VARCHAR AS b)`)).getRows() as [[unknown]];
    assert.equal(nullKey, null, 'a null key part makes the whole key NULL');
  });
});

describe('keyValuesOf', () => {
  it('gives back the key columns rowKeyOf read, for every key type and composite keys', () => {
    const fields: KeyField[] = [
      { name: 'i', type: primitive('int') },
      { name: 'l', type: primitive('long') },
      { name: 's', type: primitive('string') },
      { name: 'u', type: primitive('uuid') },
      { name: 'd', type: decimal(10, 2) },
      { name: 'b', type: primitive('boolean') },
      { name: 't', type: primitive('timestamptz') },
      { name: 'x', type: primitive('binary') },
    ];
    const row = { i: -5, l: 2n ** 60n, s: 'a "b", \\ c', u: '123e4567-e89b-12d3-a456-426614174000', d: -12345n, b: false, t: -1n, x: new Uint8Array([0, 255, 16]) };
    assert.deepEqual(keyValuesOf(rowKeyOf(row, fields), fields), row);
    for (const field of fields) assert.deepEqual(keyValuesOf(rowKeyOf(row, [field]), [field]), { [field.name]: row[field.name as keyof typeof row] });
  });
});
