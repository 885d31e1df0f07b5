// The embedded catalog: no server, everything in the warehouse itself (local disk or S3). The pointer to a table's
// current metadata is a numbered pointer file, `<warehouse>/.catalog/tables/<ns>/<table>/v<N>.json`; a commit
// creates v<N+1> with a conditional create (If-None-Match / O_EXCL), so of two racing writers exactly one wins.
// Old pointers are pruned, so a writer that stalled between listing v<N> and creating v<N+1> can re-create a pruned
// v<N+1> below newer pointers: every commit lists again after its create and only reports success when its pointer
// is (or was) the newest, never on a re-created one (see confirmPointer).
// Must never: overwrite a pointer file, or delete table files on drop unless purge was asked for.
import { CommitStateUnknownError, FileExistsError, NotFoundError } from '../../shared/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';
import type { Catalog, CreateTableOptions, Namespace, NamespacePropertiesChange, Table, TableIdentifier } from './catalog.js';
import {
  planNamespacePropertiesChange,
  commitWithSwap,
  prepareNewTable,
  formatIdentifier,
  formatNamespace,
  readTableMetadata,
  validateIdentifier,
  validateNamespace,
} from './catalog.js';
import { purgeTableFiles } from '../read/reachable-files.js';

export interface EmbeddedCatalogOptions {
  name?: string;
  /** Warehouse root URI: `file:///…`, an absolute path, `s3://bucket/prefix` or `memory://…`. */
  warehouse: string;
  io: FileIO;
  /** Pointer files kept per table (older ones are removed after a commit). */
  keepPointers?: number;
}

interface Pointer {
  version: number;
  metadataLocation: string;
}

const encoder = new TextEncoder();
const POINTER = /\/v(\d{10})\.json$/;

export class EmbeddedCatalog implements Catalog {
  readonly name: string;
  readonly io: FileIO;
  readonly warehouse: string;
  private readonly keepPointers: number;

  constructor(options: EmbeddedCatalogOptions) {
    this.name = options.name ?? 'duckhouse';
    this.io = options.io;
    this.warehouse = options.warehouse.replace(/\/+$/, '');
    // At least one: the newest pointer is the table.
    this.keepPointers = Math.max(1, Math.trunc(options.keepPointers ?? 10));
  }

  private namespaceFile(namespace: Namespace): string {
    return `${this.warehouse}/.catalog/namespaces/${encodeURIComponent(formatNamespace(namespace))}.json`;
  }

  private tableDir(id: TableIdentifier): string {
    return `${this.warehouse}/.catalog/tables/${encodeURIComponent(formatNamespace(id.namespace))}/${encodeURIComponent(id.name)}`;
  }

  private pointerFile(id: TableIdentifier, version: number): string {
    return `${this.tableDir(id)}/v${String(version).padStart(10, '0')}.json`;
  }

  async createNamespace(namespace: Namespace, properties: Record<string, string> = {}): Promise<void> {
    validateNamespace(namespace);
    try {
      await this.io.write(this.namespaceFile(namespace), encoder.encode(JSON.stringify({ namespace, properties })), { ifNoneMatch: true });
    } catch (error) {
      if (error instanceof FileExistsError) throw new FileExistsError(`namespace ${formatNamespace(namespace)} already exists`, { cause: error });
      throw error;
    }
  }

  async listNamespaces(parent: Namespace = []): Promise<Namespace[]> {
    const found: Namespace[] = [];
    for await (const file of this.io.list(`${this.warehouse}/.catalog/namespaces/`)) {
      const name = /\/([^/]+)\.json$/.exec(file.location)?.[1];
      if (!name) continue;
      const ns = decodeURIComponent(name).split('.');
      if (ns.length === parent.length + 1 && parent.every((p, i) => ns[i] === p)) found.push(ns);
    }
    return found.sort((a, b) => formatNamespace(a).localeCompare(formatNamespace(b)));
  }

  async namespaceExists(namespace: Namespace): Promise<boolean> {
    return this.io.exists(this.namespaceFile(namespace));
  }

  async loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>> {
    try {
      const json = JSON.parse(new TextDecoder().decode(await this.io.read(this.namespaceFile(namespace)))) as { properties?: Record<string, string> };
      return json.properties ?? {};
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotFoundError(`namespace ${formatNamespace(namespace)} does not exist`, { cause: error });
      throw error;
    }
  }

  /** Rewrites the namespace file (last writer wins: namespace properties are not versioned here). */
  async updateNamespaceProperties(namespace: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>): Promise<NamespacePropertiesChange> {
    const current = await this.loadNamespaceProperties(namespace);
    const change = planNamespacePropertiesChange(current, removals, updates);
    const properties = { ...current, ...updates };
    for (const key of change.removed) delete properties[key];
    await this.io.write(this.namespaceFile(namespace), encoder.encode(JSON.stringify({ namespace, properties })));
    return change;
  }

  async dropNamespace(namespace: Namespace): Promise<void> {
    if (!(await this.namespaceExists(namespace))) throw new NotFoundError(`namespace ${formatNamespace(namespace)} does not exist`);
    const tables = await this.listTables(namespace);
    if (tables.length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} is not empty: it has ${tables.map(formatIdentifier).join(', ')}`);
    if ((await this.listNamespaces(namespace)).length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} has child namespaces`);
    await this.io.delete(this.namespaceFile(namespace));
  }

  /** The pointer versions that exist now, ascending. */
  private async pointerVersions(id: TableIdentifier): Promise<number[]> {
    const versions: number[] = [];
    for await (const file of this.io.list(`${this.tableDir(id)}/`)) {
      const match = POINTER.exec(file.location);
      if (match) versions.push(Number(match[1]));
    }
    return versions.sort((a, b) => a - b);
  }

  /** A pointer file's content; undefined if it does not exist (never written, or pruned). */
  private async readPointer(id: TableIdentifier, version: number): Promise<{ metadataLocation: string; previous: string | null } | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.io.read(this.pointerFile(id, version));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { 'metadata-location': string; 'previous-metadata-location'?: string | null };
    return { metadataLocation: json['metadata-location'], previous: json['previous-metadata-location'] ?? null };
  }

  private async currentPointer(id: TableIdentifier): Promise<Pointer | undefined> {
    // The newest pointer can only vanish between the list and the read if `keepPointers` commits land meanwhile
    // (pruning); list again then.
    for (let attempt = 1; ; attempt++) {
      const latest = (await this.pointerVersions(id)).at(-1);
      if (latest === undefined) return undefined;
      const pointer = await this.readPointer(id, latest);
      if (pointer) return { version: latest, metadataLocation: pointer.metadataLocation };
      if (attempt >= 5) throw new NotFoundError(`table ${formatIdentifier(id)}: pointer v${latest} vanished while it was read, ${attempt} times`);
    }
  }

  /**
   * After creating pointer `version` (for metadata `location`): whether it is the table's commit. Pruning frees old
   * version numbers, so a create can succeed on a number that newer pointers already passed; such a pointer never was
   * the newest and is not a commit. Whoever creates v<k+1> read v<k> as the newest, so if v<version+1> records our
   * metadata as its previous, ours was the newest and later commits build on it; if it records another, the slot had
   * an earlier occupant and ours came after newer pointers existed. Anything else cannot be told: unknown.
   * Returns the versions listed (for pruning) with the answer.
   */
  private async confirmPointer(id: TableIdentifier, version: number, location: string): Promise<{ committed: boolean; versions: number[] }> {
    const versions = await this.pointerVersions(id);
    const newest = versions.at(-1) ?? version;
    if (newest <= version) return { committed: true, versions };
    const next = await this.readPointer(id, version + 1);
    if (next?.previous === location) return { committed: true, versions };
    if (next) {
      await this.io.delete(this.pointerFile(id, version)).catch(() => undefined);
      return { committed: false, versions };
    }
    throw new CommitStateUnknownError(
      `table ${formatIdentifier(id)}: created pointer v${version}, but newer pointers up to v${newest} exist and v${version + 1} is gone, so whether v${version} was ever current cannot be told`,
      { context: { table: formatIdentifier(id), version, newest } },
    );
  }

  /** Creates pointer `version`; false when it already exists (another writer won). */
  private async writePointer(id: TableIdentifier, version: number, metadataLocation: string, previous?: string): Promise<boolean> {
    try {
      const body = { 'metadata-location': metadataLocation, 'previous-metadata-location': previous ?? null };
      await this.io.write(this.pointerFile(id, version), encoder.encode(JSON.stringify(body)), { ifNoneMatch: true });
      return true;
    } catch (error) {
      if (error instanceof FileExistsError) return false;
      throw error;
    }
  }

  async tableExists(id: TableIdentifier): Promise<boolean> {
    return (await this.currentPointer(id)) !== undefined;
  }

  async createTable(id: TableIdentifier, options: CreateTableOptions): Promise<Table> {
    const { metadata, metadataLocation } = await prepareNewTable(this, this.warehouse, id, options);
    if (!(await this.writePointer(id, 1, metadataLocation))) {
      await this.io.delete(metadataLocation);
      throw new FileExistsError(`table ${formatIdentifier(id)} already exists (created concurrently)`);
    }
    return { identifier: id, metadata, metadataLocation, io: this.io };
  }

  async loadTable(id: TableIdentifier): Promise<Table> {
    const pointer = await this.currentPointer(id);
    if (!pointer) throw new NotFoundError(`table ${formatIdentifier(id)} does not exist`);
    const metadata = await readTableMetadata(this.io, pointer.metadataLocation);
    return { identifier: id, metadata, metadataLocation: pointer.metadataLocation, io: this.io };
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const names = new Set<string>();
    const prefix = `${this.warehouse}/.catalog/tables/${encodeURIComponent(formatNamespace(namespace))}/`;
    for await (const file of this.io.list(prefix)) {
      const rest = file.location.slice(file.location.indexOf(prefix) + prefix.length);
      const [name, pointer] = rest.split('/');
      if (name && pointer && POINTER.test(`/${pointer}`)) names.add(decodeURIComponent(name));
    }
    return [...names].sort().map((name) => ({ namespace: [...namespace], name }));
  }

  async dropTable(id: TableIdentifier, options: { purge?: boolean } = {}): Promise<void> {
    const table = await this.loadTable(id);
    const pointers: string[] = [];
    for await (const file of this.io.list(`${this.tableDir(id)}/`)) pointers.push(file.location);
    await this.io.deleteMany(pointers);
    if (options.purge) await purgeTableFiles(table);
  }

  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    validateIdentifier(to);
    if (!(await this.namespaceExists(to.namespace))) throw new NotFoundError(`cannot rename to ${formatIdentifier(to)}: namespace ${formatNamespace(to.namespace)} does not exist`);
    const pointer = await this.currentPointer(from);
    if (!pointer) throw new NotFoundError(`table ${formatIdentifier(from)} does not exist`);
    if (await this.tableExists(to)) throw new FileExistsError(`cannot rename ${formatIdentifier(from)}: ${formatIdentifier(to)} already exists`);
    if (!(await this.writePointer(to, 1, pointer.metadataLocation))) throw new FileExistsError(`cannot rename ${formatIdentifier(from)}: ${formatIdentifier(to)} was created concurrently`);
    const old: string[] = [];
    for await (const file of this.io.list(`${this.tableDir(from)}/`)) old.push(file.location);
    await this.io.deleteMany(old);
  }

  async registerTable(id: TableIdentifier, metadataLocation: string): Promise<Table> {
    validateIdentifier(id);
    if (!(await this.namespaceExists(id.namespace))) throw new NotFoundError(`cannot register ${formatIdentifier(id)}: namespace ${formatNamespace(id.namespace)} does not exist`);
    const metadata = await readTableMetadata(this.io, metadataLocation);
    if (!(await this.writePointer(id, 1, metadataLocation))) throw new FileExistsError(`table ${formatIdentifier(id)} already exists`);
    return { identifier: id, metadata, metadataLocation, io: this.io };
  }

  async commitTable(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<Table> {
    const pointer = await this.currentPointer(id);
    if (!pointer) throw new NotFoundError(`table ${formatIdentifier(id)} does not exist`);
    const current = await readTableMetadata(this.io, pointer.metadataLocation);
    const table: Table = { identifier: id, metadata: current, metadataLocation: pointer.metadataLocation, io: this.io };
    const version = pointer.version + 1;
    let listed: number[] = [];
    const committed = await commitWithSwap(table, requirements, updates, async (next, expected) => {
      if (expected !== pointer.metadataLocation || !(await this.writePointer(id, version, next, expected))) return false;
      const confirmed = await this.confirmPointer(id, version, next);
      listed = confirmed.versions;
      return confirmed.committed;
    });
    await this.prunePointers(id, listed);
    return committed;
  }

  /**
   * Best effort, after a confirmed commit: must never throw, since the commit has landed and a caller seeing an error
   * would take it for a failed commit. A stale pointer file is harmless (the highest version wins).
   */
  private async prunePointers(id: TableIdentifier, versions: readonly number[]): Promise<void> {
    const newest = versions.at(-1);
    if (newest === undefined) return;
    const stale = versions.filter((v) => v <= newest - this.keepPointers).map((v) => this.pointerFile(id, v));
    await this.io.deleteMany(stale).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.io.close?.();
  }
}
