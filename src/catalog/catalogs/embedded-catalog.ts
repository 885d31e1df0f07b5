// The embedded catalog: no server, everything in the warehouse itself (local disk or S3). The pointer to a table's
// current metadata is a numbered pointer file, `<warehouse>/.catalog/tables/<ns>/<table>/v<N>.json`; a commit
// creates v<N+1> with a conditional create (If-None-Match / O_EXCL), so of two racing writers exactly one wins.
// Must never: overwrite a pointer file, or delete table files on drop unless purge was asked for.
import { FileExistsError, NotFoundError } from '../../shared/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';
import type { Catalog, CreateTableOptions, Namespace, Table, TableIdentifier } from './catalog.js';
import {
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
  private readonly warehouse: string;
  private readonly keepPointers: number;

  constructor(options: EmbeddedCatalogOptions) {
    this.name = options.name ?? 'duckhouse';
    this.io = options.io;
    this.warehouse = options.warehouse.replace(/\/+$/, '');
    this.keepPointers = options.keepPointers ?? 10;
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

  async dropNamespace(namespace: Namespace): Promise<void> {
    if (!(await this.namespaceExists(namespace))) throw new NotFoundError(`namespace ${formatNamespace(namespace)} does not exist`);
    const tables = await this.listTables(namespace);
    if (tables.length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} is not empty: it has ${tables.map(formatIdentifier).join(', ')}`);
    if ((await this.listNamespaces(namespace)).length > 0) throw new FileExistsError(`namespace ${formatNamespace(namespace)} has child namespaces`);
    await this.io.delete(this.namespaceFile(namespace));
  }

  private async currentPointer(id: TableIdentifier): Promise<Pointer | undefined> {
    let latest: number | undefined;
    for await (const file of this.io.list(`${this.tableDir(id)}/`)) {
      const match = POINTER.exec(file.location);
      if (match) latest = Math.max(latest ?? 0, Number(match[1]));
    }
    if (latest === undefined) return undefined;
    const json = JSON.parse(new TextDecoder().decode(await this.io.read(this.pointerFile(id, latest)))) as { 'metadata-location': string };
    return { version: latest, metadataLocation: json['metadata-location'] };
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
    const committed = await commitWithSwap(table, requirements, updates, (next, expected) =>
      expected === pointer.metadataLocation ? this.writePointer(id, pointer.version + 1, next, expected) : Promise.resolve(false));
    await this.prunePointers(id, pointer.version + 1);
    return committed;
  }

  private async prunePointers(id: TableIdentifier, latest: number): Promise<void> {
    const stale: string[] = [];
    for await (const file of this.io.list(`${this.tableDir(id)}/`)) {
      const match = POINTER.exec(file.location);
      if (match && Number(match[1]) <= latest - this.keepPointers) stale.push(file.location);
    }
    // Best effort: a stale pointer file is harmless (the highest version wins).
    await this.io.deleteMany(stale).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.io.close?.();
  }
}
