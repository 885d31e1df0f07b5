// Interop test support: Trino (the stack's optional `trino` component) as an independent reader. Runs a query through
// the `trino-client` package and returns rows as plain JS values, and creates/drops dynamic Iceberg catalogs that
// point at a DuckHouse SqlCatalog (Trino's JDBC catalog) or at a REST catalog server (uri + bearer token).
// Must never: leave a catalog behind on purpose (callers drop what they create), or lose precision silently (a
// bigint beyond 2^53 throws: JSON numbers cannot carry it; CAST it to VARCHAR).
import { Trino } from 'trino-client';
import type { QueryResult } from 'trino-client';
import { DuckHouseError, StackError } from '../../src/shared/errors.js';
import { endpoints, uniqueName } from '../integration/helpers.js';

export interface TrinoColumn {
  name: string;
  /** Trino's type text, e.g. `bigint`, `varchar`, `timestamp(6) with time zone`, `decimal(10, 2)`. */
  type: string;
}

export interface TrinoResult {
  columns: TrinoColumn[];
  rows: Record<string, unknown>[];
}

const USER = 'duckhouse-test';

/** The stack's Trino: stack.json's `trino.url` (older stack.json files lack it: the default port then). */
export function trinoUrl(): string {
  return endpoints().trino?.url ?? 'http://127.0.0.1:18080';
}

/** Throws a StackError saying how to start Trino unless it answers and has finished starting. */
export async function assertTrinoUp(): Promise<void> {
  const url = trinoUrl();
  const howTo = 'start it with `node bin/duckhouse.js stack up --with trino` (or `npm run test:trino`)';
  let info: { starting?: boolean } | undefined;
  try {
    const response = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(5000) });
    if (response.ok) info = (await response.json()) as { starting?: boolean };
  } catch (cause) {
    throw new StackError('trino', `Trino does not answer at ${url}: ${howTo}`, { cause });
  }
  if (!info) throw new StackError('trino', `Trino at ${url} answered /v1/info with an error: ${howTo}`);
  if (info.starting !== false) throw new StackError('trino', `Trino at ${url} is still starting: wait for \`stack up --with trino\` to finish`);
}

let client: Trino | undefined;

function trinoClient(): Trino {
  client ??= Trino.create({
    server: trinoUrl(),
    source: 'duckhouse-interop-test',
    // Without this capability Trino rounds timestamps to milliseconds for the client's sake.
    extraHeaders: { 'X-Trino-Client-Capabilities': 'PARAMETRIC_DATETIME' },
  });
  return client;
}

/** A value of Trino's JSON protocol as a plain JS value: bigint → BigInt, numbers → number, everything else as sent. */
export function fromTrino(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'bigint') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new DuckHouseError('data-invalid', `a bigint from Trino (${String(value)}) is beyond 2^53 and lost precision in JSON; CAST the column to VARCHAR`);
    }
    return BigInt(value);
  }
  if ((type === 'double' || type === 'real') && typeof value === 'string') return Number(value); // NaN, Infinity
  return value;
}

/** Runs one statement and returns its rows, each an object keyed by column name. Throws Trino's error message. */
export async function trinoQuery(sql: string, options: { catalog?: string; schema?: string } = {}): Promise<TrinoResult> {
  let iterator: Awaited<ReturnType<Trino['query']>>;
  try {
    iterator = await trinoClient().query({ query: sql, user: USER, ...options });
  } catch (cause) {
    throw new DuckHouseError('io', `Trino at ${trinoUrl()} refused the query: ${String((cause as Error).message)}\n  ${sql}`, { cause });
  }
  let columns: TrinoColumn[] | undefined;
  const data: unknown[][] = [];
  let last: QueryResult | undefined;
  for (;;) {
    const step = await iterator.next();
    const value = step.value as QueryResult | undefined;
    // The iterator repeats the last page when it ends: take each page once.
    if (value && value !== last) {
      last = value;
      if (value.error) {
        throw new DuckHouseError('io', `Trino: ${value.error.errorName}: ${value.error.message}\n  ${sql}`, { context: { queryId: value.id } });
      }
      columns ??= value.columns?.map((c) => ({ name: c.name, type: c.type }));
      if (value.data) data.push(...(value.data as unknown[][]));
    }
    if (step.done) break;
  }
  const cols = columns ?? [];
  const rows = data.map((row) => Object.fromEntries(cols.map((c, i) => [c.name, fromTrino(row[i], c.type)])));
  return { columns: cols, rows };
}

const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** The connector properties that let Trino read the stack's MinIO with its native S3 file system. */
export function s3Properties(): Record<string, string> {
  const s3 = endpoints().s3;
  return {
    'fs.native-s3.enabled': 'true',
    's3.endpoint': s3.endpoint,
    's3.path-style-access': 'true',
    's3.aws-access-key': s3.accessKeyId,
    's3.aws-secret-key': s3.secretAccessKey,
    's3.region': s3.region,
  };
}

export interface TrinoCatalog {
  /** The Trino catalog name, for `<name>.<schema>.<table>`. */
  readonly name: string;
  /** `"<catalog>"."<namespace>"."<table>"`, quoted. */
  table(namespace: readonly string[], table: string): string;
  drop(): Promise<void>;
}

/** Creates a dynamic Iceberg catalog (CREATE CATALOG … USING iceberg WITH …) with a random name. */
export async function createIcebergCatalog(properties: Record<string, string>, prefix = 'dh'): Promise<TrinoCatalog> {
  const name = uniqueName(prefix).replace('-', '_');
  const withList = Object.entries(properties)
    .map(([key, value]) => `"${key}" = ${literal(value)}`)
    .join(', ');
  await trinoQuery(`CREATE CATALOG "${name}" USING iceberg WITH (${withList})`);
  return {
    name,
    table: (namespace, table) => `"${name}"."${namespace.join('.')}"."${table}"`,
    drop: async () => {
      await trinoQuery(`DROP CATALOG IF EXISTS "${name}"`);
    },
  };
}

/**
 * A catalog over a DuckHouse SqlCatalog on the stack's Postgres: Trino's JDBC catalog with the same catalog name
 * (`iceberg_tables.catalog_name`), reading table files from the stack's MinIO.
 */
export function createJdbcCatalog(options: { sqlCatalogName: string; warehouse: string }): Promise<TrinoCatalog> {
  const pg = endpoints().postgres;
  return createIcebergCatalog(
    {
      'iceberg.catalog.type': 'jdbc',
      'iceberg.jdbc-catalog.driver-class': 'org.postgresql.Driver',
      'iceberg.jdbc-catalog.connection-url': `jdbc:postgresql://${pg.host}:${pg.port}/${pg.database}`,
      'iceberg.jdbc-catalog.connection-user': pg.user,
      'iceberg.jdbc-catalog.connection-password': pg.password,
      'iceberg.jdbc-catalog.catalog-name': options.sqlCatalogName,
      'iceberg.jdbc-catalog.default-warehouse-dir': options.warehouse,
      ...s3Properties(),
    },
    'dh_jdbc',
  );
}

/** A catalog over an Iceberg REST catalog server, authenticated with a bearer token (OAUTH2 with a fixed token). */
export function createRestCatalog(options: { uri: string; token: string; warehouse?: string }): Promise<TrinoCatalog> {
  return createIcebergCatalog(
    {
      'iceberg.catalog.type': 'rest',
      'iceberg.rest-catalog.uri': options.uri,
      'iceberg.rest-catalog.security': 'OAUTH2',
      'iceberg.rest-catalog.oauth2.token': options.token,
      ...(options.warehouse ? { 'iceberg.rest-catalog.warehouse': options.warehouse } : {}),
      ...s3Properties(),
    },
    'dh_rest',
  );
}
