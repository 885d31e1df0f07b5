// The Iceberg REST catalog API over HTTP (fastify): routes under /v1 and /v1/{prefix}, bearer-token auth, lossless
// JSON (64-bit snapshot ids), the spec's error bodies. A tenant token's config names its tenant as the prefix; a
// route with a prefix acts in that tenant's scope (an admin may use any tenant's prefix, a tenant only its own).
// Must never: answer without a valid token, log a token, or reply with anything but the spec's error model on failure.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../../shared/logger.js';
import { parseJsonLossless, stringifyJsonLossless, tableMetadataToJson } from '../../spec/table-metadata.js';
import type { Catalog, Namespace, TableIdentifier } from '../catalog.js';
import { formatIdentifier } from '../catalog.js';
import type { AccessScope, Tenant } from '../../../tenants/scope.js';
import { errorBody, forbidden, RestError, toRestError } from './rest-errors.js';
import {
  CommitTableRequest,
  CreateNamespaceRequest,
  CreateTableRequest,
  parseBody,
  parseCreateTable,
  parseNamespaceLevels,
  parseNamespaceParam,
  parseRequirement,
  parseTableParam,
  parseUpdate,
  RegisterTableRequest,
  RenameTableRequest,
  toIdentifier,
  UpdateNamespacePropertiesRequest,
} from './rest-requests.js';
import type { LoadedTable } from './rest-service.js';
import { paginate, RestCatalogService } from './rest-service.js';
import { oauthTokenRoute } from './oauth-token.js';

export interface RestCatalogOptions {
  catalog: Catalog;
  /** Resolves a bearer token to what it may see; undefined when the token is unknown or revoked. */
  authenticate: (token: string) => Promise<AccessScope | undefined>;
  /** Finds a tenant by id, so an admin token can act in a tenant's prefix. Without it, admins use no prefix. */
  tenantById?: (id: string) => Promise<Tenant | undefined>;
  /** Properties handed to clients in /v1/config defaults and in every LoadTableResult config (s3.endpoint, …). */
  clientConfig?: Readonly<Record<string, string>>;
  logger?: Logger;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    duckhouseScope: AccessScope | undefined;
  }
  interface FastifyContextConfig {
    /** The route needs no token (the OAuth exchange, the login page, /healthz). */
    public?: boolean;
  }
}

/** The endpoints this server implements, announced in /v1/config so clients skip the rest (views). */
export const ENDPOINTS = [
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
  'POST /v1/{prefix}/tables/rename',
] as const;

type Params = { prefix?: string; namespace?: string; table?: string };
type Query = { parent?: string; pageToken?: string; pageSize?: string; snapshots?: string; purgeRequested?: string; warehouse?: string };
type Req = FastifyRequest<{ Params: Params; Querystring: Query }>;

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(stringifyJsonLossless(body));
}

/** The token of an `Authorization: Bearer <token>` header (the HTTP API's auth reads it the same way). */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

function pageSize(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1) throw new RestError(400, 'BadRequestException', `pageSize must be a positive integer, found ${JSON.stringify(raw)}`);
  return size;
}

/** The fastify plugin: register it under a path (`/iceberg`) and clients use that URL as the catalog URI. */
export const restCatalogRoutes: FastifyPluginAsync<RestCatalogOptions> = async (app, options) => {
  const service = new RestCatalogService(options.catalog, options.now);
  const clientConfig = { ...options.clientConfig };

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 32 * 1024 * 1024 }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJsonLossless(text));
    } catch (error) {
      done(new RestError(400, 'BadRequestException', `request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, String(body)));
  app.decorateRequest('duckhouseScope', undefined);

  app.setErrorHandler((error, request, reply) => {
    const statusFromFastify = (error as { statusCode?: number }).statusCode;
    const rest = error instanceof RestError || statusFromFastify === undefined || statusFromFastify >= 500
      ? toRestError(error)
      : new RestError(statusFromFastify, 'BadRequestException', (error as Error).message);
    if (rest.status >= 500) options.logger?.error({ err: error, method: request.method, url: request.url }, 'REST catalog request failed');
    else options.logger?.debug({ method: request.method, url: request.url, status: rest.status, type: rest.type }, rest.message);
    void sendJson(reply, rest.status, errorBody(rest.status, rest.type, rest.message));
  });
  app.setNotFoundHandler((request, reply) => {
    void sendJson(reply, 404, errorBody(404, 'NotFoundException', `this catalog has no endpoint ${request.method} ${request.url.split('?')[0] ?? ''}`));
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config && (request.routeOptions.config as { public?: boolean }).public) return;
    const token = bearerToken(request);
    const scope = token === undefined ? undefined : await options.authenticate(token);
    if (!scope) {
      reply.header('www-authenticate', 'Bearer realm="duckhouse"');
      const message = token === undefined ? 'missing bearer token: send Authorization: Bearer <token>' : 'the bearer token is not valid (unknown, revoked, or its tenant is being deleted)';
      throw new RestError(401, 'NotAuthorizedException', message);
    }
    request.duckhouseScope = scope;
  });

  /** The scope a request acts in: the token's, narrowed to the tenant named by the route's prefix. */
  async function scopeOf(request: Req): Promise<AccessScope> {
    const scope = request.duckhouseScope!;
    if (scope.kind === 'tenant' && scope.tenant.catalogName !== undefined && scope.tenant.catalogName !== options.catalog.name) {
      throw forbidden(`tenant ${scope.tenant.id} belongs to catalog ${scope.tenant.catalogName}; this server serves catalog ${options.catalog.name}`);
    }
    const prefix = request.params.prefix;
    if (prefix === undefined) return scope;
    if (scope.kind === 'tenant') {
      if (prefix !== scope.tenant.id) throw forbidden(`this token belongs to tenant ${scope.tenant.id}, not ${prefix}`);
      return scope;
    }
    const tenant = await options.tenantById?.(prefix);
    if (!tenant) throw new RestError(404, 'NotFoundException', `no tenant ${prefix}`);
    return { kind: 'tenant', tokenId: scope.tokenId, tenant };
  }
  const ns = (request: Req): Namespace => parseNamespaceParam(request.params.namespace ?? '');
  const tableId = (request: Req): TableIdentifier => parseTableParam(ns(request), request.params.table ?? '');
  const loadResult = (loaded: LoadedTable, snapshots?: string): Record<string, unknown> => {
    let metadata = loaded.metadata;
    if (snapshots === 'refs') {
      const referenced = new Set([...metadata.refs.values()].map((ref) => ref.snapshotId));
      metadata = { ...metadata, snapshots: metadata.snapshots.filter((s) => referenced.has(s.snapshotId)) };
    }
    return {
      ...(loaded.metadataLocation === undefined ? {} : { 'metadata-location': loaded.metadataLocation }),
      metadata: tableMetadataToJson(metadata),
      config: clientConfig,
    };
  };

  app.get('/v1/config', async (request: Req, reply) => {
    const scope = request.duckhouseScope!;
    return sendJson(reply, 200, {
      defaults: clientConfig,
      overrides: scope.kind === 'tenant' ? { prefix: scope.tenant.id } : {},
      endpoints: ENDPOINTS,
    });
  });
  app.post('/v1/oauth/tokens', { config: { public: true } }, oauthTokenRoute(options.authenticate));

  const routes = (scoped: FastifyInstance): void => {
    scoped.get('/namespaces', async (request: Req, reply) => {
      const scope = await scopeOf(request);
      const parent = request.query.parent ? parseNamespaceParam(request.query.parent) : [];
      const page = paginate(await service.listNamespaces(scope, parent), (n) => n.join('\u001f'), request.query.pageToken, pageSize(request.query.pageSize));
      return sendJson(reply, 200, { namespaces: page.items, ...(page.nextPageToken ? { 'next-page-token': page.nextPageToken } : {}) });
    });
    scoped.post('/namespaces', async (request: Req, reply) => {
      const body = parseBody(CreateNamespaceRequest, request.body, 'CreateNamespaceRequest');
      const namespace = parseNamespaceLevels(body.namespace);
      const properties = await service.createNamespace(await scopeOf(request), namespace, body.properties ?? {});
      return sendJson(reply, 200, { namespace, properties });
    });
    scoped.get('/namespaces/:namespace', { exposeHeadRoute: false }, async (request: Req, reply) => {
      const namespace = ns(request);
      return sendJson(reply, 200, { namespace, properties: await service.loadNamespace(await scopeOf(request), namespace) });
    });
    scoped.head('/namespaces/:namespace', async (request: Req, reply) => reply.code((await service.namespaceExists(await scopeOf(request), ns(request))) ? 204 : 404).send());
    scoped.delete('/namespaces/:namespace', async (request: Req, reply) => {
      await service.dropNamespace(await scopeOf(request), ns(request));
      return reply.code(204).send();
    });
    scoped.post('/namespaces/:namespace/properties', async (request: Req, reply) => {
      const body = parseBody(UpdateNamespacePropertiesRequest, request.body, 'UpdateNamespacePropertiesRequest');
      const change = await service.updateNamespaceProperties(await scopeOf(request), ns(request), body.removals ?? [], body.updates ?? {});
      return sendJson(reply, 200, change);
    });
    scoped.get('/namespaces/:namespace/tables', async (request: Req, reply) => {
      const ids = await service.listTables(await scopeOf(request), ns(request));
      const page = paginate(ids, (id) => id.name, request.query.pageToken, pageSize(request.query.pageSize));
      return sendJson(reply, 200, { identifiers: page.items, ...(page.nextPageToken ? { 'next-page-token': page.nextPageToken } : {}) });
    });
    scoped.post('/namespaces/:namespace/tables', async (request: Req, reply) => {
      const body = parseBody(CreateTableRequest, request.body, 'CreateTableRequest');
      const id = parseTableParam(ns(request), body.name);
      const loaded = await service.createTable(await scopeOf(request), id, {
        ...parseCreateTable(body),
        ...(body.location ? { location: body.location } : {}),
        properties: body.properties ?? {},
        stage: body['stage-create'] ?? false,
      });
      return sendJson(reply, 200, loadResult(loaded));
    });
    scoped.post('/namespaces/:namespace/register', async (request: Req, reply) => {
      const body = parseBody(RegisterTableRequest, request.body, 'RegisterTableRequest');
      if (body.overwrite) throw new RestError(406, 'UnsupportedOperationException', 'register with overwrite is not supported: drop the table first');
      const loaded = await service.registerTable(await scopeOf(request), parseTableParam(ns(request), body.name), body['metadata-location']);
      return sendJson(reply, 200, loadResult(loaded));
    });
    scoped.get('/namespaces/:namespace/tables/:table', { exposeHeadRoute: false }, async (request: Req, reply) => {
      const snapshots = request.query.snapshots;
      if (snapshots !== undefined && snapshots !== 'all' && snapshots !== 'refs') throw new RestError(400, 'BadRequestException', `snapshots must be all or refs, found ${JSON.stringify(snapshots)}`);
      return sendJson(reply, 200, loadResult(await service.loadTable(await scopeOf(request), tableId(request)), snapshots));
    });
    scoped.head('/namespaces/:namespace/tables/:table', async (request: Req, reply) => reply.code((await service.tableExists(await scopeOf(request), tableId(request))) ? 204 : 404).send());
    scoped.post('/namespaces/:namespace/tables/:table', async (request: Req, reply) => {
      const body = parseBody(CommitTableRequest, request.body, 'CommitTableRequest');
      const id = tableId(request);
      if (body.identifier && formatIdentifier(toIdentifier(body.identifier, 'identifier')) !== formatIdentifier(id)) {
        throw new RestError(400, 'BadRequestException', `identifier ${formatIdentifier(toIdentifier(body.identifier, 'identifier'))} does not match the path's ${formatIdentifier(id)}`);
      }
      const requirements = body.requirements.map(parseRequirement);
      const updates = body.updates.map(parseUpdate);
      const loaded = await service.commitTable(await scopeOf(request), id, requirements, updates);
      return sendJson(reply, 200, { 'metadata-location': loaded.metadataLocation, metadata: tableMetadataToJson(loaded.metadata) });
    });
    scoped.delete('/namespaces/:namespace/tables/:table', async (request: Req, reply) => {
      await service.dropTable(await scopeOf(request), tableId(request), String(request.query.purgeRequested).toLowerCase() === 'true');
      return reply.code(204).send();
    });
    scoped.post('/namespaces/:namespace/tables/:table/metrics', async (request: Req, reply) => {
      // Scan and commit reports: accepted (the table must be visible) and not stored.
      await service.loadTable(await scopeOf(request), tableId(request));
      return reply.code(204).send();
    });
    scoped.post('/tables/rename', async (request: Req, reply) => {
      const body = parseBody(RenameTableRequest, request.body, 'RenameTableRequest');
      await service.renameTable(await scopeOf(request), toIdentifier(body.source, 'source'), toIdentifier(body.destination, 'destination'));
      return reply.code(204).send();
    });
  };
  await app.register(async (scoped) => routes(scoped), { prefix: '/v1' });
  await app.register(async (scoped) => routes(scoped), { prefix: '/v1/:prefix' });
};
