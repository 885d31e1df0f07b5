// A FileIO that delegates to another and adds up, per operation, how many calls were made and how long they took,
// so a benchmark can say where a commit's time goes (writes, reads, lists). Must never: change what the inner FileIO
// does or sees (same arguments, same results, same errors).
import type { FileIO, FileInfo, WriteOptions } from '../src/catalog/io/file-io.js';

export type FileIOOperation = 'read' | 'write' | 'upload' | 'exists' | 'delete' | 'deleteMany' | 'list';

export class TimedFileIO implements FileIO {
  /** Calls and milliseconds per operation since the last reset(). */
  readonly totals = new Map<FileIOOperation, { calls: number; ms: number }>();

  constructor(private readonly inner: FileIO) {}

  reset(): void {
    this.totals.clear();
  }

  private add(operation: FileIOOperation, started: number): void {
    const total = this.totals.get(operation) ?? { calls: 0, ms: 0 };
    total.calls++;
    total.ms += performance.now() - started;
    this.totals.set(operation, total);
  }

  private async time<T>(operation: FileIOOperation, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.add(operation, started);
    }
  }

  read(location: string): Promise<Uint8Array> {
    return this.time('read', () => this.inner.read(location));
  }

  write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.time('write', () => this.inner.write(location, data, options));
  }

  upload(localPath: string, location: string, options?: WriteOptions): Promise<void> {
    return this.time('upload', () => this.inner.upload(localPath, location, options));
  }

  exists(location: string): Promise<boolean> {
    return this.time('exists', () => this.inner.exists(location));
  }

  delete(location: string): Promise<void> {
    return this.time('delete', () => this.inner.delete(location));
  }

  deleteMany(locations: readonly string[]): Promise<void> {
    return this.time('deleteMany', () => this.inner.deleteMany(locations));
  }

  /** Timed from the first pull to the last item (time spent by the consumer between items included). */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    const started = performance.now();
    try {
      yield* this.inner.list(prefix);
    } finally {
      this.add('list', started);
    }
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
