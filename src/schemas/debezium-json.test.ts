// Parses every line of the real Debezium fixtures (test/fixtures/debezium, made by scripts/debezium-fixtures.sh from
// scripts/debezium/schema.sql + changes.sql) in both JsonConverter modes, and checks the parser's errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { DataInvalidError } from '../shared/errors.js';
import { typeToString } from '../catalog/spec/types.js';
import type { ChangeEvent } from './envelope.js';
import { comparePositions, sourcePosition } from './envelope.js';
import { decimalText, epochFromIsoText, unscaledFromDecimalText } from './debezium-connect.js';
import type { ConnectSchema, DebeziumMessage } from './debezium-json.js';
import { coerceRow, connectSchemaToIceberg, parseDebeziumJson } from './debezium-json.js';

type Mode = 'schemas' | 'schemaless';
type Table = 'all_types' | 'full_identity';
const FIXTURES = new URL('../../test/fixtures/debezium/', import.meta.url);

interface Parsed extends DebeziumMessage { offset: number; where: string }

/** One fixture file, each line's key and value handed to the parser as the exact text Kafka carried. */
function load(mode: Mode, table: Table): Parsed[] {
  const text = readFileSync(new URL(`${mode}/${table}.jsonl`, FIXTURES), 'utf8');
  return text.trimEnd().split('\n').map((line) => {
    const record = parseLossless(line) as { topic: string; partition: unknown; offset: unknown; key: unknown; value: unknown };
    const where = `topic ${record.topic} partition ${String(record.partition)} offset ${String(record.offset)}`;
    const raw = (v: unknown): string | null => (v === null ? null : stringifyLossless(v) ?? null);
    return { ...parseDebeziumJson(raw(record.key), raw(record.value), where), offset: Number(String(record.offset)), where };
  });
}

const MODES: Mode[] = ['schemas', 'schemaless'];
const ALL = Object.fromEntries(MODES.map((m) => [m, { all_types: load(m, 'all_types'), full_identity: load(m, 'full_identity') }])) as Record<Mode, Record<Table, Parsed[]>>;
const ev = (p: Parsed | undefined): ChangeEvent => p?.event ?? assert.fail('expected an event');

const OPS: Record<Table, (string | null)[]> = {
  all_types: ['r', 'r', 'r', 'c', 'c', 'u', 'u', 'u', 'd', null, 'c', 'd', null, 'c', 'u', 't'],
  full_identity: ['r', 'r', 'c', 'u', 'u', 'd', null, 'c', 'd', null, 't'],
};
const KEYS: Record<Table, (number | null)[]> = {
  all_types: [1, 2, 3, 10, 11, 10, 10, 1, 11, 11, 12, 2, 2, 13, 13, null],
  full_identity: [1, 2, 3, 1, 2, 3, 3, 4, 2, 2, null],
};

for (const mode of MODES) {
  test(`${mode}: every fixture line parses; ops, keys, offsets and sources are as scripts/debezium/changes.sql made them`, () => {
    for (const table of ['all_types', 'full_identity'] as Table[]) {
      const messages = ALL[mode][table];
      assert.deepEqual(messages.map((m) => m.event?.op ?? null), OPS[table], `${mode}/${table} ops`);
      assert.deepEqual(messages.map((m) => (m.key === null ? null : Number(m.key.id))), KEYS[table], `${mode}/${table} keys`);
      assert.deepEqual(messages.map((m) => m.offset), messages.map((_, i) => i));
      for (const m of messages) {
        if (m.key !== null) assert.equal(m.keySchema === null, mode === 'schemaless');
        if (!m.event) continue;
        assert.equal(m.valueSchema === null, mode === 'schemaless');
        const s = m.event.source;
        assert.deepEqual([s.version, s.connector, s.name, s.db, s.schema, s.table], ['3.7.0.Final', 'postgresql', 'dbzfix', 'dbz_fixtures', 'public', table]);
        assert.equal(typeof s.ts_ms, 'bigint');
        assert.equal(typeof s.lsn, 'bigint');
        assert.equal(typeof s.txId, 'bigint');
        assert.equal(typeof m.event.ts_ms, 'bigint');
        assert.deepEqual([s.xmin, s.file, s.file_sha256, s.line], [null, null, null, null]);
      }
      // Snapshot rows carry sequence [null, lsn]; streamed changes [commit lsn, lsn] in non-decreasing order.
      const snapshot = messages.filter((m) => m.event?.op === 'r').map((m) => ev(m).source);
      assert.ok(snapshot.every((s) => s.snapshot !== 'false' && s.sequence?.startsWith('[null,')));
      const streamed = messages.filter((m) => m.event && m.event.op !== 'r').map((m) => sourcePosition(ev(m).source) ?? assert.fail(`${m.where}: no position`));
      for (let i = 1; i < streamed.length; i++) {
        assert.ok(comparePositions(streamed[i - 1]!, streamed[i]!) <= 0, `${mode}/${table}: positions in order at ${i}`);
      }
    }
  });

  test(`${mode}: a primary-key change is a delete of the old key, its tombstone and a create of the new key at the same position`, () => {
    for (const [table, from, to] of [['all_types', 11, 12], ['full_identity', 3, 4]] as const) {
      const messages = ALL[mode][table];
      const i = messages.findIndex((m) => m.event?.op === 'd' && Number(m.key?.id) === from);
      const [del, tomb, create] = [messages[i], messages[i + 1], messages[i + 2]];
      assert.equal(Number(ev(del).before?.id), from);
      assert.equal(ev(del).after, null);
      assert.equal(tomb?.event, null);
      assert.equal(Number(tomb?.key?.id), from);
      assert.equal(ev(create).op, 'c');
      assert.equal(ev(create).before, null);
      assert.equal(Number(ev(create).after?.id), to);
      // Debezium gives both events the same lsn and sequence: dedup by position must not drop the create.
      assert.equal(ev(create).source.sequence, ev(del).source.sequence);
      assert.equal(comparePositions(sourcePosition(ev(del).source)!, sourcePosition(ev(create).source)!), 0);
      assert.equal(ev(create).source.txId, ev(del).source.txId);
    }
  });

  test(`${mode}: deletes, tombstones and truncates`, () => {
    const messages = ALL[mode].all_types;
    const del = messages.find((m) => m.event?.op === 'd' && Number(m.key?.id) === 2);
    // Default replica identity: before holds the key, every other column null.
    assert.equal(Number(ev(del).before?.id), 2);
    assert.ok(Object.entries(ev(del).before ?? {}).every(([k, v]) => k === 'id' || v === null));
    for (const table of ['all_types', 'full_identity'] as Table[]) {
      const list = ALL[mode][table];
      for (const [i, m] of list.entries()) if (m.event === null) assert.equal(list[i - 1]?.event?.op, 'd', 'a tombstone follows its delete');
      const last = list.at(-1)!;
      assert.equal(last.key, null);
      assert.deepEqual([ev(last).op, ev(last).before, ev(last).after, ev(last).source.table], ['t', null, null, table]);
    }
    // REPLICA IDENTITY FULL: updates and deletes carry the whole old row.
    const full = ALL[mode].full_identity;
    const update = ev(full.find((m) => m.event?.op === 'u'));
    assert.equal(update.before?.name, 'one');
    assert.equal(update.after?.name, 'one, renamed');
  });

  test(`${mode}: unchanged TOASTed columns become null plus unavailable_columns (default identity only)`, () => {
    const updates = ALL[mode].all_types.filter((m) => m.event?.op === 'u').map(ev);
    const [first, second, third] = updates;
    // The first update rewrote c_toast and c_toast_bytes but not c_toast_ints (the int-array placeholder form).
    assert.deepEqual(first?.unavailable_columns, ['c_toast_ints']);
    assert.equal(first?.after?.c_toast, 'toast-10b '.repeat(300));
    assert.equal(first?.after?.c_toast_ints, null);
    for (const e of [second, third]) {
      assert.deepEqual(e?.unavailable_columns, ['c_toast', 'c_toast_bytes', 'c_toast_ints']);
      assert.deepEqual([e?.after?.c_toast, e?.after?.c_toast_bytes, e?.after?.c_toast_ints], [null, null, null]);
    }
    assert.equal(second?.after?.c_text, 'ten, again');
    assert.equal(updates.at(-1)?.unavailable_columns, null);
    // REPLICA IDENTITY FULL: Debezium fills the unchanged value from the old row, no placeholder at all.
    const full = ALL[mode].full_identity.filter((m) => m.event).map(ev);
    assert.ok(full.every((e) => e.unavailable_columns === null));
    const renamed = full.find((e) => e.op === 'u' && e.after?.name === 'one, renamed');
    assert.equal(renamed?.after?.big_text, 'big-1 '.repeat(400));
  });
}

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('schemas: exact typed values of known rows', () => {
  const rows = ALL.schemas.all_types.map((m) => m.event?.after ?? null);
  assert.deepEqual(rows[0], {
    id: 1, c_int8: 9007199254740993n, c_int2: 32767, c_numeric: 1234567891n,
    c_numeric_any: '3.14159265358979323846264338327950288419', c_real: 1.5, c_double: 2.718281828459045, c_bool: true,
    c_text: 'hello', c_varchar: 'varchar ü', c_toast: 'toast-1 '.repeat(300), c_toast_bytes: hex('00ff10'.repeat(700)),
    c_toast_ints: range(1, 600), c_date: 19782, c_time: 49556123456n, c_ts: 1709214356123456n, c_tstz: 1709207156123456n,
    c_jsonb: '{"a": 1, "b": [true, null], "c": "x"}', c_uuid: '8e4c2a3e-7d1f-4b8e-9a6b-0c1d2e3f4a5b', c_bytea: hex('00ff7f80'),
    c_int_arr: [1, 2, null, -4], c_text_arr: ['a', 'b c', null, 'd"e'],
  });
  assert.ok(Object.entries(rows[1] ?? {}).every(([k, v]) => (k === 'id' ? v === 2 : v === null)));
  assert.deepEqual(rows[2], {
    id: 3, c_int8: -9223372036854775808n, c_int2: -32768, c_numeric: -1n, c_numeric_any: '-123456789012345678901234567890.123456789',
    c_real: Number.NaN, c_double: Number.NEGATIVE_INFINITY, c_bool: false, c_text: '', c_varchar: '', c_toast: 'toast-3 '.repeat(300),
    c_toast_bytes: hex('ab'.repeat(2100)), c_toast_ints: null, c_date: -1, c_time: 0n, c_ts: -1n, c_tstz: 0n, c_jsonb: '[]',
    c_uuid: '00000000-0000-0000-0000-000000000000', c_bytea: new Uint8Array(0), c_int_arr: [], c_text_arr: [],
  });
  const ten = rows[3];
  assert.deepEqual([ten?.c_numeric, ten?.c_numeric_any, ten?.c_double, ten?.c_time, ten?.c_ts, ten?.c_tstz, ten?.c_toast_ints],
    [50n, '100', -1e300, 86399999999n, 946684800000000n, 946702800000000n, range(601, 1200)]);
  const full = ALL.schemas.full_identity.map((m) => m.event?.after ?? null);
  assert.deepEqual(full[1], { id: 2, name: 'two', big_text: 'big-2 '.repeat(400), amount: -2125n, updated_at: 1704196800500000n });
});

test('connectSchemaToIceberg: the Iceberg schema of a schema\'d Debezium topic', () => {
  const first = ALL.schemas.all_types[0]!;
  const { schema, fields } = connectSchemaToIceberg(first.valueSchema!, { keySchema: first.keySchema });
  const types = Object.fromEntries(schema.fields.map((f) => [f.name, `${f.required ? 'required ' : ''}${typeToString(f.type)}`]));
  assert.deepEqual(types, {
    id: 'required int', c_int8: 'long', c_int2: 'int', c_numeric: 'decimal(10, 2)', c_numeric_any: 'string', c_real: 'float',
    c_double: 'double', c_bool: 'boolean', c_text: 'string', c_varchar: 'string', c_toast: 'string', c_toast_bytes: 'binary',
    c_toast_ints: 'list<int>', c_date: 'date', c_time: 'time', c_ts: 'timestamp', c_tstz: 'timestamptz', c_jsonb: 'string',
    c_uuid: 'uuid', c_bytea: 'binary', c_int_arr: 'list<int>', c_text_arr: 'list<string>',
  });
  assert.deepEqual(schema.identifierFieldIds, [1]);
  assert.equal(fields.length, 22);
  const fi = ALL.schemas.full_identity[0]!;
  const fullSchema = connectSchemaToIceberg(fi.valueSchema!, { keySchema: fi.keySchema }).schema;
  assert.deepEqual(fullSchema.fields.map((f) => typeToString(f.type)), ['int', 'string', 'string', 'decimal(12, 3)', 'timestamptz']);
});

test('schemaless rows coerced to the topic\'s Iceberg schema equal the schema\'d parse of the same changes', () => {
  for (const table of ['all_types', 'full_identity'] as Table[]) {
    const first = ALL.schemas[table][0]!;
    const { schema } = connectSchemaToIceberg(first.valueSchema!, { keySchema: first.keySchema });
    ALL.schemaless[table].forEach((m, i) => {
      const typed = ALL.schemas[table][i]!;
      if (!m.event) return assert.equal(typed.event, null);
      for (const side of ['before', 'after'] as const) {
        const row: Record<string, unknown> | null = m.event[side];
        assert.deepEqual(row === null ? null : coerceRow(row, schema, `${m.where}, ${side}`), ev(typed)[side], `${table} #${i} ${side}`);
      }
      assert.deepEqual(m.event.unavailable_columns, ev(typed).unavailable_columns);
    });
  }
});

// ---- errors and synthetic cases ----

const SOURCE = { version: '3.7.0.Final', connector: 'postgresql', name: 'x', ts_ms: 1, db: 'd', schema: 'public', table: 't', lsn: 5, txId: 2, sequence: '["4","5"]' };
const payload = (extra: Record<string, unknown>): string => JSON.stringify({ before: null, after: { id: 1 }, source: SOURCE, op: 'c', ts_ms: 2, ...extra });
const WHERE = 'topic t partition 0 offset 12';

function throwsData(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof DataInvalidError && error.message.includes(WHERE) && pattern.test(error.message));
}

test('errors name the message and say what was expected and found', () => {
  throwsData(() => parseDebeziumJson(null, '{"op":', WHERE), /the value is not valid JSON/);
  throwsData(() => parseDebeziumJson('[1]', payload({}), WHERE), /expected the key to be a JSON object/);
  throwsData(() => parseDebeziumJson(null, payload({ op: undefined }), WHERE), /expected "op".*found nothing/);
  throwsData(() => parseDebeziumJson(null, payload({ op: 'x' }), WHERE), /one of c, u, d, r, t, found "x"/);
  throwsData(() => parseDebeziumJson(null, payload({ op: 'm' }), WHERE), /logical decoding messages/);
  throwsData(() => parseDebeziumJson(null, payload({ after: null }), WHERE), /op "c" needs an "after" row/);
  throwsData(() => parseDebeziumJson(null, payload({ source: { ...SOURCE, ts_ms: 'soon' } }), WHERE), /source\.ts_ms: expected an int64/);
  throwsData(() => parseDebeziumJson(null, payload({ source: undefined }), WHERE), /expected a "source" block/);
  throwsData(() => parseDebeziumJson(null, '"just a string"', WHERE), /expected a change envelope/);
  const flat: ConnectSchema = { type: 'struct', name: 't.Value', fields: [{ type: 'int32', field: 'id' }] };
  throwsData(() => parseDebeziumJson(null, JSON.stringify({ schema: flat, payload: { id: 1 } }), WHERE), /flattened records/);
  const envelope: ConnectSchema = { type: 'struct', fields: [
    { type: 'struct', field: 'after', optional: true, fields: [{ type: 'bytes', field: 'b', optional: true }] },
    { type: 'string', field: 'op' },
  ] };
  throwsData(() => parseDebeziumJson(null, JSON.stringify({ schema: envelope, payload: JSON.parse(payload({ after: { b: 'not base64!' } })) }), WHERE), /after\.b: expected base64/);
  const { schema } = connectSchemaToIceberg({ type: 'struct', fields: [
    { type: 'int64', field: 'n', optional: false },
    { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '4' }, field: 'd' },
  ] }, { identifierFields: ['n'] });
  throwsData(() => coerceRow({ n: 1, extra: 2 }, schema, WHERE), /columns extra are not in the table schema/);
  throwsData(() => coerceRow({ n: 'one' }, schema, WHERE), /\.n: expected a long/);
  throwsData(() => coerceRow({ d: '123.45' }, schema, WHERE), /does not fit decimal\(4, 2\)/);
  throwsData(() => coerceRow({ d: '1.234' }, schema, WHERE), /more than 2 digits after the point/);
  assert.deepEqual(coerceRow({ n: 9007199254740993n, d: '-1.5' }, schema, WHERE), { n: 9007199254740993n, d: -150n });
  assert.deepEqual(coerceRow({ n: '7', d: 12 }, schema, WHERE), { n: 7n, d: 1200n });
  assert.deepEqual(coerceRow({ d: 'BNI=' }, schema, WHERE), { n: null, d: 1234n });
  assert.deepEqual(coerceRow({ d: '12' }, schema, WHERE, { decimalStrings: 'text' }).d, 1200n);
});

test('bare payloads, Buffers, empty tombstones, REPLICA IDENTITY NOTHING deletes and other placeholder forms', () => {
  const created = parseDebeziumJson(Buffer.from('{"id":1}'), Buffer.from(payload({})), WHERE);
  assert.deepEqual([created.key, created.event?.after, created.event?.source.lsn, created.event?.ts_ms], [{ id: 1 }, { id: 1 }, 5n, 2n]);
  assert.equal(parseDebeziumJson('{"id":1}', Buffer.alloc(0), WHERE).event, null);
  const deleted = parseDebeziumJson('{"id":7}', payload({ op: 'd', after: null }), WHERE).event;
  assert.deepEqual(deleted?.before, { id: 7 });
  const P = '__debezium_unavailable_value';
  // uuid[]: [UUID.nameUUIDFromBytes(placeholder)], computed with Java 17's java.util.UUID.
  const after = { id: 1, texts: [P], uuids: ['b68a35a7-17ad-35b3-af2a-ae46edb4545a'], store: { [P]: P }, ok: [P, 'x'] };
  const forms = parseDebeziumJson(null, payload({ op: 'u', after }), WHERE).event;
  assert.deepEqual(forms?.unavailable_columns, ['texts', 'uuids', 'store']);
  assert.deepEqual([forms?.after?.texts, forms?.after?.uuids, forms?.after?.store, forms?.after?.ok], [null, null, null, [P, 'x']]);
  const custom = parseDebeziumJson(null, payload({ op: 'u', after: { id: 1, t: '??' } }), WHERE, { unavailablePlaceholder: '??' }).event;
  assert.deepEqual([custom?.after?.t, custom?.unavailable_columns], [null, ['t']]);
});

test('decimal and timestamp text helpers', () => {
  assert.deepEqual([decimalText(12345n, 2), decimalText(-5n, 3), decimalText(7n, -2), decimalText(0n, 2)], ['123.45', '-0.005', '700', '0.00']);
  assert.deepEqual([unscaledFromDecimalText('-12.5', 3, WHERE), unscaledFromDecimalText('1e3', 0, WHERE), unscaledFromDecimalText('.5', 1, WHERE)], [-12500n, 1000n, 5n]);
  assert.equal(epochFromIsoText('1970-01-01T00:00:00Z', WHERE), 0n);
  assert.equal(epochFromIsoText('1970-01-01T02:00:00.5+02:00', WHERE), 500000n);
  assert.equal(epochFromIsoText('1969-12-31T23:59:59.9999999Z', WHERE), -1n);
  assert.equal(epochFromIsoText('0001-01-01T00:00:00Z', WHERE), -62135596800000000n);
  assert.equal(epochFromIsoText('2024-02-29 11:45:56.123456789Z', WHERE, 'ns'), 1709207156123456789n);
  throwsData(() => epochFromIsoText('yesterday', WHERE), /expected an ISO-8601 timestamp/);
});
