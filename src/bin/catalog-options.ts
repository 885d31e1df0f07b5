// How a command line reaches the Iceberg catalog: `--catalog sql` (Postgres, the JDBC layout Trino and PyIceberg read;
// the default, on the running stack's Postgres) or `--catalog embedded` (metadata pointers in the warehouse), and
// `--warehouse` (default: the stack's MinIO bucket, `s3://<bucket>/warehouse`; or `file:///path`).
// Must never: print credentials.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Catalog } from '../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalog/catalogs/embedded-catalog.js';
import { SqlCatalog } from '../catalog/catalogs/sql-catalog.js';
import { fileIOFor } from '../catalog/io/resolve-file-io.js';
import type { StackEndpoints } from '../stack/config.js';

export interface CatalogFlags {
  catalog: 'sql' | 'embedded';
  catalogName: string;
  warehouse?: string;
}

export function addCatalogOptions(command: Command): Command {
  return command
    .addOption(new Option('--catalog <kind>', 'Iceberg catalog: sql (Postgres, JDBC layout) or embedded (pointer files in the warehouse)').choices(['sql', 'embedded']).default('sql'))
    .option('--catalog-name <name>', 'the SQL catalog name (PyIceberg/Trino use the same)', 'duckhouse')
    .option('--warehouse <uri>', 'table storage: s3://bucket/prefix or file:///path (default: the stack bucket, s3://<bucket>/warehouse)');
}

/** The warehouse a command uses when none is given. */
export const defaultWarehouse = (stack: StackEndpoints): string => `s3://${stack.s3.bucket}/warehouse`;

export function openCatalog(flags: CatalogFlags, stack: StackEndpoints): Catalog {
  const warehouse = flags.warehouse ?? defaultWarehouse(stack);
  const { endpoint, region, accessKeyId, secretAccessKey } = stack.s3;
  const io = fileIOFor(warehouse, { s3: { clientOptions: { endpoint, region, accessKeyId, secretAccessKey } } });
  if (flags.catalog === 'embedded') return new EmbeddedCatalog({ warehouse, io });
  const { host, port, user, password, database } = stack.postgres;
  return new SqlCatalog({ name: flags.catalogName, warehouse, io, connection: { host, port, user, password, database } });
}
