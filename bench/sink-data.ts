// Data, setup and child processes for bench/sink.ts: the 10-column row (long id, int, string, double, decimal(18,2),
// timestamptz, date, boolean, nullable string, uuid) as Avro change envelopes registered like the producers register
// them, record generators for an append-only stream and a CDC-like keyed stream (with the live rows it must leave
// behind), a fast preloader on KafkaSender, the SQL catalog (stack Postgres) on a local or MinIO warehouse with its
// cleanup, and the child processes that run one consumer each (raw kafkajs baseline or the Sink) under the parent's
// control over IPC, reporting commits, CPU and memory.
// Must never: touch anything it did not create; cleanup removes exactly the topics, tables and files of one run.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type avro from 'avsc';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { openCatalog } from '../src/bin/catalog-options.js';
import type { Catalog, TableIdentifier } from '../src/catalog/catalogs/catalog.js';
import { buildSchema } from '../src/catalog/spec/schema.js';
import { decimal, primitive } from '../src/catalog/spec/types.js';
import type { FlushLimits, SinkStats } from '../src/consumers/sink.js';
import { CONSUMER_FETCH, Sink } from '../src/consumers/sink.js';
import { createKafka, createProducer, ensureTopic } from '../src/producers/kafka/client.js';
import { type Compression, KafkaSender } from '../src/producers/kafka/sender.js';
import { avroNumberLongCodec, encodeFramed } from '../src/schemas/avro-codec.js';
import { icebergToAvro } from '../src/schemas/avro-iceberg.js';
import { type AvroRecordSchema, avroNamespace, emptySource, envelopeAvroSchema } from '../src/schemas/envelope.js';
import { createRegistry, keySubject, SchemaCache, type SchemaRegistry, valueSubject } from '../src/schemas/registry.js';
import { createLogger } from '../src/shared/logger.js';
import { PROJECT_ROOT, readEndpoints } from '../src/stack/config.js';
import { randomName } from './bench-catalogs.js';
import { processMemory, random } from './measure.js';

/** The row every scenario writes: 10 columns, `id` the key of keyed tables, `note` nullable. */
export const ROW_SCHEMA = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'qty', type: primitive('int'), required: true },
  { name: 'email', type: primitive('string'), required: true },
  { name: 'price', type: primitive('double'), required: true },
  { name: 'amount', type: decimal(18, 2), required: true },
  { name: 'ts', type: primitive('timestamptz'), required: true },
  { name: 'day', type: primitive('date'), required: true },
  { name: 'flag', type: primitive('boolean'), required: true },
  { name: 'note', type: primitive('string') },
  { name: 'ref', type: primitive('uuid'), required: true },
]).schema;

export interface TopicSchemas {
  readonly value: CachedCodec;
  readonly key: CachedCodec | undefined;
}

/** A registered schema with a writer taking JS numbers for longs (the producers' fast path; values stay < 2^53). */
export interface CachedCodec {
  readonly id: number;
  readonly fast: avro.Type;
}

/** Registers the envelope under `<topic>-value` and, for keyed topics, the `Key` record under `<topic>-key`. */
export async function registerTopicSchemas(registry: SchemaRegistry, topic: string, keyed: boolean): Promise<TopicSchemas> {
  const namespace = avroNamespace(topic);
  const row: AvroRecordSchema = icebergToAvro(ROW_SCHEMA, { name: 'Value', namespace });
  const cache = new SchemaCache(registry);
  const value = await cache.register(valueSubject(topic), envelopeAvroSchema(row) as unknown as Record<string, unknown>);
  const keyRecord: AvroRecordSchema = { type: 'record', name: 'Key', namespace, fields: row.fields.filter((f) => f.name === 'id').map((f) => ({ ...f })) };
  const key = keyed ? await cache.register(keySubject(topic), keyRecord as unknown as Record<string, unknown>) : undefined;
  return {
    value: { id: value.id, fast: avroNumberLongCodec(value.schema) },
    key: key ? { id: key.id, fast: avroNumberLongCodec(key.schema) } : undefined,
  };
}

const BASE_MS = Date.UTC(2024, 0, 1);
const EMAILS = Array.from({ length: 1000 }, (_, i) => `user${i}@example.com`);

/** Row `id` at `version`, in the fast writer's form (longs as numbers, decimal as unscaled bigint, ts in µs). */
export function benchRow(id: number, version: number): Record<string, unknown> {
  const ms = BASE_MS + id * 1000 + version;
  return {
    id,
    qty: version,
    email: EMAILS[id % 1000]!,
    price: (id % 10_000) * 0.37 + version,
    amount: BigInt((id * 7919 + version) % 10_000_000_000),
    ts: ms * 1000,
    day: Math.floor(ms / 86_400_000),
    flag: (id + version) % 3 === 0,
    note: id % 3 === 0 ? null : `note ${version}`,
    ref: `00000000-0000-4000-8000-${id.toString(16).padStart(12, '0')}`,
  };
}

const SOURCE = Object.fromEntries(Object.entries(emptySource('bench', 'bench', 'bench', 0n)).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));

export type Op = 'c' | 'u' | 'd';

/** A framed Avro change envelope; `lsn` (CDC-like streams) gives the event a source position. */
export function encodeChange(schemas: TopicSchemas, op: Op, row: Record<string, unknown>, lsn?: number): { key: Buffer | null; value: Buffer } {
  const now = Date.now();
  const event = {
    before: op === 'd' ? row : null,
    after: op === 'd' ? null : row,
    source: lsn === undefined ? { ...SOURCE, ts_ms: now } : { ...SOURCE, connector: 'postgresql', ts_ms: now, lsn, txId: lsn },
    op,
    ts_ms: now,
    unavailable_columns: null,
  };
  const key = schemas.key ? encodeFramed(schemas.key.fast, schemas.key.id, { id: row.id }) : null;
  return { key, value: encodeFramed(schemas.value.fast, schemas.value.id, event) };
}

export { random };

/**
 * A CDC-like stream over `keys` keys: an insert per key, then for a random key an update (95%) or a delete (5%) when it
 * is live, a re-insert when it was deleted. `model` ends holding each key's live version (0: deleted).
 */
export function* cdcStream(changes: number, keys: number, model: Uint32Array, seed = 42): Generator<{ op: Op; id: number; version: number }> {
  const next = random(seed);
  const version = new Uint32Array(keys);
  for (let i = 0; i < changes; i++) {
    if (i < keys) {
      version[i] = 1;
      model[i] = 1;
      yield { op: 'c', id: i, version: 1 };
      continue;
    }
    const id = Math.floor(next() * keys);
    const v = version[id]!;
    if (model[id] === 0) {
      version[id] = v + 1;
      model[id] = v + 1;
      yield { op: 'c', id, version: v + 1 };
    } else if (next() < 0.05) {
      model[id] = 0;
      yield { op: 'd', id, version: v };
    } else {
      version[id] = v + 1;
      model[id] = v + 1;
      yield { op: 'u', id, version: v + 1 };
    }
  }
}

export interface Outgoing {
  key: Buffer | null;
  value: Buffer;
  partition?: number;
}

/** Sends every message of `messages` to `topic` (created with `partitions`) through one KafkaSender; returns the count. */
export async function preload(kafka: Kafka, topic: string, partitions: number, compression: Compression, messages: Iterable<Outgoing>): Promise<number> {
  await ensureTopic(kafka, topic, { partitions });
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const sender = new KafkaSender(producer, { compression });
    let n = 0;
    for (const m of messages) {
      const wait = sender.send({ topic, key: m.key, value: m.value, ...(m.partition === undefined ? {} : { partition: m.partition }) });
      if (wait) await wait;
      n++;
    }
    await sender.flush();
    return n;
  } finally {
    await producer.disconnect();
  }
}

/** The next offset of every partition of `topic`. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic and consumer group whose name starts with `prefix` (the run's own); returns the topics. */
export async function deleteTopics(kafka: Kafka, prefix: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    return topics;
  } finally {
    await admin.disconnect();
  }
}

/** Soft-deletes the registry subjects of `topics` (best effort: the stack's registry forgets them on restart anyway). */
export async function deleteSubjects(url: string, topics: readonly string[]): Promise<void> {
  for (const topic of topics) {
    for (const subject of [valueSubject(topic), keySubject(topic)]) {
      await fetch(`${url}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' }).catch(() => undefined);
    }
  }
}

/** Where a run's tables live: a SQL catalog (stack Postgres) with a random name, on a local dir or a MinIO prefix. */
export interface CatalogSpec {
  readonly name: string;
  readonly warehouse: string;
}

export type WarehouseKind = 'local' | 's3';

export async function newCatalogSpec(kind: WarehouseKind): Promise<CatalogSpec> {
  const name = randomName('benchsink').replace('-', '_');
  if (kind === 'local') return { name, warehouse: `file://${await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-sink-'))}` };
  return { name, warehouse: `s3://${readEndpoints().s3.bucket}/${randomName('bench-sink-wh')}` };
}

/** The catalog as the CLI builds it (`--catalog sql --catalog-name … --warehouse …`). */
export function openBenchCatalog(spec: CatalogSpec): Catalog {
  return openCatalog({ catalog: 'sql', catalogName: spec.name, warehouse: spec.warehouse }, readEndpoints());
}

/** Drops (with purge) the tables of `namespaces`, the namespaces, the catalog's rows and the warehouse's files. */
export async function cleanupCatalog(spec: CatalogSpec, namespaces: readonly string[]): Promise<void> {
  const catalog = openBenchCatalog(spec);
  try {
    for (const ns of namespaces) {
      if (!(await catalog.namespaceExists([ns]))) continue;
      for (const id of await catalog.listTables([ns])) await catalog.dropTable(id, { purge: true }).catch(() => undefined);
      await catalog.dropNamespace([ns]).catch(() => undefined);
    }
    if (spec.warehouse.startsWith('file://')) {
      await rm(spec.warehouse.slice('file://'.length), { recursive: true, force: true });
    } else {
      const files: string[] = [];
      for await (const file of catalog.io.list(`${spec.warehouse}/`)) files.push(file.location);
      await catalog.io.deleteMany(files);
    }
  } finally {
    await catalog.close();
  }
  const p = readEndpoints().postgres;
  const client = new pg.Client({ host: p.host, port: p.port, user: p.user, password: p.password, database: p.database });
  await client.connect();
  try {
    await client.query('DELETE FROM iceberg_tables WHERE catalog_name = $1', [spec.name]);
    await client.query('DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1', [spec.name]);
  } finally {
    await client.end();
  }
}

export const tableId = (namespace: string, name: string): TableIdentifier => ({ namespace: [namespace], name });

/** Epoch milliseconds with sub-millisecond resolution (comparable across this machine's processes). */
export const now = (): number => performance.timeOrigin + performance.now();
export const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
/** Where the RSS of a memoryUsage() sample is: V8 heap, Buffers/ArrayBuffers, the rest (code, native: DuckDB, zlib). */
export const memoryParts = (m: NodeJS.MemoryUsage): string => `at peak: heap ${mb(m.heapTotal)} (${mb(m.heapUsed)} used), buffers ${mb(m.arrayBuffers)}, other ${mb(m.rss - m.heapTotal - m.arrayBuffers)}`;

// ---- child processes: one consumer each (raw baseline or Sink), driven over IPC ----

export interface ChildConfig {
  readonly mode: 'raw' | 'sink';
  readonly topic: string;
  readonly group: string;
  /** Records the topic holds: raw reads this many; a `drain` sink flushes once it has consumed this many. */
  readonly total?: number;
  /** sink: flush and commit as soon as everything is consumed (the end of the input), not on the next time limit. */
  readonly drain?: boolean;
  /** sink: where the table lives, and which table (`ns.name`) the topic feeds. */
  readonly catalog?: CatalogSpec;
  readonly table?: string;
  readonly prefix: string;
  readonly flush?: Partial<FlushLimits>;
  /** raw: report each batch as it is decoded (a `commit` message with no rows), for delivery latency. */
  readonly reportBatches?: boolean;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'started'; t0: number; joinedAt: number }
  | { type: 'commit'; at: number; offsets: Record<string, string>; rowsAdded: number; rowsDeleted: number; dataFiles: number; deleteFiles: number }
  | { type: 'consumed'; at: number }
  | { type: 'done'; t0: number; endedAt: number; cpu: number; hwm: number; memory: NodeJS.MemoryUsage; count?: number; stats?: SinkStats };

/** Samples this process's memory every 100 ms (when the event loop lets it); keeps the sample with the highest RSS. */
function memorySampler(): { peak: NodeJS.MemoryUsage; stop(): void } {
  const state = { peak: process.memoryUsage(), stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > state.peak.rss) state.peak = m;
  }, 100);
  timer.unref();
  return state;
}

const send = (message: ChildMessage): Promise<void> =>
  new Promise((resolve) => {
    process.send!(message, undefined, {}, () => resolve());
  });

/** The parent's messages ('go', 'stop') in order, none lost while the child is busy. */
const fromParent: string[] = [];
let parentWaiter: (() => void) | undefined;

async function nextParentMessage(): Promise<string> {
  while (fromParent.length === 0) await new Promise<void>((resolve) => (parentWaiter = resolve));
  return fromParent.shift()!;
}

/** The child's side: runs the consumer `config` describes when the parent says 'go', reports over IPC. */
export async function runChild(config: ChildConfig): Promise<void> {
  process.on('message', (m) => {
    fromParent.push(String(m));
    parentWaiter?.();
  });
  const endpoints = readEndpoints();
  const kafka = createKafka({ brokers: endpoints.kafka.brokers, quiet: true, clientId: 'duckhouse-bench-sink' });
  const registry = createRegistry({ url: endpoints.schemaRegistry.url });
  if (config.mode === 'raw') {
    // The same consumer settings as the Sink's (src/consumers/sink.ts), decoding only.
    const cache = new SchemaCache(registry);
    const consumer = kafka.consumer({ groupId: config.group, sessionTimeout: 45_000, rebalanceTimeout: 60_000, ...CONSUMER_FETCH });
    const total = config.total!;
    let count = 0;
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    await send({ type: 'ready' });
    await nextParentMessage();
    const memory = memorySampler();
    const cpu = process.cpuUsage();
    const t0 = now();
    await consumer.connect();
    await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          if (message.value) await cache.decode(message.value, 'bench');
          count++;
          resolveOffset(message.offset);
        }
        const last = batch.messages.at(-1);
        if (config.reportBatches && last) {
          void send({ type: 'commit', at: now(), offsets: { [batch.partition]: String(BigInt(last.offset) + 1n) }, rowsAdded: 0, rowsDeleted: 0, dataFiles: 0, deleteFiles: 0 });
        }
        await heartbeat();
        if (count >= total) finished();
      },
    });
    await send({ type: 'started', t0, joinedAt: now() });
    await done;
    const endedAt = now();
    const used = process.cpuUsage(cpu);
    await consumer.disconnect();
    memory.stop();
    await send({ type: 'done', t0, endedAt, count, cpu: (used.user + used.system) / 1e6, hwm: processMemory()?.peak ?? 0, memory: memory.peak });
    return;
  }
  const catalog = openBenchCatalog(config.catalog!);
  const [namespace] = config.table!.split('.');
  const sink = new Sink({
    kafka,
    registry,
    catalog,
    group: config.group,
    topics: [config.topic],
    routing: { prefix: config.prefix, tables: { [config.topic]: config.table! } },
    ...(config.flush ? { flush: config.flush } : {}),
    deadLetters: { topic: `${config.prefix}.dlq`, table: tableId(namespace!, 'dead_letters') },
    logger: createLogger('bench-sink', process.env.DUCKHOUSE_LOG_LEVEL ?? 'warn'),
    onCommit: (event) => void send({ type: 'commit', at: now(), offsets: event.offsets[config.topic] ?? {}, rowsAdded: event.rowsAdded, rowsDeleted: event.rowsDeleted, dataFiles: event.dataFiles, deleteFiles: event.deleteFiles }),
  });
  await send({ type: 'ready' });
  await nextParentMessage();
  const memory = memorySampler();
  const cpu = process.cpuUsage();
  const t0 = now();
  await sink.start();
  await send({ type: 'started', t0, joinedAt: now() });
  let stopped: Promise<void> | undefined;
  const watch = setInterval(() => {
    if (config.total === undefined || sink.stats.records < config.total) return;
    clearInterval(watch);
    void send({ type: 'consumed', at: now() });
    // The end of the input: commit what is held now (a graceful stop flushes every batch), as the next rows/bytes
    // limit would in a stream that goes on, instead of waiting for the time limit.
    if (config.drain) stopped = sink.stop();
  }, 5);
  await nextParentMessage(); // stop
  clearInterval(watch);
  await (stopped ?? sink.stop());
  const endedAt = now();
  const used = process.cpuUsage(cpu);
  memory.stop();
  await catalog.close();
  await send({ type: 'done', t0, endedAt, cpu: (used.user + used.system) / 1e6, hwm: processMemory()?.peak ?? 0, memory: memory.peak, stats: sink.stats });
}

/** How children run: this file under tsx, or its tsc output (a temp dir with the project's node_modules linked in). */
export interface ChildEntry {
  readonly node: string[];
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
  readonly buildDir?: string;
}

export function childEntry(benchFile: string, tsx: boolean): ChildEntry {
  if (tsx) return { node: ['--import', 'tsx'], file: benchFile, env: process.env };
  const buildDir = mkdtempSync(path.join(tmpdir(), 'duckhouse-bench-sink-build-'));
  const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(PROJECT_ROOT, 'tsconfig.json'), '--outDir', buildDir, '--noEmit', 'false', '--sourceMap', 'false'], { stdio: 'inherit' });
  } catch (error) {
    // tsc emits despite type errors (someone's work in progress); only a missing output is fatal.
    if (!existsSync(path.join(buildDir, 'bench', path.basename(benchFile).replace(/\.ts$/, '.js')))) throw error;
    console.log('  (tsc reported errors; running what it emitted)');
  }
  writeFileSync(path.join(buildDir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(buildDir, 'node_modules'));
  // The compiled config module would look for the stack under the build dir.
  return { node: [], file: path.join(buildDir, 'bench', path.basename(benchFile).replace(/\.ts$/, '.js')), env: { ...process.env, DUCKHOUSE_STACK_DIR: process.env.DUCKHOUSE_STACK_DIR ?? path.join(PROJECT_ROOT, '.stack') }, buildDir };
}

/** A child process running one consumer; the parent samples its RSS every 100 ms. */
export class Child {
  readonly commits: Extract<ChildMessage, { type: 'commit' }>[] = [];
  sampledPeakRss = 0;
  private readonly waiting = new Map<string, (m: ChildMessage) => void>();
  private readonly seen = new Map<string, ChildMessage>();
  private readonly commitListeners: ((m: Extract<ChildMessage, { type: 'commit' }>) => void)[] = [];
  private readonly sampler: NodeJS.Timeout;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'commit') {
        this.commits.push(m);
        for (const listener of this.commitListeners) listener(m);
        return;
      }
      this.seen.set(m.type, m);
      this.waiting.get(m.type)?.(m);
    });
    this.exited = new Promise((resolve) => proc.on('exit', resolve));
    this.sampler = setInterval(() => {
      this.sampledPeakRss = Math.max(this.sampledPeakRss, processMemory(proc.pid!)?.rss ?? 0);
    }, 100);
  }

  static async start(entry: ChildEntry, config: ChildConfig, profileDir?: string): Promise<Child> {
    const node = [...entry.node, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${config.mode}-${config.group}.cpuprofile`] : [])];
    const proc = spawn(process.execPath, [...node, entry.file, '--child', JSON.stringify(config)], { cwd: PROJECT_ROOT, env: entry.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const child = new Child(proc);
    await Promise.race([child.next('ready'), child.exited.then((code) => Promise.reject(new Error(`child exited with ${code} before it was ready`)))]);
    return child;
  }

  next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    const known = this.seen.get(type);
    if (known) return Promise.resolve(known as Extract<ChildMessage, { type: T }>);
    return new Promise((resolve) => this.waiting.set(type, resolve as (m: ChildMessage) => void));
  }

  onCommit(listener: (m: Extract<ChildMessage, { type: 'commit' }>) => void): void {
    this.commitListeners.push(listener);
  }

  tell(message: 'go' | 'stop'): void {
    this.proc.send(message);
  }

  async finish(): Promise<Extract<ChildMessage, { type: 'done' }>> {
    const done = await this.next('done');
    await this.exited;
    clearInterval(this.sampler);
    return done;
  }

  /** Resolves with the commit that brings every partition to its end offset (or rejects after `timeoutMs`). */
  caughtUp(end: ReadonlyMap<number, bigint>, timeoutMs: number): Promise<Extract<ChildMessage, { type: 'commit' }>> {
    const reached = new Map<number, bigint>();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the sink did not reach the end offsets in ${timeoutMs / 1000} s (at ${JSON.stringify(Object.fromEntries(reached), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))})`)), timeoutMs);
      const check = (m: Extract<ChildMessage, { type: 'commit' }>): void => {
        for (const [p, next] of Object.entries(m.offsets)) reached.set(Number(p), BigInt(next));
        if ([...end].every(([p, high]) => high === 0n || (reached.get(p) ?? -1n) >= high)) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      for (const m of this.commits) check(m);
      this.onCommit(check);
    });
  }
}
