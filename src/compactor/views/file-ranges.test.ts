import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Snapshot } from '../../catalog/spec/snapshot.js';
import type { RangeState } from './file-ranges.js';
import { FileRanges, ordinalsOf, planRanges } from './file-ranges.js';

const snap = (id: number, sequence: number, parent?: number): Snapshot => ({
  snapshotId: BigInt(id),
  ...(parent === undefined ? {} : { parentSnapshotId: BigInt(parent) }),
  sequenceNumber: BigInt(sequence),
  timestampMs: 1_700_000_000_000 + sequence,
  manifestList: `memory://wh/snap-${id}.avro`,
  summary: { operation: 'append' },
});

const chain = [snap(10, 1), snap(20, 2, 10), snap(30, 4, 20)];
const now = { tableUuid: 'u1', cacheDir: '/cache' };
const state = (over: Partial<RangeState> = {}): RangeState => ({ tableUuid: 'u1', cacheDir: '/cache', lastSnapshotId: 20n, ordinalMode: 'sequence', ...over });
const data = (location: string) => ({ location, content: 0 as const });
const deletes = (location: string) => ({ location, content: 1 as const });

describe('ordinalsOf', () => {
  it('uses sequence numbers when they increase along the history (gaps allowed)', () => {
    const o = ordinalsOf(chain);
    assert.equal(o.mode, 'sequence');
    assert.deepEqual([...o.of.values()], [1n, 2n, 4n]);
  });

  it('falls back to positions for v1 tables (every sequence number 0)', () => {
    const o = ordinalsOf([snap(1, 0), snap(2, 0, 1), snap(3, 0, 2)]);
    assert.equal(o.mode, 'position');
    assert.deepEqual([...o.of.values()], [1n, 2n, 3n]);
  });
});

describe('planRanges', () => {
  const o = ordinalsOf(chain);
  it('continues after the last processed snapshot', () => {
    const plan = planRanges(state(), now, chain, o);
    assert.equal(plan.rebuild, false);
    assert.deepEqual(plan.pending.map((s) => s.snapshotId), [30n]);
    assert.equal(planRanges(state({ lastSnapshotId: 30n }), now, chain, o).pending.length, 0);
  });

  it('rebuilds from the oldest retained snapshot when the stored state cannot be continued', () => {
    const cases: [RangeState | undefined, RegExp][] = [
      [undefined, /first refresh/],
      [state({ tableUuid: 'u0' }), /replaced/],
      [state({ cacheDir: '/elsewhere' }), /cache directory/],
      [state({ lastSnapshotId: null }), /no snapshot was processed/],
      [state({ ordinalMode: 'position' }), /sequence numbers/],
      [state({ lastSnapshotId: 99n }), /no longer in the current history/],
    ];
    for (const [stored, reason] of cases) {
      const plan = planRanges(stored, now, chain, o);
      assert.equal(plan.rebuild, true);
      assert.match(plan.reason ?? '', reason);
      assert.equal(plan.base?.snapshotId, 10n);
      assert.deepEqual(plan.pending.map((s) => s.snapshotId), [20n, 30n]);
    }
    assert.equal(planRanges(state(), now, chain, o, 'totals differ').rebuild, true);
    assert.equal(planRanges(state(), now, chain, ordinalsOf([snap(1, 0), snap(2, 0, 1)])).rebuild, true, 'position ordinals always rebuild');
  });

  it('an empty table rebuilds to nothing', () => {
    const plan = planRanges(state(), now, [], ordinalsOf([]));
    assert.deepEqual([plan.rebuild, plan.base, plan.pending.length], [true, undefined, 0]);
  });
});

describe('FileRanges', () => {
  it('tracks ranges through adds and removes, and answers which files each ordinal reads', () => {
    const r = new FileRanges();
    r.add(data('a'), 1n);
    r.apply({ added: [data('b'), deletes('d1')], removed: [] }, 2n, 1n);
    r.apply({ added: [data('c')], removed: ['a', 'b', 'd1'] }, 4n, 2n);
    const at = (o: bigint): string[] => r.liveAt(o).map((f) => f.location);
    assert.deepEqual(at(1n), ['a']);
    assert.deepEqual(at(2n), ['a', 'b', 'd1']);
    assert.deepEqual(at(3n), [], 'an ordinal that no snapshot of the history has (a sequence gap) is never asked for');
    assert.deepEqual(at(4n), ['c']);
    assert.deepEqual(r.current().map((f) => f.location), ['c']);
    assert.deepEqual(r.all().map((f) => [f.location, f.firstOrdinal, f.lastOrdinal]), [['a', 1n, 2n], ['b', 2n, 2n], ['d1', 2n, 2n], ['c', 4n, null]]);
    assert.equal(r.inconsistencies, 0);
  });

  it('counts removals of files that are not live (the stored ranges are stale)', () => {
    const r = new FileRanges();
    r.remove('ghost', 1n);
    assert.equal(r.inconsistencies, 1);
  });

  it('prunes ranges that end before the oldest retained snapshot', () => {
    const r = new FileRanges();
    r.add(data('a'), 1n);
    r.add(data('keep'), 1n);
    r.apply({ added: [data('b')], removed: ['a'] }, 3n, 2n);
    assert.deepEqual(r.prune(3n).map((f) => f.location), ['a']);
    assert.deepEqual(r.all().map((f) => f.location), ['keep', 'b']);
    assert.deepEqual(r.prune(3n), []);
  });

  it('reports the diff against the stored ranges: inserted rows, ended stored rows, prune cutoff', () => {
    const r = FileRanges.load([
      { location: 'old', content: 0, firstOrdinal: 1n, lastOrdinal: 1n },
      { location: 'a', content: 0, firstOrdinal: 1n, lastOrdinal: null },
      { location: 'b', content: 0, firstOrdinal: 2n, lastOrdinal: null },
    ]);
    r.apply({ added: [data('c')], removed: ['a'] }, 3n, 2n);
    r.apply({ added: [], removed: ['c'] }, 4n, 3n);
    assert.deepEqual(r.prune(2n).map((f) => f.location), ['old']);
    const changes = r.changes();
    assert.deepEqual(changes.inserted.map((f) => [f.location, f.firstOrdinal, f.lastOrdinal]), [['c', 3n, 3n]]);
    assert.deepEqual(changes.ended.map((f) => [f.location, f.lastOrdinal]), [['a', 2n]]);
    assert.equal(changes.prunedBefore, 2n);
  });

  it('keeps an ended stored row in the diff when the same refresh prunes it (updated, then deleted)', () => {
    const r = FileRanges.load([{ location: 'a', content: 0, firstOrdinal: 1n, lastOrdinal: null }]);
    r.apply({ added: [data('b')], removed: ['a'] }, 5n, 4n);
    r.prune(5n);
    const changes = r.changes();
    assert.deepEqual(changes.ended.map((f) => [f.location, f.lastOrdinal]), [['a', 4n]]);
    assert.equal(changes.prunedBefore, 5n);
  });
});
