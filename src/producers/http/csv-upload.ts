// `POST /api/v1/tables/{namespace}/{table}/csv`: a CSV upload over HTTP, streamed into the table's Kafka topic by the
// same CSV producer as `duckhouse produce csv` (schema inference or the registered schema, keys, deletes, the file
// ledger, the dead-letter topic). The body is spooled to a temporary file while it is hashed (the ledger needs the
// whole file's SHA-256 before sending), bounded by `maxBytes`; the answer gives the counts and the first rejects with
// their line and reason. Rows become visible once the sink commits them.
// Must never: accept a table outside the caller's tenant, keep the spooled file after the request, or let an upload
// past the size limit reach Kafka.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kafka } from 'kafkajs';
import type { AccessScope } from '../../tenants/scope.js';
import { ownsNamespace, ownsTopic } from '../../tenants/scope.js';
import type { DeadLetter } from '../dead-letter.js';
import { dlqTopic, tableTopic } from '../kafka/client.js';
import { produceCsv } from '../csv/csv-producer.js';
import type { CsvInput } from '../csv/row-encoder.js';
import { prepareCsvInput } from '../csv/row-encoder.js';
import { ApiError, API_ERROR_SCHEMA } from '../../shared/api-error.js';

export interface CsvUploadOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** Topic prefix: topics are `<prefix>.<namespace>.<table>` (default duckhouse). */
  prefix?: string;
  /** Largest body accepted (default 1 GiB). */
  maxBytes?: number;
  /** Uploads sent at once; more get 429 (default 2). */
  maxConcurrent?: number;
  /** Rejects listed in the answer (all of them are on the dead-letter topic; default 100). */
  maxRejectsShown?: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/octet-stream'];

const QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { type: 'string', description: 'comma-separated key columns: a row with an existing key is an upsert' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',' },
    opColumn: { type: 'string', description: 'a column whose value d/delete marks a delete (needs key)' },
    nullValue: { type: 'string', default: '', description: 'the text that means null' },
    partitions: { type: 'integer', minimum: 1, maximum: 1000, default: 4, description: 'partitions of a new table topic' },
    force: { type: 'boolean', default: false, description: 'send a file that was completed before again' },
    name: { type: 'string', maxLength: 200, description: 'the file name used in dead letters and the ledger (default upload.csv)' },
  },
} as const;

const RESULT_SCHEMA = {
  type: 'object',
  properties: {
    table: { type: 'string' },
    topic: { type: 'string' },
    status: { type: 'string', enum: ['completed', 'already-completed'] },
    sha256: { type: 'string' },
    bytes: { type: 'integer' },
    rows: { type: 'integer', description: 'data rows read (header excluded)' },
    sent: { type: 'integer', description: 'rows sent to Kafka (upserts and deletes)' },
    deletes: { type: 'integer' },
    rejected: { type: 'integer' },
    rejects: {
      type: 'array',
      items: { type: 'object', properties: { line: { type: ['integer', 'null'] }, column: { type: ['string', 'null'] }, kind: { type: 'string' }, message: { type: 'string' } } },
    },
    rejectsTopic: { type: 'string' },
    columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' }, origin: { type: 'string' } } } },
    seconds: { type: 'number' },
    note: { type: 'string' },
  },
} as const;

interface UploadQuery {
  key?: string;
  delimiter: string;
  opColumn?: string;
  nullValue: string;
  partitions: number;
  force: boolean;
  name?: string;
}

/** Counts bytes through the spool and fails the stream past `max` (the request then gets 413). */
function sizeLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) callback(new ApiError(413, 'PayloadTooLarge', `the upload is larger than the limit of ${max.toLocaleString('en-US')} bytes (serve --max-upload)`));
      else callback(null, chunk);
    },
  });
}

function checkTable(scope: AccessScope, prefix: string, namespace: string, table: string): string {
  for (const [what, value] of [['namespace', namespace], ['table', table]] as const) {
    if (!NAME.test(value)) throw new ApiError(400, 'BadRequest', `${what} "${value}" is not valid: use letters, digits, _ and -`);
  }
  const topic = tableTopic(prefix, namespace, table);
  if (!ownsNamespace(scope, [namespace]) || !ownsTopic(scope, topic)) {
    throw new ApiError(403, 'Forbidden', `this token may not write to ${namespace}.${table}${scope.kind === 'tenant' ? `: tenant ${scope.tenant.id} writes to tables in namespace ${scope.tenant.id}` : ''}`);
  }
  return topic;
}

export async function csvUploadRoutes(app: FastifyInstance, options: CsvUploadOptions): Promise<void> {
  const prefix = options.prefix ?? 'duckhouse';
  const maxBytes = options.maxBytes ?? 1024 ** 3;
  const maxConcurrent = options.maxConcurrent ?? 2;
  const shownMax = options.maxRejectsShown ?? 100;
  let running = 0;

  // The body stays a stream: the handler spools it (fastify's own parsers would buffer it whole).
  for (const type of CSV_TYPES) {
    if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }

  app.post<{ Params: { namespace: string; table: string }; Querystring: UploadQuery }>('/api/v1/tables/:namespace/:table/csv', {
    schema: {
      tags: ['tables'],
      summary: 'Upload a CSV file into a table',
      description: 'Streams the body (a CSV file with a header row) into the table\'s Kafka topic as keyed Avro change events, through the CSV producer. Answers with counts and the first rejects (all rejects are on the dead-letter topic with their line and reason). The rows appear in the table when the sink commits them, usually within seconds. Send the same file again to get `already-completed` without duplicates, or `force=true` to send it again.',
      params: { type: 'object', properties: { namespace: { type: 'string' }, table: { type: 'string' } }, required: ['namespace', 'table'] },
      querystring: QUERY_SCHEMA,
      consumes: CSV_TYPES,
      response: { 200: RESULT_SCHEMA, 400: API_ERROR_SCHEMA, 401: API_ERROR_SCHEMA, 403: API_ERROR_SCHEMA, 413: API_ERROR_SCHEMA, 429: API_ERROR_SCHEMA, 503: API_ERROR_SCHEMA },
    } as object,
  }, async (request: FastifyRequest<{ Params: { namespace: string; table: string }; Querystring: UploadQuery }>) => {
    const { namespace, table } = request.params;
    const topic = checkTable(request.duckhouseScope!, prefix, namespace, table);
    const body = request.body as NodeJS.ReadableStream | undefined;
    if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
      throw new ApiError(415, 'UnsupportedMediaType', `send the CSV file as the request body with Content-Type ${CSV_TYPES[0]}`);
    }
    if (running >= maxConcurrent) throw new ApiError(429, 'TooManyRequests', `${running} uploads are running (serve --max-uploads ${maxConcurrent}); retry shortly`, 5);
    running++;
    let input: CsvInput | undefined;
    try {
      const query = request.query;
      const limited = sizeLimit(maxBytes);
      body.on('error', (error: Error) => limited.destroy(error));
      const spooled = await prepareCsvInput('-', body.pipe(limited));
      input = { ...spooled, name: query.name ? path.basename(query.name) : 'upload.csv' };
      const rejects: DeadLetter[] = [];
      const result = await produceCsv(options.kafka, options.registry, {
        input,
        namespace,
        table,
        ...(query.key ? { keyColumns: query.key.split(',').map((k) => k.trim()).filter(Boolean) } : {}),
        delimiter: query.delimiter,
        ...(query.opColumn ? { opColumn: query.opColumn } : {}),
        nullValue: query.nullValue,
        topicPrefix: prefix,
        partitions: query.partitions,
        force: query.force,
        onReject: (letter) => {
          if (rejects.length < shownMax) rejects.push(letter);
        },
      });
      request.log.info({ table: `${namespace}.${table}`, topic, rows: result.rows, sent: result.sent, rejected: result.rejected, status: result.status }, 'csv upload');
      return {
        table: `${namespace}.${table}`,
        topic,
        status: result.status,
        sha256: result.sha256,
        bytes: input.bytes,
        rows: result.rows,
        sent: result.sent,
        deletes: result.deletes,
        rejected: result.rejected,
        rejects: rejects.map((r) => ({ line: r.line, column: r.column, kind: r.kind, message: r.message })),
        rejectsTopic: dlqTopic(prefix),
        columns: result.columns,
        seconds: result.seconds,
        note: result.status === 'already-completed'
          ? `this file was already sent on ${result.previous?.updatedAt ?? 'an earlier upload'}; nothing was sent (force=true sends it again)`
          : `rows appear in ${namespace}.${table} when the sink commits them`,
      };
    } finally {
      running--;
      if (input) await rm(path.dirname(input.path), { recursive: true, force: true }).catch(() => undefined);
    }
  });
}
