// Creating and deleting a tenant: everything scope.ts says it owns, across Postgres (its row and tokens), the Iceberg
// catalog (namespace `[id]` and below, their tables), the warehouse (`<warehouse>/<id>/`), the views' DuckDB file
// (schemas `id`, `id.*`), Kafka (topics `<prefix>.<id>.*`) and the schema registry (those topics' subjects).
// Create is all or nothing: a failed step undoes the earlier ones (run it again after fixing the cause). Delete marks
// the tenant 'deleting' first (its tokens stop working), removes one kind of thing after the other and the row last,
// so running it again after a crash finishes the job; a tenant that no longer exists is a no-op.
// Stop the producers and sinks of a tenant before deleting it: a writer may create tables or topics again meanwhile
// (delete then fails before removing the row and says so; run it again).
// Must never: touch what another tenant or no tenant owns (every name is checked with scope.ts: `acme` never matches
// `acme2`), delete a file outside the tenant's warehouse prefix, or print a token.
import type { Catalog, Namespace, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier, formatNamespace, tablesUnder } from '../catalog/catalogs/catalog.js';
import type { FileIO } from '../catalog/io/file-io.js';
import { purgeTableFiles } from '../catalog/read/reachable-files.js';
import type { TopicAdmin } from '../producers/kafka/client.js';
import type { SubjectAdmin } from '../schemas/registry.js';
import { DuckHouseError, FileExistsError, MetadataInvalidError, NotFoundError } from '../shared/errors.js';
import { createTenantSchema, dropEmptyTenantSchema, dropTenantSchemas } from './duckdb-schemas.js';
import type { AccessScope } from './scope.js';
import { ownsLocation, ownsNamespace, ownsTopic, tenantNames, tenantScope, validateTenantId } from './scope.js';
import type { TenantRecord, TenantStore } from './tenant-store.js';

/** Namespace properties of a tenant's root namespace. */
export const TENANT_PROPERTY = 'duckhouse.tenant';

export type Progress = (message: string) => void;

export interface TenantDeps {
  store: TenantStore;
  catalog: Catalog;
  /** The views' DuckDB file. */
  duckdbFile: string;
  /** Warehouse FileIO (default: the catalog's). */
  io?: FileIO;
  /** How long to wait for the DuckDB file's writer lock (default: duckdb-file.ts's). */
  lockWaitMs?: number;
}

export interface CreateTenantDeps extends TenantDeps {
  /** The sink's topic prefix (`duckhouse sink --prefix`, default `duckhouse`). */
  topicPrefix: string;
  /** Where the tenant's tables go (default: the catalog's warehouse, which table locations default to). */
  warehouse?: string;
  /** When given, create refuses a tenant whose topic prefix already has topics. */
  topics?: TopicAdmin;
}

export interface DeleteTenantDeps extends TenantDeps {
  topics: TopicAdmin;
  subjects: SubjectAdmin;
}

export interface CreatedTenant {
  tenant: TenantRecord;
  /** The first token: show it once, it is not stored. */
  token: string;
  tokenId: string;
}

export interface DeleteTenantResult {
  tenant: string;
  /** False when there was no such tenant (nothing was done). */
  found: boolean;
  tables: number;
  namespaces: number;
  /** Files of dropped tables deleted, and those left because they lie outside the tenant's warehouse prefix. */
  tableFiles: number;
  filesOutsidePrefix: number;
  /** Other files under the warehouse prefix. */
  orphanFiles: number;
  duckdbSchemas: number;
  viewTables: number;
  cachedFiles: number;
  topics: number;
  subjects: number;
  tokens: number;
}

const say = (progress: Progress | undefined, message: string): void => progress?.(message);

const refused = (message: string, context: Record<string, unknown> = {}): DuckHouseError => new DuckHouseError('config', message, { context });

async function firstFileUnder(io: FileIO, prefix: string): Promise<string | undefined> {
  for await (const file of io.list(prefix)) return file.location;
  return undefined;
}

/** The topic a TopicNameStrategy subject (`<topic>-value`, `<topic>-key`) is of; undefined for other subjects. */
export const subjectTopic = (subject: string): string | undefined => /^(.+)-(?:value|key)$/.exec(subject)?.[1];

/**
 * Creates tenant `id`: its row, namespace `[id]` (properties `duckhouse.tenant`, `location`), DuckDB schema `id` and a
 * first token. Refuses (config error) a malformed, reserved or existing id, and names that are already in use.
 */
export async function createTenant(deps: CreateTenantDeps, id: string, options: { description?: string; onProgress?: Progress } = {}): Promise<CreatedTenant> {
  validateTenantId(id);
  const { store, catalog } = deps;
  const progress = options.onProgress;
  const existing = await store.getTenant(id);
  if (existing?.state === 'deleting') throw refused(`tenant "${id}" is being deleted: finish with \`duckhouse tenant delete ${id} --yes\` before creating it again`, { tenant: id });
  if (existing) throw refused(`tenant "${id}" already exists (created ${existing.createdAt.toISOString()}); \`duckhouse tenant token ${id}\` issues another token`, { tenant: id });
  const names = tenantNames(id, deps.topicPrefix, deps.warehouse ?? catalog.warehouse);
  const io = deps.io ?? catalog.io;
  const clash = (await catalog.listNamespaces()).find((ns) => ns[0]?.toLowerCase() === id);
  if (clash) throw refused(`namespace ${formatNamespace(clash)} already exists in catalog "${catalog.name}" and belongs to no tenant: a tenant starts empty (choose another id, or drop that namespace)`, { tenant: id });
  const leftover = await firstFileUnder(io, names.warehousePrefix);
  if (leftover) throw refused(`the warehouse already has files under ${names.warehousePrefix} (for example ${leftover}): a tenant starts empty (choose another id, or remove them)`, { tenant: id });
  if (deps.topics) {
    const scope = tenantScope({ ...names, createdAt: new Date() });
    const topics = (await deps.topics.listTopics()).filter((t) => ownsTopic(scope, t));
    if (topics.length > 0) throw refused(`Kafka already has topics under ${names.topicPrefix} (${topics.slice(0, 3).join(', ')}${topics.length > 3 ? ', …' : ''}): a tenant starts empty (choose another id, or delete them)`, { tenant: id });
  }

  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    say(progress, `recording tenant ${id}`);
    let tenant: TenantRecord;
    try {
      tenant = await store.insertTenant({ ...names, catalogName: catalog.name, ...(options.description === undefined ? {} : { description: options.description }) });
    } catch (error) {
      if (error instanceof FileExistsError) throw refused(`tenant "${id}" already exists (created meanwhile by another process)`, { tenant: id });
      throw error;
    }
    undo.push({ what: 'the tenant row', run: () => store.deleteTenantRow(id) });
    say(progress, `creating namespace ${formatNamespace(names.namespace)} in catalog "${catalog.name}"`);
    await catalog.createNamespace(names.namespace, { [TENANT_PROPERTY]: id, location: names.warehousePrefix.replace(/\/+$/, '') });
    undo.push({ what: `namespace ${formatNamespace(names.namespace)}`, run: () => catalog.dropNamespace(names.namespace) });
    say(progress, `creating DuckDB schema "${names.duckdbSchema}" in ${deps.duckdbFile}`);
    const lock = { ...(deps.lockWaitMs === undefined ? {} : { lockWaitMs: deps.lockWaitMs }), onWait: () => say(progress, 'waiting for the DuckDB file lock (a views refresh or dbt run)') };
    if (await createTenantSchema(deps.duckdbFile, tenant, lock)) {
      undo.push({ what: `DuckDB schema ${names.duckdbSchema}`, run: () => dropEmptyTenantSchema(deps.duckdbFile, tenant, lock) });
    }
    say(progress, 'issuing the first token');
    const { token, tokenId } = await store.issueToken({ tenantId: id }, 'first token');
    return { tenant, token, tokenId };
  } catch (error) {
    const failed: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (undoError) {
        failed.push(`${step.what} (${(undoError as Error).message})`);
      }
    }
    if (failed.length > 0 && error instanceof Error) {
      throw new DuckHouseError(error instanceof DuckHouseError ? error.kind : 'internal', `${error.message}; undoing the create also failed for: ${failed.join('; ')}`, { cause: error, context: { tenant: id } });
    }
    throw error;
  }
}

/** Every namespace at or below `root` that exists, deepest first. */
async function namespacesUnder(catalog: Catalog, root: Namespace): Promise<Namespace[]> {
  const found: Namespace[] = (await catalog.namespaceExists(root)) ? [root] : [];
  const walk = async (parent: Namespace): Promise<void> => {
    for (const child of await catalog.listNamespaces(parent)) {
      found.push(child);
      await walk(child);
    }
  };
  await walk(root);
  return found.sort((a, b) => b.length - a.length);
}

/** What deleting tenant `id` would remove, read without changing anything; undefined when there is no such tenant. */
export async function planTenantDelete(deps: DeleteTenantDeps, id: string): Promise<{ tenant: TenantRecord; tables: TableIdentifier[]; topics: string[]; subjects: string[]; tokens: number } | undefined> {
  const tenant = await deps.store.getTenant(id);
  if (!tenant) return undefined;
  const scope = tenantScope(tenant);
  const tables = (await tablesUnder(deps.catalog, tenant.namespace)).filter((t) => ownsNamespace(scope, t.namespace));
  const topics = (await deps.topics.listTopics()).filter((t) => ownsTopic(scope, t)).sort();
  const subjects = (await deps.subjects.listSubjects()).filter((s) => ownsSubject(scope, s)).sort();
  const tokens = (await deps.store.listTokens({ tenantId: id })).filter((t) => t.revokedAt === null).length;
  return { tenant, tables, topics, subjects, tokens };
}

function ownsSubject(scope: AccessScope, subject: string): boolean {
  const topic = subjectTopic(subject);
  return topic !== undefined && ownsTopic(scope, topic);
}

/**
 * Deletes tenant `id` and everything it owns (see the module header for the order); idempotent. Throws when the
 * catalog is not the one the tenant was created in, or when tables appeared under its namespace meanwhile (the row
 * stays 'deleting': run it again once the writer is stopped).
 */
export async function deleteTenant(deps: DeleteTenantDeps, id: string, options: { onProgress?: Progress } = {}): Promise<DeleteTenantResult> {
  const { store, catalog } = deps;
  const progress = options.onProgress;
  const result: DeleteTenantResult = {
    tenant: id, found: false, tables: 0, namespaces: 0, tableFiles: 0, filesOutsidePrefix: 0, orphanFiles: 0,
    duckdbSchemas: 0, viewTables: 0, cachedFiles: 0, topics: 0, subjects: 0, tokens: 0,
  };
  const found = await store.getTenant(id);
  if (!found) {
    say(progress, `no tenant "${id}": nothing to delete`);
    return result;
  }
  if (found.catalogName !== catalog.name || !found.warehousePrefix.startsWith(`${catalog.warehouse.replace(/\/+$/, '')}/`)) {
    throw refused(`tenant "${id}" was created in catalog "${found.catalogName}" with its files under ${found.warehousePrefix}; this is catalog "${catalog.name}" on ${catalog.warehouse}: pass the same --catalog-name and --warehouse`, { tenant: id });
  }
  result.found = true;
  result.tokens = (await store.listTokens({ tenantId: id })).length;
  say(progress, found.state === 'deleting' ? `tenant ${id} is already being deleted: finishing` : `marking tenant ${id} as deleting: its tokens stop working`);
  const tenant = (await store.markDeleting(id)) ?? found;
  const scope = tenantScope(tenant);
  const io = deps.io ?? catalog.io;
  const within = (location: string): boolean => {
    if (ownsLocation(scope, location)) return true;
    result.filesOutsidePrefix++;
    return false;
  };

  for (const table of (await tablesUnder(catalog, tenant.namespace)).filter((t) => ownsNamespace(scope, t.namespace))) {
    say(progress, `dropping table ${formatIdentifier(table)} and its files`);
    await dropTable(catalog, table, within, result, progress);
  }
  for (const namespace of await namespacesUnder(catalog, tenant.namespace)) {
    if (!ownsNamespace(scope, namespace)) continue;
    say(progress, `dropping namespace ${formatNamespace(namespace)}`);
    try {
      await catalog.dropNamespace(namespace);
      result.namespaces++;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  // Tables of this catalog outside the tenant's namespaces whose location lies under its prefix (an admin may put one
  // there) keep their folders: the sweep below must not take their files.
  const keep: string[] = [];
  for (const other of await tablesUnder(catalog)) {
    if (ownsNamespace(scope, other.namespace)) continue;
    const location = await catalog.loadTable(other).then((t) => t.metadata.location, () => undefined);
    if (location !== undefined && ownsLocation(scope, `${location}/`)) {
      keep.push(`${location}/`);
      say(progress, `  keeping ${location}/: it belongs to table ${formatIdentifier(other)}, outside tenant ${id}`);
    }
  }
  say(progress, `deleting the files left under ${tenant.warehousePrefix}`);
  let batch: string[] = [];
  for await (const file of io.list(tenant.warehousePrefix)) {
    if (!ownsLocation(scope, file.location) || keep.some((folder) => file.location.startsWith(folder))) continue;
    batch.push(file.location);
    if (batch.length >= 1000) {
      await io.deleteMany(batch);
      result.orphanFiles += batch.length;
      batch = [];
    }
  }
  await io.deleteMany(batch);
  result.orphanFiles += batch.length;

  say(progress, `dropping DuckDB schemas ${tenant.duckdbSchema} and ${tenant.duckdbSchema}.* in ${deps.duckdbFile}`);
  const dropped = await dropTenantSchemas(deps.duckdbFile, tenant, {
    ...(deps.lockWaitMs === undefined ? {} : { lockWaitMs: deps.lockWaitMs }),
    onWait: () => say(progress, 'waiting for the DuckDB file lock (a views refresh or dbt run)'),
  });
  result.duckdbSchemas = dropped.schemas.length;
  result.viewTables = dropped.tables.length;
  result.cachedFiles = dropped.cachedFiles;

  const topics = (await deps.topics.listTopics()).filter((t) => ownsTopic(scope, t));
  say(progress, `deleting ${topics.length} Kafka topic(s) under ${tenant.topicPrefix}`);
  if (topics.length > 0) await deps.topics.deleteTopics(topics);
  result.topics = topics.length;
  const subjects = (await deps.subjects.listSubjects()).filter((s) => ownsSubject(scope, s));
  say(progress, `deleting ${subjects.length} schema registry subject(s) of those topics`);
  for (const subject of subjects) if (await deps.subjects.deleteSubject(subject)) result.subjects++;

  const appeared = (await tablesUnder(catalog, tenant.namespace)).filter((t) => ownsNamespace(scope, t.namespace));
  if (appeared.length > 0 || (await catalog.namespaceExists(tenant.namespace))) {
    throw new DuckHouseError('io', `tenant "${id}": ${appeared.length > 0 ? `tables ${appeared.map(formatIdentifier).join(', ')} appeared` : `namespace ${formatNamespace(tenant.namespace)} appeared again`} while deleting (a sink or producer still writes for it): stop it and run the delete again`, { retriable: true, context: { tenant: id } });
  }
  say(progress, `removing tenant ${id} and its tokens`);
  await store.deleteTenantRow(id);
  return result;
}

/** Drops one table's catalog entry, then deletes the files its metadata lists that lie under the tenant's prefix. */
async function dropTable(catalog: Catalog, id: TableIdentifier, within: (location: string) => boolean, result: DeleteTenantResult, progress: Progress | undefined): Promise<void> {
  let table: Table | undefined;
  try {
    table = await catalog.loadTable(id);
  } catch (error) {
    if (error instanceof NotFoundError) return;
    if (!(error instanceof MetadataInvalidError)) throw error;
    say(progress, `  ${formatIdentifier(id)}: its metadata cannot be read (${error.message}); dropping the entry, the files go with the rest of the prefix`);
  }
  try {
    await catalog.dropTable(id);
    result.tables++;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  if (!table) return;
  try {
    result.tableFiles += await purgeTableFiles(table, { within });
  } catch (error) {
    if (!(error instanceof MetadataInvalidError || error instanceof NotFoundError)) throw error;
    say(progress, `  ${formatIdentifier(id)}: not every file could be listed (${(error as Error).message}); the files go with the rest of the prefix`);
  }
}
