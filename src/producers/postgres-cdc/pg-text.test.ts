import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataInvalidError } from '../../shared/errors.js';
import { daysFromCivil } from '../../catalog/spec/transforms.js';
import { parseArrayText, parseBool, parseBytea, parseDate, parseDecimal, parseFloat8, parseInt4, parseInt8, parseTime, parseTimestamp, parseTimestamptz } from './pg-text.js';

const refuses = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof DataInvalidError && pattern.test(error.message));
};

test('numeric text → unscaled bigint at the column scale, exact', () => {
  assert.equal(parseDecimal('12.30', 10, 2), 1230n);
  assert.equal(parseDecimal('-0.05', 10, 2), -5n);
  assert.equal(parseDecimal('7', 10, 2), 700n);
  assert.equal(parseDecimal('0', 5, 0), 0n);
  assert.equal(parseDecimal('0.00', 5, 2), 0n);
  assert.equal(parseDecimal('12345678901234567890123456789012345678', 38, 0), 12345678901234567890123456789012345678n);
  assert.equal(parseDecimal('-99999999999999999999999999.999999999999', 38, 12), -99999999999999999999999999999999999999n);
  // trailing zeros beyond the scale are harmless, other digits are not
  assert.equal(parseDecimal('1.500', 10, 2), 150n);
  refuses(() => parseDecimal('1.505', 10, 2), /more than 2 decimal places/);
  refuses(() => parseDecimal('123456', 5, 0), /more than 5 digits/);
  refuses(() => parseDecimal('NaN', 10, 2), /NaN has no Avro\/Iceberg decimal/);
  refuses(() => parseDecimal('Infinity', 10, 2), /Infinity has no/);
  refuses(() => parseDecimal('-Infinity', 10, 2), /-Infinity has no/);
  refuses(() => parseDecimal('1e5', 10, 2), /numeric\(10,2\)/);
});

test('timestamptz text with any UTC offset and 0-6 fractional digits → exact UTC µs', () => {
  const utc = (iso: string, micros = 0n): bigint => BigInt(Date.parse(iso)) * 1000n + micros;
  assert.equal(parseTimestamptz('2024-01-02 03:04:05+00'), utc('2024-01-02T03:04:05Z'));
  assert.equal(parseTimestamptz('2024-01-02 03:04:05.123456+05:30'), utc('2024-01-01T21:34:05.123Z', 456n));
  assert.equal(parseTimestamptz('2024-01-02 03:04:05.1-03'), utc('2024-01-02T06:04:05.100Z'));
  assert.equal(parseTimestamptz('2024-01-02 03:04:05.000001+00'), utc('2024-01-02T03:04:05Z', 1n));
  assert.equal(parseTimestamptz('1969-12-31 23:59:59.999999+00'), -1n);
  assert.equal(parseTimestamptz('1970-01-01 00:00:00+00'), 0n);
  // historic local mean time offsets carry seconds (Europe/Amsterdam in 1900: +00:19:32)
  assert.equal(parseTimestamptz('1900-01-01 00:19:32+00:19:32'), utc('1900-01-01T00:00:00Z'));
  assert.equal(parseTimestamptz('2024-02-29 12:00:00-09:30'), utc('2024-02-29T21:30:00Z'));
  assert.equal(parseTimestamptz('10000-01-01 00:00:00+00'), BigInt(daysFromCivil(10000, 1, 1)) * 86_400_000_000n);
  assert.equal(parseTimestamptz('0044-03-15 12:00:00+00 BC'), (BigInt(daysFromCivil(-43, 3, 15)) * 86_400n + 43_200n) * 1_000_000n);
  refuses(() => parseTimestamptz('infinity'), /infinity has no Avro\/Iceberg timestamptz/);
  refuses(() => parseTimestamptz('-infinity'), /-infinity/);
  refuses(() => parseTimestamptz('2024-01-02 03:04:05'), /with a UTC offset/);
  refuses(() => parseTimestamptz('2023-02-29 00:00:00+00'), /not a calendar date/);
});

test('timestamp (no zone), date and time text → µs / days, exact', () => {
  assert.equal(parseTimestamp('2024-01-02 03:04:05.123456'), BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 123)) * 1000n + 456n);
  refuses(() => parseTimestamp('2024-01-02 03:04:05+00'), /without an offset/);
  refuses(() => parseTimestamp('infinity'), /infinity has no Avro\/Iceberg timestamp/);
  assert.equal(parseDate('1970-01-01'), 0);
  assert.equal(parseDate('2024-02-29'), Date.UTC(2024, 1, 29) / 86_400_000);
  assert.equal(parseDate('1900-03-01'), Date.UTC(1900, 2, 1) / 86_400_000);
  assert.equal(parseDate('0001-01-01 BC'), daysFromCivil(0, 1, 1));
  assert.equal(daysFromCivil(0, 3, 1) - daysFromCivil(0, 2, 28), 2, 'year 0 (1 BC) is a leap year');
  refuses(() => parseDate('1900-02-29'), /not a calendar date/);
  refuses(() => parseDate('infinity'), /infinity has no Avro\/Iceberg date/);
  refuses(() => parseDate('-infinity'), /-infinity/);
  assert.equal(parseTime('00:00:00'), 0n);
  assert.equal(parseTime('23:59:59.999999'), 86_399_999_999n);
  assert.equal(parseTime('24:00:00'), 86_400_000_000n);
  assert.equal(parseTime('12:34:56.5'), 45_296_500_000n);
  refuses(() => parseTime('24:00:01'), /not a time of day/);
});

test('arrays: quoting, NULL versus "NULL", escapes, empty, bounds; multi-dimensional refused', () => {
  assert.deepEqual(parseArrayText('{}'), []);
  assert.deepEqual(parseArrayText('{1,2,3}'), ['1', '2', '3']);
  assert.deepEqual(parseArrayText('{1,NULL,3}'), ['1', null, '3']);
  assert.deepEqual(parseArrayText('{null,"NULL",\\NULL}'), [null, 'NULL', 'NULL']);
  assert.deepEqual(parseArrayText('{"a b","with \\"quotes\\"","back\\\\slash","comma,inside","{braces}",""}'), ['a b', 'with "quotes"', 'back\\slash', 'comma,inside', '{braces}', '']);
  assert.deepEqual(parseArrayText('{ 1 , 2 }'), ['1', '2']);
  assert.deepEqual(parseArrayText('{"\\\\x0102",NULL}'), ['\\x0102', null]);
  assert.deepEqual(parseArrayText('[0:1]={7,8}'), ['7', '8']);
  assert.deepEqual(parseArrayText('{"2024-01-02 03:04:05+00"}'), ['2024-01-02 03:04:05+00']);
  refuses(() => parseArrayText('{{1,2},{3,4}}'), /multi-dimensional/);
  refuses(() => parseArrayText('[1:2][1:1]={{1},{2}}'), /multi-dimensional/);
  refuses(() => parseArrayText('{1,2'), /unterminated/);
  refuses(() => parseArrayText('{"a}'), /unterminated quoted/);
  refuses(() => parseArrayText('{1}x'), /after the closing/);
  refuses(() => parseArrayText('1,2'), /expected "\{"/);
});

test('bytea in hex and escape formats → bytes', () => {
  assert.deepEqual(parseBytea('\\x'), Buffer.alloc(0));
  assert.deepEqual(parseBytea('\\x00ff10AB'), Buffer.from([0, 255, 16, 171]));
  assert.deepEqual(parseBytea('ab\\000\\\\c\\377'), Buffer.from([97, 98, 0, 92, 99, 255]));
  refuses(() => parseBytea('\\x0'), /odd or non-hex/);
  refuses(() => parseBytea('\\xzz'), /odd or non-hex/);
  refuses(() => parseBytea('a\\9'), /bad escape/);
});

test('bool, integers and floats', () => {
  assert.equal(parseBool('t'), true);
  assert.equal(parseBool('f'), false);
  refuses(() => parseBool('true'), /t or f/);
  assert.equal(parseInt4('-2147483648'), -2147483648);
  refuses(() => parseInt4('2147483648'), /32-bit/);
  assert.equal(parseInt8('-9223372036854775808'), -9223372036854775808n);
  refuses(() => parseInt8('9223372036854775808'), /64-bit/);
  assert.equal(parseFloat8('1.5e-7'), 1.5e-7);
  assert.equal(parseFloat8('-Infinity'), Number.NEGATIVE_INFINITY);
  assert.ok(Number.isNaN(parseFloat8('NaN')));
  refuses(() => parseFloat8('abc'), /double precision/);
});
