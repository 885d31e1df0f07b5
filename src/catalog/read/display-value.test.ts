import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayValue } from './display-value.js';

describe('displayValue', () => {
  it('keeps every digit of decimals, with their sign', () => {
    assert.equal(displayValue({ kind: 'decimal', precision: 5, scale: 2 }, 4200n), '42.00');
    assert.equal(displayValue({ kind: 'decimal', precision: 5, scale: 2 }, -5n), '-0.05');
    assert.equal(displayValue({ kind: 'decimal', precision: 38, scale: 0 }, 12345678901234567890123n), '12345678901234567890123');
  });
  it('writes timestamps with microseconds (Z only with a zone), before 1970 too', () => {
    assert.equal(displayValue({ kind: 'timestamptz' }, 1793524500123456n), '2026-11-01T09:15:00.123456Z');
    assert.equal(displayValue({ kind: 'timestamp' }, 1793524500123456n), '2026-11-01T09:15:00.123456');
    assert.equal(displayValue({ kind: 'timestamptz' }, -1n), '1969-12-31T23:59:59.999999Z');
    assert.equal(displayValue({ kind: 'timestamptz_ns' }, 1_000_000_001n), '1970-01-01T00:00:01.000000001Z');
  });
  it('writes dates, times, uuids and binary as text', () => {
    assert.equal(displayValue({ kind: 'date' }, 20_000), '2024-10-04');
    assert.equal(displayValue({ kind: 'time' }, 3_723_000_004n), '01:02:03.000004');
    assert.equal(displayValue({ kind: 'uuid' }, Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'))), '00112233-4455-6677-8899-aabbccddeeff');
    assert.equal(displayValue({ kind: 'binary' }, Uint8Array.of(1, 255)), '01ff');
  });
  it('keeps safe longs as numbers and unsafe ones as strings', () => {
    assert.equal(displayValue({ kind: 'long' }, 42n), 42);
    assert.equal(displayValue({ kind: 'long' }, 9007199254740993n), '9007199254740993');
    assert.equal(displayValue({ kind: 'int' }, null), null);
  });
});
