// `duckhouse serve`: the HTTP server — the Iceberg REST catalog at /iceberg (Trino, PyIceberg, Spark, DuckDB attach
// by URL with a bearer token). Tokens are tenant tokens from `duckhouse tenant create|token` (hashed in Postgres) or
// the admin token in $DUCKHOUSE_ADMIN_TOKEN (its hash kept in memory). Runs until SIGINT/SIGTERM.
// Must never: print or log a token or an S3 secret; listen beyond 127.0.0.1 unless --host says so.
import type { Command } from 'commander';
import { Command as CommandClass, InvalidArgumentError } from 'commander';
import { DEFAULT_BASE_PATH, startRestCatalogServer } from '../catalog/catalogs/rest-server/server.js';
import { createLogger } from '../shared/logger.js';
import { readEndpoints } from '../stack/config.js';
import type { StackEndpoints } from '../stack/config.js';
import { TenantStore } from '../tenants/tenant-store.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, defaultWarehouse, openCatalog } from './catalog-options.js';
import { stopOnSignal } from './signals.js';

interface ServeFlags extends CatalogFlags {
  host: string;
  port: number;
  vendCredentials: boolean;
}

export const DEFAULT_SERVE_PORT = 18090;

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`expected a port 1-65535, found ${JSON.stringify(text)}`);
  return port;
}

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
  const server = await startRestCatalogServer({
    catalog,
    authenticate: (token) => tenants.authenticate(token),
    tenantById: async (id) => {
      const tenant = await tenants.getTenant(id);
      return tenant && tenant.state === 'active' && tenant.catalogName === catalog.name ? tenant : undefined;
    },
    clientConfig: clientStorageConfig(warehouse, stack, flags.vendCredentials),
    logger,
    host: flags.host,
    port: flags.port,
  });
  const tokens = (await tenants.listTokens()).filter((t) => t.revokedAt === null).length;
  logger.info({ url: server.url, catalog: catalog.name, warehouse, activeTokens: tokens, adminFromEnv: Boolean(adminFromEnv) }, 'Iceberg REST catalog listening');
  process.stdout.write(`Iceberg REST catalog: ${server.url}  (catalog ${catalog.name}, warehouse ${warehouse})\n`);
  if (tokens === 0 && !adminFromEnv) {
    process.stdout.write('no tokens yet: create one with `duckhouse tenant create <id>` or `duckhouse tenant token --admin`\n');
  }
  await stopOnSignal(logger, () => server.close(), { stopping: 'stopping: finishing requests in flight', abort: 'second signal: exiting now' });
  await tenants.close();
  await catalog.close();
}

export function serveCommand(): Command {
  const command = new CommandClass('serve')
    .description(`serve the Iceberg REST catalog at http://<host>:<port>${DEFAULT_BASE_PATH} (bearer tokens from \`duckhouse tenant\`, or $DUCKHOUSE_ADMIN_TOKEN)`)
    .option('--host <host>', 'interface to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (env DUCKHOUSE_SERVE_PORT)', parsePort, process.env.DUCKHOUSE_SERVE_PORT ? parsePort(process.env.DUCKHOUSE_SERVE_PORT) : DEFAULT_SERVE_PORT)
    .option('--vend-credentials', "hand the server's S3 keys to clients in table config (single-user setups only)", false);
  addCatalogOptions(command);
  return command.action(async (flags: ServeFlags) => serve(flags));
}
