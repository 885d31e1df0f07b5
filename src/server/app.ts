// The one HTTP server of `duckhouse serve`, assembled: the Iceberg REST catalog at /iceberg (its own error model and
// auth), and beside it, behind bearer tokens or a login session (auth.ts), the HTTP API under /api/v1 (tables, CSV
// upload, read-only SQL), its OpenAPI document (/api/openapi.json, browsable at /api/docs), the status page (/status,
// the queue board at /status/queues), Prometheus metrics (/metrics, admin tokens only) and /healthz.
// Must never: listen beyond the host it was given, or serve anything but /healthz, /login and the API document
// without a valid token.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { RestCatalogOptions } from '../catalog/catalogs/rest-server/rest-routes.js';
import { restCatalogRoutes } from '../catalog/catalogs/rest-server/rest-routes.js';
import type { CsvUploadOptions } from '../producers/http/csv-upload.js';
import { csvUploadRoutes } from '../producers/http/csv-upload.js';
import { ApiError, apiErrorBody } from '../shared/api-error.js';
import { metricsText, METRICS_CONTENT_TYPE } from '../shared/metrics-server.js';
import { toApiError } from './api-errors.js';
import { apiRoutes } from './api-routes.js';
import { registerAuth } from './auth.js';
import type { SqlEngine } from './sql/sql-engine.js';
import type { StatusRoutesOptions } from './status/status-routes.js';
import { statusRoutes } from './status/status-routes.js';

export const CATALOG_BASE_PATH = '/iceberg';
export const API_VERSION = '0.1.0';

export interface ServerOptions extends RestCatalogOptions {
  /** CSV upload (Kafka, registry, limits); without it the upload route is not served. */
  csv?: CsvUploadOptions;
  /** The read-only SQL engine; without it POST /api/v1/sql answers 503. */
  sql?: SqlEngine;
  /** The status page's sources; without them /status is not served. */
  status?: StatusRoutesOptions;
  /** Serve /metrics (admin tokens only; default true). */
  metrics?: boolean;
}

export interface RunningServer {
  /** The server's base URL (`http://127.0.0.1:18090`). */
  readonly url: string;
  /** The Iceberg REST catalog URI clients use (`<url>/iceberg`). */
  readonly catalogUrl: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

async function operatorSurface(app: FastifyInstance, options: ServerOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'DuckHouse API',
        version: API_VERSION,
        description: 'Tables, CSV upload and read-only SQL over the DuckDB views. Every route needs `Authorization: Bearer <token>` (a tenant token sees its own namespace; an admin token sees all). Errors are `{"error": {"message", "type", "code"}}`. The Iceberg REST catalog is served at /iceberg (the Apache Iceberg REST spec).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from `duckhouse tenant create|token`' } } },
      security: [{ bearer: [] }],
      tags: [{ name: 'tables', description: 'tables, their history, CSV upload' }, { name: 'sql', description: 'read-only SQL over the DuckDB views' }, { name: 'status', description: 'freshness, lag, queues, dead letters' }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { docExpansion: 'list' } });
  // the API browser's pages and assets hold no data: public, like the document itself
  await registerAuth(app, { authenticate: options.authenticate, publicPrefixes: ['/api/docs'] });

  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) options.logger?.error({ err: error, method: request.method, url: request.url.split('?')[0] }, 'API request failed');
    if (api.retryAfterSeconds !== undefined) reply.header('retry-after', String(api.retryAfterSeconds));
    if ((error as { validation?: unknown }).validation) return reply.status(400).send(apiErrorBody(400, 'BadRequest', (error as Error).message));
    return reply.status(api.status).send(apiErrorBody(api.status, api.type, api.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(apiErrorBody(404, 'NotFound', `no endpoint ${request.method} ${request.url.split('?')[0] ?? ''} (the API document is at /api/openapi.json)`));
  });

  app.get('/healthz', { config: { public: true }, schema: { hide: true } as object }, async () => ({ status: 'ok' }));
  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } as object }, async () => app.swagger());
  app.get('/', { config: { public: true }, schema: { hide: true } as object }, async (_request, reply) => reply.redirect(options.status ? '/status' : '/api/docs', 302));

  // Registered through wrappers: their options carry a topic `prefix`, which fastify would take as a route prefix.
  await app.register(async (child) => apiRoutes(child, { catalog: options.catalog, ...(options.sql ? { sql: options.sql } : {}) }));
  const { csv, status } = options;
  if (csv) await app.register(async (child) => csvUploadRoutes(child, csv));
  if (status) await app.register(async (child) => statusRoutes.call(child, child, status));
  if (options.metrics !== false) {
    app.get('/metrics', {
      schema: { tags: ['status'], summary: 'Prometheus metrics of this server process (admin tokens)', produces: ['text/plain'] } as object,
    }, async (request, reply) => {
      if (request.duckhouseScope?.kind !== 'admin') throw new ApiError(403, 'Forbidden', 'metrics are for admin tokens (they name every tenant\'s tables)');
      return reply.type(METRICS_CONTENT_TYPE).send(await metricsText());
    });
  }
}

/** The whole server, not yet listening. */
export async function buildServerApp(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 1024 * 1024 });
  await app.register(restCatalogRoutes, { ...options, prefix: CATALOG_BASE_PATH });
  await app.register(operatorSurface, options);
  return app;
}

export async function startServer(options: ServerOptions & { host?: string; port?: number }): Promise<RunningServer> {
  const app = await buildServerApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${port}`;
  return { url, catalogUrl: `${url}${CATALOG_BASE_PATH}`, app, close: () => app.close() };
}
