// The end-to-end demo: the CSV producer sends scripts/demo-data/orders.csv (new orders, status changes, a cancelled
// order deleted) as keyed Avro change events through the schema registry to Kafka; the sink consumes the topic into
// the Iceberg table demo.orders (SQL catalog in Postgres, Parquet on MinIO) with upserts and deletes; then the table
// is read back by DuckHouse's own reader and by PyIceberg through the same catalog, and the two must agree.
// Must never: print credentials (PyIceberg gets them through its environment, not its arguments).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Catalog } from '../catalog/catalogs/catalog.js';
import { scanRows } from '../catalog/read/scan-table.js';
import { waitForTable } from '../consumers/catch-up.js';
import { tableProgress } from '../consumers/offsets.js';
import { Sink } from '../consumers/sink.js';
import { produceCsv } from '../producers/csv/csv-producer.js';
import { prepareCsvInput } from '../producers/csv/row-encoder.js';
import { createKafka, dlqTopic } from '../producers/kafka/client.js';
import { createRegistry } from '../schemas/registry.js';
import { DuckHouseError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import type { StackEndpoints } from '../stack/config.js';

export interface DemoOptions {
  csvFile: string;
  catalog: Catalog;
  /** The SQL catalog's name, for PyIceberg. */
  catalogName: string;
  /** Topic prefix (default `duckhouse`). */
  prefix?: string;
  report?: (line: string) => void;
}

export interface DemoResult {
  topic: string;
  sent: number;
  deletes: number;
  commits: number;
  snapshotId: string;
  offsets: string;
  metadataLocation: string;
  /** Rows as DuckHouse's reader sees them (position deletes applied), sorted by order_id. */
  rows: Record<string, unknown>[];
  /** The same table as PyIceberg reads it through the SQL catalog, as JSON. */
  pyiceberg: Record<string, unknown>[];
}

const PYICEBERG_SCRIPT = `
import datetime, decimal, json, os, sys
from pyiceberg.catalog import load_catalog
props = json.loads(os.environ["DUCKHOUSE_DEMO_CATALOG"])
table = load_catalog(sys.argv[1], **props).load_table(sys.argv[2])
def plain(v):
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v
rows = [{k: plain(v) for k, v in r.items()} for r in table.scan().to_arrow().to_pylist()]
print(json.dumps(sorted(rows, key=lambda r: r["order_id"])))
`;

/** A value as the demo prints it (and as PyIceberg's JSON shows it): decimals as text, timestamps as ISO µs. */
function plain(name: string, value: unknown, scales: Map<string, number>): unknown {
  if (typeof value !== 'bigint') return value;
  const scale = scales.get(name);
  if (scale !== undefined) {
    const negative = value < 0n;
    const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
    return `${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  if (name === 'ordered_at') {
    const ms = value / 1000n;
    return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(value % 1_000_000n).padStart(6, '0')}Z`;
  }
  return Number(value);
}

export async function runDemo(endpoints: StackEndpoints, options: DemoOptions): Promise<DemoResult> {
  const report = options.report ?? (() => undefined);
  const prefix = options.prefix ?? 'duckhouse';
  const kafka = createKafka({ brokers: endpoints.kafka.brokers, clientId: 'duckhouse-demo', quiet: true });
  const registry = createRegistry({ url: endpoints.schemaRegistry.url });

  // 1. Producer: CSV → keyed Avro change events (an `op` of d deletes the order).
  const produced = await produceCsv(kafka, registry, {
    input: await prepareCsvInput(options.csvFile), namespace: 'demo', table: 'orders', keyColumns: ['order_id'], opColumn: 'op', topicPrefix: prefix, partitions: 2, force: true,
  });
  report(`producer: ${produced.sent} change events (${produced.deletes} delete) from ${options.csvFile.split('/').pop()} → ${produced.topic}; columns ${produced.columns.map((c) => `${c.name} ${c.type}`).join(', ')}`);

  // 2. Sink: topic → Iceberg table demo.orders, exactly once (offsets live in the snapshots).
  const id = { namespace: ['demo'], name: 'orders' };
  let commits = 0;
  const sink = new Sink({
    kafka, registry, catalog: options.catalog, group: `${prefix}-demo-sink`, topics: [produced.topic], routing: { prefix },
    deadLetters: { topic: dlqTopic(prefix), table: { namespace: ['duckhouse'], name: 'dead_letters' } },
    flush: { intervalMs: 1000 }, logger: createLogger('demo-sink', 'warn'),
    onCommit: (event) => {
      commits++;
      report(`sink: committed snapshot ${event.snapshotId} of ${event.table}: +${event.rowsAdded} rows, ${event.rowsDeleted} position deletes, offsets ${JSON.stringify(event.offsets)}`);
    },
  });
  await sink.start();
  try {
    await waitForTable(kafka, options.catalog, id, produced.topic, 120_000);
  } finally {
    await sink.stop();
  }

  // 3. Readers: DuckHouse's scan (DuckDB over the Parquet files, deletes applied) and PyIceberg via the catalog.
  const table = await options.catalog.loadTable(id);
  const scales = new Map(table.metadata.schemas.at(-1)!.fields.flatMap((f) => (f.type.kind === 'decimal' ? [[f.name, f.type.scale] as const] : [])));
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of scanRows(table)) for (const row of chunk) rows.push(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(k, v, scales)])));
  rows.sort((a, b) => Number(a.order_id) - Number(b.order_id));
  const { postgres, s3 } = endpoints;
  const catalogProps = {
    type: 'sql',
    uri: `postgresql+psycopg2://${encodeURIComponent(postgres.user)}:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${postgres.database}`,
    's3.endpoint': s3.endpoint, 's3.access-key-id': s3.accessKeyId, 's3.secret-access-key': s3.secretAccessKey, 's3.region': s3.region,
  };
  let pyiceberg: Record<string, unknown>[];
  try {
    const { stdout } = await promisify(execFile)(endpoints.python.python, ['-c', PYICEBERG_SCRIPT, options.catalogName, 'demo.orders'], { env: { ...process.env, DUCKHOUSE_DEMO_CATALOG: JSON.stringify(catalogProps) } });
    pyiceberg = JSON.parse(stdout) as Record<string, unknown>[];
  } catch (error) {
    throw new DuckHouseError('internal', `PyIceberg could not read demo.orders: ${((error as { stderr?: string }).stderr ?? String(error)).slice(-1500)}`, { cause: error });
  }
  report(`readers: DuckHouse reads ${rows.length} rows, PyIceberg reads ${pyiceberg.length} rows through catalog "${options.catalogName}"${JSON.stringify(rows) === JSON.stringify(pyiceberg) ? ' — the same rows' : ' — THEY DIFFER'}`);
  const progress = tableProgress(table.metadata);
  return {
    topic: produced.topic,
    sent: produced.sent,
    deletes: produced.deletes,
    commits,
    snapshotId: String(table.metadata.currentSnapshotId),
    offsets: JSON.stringify(Object.fromEntries([...progress.offsets].map(([tp, next]) => [tp, String(next)]))),
    metadataLocation: table.metadataLocation,
    rows,
    pyiceberg,
  };
}
