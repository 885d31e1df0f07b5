// Local-filesystem FileIO for `file:///abs`, `file:/abs` and plain absolute paths. Writes are atomic for readers: the
// bytes go to a temp file in the target's directory (fsynced), then rename() puts it in place; create-only writes
// (ifNoneMatch) link() the temp file into place instead, which fails with EEXIST rather than replace a file, so two
// racing creates cannot both win. Must never: overwrite a file when ifNoneMatch was asked for, move (rename) an upload's
// source file, or leave a temp file behind after a failed write.
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileIO, FileInfo, WriteOptions } from './file-io.js';
import {
  type DeleteFailure,
  type FileIOOperation,
  closedError,
  errnoOf,
  fileExistsError,
  fsError,
  ioError,
  throwIfDeleteFailures,
} from './io-errors.js';
import { localPathOf } from './location.js';

/** Temp files end with this and start with a dot; `list` skips them (like an unfinished S3 multipart upload). */
export const LOCAL_TEMP_SUFFIX = '.duckhouse-tmp';
const DELETE_CONCURRENCY = 16;
/** link() errors meaning the filesystem has no hard links (some FUSE and SMB mounts). */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export class LocalFileIO implements FileIO {
  private closed = false;

  async read(location: string): Promise<Uint8Array> {
    const file = this.pathOf('read', location);
    try {
      const buffer = await readFile(file);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      throw fsError('read', location, error);
    }
  }

  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const target = this.pathOf('write', location);
    await this.place('write', location, target, options, async (temp) => {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Copies the local file (the source stays where it is). */
  async upload(localPath: string, location: string, options: WriteOptions = {}): Promise<void> {
    const target = this.pathOf('upload', location);
    const source = localPathOf(localPath);
    await this.place('upload', location, target, options, async (temp) => {
      try {
        await copyFile(source, temp, constants.COPYFILE_EXCL);
      } catch (error) {
        throw fsError('upload', localPath, error);
      }
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async exists(location: string): Promise<boolean> {
    const file = this.pathOf('exists', location);
    try {
      return (await stat(file)).isFile();
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw fsError('exists', location, error);
    }
  }

  async delete(location: string): Promise<void> {
    await this.deleteOne('delete', location);
  }

  async deleteMany(locations: readonly string[]): Promise<void> {
    for (const location of locations) this.pathOf('deleteMany', location);
    const failures: DeleteFailure[] = [];
    for (let start = 0; start < locations.length; start += DELETE_CONCURRENCY) {
      const batch = locations.slice(start, start + DELETE_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((location) => this.deleteOne('deleteMany', location)));
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') return;
        const error = result.reason as { message?: string; retriable?: boolean; context?: { code?: string } };
        failures.push({
          location: batch[i] ?? '',
          code: error.context?.code ?? 'unknown',
          message: error.message ?? String(result.reason),
          retriable: error.retriable === true,
        });
      });
    }
    throwIfDeleteFailures(failures, locations.length);
  }

  /**
   * Every regular file whose location starts with `prefix` (a string prefix, as on S3: end it with `/` to mean a
   * directory). Locations keep the prefix's spelling (`file:///…` or plain). Symlinked directories are not followed.
   */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    const prefixPath = this.pathOf('list', prefix);
    if (prefix.endsWith('/')) {
      yield* this.walk(prefixPath, prefix, '');
    } else {
      yield* this.walk(path.dirname(prefixPath), prefix, path.basename(prefixPath));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async *walk(dir: string, location: string, namePrefix: string): AsyncGenerator<FileInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fsError('list', location, error);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix)) continue;
      if (entry.name.startsWith('.') && entry.name.endsWith(LOCAL_TEMP_SUFFIX)) continue;
      const child = path.join(dir, entry.name);
      const childLocation = location + entry.name.slice(namePrefix.length);
      if (entry.isDirectory()) {
        yield* this.walk(child, `${childLocation}/`, '');
        continue;
      }
      let info;
      try {
        info = await stat(child);
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') continue; // deleted while listing
        throw fsError('list', childLocation, error);
      }
      if (!info.isFile()) continue; // sockets, fifos, symlinks to directories: not objects
      yield { location: childLocation, size: info.size, lastModifiedMs: Math.floor(info.mtimeMs) };
    }
  }

  private async deleteOne(operation: FileIOOperation, location: string): Promise<void> {
    const file = this.pathOf(operation, location);
    try {
      await unlink(file);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fsError(operation, location, error);
    }
  }

  /** Fills a temp file beside the target, then renames (or, create-only, links) it into place. */
  private async place(
    operation: FileIOOperation,
    location: string,
    target: string,
    options: WriteOptions,
    fill: (temp: string) => Promise<void>,
  ): Promise<void> {
    const dir = path.dirname(target);
    const temp = path.join(dir, `.${path.basename(target).slice(0, 100)}.${randomBytes(6).toString('hex')}${LOCAL_TEMP_SUFFIX}`);
    let tempMayExist = false;
    try {
      await mkdir(dir, { recursive: true }).catch((error: unknown) => {
        if (errnoOf(error) !== 'EEXIST') throw error;
        // mkdir -p says EEXIST when a parent is a file; say what is wrong instead.
        throw ioError(operation, location, `expected folders along ${dir}, found a file (ENOTDIR)`, {
          retriable: false,
          cause: error,
          context: { code: 'ENOTDIR' },
        });
      });
      tempMayExist = true;
      await fill(temp);
      if (!options.ifNoneMatch) {
        await rename(temp, target);
        tempMayExist = false;
        return;
      }
      try {
        await link(temp, target);
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'EEXIST') throw fileExistsError(operation, location, error);
        if (code === undefined || !LINK_UNSUPPORTED.has(code)) throw error;
        throw ioError(operation, location, `create-only writes need hard links (link()); this filesystem refused: ${code}`, {
          retriable: false,
          cause: error,
          context: { code },
        });
      }
    } catch (error) {
      throw fsError(operation, location, error);
    } finally {
      if (tempMayExist) await unlink(temp).catch(() => undefined);
    }
  }

  private pathOf(operation: FileIOOperation, location: string): string {
    if (this.closed) throw closedError(operation, location);
    return localPathOf(location);
  }
}
