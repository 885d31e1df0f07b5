import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitConflictError, MetadataInvalidError } from '../../shared/errors.js';
import { buildSchema } from './schema.js';
import type { Snapshot } from './snapshot.js';
import type { TableMetadata } from './table-metadata.js';
import { currentSchema, currentSnapshot, defaultSortOrder, defaultSpec, snapshotAsOf } from './table-metadata.js';
import type { TableRequirement, TableUpdate } from './table-update.js';
import { applyUpdates, checkRequirements, LAST_ADDED, newTableMetadata, newTableMetadataFromUpdates } from './table-update.js';
import { parseTransform } from './transforms.js';
import { primitive } from './types.js';

const { schema } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'ts', type: primitive('timestamp') },
]);
const T0 = 1_700_000_000_000;

const base = (properties: Record<string, string> = {}): TableMetadata =>
  newTableMetadata({ location: 'mem://t', tableUuid: 'u-1', schema, properties, nowMs: T0 });

const snapshot = (id: bigint, seq: bigint, timestampMs: number, parent?: bigint): Snapshot => ({
  snapshotId: id,
  ...(parent === undefined ? {} : { parentSnapshotId: parent }),
  sequenceNumber: seq,
  timestampMs,
  manifestList: `mem://t/metadata/snap-${id}.avro`,
  summary: { operation: 'append' },
});

const commit = (id: bigint, seq: bigint, timestampMs: number, parent?: bigint): TableUpdate[] => [
  { action: 'add-snapshot', snapshot: snapshot(id, seq, timestampMs, parent) },
  { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: id, type: 'branch' } },
];

/** Three appends on main: 1 → 2 → 3. */
function history(): TableMetadata {
  let m = base();
  m = applyUpdates(m, commit(1n, 1n, T0 + 1000), { nowMs: T0 + 1001 });
  m = applyUpdates(m, commit(2n, 2n, T0 + 2000, 1n), { nowMs: T0 + 2001 });
  return applyUpdates(m, commit(3n, 3n, T0 + 3000, 2n), { nowMs: T0 + 3001 });
}

function conflict(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CommitConflictError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

test('checkRequirements passes when every requirement holds', () => {
  const m = history();
  const requirements: TableRequirement[] = [
    { type: 'assert-table-uuid', uuid: 'u-1' },
    { type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: 3n },
    { type: 'assert-ref-snapshot-id', ref: 'dev', snapshotId: undefined },
    { type: 'assert-last-assigned-field-id', lastAssignedFieldId: 2 },
    { type: 'assert-current-schema-id', currentSchemaId: 0 },
    { type: 'assert-last-assigned-partition-id', lastAssignedPartitionId: 999 },
    { type: 'assert-default-spec-id', defaultSpecId: 0 },
    { type: 'assert-default-sort-order-id', defaultSortOrderId: 0 },
  ];
  checkRequirements(m, requirements);
  checkRequirements(undefined, [{ type: 'assert-create' }]);
});

test('failed requirements raise CommitConflictError naming what was expected and what was found', () => {
  const m = history();
  conflict(() => checkRequirements(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: 2n }]),
    /^mem:\/\/t: assert-ref-snapshot-id failed: expected ref "main" at snapshot 2, found snapshot 3 \(another writer committed first\)$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: undefined }]), /expected ref "main" at no snapshot, found snapshot 3/);
  conflict(() => checkRequirements(base(), [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: 3n }]), /expected ref "main" at snapshot 3, found no snapshot/);
  conflict(() => checkRequirements(m, [{ type: 'assert-table-uuid', uuid: 'u-2' }]), /expected table uuid u-2, found uuid u-1 \(the table was dropped and re-created\)/);
  conflict(() => checkRequirements(m, [{ type: 'assert-last-assigned-field-id', lastAssignedFieldId: 7 }]), /expected last assigned field id 7, found 2$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-current-schema-id', currentSchemaId: 1 }]), /expected current schema 1, found schema 0$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-last-assigned-partition-id', lastAssignedPartitionId: 1000 }]), /expected last assigned partition id 1000, found 999$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-default-spec-id', defaultSpecId: 1 }]), /expected default spec 1, found spec 0$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-default-sort-order-id', defaultSortOrderId: 1 }]), /expected default sort order 1, found order 0$/);
  conflict(() => checkRequirements(m, [{ type: 'assert-create' }]), /expected the table not to exist, found it exists \(uuid u-1\)/);
  conflict(() => checkRequirements(undefined, [{ type: 'assert-table-uuid', uuid: 'u-1' }], 'db.t'), /^db.t: expected the table to exist for assert-table-uuid, found none$/);
  assert.throws(() => checkRequirements(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: 2n }]), (error: unknown) => {
    assert.ok(error instanceof CommitConflictError);
    assert.equal(error.retriable, true, 'a stale ref is worth a reload and retry');
    assert.deepEqual(error.context, { requirement: 'assert-ref-snapshot-id', expected: 'ref "main" at snapshot 2', found: 'snapshot 3 (another writer committed first)' });
    return true;
  });
});

test('add-snapshot + set-snapshot-ref main moves the current snapshot, the snapshot log and last-sequence-number', () => {
  const m0 = base();
  const m1 = applyUpdates(m0, commit(1n, 1n, T0 + 1000), { nowMs: T0 + 1500 });
  assert.equal(m1.currentSnapshotId, 1n);
  assert.equal(currentSnapshot(m1)?.snapshotId, 1n);
  assert.deepEqual(m1.refs.get('main'), { snapshotId: 1n, type: 'branch' });
  assert.equal(m1.lastSequenceNumber, 1n);
  assert.deepEqual(m1.snapshotLog, [{ timestampMs: T0 + 1000, snapshotId: 1n }], 'logged at the snapshot\'s own timestamp');
  assert.equal(m1.lastUpdatedMs, T0 + 1500);
  assert.equal(m0.currentSnapshotId, undefined, 'the base is never modified');
  assert.equal(m0.refs.size, 0);

  const m2 = applyUpdates(m1, commit(2n, 2n, T0 + 2000, 1n), { nowMs: T0 + 2500 });
  assert.equal(m2.currentSnapshotId, 2n);
  assert.equal(m2.lastSequenceNumber, 2n);
  assert.deepEqual(m2.snapshotLog.map((e) => e.snapshotId), [1n, 2n]);

  // A snapshot that is added but not put on main changes neither the current snapshot nor the log.
  const staged = applyUpdates(m2, [{ action: 'add-snapshot', snapshot: snapshot(3n, 3n, T0 + 3000, 2n) }], { nowMs: T0 + 3000 });
  assert.equal(staged.currentSnapshotId, 2n);
  assert.equal(staged.lastSequenceNumber, 3n);
  assert.equal(staged.snapshotLog.length, 2);

  // Rolling main back to an existing snapshot logs the commit time.
  const rolledBack = applyUpdates(m2, [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: 1n, type: 'branch' } }], { nowMs: T0 + 9000 });
  assert.equal(rolledBack.currentSnapshotId, 1n);
  assert.deepEqual(rolledBack.snapshotLog.at(-1), { timestampMs: T0 + 9000, snapshotId: 1n });
  assert.equal(snapshotAsOf(rolledBack, T0 + 9000)?.snapshotId, 1n);

  // Setting main to where it already points is a no-op, not a new history entry.
  const same = applyUpdates(m2, [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: 2n, type: 'branch' } }], { nowMs: T0 + 9000 });
  assert.deepEqual(same.snapshotLog, m2.snapshotLog);
});

test('several snapshots committed at once log only the last one on main (as Java does)', () => {
  const m = applyUpdates(base(), [...commit(1n, 1n, T0 + 1000), ...commit(2n, 2n, T0 + 1001, 1n)], { nowMs: T0 + 2000 });
  assert.equal(m.currentSnapshotId, 2n);
  assert.deepEqual(m.snapshotLog, [{ timestampMs: T0 + 1001, snapshotId: 2n }]);
});

test('add-snapshot rejects reused ids, stale sequence numbers and unknown ref targets', () => {
  const m = history();
  assert.throws(() => applyUpdates(m, commit(3n, 4n, T0 + 4000, 3n), { nowMs: T0 + 4000 }), /add-snapshot: snapshot 3 already exists/);
  conflict(() => applyUpdates(m, commit(4n, 3n, T0 + 4000, 3n), { nowMs: T0 + 4000 }), /add-snapshot: expected a sequence number above 3, found 3/);
  assert.throws(
    () => applyUpdates(m, [{ action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: 99n, type: 'branch' } }], { nowMs: T0 + 4000 }),
    (error: unknown) => error instanceof MetadataInvalidError && /set-snapshot-ref main: snapshot 99 does not exist/.test(error.message),
  );
});

test('remove-snapshots drops the history before them; a snapshot a ref still points at is a conflict', () => {
  let m = history();
  m = applyUpdates(m, [{ action: 'set-snapshot-ref', refName: 'old', ref: { snapshotId: 1n, type: 'tag' } }], { nowMs: T0 + 4000 });
  // The tag may have been set after the expiry was planned: removing its snapshot (and files) would lose it.
  conflict(() => applyUpdates(m, [{ action: 'remove-snapshots', snapshotIds: [1n] }], { nowMs: T0 + 5000 }), /tag "old" on snapshot 1/);
  conflict(() => applyUpdates(m, [{ action: 'remove-snapshots', snapshotIds: [3n] }], { nowMs: T0 + 5000 }), /branch "main" on snapshot 3/);
  const expired = applyUpdates(m, [{ action: 'remove-snapshot-ref', refName: 'old' }, { action: 'remove-snapshots', snapshotIds: [1n] }], { nowMs: T0 + 5000 });
  assert.deepEqual(expired.snapshots.map((s) => s.snapshotId), [2n, 3n]);
  assert.equal(expired.refs.has('old'), false, 'the tag removed first is gone');
  assert.equal(expired.currentSnapshotId, 3n);
  assert.deepEqual(expired.snapshotLog.map((e) => e.snapshotId), [2n, 3n]);
  assert.equal(snapshotAsOf(expired, T0 + 1500), undefined, 'no time travel to an expired snapshot');

  const middle = applyUpdates(m, [{ action: 'remove-snapshots', snapshotIds: [2n] }], { nowMs: T0 + 5000 });
  assert.deepEqual(middle.snapshotLog.map((e) => e.snapshotId), [3n], 'history before a removed entry cannot be trusted');

  const all = applyUpdates(m, [{ action: 'remove-snapshot-ref', refName: 'old' }, { action: 'remove-snapshot-ref', refName: 'main' }, { action: 'remove-snapshots', snapshotIds: [1n, 2n, 3n] }], { nowMs: T0 + 5000 });
  assert.equal(all.currentSnapshotId, undefined);
  assert.equal(all.refs.size, 0);
  assert.deepEqual(all.snapshotLog, []);

  const unref = applyUpdates(m, [{ action: 'remove-snapshot-ref', refName: 'main' }], { nowMs: T0 + 5000 });
  assert.equal(unref.currentSnapshotId, undefined);
  assert.equal(unref.snapshots.length, 3);
});

test('set-properties and remove-properties', () => {
  const m = base({ a: '1', b: '2' });
  const set = applyUpdates(m, [{ action: 'set-properties', updates: { b: '20', c: '3' } }], { nowMs: T0 + 1 });
  assert.deepEqual(set.properties, { a: '1', b: '20', c: '3' });
  const removed = applyUpdates(set, [{ action: 'remove-properties', removals: ['a', 'missing'] }], { nowMs: T0 + 2 });
  assert.deepEqual(removed.properties, { b: '20', c: '3' });
  assert.deepEqual(m.properties, { a: '1', b: '2' }, 'the base is never modified');
  assert.equal(removed.lastUpdatedMs, T0 + 2);
});

test('the metadata log keeps at most write.metadata.previous-versions-max previous files', () => {
  let m = base({ 'write.metadata.previous-versions-max': '2' });
  for (let i = 0; i < 4; i++) {
    m = applyUpdates(m, [{ action: 'set-properties', updates: { n: String(i) } }], { nowMs: T0 + 10 * (i + 1), previousMetadataFile: `mem://t/metadata/v${i}.metadata.json` });
  }
  assert.deepEqual(m.metadataLog, [
    { timestampMs: T0 + 20, metadataFile: 'mem://t/metadata/v2.metadata.json' },
    { timestampMs: T0 + 30, metadataFile: 'mem://t/metadata/v3.metadata.json' },
  ], 'the oldest drop out; each entry carries its file\'s last-updated-ms');
  const zero = applyUpdates(base({ 'write.metadata.previous-versions-max': '0' }), [], { nowMs: T0 + 1, previousMetadataFile: 'mem://t/v0.json' });
  assert.equal(zero.metadataLog.length, 1, 'at least one is kept');
  assert.throws(() => applyUpdates(base({ 'write.metadata.previous-versions-max': 'many' }), [], { nowMs: T0, previousMetadataFile: 'x' }), /write.metadata.previous-versions-max="many" is not a number/);
  assert.deepEqual(applyUpdates(base(), [], { nowMs: T0 }).metadataLog, [], 'no previous file, no entry');
});

test('LAST_ADDED (-1) resolves to the schema, spec or sort order added in the same commit', () => {
  const { schema: wider } = buildSchema([
    { name: 'id', type: primitive('long'), required: true },
    { name: 'ts', type: primitive('timestamp') },
    { name: 'note', type: primitive('string') },
  ], { schemaId: 1 });
  const m = applyUpdates(base(), [
    { action: 'add-schema', schema: wider },
    { action: 'set-current-schema', schemaId: LAST_ADDED },
    { action: 'add-spec', spec: { specId: 1, fields: [{ sourceId: 2, fieldId: 1000, name: 'ts_day', transform: parseTransform('day') }] } },
    { action: 'set-default-spec', specId: LAST_ADDED },
    { action: 'add-sort-order', sortOrder: { orderId: 1, fields: [{ sourceId: 1, transform: parseTransform('identity'), direction: 'asc', nullOrder: 'nulls-first' }] } },
    { action: 'set-default-sort-order', sortOrderId: LAST_ADDED },
  ], { nowMs: T0 + 1 });
  assert.equal(currentSchema(m).schemaId, 1);
  assert.equal(m.lastColumnId, 3);
  assert.equal(defaultSpec(m).specId, 1);
  assert.equal(m.lastPartitionId, 1000);
  assert.equal(defaultSortOrder(m).orderId, 1);

  assert.throws(() => applyUpdates(base(), [{ action: 'set-current-schema', schemaId: LAST_ADDED }], { nowMs: T0 }), /set schema to the last added one \(-1\), but this commit added no schema/);
  assert.throws(() => applyUpdates(base(), [{ action: 'set-default-spec', specId: LAST_ADDED }], { nowMs: T0 }), /this commit added no spec/);
  assert.throws(() => applyUpdates(base(), [{ action: 'set-default-sort-order', sortOrderId: LAST_ADDED }], { nowMs: T0 }), /this commit added no sort order/);
});

test('updates that would leave invalid metadata are rejected with MetadataInvalidError', () => {
  const invalid = (updates: TableUpdate[], message: RegExp): void => {
    assert.throws(() => applyUpdates(base(), updates, { nowMs: T0 }), (error: unknown) => error instanceof MetadataInvalidError && message.test(error.message));
  };
  invalid([{ action: 'set-current-schema', schemaId: 5 }], /schema 5 is not among schemas \[0\]/);
  invalid([{ action: 'set-default-spec', specId: 5 }], /partition spec 5 is not among specs \[0\]/);
  invalid([{ action: 'set-default-sort-order', sortOrderId: 5 }], /default-sort-order-id 5 is not among sort-orders \[0\]/);
  invalid([{ action: 'add-schema', schema }], /add-schema: schema id 0 already exists/);
  invalid([{ action: 'add-spec', spec: { specId: 0, fields: [] } }], /add-spec: spec id 0 already exists/);
  invalid([{ action: 'add-sort-order', sortOrder: { orderId: 0, fields: [] } }], /add-sort-order: sort order id 0 already exists/);
  invalid([
    { action: 'add-spec', spec: { specId: 1, fields: [{ sourceId: 1, fieldId: 1000, name: 'x', transform: parseTransform('day') }] } },
    { action: 'set-default-spec', specId: 1 },
  ], /partition field "x": day does not apply to long field "id"/);
});

test('set-location, assign-uuid and upgrade-format-version', () => {
  const m = applyUpdates(base(), [
    { action: 'set-location', location: 's3://b/moved///' },
    { action: 'assign-uuid', uuid: 'u-9' },
    { action: 'upgrade-format-version', formatVersion: 2 },
  ], { nowMs: T0 + 1 });
  assert.equal(m.location, 's3://b/moved');
  assert.equal(m.tableUuid, 'u-9');
  assert.equal(m.formatVersion, 2);
});

test('set-statistics replaces the entry of its snapshot, remove-statistics drops it, an unknown snapshot is refused', () => {
  const m = history();
  const stats = (id: bigint, path: string): Record<string, unknown> => ({ 'snapshot-id': id, 'statistics-path': path, 'file-size-in-bytes': 10, 'file-footer-size-in-bytes': 5, 'blob-metadata': [] });
  let next = applyUpdates(m, [{ action: 'set-statistics', statistics: stats(2n, 'a.stats') }, { action: 'set-statistics', statistics: stats(3n, 'b.stats') }], { nowMs: T0 + 5000 });
  next = applyUpdates(next, [{ action: 'set-statistics', statistics: stats(2n, 'c.stats') }], { nowMs: T0 + 6000 });
  assert.deepEqual(next.statistics.map((e) => (e as Record<string, unknown>)['statistics-path']), ['b.stats', 'c.stats']);
  next = applyUpdates(next, [{ action: 'remove-statistics', snapshotId: 3n }], { nowMs: T0 + 7000 });
  assert.deepEqual(next.statistics.map((e) => (e as Record<string, unknown>)['statistics-path']), ['c.stats']);
  assert.throws(() => applyUpdates(m, [{ action: 'set-statistics', statistics: stats(99n, 'x') }], { nowMs: T0 }), MetadataInvalidError);
});

test('newTableMetadataFromUpdates: a staged create with a first snapshot', () => {
  const m = newTableMetadataFromUpdates([
    { action: 'assign-uuid', uuid: 'u-9' },
    { action: 'upgrade-format-version', formatVersion: 2 },
    { action: 'add-schema', schema },
    { action: 'set-current-schema', schemaId: LAST_ADDED },
    { action: 'set-location', location: 'mem://staged/' },
    { action: 'set-properties', updates: { a: '1' } },
    ...commit(7n, 1n, T0 + 10),
  ], { location: 'mem://default', tableUuid: 'ignored', nowMs: T0 + 20 });
  assert.equal(m.tableUuid, 'u-9');
  assert.equal(m.location, 'mem://staged');
  assert.deepEqual(m.properties, { a: '1' });
  assert.equal(m.currentSnapshotId, 7n);
  assert.throws(() => newTableMetadataFromUpdates([{ action: 'set-properties', updates: {} }], { location: 'x', tableUuid: 'u', nowMs: T0 }), /add-schema/);
});
