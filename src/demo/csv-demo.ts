// The end-to-end demo at this stage of DuckHouse: a small CSV file is parsed (csv-parse), Avro-encoded through the
// schema registry and produced to Kafka keyed by order_id; a consumer reads exactly those records back, decodes them,
// keeps the last change per key (offset order), builds an Arrow batch, and commits it as a snapshot of the Iceberg
// table demo.orders (embedded catalog, local warehouse); DuckDB then reads the snapshot's Parquet files and PyIceberg
// reads the table from its metadata file. Later issues replace each step with the real producer and sink.
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Float64, Int64, makeData, RecordBatch, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import { parse } from 'csv-parse';
import type { TableIdentifier } from '../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalog/catalogs/embedded-catalog.js';
import { LocalFileIO } from '../catalog/io/local-file-io.js';
import { planFiles } from '../catalog/read/plan-files.js';
import { buildSchema } from '../catalog/spec/schema.js';
import { primitive } from '../catalog/spec/types.js';
import { commitAction } from '../catalog/transaction/action.js';
import { fastAppend } from '../catalog/transaction/fast-append.js';
import { TableWriter } from '../catalog/writer/table-writer.js';
import { createKafka, createProducer, tableTopic } from '../producers/kafka/client.js';
import { createRegistry, registerAvro, valueSubject } from '../schemas/registry.js';
import { DataInvalidError } from '../shared/errors.js';
import { openDuckDB, quoteLiteral } from '../shared/duckdb.js';
import type { StackEndpoints } from '../stack/config.js';

export interface OrderRow {
  order_id: bigint;
  customer: string;
  amount: number;
  status: string;
  /** Microseconds since the epoch, UTC. */
  ordered_at: bigint;
}

/** The demo table's Avro schema; `field-id` marks the Iceberg field id each column keeps in Parquet. */
export const ORDER_SCHEMA = {
  type: 'record',
  name: 'orders',
  namespace: 'duckhouse.demo',
  fields: [
    { name: 'order_id', type: 'long', 'field-id': 1 },
    { name: 'customer', type: 'string', 'field-id': 2 },
    { name: 'amount', type: 'double', 'field-id': 3 },
    { name: 'status', type: 'string', 'field-id': 4 },
    { name: 'ordered_at', type: { type: 'long', logicalType: 'timestamp-micros' }, 'field-id': 5 },
  ],
} as const;

/** Parses an ISO-8601 UTC timestamp with up to 6 fractional digits into microseconds, without losing precision. */
export function parseTimestampMicros(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(text);
  if (!match?.[1]) return undefined;
  const seconds = Date.parse(`${match[1]}Z`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = (match[2] ?? '').padEnd(6, '0');
  return BigInt(seconds) * 1000n + BigInt(fraction);
}

function parseOrder(record: Record<string, string>, file: string, line: number): OrderRow {
  const fail = (column: string, expected: string): never => {
    throw new DataInvalidError(`${file}:${line}: column ${column}: expected ${expected}, found "${record[column] ?? ''}"`, {
      context: { file, line, column },
    });
  };
  const id = record.order_id ?? '';
  const amount = Number(record.amount);
  const at = parseTimestampMicros(record.ordered_at ?? '');
  return {
    order_id: /^-?\d+$/.test(id) ? BigInt(id) : fail('order_id', 'an integer'),
    customer: record.customer ?? fail('customer', 'a string'),
    amount: record.amount !== undefined && Number.isFinite(amount) ? amount : fail('amount', 'a number'),
    status: record.status ?? fail('status', 'a string'),
    ordered_at: at ?? fail('ordered_at', 'an ISO-8601 UTC timestamp'),
  };
}

/** Streams and parses the CSV file (bounded memory: one record at a time). */
export async function* readOrders(file: string): AsyncGenerator<OrderRow> {
  const parser = createReadStream(file).pipe(parse({ columns: true, skip_empty_lines: true, info: true }));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    yield parseOrder(record, file, info.lines);
  }
}

/** Last change per key wins, in offset order (ARCHITECTURE.md decision 3's dedupe rule). */
export function lastPerKey(rows: OrderRow[]): OrderRow[] {
  const byKey = new Map<bigint, OrderRow>();
  for (const row of rows) {
    byKey.delete(row.order_id);
    byKey.set(row.order_id, row);
  }
  return [...byKey.values()].sort((a, b) => (a.order_id < b.order_id ? -1 : 1));
}

/** The Iceberg schema of demo.orders: the same field ids the Avro schema declares. */
export const ORDERS_TABLE_SCHEMA = buildSchema([
  { name: 'order_id', type: primitive('long'), required: true },
  { name: 'customer', type: primitive('string') },
  { name: 'amount', type: primitive('double') },
  { name: 'status', type: primitive('string') },
  { name: 'ordered_at', type: primitive('timestamptz') },
], { identifierFields: ['order_id'] }).schema;

export function toArrow(rows: OrderRow[]): RecordBatch {
  const length = rows.length;
  return new RecordBatch({
    order_id: makeData({ type: new Int64(), length, data: BigInt64Array.from(rows, (r) => r.order_id) }),
    customer: vectorFromArray(rows.map((r) => r.customer), new Utf8()).data[0]!,
    amount: makeData({ type: new Float64(), length, data: Float64Array.from(rows, (r) => r.amount) }),
    status: vectorFromArray(rows.map((r) => r.status), new Utf8()).data[0]!,
    ordered_at: makeData({ type: new TimestampMicrosecond('UTC'), length, data: BigInt64Array.from(rows, (r) => r.ordered_at) }),
  });
}

/** Replaces demo.orders in the embedded catalog at `<outDir>/warehouse` with one snapshot holding `rows`. */
export async function commitOrders(outDir: string, rows: OrderRow[]): Promise<{ metadataLocation: string; snapshotId: bigint; dataFiles: string[] }> {
  const catalog = new EmbeddedCatalog({ warehouse: `file://${path.join(outDir, 'warehouse')}`, io: new LocalFileIO() });
  const id: TableIdentifier = { namespace: ['demo'], name: 'orders' };
  try {
    if (!(await catalog.namespaceExists(['demo']))) await catalog.createNamespace(['demo']);
    if (await catalog.tableExists(id)) await catalog.dropTable(id, { purge: true });
    const created = await catalog.createTable(id, { schema: ORDERS_TABLE_SCHEMA });
    const writer = new TableWriter(created);
    await writer.write(toArrow(rows));
    const { table } = await commitAction(catalog, id, fastAppend(await writer.close(), { summary: { 'duckhouse.demo': 'csv' } }));
    const dataFiles = (await planFiles(table)).map((task) => task.file.filePath.replace(/^file:\/\//, ''));
    return { metadataLocation: table.metadataLocation, snapshotId: table.metadata.currentSnapshotId!, dataFiles };
  } finally {
    await catalog.close();
  }
}

/** How many rows PyIceberg (the stack's venv) reads from the table's metadata file. */
async function pyIcebergRowCount(python: string, metadataLocation: string): Promise<number> {
  const script = 'import sys\nfrom pyiceberg.table import StaticTable\nprint(StaticTable.from_metadata(sys.argv[1]).scan().to_arrow().num_rows)';
  const { stdout } = await promisify(execFile)(python, ['-c', script, metadataLocation]);
  return Number(stdout.trim());
}

export interface DemoResult {
  topic: string;
  produced: number;
  consumed: number;
  rowsWritten: number;
  metadataLocation: string;
  snapshotId: bigint;
  dataFiles: string[];
  pyicebergRows: number;
  fieldIds: { name: string; fieldId: number }[];
  rows: Record<string, unknown>[];
}

export interface DemoOptions {
  csvFile: string;
  outDir: string;
  /** Defaults to `duckhouse.demo.orders`. */
  topic?: string;
  report?: (line: string) => void;
}

export async function runCsvDemo(endpoints: StackEndpoints, options: DemoOptions): Promise<DemoResult> {
  const { csvFile, outDir } = options;
  const report = options.report ?? (() => undefined);
  const topic = options.topic ?? tableTopic('duckhouse', 'demo', 'orders');
  const kafka = createKafka({ brokers: endpoints.kafka.brokers, clientId: 'duckhouse-demo', quiet: true });
  const registry = createRegistry({ url: endpoints.schemaRegistry.url });

  const schemaId = await registerAvro(registry, valueSubject(topic), ORDER_SCHEMA);
  report(`registered Avro schema ${valueSubject(topic)} (id ${schemaId}) at ${endpoints.schemaRegistry.url}`);

  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const messages = [];
  for await (const row of readOrders(csvFile)) {
    messages.push({ key: String(row.order_id), value: await registry.encode(schemaId, row) });
  }
  const producer = createProducer(kafka);
  await producer.connect();
  const [sent] = await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
  if (!sent) throw new DataInvalidError(`Kafka acknowledged nothing for topic ${topic}`);
  const firstOffset = BigInt(sent.baseOffset ?? '0');
  report(`produced ${messages.length} records from ${path.basename(csvFile)} to ${topic} (partition ${sent.partition}, offsets ${firstOffset}..${firstOffset + BigInt(messages.length - 1)})`);

  const decoded: OrderRow[] = [];
  const consumer = kafka.consumer({ groupId: `duckhouse-demo-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DataInvalidError(`read ${decoded.length} of ${messages.length} records from ${topic} within 30s`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message, partition }) => {
          if (partition !== sent.partition || BigInt(message.offset) < firstOffset || decoded.length >= messages.length) return;
          const value = (await registry.decode(message.value as Buffer)) as Record<string, unknown>;
          decoded.push(value as unknown as OrderRow);
          if (decoded.length === messages.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .then(() => consumer.seek({ topic, partition: sent.partition, offset: firstOffset.toString() }))
      .catch(reject);
  });
  await consumer.disconnect();
  report(`consumed and decoded ${decoded.length} records`);

  const latest = lastPerKey(decoded);
  await mkdir(outDir, { recursive: true });
  const committed = await commitOrders(outDir, latest);
  report(`kept the last change of ${latest.length} keys; committed snapshot ${committed.snapshotId} of Iceberg table demo.orders (${committed.metadataLocation})`);
  const pyicebergRows = await pyIcebergRowCount(endpoints.python.python, committed.metadataLocation);
  report(`PyIceberg reads ${pyicebergRows} rows from the table's metadata file`);

  const { instance, connection } = await openDuckDB();
  try {
    const files = `[${committed.dataFiles.map(quoteLiteral).join(', ')}]`;
    const schema = await connection.runAndReadAll(
      `select name, field_id from parquet_schema(${quoteLiteral(committed.dataFiles[0]!)}) where field_id is not null order by field_id`,
    );
    const rows = await connection.runAndReadAll(`select * from read_parquet(${files}) order by order_id`);
    return {
      topic,
      produced: messages.length,
      consumed: decoded.length,
      rowsWritten: latest.length,
      ...committed,
      pyicebergRows,
      fieldIds: schema.getRowObjectsJS().map((r) => ({ name: String(r.name), fieldId: Number(r.field_id) })),
      rows: rows.getRowObjectsJson() as Record<string, unknown>[],
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
