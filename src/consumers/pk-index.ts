// The sink's primary-key index (ARCHITECTURE.md decision 3): the canonical key of every live row of a table → the data
// file and row position holding it, so an update or delete becomes a position delete. Rebuilt from the table (the key
// columns of every live data file, position deletes applied) at start, after a rebalance and after another writer
// rewrote files; kept up to date by the sink's own commits.
// Must never: hand out a position the table no longer has (the caller rebuilds whenever another writer removed files).
import type { Table } from '../catalog/catalogs/catalog.js';
import type { DataFile } from '../catalog/spec/manifest.js';
import type { PartitionValues } from '../catalog/spec/partition-spec.js';
import { scanKeys } from '../catalog/read/scan-table.js';
import type { KeyField } from '../schemas/row-key.js';

/** A data file the index points into, with what a position delete for it (and reading rows back) needs. */
export interface IndexedFile {
  readonly path: string;
  readonly specId: number;
  readonly partition: PartitionValues;
  readonly recordCount: bigint;
}

/** The index's view of a data file. */
export const indexedFile = (file: DataFile): IndexedFile => ({ path: file.filePath, specId: file.specId, partition: file.partition, recordCount: file.recordCount });

export interface RowLocation {
  readonly file: IndexedFile;
  readonly position: number;
}

const POSITION_SPAN = 2 ** 32;

export class PrimaryKeyIndex {
  private readonly files: IndexedFile[] = [];
  private readonly fileIds = new Map<string, number>();
  /** key → fileId × 2³² + position (exact in a double: 2M files of 4G rows). */
  private readonly rows = new Map<string, number>();
  /** Keys with more than one live row (a table written by something else): every location, so all are deleted. */
  private readonly duplicates = new Map<string, number[]>();

  get size(): number {
    return this.rows.size;
  }

  /** Keys that had several live rows when the index was built (each is fixed by the next change of that key). */
  get duplicateKeys(): number {
    return this.duplicates.size;
  }

  private fileId(file: IndexedFile): number {
    let id = this.fileIds.get(file.path);
    if (id === undefined) {
      id = this.files.length;
      this.files.push(file);
      this.fileIds.set(file.path, id);
    }
    return id;
  }

  private location(code: number): RowLocation {
    return { file: this.files[Math.floor(code / POSITION_SPAN)]!, position: code % POSITION_SPAN };
  }

  /** Every live row of `key` (none when the table does not have it). */
  lookup(key: string): RowLocation[] {
    const extra = this.duplicates.get(key);
    if (extra) return extra.map((c) => this.location(c));
    const code = this.rows.get(key);
    return code === undefined ? [] : [this.location(code)];
  }

  /** Records the row of `key` (replacing whatever the index had for it: the caller deleted those rows). */
  set(key: string, file: IndexedFile, position: number): void {
    this.duplicates.delete(key);
    this.rows.set(key, this.fileId(file) * POSITION_SPAN + position);
  }

  delete(key: string): void {
    this.duplicates.delete(key);
    this.rows.delete(key);
  }

  /** Adds one more live row for a key while building (a second row of a key is kept, not replaced). */
  private add(key: string, fileId: number, position: number): void {
    const code = fileId * POSITION_SPAN + position;
    const existing = this.rows.get(key);
    if (existing === undefined) {
      this.rows.set(key, code);
      return;
    }
    const list = this.duplicates.get(key) ?? [existing];
    list.push(code);
    this.duplicates.set(key, list);
  }

  /** Indexes the rows of one file, as scanned: `keys[i]` is at `positions[i]`. */
  addFile(file: DataFile, keys: readonly string[], positions: readonly number[]): void {
    const id = this.fileId(indexedFile(file));
    for (let i = 0; i < keys.length; i++) this.add(keys[i]!, id, positions[i]!);
  }

  /** Keys of every live row, for a truncate. */
  keys(): IterableIterator<string> {
    return this.rows.keys();
  }

  /** Builds the index of a table's current snapshot from the key columns of its live data files. */
  static async build(table: Table, keyFields: readonly KeyField[], options: { tempDir?: string } = {}): Promise<PrimaryKeyIndex> {
    const index = new PrimaryKeyIndex();
    for await (const { file, keys, positions } of scanKeys(table, keyFields, options)) index.addFile(file, keys, positions);
    return index;
  }
}
