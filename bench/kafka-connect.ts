// The incumbent of the sink benchmark: the Apache Iceberg Kafka Connect sink (iceberg-kafka-connect 1.12, one Connect
// 3.9.2 distributed worker) reading the same Avro change-envelope topic as DuckHouse's Sink and committing an
// append-only Iceberg table to the same JDBC-catalog layout on the stack's Postgres, on a local file:// warehouse, so
// our own catalog (openBenchCatalog) loads and checks what it wrote.
//   node --import tsx bench/kafka-connect.ts [--rows 200000] [--tasks 1[,2,4]] [--rounds 1] [--commit-interval 1000]
//                                            [--warmup-rows 200000] [--partitions 4] [--heap 1024] [--timeout 900]
//                                            [--offset-flush-interval 1000]
// Each round runs every --tasks count once (rounds interleave them), each on a fresh connector and table.
// The pipeline per record: Apicurio's AvroConverter (Confluent framing: magic byte, 4-byte content id, no headers,
// schema fetched through the registry's v2 API) → Kafka's ExtractField$Value(after) → the Iceberg sink, which
// auto-creates the table from the first record's Connect schema (append mode: no id columns). Its columns differ
// from DuckHouse's table where the converter's Connect types say less than the Avro schema: `ts` (Avro
// timestamp-micros, which the converter leaves a plain int64) is long, not timestamptz; `ref` (Avro uuid) is string,
// not uuid; `amount` (Avro decimal(18,2)) is decimal(38,2). The rest (long, int, string, double, date, boolean;
// `note` optional, the others required) match.
// The clock starts when the connector is POSTed and stops at the commit of the snapshot that makes the table hold
// every row (its timestamp-ms, taken when it lies between the POST and the poll that saw it; else the poll time),
// polled every 200 ms. A fresh worker's first connector runs at about half speed (JIT: 14 s and 17.6 s CPU for 1M rows
// against 7.6 s and 7 s warm), so time only after a warm-up run (the entry runs one on its own topic by default).
// Must never: leave a connector, topic, consumer group, table or temp file of a run behind, or count a table with
// more rows than were produced (duplicates) as a success.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import type { Catalog } from '../src/catalog/catalogs/catalog.js';
import { currentSchema, currentSnapshot, type TableMetadata } from '../src/catalog/spec/table-metadata.js';
import { typeToString } from '../src/catalog/spec/types.js';
import { createKafka, ensureTopic } from '../src/producers/kafka/client.js';
import { createRegistry, valueSubject } from '../src/schemas/registry.js';
import { DuckHouseError, NotFoundError } from '../src/shared/errors.js';
import { readEndpoints } from '../src/stack/config.js';
import { installIcebergConnect } from './kafka-connect-install.js';
import { APICURIO_AVRO_CONVERTER_CLASS, ConnectWorker, ICEBERG_SINK_CLASS } from './kafka-connect-worker.js';
import type { CatalogSpec } from './sink-data.js';
import { median, printTable } from './measure.js';
import { benchRow, cleanupCatalog, deleteSubjects, deleteTopics, encodeChange, newCatalogSpec, now, openBenchCatalog, preload, registerTopicSchemas, tableId } from './sink-data.js';

export { CONNECT_ARTIFACTS, ICEBERG_CONNECT_VERSION, installIcebergConnect } from './kafka-connect-install.js';
export type { IcebergConnectInstall } from './kafka-connect-install.js';
export { ConnectWorker } from './kafka-connect-worker.js';

/**
 * Fastest on the 2-core bench machine, 1M rows on 4 partitions, warm worker: 1 task ≈ 116-130k rows/s, 2 tasks
 * ≈ 83k, 4 tasks ≈ 88-90k (medians of interleaved runs). More tasks compete for the two cores and elect their commit
 * leader late (the coordinator starts ~3 s after the tasks). At 200k rows one or two commits decide the time.
 */
export const DEFAULT_CONNECT_TASKS = 1;
export const DEFAULT_COMMIT_INTERVAL_MS = 1000;

/** Which registry id our producers' 4-byte framing carries; the ccompat API of Apicurio 3 hands out content ids. */
export type RegistryIdKind = 'contentId' | 'globalId';

export interface IcebergConnectSinkOptions {
  topic: string;
  catalog: CatalogSpec;
  namespace: string;
  table: string;
  /** Rows the topic holds: the run ends at the snapshot whose total-records reaches this. */
  expectedRows: number;
  tasks?: number;
  /** iceberg.control.commit.interval-ms (the sink's default is 5 minutes). */
  commitIntervalMs?: number;
  timeoutMs?: number;
  /** The schema registry as readEndpoints() gives it (the ccompat URL); the converter uses the same host's v2 API. */
  registryUrl: string;
  /** Names the connector, its control topic and groups, so a run's cleanup finds whatever is left. */
  prefix: string;
  idKind?: RegistryIdKind;
}

export interface IcebergConnectRun {
  connector: string;
  /** POST → the commit that made the table complete. */
  seconds: number;
  rate: number;
  /** POST → the table's creation, which the sink does on the first record it writes (≈ first record consumed). */
  firstRecordSeconds: number | undefined;
  /** Snapshots in the table. */
  commits: number;
  rows: number;
  tasks: number;
  /** CPU seconds the worker's JVM used from the POST to the end (every thread: tasks, coordinator, GC, JIT). */
  cpuSeconds: number;
  /** Where the end time came from: the snapshot's timestamp-ms or the poll that saw it. */
  endFrom: 'snapshot' | 'poll';
  /** `id long, qty int, …` as the sink created them. */
  columns: string;
}

/** Apicurio's native v2 API on the host of a ccompat URL (`…/apis/ccompat/v7` → `…/apis/registry/v2`). */
export function apicurioV2Url(registryUrl: string): string {
  return `${new URL(registryUrl).origin}/apis/registry/v2`;
}

/** The connector's configuration (everything not set keeps the sink's defaults). */
export function icebergSinkConfig(options: IcebergConnectSinkOptions, names: { control: string; controlGroupPrefix: string }): Record<string, string> {
  const pg = readEndpoints().postgres;
  return {
    'connector.class': ICEBERG_SINK_CLASS,
    'tasks.max': String(options.tasks ?? DEFAULT_CONNECT_TASKS),
    topics: options.topic,
    'key.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    'value.converter': APICURIO_AVRO_CONVERTER_CLASS,
    'value.converter.apicurio.registry.url': apicurioV2Url(options.registryUrl),
    'value.converter.apicurio.registry.headers.enabled': 'false',
    'value.converter.apicurio.registry.id-handler': 'io.apicurio.registry.serde.Legacy4ByteIdHandler',
    'value.converter.apicurio.registry.use-id': options.idKind ?? 'contentId',
    transforms: 'after',
    'transforms.after.type': 'org.apache.kafka.connect.transforms.ExtractField$Value',
    'transforms.after.field': 'after',
    'iceberg.tables': `${options.namespace}.${options.table}`,
    'iceberg.tables.auto-create-enabled': 'true',
    'iceberg.catalog': options.catalog.name,
    'iceberg.catalog.catalog-impl': 'org.apache.iceberg.jdbc.JdbcCatalog',
    'iceberg.catalog.uri': `jdbc:postgresql://${pg.host}:${pg.port}/${pg.database}`,
    'iceberg.catalog.jdbc.user': pg.user,
    'iceberg.catalog.jdbc.password': pg.password,
    'iceberg.catalog.jdbc.schema-version': 'V1',
    'iceberg.catalog.warehouse': options.catalog.warehouse,
    'iceberg.control.topic': names.control,
    'iceberg.control.group-id-prefix': names.controlGroupPrefix,
    'iceberg.control.commit.interval-ms': String(options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS),
  };
}

let runs = 0;

const describeColumns = (metadata: TableMetadata): string =>
  currentSchema(metadata)
    .fields.map((f) => `${f.name} ${typeToString(f.type)}${f.required ? ' required' : ''}`)
    .join(', ');

/** The earliest time the table's metadata knows (its creation), in epoch ms. */
const createdAt = (metadata: TableMetadata): number => Math.min(metadata.lastUpdatedMs, ...metadata.metadataLog.map((m) => m.timestampMs));

async function loadIfExists(catalog: Catalog, namespace: string, table: string): Promise<TableMetadata | undefined> {
  try {
    return (await catalog.loadTable(tableId(namespace, table))).metadata;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * One run of the Iceberg sink on `worker`: a new connector (unique name, control topic and groups) into a table it
 * auto-creates, timed from its POST to the snapshot holding `expectedRows`; then the connector, its control topic
 * and its groups are deleted. Throws with the worker log's tail on a failed task or a timeout, and on duplicates.
 */
export async function runIcebergConnectSink(worker: ConnectWorker, options: IcebergConnectSinkOptions): Promise<IcebergConnectRun> {
  const n = ++runs;
  const connector = `${options.prefix}-iceberg-${n}-${Date.now().toString(36)}`;
  const names = { control: `${options.prefix}-control-${n}`, controlGroupPrefix: `${options.prefix}-cg-control-${n}-` };
  const tasks = options.tasks ?? DEFAULT_CONNECT_TASKS;
  const timeoutMs = options.timeoutMs ?? 900_000;
  const kafka = createKafka({ brokers: [...worker.brokers], quiet: true, clientId: 'duckhouse-bench-kafka-connect' });
  const catalog = openBenchCatalog(options.catalog);
  try {
    // Set-up outside the clock: the namespace (the sink would create it too) and the control topic (one partition).
    if (!(await catalog.namespaceExists([options.namespace]))) await catalog.createNamespace([options.namespace]);
    await ensureTopic(kafka, names.control, { partitions: 1 });
    if (await loadIfExists(catalog, options.namespace, options.table)) {
      throw new DuckHouseError('config', `table ${options.namespace}.${options.table} already exists: each run needs a fresh table`);
    }
    const cpu0 = worker.cpuSeconds();
    const t0 = now();
    await worker.request('POST', '/connectors', { name: connector, config: icebergSinkConfig(options, names) });
    let firstRecordAt: number | undefined;
    let lastStatusCheck = 0;
    for (;;) {
      const polledAt = now();
      if (polledAt - t0 > timeoutMs) {
        throw worker.error(`${connector}: the table did not reach ${options.expectedRows} rows within ${timeoutMs / 1000} s`);
      }
      if (!worker.running) throw worker.error(`${connector}: the Connect worker exited`);
      if (polledAt - lastStatusCheck >= 1000) {
        lastStatusCheck = polledAt;
        const status = await worker.status(connector);
        const failed = [
          ...(status?.connector.state === 'FAILED' ? [`connector: ${status.connector.trace ?? 'no trace'}`] : []),
          ...(status?.tasks ?? []).filter((t) => t.state === 'FAILED').map((t) => `task ${t.id}: ${t.trace ?? 'no trace'}`),
        ];
        if (failed.length > 0) throw worker.error(`${connector} failed:\n${failed.join('\n')}`);
      }
      const metadata = await loadIfExists(catalog, options.namespace, options.table);
      if (metadata) {
        firstRecordAt ??= createdAt(metadata);
        const snapshot = currentSnapshot(metadata);
        const rows = Number(snapshot?.summary['total-records'] ?? 0);
        if (snapshot && rows > options.expectedRows) {
          throw worker.error(`${connector}: the table holds ${rows} rows, ${options.expectedRows} were produced: ${rows - options.expectedRows} duplicates`);
        }
        if (snapshot && rows === options.expectedRows) {
          const trusted = snapshot.timestampMs >= t0 - 1000 && snapshot.timestampMs <= polledAt + 1000;
          const endedAt = trusted ? snapshot.timestampMs : polledAt;
          const seconds = (endedAt - t0) / 1000;
          return {
            connector,
            seconds,
            rate: rows / seconds,
            firstRecordSeconds: firstRecordAt >= t0 - 1000 ? (firstRecordAt - t0) / 1000 : undefined,
            commits: metadata.snapshots.length,
            rows,
            tasks,
            cpuSeconds: worker.cpuSeconds() - cpu0,
            endFrom: trusted ? 'snapshot' : 'poll',
            columns: describeColumns(metadata),
          };
        }
      }
      await sleep(200);
    }
  } finally {
    await catalog.close();
    await worker.deleteConnector(connector).catch((error: unknown) => console.log(`  (could not delete connector ${connector}: ${String(error)})`));
    await dropRunLeftovers(kafka, connector, names).catch((error: unknown) => console.log(`  (cleanup of ${connector}'s topic and groups failed: ${String(error)})`));
  }
}

/** Deletes a finished connector's consumer groups (`connect-<name>`, `…-coord`, the control groups) and control topic. */
async function dropRunLeftovers(kafka: Kafka, connector: string, names: { control: string; controlGroupPrefix: string }): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`connect-${connector}`) || g.startsWith(names.controlGroupPrefix));
      if (groups.length === 0) break;
      // A group whose members are still leaving refuses deletion for a moment.
      const results = await admin.deleteGroups(groups).catch(() => [{ error: true }]);
      if (results.every((r) => !r.error)) break;
      await sleep(500);
    }
    await admin.deleteTopics({ topics: [names.control] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Which id kind `id` is for `subject`, from the registry's v3 API (the ccompat id of Apicurio 3 is the content id). */
export async function registryIdKind(registryUrl: string, subject: string, id: number): Promise<RegistryIdKind | undefined> {
  const url = `${new URL(registryUrl).origin}/apis/registry/v3/search/versions?artifactId=${encodeURIComponent(subject)}`;
  const found = (await (await fetch(url)).json()) as { versions?: { contentId: number; globalId: number }[] };
  const version = found.versions?.[0];
  if (version?.contentId === id) return 'contentId';
  if (version?.globalId === id) return 'globalId';
  return undefined;
}

// ---- standalone entry ----

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000' },
      tasks: { type: 'string', default: String(DEFAULT_CONNECT_TASKS) },
      rounds: { type: 'string', default: '1' },
      partitions: { type: 'string', default: '4' },
      'commit-interval': { type: 'string', default: String(DEFAULT_COMMIT_INTERVAL_MS) },
      'warmup-rows': { type: 'string', default: '200000' },
      heap: { type: 'string', default: '1024' },
      'offset-flush-interval': { type: 'string', default: '1000' },
      timeout: { type: 'string', default: '900' },
    },
  });
  const rows = Number(args.rows);
  const partitions = Number(args.partitions);
  const taskCounts = args.tasks!.split(',').map(Number);
  const rounds = Math.max(1, Number(args.rounds));
  const warmupRows = Number(args['warmup-rows']);
  const endpoints = readEndpoints();
  const kafka = createKafka({ brokers: endpoints.kafka.brokers, quiet: true });
  const registry = createRegistry({ url: endpoints.schemaRegistry.url });
  const prefix = `bkc_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const namespace = `${prefix}_append`;
  const topics: string[] = [];
  let catalog: CatalogSpec | undefined;
  let worker: ConnectWorker | undefined;
  let failed = false;

  const install = await installIcebergConnect((line) => console.log(line));
  console.log(`install: ${install.jars} jars, ${(install.bytes / 1048576).toFixed(0)} MB in ${install.dir}${install.installSeconds > 0 ? `, installed in ${install.installSeconds.toFixed(1)} s` : ' (already installed)'}`);
  try {
    const workerStart = now();
    worker = await ConnectWorker.start({ brokers: endpoints.kafka.brokers, prefix, heapMb: Number(args.heap), offsetFlushIntervalMs: Number(args['offset-flush-interval']), install });
    console.log(`worker: Kafka Connect up in ${((now() - workerStart) / 1000).toFixed(1)} s at ${worker.url} (log: ${worker.logFile})`);
    catalog = await newCatalogSpec('local');

    const produce = async (name: string, count: number): Promise<{ topic: string; idKind: RegistryIdKind }> => {
      const topic = `${prefix}.${namespace}.${name}`;
      topics.push(topic);
      const schemas = await registerTopicSchemas(registry, topic, false);
      const idKind = await registryIdKind(endpoints.schemaRegistry.url, valueSubject(topic), schemas.value.id);
      if (!idKind) throw new DuckHouseError('internal', `schema id ${schemas.value.id} of ${valueSubject(topic)} is neither its content id nor its global id`);
      const loadStart = now();
      const sent = await preload(kafka, topic, partitions, 'gzip', (function* () {
        for (let i = 0; i < count; i++) yield { ...encodeChange(schemas, 'c', benchRow(i, 1)), partition: i % partitions };
      })());
      console.log(`${name}: ${fmt(sent)} change records (op c, 10 columns, no key), ${partitions} partitions, gzip; preloaded in ${((now() - loadStart) / 1000).toFixed(1)} s; framing id ${schemas.value.id} is the ${idKind}`);
      return { topic, idKind };
    };
    const common = { catalog, namespace, registryUrl: endpoints.schemaRegistry.url, prefix, commitIntervalMs: Number(args['commit-interval']), timeoutMs: Number(args.timeout) * 1000 };

    if (warmupRows > 0) {
      const warm = await produce('warmup', warmupRows);
      const run = await runIcebergConnectSink(worker, { ...common, ...warm, table: 'warmup', expectedRows: warmupRows, tasks: taskCounts[0]! });
      console.log(`  warm-up run (not timed for the result): ${run.seconds.toFixed(2)} s, ${fmt(run.rate)} rows/s, first record at ${run.firstRecordSeconds?.toFixed(2) ?? '?'} s`);
    }
    const appendTopic = await produce('append', rows);
    console.log(`  sink: Iceberg Kafka Connect sink, JDBC catalog (stack Postgres), file:// warehouse, commit interval ${common.commitIntervalMs} ms; a fresh connector and table per run; ${rounds} round(s) over tasks ${taskCounts.join(', ')}`);
    const results = new Map<number, IcebergConnectRun[]>(taskCounts.map((t) => [t, []]));
    let columns = '';
    let index = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const tasks of taskCounts) {
        const run = await runIcebergConnectSink(worker, { ...common, ...appendTopic, table: `append_${++index}`, expectedRows: rows, tasks });
        results.get(tasks)!.push(run);
        columns = run.columns;
        console.log(`  round ${round}, tasks ${tasks}: ${run.seconds.toFixed(2)} s, ${fmt(run.rate)} rows/s; first record at ${run.firstRecordSeconds?.toFixed(2) ?? '?'} s; ${run.commits} commits; ${run.cpuSeconds.toFixed(1)} s CPU (${(run.cpuSeconds / run.seconds).toFixed(2)} cores); end from ${run.endFrom}`);
      }
    }
    const memory = worker.memory();
    console.log(`  columns as the sink created them: ${columns}`);
    console.log(`  worker JVM: RSS ${(memory.rss / 1048576).toFixed(0)} MB now, peak ${(memory.peak / 1048576).toFixed(0)} MB (heap -Xmx${args.heap}m)`);
    const summary = [...results].map(([tasks, list]) => {
      const rates = list.map((r) => r.rate);
      return [String(tasks), fmt(median(rates)), fmt(Math.max(...rates)), median(list.map((r) => r.seconds)).toFixed(2), median(list.map((r) => r.firstRecordSeconds ?? NaN)).toFixed(2), median(list.map((r) => r.cpuSeconds)).toFixed(1)];
    });
    printTable(['tasks', 'median rows/s', 'best rows/s', 'median s', 'first record s', 'CPU s'], summary, '  ');
  } catch (error) {
    failed = true;
    console.error(error instanceof Error ? error.message : String(error));
  } finally {
    await worker?.stop();
    const deleted = await deleteTopics(kafka, prefix).catch(() => [] as string[]);
    await deleteSubjects(endpoints.schemaRegistry.url, topics);
    if (catalog) await cleanupCatalog(catalog, [namespace]).catch((error: unknown) => console.log(`cleanup of catalog ${catalog!.name} failed: ${String(error)}`));
    console.log(`cleaned up: ${deleted.length} topics, namespace ${namespace}${worker ? `; worker log kept at ${worker.logFile}` : ''}`);
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
