// Catalog setups for integration tests: the embedded catalog on local disk and on MinIO, and the SQL catalog on
// Postgres with a MinIO warehouse; each with a random catalog name / prefix so runs never collide, and a cleanup.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Catalog } from '../../src/catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../../src/catalog/catalogs/embedded-catalog.js';
import { SqlCatalog } from '../../src/catalog/catalogs/sql-catalog.js';
import { LocalFileIO } from '../../src/catalog/io/local-file-io.js';
import { S3FileIO } from '../../src/catalog/io/s3-file-io.js';
import { endpoints, uniqueName } from './helpers.js';

export type CatalogKind = 'embedded-local' | 'embedded-s3' | 'sql-s3' | 'sql-local';

export interface CatalogFixture {
  kind: CatalogKind;
  catalog: Catalog;
  warehouse: string;
  /** How PyIceberg reaches the same catalog and files. */
  pyiceberg: { uri?: string; catalog?: string; s3?: Record<string, string> };
  cleanup(): Promise<void>;
}

export function postgresUri(): string {
  const p = endpoints().postgres;
  return `postgresql+psycopg2://${encodeURIComponent(p.user)}:${encodeURIComponent(p.password)}@${p.host}:${p.port}/${p.database}`;
}

export function pgConfig(): pg.PoolConfig {
  const p = endpoints().postgres;
  return { host: p.host, port: p.port, user: p.user, password: p.password, database: p.database };
}

function s3Props(): Record<string, string> {
  const s3 = endpoints().s3;
  return { 's3.endpoint': s3.endpoint, 's3.access-key-id': s3.accessKeyId, 's3.secret-access-key': s3.secretAccessKey, 's3.region': s3.region };
}

export async function catalogFixture(kind: CatalogKind): Promise<CatalogFixture> {
  const s3 = endpoints().s3;
  const name = uniqueName('cat').replace('-', '_');
  if (kind === 'embedded-local' || kind === 'sql-local') {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-wh-'));
    const warehouse = `file://${dir}`;
    const io = new LocalFileIO();
    const catalog = kind === 'embedded-local' ? new EmbeddedCatalog({ warehouse, io }) : new SqlCatalog({ name, warehouse, io, connection: pgConfig() });
    return {
      kind,
      catalog,
      warehouse,
      pyiceberg: kind === 'sql-local' ? { uri: postgresUri(), catalog: name } : {},
      cleanup: async () => {
        await cleanupSql(kind, name);
        await catalog.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const warehouse = `s3://${s3.bucket}/${uniqueName('wh')}`;
  const io = new S3FileIO({ clientOptions: s3 });
  const catalog = kind === 'embedded-s3' ? new EmbeddedCatalog({ warehouse, io }) : new SqlCatalog({ name, warehouse, io, connection: pgConfig() });
  return {
    kind,
    catalog,
    warehouse,
    pyiceberg: { s3: s3Props(), ...(kind === 'sql-s3' ? { uri: postgresUri(), catalog: name } : {}) },
    cleanup: async () => {
      await cleanupSql(kind, name);
      const files: string[] = [];
      for await (const file of io.list(`${warehouse}/`)) files.push(file.location);
      await io.deleteMany(files);
      await catalog.close();
    },
  };
}

async function cleanupSql(kind: CatalogKind, name: string): Promise<void> {
  if (!kind.startsWith('sql')) return;
  const client = new pg.Client(pgConfig());
  await client.connect();
  try {
    await client.query('DELETE FROM iceberg_tables WHERE catalog_name = $1', [name]);
    await client.query('DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1', [name]);
  } finally {
    await client.end();
  }
}
