// Catalog setups for benchmarks (the same shapes as test/integration/catalog-fixtures.ts, which bench code must not
// import): the embedded catalog on a local temp dir or on MinIO, and the SQL catalog on Postgres with a MinIO
// warehouse, built from the running stack's endpoints (stack.json). Every setup gets a random catalog name / prefix.
// Must never: touch anything outside what it created; cleanup() removes exactly that (temp dir, S3 prefix, catalog rows).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Catalog } from '../src/catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../src/catalog/catalogs/embedded-catalog.js';
import { SqlCatalog } from '../src/catalog/catalogs/sql-catalog.js';
import { LocalFileIO } from '../src/catalog/io/local-file-io.js';
import { S3FileIO } from '../src/catalog/io/s3-file-io.js';
import { readEndpoints } from '../src/stack/config.js';
import { TimedFileIO } from './timed-file-io.js';

export type BenchCatalogKind = 'embedded-local' | 'embedded-s3' | 'sql-s3';

export const BENCH_CATALOG_LABELS: Record<BenchCatalogKind, string> = {
  'embedded-local': 'embedded catalog, local disk',
  'embedded-s3': 'embedded catalog, MinIO (S3)',
  'sql-s3': 'SQL catalog (Postgres), MinIO warehouse',
};

export interface BenchCatalog {
  readonly kind: BenchCatalogKind;
  readonly catalog: Catalog;
  readonly warehouse: string;
  /** The catalog's FileIO, counting calls and time per operation. */
  readonly io: TimedFileIO;
  /** Removes everything this setup created (and closes the catalog). */
  cleanup(): Promise<void>;
}

/** `<prefix>-<10 random hex digits>`. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** An embedded catalog on local disk; `dir` is used as the warehouse (a new temp dir when omitted, removed by cleanup). */
export async function localCatalog(dir?: string): Promise<BenchCatalog> {
  const root = dir ?? (await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-wh-')));
  const warehouse = `file://${root}`;
  const io = new TimedFileIO(new LocalFileIO());
  const catalog = new EmbeddedCatalog({ warehouse, io });
  return {
    kind: 'embedded-local',
    catalog,
    warehouse,
    io,
    cleanup: async () => {
      await catalog.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export async function benchCatalog(kind: BenchCatalogKind): Promise<BenchCatalog> {
  if (kind === 'embedded-local') return localCatalog();
  const endpoints = readEndpoints();
  const s3 = endpoints.s3;
  const warehouse = `s3://${s3.bucket}/${randomName('bench-wh')}`;
  const io = new TimedFileIO(new S3FileIO({ clientOptions: s3 }));
  const p = endpoints.postgres;
  const connection: pg.PoolConfig = { host: p.host, port: p.port, user: p.user, password: p.password, database: p.database };
  const name = randomName('bench').replace('-', '_');
  const catalog = kind === 'embedded-s3' ? new EmbeddedCatalog({ warehouse, io }) : new SqlCatalog({ name, warehouse, io, connection });
  return {
    kind,
    catalog,
    warehouse,
    io,
    cleanup: async () => {
      try {
        if (kind === 'sql-s3') await deleteCatalogRows(connection, name);
        const files: string[] = [];
        for await (const file of io.list(`${warehouse}/`)) files.push(file.location);
        await io.deleteMany(files);
      } finally {
        await catalog.close();
      }
    },
  };
}

async function deleteCatalogRows(connection: pg.PoolConfig, name: string): Promise<void> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    await client.query('DELETE FROM iceberg_tables WHERE catalog_name = $1', [name]);
    await client.query('DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1', [name]);
  } finally {
    await client.end();
  }
}
