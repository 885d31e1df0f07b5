// Prometheus metrics against the real services: the CSV producer and the sink run in this process while a metrics
// server exposes the registry; after the sink caught up with upserts, deletes, a rejected CSV row and an undecodable
// record, the scraped counters must match what happened (records in and out, commits, lag, dead letters), every sink
// snapshot must carry its batch's Kafka timestamps, and a compaction (which must not carry them) and a views refresh
// must show in their counters. The CDC producer's records must show too.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { formatIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { compactTable } from '../../src/compactor/compaction/compact-table.js';
import { ViewRefresher } from '../../src/compactor/views/refresher.js';
import { KAFKA_MAX_TIMESTAMP_PROPERTY, KAFKA_MIN_TIMESTAMP_PROPERTY, KAFKA_OFFSETS_PROPERTY, tableProgress } from '../../src/consumers/offsets.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createProducer } from '../../src/producers/kafka/client.js';
import { startCdc } from '../../src/producers/postgres-cdc/cdc.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import type { MetricsServer } from '../../src/shared/metrics-server.js';
import { METRICS_CONTENT_TYPE, startMetricsServer } from '../../src/shared/metrics-server.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { endpoints, uniqueName } from './helpers.js';
import { closeSinkTestContext, endOffsets, openSinkTestContext, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;
let fixture: CatalogFixture;
let server: MetricsServer;
const logger = createLogger('metrics-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');

before(async () => {
  ({ kafka, registry, fixture, dir } = await openSinkTestContext('duckhouse-metrics-'));
  server = await startMetricsServer({ port: 0 });
});

after(async () => {
  await server?.close();
  await closeSinkTestContext({ kafka, registry, fixture, dir });
});

/** Scrapes the metrics server over HTTP. */
async function scrape(): Promise<string> {
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), METRICS_CONTENT_TYPE);
  return response.text();
}

/** The value of the series `name` with exactly these labels (ignoring none), or undefined when it is not exposed. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const keys = Object.keys(found);
    if (keys.length === Object.keys(labels).length && keys.every((k) => found[k] === labels[k])) return Number(match[3]);
  }
  return undefined;
}

async function csv(lines: string[]): Promise<string> {
  const file = path.join(dir, `${uniqueName('m')}.csv`);
  await writeFile(file, `${['id,qty,op', ...lines].join('\n')}\n`);
  return file;
}

describe('metrics', () => {
  test('the scraped metrics match what the producer, the sink, a compaction and a views refresh did', async () => {
    const started = Date.now();
    const prefix = uniqueName('mt').replace('-', '_');
    const name = uniqueName('metered').replace('-', '_');
    const id = { namespace: ['shop'], name };
    const table = formatIdentifier(id);
    const produce = async (lines: string[]): Promise<{ topic: string; sent: number; rejected: number }> => produceCsv(kafka, registry, {
      input: await prepareCsvInput(await csv(lines)), namespace: 'shop', table: name, keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 2,
    });
    // 300 inserts, then updates of every 3rd key, deletes of every 10th, and one row with too few columns (rejected).
    const first = await produce([
      ...Array.from({ length: 300 }, (_, k) => `${k},${k},`),
      ...Array.from({ length: 100 }, (_, k) => `${k * 3},${-k},`),
      '999',
      ...Array.from({ length: 30 }, (_, k) => `${k * 10},,d`),
    ]);
    const topic = first.topic;
    assert.equal(first.rejected, 1);
    // An undecodable record in the middle (the sink's dead letter), then more changes.
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'poison', value: Buffer.from([1, 2, 3, 4]), partition: 0 }] });
    await producer.disconnect();
    const second = await produce([...Array.from({ length: 60 }, (_, k) => `${k * 5 + 1},${k},`), ...Array.from({ length: 15 }, (_, k) => `${k * 7 + 2},,d`)]);
    const produced = first.sent + second.sent;

    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 300, rows: 60 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    let text = await scrape();

    // Records in: what the producer sent (and Kafka acknowledged), what the sink took (the poison record too).
    assert.equal(sample(text, 'duckhouse_producer_records_total', { source: 'csv', topic }), produced);
    assert.equal(sample(text, 'duckhouse_producer_rejected_total', { source: 'csv', topic }), 1);
    const end = await endOffsets(kafka, topic);
    const inTopic = Number([...end.values()].reduce((a, b) => a + b, 0n));
    assert.equal(inTopic, produced + 1);
    assert.equal(sample(text, 'duckhouse_sink_records_total', { topic }), inTopic);

    // Rows out: the commit events' rows; what was written minus what was deleted is what the table holds.
    const commits = sink.commits.filter((c) => c.table === table);
    assert.ok(commits.length >= 3, `several commits, found ${commits.length}`);
    const added = commits.reduce((n, c) => n + c.rowsAdded, 0);
    const deleted = commits.reduce((n, c) => n + c.rowsDeleted, 0);
    assert.equal(sample(text, 'duckhouse_sink_rows_committed_total', { table, kind: 'upsert' }), added);
    assert.equal(sample(text, 'duckhouse_sink_rows_committed_total', { table, kind: 'delete' }) ?? 0, deleted);
    assert.ok(deleted > 0, 'updates and deletes became position deletes');
    const live = (await readTable(fixture.catalog, id)).length;
    assert.equal(added - deleted, live);
    const keys = new Set(Array.from({ length: 300 }, (_, k) => k));
    for (let k = 0; k < 30; k++) keys.delete(k * 10);
    for (let k = 0; k < 60; k++) keys.add(k * 5 + 1);
    for (let k = 0; k < 15; k++) keys.delete(k * 7 + 2);
    assert.equal(live, keys.size);

    // Commits, their latency, batch sizes and freshness: one observation per landed commit.
    assert.equal(sample(text, 'duckhouse_sink_commits_total', { table, outcome: 'ok' }), commits.length);
    assert.equal(sample(text, 'duckhouse_sink_commits_total', { table, outcome: 'error' }), undefined);
    for (const histogram of ['duckhouse_sink_commit_duration_seconds', 'duckhouse_sink_freshness_seconds', 'duckhouse_sink_batch_rows', 'duckhouse_sink_batch_bytes']) {
      assert.equal(sample(text, `${histogram}_count`, { table }), commits.length, histogram);
      assert.ok((sample(text, `${histogram}_sum`, { table }) ?? 0) > 0, `${histogram}_sum`);
    }
    const freshness = sample(text, 'duckhouse_sink_freshness_seconds_sum', { table })! / commits.length;
    assert.ok(freshness <= (Date.now() - started) / 1000, `mean freshness ${freshness}s is within the test's run time`);
    const lastCommit = sample(text, 'duckhouse_sink_last_commit_timestamp_seconds', { table })!;
    assert.ok(lastCommit * 1000 >= started && lastCommit * 1000 <= Date.now());

    // Lag: 0 for every partition once caught up; dead letters: the poison record.
    assert.equal(end.size, 2);
    for (const partition of ['0', '1']) assert.equal(sample(text, 'duckhouse_sink_consumer_lag', { topic, partition }), 0, `partition ${partition}`);
    assert.equal(sample(text, 'duckhouse_dead_letters_total', { topic, kind: 'decode' }), 1);

    // Every sink snapshot carries its batch's oldest and newest Kafka timestamps, at or before the snapshot's time.
    let metadata = (await fixture.catalog.loadTable(id)).metadata;
    const sinkSnapshots = metadata.snapshots.filter((s) => s.summary[KAFKA_OFFSETS_PROPERTY] !== undefined);
    assert.equal(sinkSnapshots.length, commits.length);
    for (const s of sinkSnapshots) {
      const min = Number(s.summary[KAFKA_MIN_TIMESTAMP_PROPERTY]);
      const max = Number(s.summary[KAFKA_MAX_TIMESTAMP_PROPERTY]);
      assert.ok(Number.isInteger(min) && Number.isInteger(max), JSON.stringify(s.summary));
      assert.ok(started - 1000 <= min && min <= max && max <= s.timestampMs, `${min} ≤ ${max} ≤ ${s.timestampMs}`);
    }
    const progress = tableProgress(metadata).offsets;

    // A compaction: rewrites the small files, expires every older snapshot; its snapshot carries progress, not timestamps.
    const result = await compactTable({ catalog: fixture.catalog, identifier: id, logger, removeOrphans: true, policy: { minInputFiles: 2, maxSnapshotAgeMs: 0, minSnapshotsToKeep: 1 } });
    assert.ok(result.rewrittenDataFiles >= 2 && result.expiredSnapshots > 0, JSON.stringify(result));
    metadata = (await fixture.catalog.loadTable(id)).metadata;
    const head = metadata.snapshots.find((s) => s.snapshotId === metadata.currentSnapshotId)!;
    assert.equal(head.summary.operation, 'replace');
    assert.equal(head.summary[KAFKA_MIN_TIMESTAMP_PROPERTY], undefined);
    assert.equal(head.summary[KAFKA_MAX_TIMESTAMP_PROPERTY], undefined);
    assert.deepEqual(tableProgress(metadata).offsets, progress, 'the offsets are carried');

    // A views refresh.
    const refresher = new ViewRefresher({ catalog: fixture.catalog, databaseFile: path.join(dir, 'views.duckdb'), cacheDir: path.join(dir, 'views-cache'), logger });
    await refresher.refresh(id);

    text = await scrape();
    assert.equal(sample(text, 'duckhouse_compaction_runs_total', { table, outcome: 'ok' }), 1);
    assert.equal(sample(text, 'duckhouse_compaction_files_rewritten_total', { table }), result.rewrittenDataFiles);
    assert.equal(sample(text, 'duckhouse_compaction_files_removed_total', { table, kind: 'data' }), result.rewrittenDataFiles);
    assert.equal(sample(text, 'duckhouse_compaction_files_removed_total', { table, kind: 'delete' }) ?? 0, result.removedDeleteFiles);
    assert.equal(sample(text, 'duckhouse_compaction_files_removed_total', { table, kind: 'expired' }), result.expiredFiles);
    assert.equal(sample(text, 'duckhouse_compaction_files_removed_total', { table, kind: 'orphan' }) ?? 0, result.orphansRemoved);
    assert.equal(sample(text, 'duckhouse_snapshots_expired_total', { table }), result.expiredSnapshots);
    assert.equal(sample(text, 'duckhouse_compaction_duration_seconds_count', { table }), 1);
    assert.equal(sample(text, 'duckhouse_views_refreshes_total', { table, outcome: 'ok' }), 1);
    assert.equal(sample(text, 'duckhouse_views_refresh_duration_seconds_count', { table }), 1);
    // The process metrics are exposed with their standard names.
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
  });

  test('the CDC producer counts the records Kafka acknowledged (snapshot rows, changes, tombstones)', async (t) => {
    const { postgres, kafka: broker, schemaRegistry } = endpoints();
    const name = uniqueName('metrics').replace('-', '_');
    const prefix = uniqueName('mcdc');
    const topic = `${prefix}.public.${name}`;
    const db = new pg.Client({ ...postgres });
    await db.connect();
    t.after(async () => {
      const slot = `duckhouse_${name}`;
      await db.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]);
      for (let i = 0; i < 40 && (await db.query('select 1 from pg_replication_slots where slot_name = $1 and active', [slot])).rowCount !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot]);
      await db.query(`drop publication if exists "${slot}"`);
      await db.query(`drop table if exists "${name}"`);
      await db.end();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    await db.query(`create table "${name}" (id int primary key, v text)`);
    await db.query(`insert into "${name}" values (1, 'a'), (2, 'b'), (3, 'c')`);
    const source = `postgres://${encodeURIComponent(postgres.user)}:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${postgres.database}`;
    const handle = await startCdc({ source, tables: [`public.${name}`], name, topicPrefix: prefix, brokers: broker.brokers, registryUrl: schemaRegistry.url, logger, progressIntervalMs: 0 });
    try {
      await db.query(`insert into "${name}" values (4, 'd'), (5, 'e')`);
      await db.query(`update "${name}" set v = 'B' where id = 2`);
      await db.query(`delete from "${name}" where id = 3`);
      // 3 snapshot rows, 2 inserts, 1 update, 1 delete and its tombstone.
      const deadline = Date.now() + 30_000;
      while (Number([...(await endOffsets(kafka, topic).catch(() => new Map<string, bigint>())).values()].reduce((a, b) => a + b, 0n)) < 8) {
        assert.ok(Date.now() < deadline, 'the CDC producer did not publish 8 records in 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await handle.stop();
    }
    const text = await scrape();
    assert.equal(sample(text, 'duckhouse_producer_records_total', { source: 'cdc', topic }), 8);
    assert.equal(sample(text, 'duckhouse_producer_rejected_total', { source: 'cdc', topic }), undefined);
  });
});
