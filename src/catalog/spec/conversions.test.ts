import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataInvalidError } from '../../shared/errors.js';
import type { PrimitiveValue } from './conversions.js';
import { compareValues, fromBytes, toBytes, truncateLowerBound, truncateUpperBound } from './conversions.js';
import type { PrimitiveType } from './types.js';
import { decimal, fixed, primitive } from './types.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytesOf = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replaceAll(' ', ''), 'hex'));

const VECTORS: [type: PrimitiveType, value: PrimitiveValue, bytes: string][] = [
  [primitive('boolean'), false, '00'],
  [primitive('boolean'), true, '01'],
  [primitive('int'), 1, '01 00 00 00'],
  [primitive('int'), 34, '22 00 00 00'],
  [primitive('int'), -1, 'ff ff ff ff'],
  [primitive('int'), -2147483648, '00 00 00 80'],
  [primitive('long'), 34n, '22 00 00 00 00 00 00 00'],
  [primitive('long'), -2n, 'fe ff ff ff ff ff ff ff'],
  [primitive('long'), 9223372036854775807n, 'ff ff ff ff ff ff ff 7f'],
  [primitive('float'), 1.5, '00 00 c0 3f'],
  [primitive('float'), -0, '00 00 00 80'],
  [primitive('double'), -2.25, '00 00 00 00 00 00 02 c0'],
  [primitive('double'), 1, '00 00 00 00 00 00 f0 3f'],
  [primitive('date'), 17486, '4e 44 00 00'], // 2017-11-16
  [primitive('date'), -1, 'ff ff ff ff'], // 1969-12-31
  [primitive('time'), 81_068_000_000n, '00 83 07 e0 12 00 00 00'], // 22:31:08
  [primitive('timestamp'), 1_510_871_468_000_000n, '00 c3 26 2d 21 5e 05 00'],
  [primitive('timestamptz'), -1n, 'ff ff ff ff ff ff ff ff'],
  [primitive('timestamp_ns'), 1_510_871_468_000_000_001n, '01 b8 69 5f 98 b1 f7 14'],
  [primitive('timestamptz_ns'), 1n, '01 00 00 00 00 00 00 00'],
  [primitive('string'), 'iceberg', '69 63 65 62 65 72 67'],
  [primitive('string'), '', ''],
  [primitive('string'), 'é🦆', 'c3 a9 f0 9f a6 86'],
  [primitive('uuid'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f7 9c 3e 09 67 7c 4b bd a4 79 3f 34 9c b7 85 e7'],
  [fixed(3), Uint8Array.of(0, 1, 255), '00 01 ff'],
  [primitive('binary'), Uint8Array.of(0xca, 0xfe), 'ca fe'],
  [primitive('binary'), new Uint8Array(0), ''],
  [decimal(9, 2), 100n, '64'], // 1.00
  [decimal(9, 2), 1420n, '05 8c'], // 14.20
  [decimal(5, 2), 12345n, '30 39'], // 123.45
  [decimal(5, 2), -12345n, 'cf c7'], // -123.45
  [decimal(9, 2), -100n, '9c'], // -1.00
  [decimal(9, 2), 0n, '00'],
  [decimal(9, 2), 128n, '00 80'], // needs a sign byte
  [decimal(9, 2), -128n, '80'],
  [decimal(38, 0), 10n ** 38n - 1n, '4b 3b 4c a8 5a 86 c4 7a 09 8a 22 3f ff ff ff ff'],
];

test('every primitive type serializes to the spec\'s bytes (Appendix D) and reads back', () => {
  for (const [type, value, bytes] of VECTORS) {
    const label = `${JSON.stringify(type)} ${String(value)}`;
    assert.equal(hex(toBytes(type, value)), bytes.replaceAll(' ', ''), label);
    assert.deepEqual(fromBytes(type, bytesOf(bytes)), value, label);
  }
});

test('values round trip through bytes for every type', () => {
  const samples: [PrimitiveType, PrimitiveValue[]][] = [
    [primitive('int'), [0, 2147483647, -2147483648, 42]],
    [primitive('long'), [0n, -(2n ** 63n), 2n ** 63n - 1n, 1234567890123n]],
    [primitive('float'), [0, 3.5, -1e10, Infinity, -Infinity, Math.fround(0.1)]],
    [primitive('double'), [0.1, -0, Number.MAX_VALUE, Number.MIN_VALUE, -Infinity]],
    [primitive('date'), [-719162, 2932896]], // 0001-01-01 and 9999-12-31
    [primitive('timestamp_ns'), [-(2n ** 63n), 2n ** 63n - 1n]],
    [primitive('string'), ['a', '日本語', '\u{10ffff}', 'x'.repeat(1000)]],
    [primitive('uuid'), ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']],
    [decimal(38, 10), [-(10n ** 38n - 1n), 10n ** 38n - 1n, -1n, 255n, -256n, 32768n]],
  ];
  for (const [type, values] of samples) {
    for (const value of values) assert.deepEqual(fromBytes(type, toBytes(type, value)), value, `${type.kind} ${String(value)}`);
  }
  const nan = fromBytes(primitive('double'), toBytes(primitive('double'), NaN));
  assert.ok(Number.isNaN(nan));
  assert.ok(Object.is(fromBytes(primitive('float'), toBytes(primitive('float'), -0)), -0));
});

test('readers accept bounds written before an int → long or float → double promotion', () => {
  assert.equal(fromBytes(primitive('long'), bytesOf('feffffff')), -2n);
  assert.equal(fromBytes(primitive('double'), bytesOf('0000c03f')), 1.5);
  assert.equal(fromBytes(primitive('boolean'), bytesOf('02')), true, 'any non-zero byte is true');
  assert.deepEqual(fromBytes(decimal(9, 2), bytesOf('ff ff 9c')), -100n, 'sign-extended decimals are accepted');
  assert.deepEqual(fromBytes(fixed(4), bytesOf('0102')), Uint8Array.of(1, 2), 'fixed bounds may be truncated');
});

test('bad bytes fail with MetadataInvalidError naming the type and what was found', () => {
  const cases: [PrimitiveType, string, RegExp][] = [
    [primitive('int'), '010203', /^int bound: expected 4 bytes \(little-endian\), found 3 bytes$/],
    [primitive('long'), '0102', /^long bound: expected 8 bytes .*found 2 bytes$/],
    [primitive('timestamp'), '01020304', /^timestamp bound: expected 8 bytes .*found 4 bytes$/],
    [primitive('float'), '0000000000000000', /^float bound: expected 4 bytes .*found 8 bytes$/],
    [primitive('boolean'), '', /^boolean bound: expected 1 byte, found 0 bytes$/],
    [primitive('uuid'), '00', /^uuid bound: expected 16 bytes .*found 1 bytes$/],
    [fixed(2), '000000', /^fixed\[2\] bound: expected at most 2 bytes, found 3 bytes$/],
    [decimal(9, 2), '', /^decimal\(9, 2\) bound: expected at least 1 byte/],
    [primitive('string'), 'c328', /^string bound: expected UTF-8, found 2 bytes that are not valid UTF-8$/],
  ];
  for (const [type, bytes, message] of cases) {
    assert.throws(() => fromBytes(type, bytesOf(bytes)), (error: unknown) => error instanceof MetadataInvalidError && message.test(error.message));
  }
});

test('values that do not fit their type are programmer errors (RangeError) saying what was expected', () => {
  assert.throws(() => toBytes(primitive('int'), 2 ** 31), /^RangeError: int value: expected a 32-bit integer \(number\), found 2147483648$/);
  assert.throws(() => toBytes(primitive('int'), 1.5), /found 1\.5/);
  assert.throws(() => toBytes(primitive('long'), 1), /^RangeError: long value: expected a 64-bit integer \(bigint\), found 1$/);
  assert.throws(() => toBytes(primitive('timestamp'), 2n ** 63n), /found 9223372036854775808n/);
  assert.throws(() => toBytes(decimal(3, 1), 1000n), /decimal\(3, 1\) value: expected an unscaled bigint with at most 3 digits, found 1000n/);
  assert.throws(() => toBytes(fixed(4), Uint8Array.of(1)), /fixed\[4\] value: expected exactly 4 bytes, found 1 bytes/);
  assert.throws(() => toBytes(primitive('uuid'), 'not-a-uuid'), /uuid value: expected a UUID string/);
  assert.throws(() => toBytes(primitive('string'), '\ud800x'), /no lone surrogates/);
  assert.throws(() => toBytes(primitive('binary'), 'ab'), /binary value: expected a Uint8Array, found "ab"/);
  assert.throws(() => toBytes(primitive('boolean'), 1), /boolean value: expected a boolean, found 1/);
});

test('uuids read back lower-case and serialize case-insensitively', () => {
  const upper = 'F79C3E09-677C-4BBD-A479-3F349CB785E7';
  assert.equal(fromBytes(primitive('uuid'), toBytes(primitive('uuid'), upper)), upper.toLowerCase());
});

test('compareValues follows Iceberg ordering', () => {
  const str = primitive('string');
  assert.equal(compareValues(str, 'a', 'b'), -1);
  assert.equal(compareValues(str, 'ab', 'a'), 1);
  assert.equal(compareValues(str, 'a', 'a'), 0);
  // U+FFFD is below U+1F986 by code point (and UTF-8 bytes) although its UTF-16 unit is above the surrogate's.
  assert.equal('\uFFFD' < '🦆', false, 'JS < compares UTF-16 units');
  assert.equal(compareValues(str, '\uFFFD', '🦆'), -1);
  assert.equal(compareValues(str, '🦆', '\uE000'), 1);
  assert.equal(Buffer.compare(Buffer.from('\uFFFD'), Buffer.from('🦆')), -1, 'same as UTF-8 byte order');

  const bin = primitive('binary');
  assert.equal(compareValues(bin, Uint8Array.of(0x7f), Uint8Array.of(0x80)), -1, 'bytes are unsigned');
  assert.equal(compareValues(bin, Uint8Array.of(1, 2), Uint8Array.of(1)), 1, 'a prefix sorts first');
  assert.equal(compareValues(fixed(2), Uint8Array.of(0xff, 0), Uint8Array.of(0xff, 0)), 0);

  const dbl = primitive('double');
  assert.equal(compareValues(dbl, -0, 0), -1, '-0 sorts before +0');
  assert.equal(compareValues(dbl, NaN, Infinity), 1, 'NaN sorts above +Infinity');
  assert.equal(compareValues(dbl, NaN, NaN), 0);
  assert.equal(compareValues(dbl, -Infinity, NaN), -1);
  assert.equal(compareValues(primitive('float'), 1.5, 2.5), -1);

  assert.equal(compareValues(primitive('long'), -(2n ** 63n), 2n ** 63n - 1n), -1);
  assert.equal(compareValues(primitive('int'), 5, -5), 1);
  assert.equal(compareValues(decimal(9, 2), -100n, 99n), -1);
  assert.equal(compareValues(primitive('boolean'), false, true), -1);
  assert.equal(compareValues(primitive('uuid'), '7fffffff-ffff-ffff-ffff-ffffffffffff', '80000000-0000-0000-0000-000000000000'), -1, 'uuids compare as unsigned bytes');
  assert.equal(compareValues(primitive('uuid'), 'ABCDEF00-0000-0000-0000-000000000000', 'abcdef00-0000-0000-0000-000000000000'), 0);
  assert.throws(() => compareValues(primitive('long'), 1n, 2), /long value: expected a 64-bit integer/);
});

test('lower bounds truncate strings at code points and binary at bytes', () => {
  const str = primitive('string');
  assert.equal(truncateLowerBound(str, 'iceberg', 3), 'ice');
  assert.equal(truncateLowerBound(str, '🦆🦆🦆', 2), '🦆🦆', 'never splits a surrogate pair');
  assert.equal(truncateLowerBound(str, 'ab', 16), 'ab');
  assert.deepEqual(truncateLowerBound(primitive('binary'), Uint8Array.of(1, 2, 3), 2), Uint8Array.of(1, 2));
  assert.deepEqual(truncateLowerBound(fixed(3), Uint8Array.of(1, 2, 3), 2), Uint8Array.of(1, 2));
  assert.equal(truncateLowerBound(primitive('long'), 123456789n, 2), 123456789n, 'other types are never truncated');
  assert.throws(() => truncateLowerBound(str, 'x', 0), /truncate length: expected a positive integer, found 0/);
});

test('upper bounds truncate and increment the last code point or byte so they stay upper bounds', () => {
  const str = primitive('string');
  assert.equal(truncateUpperBound(str, 'iceberg', 3), 'icf');
  assert.equal(truncateUpperBound(str, 'ice', 3), 'ice', 'short enough: unchanged');
  assert.equal(truncateUpperBound(str, 'a🦆🦆', 2), 'a🦇', 'increments a code point above U+FFFF');
  assert.equal(truncateUpperBound(str, 'a\u{10ffff}b', 2), 'b', 'U+10FFFF cannot grow: the previous one does');
  assert.equal(truncateUpperBound(str, '\u{10ffff}\u{10ffff}x', 2), undefined, 'no upper bound exists');
  assert.equal(truncateUpperBound(str, 'a\ud7ffz', 2), 'a\ue000', 'skips the surrogate range');
  const long = 'x'.repeat(10) + '🦆'.repeat(20);
  const bound = truncateUpperBound(str, long, 16) as string;
  assert.equal(Array.from(bound).length, 16);
  assert.equal(compareValues(str, bound, long), 1);
  assert.equal(compareValues(str, truncateLowerBound(str, long, 16), long), -1);

  const bin = primitive('binary');
  assert.deepEqual(truncateUpperBound(bin, Uint8Array.of(1, 2, 3), 2), Uint8Array.of(1, 3));
  assert.deepEqual(truncateUpperBound(bin, Uint8Array.of(1, 0xff, 3), 2), Uint8Array.of(2));
  assert.equal(truncateUpperBound(bin, Uint8Array.of(0xff, 0xff, 0), 2), undefined);
  assert.deepEqual(truncateUpperBound(bin, Uint8Array.of(0xff, 0xff), 2), Uint8Array.of(0xff, 0xff), 'short enough: unchanged');
  assert.deepEqual(truncateUpperBound(fixed(4), Uint8Array.of(9, 9, 9, 9), 3), Uint8Array.of(9, 9, 10));
  assert.equal(truncateUpperBound(primitive('double'), 2.5, 1), 2.5, 'other types are never truncated');
  const input = Uint8Array.of(1, 2, 3);
  truncateUpperBound(bin, input, 2);
  assert.deepEqual(input, Uint8Array.of(1, 2, 3), 'the input is not modified');
});

test('serialized truncated bounds still decode', () => {
  const str = primitive('string');
  const bound = truncateUpperBound(str, '😀😀😀', 1) as string;
  assert.equal(fromBytes(str, toBytes(str, bound)), '😁');
});
