import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { buildSchema } from '../catalog/spec/schema.js';
import { primitive } from '../catalog/spec/types.js';
import type { Row, SourceInfo } from '../schemas/envelope.js';
import { emptySource } from '../schemas/envelope.js';
import { DataInvalidError } from '../shared/errors.js';
import type { BufferedChange, SourceOrder } from './change-buffer.js';
import { ChangeBuffer, isReplay, sourceOrderOf } from './change-buffer.js';
import type { Position } from './offsets.js';
import { partitionKeyOf } from './offsets.js';

const { schema } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 's', type: primitive('string') },
  { name: 'n', type: primitive('int'), required: true },
], { identifierFields: ['id'] });

const P0 = partitionKeyOf('duckhouse.s.t', 0);
const P1 = partitionKeyOf('duckhouse.s.t', 1);

const source = (fields: Partial<SourceInfo>): SourceInfo => ({ ...emptySource('postgresql', 'pg', 'db', 0n), ...fields });

let offset = 0n;
function change(row: Row, options: { upsert?: boolean; partition?: string; position?: Position | null; unavailable?: string[] | null } = {}): BufferedChange {
  return {
    upsert: options.upsert ?? true,
    row,
    unavailable: options.unavailable ?? null,
    partition: options.partition ?? P0,
    offset: offset++,
    position: options.position ?? null,
  };
}

/** The rows of Arrow batches, by column name. */
function rowsOf(batches: readonly RecordBatch[]): Row[] {
  return batches.flatMap((b) => Array.from({ length: b.numRows }, (_, i) => Object.fromEntries(schema.fields.map((f) => [f.name, b.getChild(f.name)!.get(i) as unknown]))));
}

describe('sourceOrderOf', () => {
  it('a three-part sequence (DuckHouse CDC) is a unique position', () => {
    assert.deepEqual(sourceOrderOf(source({ sequence: '["100","105","2"]', lsn: 105n })), { position: [100n, 105n, 2n], unique: true });
    assert.deepEqual(sourceOrderOf(source({ sequence: '["100","105","0"]', snapshot: 'false' })), { position: [100n, 105n, 0n], unique: true }, 'snapshot "false" is streaming');
  });

  it('a two-part Debezium sequence or a bare LSN is a position others may share', () => {
    assert.deepEqual(sourceOrderOf(source({ sequence: '["100","105"]', lsn: 105n })), { position: [100n, 105n, 0n], unique: false });
    assert.deepEqual(sourceOrderOf(source({ sequence: '[null,"105"]' })), { position: [105n, 105n, 0n], unique: false }, 'no last commit yet');
    assert.deepEqual(sourceOrderOf(source({ lsn: 7n })), { position: [7n, 7n, 0n], unique: false });
    assert.deepEqual(sourceOrderOf(source({ sequence: 'not json', lsn: 9n })), { position: [9n, 9n, 0n], unique: false }, 'a broken sequence falls back to the LSN');
  });

  it('snapshot rows and sources without an order have none', () => {
    for (const snapshot of ['true', 'first', 'last']) {
      assert.equal(sourceOrderOf(source({ snapshot, sequence: '["1","2","3"]', lsn: 2n })), null, snapshot);
    }
    assert.equal(sourceOrderOf(source({})), null, 'a CSV line');
    assert.equal(sourceOrderOf(source({ connector: 'csv', file: 'a.csv', line: 2n })), null);
  });
});

describe('isReplay', () => {
  const at = (position: Position, unique: boolean): SourceOrder => ({ position, unique });

  it('nothing is a replay before any position was committed', () => {
    assert.equal(isReplay(at([0n, 0n, 0n], true), undefined), false);
  });

  it('unique positions: at or below the highest is a replay', () => {
    const highest: Position = [100n, 105n, 1n];
    assert.equal(isReplay(at([100n, 105n, 0n], true), highest), true);
    assert.equal(isReplay(at([99n, 200n, 9n], true), highest), true, 'the commit LSN orders first');
    assert.equal(isReplay(at([100n, 105n, 1n], true), highest), true, 'the same position was applied');
    assert.equal(isReplay(at([100n, 105n, 2n], true), highest), false);
    assert.equal(isReplay(at([101n, 0n, 0n], true), highest), false);
  });

  it('shared positions (Debezium): only strictly below is a replay', () => {
    const highest: Position = [100n, 105n, 0n];
    assert.equal(isReplay(at([100n, 104n, 0n], false), highest), true);
    assert.equal(isReplay(at([100n, 105n, 0n], false), highest), false, 'a key change\'s create shares its delete\'s position');
    assert.equal(isReplay(at([100n, 106n, 0n], false), highest), false);
  });
});

describe('ChangeBuffer bookkeeping', () => {
  it('records per partition the first offset consumed and the next one to read', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    assert.equal(buffer.empty, true);
    buffer.consumed(P0, 10n, 100);
    buffer.consumed(P1, 3n, 5);
    buffer.consumed(P0, 11n, 50);
    buffer.consumed(P0, 15n, 1);
    assert.equal(buffer.empty, false);
    assert.deepEqual([...buffer.ranges], [[P0, { first: 10n, next: 16n }], [P1, { first: 3n, next: 4n }]]);
    assert.equal(buffer.records, 4);
    assert.equal(buffer.bytes, 156);
    assert.equal(buffer.rows, 0, 'consuming a record keeps no row');
  });

  it('keeps the oldest and newest Kafka timestamps, ignoring missing ones, also across withSchema', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.consumed(P0, 1n, 1);
    assert.equal(buffer.minTimestampMs, undefined);
    buffer.consumed(P0, 2n, 1, 1_700_000_000_500);
    buffer.consumed(P1, 3n, 1, 1_700_000_000_100);
    buffer.consumed(P0, 4n, 1, Number.NaN);
    buffer.consumed(P0, 5n, 1, -1);
    buffer.consumed(P1, 6n, 1, 1_700_000_000_900);
    assert.deepEqual([buffer.minTimestampMs, buffer.maxTimestampMs], [1_700_000_000_100, 1_700_000_000_900]);
    const moved = new ChangeBuffer({ schemaId: -1, identifierFieldIds: [], fields: [] }, 'iceberg');
    moved.consumed(P0, 1n, 1, 42);
    const again = moved.withSchema(schema, 'iceberg');
    assert.deepEqual([again.minTimestampMs, again.maxTimestampMs], [42, 42]);
  });

  it('keptPosition only raises a partition\'s position', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.keptPosition(P0, [5n, 5n, 1n]);
    buffer.keptPosition(P0, [5n, 5n, 0n]);
    buffer.keptPosition(P1, [1n, 1n, 0n]);
    assert.deepEqual(buffer.positions.get(P0), [5n, 5n, 1n]);
    buffer.keptPosition(P0, [6n, 0n, 0n]);
    assert.deepEqual([...buffer.positions], [[P0, [6n, 0n, 0n]], [P1, [1n, 1n, 0n]]]);
  });
});

describe('ChangeBuffer.putChange', () => {
  it('keeps the last change of each key by arrival when there are no positions', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.putChange('1', change({ id: 1n, s: 'a', n: 1 }));
    buffer.putChange('2', change({ id: 2n, s: 'b', n: 1 }));
    const last = change({ id: 1n }, { upsert: false, partition: P1 });
    buffer.putChange('1', last);
    assert.equal(buffer.changes.get('1'), last);
    assert.equal(buffer.rows, 2, 'one row per key');
    assert.equal(buffer.changes.size, 2);
  });

  it('across partitions keeps the change with the highest source position, whatever arrives last', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    const newer = change({ id: 1n, s: 'new', n: 1 }, { partition: P1, position: [10n, 10n, 0n] });
    buffer.putChange('1', newer);
    buffer.putChange('1', change({ id: 1n, s: 'old', n: 1 }, { partition: P0, position: [9n, 12n, 5n] }));
    assert.equal(buffer.changes.get('1'), newer, 'an older position arriving later is dropped');
    const newest = change({ id: 1n }, { upsert: false, partition: P0, position: [10n, 10n, 1n] });
    buffer.putChange('1', newest);
    assert.equal(buffer.changes.get('1'), newest);
    const same = change({ id: 1n, s: 'same', n: 2 }, { partition: P1, position: [10n, 10n, 1n] });
    buffer.putChange('1', same);
    assert.equal(buffer.changes.get('1'), same, 'an equal position: the later arrival wins');
    const unordered = change({ id: 1n, s: 'no position', n: 3 }, { partition: P0, position: null });
    buffer.putChange('1', unordered);
    assert.equal(buffer.changes.get('1'), unordered, 'without a position to compare, the later arrival wins');
    assert.equal(buffer.rows, 1);
  });

  it('fills unavailable columns from the previous upsert of the same key in the batch', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    const first = change({ id: 1n, s: 'big toast', n: 1 });
    buffer.putChange('1', first);
    const second = change({ id: 1n, s: null, n: 2 }, { unavailable: ['s'] });
    buffer.putChange('1', second);
    const kept = buffer.changes.get('1')!;
    assert.deepEqual(kept.row, { id: 1n, s: 'big toast', n: 2 });
    assert.equal(kept.unavailable, null, 'nothing is left to fill at flush');
    assert.equal(kept.offset, second.offset, 'the rest is the new change');
    assert.deepEqual(second.row, { id: 1n, s: null, n: 2 }, 'the incoming change is not modified');
  });

  it('leaves unavailable what the previous change did not have either', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.putChange('1', change({ id: 1n, s: null, n: 1 }, { unavailable: ['s'] }));
    buffer.putChange('1', change({ id: 1n, s: null, n: 2 }, { unavailable: ['s'] }));
    assert.deepEqual(buffer.changes.get('1')!.unavailable, ['s'], 'the first change had no value for s either');

    buffer.putChange('2', change({ id: 2n, n: 1 }));
    buffer.putChange('2', change({ id: 2n, s: null, n: 2, extra: null }, { unavailable: ['s', 'extra'] }));
    assert.deepEqual(buffer.changes.get('2')!.row, { id: 2n, s: null, n: 2, extra: null });
    assert.deepEqual(buffer.changes.get('2')!.unavailable, ['s', 'extra'], 'the previous row did not hold them');

    buffer.putChange('3', change({ id: 3n, s: 'x', n: 1, extra: 'e' }));
    buffer.putChange('3', change({ id: 3n, s: null, n: 2, extra: null }, { unavailable: ['s', 'missing'] }));
    assert.deepEqual(buffer.changes.get('3')!.row, { id: 3n, s: 'x', n: 2, extra: null });
    assert.deepEqual(buffer.changes.get('3')!.unavailable, ['missing']);
  });

  it('does not fill from a delete', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.putChange('1', change({ id: 1n, s: 'gone', n: 1 }, { upsert: false }));
    buffer.putChange('1', change({ id: 1n, s: null, n: 2 }, { unavailable: ['s'] }));
    assert.deepEqual(buffer.changes.get('1')!.row, { id: 1n, s: null, n: 2 });
    assert.deepEqual(buffer.changes.get('1')!.unavailable, ['s']);
  });

  it('a truncate drops only that partition\'s changes and remembers the partition', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.putChange('1', change({ id: 1n, n: 1 }, { partition: P0 }));
    buffer.putChange('2', change({ id: 2n, n: 1 }, { partition: P1 }));
    buffer.putChange('3', change({ id: 3n, n: 1 }, { partition: P0 }));
    buffer.putChange('4', change({ id: 4n }, { partition: P0, upsert: false }));
    buffer.truncate(P0);
    assert.deepEqual([...buffer.changes.keys()], ['2']);
    assert.equal(buffer.rows, 1);
    assert.deepEqual([...buffer.truncated], [P0]);
    buffer.putChange('1', change({ id: 1n, n: 2 }, { partition: P0 }));
    assert.deepEqual([...buffer.changes.keys()].sort(), ['1', '2'], 'changes after the truncate are kept');
    assert.equal(buffer.rows, 2);
    buffer.truncate(partitionKeyOf('other', 0));
    assert.equal(buffer.rows, 2);
    assert.deepEqual([...buffer.truncated], [P0, partitionKeyOf('other', 0)]);
  });
});

describe('ChangeBuffer.appendRow / takeBatches', () => {
  it('gives every row back as Arrow batches of at most 8192 rows, in order', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    const count = 20_000;
    const rows: Row[] = Array.from({ length: count }, (_, i) => ({ id: BigInt(i), s: i % 7 ? `s${i}` : null, n: i - 10_000 }));
    for (const row of rows) buffer.appendRow(row);
    assert.equal(buffer.rows, count);
    const batches = buffer.takeBatches();
    assert.deepEqual(batches.map((b) => b.numRows), [8192, 8192, count - 2 * 8192]);
    assert.deepEqual(rowsOf(batches), rows);
    assert.deepEqual(buffer.takeBatches(), [], 'taken once');
  });

  it('exactly 8192 rows are one batch; more rows after a take start new batches', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    for (let i = 0; i < 8192; i++) buffer.appendRow({ id: BigInt(i), s: null, n: i });
    assert.deepEqual(buffer.takeBatches().map((b) => b.numRows), [8192]);
    buffer.appendRow({ id: -1n, s: 'after', n: -1 });
    const next = buffer.takeBatches();
    assert.deepEqual(rowsOf(next), [{ id: -1n, s: 'after', n: -1 }]);
    assert.deepEqual(new ChangeBuffer(schema, 'iceberg').takeBatches(), [], 'no rows, no batches');
  });

  it('a refused row leaves nothing behind', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    buffer.appendRow({ id: 1n, s: 'a', n: 1 });
    // Fails at the last column, after the first two took their values.
    assert.throws(() => buffer.appendRow({ id: 2n, s: 'b', n: 'not an int' }), DataInvalidError);
    assert.throws(() => buffer.appendRow({ id: null, s: 'c', n: 3 }), DataInvalidError);
    assert.equal(buffer.rows, 1);
    buffer.appendRow({ id: 4n, s: 'd', n: 4 });
    assert.equal(buffer.rows, 2);
    assert.deepEqual(rowsOf(buffer.takeBatches()), [{ id: 1n, s: 'a', n: 1 }, { id: 4n, s: 'd', n: 4 }]);
  });

  it('a refused row at a batch boundary does not cut a batch short', () => {
    const buffer = new ChangeBuffer(schema, 'iceberg');
    for (let i = 0; i < 8191; i++) buffer.appendRow({ id: BigInt(i), s: null, n: i });
    assert.throws(() => buffer.appendRow({ id: 8191n, s: 5, n: 1 }), DataInvalidError);
    buffer.appendRow({ id: 8191n, s: 'last', n: 8191 });
    buffer.appendRow({ id: 8192n, s: 'next', n: 8192 });
    const batches = buffer.takeBatches();
    assert.deepEqual(batches.map((b) => b.numRows), [8192, 1]);
    assert.equal(buffer.rows, 8193);
    assert.deepEqual(rowsOf(batches).at(8191), { id: 8191n, s: 'last', n: 8191 });
  });
});
