import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import { buildSchema } from './schema.js';
import type { Snapshot } from './snapshot.js';
import type { TableMetadata } from './table-metadata.js';
import {
  ancestorsOf,
  currentSchema,
  currentSnapshot,
  defaultSortOrder,
  defaultSpec,
  parseTableMetadata,
  serializeTableMetadata,
  snapshotAsOf,
  snapshotForRef,
  tableMetadataToJson,
} from './table-metadata.js';
import { applyUpdates, newTableMetadata } from './table-update.js';
import { parseTransform } from './transforms.js';
import { decimal, primitive } from './types.js';

const BIG_ID = 9223372036854775807n; // 2^63 - 1: loses precision as a JS number
const BIG_PARENT = 9007199254740993n; // 2^53 + 1

const { schema } = buildSchema(
  [
    { name: 'id', type: primitive('long'), required: true },
    { name: 'ts', type: primitive('timestamptz') },
    { name: 'tags', type: { kind: 'list', element: primitive('string') } },
    { name: 'amount', type: decimal(12, 2) },
  ],
  { identifierFields: ['id'] },
);

const snapshot = (snapshotId: bigint, sequenceNumber: bigint, timestampMs: number, parentSnapshotId?: bigint): Snapshot => ({
  snapshotId,
  ...(parentSnapshotId === undefined ? {} : { parentSnapshotId }),
  sequenceNumber,
  timestampMs,
  manifestList: `s3://bucket/t/metadata/snap-${snapshotId}.avro`,
  summary: { operation: 'append', 'added-records': '10' },
  schemaId: 0,
});

function table(): TableMetadata {
  return newTableMetadata({
    location: 's3://bucket/t/',
    tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
    schema,
    spec: { specId: 0, fields: [{ sourceId: 2, fieldId: 1000, name: 'ts_day', transform: parseTransform('day') }] },
    sortOrder: { orderId: 1, fields: [{ sourceId: 1, transform: parseTransform('identity'), direction: 'asc', nullOrder: 'nulls-first' }] },
    properties: { 'write.format.default': 'parquet' },
    nowMs: 1_700_000_000_000,
  });
}

function withHistory(): TableMetadata {
  let m = table();
  m = applyUpdates(m, [{ action: 'add-snapshot', snapshot: snapshot(BIG_PARENT, 1n, 1_700_000_001_000) }, { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: BIG_PARENT, type: 'branch' } }], { nowMs: 1_700_000_001_500 });
  m = applyUpdates(m, [{ action: 'add-snapshot', snapshot: snapshot(BIG_ID, 2n, 1_700_000_002_000, BIG_PARENT) }, { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: BIG_ID, type: 'branch' } }], { nowMs: 1_700_000_002_500 });
  return applyUpdates(m, [{ action: 'set-snapshot-ref', refName: 'v1', ref: { snapshotId: BIG_PARENT, type: 'tag', maxRefAgeMs: 86_400_000 } }], { nowMs: 1_700_000_003_000 });
}

test('newTableMetadata builds valid v2 metadata', () => {
  const m = table();
  assert.equal(m.formatVersion, 2);
  assert.equal(m.location, 's3://bucket/t', 'trailing slashes are dropped');
  assert.equal(m.lastColumnId, 5);
  assert.equal(m.lastPartitionId, 1000);
  assert.equal(m.lastSequenceNumber, 0n);
  assert.equal(m.currentSnapshotId, undefined);
  assert.equal(currentSnapshot(m), undefined);
  assert.equal(currentSchema(m), schema);
  assert.equal(defaultSpec(m).fields[0]?.name, 'ts_day');
  assert.equal(defaultSortOrder(m).orderId, 1);
  const json = tableMetadataToJson(m);
  assert.equal(json['current-snapshot-id'], -1);
  assert.deepEqual(json.refs, {});
});

test('metadata serializes and parses back equal, 63-bit snapshot ids exactly', () => {
  const m = withHistory();
  const text = serializeTableMetadata(m);
  assert.match(text, /"current-snapshot-id": 9223372036854775807,/, 'written as a bare JSON number');
  assert.match(text, /"parent-snapshot-id": 9007199254740993/);
  const back = parseTableMetadata(text, 's3://bucket/t/metadata/00002.metadata.json');
  assert.deepEqual(back, m);
  assert.equal(back.currentSnapshotId, BIG_ID);
  assert.equal(back.refs.get('v1')?.snapshotId, BIG_PARENT);
  assert.equal(back.snapshotLog.at(-1)?.snapshotId, BIG_ID);
  assert.equal(serializeTableMetadata(back), text, 'serializing again gives the same bytes');
});

test('a new, empty table round trips too', () => {
  const m = table();
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(m)), m);
});

test('v1 metadata (single schema and partition-spec, no refs, no sequence numbers) parses', () => {
  const v1 = `{
    "format-version": 1,
    "table-uuid": "d20125c8-7284-442c-9aea-15fee620737c",
    "location": "s3://bucket/legacy",
    "last-updated-ms": 1602638573874,
    "last-column-id": 3,
    "schema": {"type": "struct", "fields": [
      {"id": 1, "name": "x", "required": true, "type": "long"},
      {"id": 2, "name": "y", "required": true, "type": "long", "doc": "comment"},
      {"id": 3, "name": "z", "required": true, "type": "long"}]},
    "partition-spec": [{"name": "x", "transform": "identity", "source-id": 1}],
    "properties": {},
    "current-snapshot-id": 3055729675574597004,
    "snapshots": [
      {"snapshot-id": 3051729675574597004, "timestamp-ms": 1515100955770, "summary": {"operation": "append"}, "manifest-list": "s3://a/b/1.avro"},
      {"snapshot-id": 3055729675574597004, "parent-snapshot-id": 3051729675574597004, "timestamp-ms": 1555100955770,
       "summary": {"operation": "append"}, "manifest-list": "s3://a/b/2.avro", "schema-id": 0}],
    "snapshot-log": [
      {"snapshot-id": 3051729675574597004, "timestamp-ms": 1515100955770},
      {"snapshot-id": 3055729675574597004, "timestamp-ms": 1555100955770}]
  }`;
  const m = parseTableMetadata(v1, 'v1.metadata.json');
  assert.equal(m.formatVersion, 1);
  assert.equal(m.lastSequenceNumber, 0n);
  assert.equal(m.schemas.length, 1);
  assert.equal(currentSchema(m).fields[1]?.doc, 'comment');
  assert.deepEqual(defaultSpec(m), { specId: 0, fields: [{ sourceId: 1, fieldId: 1000, name: 'x', transform: { kind: 'identity' } }] });
  assert.equal(m.lastPartitionId, 1000);
  assert.equal(m.currentSnapshotId, 3055729675574597004n);
  assert.deepEqual(m.refs.get('main'), { snapshotId: 3055729675574597004n, type: 'branch' }, 'main is derived from the current snapshot');
  assert.equal(currentSnapshot(m)?.sequenceNumber, 0n);
  assert.equal(defaultSortOrder(m).fields.length, 0);
  // Written back as v1, with the single schema and spec that v1 readers need.
  const json = tableMetadataToJson(m);
  assert.equal(json['format-version'], 1);
  assert.ok('schema' in json && 'partition-spec' in json && !('last-sequence-number' in json));
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(m)), m);
});

test('corrupt or invalid metadata gives MetadataInvalidError naming the file', () => {
  const file = 's3://bucket/t/metadata/00007-abc.metadata.json';
  const check = (text: string, message: RegExp): void => {
    assert.throws(() => parseTableMetadata(text, file), (error: unknown) => {
      assert.ok(error instanceof MetadataInvalidError, String(error));
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      assert.equal(error.context.file, file);
      return true;
    });
  };
  check('{"format-version": 2, "location": ', /not valid JSON/);
  check('[1, 2]', /expected a JSON object/);
  check('{"format-version": 3}', /format-version 3 is not supported \(expected 1 or 2\)/);
  const valid = JSON.parse(serializeTableMetadata(table())) as Record<string, unknown>;
  check(JSON.stringify({ ...valid, location: 7 }), /"location" is required \(a string\), found 7/);
  check(JSON.stringify({ ...valid, 'current-schema-id': 4 }), /schema 4 is not among schemas \[0\]/);
  check(JSON.stringify({ ...valid, 'default-sort-order-id': 9 }), /default-sort-order-id 9 is not among sort-orders \[1\]/);
  check(JSON.stringify({ ...valid, 'last-column-id': 2 }), /schema 0 uses field id 5 above last-column-id 2/);
  check(JSON.stringify({ ...valid, refs: { main: { 'snapshot-id': 5, type: 'branch' } } }), /ref "main" points at snapshot 5, which is not in snapshots/);
  check(JSON.stringify({ ...valid, 'last-sequence-number': 'x' }), /last-sequence-number: expected a 64-bit integer, found "x"/);
});

test('snapshotAsOf answers from the snapshot log; ancestorsOf walks parents newest first', () => {
  const m = withHistory();
  assert.equal(snapshotAsOf(m, 1_700_000_000_999), undefined, 'before the first snapshot');
  assert.equal(snapshotAsOf(m, 1_700_000_001_000)?.snapshotId, BIG_PARENT);
  assert.equal(snapshotAsOf(m, 1_700_000_001_999)?.snapshotId, BIG_PARENT);
  assert.equal(snapshotAsOf(m, 1_700_000_002_000)?.snapshotId, BIG_ID);
  assert.equal(snapshotAsOf(m, Number.MAX_SAFE_INTEGER)?.snapshotId, BIG_ID);
  assert.deepEqual(ancestorsOf(m, BIG_ID).map((s) => s.snapshotId), [BIG_ID, BIG_PARENT]);
  assert.deepEqual(ancestorsOf(m, BIG_PARENT).map((s) => s.snapshotId), [BIG_PARENT]);
  assert.deepEqual(ancestorsOf(m, undefined), []);
  assert.deepEqual(ancestorsOf(m, 42n), []);
  // A parent that was expired ends the chain.
  const expired = applyUpdates(m, [{ action: 'remove-snapshot-ref', refName: 'v1' }, { action: 'remove-snapshots', snapshotIds: [BIG_PARENT] }], { nowMs: 1_700_000_004_000 });
  assert.deepEqual(ancestorsOf(expired, BIG_ID).map((s) => s.snapshotId), [BIG_ID]);
  // A corrupt parent cycle does not loop forever.
  const looped = { ...m, snapshots: [snapshot(1n, 1n, 1, 2n), snapshot(2n, 2n, 2, 1n)] };
  assert.deepEqual(ancestorsOf(looped, 2n).map((s) => s.snapshotId), [2n, 1n]);
});

test('snapshotForRef resolves branches and tags', () => {
  const m = withHistory();
  assert.equal(snapshotForRef(m)?.snapshotId, BIG_ID);
  assert.equal(snapshotForRef(m, 'v1')?.snapshotId, BIG_PARENT);
  assert.throws(() => snapshotForRef(m, 'dev'), (error: unknown) => error instanceof NotFoundError && /has no branch or tag "dev"/.test(error.message));
});
