import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bucket,
  bucketHash,
  dayFromMicros,
  hourFromMicros,
  minimalTwosComplement,
  monthFromDays,
  monthFromMicros,
  parseTransform,
  transformToString,
  truncateBinary,
  truncateInteger,
  truncateString,
  yearFromDays,
  yearFromMicros,
} from './transforms.js';

const DAY_2017_11_16 = 17486;
const MICROS_2017_11_16T22_31_08 = 1_510_871_468_000_000n;

test('bucket hashes match the Iceberg spec (Appendix B) for every source type', () => {
  assert.equal(bucketHash('int', 34), 2017239379);
  assert.equal(bucketHash('long', 34n), 2017239379);
  assert.equal(bucketHash('decimal', 1420n), -500754589); // 14.20 as decimal(9,2)
  assert.equal(bucketHash('date', DAY_2017_11_16), -653330422);
  assert.equal(bucketHash('time', 81_068_000_000n), -662762989); // 22:31:08
  assert.equal(bucketHash('timestamp', MICROS_2017_11_16T22_31_08), -2047944441);
  assert.equal(bucketHash('timestamptz', MICROS_2017_11_16T22_31_08), -2047944441);
  assert.equal(bucketHash('timestamp_ns', 1_510_871_468_000_001_001n), -1207196810);
  assert.equal(bucketHash('string', 'iceberg'), 1210000089);
  assert.equal(bucketHash('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'), 1488055340);
  assert.equal(bucketHash('fixed', Uint8Array.from([0, 1, 2, 3])), -188683207);
  assert.equal(bucketHash('binary', Uint8Array.from([0, 1, 2, 3])), -188683207);
});

test('bucket[N] is (hash & MAX_INT) % N, never negative', () => {
  assert.equal(bucket('int', 34, 16), 2017239379 % 16);
  assert.equal(bucket('string', 'iceberg', 10), 1210000089 % 10);
  assert.equal(bucket('decimal', 1420n, 7), (-500754589 & 0x7fffffff) % 7);
  for (let i = -50; i < 50; i++) assert.ok(bucket('long', BigInt(i) * 7919n, 5) >= 0);
});

test('decimals hash their minimal big-endian two\'s complement bytes', () => {
  assert.deepEqual([...minimalTwosComplement(0n)], [0]);
  assert.deepEqual([...minimalTwosComplement(127n)], [0x7f]);
  assert.deepEqual([...minimalTwosComplement(128n)], [0x00, 0x80]);
  assert.deepEqual([...minimalTwosComplement(-128n)], [0x80]);
  assert.deepEqual([...minimalTwosComplement(-129n)], [0xff, 0x7f]);
  assert.deepEqual([...minimalTwosComplement(1420n)], [0x05, 0x8c]);
});

test('truncate[W] follows the spec for ints, longs, decimals, strings and binary', () => {
  assert.equal(truncateInteger(1, 10), 0);
  assert.equal(truncateInteger(-1, 10), -10);
  assert.equal(truncateInteger(15, 10), 10);
  assert.equal(truncateInteger(-15n, 10), -20n);
  assert.equal(truncateInteger(1065n, 50), 1050n); // decimal 10.65 → 10.50
  assert.equal(truncateString('iceberg', 3), 'ice');
  assert.equal(truncateString('🦆🦆🦆', 2), '🦆🦆', 'code points, not UTF-16 units');
  assert.deepEqual([...truncateBinary(Uint8Array.from([1, 2, 3, 4]), 3)], [1, 2, 3]);
});

test('year, month, day and hour count from 1970 and floor instants before it', () => {
  assert.equal(dayFromMicros(MICROS_2017_11_16T22_31_08), DAY_2017_11_16);
  assert.equal(hourFromMicros(MICROS_2017_11_16T22_31_08), DAY_2017_11_16 * 24 + 22);
  assert.equal(yearFromDays(DAY_2017_11_16), 47);
  assert.equal(monthFromDays(DAY_2017_11_16), 47 * 12 + 10);
  assert.equal(yearFromMicros(MICROS_2017_11_16T22_31_08), 47);
  assert.equal(monthFromMicros(MICROS_2017_11_16T22_31_08), 574);
  assert.equal(dayFromMicros(-1n), -1, '1969-12-31T23:59:59.999999 is day -1');
  assert.equal(hourFromMicros(-1n), -1);
  assert.equal(yearFromDays(-1), -1);
  assert.equal(monthFromDays(-1), -1);
});

test('transforms parse from and print to their metadata names', () => {
  for (const text of ['identity', 'bucket[16]', 'truncate[4]', 'year', 'month', 'day', 'hour', 'void']) {
    assert.equal(transformToString(parseTransform(text)), text);
  }
  assert.throws(() => parseTransform('bucket[0]'), /expected a positive size/);
  assert.throws(() => parseTransform('zorder'), /unknown partition transform "zorder"/);
});
