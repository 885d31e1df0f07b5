import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PrimitiveType } from '../catalog/spec/types.js';
import { ColumnSample, textParser } from './text-values.js';

const parse = (type: PrimitiveType, text: string): unknown => {
  const result = textParser(type)(text);
  return result.ok ? result.value : `ERR ${result.reason}`;
};

test('integers: exact, range-checked, never wrapped', () => {
  assert.equal(parse({ kind: 'int' }, '-2147483648'), -2147483648);
  assert.match(String(parse({ kind: 'int' }, '2147483648')), /does not fit int/);
  assert.equal(parse({ kind: 'long' }, '9223372036854775807'), 9223372036854775807n);
  assert.match(String(parse({ kind: 'long' }, '9223372036854775808')), /does not fit long/);
  assert.match(String(parse({ kind: 'long' }, '1.0')), /not an integer/);
  assert.match(String(parse({ kind: 'int' }, ' 1')), /not an integer/);
});

test('decimals: unscaled bigint, padded scale, extra digits refused unless zeros', () => {
  const d = { kind: 'decimal', precision: 6, scale: 2 } as const;
  assert.equal(parse(d, '1234.5'), 123450n);
  assert.equal(parse(d, '-.5'), -50n);
  assert.equal(parse(d, '1.230'), 123n);
  assert.match(String(parse(d, '1.234')), /3 decimal places, decimal\(6, 2\) allows 2/);
  assert.match(String(parse(d, '12345.00')), /more than 4 digits before the point/);
  assert.match(String(parse(d, '.')), /not a decimal/);
  assert.match(String(parse(d, '1e3')), /not a decimal/);
});

test('dates, times and timestamps: microseconds, zones applied, no silent truncation', () => {
  assert.equal(parse({ kind: 'date' }, '1970-01-01'), 0);
  assert.equal(parse({ kind: 'date' }, '1969-12-31'), -1);
  assert.equal(parse({ kind: 'date' }, '2024-02-29'), 19782);
  assert.match(String(parse({ kind: 'date' }, '2023-02-29')), /not a date/);
  assert.equal(parse({ kind: 'date' }, '0099-01-01'), -683368, 'year 99 is year 99, not 1999 (a Date.UTC quirk)');
  assert.equal(parse({ kind: 'date' }, '2000-02-29'), 11016);
  assert.equal(parse({ kind: 'time' }, '00:00:01.5'), 1_500_000n);
  assert.match(String(parse({ kind: 'time' }, '24:00:00')), /not a valid time/);
  assert.equal(parse({ kind: 'timestamptz' }, '1970-01-01T00:00:00.000001Z'), 1n);
  assert.equal(parse({ kind: 'timestamptz' }, '1970-01-01 01:00:00+01:00'), 0n);
  assert.equal(parse({ kind: 'timestamptz' }, '1970-01-01T00:00:00-0130'), 5_400_000_000n);
  assert.equal(parse({ kind: 'timestamptz' }, '1969-12-31T23:59:59.999999Z'), -1n);
  assert.equal(parse({ kind: 'timestamp' }, '2024-01-02 03:04'), 1704164640000000n);
  assert.equal(parse({ kind: 'timestamptz' }, '2024-01-01T00:00:00.123456000Z'), 1704067200123456n);
  assert.match(String(parse({ kind: 'timestamptz' }, '2024-01-01T00:00:00.1234567Z')), /sub-microsecond/);
  assert.match(String(parse({ kind: 'timestamptz' }, '2024-01-01T00:00:00')), /no time zone/);
  assert.match(String(parse({ kind: 'timestamp' }, '2024-01-01T00:00:00Z')), /has a time zone/);
});

test('booleans, floats, uuids, binary and strings', () => {
  assert.deepEqual(['TRUE', 'f', 'Yes', '0'].map((t) => parse({ kind: 'boolean' }, t)), [true, false, true, false]);
  assert.match(String(parse({ kind: 'boolean' }, 'maybe')), /not a boolean/);
  assert.deepEqual(['1.5e3', '-0.25', 'Infinity'].map((t) => parse({ kind: 'double' }, t)), [1500, -0.25, Infinity]);
  assert.ok(Number.isNaN(parse({ kind: 'double' }, 'NaN')));
  assert.match(String(parse({ kind: 'double' }, '1,5')), /not a number/);
  assert.equal(parse({ kind: 'uuid' }, '0D9C1A2E-5E4F-4A5B-8C7D-6E5F4A3B2C1D'), '0d9c1a2e-5e4f-4a5b-8c7d-6e5f4a3b2c1d');
  assert.deepEqual(parse({ kind: 'binary' }, 'aGk='), Buffer.from('hi'));
  assert.match(String(parse({ kind: 'binary' }, 'aGk')), /not base64/);
  assert.equal(parse({ kind: 'string' }, ' as is '), ' as is ');
});

test('inference picks the narrowest type holding every sampled value, and safe widths when the sample is partial', () => {
  const infer = (values: (string | null)[], wholeFile = true): PrimitiveType => {
    const sample = new ColumnSample();
    for (const v of values) sample.add(v);
    return sample.inferType(wholeFile);
  };
  assert.deepEqual(infer(['1', '-2', null]), { kind: 'int' });
  assert.deepEqual(infer(['1', '-2'], false), { kind: 'long' }, 'later rows may not fit int');
  assert.deepEqual(infer(['1', '3000000000']), { kind: 'long' });
  assert.deepEqual(infer(['1.50', '20', '-0.125']), { kind: 'decimal', precision: 5, scale: 3 });
  assert.deepEqual(infer(['1.50', '20'], false), { kind: 'decimal', precision: 38, scale: 2 });
  assert.deepEqual(infer(['1.5', '2e3']), { kind: 'double' });
  assert.deepEqual(infer(['true', 'no', 'F']), { kind: 'boolean' });
  assert.deepEqual(infer(['0', '1']), { kind: 'int' }, '0/1 is a number, not a boolean');
  assert.deepEqual(infer(['2024-01-01', '1999-12-31']), { kind: 'date' });
  assert.deepEqual(infer(['2024-01-01 10:00:00', '2024-01-01T10:00:00.5']), { kind: 'timestamp' });
  assert.deepEqual(infer(['2024-01-01T10:00:00Z', '2024-01-01 10:00:00+02:00']), { kind: 'timestamptz' });
  assert.deepEqual(infer(['2024-01-01T10:00:00Z', '2024-01-01 10:00:00']), { kind: 'string' }, 'mixed zoned and local');
  assert.deepEqual(infer(['2024-02-30']), { kind: 'string' });
  assert.deepEqual(infer(['12', 'abc']), { kind: 'string' });
  assert.deepEqual(infer([null, null]), { kind: 'string' });
});
