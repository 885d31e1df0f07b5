// The catalog contract every catalog implements (SQL on Postgres, embedded, REST server), plus the parts they share:
// identifiers, metadata file naming, reading table metadata, and the compare-and-swap commit step.
// Must never: delete a file after an unknown commit outcome, or write the pointer without checking requirements.
import { randomUUID } from 'node:crypto';
import { CommitConflictError, CommitStateUnknownError, DuckHouseError, FileExistsError, MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { PartitionSpec, SortOrder } from '../spec/partition-spec.js';
import type { Schema } from '../spec/schema.js';
import type { TableMetadata } from '../spec/table-metadata.js';
import { parseTableMetadata, serializeTableMetadata } from '../spec/table-metadata.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';
import { applyUpdates, checkRequirements, newTableMetadata } from '../spec/table-update.js';

export type Namespace = readonly string[];

export interface TableIdentifier {
  readonly namespace: Namespace;
  readonly name: string;
}

/** A loaded table: its metadata, where that metadata lives, and the FileIO to read its files. */
export interface Table {
  readonly identifier: TableIdentifier;
  readonly metadata: TableMetadata;
  readonly metadataLocation: string;
  readonly io: FileIO;
}

export interface CreateTableOptions {
  schema: Schema;
  lastColumnId?: number;
  spec?: PartitionSpec;
  sortOrder?: SortOrder;
  properties?: Record<string, string>;
  /** Defaults to `<warehouse>/<namespace path>/<name>`. */
  location?: string;
}

/** What `updateNamespaceProperties` did, in the REST spec's words. */
export interface NamespacePropertiesChange {
  updated: string[];
  removed: string[];
  /** Keys asked to be removed that were not set. */
  missing: string[];
}

export interface Catalog {
  readonly name: string;
  readonly io: FileIO;
  /** Where new tables go by default: `<warehouse>/<namespace levels>/<name>`. */
  readonly warehouse: string;
  createNamespace(namespace: Namespace, properties?: Record<string, string>): Promise<void>;
  listNamespaces(parent?: Namespace): Promise<Namespace[]>;
  namespaceExists(namespace: Namespace): Promise<boolean>;
  loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>>;
  /** Sets and removes namespace properties (a key may not be in both). */
  updateNamespaceProperties(namespace: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>): Promise<NamespacePropertiesChange>;
  /** Refuses a namespace that still has tables. */
  dropNamespace(namespace: Namespace): Promise<void>;
  createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<Table>;
  loadTable(identifier: TableIdentifier): Promise<Table>;
  tableExists(identifier: TableIdentifier): Promise<boolean>;
  listTables(namespace: Namespace): Promise<TableIdentifier[]>;
  /** Removes the catalog entry; with `purge`, deletes every file the table's metadata references too. */
  dropTable(identifier: TableIdentifier, options?: { purge?: boolean }): Promise<void>;
  renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void>;
  /** Adds an existing table (a metadata file written elsewhere) under a new identifier. */
  registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<Table>;
  /**
   * Checks `requirements` against the current metadata, applies `updates`, writes a new metadata file and swaps the
   * pointer. Throws CommitConflictError when requirements fail or another writer swapped first, and
   * CommitStateUnknownError when it cannot tell whether the swap happened.
   */
  commitTable(identifier: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<Table>;
  close(): Promise<void>;
}

// ---- identifiers ----

// eslint-disable-next-line no-control-regex -- control characters are exactly what the pattern refuses
const PART = /^[^\s./\\\u0000-\u001f][^./\\\u0000-\u001f]*$/;

export function tableIdentifier(text: string): TableIdentifier {
  const parts = text.split('.');
  const name = parts.pop();
  if (!name || parts.length === 0) throw new DuckHouseError('config', `table name "${text}" must be namespace.table (for example analytics.orders)`);
  const identifier = { namespace: parts, name };
  validateIdentifier(identifier);
  return identifier;
}

export function validateNamespace(namespace: Namespace): void {
  if (namespace.length === 0) throw new DuckHouseError('config', 'a namespace needs at least one level');
  for (const part of namespace) {
    if (!PART.test(part) || part.length > 255) throw new DuckHouseError('config', `namespace level "${part}" is not valid: use 1-255 characters without ".", "/", "\\", control characters or leading spaces`);
  }
}

export function validateIdentifier(identifier: TableIdentifier): void {
  validateNamespace(identifier.namespace);
  if (!PART.test(identifier.name) || identifier.name.length > 255) throw new DuckHouseError('config', `table name "${identifier.name}" is not valid: use 1-255 characters without ".", "/", "\\"`);
}

/**
 * Every table in the namespaces below `parent` (all tables when it is the root), and, when `parent` is a namespace,
 * its own tables too (none when it does not exist).
 */
export async function tablesUnder(catalog: Catalog, parent: Namespace = []): Promise<TableIdentifier[]> {
  const ids: TableIdentifier[] = [];
  if (parent.length > 0) {
    if (!(await catalog.namespaceExists(parent))) return ids;
    ids.push(...(await catalog.listTables(parent)));
  }
  const walk = async (namespace: Namespace): Promise<void> => {
    for (const child of await catalog.listNamespaces(namespace)) {
      ids.push(...(await catalog.listTables(child)));
      await walk(child);
    }
  };
  await walk(parent);
  return ids;
}

/** The location a new table gets unless one is given. */
export const defaultTableLocation = (warehouse: string, id: TableIdentifier): string => `${warehouse.replace(/\/+$/, '')}/${id.namespace.join('/')}/${id.name}`;

/** Splits a properties change into what was set, removed and missing; refuses a key in both lists. */
export function planNamespacePropertiesChange(current: Readonly<Record<string, string>>, removals: readonly string[], updates: Readonly<Record<string, string>>): NamespacePropertiesChange {
  const both = removals.filter((key) => Object.hasOwn(updates, key));
  if (both.length > 0) throw new DuckHouseError('config', `properties ${both.join(', ')} are both set and removed in one request`);
  return {
    updated: Object.keys(updates),
    removed: removals.filter((key) => Object.hasOwn(current, key)),
    missing: removals.filter((key) => !Object.hasOwn(current, key)),
  };
}

export const formatIdentifier = (id: TableIdentifier): string => [...id.namespace, id.name].join('.');
export const formatNamespace = (ns: Namespace): string => ns.join('.');

// ---- metadata files ----

/** `<location>/metadata/<version>-<uuid>.metadata.json`, the name Java and PyIceberg use (version from the old name). */
export function newMetadataLocation(tableLocation: string, previous: string | undefined): string {
  const match = previous ? /\/(\d+)-[^/]*\.metadata\.json$/.exec(previous) : null;
  const version = match ? Number(match[1]) + 1 : previous ? 1 : 0;
  return `${tableLocation}/metadata/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}

export async function readTableMetadata(io: FileIO, location: string): Promise<TableMetadata> {
  let bytes: Uint8Array;
  try {
    bytes = await io.read(location);
  } catch (error) {
    if (error instanceof NotFoundError) throw new MetadataInvalidError(`metadata file ${location} is missing`, { cause: error, context: { file: location } });
    throw error;
  }
  return parseTableMetadata(new TextDecoder('utf-8', { fatal: false }).decode(bytes), location);
}

export async function writeTableMetadata(io: FileIO, location: string, metadata: TableMetadata): Promise<void> {
  await io.write(location, new TextEncoder().encode(serializeTableMetadata(metadata)), { ifNoneMatch: true, contentType: 'application/json' });
}

/**
 * The part of createTable every catalog shares: checks the name, that the namespace exists and the table does not,
 * builds fresh metadata (location defaults to `<warehouse>/<namespace levels>/<name>`) and writes its first file.
 * The caller then records the pointer (and deletes the file if that fails because the table appeared meanwhile).
 */
export async function prepareNewTable(catalog: Catalog, warehouse: string, id: TableIdentifier, options: CreateTableOptions): Promise<{ metadata: TableMetadata; metadataLocation: string }> {
  validateIdentifier(id);
  if (!(await catalog.namespaceExists(id.namespace))) throw new NotFoundError(`cannot create ${formatIdentifier(id)}: namespace ${formatNamespace(id.namespace)} does not exist`);
  if (await catalog.tableExists(id)) throw new FileExistsError(`table ${formatIdentifier(id)} already exists`);
  const metadata = newTableMetadata({
    location: options.location ?? defaultTableLocation(warehouse, id),
    tableUuid: randomUUID(),
    schema: options.schema,
    ...(options.lastColumnId === undefined ? {} : { lastColumnId: options.lastColumnId }),
    ...(options.spec ? { spec: options.spec } : {}),
    ...(options.sortOrder ? { sortOrder: options.sortOrder } : {}),
    properties: options.properties ?? {},
    nowMs: Date.now(),
  });
  const metadataLocation = newMetadataLocation(metadata.location, undefined);
  await writeTableMetadata(catalog.io, metadataLocation, metadata);
  return { metadata, metadataLocation };
}

/** The pointer swap a catalog provides: true when it swapped, false when another writer got there first. */
export type PointerSwap = (newLocation: string, expectedLocation: string) => Promise<boolean>;

/**
 * The commit step shared by catalogs: requirements → updates → new metadata file → compare-and-swap. A lost race
 * deletes the new (never referenced) metadata file and throws CommitConflictError; an error from the swap itself is
 * CommitStateUnknownError unless it is already a DuckHouse error that says otherwise, and nothing is deleted.
 */
export async function commitWithSwap(table: Table, requirements: readonly TableRequirement[], updates: readonly TableUpdate[], swap: PointerSwap, nowMs = Date.now()): Promise<Table> {
  const name = formatIdentifier(table.identifier);
  checkRequirements(table.metadata, requirements, name);
  const metadata = applyUpdates(table.metadata, updates, { nowMs, previousMetadataFile: table.metadataLocation });
  const location = newMetadataLocation(metadata.location, table.metadataLocation);
  await writeTableMetadata(table.io, location, metadata);
  let swapped: boolean;
  try {
    swapped = await swap(location, table.metadataLocation);
  } catch (error) {
    if (error instanceof CommitConflictError) throw error;
    throw new CommitStateUnknownError(`${name}: the catalog did not confirm the commit of ${location} (${(error as Error).message}); files were kept`, { cause: error, context: { table: name, metadataLocation: location } });
  }
  if (!swapped) {
    await table.io.delete(location).catch(() => undefined);
    throw new CommitConflictError(`${name}: expected the metadata pointer at ${table.metadataLocation}, found another writer had moved it`, { context: { table: name, expected: table.metadataLocation } });
  }
  return { ...table, metadata, metadataLocation: location };
}
