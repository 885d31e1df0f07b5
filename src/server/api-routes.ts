// The HTTP API's read routes: the tables a token may see (list, describe, snapshots, history — the same records as
// `duckhouse tables`, from catalog/read/table-info.ts) and the read-only SQL endpoint over the DuckDB views
// (sql/sql-engine.ts: one SELECT, no file access outside the warehouse, time and row limits). Every route has an
// OpenAPI schema; authentication happened before (auth.ts).
// Must never: show a tenant a table outside its namespace (a 404, exactly as for a table that does not exist).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Catalog, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier, tablesUnder } from '../catalog/catalogs/catalog.js';
import { describeTable, tableHistory, tableOverview, tableSnapshots } from '../catalog/read/table-info.js';
import { ApiError, API_ERROR_SCHEMA } from '../shared/api-error.js';
import type { AccessScope } from '../tenants/scope.js';
import { ownsNamespace } from '../tenants/scope.js';
import type { SqlEngine } from './sql/sql-engine.js';

export interface ApiRoutesOptions {
  catalog: Catalog;
  /** The SQL endpoint's engine; without one, POST /api/v1/sql answers 503. */
  sql?: SqlEngine;
}

type TableParams = { Params: { namespace: string; table: string } };

const ERRORS = { 400: API_ERROR_SCHEMA, 401: API_ERROR_SCHEMA, 403: API_ERROR_SCHEMA, 404: API_ERROR_SCHEMA } as const;
const NUMBER_OR_NULL = { type: ['number', 'null'] } as const;
const STRING_OR_NULL = { type: ['string', 'null'] } as const;

const OVERVIEW_PROPERTIES = {
  table: { type: 'string' }, namespace: { type: 'array', items: { type: 'string' } }, name: { type: 'string' }, location: { type: 'string' },
  formatVersion: { type: 'integer' }, rows: NUMBER_OR_NULL, records: NUMBER_OR_NULL, dataFiles: NUMBER_OR_NULL, deleteFiles: NUMBER_OR_NULL,
  positionDeletes: NUMBER_OR_NULL, sizeBytes: NUMBER_OR_NULL, snapshotId: STRING_OR_NULL, snapshots: { type: 'integer' },
  lastCommitAt: STRING_OR_NULL, lastOperation: STRING_OR_NULL, secondsSinceCommit: { type: 'number' },
} as const;

const TABLE_PARAMS = {
  type: 'object',
  required: ['namespace', 'table'],
  properties: { namespace: { type: 'string', description: 'namespace levels joined by "."' }, table: { type: 'string' } },
} as const;

const SQL_BODY = {
  type: 'object',
  required: ['sql'],
  additionalProperties: false,
  properties: {
    sql: { type: 'string', minLength: 1, description: 'one SELECT (WITH, VALUES and set operations allowed) over the views: "<namespace>"."<table>", "<table>$snapshots", "<table>$history", "<table>$at_snapshot"(id), "<table>$as_of"(timestamp)' },
    maxRows: { type: 'integer', minimum: 1, description: 'row cap of this query (the server has a default and a maximum)' },
    timeoutMs: { type: 'integer', minimum: 1, description: 'time limit of this query in ms (the server has a default and a maximum)' },
  },
} as const;

const SQL_RESULT = {
  type: 'object',
  properties: {
    columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } } } },
    rows: { type: 'array', items: { type: 'array', items: {} } },
    rowCount: { type: 'integer' },
    truncated: { type: 'boolean', description: 'more rows matched than the row cap; only the first ones are here' },
    elapsedMs: { type: 'number' },
    snapshot: { type: 'object', properties: { asOf: { type: 'string' }, stale: { type: 'boolean' } }, description: 'the copy of the views file the query read' },
    limits: { type: 'object', properties: { maxRows: { type: 'integer' }, timeoutMs: { type: 'integer' } } },
  },
} as const;

function identifierOf(scope: AccessScope, params: { namespace: string; table: string }): TableIdentifier {
  const namespace = params.namespace.split('.');
  if (namespace.some((part) => part === '') || params.table === '') throw new ApiError(400, 'BadRequest', `"${params.namespace}.${params.table}" is not a table name`);
  const id = { namespace, name: params.table };
  if (!ownsNamespace(scope, namespace)) throw new ApiError(404, 'NotFound', `table ${formatIdentifier(id)} does not exist`);
  return id;
}

export async function apiRoutes(app: FastifyInstance, options: ApiRoutesOptions): Promise<void> {
  const { catalog } = options;
  const load = async (request: FastifyRequest<TableParams>): Promise<{ id: TableIdentifier; metadata: Awaited<ReturnType<Catalog['loadTable']>>['metadata'] }> => {
    const id = identifierOf(request.duckhouseScope!, request.params);
    return { id, metadata: (await catalog.loadTable(id)).metadata };
  };

  app.get('/api/v1/tables', {
    schema: {
      tags: ['tables'],
      summary: 'List tables',
      description: 'Every table the token may see (a tenant: its namespace), with live rows, files, size, snapshots and the last commit.',
      response: { 200: { type: 'object', properties: { tables: { type: 'array', items: { type: 'object', properties: OVERVIEW_PROPERTIES } } } }, ...ERRORS },
    } as object,
  }, async (request) => {
    const scope = request.duckhouseScope!;
    // tablesUnder answers [] for a namespace that does not exist (a tenant that has no table yet)
    const ids = await tablesUnder(catalog, scope.kind === 'tenant' ? scope.tenant.namespace : []);
    const now = Date.now();
    const tables = [];
    for (const id of ids) {
      try {
        tables.push(tableOverview(id, (await catalog.loadTable(id)).metadata, now));
      } catch (error) {
        if ((error as { kind?: string }).kind !== 'not-found') throw error; // dropped while listing
      }
    }
    return { tables };
  });

  app.get<TableParams>('/api/v1/tables/:namespace/:table', {
    schema: {
      tags: ['tables'],
      summary: 'Describe a table',
      description: 'Columns (with key columns), partitioning, sort order, properties and current state.',
      params: TABLE_PARAMS,
      response: { 200: { type: 'object', additionalProperties: true, properties: OVERVIEW_PROPERTIES }, ...ERRORS },
    } as object,
  }, async (request) => {
    const { id, metadata } = await load(request);
    return describeTable(id, metadata, Date.now());
  });

  app.get<TableParams>('/api/v1/tables/:namespace/:table/snapshots', {
    schema: {
      tags: ['tables'],
      summary: 'Snapshots of a table',
      description: 'Every retained snapshot, newest first: operation, rows and files added and removed, totals, summary.',
      params: TABLE_PARAMS,
      response: { 200: { type: 'object', properties: { table: { type: 'string' }, snapshots: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...ERRORS },
    } as object,
  }, async (request) => {
    const { id, metadata } = await load(request);
    return { table: formatIdentifier(id), snapshots: tableSnapshots(metadata) };
  });

  app.get<TableParams>('/api/v1/tables/:namespace/:table/history', {
    schema: {
      tags: ['tables'],
      summary: 'History of a table',
      description: 'When each snapshot became current, newest first; isCurrentAncestor is false for snapshots rolled back.',
      params: TABLE_PARAMS,
      response: {
        200: {
          type: 'object',
          properties: {
            table: { type: 'string' },
            history: { type: 'array', items: { type: 'object', properties: { madeCurrentAt: { type: 'string' }, snapshotId: { type: 'string' }, parentId: STRING_OR_NULL, isCurrentAncestor: { type: 'boolean' }, operation: STRING_OR_NULL } } },
          },
        },
        ...ERRORS,
      },
    } as object,
  }, async (request) => {
    const { id, metadata } = await load(request);
    return { table: formatIdentifier(id), history: tableHistory(metadata) };
  });

  app.post<{ Body: { sql: string; maxRows?: number; timeoutMs?: number } }>('/api/v1/sql', {
    schema: {
      tags: ['sql'],
      summary: 'Run a read-only SQL query over the DuckDB views',
      description: 'One SELECT over the views of the tables the token may read (a tenant: its own schema). Refused, with a message saying why: other statements (ATTACH, COPY, INSTALL, SET, PRAGMA, DDL, DML), several statements, file-reading functions and paths, DuckDB settings and catalog functions, other tenants\' tables. Each query has a time limit and a row cap; `truncated` says when rows were cut. Queries read a consistent copy of the views file; `snapshot.stale` is true while a refresh or dbt run holds the live file.',
      body: SQL_BODY,
      response: { 200: SQL_RESULT, ...ERRORS, 422: API_ERROR_SCHEMA, 503: API_ERROR_SCHEMA },
    } as object,
  }, async (request, reply) => {
    if (!options.sql) throw new ApiError(503, 'ServiceUnavailable', 'this server runs without the SQL endpoint (no views file configured)');
    const abort = new AbortController();
    // the response closing before it was written means the client went away: stop the query
    const onClose = (): void => {
      if (!reply.raw.writableEnded) abort.abort();
    };
    reply.raw.once('close', onClose);
    try {
      return await options.sql.query(request.body.sql, {
        scope: request.duckhouseScope!,
        ...(request.body.maxRows === undefined ? {} : { maxRows: request.body.maxRows }),
        ...(request.body.timeoutMs === undefined ? {} : { timeoutMs: request.body.timeoutMs }),
        signal: abort.signal,
      });
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
