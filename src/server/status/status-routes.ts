// The status routes, as one fastify plugin: GET /status (the HTML page), GET /api/v1/status (the same report as JSON,
// with a response schema for the OpenAPI document) and the BullMQ board under /status/queues (administrators only).
// Authentication is the app's: an onRequest hook before these routes sets `request.duckhouseScope`; a request
// without one gets 401 here (never a page), and what a scope sees is decided in status-data.ts.
// Must never: render a report for a request without a scope, or let a tenant reach the queue board.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessScope } from '../../tenants/scope.js';
import { mountQueueBoard } from './status-board.js';
import type { StatusDeps } from './status-data.js';
import { collectStatus, DEFAULT_PREFIX } from './status-data.js';
import type { DeadLetterCache } from './status-dead-letters.js';
import { renderStatusPage } from './status-page.js';
import { STATUS_REPORT_SCHEMA } from './status-types.js';
// The `request.duckhouseScope` declaration lives with the REST catalog routes; importing its types brings it in.
import type {} from '../../catalog/catalogs/rest-server/rest-routes.js';

/**
 * The deps (catalog, kafka, redis, prefix, …) and the page's options. Careful: fastify's `register(plugin, opts)` reads
 * a top-level `prefix` as the routes' URL prefix, and the deps' `prefix` is the topic and queue prefix. Register it
 * through a wrapper so the options reach the plugin untouched:
 * `app.register(async (child) => statusRoutes.call(child, child, options))`.
 */
export interface StatusRoutesOptions extends StatusDeps {
  /** Where the queue board is served, relative to the plugin's prefix; `false` mounts none. Default `/status/queues`. */
  readonly boardPath?: string | false;
  /** Hides the board's retry/clean/remove actions from administrators too. Default false. */
  readonly boardReadOnly?: boolean;
  /** Seconds between the page's automatic reloads (the reader can turn them off); 0: none. Default 10. */
  readonly refreshSeconds?: number;
}

const ERROR_SCHEMA = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;

// Route schemas with OpenAPI fields (tags, summary, description) for the app's @fastify/swagger document; declared
// apart from the routes so fastify's own FastifySchema type (which does not list those fields) accepts them.
const PAGE_SCHEMA = {
  tags: ['status'],
  summary: 'Status page (HTML)',
  description: 'Tables (rows, files, last commit, freshness lag), consumer lag per partition, queues, dead letters, recent dbt runs and a freshness chart, for the caller\'s scope. `?refresh=0` turns the auto-refresh off.',
  querystring: { type: 'object', properties: { refresh: { type: 'string', description: '0 turns the auto-refresh off' } } },
  produces: ['text/html'],
  response: { 200: { description: 'The status page', content: { 'text/html': { schema: { type: 'string' } } } }, 401: { description: 'No session or token', ...ERROR_SCHEMA } },
};

const REPORT_SCHEMA = {
  tags: ['status'],
  summary: 'Status report (JSON)',
  description: 'The data of the status page for the caller\'s scope (an administrator sees every table, a tenant its own). A section that could not be read carries an error; the rest is still reported.',
  response: { 200: STATUS_REPORT_SCHEMA, 401: ERROR_SCHEMA },
};

function scopeOf(request: FastifyRequest, reply: FastifyReply): AccessScope | undefined {
  const scope = request.duckhouseScope;
  if (scope === undefined) {
    void reply.code(401).header('cache-control', 'no-store').send({ statusCode: 401, error: 'Unauthorized', message: 'the status needs a session or a bearer token: sign in first' });
  }
  return scope;
}

/** The fastify plugin (see StatusRoutesOptions for how to register it with a topic `prefix`). */
export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, options) => {
  const { boardPath = '/status/queues', boardReadOnly, refreshSeconds = 10, ...given } = options;
  const cache: DeadLetterCache = {};
  const deps: StatusDeps = { ...given, cache: given.cache ?? cache };
  const prefix = deps.prefix ?? DEFAULT_PREFIX;
  const absolute = (path: string): string => `${app.prefix}${path}`;
  const boardUrl = boardPath === false ? undefined : absolute(boardPath);

  if (!app.hasRequestDecorator('duckhouseScope')) app.decorateRequest('duckhouseScope', undefined);

  app.get<{ Querystring: { refresh?: string } }>('/status', { schema: PAGE_SCHEMA }, async (request, reply) => {
    const scope = scopeOf(request, reply);
    if (!scope) return reply;
    const report = await collectStatus(deps, scope);
    const nonce = randomBytes(16).toString('base64');
    const html = renderStatusPage(report, {
      ...(boardUrl !== undefined && scope.kind === 'admin' ? { boardPath: boardUrl } : {}),
      jsonPath: absolute('/api/v1/status'),
      refreshSeconds,
      refreshForcedOff: request.query.refresh === '0' || request.query.refresh === 'off',
      nonce,
    });
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`)
      .send(html);
  });

  app.get('/api/v1/status', { schema: REPORT_SCHEMA }, async (request, reply) => {
    const scope = scopeOf(request, reply);
    if (!scope) return reply;
    void reply.header('cache-control', 'no-store');
    return collectStatus(deps, scope);
  });

  if (boardPath !== false) {
    await app.register(async (board) => mountQueueBoard(board, { redis: deps.redis, prefix, basePath: absolute(boardPath), ...(boardReadOnly === undefined ? {} : { readOnly: boardReadOnly }) }), { prefix: boardPath });
  }
};
