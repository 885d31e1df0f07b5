// In-memory FileIO for unit tests: `memory://name/key` locations in a Map, with the same contract as S3 and local disk
// (create-only writes, literal prefixes, missing deletes are fine). Must never: hand out or keep a caller's buffer
// (bytes are copied in and out), or accept a location of another scheme (that would hide a wiring bug).
import { readFile } from 'node:fs/promises';
import type { FileIO, FileInfo, WriteOptions } from './file-io.js';
import { closedError, fileExistsError, fsError, notFoundError, type FileIOOperation } from './io-errors.js';
import { invalidLocation, localPathOf } from './location.js';

export interface MemoryFileIOOptions {
  /** Milliseconds since the epoch for `lastModifiedMs`; defaults to Date.now. */
  readonly clock?: () => number;
}

interface StoredObject {
  readonly data: Uint8Array;
  readonly lastModifiedMs: number;
}

const PREFIX = 'memory://';

export class MemoryFileIO implements FileIO {
  private readonly objects = new Map<string, StoredObject>();
  private readonly clock: () => number;
  private closed = false;

  constructor(options: MemoryFileIOOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  async read(location: string): Promise<Uint8Array> {
    this.check('read', location);
    const object = this.objects.get(location);
    if (!object) throw notFoundError('read', location);
    return object.data.slice();
  }

  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    this.check('write', location);
    this.put('write', location, data.slice(), options);
  }

  async upload(localPath: string, location: string, options: WriteOptions = {}): Promise<void> {
    this.check('upload', location);
    let data: Buffer;
    try {
      data = await readFile(localPathOf(localPath));
    } catch (error) {
      throw fsError('upload', localPath, error);
    }
    this.check('upload', location);
    this.put('upload', location, new Uint8Array(data), options);
  }

  async exists(location: string): Promise<boolean> {
    this.check('exists', location);
    return this.objects.has(location);
  }

  async delete(location: string): Promise<void> {
    this.check('delete', location);
    this.objects.delete(location);
  }

  async deleteMany(locations: readonly string[]): Promise<void> {
    for (const location of locations) this.check('deleteMany', location);
    for (const location of locations) this.objects.delete(location);
  }

  async *list(prefix: string): AsyncIterable<FileInfo> {
    this.check('list', prefix, { prefix: true });
    const matching = [...this.objects.entries()]
      .filter(([location]) => location.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [location, object] of matching) {
      yield { location, size: object.data.byteLength, lastModifiedMs: object.lastModifiedMs };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.objects.clear();
  }

  /** Synchronous check-and-set: two concurrent create-only writes cannot both see "absent". */
  private put(operation: FileIOOperation, location: string, data: Uint8Array, options: WriteOptions): void {
    if (options.ifNoneMatch && this.objects.has(location)) throw fileExistsError(operation, location);
    this.objects.set(location, { data, lastModifiedMs: this.clock() });
  }

  private check(operation: FileIOOperation, location: string, { prefix = false } = {}): void {
    if (this.closed) throw closedError(operation, location);
    const rest = location.startsWith(PREFIX) ? location.slice(PREFIX.length) : undefined;
    if (rest === undefined || (!prefix && rest === '')) {
      throw invalidLocation(location, prefix ? 'a memory:// prefix' : 'memory://name/key');
    }
  }
}
