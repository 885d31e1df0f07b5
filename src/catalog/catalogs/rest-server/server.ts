// Starts an HTTP server with the Iceberg REST catalog mounted at a base path (`/iceberg` by default): what
// `duckhouse serve` runs, and what tests start on a random port. The catalog URI clients use is `url`.
// Must never: listen on anything but the host it was given (127.0.0.1 unless the operator says otherwise).
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { RestCatalogOptions } from './rest-routes.js';
import { restCatalogRoutes } from './rest-routes.js';

export interface RestCatalogServerOptions extends RestCatalogOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where the catalog is mounted; clients append /v1/… to `<url>`. */
  basePath?: string;
}

export interface RestCatalogServer {
  /** The catalog URI for clients (PyIceberg `uri`, Trino `iceberg.rest-catalog.uri`). */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export const DEFAULT_BASE_PATH = '/iceberg';

/** An app with the REST catalog under `basePath`, not yet listening (so `duckhouse serve` can add its own routes). */
export async function buildRestCatalogApp(options: RestCatalogOptions, basePath = DEFAULT_BASE_PATH): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { ignoreTrailingSlash: true } });
  await app.register(restCatalogRoutes, { ...options, prefix: basePath });
  return app;
}

export async function startRestCatalogServer(options: RestCatalogServerOptions): Promise<RestCatalogServer> {
  const basePath = options.basePath ?? DEFAULT_BASE_PATH;
  const app = await buildRestCatalogApp(options, basePath);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}${basePath}`,
    app,
    close: () => app.close(),
  };
}
