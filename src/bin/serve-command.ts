// `duckhouse serve`: the HTTP server (src/server/app.ts) — the Iceberg REST catalog at /iceberg, the HTTP API under
// /api/v1 (tables, CSV upload, read-only SQL over the DuckDB views), its OpenAPI document, the status page at /status
// and Prometheus metrics at /metrics. Tokens are tenant tokens from `duckhouse tenant create|token` (hashed in
// Postgres) or the admin token in $DUCKHOUSE_ADMIN_TOKEN (its hash kept in memory). Runs until SIGINT/SIGTERM.
// Must never: print or log a token or an S3 secret; listen beyond 127.0.0.1 unless --host says so.
import path from 'node:path';
import type { Command } from 'commander';
import { Command as CommandClass } from 'commander';
import { defaultViewsCacheDir } from '../compactor/duckdb-file.js';
import { createKafka } from '../producers/kafka/client.js';
import { createRegistry } from '../schemas/registry.js';
import { createLogger } from '../shared/logger.js';
import { connectRedis } from '../shared/redis.js';
import { startServer } from '../server/app.js';
import { SqlEngine } from '../server/sql/sql-engine.js';
import { readEndpoints } from '../stack/config.js';
import type { StackEndpoints } from '../stack/config.js';
import { TenantStore } from '../tenants/tenant-store.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, defaultWarehouse, openCatalog } from './catalog-options.js';
import type { ConnectionFlags } from './common-options.js';
import { addConnectionOptions, addDuckDBOption, addPrefixOption, brokerList, parsePort, positiveInt, registryUrl } from './common-options.js';
import { stopOnSignal } from './signals.js';
import { parseBytes, parseDuration } from './sink-command.js';
import { defaultDuckDBFile } from './worker-command.js';

interface ServeFlags extends CatalogFlags, ConnectionFlags {
  host: string;
  port: number;
  vendCredentials: boolean;
  prefix: string;
  duckdb?: string;
  viewsCache?: string;
  sqlTimeout: number;
  sqlMaxTimeout: number;
  sqlRows: number;
  sqlMaxRows: number;
  sqlConcurrency: number;
  maxUpload: number;
  maxUploads: number;
  status: boolean;
}

export const DEFAULT_SERVE_PORT = 18090;

/**
 * What clients are told about storage: the S3 endpoint and addressing of an S3 warehouse, and the keys themselves only
 * with --vend-credentials (every client then shares the server's keys: fine for a laptop, not for tenants).
 */
export function clientStorageConfig(warehouse: string, stack: StackEndpoints, vendCredentials: boolean): Record<string, string> {
  if (!warehouse.startsWith('s3://')) return {};
  const { endpoint, region, accessKeyId, secretAccessKey } = stack.s3;
  return {
    's3.endpoint': endpoint,
    's3.path-style-access': 'true',
    's3.region': region,
    ...(vendCredentials ? { 's3.access-key-id': accessKeyId, 's3.secret-access-key': secretAccessKey } : {}),
  };
}

async function serve(flags: ServeFlags): Promise<void> {
  const logger = createLogger('serve');
  const stack = readEndpoints();
  const catalog = openCatalog(flags, stack);
  const { host: pgHost, port: pgPort, user, password, database } = stack.postgres;
  const tenants = new TenantStore({ connection: { host: pgHost, port: pgPort, user, password, database } });
  const adminFromEnv = process.env.DUCKHOUSE_ADMIN_TOKEN?.trim();
  if (adminFromEnv) tenants.bootstrapAdminTokens([adminFromEnv]);
  await tenants.init();
  const warehouse = flags.warehouse ?? defaultWarehouse(stack);
  const databaseFile = flags.duckdb ? path.resolve(flags.duckdb) : defaultDuckDBFile();
  const kafka = createKafka({ brokers: brokerList(flags, stack), clientId: 'duckhouse-serve' });
  const redis = flags.status ? connectRedis(stack.redis) : undefined;
  const sql = new SqlEngine({
    databaseFile,
    cacheDir: flags.viewsCache ? path.resolve(flags.viewsCache) : defaultViewsCacheDir(databaseFile),
    warehouse,
    defaultTimeoutMs: flags.sqlTimeout,
    maxTimeoutMs: Math.max(flags.sqlTimeout, flags.sqlMaxTimeout),
    defaultMaxRows: flags.sqlRows,
    maxRows: Math.max(flags.sqlRows, flags.sqlMaxRows),
    maxConcurrent: flags.sqlConcurrency,
    logger,
  });
  const server = await startServer({
    catalog,
    authenticate: (token) => tenants.authenticate(token),
    tenantById: async (id) => {
      const tenant = await tenants.getTenant(id);
      return tenant && tenant.state === 'active' && tenant.catalogName === catalog.name ? tenant : undefined;
    },
    clientConfig: clientStorageConfig(warehouse, stack, flags.vendCredentials),
    logger,
    csv: { kafka, registry: createRegistry({ url: registryUrl(flags, stack) }), prefix: flags.prefix, maxBytes: flags.maxUpload, maxConcurrent: flags.maxUploads },
    sql,
    ...(redis ? { status: { catalog, kafka, redis, prefix: flags.prefix } } : {}),
    host: flags.host,
    port: flags.port,
  });
  const tokens = (await tenants.listTokens()).filter((t) => t.revokedAt === null).length;
  logger.info({ url: server.url, catalog: catalog.name, warehouse, databaseFile, activeTokens: tokens, adminFromEnv: Boolean(adminFromEnv) }, 'DuckHouse server listening');
  process.stdout.write([
    `DuckHouse server: ${server.url}  (catalog ${catalog.name}, warehouse ${warehouse})`,
    `  Iceberg REST catalog  ${server.catalogUrl}`,
    `  HTTP API              ${server.url}/api/v1   (document: ${server.url}/api/openapi.json, browser: ${server.url}/api/docs)`,
    ...(redis ? [`  status page           ${server.url}/status`] : []),
    `  metrics               ${server.url}/metrics  (admin token)`,
    '',
  ].join('\n'));
  if (tokens === 0 && !adminFromEnv) {
    process.stdout.write('no tokens yet: create one with `duckhouse tenant create <id>` or `duckhouse tenant token --admin`\n');
  }
  await stopOnSignal(logger, () => server.close(), { stopping: 'stopping: finishing requests in flight', abort: 'second signal: exiting now' });
  await sql.close().catch(() => undefined);
  await redis?.quit().catch(() => undefined);
  await tenants.close();
  await catalog.close();
}

export function serveCommand(): Command {
  const command = new CommandClass('serve')
    .description('serve the Iceberg REST catalog (/iceberg), the HTTP API (/api/v1: tables, CSV upload, read-only SQL), the status page (/status) and metrics, behind bearer tokens from `duckhouse tenant` or $DUCKHOUSE_ADMIN_TOKEN')
    .option('--host <host>', 'interface to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, DEFAULT_SERVE_PORT)
    .option('--vend-credentials', "hand the server's S3 keys to clients in table config (single-user setups only)", false)
    .option('--views-cache <dir>', 'the views workers\' file cache (default: beside the DuckDB file)')
    .option('--sql-timeout <duration>', 'time limit of a SQL query that asks for none', parseDuration, 10_000)
    .option('--sql-max-timeout <duration>', 'the longest time limit a SQL query may ask for', parseDuration, 60_000)
    .option('--sql-rows <n>', 'rows a SQL query returns when it asks for no cap', positiveInt, 1000)
    .option('--sql-max-rows <n>', 'the most rows a SQL query may ask for', positiveInt, 10_000)
    .option('--sql-concurrency <n>', 'SQL queries run at once (more wait their turn)', positiveInt, 4)
    .option('--max-upload <size>', 'largest CSV upload accepted', parseBytes, 1024 ** 3)
    .option('--max-uploads <n>', 'CSV uploads sent at once (more get 429)', positiveInt, 2)
    .option('--no-status', 'no status page (it reads Redis, Kafka and the catalog)');
  addPrefixOption(command);
  addDuckDBOption(command);
  addConnectionOptions(command);
  addCatalogOptions(command);
  return command.action(async (flags: ServeFlags) => serve(flags));
}
