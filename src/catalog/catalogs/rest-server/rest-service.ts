// What each Iceberg REST catalog operation does, for one caller's scope, over any DuckHouse Catalog: the HTTP layer
// (rest-routes.ts) only parses and replies. Tenant rules live here: a tenant sees and touches only namespaces at or
// below its own, and only locations below its warehouse prefix; anything else looks like it does not exist (404),
// except an attempt to create outside its namespace or to point a table outside its prefix (403).
// Must never: write the pointer other than through the catalog, or purge a file outside the caller's prefix.
import { randomUUID } from 'node:crypto';
import type { Catalog, Namespace, NamespacePropertiesChange, Table, TableIdentifier } from '../catalog.js';
import { defaultTableLocation, formatIdentifier, formatNamespace, newMetadataLocation, readTableMetadata, writeTableMetadata } from '../catalog.js';
import { purgeTableFiles } from '../../read/reachable-files.js';
import type { TableMetadata } from '../../spec/table-metadata.js';
import { newTableMetadata, newTableMetadataFromUpdates } from '../../spec/table-update.js';
import type { TableRequirement, TableUpdate } from '../../spec/table-update.js';
import type { AccessScope } from '../../../tenants/scope.js';
import { ownsLocation, ownsNamespace } from '../../../tenants/scope.js';
import type { CreateTableInput } from './rest-requests.js';
import { forbidden, noSuchNamespace, noSuchTable, RestError } from './rest-errors.js';
import { FileExistsError, NotFoundError } from '../../../shared/errors.js';

/** Table properties that name where files are written (Iceberg's LocationProviders read them). */
const PATH_PROPERTIES = ['write.data.path', 'write.metadata.path', 'write.object-storage.path', 'write.folder-storage.path'] as const;

export interface LoadedTable {
  metadataLocation?: string;
  metadata: TableMetadata;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Keyset pagination over a sorted list: the token is the last key returned. Without a size, everything. */
export function paginate<T>(items: readonly T[], key: (item: T) => string, pageToken?: string, pageSize?: number): Page<T> {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const start = pageToken === undefined || pageToken === '' ? 0 : sorted.findIndex((item) => key(item) > pageToken);
  const rest = start < 0 ? [] : sorted.slice(start);
  if (pageSize === undefined || rest.length <= pageSize) return { items: rest };
  const page = rest.slice(0, pageSize);
  return { items: page, nextPageToken: key(page[page.length - 1]!) };
}

export class RestCatalogService {
  constructor(
    private readonly catalog: Catalog,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- visibility ----

  private async visibleNamespace(scope: AccessScope, namespace: Namespace): Promise<void> {
    if (!ownsNamespace(scope, namespace) || !(await this.catalog.namespaceExists(namespace))) throw noSuchNamespace(formatNamespace(namespace));
  }

  private async visibleTable(scope: AccessScope, id: TableIdentifier): Promise<Table> {
    if (!ownsNamespace(scope, id.namespace)) throw noSuchTable(formatIdentifier(id));
    try {
      return await this.catalog.loadTable(id);
    } catch (error) {
      if (error instanceof NotFoundError) throw noSuchTable(formatIdentifier(id));
      throw error;
    }
  }

  private requireOwnLocation(scope: AccessScope, location: string, what: string): void {
    if (!ownsLocation(scope, location)) {
      const prefix = scope.kind === 'tenant' ? scope.tenant.warehousePrefix : '';
      throw forbidden(`${what} ${location} is outside this tenant's warehouse prefix ${prefix}`);
    }
  }

  /** A table's location: below the prefix, never the prefix itself (its maintenance would reach every other table). */
  private requireOwnTableLocation(scope: AccessScope, location: string): void {
    this.requireOwnLocation(scope, location, 'table location');
    if (scope.kind === 'tenant' && `${location.replace(/\/+$/, '')}/` === scope.tenant.warehousePrefix) {
      throw forbidden(`table location ${location} is the tenant's whole warehouse prefix: use a folder below it`);
    }
  }

  /** Properties that redirect where a table's files go must stay inside the prefix too. */
  private requireOwnPathProperties(scope: AccessScope, properties: Readonly<Record<string, string>>): void {
    for (const key of PATH_PROPERTIES) {
      const value = properties[key];
      if (value !== undefined) this.requireOwnLocation(scope, value, `property ${key}`);
    }
  }

  // ---- namespaces ----

  async listNamespaces(scope: AccessScope, parent: Namespace): Promise<Namespace[]> {
    if (parent.length > 0) await this.visibleNamespace(scope, parent);
    const all = await this.catalog.listNamespaces(parent);
    return all.filter((ns) => ownsNamespace(scope, ns));
  }

  async createNamespace(scope: AccessScope, namespace: Namespace, properties: Record<string, string>): Promise<Record<string, string>> {
    if (!ownsNamespace(scope, namespace)) {
      throw forbidden(`namespace ${formatNamespace(namespace)} is not below this tenant's namespace ${scope.kind === 'tenant' ? formatNamespace(scope.tenant.namespace) : ''}`);
    }
    if (properties.location !== undefined) this.requireOwnLocation(scope, properties.location, 'namespace location');
    await this.catalog.createNamespace(namespace, properties);
    return this.catalog.loadNamespaceProperties(namespace);
  }

  async loadNamespace(scope: AccessScope, namespace: Namespace): Promise<Record<string, string>> {
    await this.visibleNamespace(scope, namespace);
    return this.catalog.loadNamespaceProperties(namespace);
  }

  async namespaceExists(scope: AccessScope, namespace: Namespace): Promise<boolean> {
    return ownsNamespace(scope, namespace) && this.catalog.namespaceExists(namespace);
  }

  async dropNamespace(scope: AccessScope, namespace: Namespace): Promise<void> {
    await this.visibleNamespace(scope, namespace);
    if (scope.kind === 'tenant' && namespace.length === scope.tenant.namespace.length) {
      throw forbidden(`namespace ${formatNamespace(namespace)} is the tenant's own: \`duckhouse tenant delete\` removes it`);
    }
    await this.catalog.dropNamespace(namespace);
  }

  async updateNamespaceProperties(scope: AccessScope, namespace: Namespace, removals: string[], updates: Record<string, string>): Promise<NamespacePropertiesChange> {
    await this.visibleNamespace(scope, namespace);
    if (updates.location !== undefined) this.requireOwnLocation(scope, updates.location, 'namespace location');
    const both = removals.filter((key) => Object.hasOwn(updates, key));
    if (both.length > 0) throw new RestError(422, 'UnprocessableEntityException', `properties ${both.join(', ')} are both set and removed in one request`);
    return this.catalog.updateNamespaceProperties(namespace, removals, updates);
  }

  // ---- tables ----

  async listTables(scope: AccessScope, namespace: Namespace): Promise<TableIdentifier[]> {
    await this.visibleNamespace(scope, namespace);
    return this.catalog.listTables(namespace);
  }

  async createTable(scope: AccessScope, id: TableIdentifier, input: CreateTableInput & { location?: string; properties: Record<string, string>; stage: boolean }): Promise<LoadedTable> {
    await this.visibleNamespace(scope, id.namespace);
    const location = input.location ?? defaultTableLocation(this.catalog.warehouse, id);
    this.requireOwnTableLocation(scope, location);
    this.requireOwnPathProperties(scope, input.properties);
    const options = {
      schema: input.schema,
      ...(input.spec ? { spec: input.spec } : {}),
      ...(input.sortOrder ? { sortOrder: input.sortOrder } : {}),
      properties: input.properties,
      location,
    };
    if (input.stage) {
      if (await this.catalog.tableExists(id)) throw new RestError(409, 'AlreadyExistsException', `table already exists: ${formatIdentifier(id)}`);
      return { metadata: newTableMetadata({ ...options, tableUuid: randomUUID(), nowMs: this.now() }) };
    }
    const table = await this.catalog.createTable(id, options);
    return { metadataLocation: table.metadataLocation, metadata: table.metadata };
  }

  async loadTable(scope: AccessScope, id: TableIdentifier): Promise<LoadedTable> {
    const table = await this.visibleTable(scope, id);
    return { metadataLocation: table.metadataLocation, metadata: table.metadata };
  }

  async tableExists(scope: AccessScope, id: TableIdentifier): Promise<boolean> {
    return ownsNamespace(scope, id.namespace) && this.catalog.tableExists(id);
  }

  /**
   * A commit: `assert-create` makes the table from the updates (a staged create or a create transaction); anything
   * else goes to the catalog's compare-and-swap. A tenant may not move a table or point a snapshot outside its prefix.
   */
  async commitTable(scope: AccessScope, id: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    for (const update of updates) {
      if (update.action === 'set-location') this.requireOwnTableLocation(scope, update.location);
      if (update.action === 'add-snapshot') this.requireOwnLocation(scope, update.snapshot.manifestList, 'manifest list');
      if (update.action === 'set-properties') this.requireOwnPathProperties(scope, update.updates);
      if (update.action === 'set-statistics' || update.action === 'set-partition-statistics') {
        this.requireOwnLocation(scope, String(update.statistics['statistics-path']), 'statistics file');
      }
    }
    if (requirements.some((r) => r.type === 'assert-create')) return this.commitCreate(scope, id, requirements, updates);
    await this.visibleTable(scope, id);
    const table = await this.catalog.commitTable(id, requirements, updates);
    return { metadataLocation: table.metadataLocation, metadata: table.metadata };
  }

  private async commitCreate(scope: AccessScope, id: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    await this.visibleNamespace(scope, id.namespace);
    if (requirements.length !== 1) throw new RestError(400, 'BadRequestException', 'assert-create cannot be combined with other requirements');
    if (await this.catalog.tableExists(id)) throw new RestError(409, 'CommitFailedException', `requirement failed: table ${formatIdentifier(id)} already exists`);
    const metadata = newTableMetadataFromUpdates(updates, { location: defaultTableLocation(this.catalog.warehouse, id), tableUuid: randomUUID(), nowMs: this.now() });
    this.requireOwnTableLocation(scope, metadata.location);
    const metadataLocation = newMetadataLocation(metadata.location, undefined);
    await writeTableMetadata(this.catalog.io, metadataLocation, metadata);
    try {
      const table = await this.catalog.registerTable(id, metadataLocation);
      return { metadataLocation: table.metadataLocation, metadata: table.metadata };
    } catch (error) {
      // Only when the pointer was certainly not written (the table appeared meanwhile, or the namespace went) is the
      // new file ours alone to delete; any other failure leaves the outcome unknown, and the file stays.
      if (error instanceof FileExistsError) {
        await this.catalog.io.delete(metadataLocation).catch(() => undefined);
        throw new RestError(409, 'CommitFailedException', `requirement failed: table ${formatIdentifier(id)} already exists`, { cause: error });
      }
      if (error instanceof NotFoundError) {
        await this.catalog.io.delete(metadataLocation).catch(() => undefined);
        throw noSuchNamespace(formatNamespace(id.namespace));
      }
      throw new RestError(500, 'CommitStateUnknownException', `creating ${formatIdentifier(id)}: the catalog did not confirm the new table (${(error as Error).message}); ${metadataLocation} was kept`, { cause: error });
    }
  }

  async dropTable(scope: AccessScope, id: TableIdentifier, purge: boolean): Promise<void> {
    const table = await this.visibleTable(scope, id);
    await this.catalog.dropTable(id);
    if (purge) await purgeTableFiles(table, { within: (location) => ownsLocation(scope, location) });
  }

  async renameTable(scope: AccessScope, from: TableIdentifier, to: TableIdentifier): Promise<void> {
    await this.visibleTable(scope, from);
    await this.visibleNamespace(scope, to.namespace);
    await this.catalog.renameTable(from, to);
  }

  async registerTable(scope: AccessScope, id: TableIdentifier, metadataLocation: string): Promise<LoadedTable> {
    await this.visibleNamespace(scope, id.namespace);
    this.requireOwnLocation(scope, metadataLocation, 'metadata file');
    const metadata = await readTableMetadata(this.catalog.io, metadataLocation);
    this.requireOwnTableLocation(scope, metadata.location);
    this.requireOwnPathProperties(scope, metadata.properties);
    const table = await this.catalog.registerTable(id, metadataLocation);
    return { metadataLocation: table.metadataLocation, metadata: table.metadata };
  }
}
