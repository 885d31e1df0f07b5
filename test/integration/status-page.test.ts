// The status page against the real services, in headless Chromium: two tables written with the table writer the way
// the sink commits (Kafka offsets and record timestamps in the snapshot summaries) over real topics, so consumer lag is
// real; dead letters through the sink's DeadLetterSink (DLQ topic and table); queued and failed BullMQ jobs; recorded
// dbt runs. Checks the numbers on the page, the chart, the queue board (admin) and its 403 (tenant), a tenant's
// narrower view, the JSON endpoint, a page that still renders with Kafka and Redis unreachable, and a real sink's table.
// Needs Chromium: `bash scripts/ensure-chromium.sh`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { Page } from 'playwright-core';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { primitive } from '../../src/catalog/spec/types.js';
import { currentSchema } from '../../src/catalog/spec/table-metadata.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { rowDelta } from '../../src/catalog/transaction/row-delta.js';
import { TableWriter, writePositionDeletes } from '../../src/catalog/writer/table-writer.js';
import type { DbtRunRecord } from '../../src/compactor/dbt/dbt-results.js';
import { recordDbtRun } from '../../src/compactor/dbt/dbt-runs.js';
import { dbtRunsKey, queueNames } from '../../src/compactor/queues.js';
import { DeadLetterSink } from '../../src/consumers/dead-letters.js';
import { encodeOffsets, KAFKA_MIN_TIMESTAMP_PROPERTY, KAFKA_OFFSETS_PROPERTY, partitionKeyOf } from '../../src/consumers/offsets.js';
import { deadLetter } from '../../src/producers/dead-letter.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createProducer, ensureTopic } from '../../src/producers/kafka/client.js';
import { RowBatchBuilder } from '../../src/schemas/row-batch.js';
import { createLogger } from '../../src/shared/logger.js';
import type { AccessScope } from '../../src/tenants/scope.js';
import { tenantNames, tenantScope } from '../../src/tenants/scope.js';
import type { StatusDeps } from '../../src/server/status/status-data.js';
import { collectStatus } from '../../src/server/status/status-data.js';
import { statusRoutes } from '../../src/server/status/status-routes.js';
import type { StatusReport } from '../../src/server/status/status-types.js';
import type { LaunchedChromium } from './browser.js';
import { launchChromium, screenshot } from './browser.js';
import { redisConnections, uniqueName } from './helpers.js';
import type { SinkTestContext } from './sink-fixtures.js';
import { closeSinkTestContext, openSinkTestContext, startTestSink, waitCaughtUp } from './sink-fixtures.js';

const { connect, closeAll } = redisConnections();
let context: SinkTestContext;
let catalog: Catalog;
let browser: LaunchedChromium;
const prefix = uniqueName('st').replace('-', '_');
const admin: AccessScope = { kind: 'admin', tokenId: 'test-admin' };
let acme: AccessScope;
const ORDERS: TableIdentifier = { namespace: ['acme'], name: 'orders' };
const EVENTS: TableIdentifier = { namespace: ['ops'], name: 'events' };
const DLQ: TableIdentifier = { namespace: [prefix], name: 'dead_letters' };
const ordersTopic = `${prefix}.acme.orders`;
const eventsTopic = `${prefix}.ops.events`;
const cleanups: (() => Promise<unknown>)[] = [];

/** Sends `count` records to one partition of `topic`. */
async function produce(topic: string, partition: number, count: number): Promise<void> {
  const producer = createProducer(context.kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ partition, key: `k${i}`, value: `record ${i}` })) });
  } finally {
    await producer.disconnect();
  }
}

const SCHEMA = buildSchema([{ name: 'id', type: primitive('long'), required: true }, { name: 'note', type: primitive('string') }]).schema;

/** One sink-like commit: `ids` as rows, the table's offsets after it, and (when given) its oldest record's timestamp. */
async function commit(id: TableIdentifier, ids: number[], offsets: Record<number, number>, topic: string, minTimestampMs?: number): Promise<void> {
  const base = await catalog.loadTable(id);
  const builder = new RowBatchBuilder(currentSchema(base.metadata));
  for (const n of ids) builder.append({ id: BigInt(n), note: `row ${n}` });
  const writer = new TableWriter(base);
  await writer.write(builder.build());
  const files = await writer.close();
  const summary: Record<string, string> = { [KAFKA_OFFSETS_PROPERTY]: encodeOffsets(new Map(Object.entries(offsets).map(([p, o]) => [partitionKeyOf(topic, Number(p)), BigInt(o)]))) };
  if (minTimestampMs !== undefined) summary[KAFKA_MIN_TIMESTAMP_PROPERTY] = String(minTimestampMs);
  await commitAction(catalog, id, fastAppend(files, { summary }));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** A fastify app serving the plugin; the `x-test-scope` header stands in for the app's auth (admin | tenant:acme). */
async function serve(deps: StatusDeps, options: { swagger?: boolean } = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  if (options.swagger) {
    await app.register(swagger, { openapi: { info: { title: 'DuckHouse', version: '0' } } });
    // The docs UI serves files with @fastify/static too, as the board does: both must coexist.
    await app.register(swaggerUi, { routePrefix: '/api/docs' });
  }
  app.decorateRequest('duckhouseScope', undefined);
  app.addHook('onRequest', async (request) => {
    const who = request.headers['x-test-scope'];
    request.duckhouseScope = who === 'admin' ? admin : who === 'tenant:acme' ? acme : undefined;
  });
  // Registered the way the app does: through a wrapper, so fastify does not take the deps' `prefix` for a URL prefix.
  await app.register(async (child) => statusRoutes.call(child, child, deps));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return { app, url };
}

const cell = async (page: Page, row: string, field: string): Promise<string | null> => page.locator(`${row} [data-field="${field}"]`).getAttribute('data-value');

before(async () => {
  context = await openSinkTestContext('duckhouse-status-');
  catalog = context.fixture.catalog;
  acme = tenantScope({ ...tenantNames('acme', prefix, context.fixture.warehouse), createdAt: new Date() });
  browser = await launchChromium();

  // Topics: acme.orders gets 20 + 10 records, ops.events 15 + 15 now and 5 more on partition 1 after its last commit.
  for (const topic of [ordersTopic, eventsTopic]) await ensureTopic(context.kafka, topic, { partitions: 2 });
  await produce(ordersTopic, 0, 20);
  await produce(ordersTopic, 1, 10);
  await produce(eventsTopic, 0, 15);
  await produce(eventsTopic, 1, 15);

  for (const ns of [['acme'], ['ops']]) await catalog.createNamespace(ns);
  await catalog.createTable(ORDERS, { schema: SCHEMA });
  await catalog.createTable(EVENTS, { schema: SCHEMA });
  // acme.orders: three commits, caught up; record timestamps 4, 6 and 8 s before each commit.
  await commit(ORDERS, range(0, 10), { 0: 10 }, ordersTopic, Date.now() - 4000);
  await commit(ORDERS, range(10, 20), { 0: 20 }, ordersTopic, Date.now() - 6000);
  await commit(ORDERS, range(20, 30), { 0: 20, 1: 10 }, ordersTopic, Date.now() - 8000);
  // ops.events: two commits with timestamps, then an upsert-like commit that deletes two rows (no timestamps).
  await commit(EVENTS, range(0, 15), { 0: 15 }, eventsTopic, Date.now() - 2000);
  await commit(EVENTS, range(15, 30), { 0: 15, 1: 15 }, eventsTopic, Date.now() - 3000);
  const events = await catalog.loadTable(EVENTS);
  const target = (await planFiles(events))[0]!.file;
  const deletes = await writePositionDeletes(events, [{ filePath: target.filePath, pos: 0n }, { filePath: target.filePath, pos: 1n }]);
  await commitAction(catalog, EVENTS, rowDelta({ deleteFiles: [deletes], referencedDataFiles: [target.filePath], summary: { [KAFKA_OFFSETS_PROPERTY]: encodeOffsets(new Map([[partitionKeyOf(eventsTopic, 0), 15n], [partitionKeyOf(eventsTopic, 1), 15n]])) } }));
  await produce(eventsTopic, 1, 5);

  // Dead letters the sink's way: two meant for acme.orders, one for ops.events.
  const producer = createProducer(context.kafka);
  await producer.connect();
  try {
    const sink = new DeadLetterSink({ catalog, table: DLQ, topic: `${prefix}.dlq`, producer, logger: createLogger('status-test', 'silent') });
    await sink.record([
      deadLetter({ kind: 'decode', message: 'not Avro: <b>bad</b> magic byte', table: 'acme.orders', topic: ordersTopic, partition: 0, offset: '3', raw: 'x' }),
      deadLetter({ kind: 'decode', message: 'not Avro', table: 'acme.orders', topic: ordersTopic, partition: 0, offset: '4', raw: 'y' }),
      deadLetter({ kind: 'schema', message: 'incompatible', table: 'ops.events', topic: eventsTopic, partition: 1, offset: '7', raw: 'z' }),
    ]);
  } finally {
    await producer.disconnect();
  }

  // Queues: two waiting refreshes, one waiting compaction, one failed dbt-trigger job.
  const names = queueNames(prefix);
  const redis = connect();
  const views = new Queue(names.views, { connection: redis });
  const compact = new Queue(names.compact, { connection: redis });
  const dbt = new Queue(names.dbt, { connection: redis });
  await views.addBulk([{ name: 'refresh-views', data: { table: 'acme.orders' } }, { name: 'refresh-views', data: { table: 'ops.events' } }]);
  await compact.add('compact-table', { table: 'ops.events' });
  const worker = new Worker(names.dbt, async () => {
    throw new Error('dbt exploded on purpose');
  }, { connection: connect() });
  const failed = new Promise((resolve) => worker.once('failed', resolve));
  await dbt.add('table-changed', { table: 'ops.events' }, { attempts: 1 });
  await failed;
  await worker.close();
  cleanups.push(async () => {
    for (const q of [views, compact, dbt, new Queue(names.dbtRuns, { connection: redis })]) await q.obliterate({ force: true }).then(() => q.close());
    await redis.del(dbtRunsKey(prefix));
  });

  // dbt runs: an older success for acme.orders, a newer failure for ops.events.
  const run = (id: string, status: DbtRunRecord['status'], tables: string[], startedAt: string): DbtRunRecord => ({
    id, status, startedAt, durationMs: status === 'success' ? 4200 : 1300, tables, selector: tables.map((t) => `@source:${t}`).join(' '),
    models: status === 'success'
      ? [{ name: 'model.stg_orders', status: 'success', executionTime: 1 }, { name: 'model.orders_daily', status: 'success', executionTime: 1 }, { name: 'test.not_null_id', status: 'pass', executionTime: 0.1 }]
      : [{ name: 'model.stg_events', status: 'error', executionTime: 1, message: 'Binder Error' }, { name: 'test.unique_id', status: 'skipped', executionTime: 0 }],
    failures: status === 'success' ? [] : [{ node: 'model.stg_events', status: 'error', message: 'Binder Error: column "oops" not found' }],
    exitCode: status === 'success' ? 0 : 1,
  });
  await recordDbtRun(redis, dbtRunsKey(prefix), run('dbt-1', 'success', ['acme.orders'], new Date(Date.now() - 120_000).toISOString()));
  await recordDbtRun(redis, dbtRunsKey(prefix), run('dbt-2', 'error', ['ops.events'], new Date(Date.now() - 30_000).toISOString()));
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await browser?.close();
  await closeAll();
  if (context) await closeSinkTestContext(context);
});

describe('status page', () => {
  test('an administrator sees every table, lag per partition, queues, dead letters, dbt runs and the chart', async () => {
    const now = Date.now();
    const deps: StatusDeps = { catalog, kafka: context.kafka, redis: connect(), prefix, dlqTable: DLQ, now: () => now };
    const { url } = await serve(deps, { swagger: true });
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ 'x-test-scope': 'admin' });
    const offsite: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:')) offsite.push(request.url());
    });
    const response = await page.goto(`${url}/status?refresh=0`);
    assert.equal(response?.status(), 200);

    const orders = 'tr[data-table="acme.orders"]';
    const events = 'tr[data-table="ops.events"]';
    assert.equal(await cell(page, `#tables-table ${orders}`, 'rows'), '30');
    assert.equal(await cell(page, `#tables-table ${orders}`, 'dataFiles'), '3');
    assert.equal(await cell(page, `#tables-table ${orders}`, 'deleteFiles'), '0');
    assert.equal(await cell(page, `#tables-table ${orders}`, 'snapshots'), '3');
    assert.equal(await page.locator(`#tables-table ${orders}`).getAttribute('data-state'), 'caught-up');
    assert.equal(await cell(page, `#tables-table ${events}`, 'rows'), '28', 'two rows deleted by position deletes');
    assert.equal(await cell(page, `#tables-table ${events}`, 'dataFiles'), '2');
    assert.equal(await cell(page, `#tables-table ${events}`, 'deleteFiles'), '1');
    assert.equal(await page.locator(`#tables-table ${events}`).getAttribute('data-state'), 'lagging');
    assert.match(await page.locator(`#tables-table ${orders} [data-field="lastCommit"] time`).getAttribute('title') ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    assert.equal(await page.locator('#tables-table tr[data-table]').count(), 3, 'the two tables and the DLQ table');

    // Consumer lag: one row per partition, the table's offsets against the topics' end offsets.
    const lagRow = (topic: string, partition: number): string => `#lag-table tr[data-topic="${topic}"][data-partition="${partition}"]`;
    const lag = async (topic: string, partition: number): Promise<string[]> => Promise.all(['endOffset', 'committedOffset', 'lag'].map(async (f) => (await cell(page, lagRow(topic, partition), f)) ?? ''));
    assert.deepEqual(await lag(ordersTopic, 0), ['20', '20', '0']);
    assert.deepEqual(await lag(ordersTopic, 1), ['10', '10', '0']);
    assert.deepEqual(await lag(eventsTopic, 0), ['15', '15', '0']);
    assert.deepEqual(await lag(eventsTopic, 1), ['20', '15', '5']);
    assert.equal(await page.locator('#lag-table tr[data-partition]').count(), 4);

    // Queues, with a link to the board.
    assert.equal(await cell(page, '#queues-table tr[data-queue="views"]', 'waiting'), '2');
    assert.equal(await cell(page, '#queues-table tr[data-queue="compact"]', 'waiting'), '1');
    assert.equal(await cell(page, '#queues-table tr[data-queue="dbt"]', 'failed'), '1');
    assert.equal(await page.locator('#queue-board-link').getAttribute('href'), '/status/queues');

    // Dead letters: the topic's three, the table's three by target table and kind.
    assert.equal(await page.locator('#dlq-topic-total').getAttribute('data-value'), '3');
    assert.equal(await page.locator('#dlq-table-total').getAttribute('data-value'), '3');
    assert.equal(await cell(page, '#dlq-table tr[data-dlq-table="acme.orders"][data-kind="decode"]', 'count'), '2');
    assert.equal(await cell(page, '#dlq-table tr[data-dlq-table="ops.events"][data-kind="schema"]', 'count'), '1');

    // dbt runs, newest first, with the failure.
    assert.deepEqual(await page.locator('#dbt-runs-table tr[data-dbt-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))), ['error', 'success']);
    assert.match(await page.locator('#dbt-runs-table').innerText(), /column "oops" not found/);

    // The chart: one series per table with timestamps (the DLQ table has none), a legend, axis labels.
    const series = await page.locator('svg#freshness-chart g.series').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-series'), g.querySelectorAll('circle').length]));
    assert.deepEqual(series, [['acme.orders', 3], ['ops.events', 2]]);
    const freshness = (await page.locator('svg#freshness-chart g.series[data-series="acme.orders"] circle').evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-freshness')))));
    assert.ok(freshness[0]! >= 4 && freshness[1]! >= 6 && freshness[2]! >= 8 && freshness[2]! < 60, `freshness ${freshness.join(', ')}`);
    assert.equal(await page.locator('#freshness-legend li').count(), 2);
    assert.match(await page.locator('svg#freshness-chart').innerHTML(), /commit time \(UTC\)/);

    // Overall state: a failed job and a failed dbt run make it degraded; the problems say why.
    assert.equal(await page.locator('#overall-state').getAttribute('data-state'), 'degraded');
    assert.match(await page.locator('#problems').innerText(), /1 failed job in .*-dbt/);
    assert.match(await page.locator('#problems').innerText(), /ops\.events is 5 records behind/);
    assert.match(await page.locator('#freshness-definition').innerText(), /Freshness lag is 0 when/);

    const shot = await screenshot(page, 'status-page-admin');
    assert.ok(shot.bytes > 30_000, `a real page, not a blank one: ${shot.bytes} bytes`);
    assert.equal(shot.width, 1280);
    assert.ok(shot.height > 900, `the full page: ${shot.height} px`);

    // The JSON endpoint has the same numbers (the same clock: the same report), and the OpenAPI document describes it.
    const json = (await (await fetch(`${url}/api/v1/status`, { headers: { 'x-test-scope': 'admin' } })).json()) as StatusReport;
    assert.deepEqual(json, JSON.parse(JSON.stringify(await collectStatus(deps, admin))));
    assert.equal(json.tables.items.find((t) => t.table === 'ops.events')?.totalLag, 5);
    assert.equal(offsite.length, 0, `no request left the server: ${offsite.join(', ')}`);
    const openapi = (await (await fetch(`${url}/api/docs/json`, { headers: { 'x-test-scope': 'admin' } })).json()) as { paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>> };
    assert.deepEqual(openapi.paths['/api/v1/status']?.get?.tags, ['status']);
    assert.ok(openapi.paths['/api/v1/status']?.get?.responses['200'], 'the report\'s schema is in the document');
    assert.deepEqual(openapi.paths['/status']?.get?.tags, ['status']);
    assert.equal(Object.keys(openapi.paths).filter((p) => p.startsWith('/status/queues')).length, 0, 'the board\'s routes stay out of the document');

    // The queue board (bull-board), served from node_modules, loads its queues without reaching other hosts.
    await page.click('#queue-board-link');
    await page.waitForSelector(`text=${queueNames(prefix).views}`, { timeout: 20_000 });
    await page.click(`text=${queueNames(prefix).dbt}`);
    await page.waitForSelector('text=dbt exploded on purpose', { timeout: 20_000 }).catch(() => undefined);
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'status-queue-board');
    assert.equal(offsite.length, 0, `the board stays offline: ${offsite.join(', ')}`);
    await page.close();
  });

  test('a tenant sees only its own tables and letters, and the queue board is closed to it', async () => {
    const { url } = await serve({ catalog, kafka: context.kafka, redis: connect(), prefix, dlqTable: DLQ });
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ 'x-test-scope': 'tenant:acme' });
    assert.equal((await page.goto(`${url}/status?refresh=0`))?.status(), 200);
    assert.deepEqual(await page.locator('#tables-table tr[data-table]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-table'))), ['acme.orders']);
    assert.equal(await page.locator('#lag-table tr[data-partition]').count(), 2);
    assert.equal(await page.locator('[data-table="ops.events"]').count(), 0);
    assert.equal(await page.locator('#dlq-topic-total').count(), 0, 'the DLQ topic holds every tenant\'s letters');
    assert.equal(await page.locator('#dlq-table-total').getAttribute('data-value'), '2');
    assert.equal(await page.locator('#dlq-table tr[data-dlq-table]').count(), 1);
    assert.equal(await page.locator('#queues-table').count(), 0);
    assert.equal(await page.locator('#queue-board-link').count(), 0);
    assert.deepEqual(await page.locator('#dbt-runs-table tr[data-dbt-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-dbt-run'))), ['dbt-1']);
    assert.equal(await page.locator('svg#freshness-chart g.series').count(), 1);
    await screenshot(page, 'status-page-tenant');

    const board = await page.goto(`${url}/status/queues`);
    assert.equal(board?.status(), 403);
    assert.match(await page.locator('#message').innerText(), /administrators only/);
    const api = await fetch(`${url}/status/queues/api/queues`, { headers: { 'x-test-scope': 'tenant:acme' } });
    assert.equal(api.status, 403, 'the board\'s API too');
    assert.match(((await api.json()) as { message: string }).message, /administrators only/);
    const anonymous = await fetch(`${url}/api/v1/status`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const json = (await (await fetch(`${url}/api/v1/status`, { headers: { 'x-test-scope': 'tenant:acme' } })).json()) as StatusReport;
    assert.deepEqual(json.tables.items.map((t) => t.table), ['acme.orders']);
    assert.deepEqual(json.deadLetters.byTable, [{ table: 'acme.orders', kind: 'decode', count: 2 }]);
    assert.equal(json.queues.visible, false);
    assert.deepEqual(json.dbtRuns.items[0]?.failures, []);
    await page.close();
  });

  test('with Kafka and Redis unreachable the page still renders the tables, and says what failed', async () => {
    const deadKafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, connectionTimeout: 300, retry: { retries: 0 } });
    const deadRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    cleanups.push(async () => deadRedis.disconnect());
    const { app } = await serve({ catalog, kafka: deadKafka, redis: deadRedis, prefix, dlqTable: DLQ, limits: { timeoutMs: 3000 } });
    const started = Date.now();
    const reply = await app.inject({ method: 'GET', url: '/status?refresh=0', headers: { 'x-test-scope': 'admin' } });
    assert.equal(reply.statusCode, 200);
    assert.ok(Date.now() - started < 10_000, 'bounded by the sources\' deadline');
    const html = reply.body;
    assert.match(html, /data-table="acme\.orders" data-state="unknown"/);
    assert.match(html, /data-field="rows" data-value="30"/);
    assert.match(html, /data-error-section="queues"/);
    assert.match(html, /data-error-section="dbt-runs"/);
    assert.match(html, /data-error-section="dead-letters-topic"/);
    assert.match(html, /data-state="degraded"/);
    assert.match(html, /id="summary-lag"><span class="label">records behind<\/span><span class="value">—</, 'an unknown lag is not shown as 0');
    assert.match(html, /id="problems"><li>acme\.orders, ops\.events: Kafka/, 'Kafka down is one problem');
    const page = await browser.newPage();
    await page.setContent(html);
    await screenshot(page, 'status-page-sources-down');
    await page.close();
  });

  test('a table written by a real sink: rows, caught up on every partition, one chart point per commit with a timestamp', async () => {
    const sinkPrefix = uniqueName('ss').replace('-', '_');
    const file = path.join(context.dir, 'items.csv');
    await writeFile(file, `${['id,name', ...range(0, 200).map((i) => `${i},item ${i}`)].join('\n')}\n`);
    const produced = await produceCsv(context.kafka, context.registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'items', keyColumns: ['id'], topicPrefix: sinkPrefix, partitions: 2 });
    const id = { namespace: ['shop'], name: 'items' };
    const sink = await startTestSink(context.kafka, context.registry, catalog, { prefix: sinkPrefix, topics: [produced.topic] });
    try {
      await waitCaughtUp(context.kafka, catalog, id, produced.topic);
    } finally {
      await sink.stop();
    }
    const report = await collectStatus({ catalog, kafka: context.kafka, redis: connect(), prefix: sinkPrefix, dlqTable: { namespace: [sinkPrefix], name: 'dead_letters' } }, admin);
    const items = report.tables.items.find((t) => t.table === 'shop.items');
    assert.ok(items, JSON.stringify(report.tables));
    assert.equal(items.rows, 200);
    assert.deepEqual(items.topics, [produced.topic]);
    assert.deepEqual(items.partitions.map((p) => [p.partition, p.lag, p.endOffset === p.committedOffset]), [[0, 0, true], [1, 0, true]]);
    assert.equal(items.partitions.reduce((n, p) => n + p.endOffset, 0), 200);
    assert.equal(items.freshnessState, 'caught-up');
    assert.equal(items.freshnessLagMs, 0);
    const table = await catalog.loadTable(id);
    const stamped = table.metadata.snapshots.filter((s) => s.summary[KAFKA_MIN_TIMESTAMP_PROPERTY] !== undefined).length;
    assert.ok(stamped > 0, 'the sink records its batches\' oldest Kafka timestamp');
    assert.equal(items.freshness.length, Math.min(stamped, 50), 'one point per commit that records a timestamp, none invented');
    for (const p of items.freshness) assert.ok(p.freshnessSeconds >= 0 && p.freshnessSeconds < 600, JSON.stringify(p));
  });
});
