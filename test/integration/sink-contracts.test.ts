// The sink's contracts with the outside, against the real stack: an external Debezium's JsonConverter output (with
// schemas: the table is created from the Connect schema; without: rows coerced into an existing table, or dead-lettered
// when there is none), an incompatible Avro schema version (dead-lettered while everything else flows), commit events
// (one per commit on the commit log, matching the table's snapshots; deduplicated view jobs), and shutdown by signal (SIGTERM commits what the sink
// holds and exits 0; a second signal exits 130 at once, leaving the table consistent).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { Queue, Worker } from 'bullmq';
import type { Kafka } from 'kafkajs';
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { currentSchema } from '../../src/catalog/spec/table-metadata.js';
import { primitive, typeToString } from '../../src/catalog/spec/types.js';
import type { CommitEvent, TableJob } from '../../src/compactor/queues.js';
import { CommitEventPublisher, commitLogKey, queueNames, readCommitLog } from '../../src/compactor/queues.js';
import { KAFKA_OFFSETS_PROPERTY, partitionKeyOf, tableProgress } from '../../src/consumers/offsets.js';
import type { DeadLetter } from '../../src/producers/dead-letter.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createProducer, ensureTopic } from '../../src/producers/kafka/client.js';
import { readAll } from '../../src/producers/kafka/read-to-end.js';
import { avroCodec, encodeFramed } from '../../src/schemas/avro-codec.js';
import { icebergToAvro } from '../../src/schemas/avro-iceberg.js';
import { parseDebeziumJson } from '../../src/schemas/debezium-json.js';
import type { AvroRecordSchema, Row } from '../../src/schemas/envelope.js';
import { avroNamespace, DEBEZIUM_UNAVAILABLE_PLACEHOLDER, emptySource, envelopeAvroSchema } from '../../src/schemas/envelope.js';
import { keySubject, registerAvro, type SchemaRegistry, valueSubject } from '../../src/schemas/registry.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { redisConnections, uniqueName } from './helpers.js';
import { closeSinkTestContext, endOffsets, openSinkTestContext, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let fixture: CatalogFixture;
let dir: string;

before(async () => {
  ({ kafka, registry, fixture, dir } = await openSinkTestContext('duckhouse-sink-contracts-'));
});

after(() => closeSinkTestContext({ kafka, registry, fixture, dir }));

const newPrefix = (): string => uniqueName('skx').replace('-', '_');

// ---- values compared as plain JSON (bigint, bytes, NaN and infinities made visible) ----

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Map) return [...value].map(([k, v]) => [plain(k), plain(v)]);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Rows by their `id`, plain. */
const byId = (rows: readonly Row[]): Map<number, unknown> => new Map([...rows].map((r) => [Number(r.id), plain(r)] as const).sort(([a], [b]) => a - b));

const where = (id: TableIdentifier): string => `${id.namespace.join('.')}.${id.name}`;

// ---- external Debezium JSON ----

type DebeziumTable = 'all_types' | 'full_identity';
type Mode = 'schemas' | 'schemaless';
const DEBEZIUM_TABLES: readonly DebeziumTable[] = ['all_types', 'full_identity'];
const perTable = <T>(make: (table: DebeziumTable) => T): Record<DebeziumTable, T> => ({ all_types: make('all_types'), full_identity: make('full_identity') });

interface FixtureMessage {
  readonly offset: number;
  /** Exactly the bytes Kafka carried (the fixture splices them in unchanged; lossless-json gives them back). */
  readonly key: string | null;
  readonly value: string | null;
  /** The raw JSON, for the expected state. */
  readonly keyJson: unknown;
  readonly valueJson: unknown;
}

function fixtureMessages(mode: Mode, table: DebeziumTable): FixtureMessage[] {
  const text = readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/debezium', mode, `${table}.jsonl`), 'utf8');
  return text.trimEnd().split('\n').map((line) => {
    const record = parseLossless(line) as { offset: unknown; key: unknown; value: unknown };
    const raw = (v: unknown): string | null => (v === null ? null : stringifyLossless(v) ?? null);
    const message = { offset: Number(String(record.offset)), key: raw(record.key), value: raw(record.value), keyJson: record.key, valueJson: record.value };
    // Re-serializing gives back the very line's key and value (no whitespace, digits kept): what Kafka carried.
    for (const part of [message.key, message.value]) if (part !== null) assert.ok(line.includes(part), `${mode}/${table} offset ${message.offset}: exact bytes`);
    return message;
  });
}

/** Placeholder forms Debezium gives an unchanged TOASTed value (docs/debezium-contract.md), seen in the raw JSON. */
function isUnavailable(raw: unknown): boolean {
  const bytes = Buffer.from(DEBEZIUM_UNAVAILABLE_PLACEHOLDER, 'utf8');
  if (typeof raw === 'string') return raw === DEBEZIUM_UNAVAILABLE_PLACEHOLDER || raw === bytes.toString('base64');
  return Array.isArray(raw) && raw.length === bytes.length && raw.every((v, i) => Number(String(v)) === bytes[i]);
}

/**
 * The table a fixture's events describe, computed here: per key in offset order, `r`/`c` put the row, `u` puts it
 * keeping the old values of columns it did not send (unchanged TOAST), `d` removes it, `t` empties the table,
 * tombstones do nothing. Typed values come from the schema'd fixture (the parser is unit-tested on these lines).
 */
function expectedState(table: DebeziumTable, count: number): Map<number, Row> {
  const typed = fixtureMessages('schemas', table);
  const state = new Map<number, Row>();
  for (const m of typed.slice(0, count)) {
    if (m.value === null) continue;
    const payload = (m.valueJson as { payload: { op: string; after: Record<string, unknown> | null } }).payload;
    const key = m.keyJson === null ? null : Number(String((m.keyJson as { payload: { id: unknown } }).payload.id));
    const { event } = parseDebeziumJson(m.key, m.value, `${table} offset ${m.offset}`);
    switch (payload.op) {
      case 'r':
      case 'c':
      case 'u': {
        const row = { ...event!.after! };
        const previous = state.get(key!);
        for (const [column, raw] of Object.entries(payload.after ?? {})) if (isUnavailable(raw)) row[column] = previous?.[column] ?? null;
        state.set(key!, row);
        break;
      }
      case 'd':
        state.delete(key!);
        break;
      case 't':
        state.clear();
        break;
      default:
        assert.fail(`unexpected op ${payload.op}`);
    }
  }
  return state;
}

async function produceFixture(topic: string, messages: readonly FixtureMessage[]): Promise<void> {
  await ensureTopic(kafka, topic, { partitions: 1 });
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
  } finally {
    await producer.disconnect();
  }
}

async function deadLetters(prefix: string, topic: string, count: number, timeoutMs = 30_000): Promise<DeadLetter[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const letters = (await readAll(kafka, `${prefix}.dlq`)).map((m) => JSON.parse(m.message.value!.toString()) as DeadLetter).filter((l) => l.topic === topic);
    if (letters.length >= count || Date.now() > deadline) return letters;
    await sleep(300);
  }
}

describe('external Debezium JSON', () => {
  test('with schemas the table is created from the Connect schema and equals the events\' final state; schemaless rows coerce into it; schemaless for a missing table is dead-lettered', async () => {
    const prefix = newPrefix();
    const tables = DEBEZIUM_TABLES;
    const ids = perTable((t): TableIdentifier => ({ namespace: ['public'], name: t }));
    const schemaTopics = perTable((t) => `${prefix}.public.${t}`);
    const fixtures = perTable((t) => fixtureMessages('schemas', t));
    // Everything but the final truncate first (the state before it is the interesting one), in two commits: the
    // update at offset 6 leaves all_types' TOASTed columns out, so their values come from the rows committed before.
    const split = 6;
    for (const t of tables) await produceFixture(schemaTopics[t], fixtures[t].slice(0, split));
    let sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: Object.values(schemaTopics) });
    try {
      for (const t of tables) await waitCaughtUp(kafka, fixture.catalog, ids[t], schemaTopics[t]);
      for (const t of tables) assert.deepEqual(byId(await readTable(fixture.catalog, ids[t])), byId([...expectedState(t, split).values()]), `${t}: after offset ${split - 1}`);
      for (const t of tables) await produceFixture(schemaTopics[t], fixtures[t].slice(split, -1));
      for (const t of tables) await waitCaughtUp(kafka, fixture.catalog, ids[t], schemaTopics[t]);
      for (const t of tables) {
        const expected = expectedState(t, fixtures[t].length - 1);
        assert.ok(expected.size >= 2, `${t}: a state worth checking`);
        assert.deepEqual(byId(await readTable(fixture.catalog, ids[t])), byId([...expected.values()]), `${t}: the table equals the events' final state`);
      }
      // Created from the Connect schema: the key is the identifier field, types as docs/debezium-contract.md says.
      const schema = currentSchema((await fixture.catalog.loadTable(ids.all_types)).metadata);
      assert.deepEqual(schema.identifierFieldIds.map((id) => schema.fields.find((f) => f.id === id)?.name), ['id']);
      assert.deepEqual(Object.fromEntries(schema.fields.map((f) => [f.name, `${f.required ? 'required ' : ''}${typeToString(f.type)}`])), {
        id: 'required int', c_int8: 'long', c_int2: 'int', c_numeric: 'decimal(10, 2)', c_numeric_any: 'string', c_real: 'float',
        c_double: 'double', c_bool: 'boolean', c_text: 'string', c_varchar: 'string', c_toast: 'string', c_toast_bytes: 'binary',
        c_toast_ints: 'list<int>', c_date: 'date', c_time: 'time', c_ts: 'timestamp', c_tstz: 'timestamptz', c_jsonb: 'string',
        c_uuid: 'uuid', c_bytea: 'binary', c_int_arr: 'list<int>', c_text_arr: 'list<string>',
      });

      // The truncates: both tables empty.
      for (const t of tables) await produceFixture(schemaTopics[t], fixtures[t].slice(-1));
      for (const t of tables) await waitCaughtUp(kafka, fixture.catalog, ids[t], schemaTopics[t]);
      for (const t of tables) assert.deepEqual(await readTable(fixture.catalog, ids[t]), [], `${t}: truncated`);
      assert.equal(sink.sink.stats.deadLetters, 0);
    } finally {
      await sink.stop();
    }

    // Schemaless JSON into the (now existing, empty) tables through topics mapped to them: the same final state.
    const plainTopics = perTable((t) => `${prefix}.plain.${t}`);
    const missingTopic = `${prefix}.public.nowhere`;
    for (const t of tables) await produceFixture(plainTopics[t], fixtureMessages('schemaless', t).slice(0, -1));
    const missing = fixtureMessages('schemaless', 'full_identity').slice(0, 2);
    await produceFixture(missingTopic, missing);
    sink = await startTestSink(kafka, registry, fixture.catalog, {
      prefix,
      topics: [...Object.values(plainTopics), missingTopic],
      routing: { prefix, tables: Object.fromEntries(tables.map((t) => [plainTopics[t], where(ids[t])])) },
    });
    try {
      for (const t of tables) await waitCaughtUp(kafka, fixture.catalog, ids[t], plainTopics[t]);
      for (const t of tables) {
        const expected = expectedState(t, fixtures[t].length - 1);
        assert.deepEqual(byId(await readTable(fixture.catalog, ids[t])), byId([...expected.values()]), `${t}: schemaless rows coerced into the table`);
        assert.equal(currentSchema((await fixture.catalog.loadTable(ids[t])).metadata).schemaId, 0, `${t}: schemaless input leaves the schema alone`);
      }
      // No table for the schemaless topic: every record dead-lettered (kind schema), saying to create the table.
      const letters = await deadLetters(prefix, missingTopic, missing.length);
      assert.deepEqual(letters.map((l) => [l.kind, l.offset, l.table]), missing.map((m) => ['schema', String(m.offset), 'public.nowhere']));
      for (const letter of letters) assert.match(letter.message, /does not exist.*create the table first/);
      assert.equal(await fixture.catalog.tableExists({ namespace: ['public'], name: 'nowhere' }), false);
    } finally {
      await sink.stop();
    }
  });

  test('schemaless JSON for a missing table: records arriving after the first batch are dead-lettered too', async () => {
    const prefix = newPrefix();
    const topic = `${prefix}.public.nowhere`;
    const messages = fixtureMessages('schemaless', 'full_identity');
    await produceFixture(topic, messages.slice(0, 2));
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 300 } });
    try {
      assert.equal((await deadLetters(prefix, topic, 2)).length, 2, 'the first batch');
      await produceFixture(topic, messages.slice(2, 4));
      const letters = await deadLetters(prefix, topic, 4, 15_000);
      assert.deepEqual(letters.map((l) => [l.kind, l.offset]), [0, 1, 2, 3].map((o) => ['schema', String(o)]));
    } finally {
      await sink.stop();
    }
  });
});

// ---- an incompatible schema version ----

interface Registered {
  readonly id: number;
  readonly codec: ReturnType<typeof avroCodec>;
}

/** Registers a row schema's envelope (or a key record) under the topic's subject, compatibility NONE. */
async function registerNone(subject: string, schema: AvroRecordSchema): Promise<Registered> {
  const id = await registerAvro(registry, subject, schema, { compatibility: COMPATIBILITY.NONE });
  return { id, codec: avroCodec(schema) };
}

/** Avro change envelopes (op c) framed for the registry, keyed by `id`, as DuckHouse's producers write them. */
async function sendAvro(topic: string, value: Registered, key: Registered, rows: readonly Row[]): Promise<void> {
  const source = { ...emptySource('test', 'sink-contracts', 'test', BigInt(Date.now())) };
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: rows.map((row) => ({
        key: encodeFramed(key.codec, key.id, { id: row.id }),
        value: encodeFramed(value.codec, value.id, { before: null, after: row, source, op: 'c', ts_ms: BigInt(Date.now()), unavailable_columns: null }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function csvFile(name: string, lines: readonly string[]): Promise<string> {
  const file = path.join(dir, `${uniqueName(name)}.csv`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Rows [from, to) of `id,v` to `<prefix>.shop.<table>` through the CSV producer. */
async function produceRows(prefix: string, table: string, from: number, to: number, partitions = 2): Promise<string> {
  const lines = ['id,v', ...Array.from({ length: to - from }, (_, i) => `${from + i},value ${from + i}`)];
  const result = await produceCsv(kafka, registry, { input: await prepareCsvInput(await csvFile(table, lines)), namespace: 'shop', table, keyColumns: ['id'], topicPrefix: prefix, partitions });
  assert.equal(result.sent, to - from);
  return result.topic;
}

describe('an incompatible schema version', () => {
  test('rows of a version that changes a column\'s type are dead-lettered (topic and table, naming the column) while the rest flows', async () => {
    const prefix = newPrefix();
    const topic = `${prefix}.shop.orders`;
    const id = { namespace: ['shop'], name: 'orders' };
    const steadyId = { namespace: ['shop'], name: 'steady' };
    await ensureTopic(kafka, topic, { partitions: 1 });
    const namespace = avroNamespace(topic);
    const v1Row = icebergToAvro(buildSchema([
      { name: 'id', type: primitive('long'), required: true },
      { name: 'qty', type: primitive('long') },
      { name: 'note', type: primitive('string') },
    ]).schema, { name: 'Value', namespace });
    // Version 2: qty (same field id) becomes a string. The registry takes it (NONE); Iceberg cannot (long → string).
    const v2Row: AvroRecordSchema = { ...v1Row, fields: v1Row.fields.map((f) => (f.name === 'qty' ? { ...f, type: ['null', 'string'] } : f)) };
    const keyRecord: AvroRecordSchema = { type: 'record', name: 'Key', namespace, fields: [v1Row.fields[0]!] };
    const v1 = await registerNone(valueSubject(topic), envelopeAvroSchema(v1Row));
    const key = await registerNone(keySubject(topic), keyRecord);
    const rows = (from: number, to: number, qty: (i: number) => unknown): Row[] => Array.from({ length: to - from }, (_, i) => ({ id: BigInt(from + i), qty: qty(from + i), note: `note ${from + i}` }));

    await sendAvro(topic, v1, key, rows(0, 50, (i) => BigInt(i * 10)));
    const steadyTopic = await produceRows(prefix, 'steady', 0, 100);
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic, steadyTopic], flush: { intervalMs: 300 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
      const v2 = await registerNone(valueSubject(topic), envelopeAvroSchema(v2Row));
      assert.notEqual(v2.id, v1.id);
      await sendAvro(topic, v2, key, rows(50, 60, (i) => `qty ${i}`));
      await produceRows(prefix, 'steady', 100, 200);
      // The first version again, after the refused one.
      await sendAvro(topic, v1, key, rows(60, 80, (i) => BigInt(i * 10)));
      await produceRows(prefix, 'steady', 200, 300);
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
      await waitCaughtUp(kafka, fixture.catalog, steadyId, steadyTopic);

      const table = await readTable(fixture.catalog, id);
      const kept = [...rows(0, 50, (i) => BigInt(i * 10)), ...rows(60, 80, (i) => BigInt(i * 10))];
      assert.deepEqual(byId(table), byId(kept), 'the rows of version 1, before and after the refused ones');
      const metadata = (await fixture.catalog.loadTable(id)).metadata;
      assert.equal(metadata.schemas.length, 1, 'the table schema did not change');
      assert.equal(typeToString(currentSchema(metadata).fields.find((f) => f.name === 'qty')!.type), 'long');
      const steady = await readTable(fixture.catalog, steadyId);
      assert.deepEqual([...byId(steady).keys()], Array.from({ length: 300 }, (_, i) => i), 'the other table got every row');

      const letters = await deadLetters(prefix, topic, 10);
      assert.deepEqual(letters.map((l) => [l.kind, l.offset, l.table]), Array.from({ length: 10 }, (_, i) => ['schema', String(50 + i), 'shop.orders']));
      for (const letter of letters) assert.match(letter.message, /"qty": cannot change from long to string/, 'the reason names the column');
      const dlqRows = (await readTable(fixture.catalog, { namespace: [prefix], name: 'dead_letters' })).filter((r) => r.topic === topic);
      assert.deepEqual(dlqRows.map((r) => [r.kind, Number(r.offset)]).sort((a, b) => Number(a[1]) - Number(b[1])), Array.from({ length: 10 }, (_, i) => ['schema', 50 + i]));
      assert.ok(dlqRows.every((r) => /"qty": cannot change from long to string/.test(String(r.message))), 'the DLQ table says why too');
      assert.equal(sink.sink.stats.deadLetters, 10);
    } finally {
      await sink.stop();
    }
  });
});

// ---- commit events on BullMQ ----

describe('commit events', () => {
  test('one BullMQ job per table commit: table, snapshot id, rows added and deleted, offsets as the table records them', async () => {
    const { connect: connection, closeAll } = redisConnections();
    const queuePrefix = uniqueName('commits');
    const publisher = new CommitEventPublisher(connection(), queuePrefix);
    const viewJobs: TableJob[] = [];
    const worker = new Worker<TableJob>(queueNames(queuePrefix).views, async (job) => void viewJobs.push(job.data), { connection: connection() });
    const log = connection();
    let jobs: CommitEvent[] = [];
    const prefix = newPrefix();
    const id = { namespace: ['shop'], name: 'events' };
    const produce = async (lines: string[]): Promise<string> => (await produceCsv(kafka, registry, {
      input: await prepareCsvInput(await csvFile('events', ['id,v,op', ...lines])), namespace: 'shop', table: 'events', keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 2,
    })).topic;
    const topic = await produce(Array.from({ length: 300 }, (_, i) => `${i},first ${i},`));
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], commitEvents: publisher, flush: { intervalMs: 300 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
      // Updates and deletes: position deletes in the next commits.
      await produce([...Array.from({ length: 60 }, (_, i) => `${i * 5},second ${i * 5},`), ...Array.from({ length: 30 }, (_, i) => `${i * 5 + 1},,d`)]);
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
      const deadline = Date.now() + 20_000;
      while (jobs.length < sink.commits.length && Date.now() < deadline) {
        await sleep(100);
        jobs = await readCommitLog(log, queuePrefix);
      }
      const metadata = (await fixture.catalog.loadTable(id)).metadata;
      assert.equal(jobs.length, metadata.snapshots.length, `one commit event per commit (${sink.commits.length} commits seen in process)`);
      assert.ok(jobs.length >= 2);
      for (const job of jobs) {
        assert.equal(job.table, 'shop.events');
        const snapshot = metadata.snapshots.find((s) => String(s.snapshotId) === job.snapshotId);
        assert.ok(snapshot, `job snapshot ${job.snapshotId} is one of the table's`);
        const summary = snapshot.summary;
        assert.deepEqual(
          [job.rowsAdded, job.rowsDeleted, job.dataFiles, job.deleteFiles],
          ['added-records', 'added-position-deletes', 'added-data-files', 'added-delete-files'].map((k) => Number(summary[k] ?? 0)),
          `snapshot ${job.snapshotId}: rows and files as its summary says`,
        );
        const recorded = JSON.parse(summary[KAFKA_OFFSETS_PROPERTY]!) as Record<string, Record<string, string>>;
        for (const [t, partitions] of Object.entries(job.offsets)) {
          for (const [p, offset] of Object.entries(partitions)) assert.equal(offset, recorded[t]?.[p], `snapshot ${job.snapshotId}: ${t} partition ${p}`);
        }
      }
      assert.equal(jobs.at(-1)!.snapshotId, String(metadata.currentSnapshotId), 'the last job is the current snapshot');
      const latest = new Map<string, bigint>();
      for (const job of jobs) for (const [t, partitions] of Object.entries(job.offsets)) for (const [p, offset] of Object.entries(partitions)) latest.set(partitionKeyOf(t, Number(p)), BigInt(offset));
      assert.deepEqual(latest, tableProgress(metadata).offsets, 'the jobs\' offsets add up to the table\'s');
      assert.deepEqual(latest, await endOffsets(kafka, topic));
      assert.equal(jobs.reduce((n, j) => n + j.rowsDeleted, 0), 60 + 30, 'updates and deletes became position deletes');
      assert.equal(jobs.reduce((n, j) => n + j.rowsAdded, 0), 300 + 60);
      assert.equal((await readTable(fixture.catalog, id)).length, 300 - 30);
      // The views queue got deduplicated work for the table: at least one job, never more than one per commit.
      assert.ok(viewJobs.length >= 1 && viewJobs.length <= jobs.length, `${viewJobs.length} view jobs for ${jobs.length} commits`);
      for (const job of viewJobs) assert.ok(job.table === 'shop.events' && metadata.snapshots.some((s) => String(s.snapshotId) === job.snapshotId));
    } finally {
      await sink.stop();
      await worker.close();
      await publisher.close();
      for (const name of Object.values(queueNames(queuePrefix))) {
        const queue = new Queue(name, { connection: connection() });
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await log.del(commitLogKey(queuePrefix));
      await closeAll();
    }
  });
});

// ---- shutdown by signal ----

interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** `duckhouse sink` in a child process (as the CLI runs it), holding batches for 10 minutes unless stopped. */
function spawnHoldingSink(prefix: string, topic: string, group: string): Child {
  const args = [
    '--import', 'tsx', path.join(PROJECT_ROOT, 'test/integration/sink-child.ts'), 'sink',
    '--topics', topic, '--prefix', prefix, '--group', group,
    '--catalog', 'sql', '--catalog-name', fixture.pyiceberg.catalog!, '--warehouse', fixture.warehouse,
    '--flush-interval', '10m', '--flush-rows', '10000000', '--flush-bytes', '1GiB', '--session-timeout', '6s', '--no-commit-events',
    '--dlq-table', `${prefix}.dead_letters`,
  ];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, DUCKHOUSE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function waitForOutput(child: Child, pattern: RegExp, count = 1, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const global = new RegExp(pattern.source, 'g');
  while ((child.output().match(global)?.length ?? 0) < count) {
    if (Date.now() > deadline) throw new Error(`the sink did not print ${pattern} ${count}× in ${timeoutMs} ms:\n${child.output().slice(-4000)}`);
    await sleep(100);
  }
}

/** The stats a stopped sink prints. */
const stoppedStats = (child: Child): { records?: number; commits?: number } => JSON.parse(/sink stopped: (.*)/.exec(child.output())?.[1] ?? '{}') as { records?: number; commits?: number };

/** Offsets recorded by the table (none when it does not exist). */
async function recordedOffsets(id: TableIdentifier): Promise<ReadonlyMap<string, bigint>> {
  return (await fixture.catalog.tableExists(id)) ? tableProgress((await fixture.catalog.loadTable(id)).metadata).offsets : new Map();
}

describe('shutdown', () => {
  test('SIGTERM commits what the sink holds and exits 0; SIGTERM + SIGINT exits 130 leaving the table consistent', async () => {
    const prefix = newPrefix();
    const id = { namespace: ['shop'], name: 'held' };
    const group = uniqueName('g');
    const topic = await produceRows(prefix, 'held', 0, 4000);

    // 1. SIGTERM while holding every record (nothing flushed: 10 min, 10M rows, 1 GiB).
    const first = spawnHoldingSink(prefix, topic, group);
    try {
      await waitForOutput(first, /sink running:/);
      await waitForOutput(first, /positioned from the table/, 2); // both partitions fetched from the beginning
      await sleep(3000);
      // The sink creates the table with the first record; nothing is committed to it until the signal.
      assert.equal((await recordedOffsets(id)).size, 0, 'no commit before the signal');
      if (await fixture.catalog.tableExists(id)) assert.equal((await fixture.catalog.loadTable(id)).metadata.snapshots.length, 0);
      first.process.kill('SIGTERM');
      assert.equal(await first.exited, 0, first.output().slice(-4000));
    } finally {
      first.process.kill('SIGKILL');
    }
    assert.deepEqual(stoppedStats(first), { ...stoppedStats(first), records: 4000, commits: 1 });
    assert.deepEqual(await recordedOffsets(id), await endOffsets(kafka, topic), 'the table records the end of the topic');
    assert.deepEqual([...byId(await readTable(fixture.catalog, id)).keys()], Array.from({ length: 4000 }, (_, i) => i));

    // 2. A second signal right after the first: exit 130 at once; the table keeps a whole commit or none.
    await produceRows(prefix, 'held', 4000, 8000);
    const before = await recordedOffsets(id);
    const snapshotsBefore = (await fixture.catalog.loadTable(id)).metadata.snapshots.length;
    const second = spawnHoldingSink(prefix, topic, group);
    try {
      await waitForOutput(second, /sink running:/);
      await waitForOutput(second, /partitions assigned/);
      await sleep(3000);
      assert.deepEqual(await recordedOffsets(id), before, 'no commit before the signals');
      second.process.kill('SIGTERM');
      second.process.kill('SIGINT');
      assert.equal(await second.exited, 130, second.output().slice(-4000));
      assert.match(second.output(), /second signal: exiting without committing/);
    } finally {
      second.process.kill('SIGKILL');
    }
    const table = await fixture.catalog.loadTable(id);
    const offsets = tableProgress(table.metadata).offsets;
    const end = await endOffsets(kafka, topic);
    const text = (m: ReadonlyMap<string, bigint>): string => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([tp, o]) => `${tp}=${o}`).join(', ');
    assert.ok(text(offsets) === text(before) || text(offsets) === text(end), `unchanged (${text(before)}) or the full commit (${text(end)}), found ${text(offsets)}`);
    assert.ok(table.metadata.snapshots.length - snapshotsBefore <= 1);
    const rows = await readTable(fixture.catalog, id);
    const recorded = [...offsets.values()].reduce((a, b) => a + b, 0n);
    assert.equal(BigInt(rows.length), recorded, 'one row per record the table says it took');
    assert.equal(new Set(rows.map((r) => Number(r.id))).size, rows.length);
    for (const task of await planFiles(table)) {
      for (const file of [task.file, ...task.deletes]) assert.ok(await table.io.exists(file.filePath), `${file.filePath} exists`);
    }

    // 3. Started again, the sink takes the rest exactly once.
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 300 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    assert.deepEqual([...byId(await readTable(fixture.catalog, id)).keys()], Array.from({ length: 8000 }, (_, i) => i));
  });
});
