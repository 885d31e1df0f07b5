import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchema } from '../catalog/spec/schema.js';
import type { Operation, Snapshot } from '../catalog/spec/snapshot.js';
import type { TableMetadata } from '../catalog/spec/table-metadata.js';
import { applyUpdates, newTableMetadata } from '../catalog/spec/table-update.js';
import { primitive } from '../catalog/spec/types.js';
import { MetadataInvalidError } from '../shared/errors.js';
import type { PartitionKey, Position, TableProgress } from './offsets.js';
import {
  COMMIT_ID_PROPERTY, EMPTY_PROGRESS, encodeOffsets, encodePositions, hasCommit, KAFKA_OFFSETS_PROPERTY, mergeProgress,
  parsePartitionKey, partitionKeyOf, SOURCE_POSITIONS_PROPERTY, tableProgress,
} from './offsets.js';

const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }], { identifierFields: ['id'] });
const T0 = 1_700_000_000_000;
const LOCATION = 'mem://wh/n/t';

const empty = (): TableMetadata => newTableMetadata({ location: LOCATION, tableUuid: 'u-1', schema, nowMs: T0 });

interface Commit {
  id: bigint;
  parent?: bigint;
  operation?: Operation;
  summary?: Record<string, string>;
  /** The branch the commit lands on (main by default); null: added but on no branch. */
  branch?: string | null;
}

function commit(m: TableMetadata, c: Commit): TableMetadata {
  const snapshot: Snapshot = {
    snapshotId: c.id,
    ...(c.parent === undefined ? {} : { parentSnapshotId: c.parent }),
    sequenceNumber: m.lastSequenceNumber + 1n,
    timestampMs: T0 + Number(c.id) * 1000,
    manifestList: `${LOCATION}/metadata/snap-${c.id}.avro`,
    summary: { ...c.summary, operation: c.operation ?? 'append' },
  };
  const branch = c.branch === undefined ? 'main' : c.branch;
  return applyUpdates(m, [
    { action: 'add-snapshot', snapshot },
    ...(branch === null ? [] : [{ action: 'set-snapshot-ref' as const, refName: branch, ref: { snapshotId: c.id, type: 'branch' as const } }]),
  ], { nowMs: T0 + Number(c.id) * 1000 });
}

const key = partitionKeyOf;
const offsets = (entries: [PartitionKey, bigint][]): Map<PartitionKey, bigint> => new Map(entries);
const positions = (entries: [PartitionKey, Position][]): Map<PartitionKey, Position> => new Map(entries);
const sinkSummary = (o: Map<PartitionKey, bigint>, p?: Map<PartitionKey, Position>, commitId?: string): Record<string, string> => ({
  [KAFKA_OFFSETS_PROPERTY]: encodeOffsets(o),
  ...(p ? { [SOURCE_POSITIONS_PROPERTY]: encodePositions(p) } : {}),
  ...(commitId ? { [COMMIT_ID_PROPERTY]: commitId } : {}),
});

/**
 * main: 1 (sink) → 2 (sink) → 3 (compaction, no offsets) → 5 (an append by another writer, no offsets);
 * dev: 1 → 4 (sink, not on main); 6: a staged snapshot on no branch (parent 5) with offsets.
 */
function history(): TableMetadata {
  let m = empty();
  m = commit(m, { id: 1n, summary: sinkSummary(offsets([[key('db.s.t', 0), 10n]]), positions([[key('db.s.t', 0), [100n, 101n, 0n]]]), 'c-1') });
  m = commit(m, { id: 2n, parent: 1n, summary: sinkSummary(offsets([[key('db.s.t', 0), 20n], [key('db.s.t', 1), 5n]]), positions([[key('db.s.t', 0), [200n, 201n, 1n]]]), 'c-2') });
  m = commit(m, { id: 3n, parent: 2n, operation: 'replace' });
  m = commit(m, { id: 4n, parent: 1n, branch: 'dev', summary: sinkSummary(offsets([[key('db.s.t', 0), 99n]]), undefined, 'c-4') });
  m = commit(m, { id: 5n, parent: 3n, summary: { 'added-records': '3' } });
  return commit(m, { id: 6n, parent: 5n, branch: null, summary: sinkSummary(offsets([[key('db.s.t', 0), 500n]]), undefined, 'c-6') });
}

function rejectsNaming(fn: () => unknown, snapshotId: bigint, detail: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MetadataInvalidError, String(error));
    assert.equal(error.kind, 'metadata-invalid');
    assert.match(error.message, new RegExp(`snapshot ${snapshotId} of ${LOCATION.replace(/[/.]/g, '\\$&')}`));
    assert.match(error.message, detail);
    return true;
  });
}

/** A table whose head (snapshot 1) carries `summary`. */
const withSummary = (summary: Record<string, string>): TableMetadata => commit(empty(), { id: 1n, summary });

describe('partition keys', () => {
  it('round-trip topic and partition, topics with dots and dashes included', () => {
    for (const [topic, partition] of [['t', 0], ['duckhouse.sales.orders', 17], ['a-b_c.d', 2147483647]] as const) {
      const k = partitionKeyOf(topic, partition);
      assert.equal(k, `${topic}:${partition}`);
      assert.deepEqual(parsePartitionKey(k), { topic, partition });
    }
  });
});

describe('encodeOffsets / encodePositions', () => {
  it('round-trip through a snapshot summary, bigints beyond 2^53 exactly', () => {
    const o = offsets([[key('b.t', 3), 9_007_199_254_740_993n], [key('a.t', 0), 0n], [key('b.t', 10), 42n], [key('b.t', 2), 1n]]);
    const p = positions([[key('a.t', 0), [18_446_744_073_709_551_615n, 2n, 0n]], [key('b.t', 3), [5n, 5n, 7n]]]);
    const progress = tableProgress(withSummary(sinkSummary(o, p)));
    assert.deepEqual(progress.offsets, o);
    assert.deepEqual(progress.positions, p);
    assert.equal(progress.snapshotId, 1n);
  });

  it('write a nested JSON object of strings, in a stable order whatever the insertion order', () => {
    const a = encodeOffsets(offsets([[key('b.t', 1), 7n], [key('a.t', 0), 3n], [key('b.t', 0), 5n]]));
    const b = encodeOffsets(offsets([[key('b.t', 0), 5n], [key('a.t', 0), 3n], [key('b.t', 1), 7n]]));
    assert.equal(a, b);
    assert.deepEqual(JSON.parse(a), { 'a.t': { 0: '3' }, 'b.t': { 0: '5', 1: '7' } });
    assert.deepEqual(JSON.parse(encodePositions(positions([[key('a.t', 4), [1n, 2n, 3n]]]))), { 'a.t': { 4: '1,2,3' } });
    assert.equal(encodeOffsets(new Map()), '{}');
  });

  it('an empty map is read back as empty, not as "no progress"', () => {
    const progress = tableProgress(withSummary({ [KAFKA_OFFSETS_PROPERTY]: '{}' }));
    assert.equal(progress.offsets.size, 0);
    assert.equal(progress.positions.size, 0);
    assert.equal(progress.snapshotId, 1n);
  });
});

describe('tableProgress', () => {
  it('is empty for a table without snapshots or without sink commits', () => {
    assert.equal(tableProgress(empty()), EMPTY_PROGRESS);
    const foreign = commit(empty(), { id: 1n, summary: { 'added-records': '5' } });
    assert.equal(tableProgress(foreign), EMPTY_PROGRESS);
    assert.equal(tableProgress(foreign).snapshotId, undefined);
  });

  it('takes the newest ancestor with the offsets property, skipping compactions and other writers', () => {
    const progress = tableProgress(history());
    assert.equal(progress.snapshotId, 2n, 'snapshots 5 (append) and 3 (replace) have no offsets; 2 does');
    assert.deepEqual(progress.offsets, offsets([[key('db.s.t', 0), 20n], [key('db.s.t', 1), 5n]]));
    assert.deepEqual(progress.positions, positions([[key('db.s.t', 0), [200n, 201n, 1n]]]), 'positions come from the same snapshot');
  });

  it('ignores snapshots that are not on the branch, and reads other branches when asked', () => {
    const m = history();
    assert.notEqual(tableProgress(m).snapshotId, 4n, 'dev is not main');
    assert.notEqual(tableProgress(m).snapshotId, 6n, 'a staged snapshot is on no branch');
    const dev = tableProgress(m, 'dev');
    assert.equal(dev.snapshotId, 4n);
    assert.deepEqual(dev.offsets, offsets([[key('db.s.t', 0), 99n]]));
    assert.equal(dev.positions.size, 0, 'a summary without positions gives none');
  });

  it('follows a rollback of main: offsets of snapshots no longer on main are not used', () => {
    const rolledBack = applyUpdates(history(), [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: 1n, type: 'branch' } }], { nowMs: T0 + 99_000 });
    const progress = tableProgress(rolledBack);
    assert.equal(progress.snapshotId, 1n);
    assert.deepEqual(progress.offsets, offsets([[key('db.s.t', 0), 10n]]));
  });

  it('still finds the newest sink commit after older snapshots are expired', () => {
    const expired = applyUpdates(history(), [{ action: 'remove-snapshots', snapshotIds: [1n] }], { nowMs: T0 + 99_000 });
    assert.equal(tableProgress(expired).snapshotId, 2n);
    const newest = applyUpdates(history(), [{ action: 'remove-snapshots', snapshotIds: [2n] }], { nowMs: T0 + 99_000 });
    assert.equal(tableProgress(newest).snapshotId, undefined, 'the ancestry stops where history was expired (3 → 2 is gone)');
  });

  it('refuses a malformed offsets property with MetadataInvalidError naming the snapshot', () => {
    const bad = (text: string): TableMetadata => withSummary({ [KAFKA_OFFSETS_PROPERTY]: text });
    rejectsNaming(() => tableProgress(bad('{"t": ')), 1n, /duckhouse\.kafka\.offsets: expected a JSON object of topic → partition → value, found \{"t": $/);
    rejectsNaming(() => tableProgress(bad('"5"')), 1n, /expected a JSON object, found "5"/);
    rejectsNaming(() => tableProgress(bad('null')), 1n, /expected a JSON object, found null/);
    rejectsNaming(() => tableProgress(bad('{"t": 5}')), 1n, /topic t should map partitions to values/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": 5}}')), 1n, /t partition 0 has 5$/);
    rejectsNaming(() => tableProgress(bad('{"t": {"x": "5"}}')), 1n, /t partition x has "5"/);
    rejectsNaming(() => tableProgress(bad('{"t": {"-1": "5"}}')), 1n, /t partition -1 has "5"/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": "five"}}')), 1n, /t partition 0 has an unreadable value "five"/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": "1e3"}}')), 1n, /t partition 0 has an unreadable value "1e3"/);
    const error = (() => {
      try {
        tableProgress(bad('{"t": {"0": "five"}}'));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(error?.cause instanceof SyntaxError, 'the parse error is kept as the cause');
  });

  it('refuses a malformed positions property with MetadataInvalidError naming the snapshot', () => {
    const bad = (text: string): TableMetadata => withSummary({ [KAFKA_OFFSETS_PROPERTY]: '{"t":{"0":"1"}}', [SOURCE_POSITIONS_PROPERTY]: text });
    rejectsNaming(() => tableProgress(bad('[')), 1n, /duckhouse\.source\.positions: expected a JSON object/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": "1,2"}}')), 1n, /duckhouse\.source\.positions: t partition 0 has an unreadable value "1,2"/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": "1,2,3,4"}}')), 1n, /unreadable value "1,2,3,4"/);
    rejectsNaming(() => tableProgress(bad('{"t": {"0": "1,x,3"}}')), 1n, /unreadable value "1,x,3"/);
  });

  it('names the snapshot that is malformed, not the head', () => {
    let m = withSummary({ [KAFKA_OFFSETS_PROPERTY]: '{"t": {"0": "oops"}}' });
    m = commit(m, { id: 2n, parent: 1n, operation: 'replace' });
    rejectsNaming(() => tableProgress(m), 1n, /oops/);
  });

  it('refuses offsets that are not plain non-negative decimal numbers', () => {
    for (const text of ['', ' 7 ', '0x10', '-5']) {
      assert.throws(() => tableProgress(withSummary({ [KAFKA_OFFSETS_PROPERTY]: JSON.stringify({ t: { 0: text } }) })), MetadataInvalidError, JSON.stringify(text));
    }
    assert.throws(() => tableProgress(withSummary({ [KAFKA_OFFSETS_PROPERTY]: '{"t":{"0":"1"}}', [SOURCE_POSITIONS_PROPERTY]: '{"t":{"0":"1,,3"}}' })), MetadataInvalidError);
  });

  it('refuses JSON arrays where objects are expected', () => {
    assert.throws(() => tableProgress(withSummary({ [KAFKA_OFFSETS_PROPERTY]: '[]' })), MetadataInvalidError);
    assert.throws(() => tableProgress(withSummary({ [KAFKA_OFFSETS_PROPERTY]: '{"t":["5"]}' })), MetadataInvalidError);
  });
});

describe('hasCommit', () => {
  it('finds a commit id anywhere in the branch ancestry, and only there', () => {
    const m = history();
    assert.equal(hasCommit(m, 'c-1'), true);
    assert.equal(hasCommit(m, 'c-2'), true);
    assert.equal(hasCommit(m, 'c-4'), false, 'on dev only');
    assert.equal(hasCommit(m, 'c-6'), false, 'staged, on no branch');
    assert.equal(hasCommit(m, 'c-4', 'dev'), true);
    assert.equal(hasCommit(m, 'c-2', 'dev'), false);
    assert.equal(hasCommit(m, 'nope'), false);
    assert.equal(hasCommit(empty(), 'c-1'), false);
  });
});

describe('mergeProgress', () => {
  const base: TableProgress = {
    offsets: offsets([[key('t', 0), 10n], [key('t', 1), 20n]]),
    positions: positions([[key('t', 0), [5n, 5n, 1n]], [key('t', 1), [9n, 9n, 0n]]]),
    snapshotId: 7n,
  };

  it('lays the batch\'s offsets over the table\'s, keeping partitions the batch did not touch', () => {
    const merged = mergeProgress(base, offsets([[key('t', 1), 25n], [key('u', 0), 3n]]), new Map());
    assert.deepEqual(merged.offsets, offsets([[key('t', 0), 10n], [key('t', 1), 25n], [key('u', 0), 3n]]));
    assert.deepEqual(merged.positions, base.positions);
  });

  it('moves positions only forward, comparing all three parts', () => {
    const merged = mergeProgress(base, new Map(), positions([
      [key('t', 0), [5n, 5n, 2n]], // forward by index
      [key('t', 1), [8n, 100n, 100n]], // behind by commit LSN: kept out
      [key('u', 0), [1n, 1n, 0n]], // new partition
    ]));
    assert.deepEqual(merged.positions, positions([[key('t', 0), [5n, 5n, 2n]], [key('t', 1), [9n, 9n, 0n]], [key('u', 0), [1n, 1n, 0n]]]));
    const same = mergeProgress(base, new Map(), positions([[key('t', 0), [5n, 5n, 1n]], [key('t', 1), [9n, 8n, 9n]]]));
    assert.deepEqual(same.positions, base.positions, 'equal or lower positions change nothing');
  });

  it('never modifies the base', () => {
    mergeProgress(base, offsets([[key('t', 0), 99n]]), positions([[key('t', 0), [99n, 99n, 99n]]]));
    assert.equal(base.offsets.get(key('t', 0)), 10n);
    assert.deepEqual(base.positions.get(key('t', 0)), [5n, 5n, 1n]);
  });

  it('starts from empty progress', () => {
    const merged = mergeProgress(EMPTY_PROGRESS, offsets([[key('t', 0), 1n]]), positions([[key('t', 0), [1n, 2n, 3n]]]));
    assert.deepEqual(merged.offsets, offsets([[key('t', 0), 1n]]));
    assert.deepEqual(merged.positions, positions([[key('t', 0), [1n, 2n, 3n]]]));
    assert.equal(EMPTY_PROGRESS.offsets.size, 0);
  });

  it('what it returns reads back from a snapshot summary', () => {
    const merged = mergeProgress(base, offsets([[key('t', 0), 11n]]), positions([[key('t', 0), [6n, 6n, 0n]]]));
    const progress = tableProgress(withSummary(sinkSummary(merged.offsets, merged.positions)));
    assert.deepEqual(progress.offsets, merged.offsets);
    assert.deepEqual(progress.positions, merged.positions);
  });
});
