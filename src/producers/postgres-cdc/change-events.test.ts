import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourcePosition, validateChangeEvent } from '../../schemas/envelope.js';
import { deleteEvents, insertEvents, type Outgoing, Positioner, snapshotRow, type TableContext, type TransactionInfo, truncateEvents, updateEvents } from './change-events.js';
import { PG_TYPE_OID } from './pg-types.js';
import { RowCodec } from './row-schema.js';

const codec = new RowCodec(
  {
    columns: [
      { name: 'id', typeOid: PG_TYPE_OID.int4, typeMod: -1, notNull: true },
      { name: 'body', typeOid: PG_TYPE_OID.text, typeMod: -1, notNull: false },
      { name: 'at', typeOid: PG_TYPE_OID.timestamptz, typeMod: -1, notNull: false },
    ],
    primaryKey: ['id'],
  },
  'public.t',
);
const ctx: TableContext = { name: 'duckhouse', db: 'db', schema: 'public', table: 't', codec, tombstones: true, now: () => 99n };
const tx: TransactionInfo = { xid: 7n, commitLsn: 500n, commitTimeMs: 1234n };

const events = (items: Outgoing[]): { op: string; key: unknown; before: unknown; after: unknown; seq: string | null; missing: string[] | null }[] =>
  items.map((item) => {
    if (item.kind === 'tombstone') return { op: 'tombstone', key: item.key, before: null, after: null, seq: null, missing: null };
    if (item.kind === 'dead-letter') return { op: `dlq:${item.op}`, key: item.column, before: item.raw, after: null, seq: item.sequence, missing: null };
    validateChangeEvent(item.event, 'test');
    return { op: item.event.op, key: item.key, before: item.event.before, after: item.event.after, seq: item.event.source.sequence, missing: item.event.unavailable_columns };
  });

test('insert → c with source block (commit time, xid, lsn, sequence) and processing ts_ms', () => {
  const [item] = insertEvents(ctx, tx, 400n, new Positioner(), { id: '1', body: 'x', at: null });
  assert.ok(item?.kind === 'event');
  assert.equal(item.event.ts_ms, 99n);
  assert.deepEqual({ ...item.event.source }, {
    version: '1', connector: 'postgresql', name: 'duckhouse', ts_ms: 1234n, snapshot: null, db: 'db', sequence: '["500","400","0"]',
    schema: 'public', table: 't', txId: 7n, lsn: 400n, xmin: null, file: null, file_sha256: null, line: null,
  });
  assert.deepEqual(sourcePosition(item.event.source), [500n, 400n, 0n]);
});

test('update: u with before only from a full old row; unchanged TOAST without it → null and listed', () => {
  const positions = new Positioner();
  assert.deepEqual(events(updateEvents(ctx, tx, 400n, positions, { old: null, key: null, new: { id: '1', body: undefined, at: null } })), [
    { op: 'u', key: { id: 1 }, before: null, after: { id: 1, body: null, at: null }, seq: '["500","400","0"]', missing: ['body'] },
  ]);
  assert.deepEqual(events(updateEvents(ctx, tx, 401n, positions, { old: { id: '1', body: 'old', at: null }, key: null, new: { id: '1', body: 'old', at: null } })), [
    { op: 'u', key: { id: 1 }, before: { id: 1, body: 'old', at: null }, after: { id: 1, body: 'old', at: null }, seq: '["500","401","0"]', missing: null },
  ]);
});

test('primary-key change → d (old key) + tombstone + c (new key) at indexes 0 and 1 of the same LSN', () => {
  const out = events(updateEvents(ctx, tx, 410n, new Positioner(), { old: null, key: { id: '1' }, new: { id: '2', body: 'b', at: null } }));
  assert.deepEqual(out, [
    { op: 'd', key: { id: 1 }, before: { id: 1, body: null, at: null }, after: null, seq: '["500","410","0"]', missing: null },
    { op: 'tombstone', key: { id: 1 }, before: null, after: null, seq: null, missing: null },
    { op: 'c', key: { id: 2 }, before: null, after: { id: 2, body: 'b', at: null }, seq: '["500","410","1"]', missing: null },
  ]);
  // With REPLICA IDENTITY FULL the old row is full and the key change is found by comparing it.
  const full = events(updateEvents({ ...ctx, tombstones: false }, tx, 411n, new Positioner(), { old: { id: '2', body: 'b', at: null }, key: null, new: { id: '3', body: 'b', at: null } }));
  assert.deepEqual(full.map((e) => [e.op, e.key, e.before]), [['d', { id: 2 }, { id: 2, body: 'b', at: null }], ['c', { id: 3 }, null]]);
});

test('delete → d + tombstone (or none); truncate → t without key; positions count events sharing an LSN', () => {
  const positions = new Positioner();
  assert.deepEqual(events(deleteEvents(ctx, tx, 420n, positions, { old: null, key: { id: '5' } })).map((e) => [e.op, e.key, e.seq]), [
    ['d', { id: 5 }, '["500","420","0"]'],
    ['tombstone', { id: 5 }, null],
  ]);
  // A multi-insert record decodes to several changes at one LSN: each gets its own index.
  assert.deepEqual([insertEvents(ctx, tx, 430n, positions, { id: '6', body: null, at: null }), insertEvents(ctx, tx, 430n, positions, { id: '7', body: null, at: null })].flatMap(events).map((e) => e.seq), ['["500","430","0"]', '["500","430","1"]']);
  const [t] = truncateEvents(ctx, tx, 440n, positions);
  assert.ok(t?.kind === 'event' && t.allPartitions && t.key === null && t.event.op === 't');
  assert.equal(deleteEvents({ ...ctx, tombstones: false }, tx, 450n, positions, { old: null, key: { id: '5' } }).length, 1);
  positions.reset();
  assert.equal(positions.next(430n), 0n);
});

test('a value that cannot be converted becomes a dead letter naming the column and raw text; other events go on', () => {
  const out = insertEvents(ctx, tx, 460n, new Positioner(), { id: '8', body: null, at: 'infinity' });
  assert.deepEqual(events(out), [{ op: 'dlq:c', key: 'at', before: 'infinity', after: null, seq: '["500","460","0"]', missing: null }]);
  assert.ok(out[0]?.kind === 'dead-letter' && /column at \(timestamptz → timestamp-micros \(UTC\)\).*infinity/.test(out[0].reason));
});

test('snapshot rows: op r, snapshot true or last, lsn = consistent point, no sequence', () => {
  const [row] = snapshotRow(ctx, { id: '1', body: 'x', at: '2024-01-01 00:00:00+00' }, 300n, 1000n, false);
  const [last] = snapshotRow(ctx, { id: '2', body: 'x', at: null }, 300n, 1000n, true);
  assert.ok(row?.kind === 'event' && last?.kind === 'event');
  assert.deepEqual([row.event.op, row.event.source.snapshot, row.event.source.lsn, row.event.source.sequence, row.event.source.ts_ms], ['r', 'true', 300n, null, 1000n]);
  assert.equal(last.event.source.snapshot, 'last');
  assert.equal(row.event.after?.at, BigInt(Date.UTC(2024, 0, 1)) * 1000n);
});
