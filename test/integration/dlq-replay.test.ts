// `duckhouse dlq list | replay` against real Kafka, the registry and a SQL catalog: a sink dead-letters poison records
// (and a letter is recorded for a record that is good now); list and a dry run change nothing; a replay sends the
// letters back and removes them from the DLQ table in one commit; the sink running again dead-letters the still-bad
// ones anew at their new offsets and puts the good one in its table. And a replay whose sending fails midway removes
// nothing and says how many were sent.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { currentSchema } from '../../src/catalog/spec/table-metadata.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { TableWriter } from '../../src/catalog/writer/table-writer.js';
import { dlqCommand } from '../../src/bin/dlq-command.js';
import { DEAD_LETTER_SCHEMA, DeadLetterSink, deadLetterRow } from '../../src/consumers/dead-letters.js';
import { REPLAY_OF_HEADER, replayDeadLetters } from '../../src/consumers/dlq-replay.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import type { DeadLetter } from '../../src/producers/dead-letter.js';
import { deadLetter } from '../../src/producers/dead-letter.js';
import { createProducer, ensureTopic } from '../../src/producers/kafka/client.js';
import { readAll } from '../../src/producers/kafka/read-to-end.js';
import { RowBatchBuilder } from '../../src/schemas/row-batch.js';
import { SchemaCache, type SchemaRegistry } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { uniqueName } from './helpers.js';
import { closeSinkTestContext, endOffsets, openSinkTestContext, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;
let fixture: CatalogFixture;

before(async () => {
  ({ kafka, registry, fixture, dir } = await openSinkTestContext('duckhouse-dlq-'));
});

after(() => closeSinkTestContext({ kafka, registry, fixture, dir }));

async function csv(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Runs `duckhouse dlq …` in this process against the fixture's catalog; returns what it printed. */
async function dlq(...args: string[]): Promise<string> {
  let out = '';
  const catalogArgs = ['--catalog', 'sql', '--catalog-name', fixture.pyiceberg.catalog!, '--warehouse', fixture.warehouse];
  await dlqCommand({ write: (text: string) => (out += text) }).parseAsync(['node', 'dlq', ...args, ...catalogArgs]);
  return out;
}

const ids = (rows: Record<string, unknown>[]): number[] => rows.map((r) => Number(r.id)).sort((a, b) => a - b);

describe('dlq replay', () => {
  test('poison letters come back anew, a letter good now lands in its table, and the old rows leave the DLQ table', async () => {
    const prefix = uniqueName('dq').replace('-', '_');
    const good = await csv('good.csv', ['id,v', ...Array.from({ length: 50 }, (_, i) => `${i},${i}`)]);
    const produced = await produceCsv(kafka, registry, { input: await prepareCsvInput(good), namespace: 'shop', table: 'items', keyColumns: ['id'], topicPrefix: prefix, partitions: 1 });
    const topic = produced.topic;
    const poison = [{ key: Buffer.from('k1'), value: Buffer.from([1, 2, 3, 4]) }, { key: null, value: Buffer.from('{"not": "an envelope"}') }];
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: poison });
      // A record that is fine now: record 0 re-encoded as id 999, with its key. The letter says the sink refused it
      // at offset 0 (as if the table could not take its schema then); it is recorded before the sink runs, as the
      // DLQ table only takes letters past the offsets it holds.
      const [first] = await readAll(kafka, topic);
      const cache = new SchemaCache(registry);
      const value = await cache.decode(first!.message.value!, 'record 0');
      const key = await cache.decode(first!.message.key!, 'key 0');
      const envelope = value.value as { after: Record<string, unknown> };
      const id999 = (v: unknown): unknown => (typeof v === 'bigint' ? 999n : 999);
      const fixed = SchemaCache.encode(value.schema, { ...envelope, after: { ...envelope.after, id: id999(envelope.after.id) } });
      const fixedKey = SchemaCache.encode(key.schema, { ...(key.value as Record<string, unknown>), id: id999((key.value as Record<string, unknown>).id) });
      const dlqId: TableIdentifier = { namespace: [prefix], name: 'dead_letters' };
      const letter = deadLetter({ kind: 'schema', message: 'the table could not take this schema (simulated)', table: 'shop.items', topic, partition: 0, offset: '0', key_base64: fixedKey.toString('base64'), raw: fixed });
      await new DeadLetterSink({ catalog: fixture.catalog, table: dlqId, topic: `${prefix}.dlq`, producer, logger: createLogger('dlq-test', 'error') }).record([letter]);
    } finally {
      await producer.disconnect();
    }
    const more = await csv('more.csv', ['id,v', ...Array.from({ length: 10 }, (_, i) => `${50 + i},${i}`)]);
    await produceCsv(kafka, registry, { input: await prepareCsvInput(more), namespace: 'shop', table: 'items', keyColumns: ['id'], topicPrefix: prefix, partitions: 1 });
    const id = { namespace: ['shop'], name: 'items' };
    const dlqId: TableIdentifier = { namespace: [prefix], name: 'dead_letters' };
    const dlqName = `${prefix}.dead_letters`;

    let sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic] });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    assert.equal((await readTable(fixture.catalog, id)).length, 60);
    const letters = await readTable(fixture.catalog, dlqId);
    assert.deepEqual(letters.map((l) => [l.kind, l.offset]).sort(), [['decode', 50n], ['decode', 51n], ['schema', 0n]]);

    // list: text and JSON; changes nothing.
    const before = (await fixture.catalog.loadTable(dlqId)).metadata.currentSnapshotId;
    const text = await dlq('list', '--dlq-table', dlqName);
    assert.match(text, /TIME +KIND +TABLE +TOPIC\[PARTITION\]@OFFSET +MESSAGE/);
    assert.match(text, new RegExp(`decode +shop\\.items +${topic}\\[0\\]@50 +topic ${topic} partition 0 offset 50: expected a schema-registry framed`));
    assert.match(text, /3 letters in /);
    const listed = JSON.parse(await dlq('list', '--dlq-table', dlqName, '--json', '--kind', 'decode')) as DeadLetter[];
    assert.deepEqual(listed.map((l) => [l.offset, l.key_base64, Buffer.from(l.raw_base64, 'base64').toString('hex')]), [
      ['50', Buffer.from('k1').toString('base64'), '01020304'],
      ['51', null, Buffer.from('{"not": "an envelope"}').toString('hex')],
    ]);

    // dry run: says what it would do, sends and removes nothing.
    const ends = await endOffsets(kafka, topic);
    const dry = await dlq('replay', '--dlq-table', dlqName, '--dry-run');
    assert.match(dry, /3 letters match/);
    assert.match(dry, new RegExp(`would replay 3 letters[^]*  ${topic}: 3`));
    assert.match(dry, /dry run: nothing was sent and nothing removed/);
    assert.match(await dlq('replay', '--dlq-table', dlqName, '--dry-run', '--kind', 'schema'), /would replay 1 letter /);
    assert.deepEqual(await endOffsets(kafka, topic), ends);
    assert.equal((await fixture.catalog.loadTable(dlqId)).metadata.currentSnapshotId, before);

    // replay: back to the topic in offset order, then one commit removing the three rows.
    const out = await dlq('replay', '--dlq-table', dlqName);
    assert.match(out, /replaying 3 letters/);
    assert.match(out, /sent 3 letters, acknowledged by all in-sync replicas/);
    const removed = /removed 3 rows from \S+ in snapshot (\d+)/.exec(out);
    assert.ok(removed, out);
    assert.match(out, /dead-lettered again, as a new letter at its new offset/);
    const dlqTable = await fixture.catalog.loadTable(dlqId);
    assert.equal(String(dlqTable.metadata.currentSnapshotId), removed[1]);
    assert.equal(dlqTable.metadata.snapshots.filter((s) => s.parentSnapshotId === before).length, 1, 'one commit after the one read');
    assert.equal((await readTable(fixture.catalog, dlqId)).length, 0);
    const replayed = (await readAll(kafka, topic)).slice(-3).map((m) => m.message);
    assert.deepEqual(replayed.map((m) => m.headers?.[REPLAY_OF_HEADER]?.toString()), [`${topic}:0:0`, `${topic}:0:50`, `${topic}:0:51`]);
    assert.deepEqual(replayed.slice(1).map((m) => [m.key?.toString() ?? null, m.value?.toString('hex')]), poison.map((p) => [p.key?.toString() ?? null, p.value.toString('hex')]));
    assert.match(await dlq('replay', '--dlq-table', dlqName), /0 letters match[^]*nothing to replay/);

    // The sink again: the still-bad records are new letters at their new offsets; id 999 is in the table.
    sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic] });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    const end = (await endOffsets(kafka, topic)).get(`${topic}:0`)!;
    const again = await readTable(fixture.catalog, dlqId);
    assert.deepEqual(again.map((l) => [l.kind, l.offset]).sort(), [['decode', end - 2n], ['decode', end - 1n]]);
    assert.deepEqual(ids(await readTable(fixture.catalog, id)), [...Array.from({ length: 60 }, (_, i) => i), 999]);
  });

  test('a send failing midway removes nothing and says how many letters were sent', async () => {
    const prefix = uniqueName('dq').replace('-', '_');
    const topic = `${prefix}.shop.big`;
    await ensureTopic(kafka, topic, { partitions: 1 });
    const dlqId: TableIdentifier = { namespace: [prefix], name: 'dead_letters' };
    await fixture.catalog.createNamespace(dlqId.namespace);
    const table = await fixture.catalog.createTable(dlqId, { schema: DEAD_LETTER_SCHEMA });
    const rows = [
      deadLetter({ kind: 'decode', message: 'bad', table: 'shop.big', topic, partition: 0, offset: '0', raw: 'small' }),
      // Past the broker's message size limit (1 MiB by default): Kafka refuses it.
      deadLetter({ kind: 'decode', message: 'bad', table: 'shop.big', topic, partition: 0, offset: '1', raw: Buffer.alloc(3 * 1024 * 1024, 7) }),
    ];
    const builder = new RowBatchBuilder(currentSchema(table.metadata));
    for (const row of rows) builder.append(deadLetterRow(row));
    const writer = new TableWriter(table);
    await writer.write(builder.build());
    const { table: written } = await commitAction(fixture.catalog, dlqId, fastAppend(await writer.close()));

    await assert.rejects(replayDeadLetters({ catalog: fixture.catalog, dlqTable: dlqId, kafka }), (error: Error) => {
      assert.match(error.message, /after 1 of 2 were acknowledged/);
      assert.match(error.message, /Nothing was removed from .*replaying again sends those 1 a second time/);
      return true;
    });
    assert.equal((await fixture.catalog.loadTable(dlqId)).metadata.currentSnapshotId, written.metadata.currentSnapshotId);
    assert.equal((await readTable(fixture.catalog, dlqId)).length, 2);
    assert.deepEqual((await readAll(kafka, topic)).map((m) => m.message.value?.toString()), ['small']);
  });
});
