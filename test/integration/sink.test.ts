// The sink against real Kafka, the registry and an Iceberg catalog: an append-only table from the CSV producer, an
// upsert table with deletes and many changes of one key per batch, restarts without duplicates, and poison records
// dead-lettered (topic and Iceberg table) while the rest flows.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createProducer } from '../../src/producers/kafka/client.js';
import { readAll } from '../../src/producers/kafka/read-to-end.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { currentSchema } from '../../src/catalog/spec/table-metadata.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { rewriteFiles } from '../../src/catalog/transaction/rewrite-files.js';
import { TableWriter } from '../../src/catalog/writer/table-writer.js';
import { tableProgress } from '../../src/consumers/offsets.js';
import { RowBatchBuilder } from '../../src/schemas/row-batch.js';
import { type SchemaRegistry } from '../../src/schemas/registry.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { uniqueName } from './helpers.js';
import { closeSinkTestContext, openSinkTestContext, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;
let fixture: CatalogFixture;

before(async () => {
  ({ kafka, registry, fixture, dir } = await openSinkTestContext('duckhouse-sink-'));
});

after(() => closeSinkTestContext({ kafka, registry, fixture, dir }));

async function csv(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('sink', () => {
  test('an append-only table from the CSV producer: every row once, also after a restart', async () => {
    const prefix = uniqueName('sk').replace('-', '_');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},name ${i},${(i * 1.5).toFixed(2)},2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
    const file = await csv('append.csv', ['id,name,amount,day', ...rows]);
    const produced = await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'events', topicPrefix: prefix, partitions: 3 });
    assert.equal(produced.sent, 5000);
    const id = { namespace: ['shop'], name: 'events' };
    let sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [produced.topic] });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, produced.topic);
    } finally {
      await sink.stop();
    }
    let table = await readTable(fixture.catalog, id);
    assert.equal(table.length, 5000);
    assert.deepEqual(new Set(table.map((r) => r.id)).size, 5000);
    const row7 = table.find((r) => r.id === 7n || r.id === 7);
    assert.equal(row7?.name, 'name 7');
    const snapshots = (await fixture.catalog.loadTable(id)).metadata.snapshots.length;

    // A restart reads from the table's offsets: nothing new, nothing twice.
    sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [produced.topic] });
    await new Promise((r) => setTimeout(r, 3000));
    await sink.stop();
    table = await readTable(fixture.catalog, id);
    assert.equal(table.length, 5000);
    assert.equal((await fixture.catalog.loadTable(id)).metadata.snapshots.length, snapshots, 'no commit without new records');
  });

  test('an upsert table: the last change per key wins, deletes remove rows, restarts add nothing', async () => {
    const prefix = uniqueName('sk').replace('-', '_');
    const header = 'id,qty,note,op';
    // 300 keys, each changed several times; every 7th key is deleted at the end, every 11th re-inserted after that.
    const lines: string[] = [];
    const model = new Map<number, { qty: number; note: string }>();
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 300; k++) {
        lines.push(`${k},${round * 1000 + k},round ${round},`);
        model.set(k, { qty: round * 1000 + k, note: `round ${round}` });
      }
    }
    for (let k = 0; k < 300; k += 7) {
      lines.push(`${k},,,d`);
      model.delete(k);
    }
    for (let k = 0; k < 300; k += 11) {
      lines.push(`${k},${-k || 0},back,`);
      model.set(k, { qty: -k || 0, note: 'back' });
    }
    const file = await csv('upsert.csv', [header, ...lines]);
    const produced = await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'stock', keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 2 });
    const id = { namespace: ['shop'], name: 'stock' };
    // Small batches: the changes of one key span several commits (position deletes across files).
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [produced.topic], flush: { intervalMs: 300, rows: 50 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, produced.topic);
    } finally {
      await sink.stop();
    }
    const table = await readTable(fixture.catalog, id);
    const got = new Map(table.map((r) => [Number(r.id), { qty: Number(r.qty), note: r.note as string }]));
    assert.equal(table.length, got.size, 'one row per key');
    assert.deepEqual(got, model);
    const metadata = (await fixture.catalog.loadTable(id)).metadata;
    assert.ok(metadata.snapshots.length > 2, `several commits, found ${metadata.snapshots.length}: ${JSON.stringify(metadata.snapshots.map((s) => s.summary))}`);
    assert.ok(metadata.snapshots.some((s) => Number(s.summary['added-position-deletes'] ?? 0) > 0), 'updates became position deletes');
    assert.deepEqual(metadata.schemas.at(-1)?.identifierFieldIds.length, 1, 'the key is the identifier field');
    assert.ok(tableProgress(metadata).offsets.size >= 1);
  });

  test('poison records go to the DLQ topic and table while the rest flows', async () => {
    const prefix = uniqueName('sk').replace('-', '_');
    const file = await csv('good.csv', ['id,v', ...Array.from({ length: 100 }, (_, i) => `${i},${i}`)]);
    const produced = await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'mixed', keyColumns: ['id'], topicPrefix: prefix, partitions: 1 });
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send({ topic: produced.topic, messages: [
      { key: 'k1', value: Buffer.from([1, 2, 3, 4]) },
      { key: null, value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1]) },
      { key: 'k3', value: '{"not": "an envelope"}' },
    ] });
    await producer.disconnect();
    const more = await csv('more.csv', ['id,v', ...Array.from({ length: 50 }, (_, i) => `${100 + i},${i}`)]);
    await produceCsv(kafka, registry, { input: await prepareCsvInput(more), namespace: 'shop', table: 'mixed', keyColumns: ['id'], topicPrefix: prefix, partitions: 1 });
    const id = { namespace: ['shop'], name: 'mixed' };
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [produced.topic] });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, produced.topic);
    } finally {
      await sink.stop();
    }
    assert.equal((await readTable(fixture.catalog, id)).length, 150);
    const letters = (await readAll(kafka, `${prefix}.dlq`)).map((m) => JSON.parse(m.message.value!.toString()) as { kind: string; offset: string; message: string });
    const sinkLetters = letters.filter((l) => l.offset !== null);
    assert.deepEqual(sinkLetters.map((l) => l.kind), ['decode', 'decode', 'decode']);
    assert.deepEqual(sinkLetters.map((l) => l.offset), ['100', '101', '102']);
    assert.match(sinkLetters[0]!.message, /partition 0 offset 100/);
    const dlqTable = await readTable(fixture.catalog, { namespace: [prefix], name: 'dead_letters' });
    assert.equal(dlqTable.length, 3);
    assert.deepEqual(dlqTable.map((r) => Buffer.from(r.raw_base64 as string, 'base64').length).sort(), [22, 4, 6].sort());
  });

  test('a poison record before the table exists does not hold up the good records after it', async () => {
    const prefix = uniqueName('sk').replace('-', '_');
    const topic = `${prefix}.shop.late`;
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: null, value: Buffer.from('not a record') }] });
    await producer.disconnect();
    const file = await csv('late.csv', ['id,v', ...Array.from({ length: 120 }, (_, i) => `${i},${i}`)]);
    await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'late', keyColumns: ['id'], topicPrefix: prefix, partitions: 1 });
    const id = { namespace: ['shop'], name: 'late' };
    // Batches flush by rows only (the interval is far away): a stalled sink would not catch up in time.
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 600_000, rows: 40 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic, 30_000);
    } finally {
      await sink.stop();
    }
    assert.equal((await readTable(fixture.catalog, id)).length, 120);
    assert.equal(sink.sink.stats.deadLetters, 1);
  });

  test('after a compaction rewrote the files, updates and deletes still find their rows (the index is rebuilt)', async () => {
    const prefix = uniqueName('sk').replace('-', '_');
    const model = new Map<number, string>();
    const round = async (name: string, lines: string[]): Promise<string> => {
      const file = await csv(name, ['id,note,op', ...lines]);
      return (await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'compacted', keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 2 })).topic;
    };
    const first = Array.from({ length: 300 }, (_, k) => `${k},first ${k},`);
    for (let k = 0; k < 300; k++) model.set(k, `first ${k}`);
    const topic = await round('c1.csv', first);
    const id = { namespace: ['shop'], name: 'compacted' };
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 300, rows: 100 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
      // Updates over several commits: the table now has data files and position deletes.
      await round('c2.csv', Array.from({ length: 150 }, (_, k) => `${k * 2},second ${k * 2},`));
      for (let k = 0; k < 150; k++) model.set(k * 2, `second ${k * 2}`);
      await waitCaughtUp(kafka, fixture.catalog, id, topic);

      // A compaction (what the compactor will do): every live row into one new file, replacing all files.
      const base = await fixture.catalog.loadTable(id);
      const tasks = await planFiles(base);
      const builder = new RowBatchBuilder(currentSchema(base.metadata));
      for (const row of await readTable(fixture.catalog, id)) builder.append(row);
      const writer = new TableWriter(base);
      await writer.write(builder.build());
      const added = await writer.close();
      const removed = [...tasks.map((t) => t.file), ...new Map(tasks.flatMap((t) => t.deletes).map((d) => [d.filePath, d])).values()];
      await commitAction(fixture.catalog, id, rewriteFiles({ removed, added, startingSnapshotId: base.metadata.currentSnapshotId }));

      // More changes after it: they must replace and delete rows in the compacted file.
      const third = [...Array.from({ length: 100 }, (_, k) => `${k * 3},third ${k * 3},`), ...Array.from({ length: 30 }, (_, k) => `${k * 10 + 1},,d`)];
      for (let k = 0; k < 100; k++) model.set(k * 3, `third ${k * 3}`);
      for (let k = 0; k < 30; k++) model.delete(k * 10 + 1);
      await round('c3.csv', third);
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    const rows = await readTable(fixture.catalog, id);
    const got = new Map(rows.map((r) => [Number(r.id), r.note as string]));
    assert.equal(rows.length, got.size, 'one row per key');
    assert.deepEqual(got, model);
    const operations = (await fixture.catalog.loadTable(id)).metadata.snapshots.map((s) => s.summary.operation);
    assert.ok(operations.indexOf('replace') < operations.lastIndexOf('overwrite'), `commits after the compaction: ${operations.join(', ')}`);
  });
});
