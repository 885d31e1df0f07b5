// Who a request acts for, and what that lets it see: the one place that decides whether a namespace, a table
// location, a topic or a DuckDB schema belongs to a tenant. The REST catalog server and the HTTP API ask here.
// PURE: no IO. Must never: treat a name as a tenant's by a bare prefix match (`acme` must not own `acme2`).
import type { Namespace } from '../catalog/catalogs/catalog.js';
import { DuckHouseError } from '../shared/errors.js';

/** Names that would collide with the REST catalog's routes or DuckHouse's own schemas and topics. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([
  'v1', 'config', 'namespaces', 'tables', 'views', 'oauth', 'transactions', 'metrics', 'admin', 'api', 'iceberg',
  'duckhouse', 'main', 'information_schema', 'pg_catalog', 'system', 'temp', 'dlq',
]);

const TENANT_ID = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * A tenant id is a lower-case identifier (a letter, then letters, digits and `_`, at most 40), valid unquoted as a
 * catalog namespace, a DuckDB schema, a Kafka topic part and an S3 key part alike.
 */
export function validateTenantId(id: string): string {
  if (!TENANT_ID.test(id)) {
    throw new DuckHouseError('config', `tenant id "${id}" is not valid: use a lower-case letter, then up to 39 lower-case letters, digits or _`);
  }
  if (RESERVED_TENANT_IDS.has(id)) throw new DuckHouseError('config', `tenant id "${id}" is reserved: choose another`);
  return id;
}

/** Everything a tenant owns, derived from its id when it is created and stored with it. */
export interface Tenant {
  readonly id: string;
  /** The catalog namespace `[id]`; the tenant owns it and every namespace below it. */
  readonly namespace: Namespace;
  /** Topics `<topicPrefix><table>` (the sink's `<prefix>.<id>.<table>`), so the prefix ends with a dot. */
  readonly topicPrefix: string;
  /** Table files live below this location (`<warehouse>/<id>/`), so it ends with a slash. */
  readonly warehousePrefix: string;
  /** The DuckDB schema of the tenant's views (`id`; nested namespaces are `id.sub`). */
  readonly duckdbSchema: string;
  readonly createdAt: Date;
  /** The catalog (SQL catalog name) the tenant was created in; its tokens are good for that catalog only. */
  readonly catalogName?: string;
}

/** The names a new tenant gets under a DuckHouse topic prefix and warehouse. */
export function tenantNames(id: string, topicPrefix: string, warehouse: string): Omit<Tenant, 'createdAt'> {
  validateTenantId(id);
  return {
    id,
    namespace: [id],
    topicPrefix: `${topicPrefix}.${id}.`,
    warehousePrefix: `${warehouse.replace(/\/+$/, '')}/${id}/`,
    duckdbSchema: id,
  };
}

/** An admin sees every namespace; a tenant sees its own. */
export type AccessScope =
  | { readonly kind: 'admin'; readonly tokenId: string }
  | { readonly kind: 'tenant'; readonly tokenId: string; readonly tenant: Tenant };

/** True when the namespace is the tenant's or below it (always for an admin). */
export function ownsNamespace(scope: AccessScope, namespace: Namespace): boolean {
  if (scope.kind === 'admin') return true;
  const root = scope.tenant.namespace;
  return namespace.length >= root.length && root.every((part, i) => namespace[i] === part);
}

/** True when a location (a table's, or a metadata file's) lies below the tenant's warehouse prefix. */
export function ownsLocation(scope: AccessScope, location: string): boolean {
  if (scope.kind === 'admin') return true;
  if (location.split('/').includes('..')) return false;
  return location.startsWith(scope.tenant.warehousePrefix);
}

/** True when a topic is the tenant's (starts with its dotted prefix). */
export function ownsTopic(scope: AccessScope, topic: string): boolean {
  return scope.kind === 'admin' || topic.startsWith(scope.tenant.topicPrefix);
}

/** True when a DuckDB schema holds the tenant's views (`id` or `id.<sub>`). */
export function ownsDuckDBSchema(scope: AccessScope, schema: string): boolean {
  if (scope.kind === 'admin') return true;
  const own = scope.tenant.duckdbSchema;
  return schema === own || schema.startsWith(`${own}.`);
}

/** The scope of a tenant itself (what its tokens get): for checks made on its behalf, such as deleting what it owns. */
export const tenantScope = (tenant: Tenant, tokenId = '-'): AccessScope => ({ kind: 'tenant', tokenId, tenant });
