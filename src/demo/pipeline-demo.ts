// The end-to-end demo: the CSV producer sends scripts/demo-data/orders.csv (new orders, status changes, a cancelled
// order deleted) as keyed Avro change events through the schema registry to Kafka, and the CDC producer captures a
// Postgres customers table (demo-customers.ts); the sink consumes both topics into the Iceberg tables demo.orders and
// demo.customers (SQL catalog in Postgres, Parquet on MinIO) with upserts and deletes, publishing commit events; the
// workers (views, compactor, dbt) refresh the DuckDB views and build the dbt marts; then demo.orders is read back by
// DuckHouse's own reader and by PyIceberg through DuckHouse's Iceberg REST catalog (the two must agree), and the
// marts are read.
// Must never: print credentials or the one-off token (PyIceberg gets them through its environment, not its arguments).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { promisify } from 'node:util';
import type { Catalog } from '../catalog/catalogs/catalog.js';
import { displayRow } from '../catalog/read/display-value.js';
import { scanRows } from '../catalog/read/scan-table.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import { waitForTable } from '../consumers/catch-up.js';
import { tableProgress } from '../consumers/offsets.js';
import { Sink } from '../consumers/sink.js';
import type { DbtRunRecord } from '../compactor/dbt/dbt-runner.js';
import { formatDbtRun } from '../compactor/dbt/dbt-runs.js';
import { defaultViewsCacheDir, withDuckDBFile } from '../compactor/duckdb-file.js';
import { CommitEventPublisher } from '../compactor/queues.js';
import { waitForWorkers } from '../compactor/worker-status.js';
import { Workers } from '../compactor/workers.js';
import { openDuckDB } from '../shared/duckdb.js';
import { startServer } from '../server/app.js';
import type { SqlResult } from '../server/sql/sql-engine.js';
import { SqlEngine } from '../server/sql/sql-engine.js';
import type { StatusReport } from '../server/status/status-types.js';
import { produceDemoCustomers } from './demo-customers.js';
import { produceCsv } from '../producers/csv/csv-producer.js';
import { prepareCsvInput } from '../producers/csv/row-encoder.js';
import { createKafka, dlqTopic } from '../producers/kafka/client.js';
import { createRegistry } from '../schemas/registry.js';
import { DuckHouseError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { connectRedis } from '../shared/redis.js';
import type { StackEndpoints } from '../stack/config.js';

export interface DemoOptions {
  csvFile: string;
  /** The DuckDB file the views and marts go to. */
  databaseFile: string;
  /** The dbt project (dbt/). */
  dbtProject: string;
  /** Postgres schema of the CDC-fed customers table (default `demo`). */
  pgSchema?: string;
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
  /** The same table as PyIceberg reads it through DuckHouse's REST catalog, as JSON. */
  pyiceberg: Record<string, unknown>[];
  /** The dbt run that built the marts. */
  dbt: DbtRunRecord;
  /** analytics.customer_revenue and analytics.daily_orders as the marts hold them. */
  marts: { customerRevenue: Record<string, unknown>[]; dailyOrders: Record<string, unknown>[] };
  /** Orders per status, through the HTTP API's read-only SQL endpoint. */
  sqlByStatus: SqlResult;
  /** The status page's report (GET /api/v1/status). */
  status: StatusReport;
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

  // 2. CDC: a Postgres table, snapshot then streamed changes.
  const customers = await produceDemoCustomers({ endpoints, schema: options.pgSchema ?? 'demo', topicPrefix: prefix, logger: createLogger('demo-cdc', 'warn'), report });

  // 3. Sink: topics → Iceberg tables demo.orders and demo.customers, exactly once (offsets live in the snapshots),
  //    with commit events for 4. the workers: views → dbt build of the marts; the compactor.
  const id = { namespace: ['demo'], name: 'orders' };
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const connection = connectRedis(endpoints.redis);
    connections.push(connection);
    return connection;
  };
  const publisher = new CommitEventPublisher(connect(), prefix);
  const started = Date.now();
  let commits = 0;
  const sink = new Sink({
    kafka, registry, catalog: options.catalog, group: `${prefix}-demo-sink`, topics: [produced.topic, customers.topic], routing: { prefix, tables: { [customers.topic]: 'demo.customers' } },
    deadLetters: { topic: dlqTopic(prefix), table: { namespace: ['duckhouse'], name: 'dead_letters' } },
    flush: { intervalMs: 1000 }, logger: createLogger('demo-sink', 'warn'), commitEvents: publisher,
    onCommit: (event) => {
      commits++;
      report(`sink: committed snapshot ${event.snapshotId} of ${event.table}: +${event.rowsAdded} rows, ${event.rowsDeleted} position deletes, offsets ${JSON.stringify(event.offsets)}`);
    },
  });
  await sink.start();
  try {
    await waitForTable(kafka, options.catalog, id, produced.topic, 120_000);
    await waitForTable(kafka, options.catalog, { namespace: ['demo'], name: 'customers' }, customers.topic, 120_000);
  } finally {
    await sink.stop();
  }
  // The workers start once both tables exist (a dbt build needs every source of the models it selects), and take the
  // commit events the sink published.
  const workers = new Workers({
    connect, prefix, kinds: ['views', 'compactor', 'dbt'], catalog: options.catalog, logger: createLogger('demo-workers', 'warn'),
    views: { databaseFile: options.databaseFile, cacheDir: defaultViewsCacheDir(options.databaseFile) },
    compaction: { maintenanceEveryMs: 0 },
    dbt: { executable: endpoints.python.dbt, projectDir: options.dbtProject, debounceMs: 1000, targetDir: path.join(path.dirname(options.databaseFile), 'dbt-runs') },
  });
  let dbt: DbtRunRecord;
  try {
    await workers.start();
    report('workers: refreshing the DuckDB views and building the dbt models downstream of the changed tables…');
    const runs = await waitForWorkers(connect(), prefix, { since: started, ignore: ['compact'], timeoutMs: 180_000 });
    dbt = runs[0]!;
    report(`dbt: ${formatDbtRun(dbt)}`);
    if (dbt.status !== 'success') throw new DuckHouseError('internal', `demo: the dbt build failed: ${formatDbtRun(dbt)}`);
  } finally {
    await workers.close();
    await publisher.close();
    await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
  }

  // 5. Readers: DuckHouse's scan (DuckDB over the Parquet files, deletes applied) and PyIceberg via the REST catalog.
  const table = await options.catalog.loadTable(id);
  const fields = currentSchema(table.metadata).fields;
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of scanRows(table)) for (const row of chunk) rows.push(displayRow(fields, row));
  rows.sort((a, b) => Number(a.order_id) - Number(b.order_id));
  // The HTTP server `duckhouse serve` runs, in-process with a one-off admin token that lives only in memory: PyIceberg
  // attaches through its Iceberg REST catalog (as Trino, Spark and DuckDB would), the SQL endpoint reads the views the
  // workers built, and the status page's report says whether every table is fresh.
  const demoToken = randomBytes(24).toString('base64url');
  const statusRedis = connectRedis(endpoints.redis);
  const sql = new SqlEngine({ databaseFile: options.databaseFile, cacheDir: defaultViewsCacheDir(options.databaseFile), warehouse: options.catalog.warehouse });
  const server = await startServer({
    catalog: options.catalog,
    authenticate: async (token) => (token === demoToken ? { kind: 'admin', tokenId: 'demo' } : undefined),
    clientConfig: { 's3.endpoint': endpoints.s3.endpoint, 's3.path-style-access': 'true', 's3.region': endpoints.s3.region },
    sql,
    status: { catalog: options.catalog, kafka, redis: statusRedis, prefix },
  });
  const api = async <T>(route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${server.url}${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${demoToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new DuckHouseError('internal', `demo: ${route} answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
    return (await response.json()) as T;
  };
  const catalogProps = { type: 'rest', uri: server.catalogUrl, token: demoToken, 's3.access-key-id': endpoints.s3.accessKeyId, 's3.secret-access-key': endpoints.s3.secretAccessKey };
  let pyiceberg: Record<string, unknown>[];
  let byStatus: SqlResult;
  let status: StatusReport;
  try {
    try {
      const { stdout } = await promisify(execFile)(endpoints.python.python, ['-c', PYICEBERG_SCRIPT, options.catalogName, 'demo.orders'], { env: { ...process.env, DUCKHOUSE_DEMO_CATALOG: JSON.stringify(catalogProps) } });
      pyiceberg = JSON.parse(stdout) as Record<string, unknown>[];
    } catch (error) {
      throw new DuckHouseError('internal', `PyIceberg could not read demo.orders: ${((error as { stderr?: string }).stderr ?? String(error)).slice(-1500)}`, { cause: error });
    }
    report(`readers: DuckHouse reads ${rows.length} rows, PyIceberg reads ${pyiceberg.length} rows through the Iceberg REST catalog at ${server.catalogUrl}${JSON.stringify(rows) === JSON.stringify(pyiceberg) ? ' — the same rows' : ' — THEY DIFFER'}`);
    byStatus = await api<SqlResult>('/api/v1/sql', { sql: 'SELECT status, count(*) AS orders, sum(amount) AS amount FROM demo.orders GROUP BY status ORDER BY status' });
    report(`sql: POST ${server.url}/api/v1/sql (read-only, over the DuckDB views): ${byStatus.rows.map(([s, n, a]) => `${String(s)} ${String(n)} orders ${String(a)}`).join(', ')}`);
    status = await api<StatusReport>('/api/v1/status');
    const tables = status.tables.items.filter((t) => t.role === 'table');
    report(`status: ${server.url}/status is ${status.state}: ${tables.map((t) => `${t.table} ${t.rows ?? '?'} rows, ${t.dataFiles ?? '?'} data files, lag ${t.totalLag ?? '?'}, ${t.freshnessState}`).join('; ')}`);
  } finally {
    await server.close();
    await sql.close();
    await statusRedis.quit().catch(() => undefined);
  }
  const progress = tableProgress(table.metadata);
  const marts = await readMarts(options.databaseFile);
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
    dbt,
    marts,
    sqlByStatus: byStatus,
    status,
  };
}

/** The marts dbt built, read under the DuckDB file's writer lock (no refresh or dbt run is changing them meanwhile). */
async function readMarts(databaseFile: string): Promise<DemoResult['marts']> {
  return withDuckDBFile(databaseFile, async () => {
    const { instance, connection } = await openDuckDB(databaseFile);
    try {
      const rows = async (sql: string): Promise<Record<string, unknown>[]> => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      return {
        customerRevenue: await rows('SELECT customer, full_name, country, tier, order_count, cancelled_orders, revenue FROM analytics.customer_revenue ORDER BY revenue DESC, customer'),
        dailyOrders: await rows('SELECT * FROM analytics.daily_orders ORDER BY 1, 2'),
      };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
}
