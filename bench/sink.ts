// Kafka → Iceberg sink benchmark (issue: sink throughput, memory and freshness). Every sink and baseline runs in its own
// child process (sink-data.ts), started and idle before its clock starts, so its CPU and peak RSS are its own and not
// the preloader's. Uses the running stack (`duckhouse stack up`); random topic/namespace/group/catalog names;
// everything created is removed at the end.
//   npx tsx bench/sink.ts [--rows 1000000] [--scenario append|upsert|freshness|all] [--repeat 3] [--s3]
//                         [--flush-rows 500000] [--flush-interval 10000] [--keys rows/10] [--compression gzip]
//                         [--rate 20000] [--seconds 30] [--freshness-interval 2000] [--timer-tail] [--profile] [--tsx]
//                         [--connect [--connect-tasks 1] [--connect-commit-interval 1000]] [--out f.json]
// 1. append: N change records (op c, 10 columns, no key) on 4 partitions. Baseline: a kafkajs consumer group reading
//    the topic and decoding every value with the registry codec (SchemaCache.decode), no table. Then the Sink into a
//    fresh table (SQL catalog on the stack's Postgres, local file:// warehouse; --s3 adds a MinIO run) until the
//    table's offsets reach the topic's end (the committing flush included). rows/s, ratio sink/baseline. --connect adds,
//    in each round, the Apache Iceberg Kafka Connect sink (bench/kafka-connect.ts) reading the same topic into an
//    append table of the same catalog: DuckHouse's rows/s against the incumbent's. When the sink has
//    consumed every record it commits what it holds at once (a graceful stop), as the next rows/bytes limit would in a
//    stream that goes on; --timer-tail lets the last batch wait for its time limit instead.
// 2. upsert: N CDC-like changes over N/10 keys (inserts, ~5% deletes, re-inserts, updates), keyed by id, into a keyed
//    table; changes/s end to end, the sink process's peak RSS, and the live rows checked against the model.
// 3. freshness: records produced at a steady --rate for --seconds while the sink runs with a 2 s flush interval;
//    commit time (the Sink's onCommit) − produce time per record: p50/p99/max.
// Children run the project compiled by tsc into a temp dir (as the CLI runs dist/): tsx's transform wraps every closure
// created per record in a naming helper (~9% of the sink's main thread here). --tsx runs them under tsx instead.
// --profile writes a V8 CPU profile of each child into a temp dir. Must never: decide pass/fail on wall time (the
// goals are printed next to the numbers); the exit code is non-zero only when a table's content is wrong.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import type { Catalog } from '../src/catalog/catalogs/catalog.js';
import { scanRows } from '../src/catalog/read/scan-table.js';
import { currentSnapshot } from '../src/catalog/spec/table-metadata.js';
import { partitionKeyOf, tableProgress } from '../src/consumers/offsets.js';
import type { FlushLimits, SinkStats } from '../src/consumers/sink.js';
import { createKafka, createProducer, ensureTopic } from '../src/producers/kafka/client.js';
import { type Compression, KafkaSender } from '../src/producers/kafka/sender.js';
import { createRegistry } from '../src/schemas/registry.js';
import { readEndpoints } from '../src/stack/config.js';
import { KAFKA_VERSION } from '../src/stack/components/kafka.js';
import { median, percentile, printTable } from './measure.js';
import { type Figure, writeSection } from './report.js';
import { ConnectWorker, DEFAULT_COMMIT_INTERVAL_MS, DEFAULT_CONNECT_TASKS, ICEBERG_CONNECT_VERSION, type IcebergConnectRun, type IcebergConnectSinkOptions, installIcebergConnect, runIcebergConnectSink } from './kafka-connect.js';
import type { CatalogSpec, ChildConfig, ChildEntry, WarehouseKind } from './sink-data.js';
import {
  benchRow, cdcStream, Child, childEntry, cleanupCatalog, deleteSubjects, deleteTopics, encodeChange, endOffsets, mb, memoryParts, newCatalogSpec, now,
  openBenchCatalog, preload, registerTopicSchemas, runChild, tableId,
} from './sink-data.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    keys: { type: 'string' },
    scenario: { type: 'string', default: 'all' },
    repeat: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '4' },
    compression: { type: 'string', default: 'gzip' },
    'flush-rows': { type: 'string', default: '500000' },
    'flush-interval': { type: 'string', default: '10000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '30' },
    'freshness-interval': { type: 'string', default: '2000' },
    s3: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    'timer-tail': { type: 'boolean', default: false },
    connect: { type: 'boolean', default: false },
    'connect-tasks': { type: 'string', default: String(DEFAULT_CONNECT_TASKS) },
    'connect-commit-interval': { type: 'string', default: String(DEFAULT_COMMIT_INTERVAL_MS) },
    child: { type: 'string' },
    out: { type: 'string' },
  },
});

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const profileDir = args.profile ? mkdtempSync(path.join(tmpdir(), 'duckhouse-bench-sink-prof-')) : undefined;
let entry: ChildEntry | undefined;
const startChild = (config: ChildConfig): Promise<Child> => Child.start((entry ??= childEntry(fileURLToPath(import.meta.url), args.tsx!)), config, profileDir);

// ---- parent ----

const endpoints = readEndpoints();
const kafka: Kafka = createKafka({ brokers: endpoints.kafka.brokers, quiet: true });
const registry = createRegistry({ url: endpoints.schemaRegistry.url });
const rows = Number(args.rows);
const partitions = Number(args.partitions);
const compression = args.compression as Compression;
const repeat = Math.max(1, Number(args.repeat));
const flush: FlushLimits = { intervalMs: Number(args['flush-interval']), rows: Number(args['flush-rows']), bytes: 128 * 1024 * 1024 };
const prefix = `bsink_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let groups = 0;
const group = (what: string): string => `${prefix}-${what}-${++groups}`;
const summary: string[][] = [];
/** The baseline of the append and upsert figures: what reading the topic costs without a table. */
const RAW_BASELINE = 'raw kafkajs consumer + registry decode, same topic, no table';
/** What `--out` writes for bench/run.ts (bench/report.ts). */
const figures: Figure[] = [];
const notes: string[] = [];
const namespaces: string[] = [];
const topics: string[] = [];
const catalogs = new Map<WarehouseKind, CatalogSpec>();
let wrong = false;

async function catalogSpec(kind: WarehouseKind): Promise<CatalogSpec> {
  let spec = catalogs.get(kind);
  if (!spec) catalogs.set(kind, (spec = await newCatalogSpec(kind)));
  return spec;
}

function newTopic(name: string): { topic: string; namespace: string } {
  const namespace = `${prefix}_${name}`;
  const topic = `${prefix}.${namespace}.${name}`;
  namespaces.push(namespace);
  topics.push(topic);
  return { topic, namespace };
}

const sumOffsets = (end: ReadonlyMap<number, bigint>): number => [...end.values()].reduce((a, b) => a + Number(b), 0);

interface SinkRun {
  seconds: number;
  rate: number;
  /** Seconds until every record was consumed (not yet committed). */
  consumedSeconds: number;
  cpu: number;
  peakRss: number;
  /** The child's own memoryUsage() sample with the highest RSS (heap vs buffers vs native). */
  memory: NodeJS.MemoryUsage;
  sampledRss: number;
  commits: number;
  /** `+4.1 s 500,000 rows, …`: when each commit landed (from the sink's start) and how many rows it added. */
  timeline: string;
  stats: SinkStats | undefined;
}

/** A sink child from a fresh group into `table` until its commits reach `end`; the table's own offsets are checked too. */
async function runSink(catalog: CatalogSpec, topic: string, table: string, end: ReadonlyMap<number, bigint>, limits: Partial<FlushLimits>): Promise<SinkRun> {
  const records = sumOffsets(end);
  const child = await startChild({ mode: 'sink', topic, group: group('sink'), catalog, table, prefix, flush: limits, total: records, drain: !args['timer-tail'] });
  child.tell('go');
  const started = await child.next('started');
  const last = await child.caughtUp(end, 600_000);
  const consumed = await child.next('consumed');
  child.tell('stop');
  const done = await child.finish();
  const seconds = (last.at - started.t0) / 1000;
  const opened = openBenchCatalog(catalog);
  try {
    const [ns, name] = table.split('.');
    const offsets = tableProgress((await opened.loadTable(tableId(ns!, name!))).metadata).offsets;
    const behind = [...end].filter(([p, high]) => high > 0n && offsets.get(partitionKeyOf(topic, p)) !== high);
    if (behind.length > 0) {
      wrong = true;
      console.log(`  !!! MISMATCH: the table records offsets ${behind.map(([p]) => `${p}:${offsets.get(partitionKeyOf(topic, p)) ?? 'none'}`).join(', ')}, the topic ends at ${behind.map(([p, h]) => `${p}:${h}`).join(', ')}`);
    }
  } finally {
    await opened.close();
  }
  return { seconds, rate: records / seconds, consumedSeconds: (consumed.at - started.t0) / 1000, cpu: done.cpu, peakRss: done.hwm, memory: done.memory, sampledRss: child.sampledPeakRss, commits: child.commits.length, timeline: child.commits.map((c) => `+${((c.at - started.t0) / 1000).toFixed(1)} s ${fmt(c.rowsAdded)} rows`).join(', '), stats: done.stats };
}

async function runRaw(topic: string, end: ReadonlyMap<number, bigint>): Promise<{ seconds: number; rate: number; cpu: number; peakRss: number; memory: NodeJS.MemoryUsage }> {
  const total = sumOffsets(end);
  const child = await startChild({ mode: 'raw', topic, group: group('raw'), total, prefix });
  child.tell('go');
  const done = await child.finish();
  if (done.count !== total) {
    wrong = true;
    console.log(`  !!! MISMATCH: the baseline read ${done.count} records, the topic holds ${total}`);
  }
  const seconds = (done.endedAt - done.t0) / 1000;
  return { seconds, rate: total / seconds, cpu: done.cpu, peakRss: done.hwm, memory: done.memory };
}

const describeFlush = (f: Partial<FlushLimits>): string => `flush ${f.rows === undefined ? '' : `rows ${fmt(f.rows)}, `}interval ${((f.intervalMs ?? 0) / 1000).toFixed(1)} s, bytes ${mb(f.bytes ?? 0)}`;

async function appendScenario(): Promise<void> {
  const { topic, namespace } = newTopic('append');
  const schemas = await registerTopicSchemas(registry, topic, false);
  const loadStart = now();
  const sent = await preload(kafka, topic, partitions, compression, (function* () {
    for (let i = 0; i < rows; i++) yield { ...encodeChange(schemas, 'c', benchRow(i, 1)), partition: i % partitions };
  })());
  const end = await endOffsets(kafka, topic);
  console.log(`append: ${fmt(sent)} change records (op c, 10 columns, no key), ${partitions} partitions, ${compression}; preloaded in ${((now() - loadStart) / 1000).toFixed(1)} s`);
  console.log(`  sink: SQL catalog (stack Postgres), ${describeFlush(flush)}; every run in its own process, fresh group and table`);
  const local = await catalogSpec('local');
  let worker: ConnectWorker | undefined;
  const connect: IcebergConnectRun[] = [];
  if (args.connect) {
    const install = await installIcebergConnect((line) => console.log(`  ${line}`));
    worker = await ConnectWorker.start({ brokers: endpoints.kafka.brokers, prefix, install });
    console.log(`  incumbent: Apache Iceberg Kafka Connect sink ${ICEBERG_CONNECT_VERSION} on one Kafka Connect worker (${worker.url}), ${args['connect-tasks']} task(s), commit interval ${args['connect-commit-interval']} ms; log ${worker.logFile}`);
    // The first connector on a fresh JVM runs ~2× slower (class loading, JIT): one untimed run warms the worker, as
    // DuckHouse's children are started and idle before their clocks start.
    const warm = await runIcebergConnectSink(worker, connectOptions(topic, local, namespace, 'connect_warmup', sent));
    console.log(`  incumbent warm-up (not counted): ${warm.seconds.toFixed(2)} s, ${fmt(warm.rate)} rows/s`);
  }
  try {
    await appendRounds(topic, namespace, end, local, worker, connect, sent);
  } finally {
    await worker?.stop();
  }
}

const connectOptions = (topic: string, catalog: CatalogSpec, namespace: string, table: string, expectedRows: number): IcebergConnectSinkOptions => ({
  topic, catalog, namespace, table, expectedRows, registryUrl: endpoints.schemaRegistry.url, prefix,
  tasks: Number(args['connect-tasks']), commitIntervalMs: Number(args['connect-commit-interval']),
});

async function appendRounds(topic: string, namespace: string, end: ReadonlyMap<number, bigint>, local: CatalogSpec, worker: ConnectWorker | undefined, connect: IcebergConnectRun[], sent: number): Promise<void> {
  const raw: number[] = [];
  const sink: number[] = [];
  const rawRss: number[] = [];
  const sinkRss: number[] = [];
  const sinkCpu: number[] = [];
  let peakRss = 0;
  for (let r = 1; r <= repeat; r++) {
    const base = await runRaw(topic, end);
    raw.push(base.rate);
    rawRss.push(base.peakRss / 1048576);
    console.log(`  #${r} raw kafkajs + registry decode: ${base.seconds.toFixed(2)} s, ${fmt(base.rate)} rows/s, ${base.cpu.toFixed(1)} s CPU, peak RSS ${mb(base.peakRss)} (${memoryParts(base.memory)})`);
    const run = await runSink(local, topic, `${namespace}.append${r}`, end, flush);
    sink.push(run.rate);
    sinkRss.push(run.peakRss / 1048576);
    sinkCpu.push(run.cpu);
    peakRss = Math.max(peakRss, run.peakRss);
    console.log(`     commits: ${run.timeline}`);
    console.log(`  #${r} sink → Iceberg (file:// warehouse): ${run.seconds.toFixed(2)} s (all consumed at ${run.consumedSeconds.toFixed(2)} s), ${fmt(run.rate)} rows/s, ${run.cpu.toFixed(1)} s CPU (${(run.cpu / run.seconds).toFixed(2)} cores), ${run.commits} commits, peak RSS ${mb(run.peakRss)} (${memoryParts(run.memory)})`);
    if (worker) {
      const incumbent = await runIcebergConnectSink(worker, connectOptions(topic, local, namespace, `connect${r}`, sent));
      connect.push(incumbent);
      console.log(`  #${r} Iceberg Kafka Connect sink (file:// warehouse): ${incumbent.seconds.toFixed(2)} s (first record written at ${incumbent.firstRecordSeconds?.toFixed(2) ?? '?'} s), ${fmt(incumbent.rate)} rows/s, ${incumbent.cpuSeconds.toFixed(1)} s CPU (${(incumbent.cpuSeconds / incumbent.seconds).toFixed(2)} cores), ${incumbent.commits} commits, ${fmt(incumbent.rows)} rows`);
    }
  }
  let s3: SinkRun | undefined;
  if (args.s3) {
    s3 = await runSink(await catalogSpec('s3'), topic, `${namespace}.append_s3`, end, flush);
    console.log(`  sink → Iceberg (MinIO warehouse): ${s3.seconds.toFixed(2)} s, ${fmt(s3.rate)} rows/s, ${s3.cpu.toFixed(1)} s CPU, ${s3.commits} commits, peak RSS ${mb(s3.peakRss)}`);
  }
  // Content: the last table holds every record once.
  const catalog = openBenchCatalog(local);
  try {
    const metadata = (await catalog.loadTable(tableId(namespace, `append${repeat}`))).metadata;
    const total = currentSnapshot(metadata)?.summary['total-records'];
    if (total !== String(sent)) {
      wrong = true;
      console.log(`  !!! MISMATCH: the table has ${total} rows, ${sent} were produced`);
    }
  } finally {
    await catalog.close();
  }
  const ratio = median(sink) / median(raw);
  if (args['timer-tail']) console.log('  (--timer-tail: the last batch commits when its time limit is reached, not when the input ends)');
  printTable(['append (median of runs)', 'rows/s', 'ratio'], [
    ['raw kafkajs consumer + registry decode', fmt(median(raw)), '1.00'],
    ['DuckHouse sink → Iceberg, file://', fmt(median(sink)), ratio.toFixed(2)],
    ...(s3 ? [['DuckHouse sink → Iceberg, MinIO (1 run)', fmt(s3.rate), (s3.rate / median(raw)).toFixed(2)]] : []),
  ], '  ');
  summary.push(['append', 'sink rows/s (file://)', fmt(median(sink)), '≥ 150,000', median(sink) >= 150_000 ? 'yes' : 'no']);
  summary.push(['append', 'ratio sink / raw kafkajs', ratio.toFixed(3), '≥ 0.600', ratio >= 0.6 ? 'yes' : 'no']);
  summary.push(['append', 'sink peak RSS (highest run)', mb(peakRss), '-', '-']);
  if (s3) summary.push(['append', 'sink rows/s (MinIO)', fmt(s3.rate), '-', '-']);
  figures.push(
    { id: 'sink.append.rows_per_s', title: `Sink throughput, append (${fmt(sent)} rows × 10 columns, ${partitions} partitions)`, unit: 'rows/s', better: 'higher', subject: { label: 'DuckHouse sink → Iceberg (file://)', runs: sink }, baseline: { label: RAW_BASELINE, runs: raw } },
    { id: 'sink.append.peak_rss_mb', title: 'Sink peak RSS, append', unit: 'MB', better: 'lower', subject: { label: 'DuckHouse sink process', runs: sinkRss }, baseline: { label: 'raw kafkajs consumer process', runs: rawRss } },
  );
  if (connect.length > 0) {
    const connectRates = connect.map((c) => c.rate);
    printTable(['append vs the incumbent (median)', 'rows/s', 'ratio'], [
      [`Apache Iceberg Kafka Connect sink ${ICEBERG_CONNECT_VERSION}`, fmt(median(connectRates)), '1.00'],
      ['DuckHouse sink', fmt(median(sink)), (median(sink) / median(connectRates)).toFixed(2)],
    ], '  ');
    figures.push({ id: 'sink.append.vs_connect.rows_per_s', title: `Sink throughput vs Apache Iceberg Kafka Connect sink ${ICEBERG_CONNECT_VERSION}, append, same topic`, unit: 'rows/s', better: 'higher', subject: { label: 'DuckHouse sink → Iceberg (file://)', runs: sink }, baseline: { label: `Iceberg Kafka Connect sink (Kafka Connect ${KAFKA_VERSION}, ${connect[0]!.tasks} task(s), commit interval ${args['connect-commit-interval']} ms)`, runs: connectRates } });
    figures.push({ id: 'sink.append.vs_connect.cpu_s', title: `CPU seconds to sink the same ${fmt(sent)} rows, vs the Iceberg Kafka Connect sink`, unit: 'CPU s', better: 'lower', subject: { label: 'DuckHouse sink process (user + system)', runs: sinkCpu }, baseline: { label: 'Kafka Connect worker JVM (user + system, all threads)', runs: connect.map((c) => c.cpuSeconds) } });
    notes.push(`Incumbent: the Iceberg Kafka Connect sink ${ICEBERG_CONNECT_VERSION} on one warm Kafka Connect ${KAFKA_VERSION} worker, Apicurio's AvroConverter and ExtractField$Value(after), auto-created append table in the same JDBC catalog and file:// warehouse; timed from the connector's creation to the snapshot that holds every row (row count checked). Its table: ${connect[0]!.columns}.`);
  }
  if (s3) figures.push({ id: 'sink.append.s3.rows_per_s', title: 'Sink throughput, append, MinIO warehouse', unit: 'rows/s', better: 'higher', subject: { label: 'DuckHouse sink → Iceberg (MinIO)', runs: [s3.rate] }, baseline: { label: RAW_BASELINE, runs: raw } });
}

async function upsertScenario(): Promise<void> {
  const keys = Number(args.keys ?? Math.max(1, Math.floor(rows / 10)));
  const { topic, namespace } = newTopic('upsert');
  const schemas = await registerTopicSchemas(registry, topic, true);
  const model = new Uint32Array(keys);
  const ops = { c: 0, u: 0, d: 0 };
  const loadStart = now();
  let lsn = 1_000_000;
  const sent = await preload(kafka, topic, partitions, compression, (function* () {
    for (const change of cdcStream(rows, keys, model)) {
      ops[change.op]++;
      yield encodeChange(schemas, change.op, benchRow(change.id, change.version), lsn++);
    }
  })());
  const live = model.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
  const end = await endOffsets(kafka, topic);
  console.log(`upsert: ${fmt(sent)} changes over ${fmt(keys)} keys (${fmt(ops.c)} inserts, ${fmt(ops.u)} updates, ${fmt(ops.d)} deletes; ${fmt(live)} live at the end), keyed by id, ${partitions} partitions, ${compression}; preloaded in ${((now() - loadStart) / 1000).toFixed(1)} s`);
  console.log(`  sink: ${describeFlush(flush)}`);
  const local = await catalogSpec('local');
  const rates: number[] = [];
  const rawRates: number[] = [];
  const rss: number[] = [];
  const rawRss: number[] = [];
  let allOk = true;
  let found = 0;
  for (let r = 1; r <= repeat; r++) {
    const base = await runRaw(topic, end);
    rawRates.push(base.rate);
    rawRss.push(base.peakRss / 1048576);
    console.log(`  #${r} raw kafkajs + registry decode: ${base.seconds.toFixed(2)} s, ${fmt(base.rate)} changes/s, peak RSS ${mb(base.peakRss)}`);
    const name = `upsert${r}`;
    const run = await runSink(local, topic, `${namespace}.${name}`, end, flush);
    rates.push(run.rate);
    rss.push(run.peakRss / 1048576);
    console.log(`  #${r} sink: ${run.seconds.toFixed(2)} s (all consumed at ${run.consumedSeconds.toFixed(2)} s), ${fmt(run.rate)} changes/s, ${run.cpu.toFixed(1)} s CPU (${(run.cpu / run.seconds).toFixed(2)} cores), ${run.commits} commits (${fmt(run.stats?.rowsAdded ?? 0)} rows added, ${fmt(run.stats?.rowsDeleted ?? 0)} position deletes)`);
    console.log(`     commits: ${run.timeline}`);
    console.log(`     sink peak RSS ${mb(run.peakRss)} (VmHWM; sampled every 100 ms from outside: ${mb(run.sampledRss)}; ${memoryParts(run.memory)})`);
    const check = await checkUpsertTable(local, namespace, name, model, keys);
    found = check.found;
    const ok = check.found === live && check.badVersion === 0 && check.unexpected === 0;
    allOk &&= ok;
    console.log(ok ? `     table check: ${fmt(check.found)} live rows, each at its last version, as expected` : `  !!! MISMATCH: the table has ${fmt(check.found)} live rows, expected ${fmt(live)}; ${check.badVersion} at a wrong version, ${check.unexpected} deleted/duplicate/unknown keys`);
  }
  if (!allOk) wrong = true;
  summary.push(['upsert', 'sink changes/s (median)', fmt(median(rates)), '≥ 50,000', median(rates) >= 50_000 ? 'yes' : 'no']);
  summary.push(['upsert', 'sink peak RSS (highest run)', mb(Math.max(...rss) * 1048576), '≤ 1,024 MB', Math.max(...rss) <= 1024 ? 'yes' : 'no']);
  summary.push(['upsert', 'live rows as expected', allOk ? `${fmt(found)} = ${fmt(live)}` : `${fmt(found)} ≠ ${fmt(live)}`, 'exact', allOk ? 'yes' : 'NO']);
  figures.push(
    { id: 'sink.upsert.changes_per_s', title: `CDC upsert throughput (${fmt(sent)} changes over ${fmt(keys)} keys)`, unit: 'changes/s', better: 'higher', subject: { label: 'DuckHouse sink → keyed Iceberg table (upserts, position deletes)', runs: rates }, baseline: { label: RAW_BASELINE, runs: rawRates } },
    { id: 'sink.upsert.peak_rss_mb', title: 'Consumer peak RSS, CDC upsert', unit: 'MB', better: 'lower', subject: { label: 'DuckHouse sink process (VmHWM)', runs: rss }, baseline: { label: 'raw kafkajs consumer process (VmHWM)', runs: rawRss } },
  );
}

/** The keyed table against the model: exactly the live keys, each at its last version (qty holds the version). */
async function checkUpsertTable(spec: CatalogSpec, namespace: string, name: string, model: Uint32Array, keys: number): Promise<{ found: number; badVersion: number; unexpected: number }> {
  const catalog: Catalog = openBenchCatalog(spec);
  let found = 0;
  let badVersion = 0;
  let unexpected = 0;
  const seen = new Uint8Array(keys);
  try {
    const loaded = await catalog.loadTable(tableId(namespace, name));
    for await (const chunk of scanRows(loaded, { columns: ['id', 'qty'] })) {
      for (const row of chunk) {
        found++;
        const id = Number(row.id);
        if (!(id >= 0 && id < keys) || model[id] === 0 || seen[id]) unexpected++;
        else if (Number(row.qty) !== model[id]) badVersion++;
        if (id >= 0 && id < keys) seen[id] = 1;
      }
    }
  } finally {
    await catalog.close();
  }
  return { found, badVersion, unexpected };
}

/** Per-record latencies (ms, ascending) of one freshness run: produce → committed, and produce → delivered. */
interface FreshnessRun {
  sink: number[];
  raw: number[];
}

/** Latency per record (ms) from its produce time to the first `commit` message that covers its offset. */
function latencyRecorder(child: Child, produced: Float64Array[], total: number): { latencies: Float64Array; count(): number } {
  const committed = new Array<number>(produced.length).fill(0);
  const latencies = new Float64Array(total);
  let measured = 0;
  child.onCommit((m) => {
    for (const [p, nextText] of Object.entries(m.offsets)) {
      const partition = Number(p);
      const next = Number(nextText);
      const times = produced[partition]!;
      for (let o = committed[partition]!; o < next; o++) latencies[measured++] = m.at - times[o]!;
      committed[partition] = Math.max(committed[partition]!, next);
    }
  });
  return { latencies, count: () => measured };
}

/**
 * One freshness run on a fresh topic: records produced at a steady rate while a sink child (commits) and a raw kafkajs
 * child (delivery, the baseline) consume the same topic at the same time; per-record latency from produce to commit,
 * and from produce to delivered and decoded.
 */
async function freshnessRun(r: number, rate: number, seconds: number, intervalMs: number): Promise<FreshnessRun> {
  const total = Math.round(rate * seconds);
  const { topic, namespace } = newTopic(`fresh${r}`);
  await ensureTopic(kafka, topic, { partitions });
  const schemas = await registerTopicSchemas(registry, topic, false);
  // Encoded up front, so the paced producer spends its time sending.
  const messages = Array.from({ length: total }, (_, i) => encodeChange(schemas, 'c', benchRow(i, 1)).value);
  const limits: FlushLimits = { intervalMs, rows: 500_000, bytes: 128 * 1024 * 1024 };
  const child = await startChild({ mode: 'sink', topic, group: group('fresh'), catalog: await catalogSpec('local'), table: `${namespace}.fresh`, prefix, flush: limits });
  const raw = await startChild({ mode: 'raw', topic, group: group('freshraw'), total, prefix, reportBatches: true });
  child.tell('go');
  raw.tell('go');
  await child.next('started');
  await raw.next('started');
  const perPartition = Math.ceil(total / partitions);
  const produced = Array.from({ length: partitions }, () => new Float64Array(perPartition));
  const sinkLatency = latencyRecorder(child, produced, total);
  const rawLatency = latencyRecorder(raw, produced, total);
  const producer = createProducer(kafka);
  await producer.connect();
  const sender = new KafkaSender(producer, { compression, batchMessages: 100_000, batchBytes: 900 * 1024 });
  const t0 = now();
  let sent = 0;
  let lateTicks = 0;
  for (let tick = 1; sent < total; tick++) {
    const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate));
    for (; sent < due; sent++) {
      const partition = sent % partitions;
      produced[partition]![Math.floor(sent / partitions)] = now();
      sender.send({ topic, key: null, value: messages[sent]!, partition })?.catch(() => undefined);
    }
    await sender.flush();
    const wait = t0 + tick * 20 - now();
    if (wait > 0) await sleep(wait);
    else lateTicks++;
  }
  const produceSeconds = (now() - t0) / 1000;
  await producer.disconnect();
  const end = await endOffsets(kafka, topic);
  const expected = [...end].every(([p, high]) => Number(high) === Math.ceil((total - p) / partitions));
  if (!expected) {
    wrong = true;
    console.log(`  !!! MISMATCH: partition end offsets ${[...end].map(([p, h]) => `${p}:${h}`).join(', ')} are not the counts sent (offsets would be misattributed)`);
  }
  await child.caughtUp(end, 120_000);
  const rawDone = await raw.finish();
  child.tell('stop');
  const done = await child.finish();
  const commitTimes = child.commits.map((c) => c.at);
  const gaps = commitTimes.slice(1).map((t, i) => t - commitTimes[i]!);
  console.log(`  #${r} produced ${fmt(total)} in ${produceSeconds.toFixed(1)} s (${fmt(total / produceSeconds)}/s, ${lateTicks} late ticks); ${child.commits.length} commits, median ${(median(gaps) / 1000).toFixed(2)} s apart; sink ${done.cpu.toFixed(1)} s CPU, peak RSS ${mb(done.hwm)}; raw consumer ${rawDone.cpu.toFixed(1)} s CPU`);
  const sorted = (l: { latencies: Float64Array; count(): number }): number[] => Array.from(l.latencies.subarray(0, l.count())).sort((a, b) => a - b);
  const result = { sink: sorted(sinkLatency), raw: sorted(rawLatency) };
  if (result.sink.length !== total || result.raw.length !== total) {
    wrong = true;
    console.log(`  !!! MISMATCH: ${result.sink.length} records seen committed and ${result.raw.length} delivered to the baseline, ${total} produced`);
  }
  return result;
}

async function freshnessScenario(): Promise<void> {
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const intervalMs = Number(args['freshness-interval']);
  console.log(`freshness: ${fmt(rate * seconds)} records at ${fmt(rate)}/s for ${seconds} s (paced, batches every 20 ms), ${partitions} partitions, ${compression}; sink flush interval ${(intervalMs / 1000).toFixed(1)} s; ${repeat} runs, each on a fresh topic`);
  const p50: number[] = [];
  const p99: number[] = [];
  const rawP50: number[] = [];
  const rawP99: number[] = [];
  const rows: string[][] = [];
  for (let r = 1; r <= repeat; r++) {
    const run = await freshnessRun(r, rate, seconds, intervalMs);
    p50.push(percentile(run.sink, 0.5));
    p99.push(percentile(run.sink, 0.99));
    rawP50.push(percentile(run.raw, 0.5));
    rawP99.push(percentile(run.raw, 0.99));
    rows.push([`#${r}`, fmt(p50.at(-1)!), fmt(p99.at(-1)!), fmt(run.sink.at(-1) ?? NaN), fmt(rawP50.at(-1)!), fmt(rawP99.at(-1)!)]);
  }
  printTable(['run', 'commit p50 ms', 'commit p99 ms', 'commit max ms', 'delivered p50 ms', 'delivered p99 ms'], rows, '  ');
  const goal = intervalMs + 1000;
  summary.push(['freshness', `p50 / p99 (median of ${repeat}; flush ${intervalMs / 1000} s)`, `${fmt(median(p50))} / ${fmt(median(p99))} ms`, `p99 ≤ ${fmt(goal)} ms`, median(p99) <= goal ? 'yes' : 'no']);
  const title = `at ${fmt(rate)} events/s, flush interval ${(intervalMs / 1000).toFixed(1)} s`;
  const baseline = 'raw kafkajs consumer on the same topic at the same time: produce → delivered and decoded';
  figures.push(
    { id: 'sink.freshness.p50_ms', title: `Freshness p50, produce → committed (${title})`, unit: 'ms', better: 'lower', subject: { label: 'DuckHouse sink commit', runs: p50 }, baseline: { label: baseline, runs: rawP50 } },
    { id: 'sink.freshness.p99_ms', title: `Freshness p99, produce → committed (${title})`, unit: 'ms', better: 'lower', subject: { label: 'DuckHouse sink commit', runs: p99 }, baseline: { label: baseline, runs: rawP99 } },
  );
  notes.push(`Freshness: a record is fresh when the Iceberg snapshot holding it is committed; the sink commits every ${(intervalMs / 1000).toFixed(1)} s, so p50 is about half the interval plus the commit, by design. The baseline is the transport's own latency.`);
}

if (args.child) {
  await runChild(JSON.parse(args.child) as ChildConfig);
  // Let the last IPC message go out; then leave even if a client library keeps a socket open.
  setTimeout(() => process.exit(0), 500).unref();
  process.disconnect?.();
} else {
  // A signal ends the process through exit, so the Kafka Connect worker (killed on exit) is not left running.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const scenarios = args.scenario === 'all' ? ['append', 'upsert', 'freshness'] : [args.scenario!];
  console.log(`DuckHouse sink benchmark: Node ${process.version}, ${availableParallelism()} cores; run prefix ${prefix}${profileDir ? `; CPU profiles in ${profileDir}` : ''}`);
  entry = childEntry(fileURLToPath(import.meta.url), args.tsx!);
  console.log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (run on an otherwise idle machine: every number here is CPU-bound)`);
  console.log(`  consumers run in child processes, ${entry.buildDir ? 'compiled by tsc (as the CLI runs)' : 'under tsx'}`);
  try {
    for (const scenario of scenarios) {
      if (scenario === 'append') await appendScenario();
      else if (scenario === 'upsert') await upsertScenario();
      else if (scenario === 'freshness') await freshnessScenario();
      else throw new Error(`--scenario: expected append, upsert, freshness or all, found ${scenario}`);
      console.log(`  (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
      console.log('');
    }
    console.log('summary (goals printed for reference; nothing passes or fails on time):');
    printTable(['scenario', 'measure', 'value', 'goal', 'within goal'], summary, '  ');
    await writeSection(args.out, {
      section: 'sink',
      title: 'Kafka → Iceberg sink',
      options: { rows, partitions, compression, repeat, flush, keys: args.keys ?? Math.floor(rows / 10), rate: Number(args.rate), seconds: Number(args.seconds), freshnessIntervalMs: Number(args['freshness-interval']), scenarios },
      figures,
      contentOk: !wrong,
      notes: ['Every consumer (sink or baseline) runs in its own child process, compiled by tsc as the CLI runs; a fresh consumer group and table per run.', ...notes],
    });
  } finally {
    const deleted = await deleteTopics(kafka, prefix).catch(() => [] as string[]);
    await deleteSubjects(endpoints.schemaRegistry.url, topics);
    for (const spec of catalogs.values()) await cleanupCatalog(spec, namespaces).catch((error: unknown) => console.log(`cleanup of catalog ${spec.name} failed: ${String(error)}`));
    if (entry?.buildDir) await rm(entry.buildDir, { recursive: true, force: true });
    console.log(`cleaned up: ${deleted.length} topics, ${namespaces.length} namespaces in ${catalogs.size} catalog(s)`);
  }
  if (wrong) process.exitCode = 1;
}
