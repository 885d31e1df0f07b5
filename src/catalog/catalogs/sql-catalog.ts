// The SQL catalog on Postgres, in the Iceberg JDBC catalog's table layout (`iceberg_tables`,
// `iceberg_namespace_properties`), so PyIceberg's SQL catalog and Trino's JDBC catalog read the same tables.
// The pointer swap is `UPDATE … WHERE metadata_location = <expected>`: one row updated means we won.
// Must never: build SQL by string concatenation of names (always parameters), or delete files on drop without purge.
import pg from 'pg';
import { FileExistsError, NotFoundError } from '../../shared/errors.js';
import { withAdvisoryLock, withTransaction } from '../../shared/postgres.js';
import type { FileIO } from '../io/file-io.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';
import { purgeTableFiles } from '../read/reachable-files.js';
import type { Catalog, CreateTableOptions, Namespace, NamespacePropertiesChange, Table, TableIdentifier } from './catalog.js';
import {
  commitWithSwap,
  planNamespacePropertiesChange,
  prepareNewTable,
  formatIdentifier,
  formatNamespace,
  readTableMetadata,
  validateIdentifier,
  validateNamespace,
} from './catalog.js';

export interface SqlCatalogOptions {
  /** The catalog_name column: PyIceberg's catalog name and Trino's `iceberg.jdbc-catalog.catalog-name` must match. */
  name: string;
  warehouse: string;
  io: FileIO;
  /** A pg pool, or settings to make one. */
  pool?: pg.Pool;
  connection?: pg.PoolConfig;
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS iceberg_tables (
  catalog_name VARCHAR(255) NOT NULL,
  table_namespace VARCHAR(255) NOT NULL,
  table_name VARCHAR(255) NOT NULL,
  metadata_location VARCHAR(1000),
  previous_metadata_location VARCHAR(1000),
  iceberg_type VARCHAR(5),
  PRIMARY KEY (catalog_name, table_namespace, table_name)
);
CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
  catalog_name VARCHAR(255) NOT NULL,
  namespace VARCHAR(255) NOT NULL,
  property_key VARCHAR(255) NOT NULL,
  property_value VARCHAR(1000),
  PRIMARY KEY (catalog_name, namespace, property_key)
);`;

/** Postgres unique violation: the row exists already. */
const UNIQUE_VIOLATION = '23505';

export class SqlCatalog implements Catalog {
  readonly name: string;
  readonly io: FileIO;
  readonly warehouse: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private ready: Promise<boolean> | undefined;

  constructor(options: SqlCatalogOptions) {
    this.name = options.name;
    this.io = options.io;
    this.warehouse = options.warehouse.replace(/\/+$/, '');
    this.ownsPool = !options.pool;
    this.pool = options.pool ?? new pg.Pool({ max: 4, ...options.connection });
  }

  /** Creates the two tables if missing; remembers whether `iceberg_type` exists (Java's V1 layout). */
  private init(): Promise<boolean> {
    this.ready ??= (async () => {
      // Two catalogs starting at once may both try CREATE TABLE: an advisory lock serialises them.
      return withAdvisoryLock(this.pool, 'duckhouse-iceberg-catalog-init', async (client) => {
        await client.query(SCHEMA_SQL);
        const cols = await client.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'iceberg_tables' AND column_name = 'iceberg_type'");
        return (cols.rowCount ?? 0) > 0;
      });
    })();
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.init();
    return this.pool.query<R>(sql, params);
  }

  async createNamespace(namespace: Namespace, properties: Record<string, string> = {}): Promise<void> {
    validateNamespace(namespace);
    if (await this.namespaceExists(namespace)) throw new FileExistsError(`namespace ${formatNamespace(namespace)} already exists`);
    const rows = Object.entries({ exists: 'true', ...properties });
    try {
      await withTransaction(this.pool, async (client) => {
        for (const [key, value] of rows) {
          await client.query('INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES ($1, $2, $3, $4)', [this.name, formatNamespace(namespace), key, value]);
        }
      });
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new FileExistsError(`namespace ${formatNamespace(namespace)} already exists`, { cause: error });
      throw error;
    }
  }

  async listNamespaces(parent: Namespace = []): Promise<Namespace[]> {
    const result = await this.query<{ ns: string }>(
      'SELECT DISTINCT table_namespace AS ns FROM iceberg_tables WHERE catalog_name = $1 UNION SELECT DISTINCT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1',
      [this.name],
    );
    const found = new Map<string, Namespace>();
    for (const { ns } of result.rows) {
      const parts = ns.split('.');
      if (parts.length > parent.length && parent.every((p, i) => parts[i] === p)) {
        const child = parts.slice(0, parent.length + 1);
        found.set(child.join('.'), child);
      }
    }
    return [...found.values()].sort((a, b) => a.join('.').localeCompare(b.join('.')));
  }

  async namespaceExists(namespace: Namespace): Promise<boolean> {
    const ns = formatNamespace(namespace);
    const result = await this.query(
      'SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2 UNION ALL SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 LIMIT 1',
      [this.name, ns],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>> {
    if (!(await this.namespaceExists(namespace))) throw new NotFoundError(`namespace ${formatNamespace(namespace)} does not exist`);
    const result = await this.query<{ property_key: string; property_value: string }>(
      'SELECT property_key, property_value FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2',
      [this.name, formatNamespace(namespace)],
    );
    return Object.fromEntries(result.rows.map((r) => [r.property_key, r.property_value]));
  }

  async updateNamespaceProperties(namespace: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>): Promise<NamespacePropertiesChange> {
    const change = planNamespacePropertiesChange(await this.loadNamespaceProperties(namespace), removals, updates);
    const ns = formatNamespace(namespace);
    await withTransaction(this.pool, async (client) => {
      for (const key of change.removed) {
        await client.query('DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2 AND property_key = $3', [this.name, ns, key]);
      }
      for (const [key, value] of Object.entries(updates)) {
        await client.query(
          `INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (catalog_name, namespace, property_key) DO UPDATE SET property_value = EXCLUDED.property_value`,
          [this.name, ns, key, value],
        );
      }
    });
    return change;
  }

  async dropNamespace(namespace: Namespace): Promise<void> {
    if (!(await this.namespaceExists(namespace))) throw new NotFoundError(`namespace ${formatNamespace(namespace)} does not exist`);
    const tables = await this.listTables(namespace);
    if (tables.length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} is not empty: it has ${tables.map(formatIdentifier).join(', ')}`);
    if ((await this.listNamespaces(namespace)).length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} has child namespaces`);
    await this.query('DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2', [this.name, formatNamespace(namespace)]);
  }

  private async pointer(id: TableIdentifier): Promise<string | undefined> {
    const result = await this.query<{ metadata_location: string | null }>(
      'SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3',
      [this.name, formatNamespace(id.namespace), id.name],
    );
    return result.rows[0]?.metadata_location ?? undefined;
  }

  private async insertPointer(id: TableIdentifier, metadataLocation: string): Promise<void> {
    const hasType = await this.init();
    try {
      await this.pool.query(
        hasType
          ? "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type) VALUES ($1, $2, $3, $4, NULL, 'TABLE')"
          : 'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location) VALUES ($1, $2, $3, $4, NULL)',
        [this.name, formatNamespace(id.namespace), id.name, metadataLocation],
      );
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new FileExistsError(`table ${formatIdentifier(id)} already exists`, { cause: error });
      throw error;
    }
  }

  async tableExists(id: TableIdentifier): Promise<boolean> {
    return (await this.pointer(id)) !== undefined;
  }

  async createTable(id: TableIdentifier, options: CreateTableOptions): Promise<Table> {
    const { metadata, metadataLocation } = await prepareNewTable(this, this.warehouse, id, options);
    try {
      await this.insertPointer(id, metadataLocation);
    } catch (error) {
      if (error instanceof FileExistsError) await this.io.delete(metadataLocation).catch(() => undefined);
      throw error;
    }
    return { identifier: id, metadata, metadataLocation, io: this.io };
  }

  async loadTable(id: TableIdentifier): Promise<Table> {
    const location = await this.pointer(id);
    if (!location) throw new NotFoundError(`table ${formatIdentifier(id)} does not exist in catalog "${this.name}"`);
    return { identifier: id, metadata: await readTableMetadata(this.io, location), metadataLocation: location, io: this.io };
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const result = await this.query<{ table_name: string }>(
      'SELECT table_name FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 ORDER BY table_name',
      [this.name, formatNamespace(namespace)],
    );
    return result.rows.map((r) => ({ namespace: [...namespace], name: r.table_name }));
  }

  async dropTable(id: TableIdentifier, options: { purge?: boolean } = {}): Promise<void> {
    const table = options.purge ? await this.loadTable(id) : undefined;
    const result = await this.query('DELETE FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3', [this.name, formatNamespace(id.namespace), id.name]);
    if ((result.rowCount ?? 0) === 0) throw new NotFoundError(`table ${formatIdentifier(id)} does not exist`);
    if (table) await purgeTableFiles(table);
  }

  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    validateIdentifier(to);
    if (!(await this.namespaceExists(to.namespace))) throw new NotFoundError(`cannot rename to ${formatIdentifier(to)}: namespace ${formatNamespace(to.namespace)} does not exist`);
    try {
      const result = await this.query(
        'UPDATE iceberg_tables SET table_namespace = $4, table_name = $5 WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3',
        [this.name, formatNamespace(from.namespace), from.name, formatNamespace(to.namespace), to.name],
      );
      if ((result.rowCount ?? 0) === 0) throw new NotFoundError(`table ${formatIdentifier(from)} does not exist`);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new FileExistsError(`cannot rename ${formatIdentifier(from)}: ${formatIdentifier(to)} already exists`, { cause: error });
      throw error;
    }
  }

  async registerTable(id: TableIdentifier, metadataLocation: string): Promise<Table> {
    validateIdentifier(id);
    if (!(await this.namespaceExists(id.namespace))) throw new NotFoundError(`cannot register ${formatIdentifier(id)}: namespace ${formatNamespace(id.namespace)} does not exist`);
    const metadata = await readTableMetadata(this.io, metadataLocation);
    await this.insertPointer(id, metadataLocation);
    return { identifier: id, metadata, metadataLocation, io: this.io };
  }

  async commitTable(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<Table> {
    const table = await this.loadTable(id);
    return commitWithSwap(table, requirements, updates, async (next, expected) => {
      const result = await this.pool.query(
        'UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5 WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5',
        [this.name, formatNamespace(id.namespace), id.name, next, expected],
      );
      return (result.rowCount ?? 0) === 1;
    });
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
    await this.io.close?.();
  }
}
