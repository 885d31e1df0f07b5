// Local copies of table files for the DuckDB views. DuckDB's httpfs extension cannot be installed here, so views over an
// object-store warehouse (s3://, and memory:// in tests) read a local file cache that the views refresher keeps:
//   <cacheDir>/<scheme>/<bucket>/<key>     e.g. s3://lake/wh/db/t/data/x.parquet → <cacheDir>/s3/lake/wh/db/t/data/x.parquet
// Every file a view or time-travel macro reads is downloaded (through the table's FileIO) before the views are
// replaced, to a temp name then renamed (never a partial file), and files no view needs any more are evicted after it.
// Cost: local disk for every data and delete file of the table's retained snapshots. Cached files are immutable
// (Iceberg never rewrites a file in place), so a file that exists in the cache is never downloaded again.
// Local warehouses (file:///… or plain paths) are read in place, except a path with a glob character (* ? [ ]),
// which DuckDB would expand: that one is linked into <cacheDir>/file/<path>. Path segments are escaped where they
// would break the layout: % * ? [ ] \ as %XX, "." and ".." as %2E, an empty segment as "%".
// Must never: delete anything outside cacheDir, or leave a partial file under a cached name.
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FileIO } from '../../catalog/io/file-io.js';
import { localPathOf, locationScheme } from '../../catalog/io/location.js';
import { DuckHouseError, MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import { mapLimit } from '../../catalog/read/manifests.js';

/** Characters DuckDB's read_parquet expands as a glob pattern. */
const GLOB = /[*?[\]]/;
/** Suffix of a download in progress (`<name>.<uuid>.duckhouse-part`); eviction removes stale ones. */
export const PART_SUFFIX = '.duckhouse-part';
/** Downloads older than this are abandoned (the process that started them died). */
const STALE_PART_MS = 60 * 60_000;

export type Placement = 'in-place' | 'download' | 'link';

export interface LocalFile {
  readonly location: string;
  /** Absolute path DuckDB reads. */
  readonly local: string;
  readonly placement: Placement;
}

export function escapeSegment(segment: string): string {
  if (segment === '') return '%';
  if (segment === '.' || segment === '..') return segment.replaceAll('.', '%2E');
  return segment.replace(/[%*?[\]\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** `<scheme>://<authority>/<path>` → its parts; the path keeps empty segments (keys are literal). */
function splitUri(location: string): { scheme: string; segments: string[] } {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(?:\/(.*))?$/s.exec(location);
  if (!match || match[2] === '') throw new DuckHouseError('config', `cannot cache ${JSON.stringify(location)}: expected <scheme>://<bucket>/<key>`, { context: { location } });
  return { scheme: match[1]!.toLowerCase(), segments: [match[2]!, ...(match[3] === undefined ? [] : match[3].split('/'))] };
}

/** The cache path of a location: `<cacheDir>/<scheme>/<bucket>/<key>` (a local one: `<cacheDir>/file/<path>`). */
export function cachePathOf(cacheDir: string, location: string): string {
  if (locationScheme(location) === 'file') {
    const segments = localPathOf(location).split('/').slice(1);
    return path.join(cacheDir, 'file', ...segments.map(escapeSegment));
  }
  const { scheme, segments } = splitUri(location);
  return path.join(cacheDir, escapeSegment(scheme), ...segments.map(escapeSegment));
}

/** Where DuckDB reads a table file: in place (local, no glob character), else a cached copy or link. */
export function localFileOf(cacheDir: string, location: string): LocalFile {
  if (locationScheme(location) === 'file') {
    const local = localPathOf(location);
    if (!GLOB.test(local)) return { location, local, placement: 'in-place' };
    return { location, local: cachePathOf(cacheDir, location), placement: 'link' };
  }
  return { location, local: cachePathOf(cacheDir, location), placement: 'download' };
}

/** The cache directory of a location prefix (a table's location): eviction looks there. */
export function cacheDirOf(cacheDir: string, prefix: string): string {
  return cachePathOf(cacheDir, prefix.replace(/\/+$/, ''));
}

const exists = async (file: string): Promise<boolean> => {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new DuckHouseError('io', `checking ${file}: ${(error as Error).message}`, { cause: error });
  }
};

export class FileCache {
  readonly cacheDir: string;

  constructor(cacheDir: string) {
    this.cacheDir = path.resolve(cacheDir);
  }

  localFileOf(location: string): LocalFile {
    return localFileOf(this.cacheDir, location);
  }

  /**
   * Makes every file readable locally: downloads (or links) what the cache lacks, `concurrency` at a time, and checks
   * that local files read in place exist. Returns how many files it downloaded or linked.
   */
  async ensure(io: FileIO, files: readonly LocalFile[], options: { concurrency?: number; onFile?: (done: number, total: number) => void } = {}): Promise<number> {
    let placed = 0;
    let done = 0;
    await mapLimit(files, options.concurrency ?? 8, async (file) => {
      if (!(await exists(file.local))) {
        if (file.placement === 'in-place') throw new MetadataInvalidError(`table file ${file.location} is missing`, { context: { file: file.location } });
        await this.place(io, file);
        placed++;
      }
      options.onFile?.(++done, files.length);
    });
    return placed;
  }

  private async place(io: FileIO, file: LocalFile): Promise<void> {
    this.checkInside(file.local);
    await mkdir(path.dirname(file.local), { recursive: true });
    const part = `${file.local}.${randomUUID()}${PART_SUFFIX}`;
    try {
      if (file.placement === 'link') {
        const target = localPathOf(file.location);
        if (!(await exists(target))) throw new MetadataInvalidError(`table file ${file.location} is missing`, { context: { file: file.location } });
        await symlink(target, part);
      } else {
        let bytes: Uint8Array;
        try {
          bytes = await io.read(file.location);
        } catch (error) {
          if (error instanceof NotFoundError) throw new MetadataInvalidError(`table file ${file.location} is missing from the warehouse`, { cause: error, context: { file: file.location } });
          throw error;
        }
        await writeFile(part, bytes);
      }
      await rename(part, file.local);
    } catch (error) {
      await rm(part, { force: true }).catch(() => undefined);
      if (error instanceof DuckHouseError) throw error;
      throw new DuckHouseError('io', `caching ${file.location} at ${file.local}: ${(error as Error).message}`, { cause: error, retriable: true, context: { file: file.location } });
    }
  }

  /**
   * Removes cached files that `keep` does not hold: everything under the `dirs` (cache directories of table
   * locations), plus the `candidates` (local paths a view used before). Paths outside cacheDir are never touched;
   * downloads in progress are kept unless stale. Empty directories under `dirs` go too. Returns the files removed.
   */
  async evict(dirs: readonly string[], candidates: readonly string[], keep: ReadonlySet<string>): Promise<number> {
    let evicted = 0;
    /** True when `file` is gone afterwards. */
    const remove = async (file: string): Promise<boolean> => {
      if (keep.has(file) || !this.isInside(file)) return false;
      if (file.endsWith(PART_SUFFIX)) {
        const info = await lstat(file).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs < STALE_PART_MS) return false;
      }
      try {
        await rm(file);
        evicted++;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new DuckHouseError('io', `evicting ${file}: ${(error as Error).message}`, { cause: error });
      }
      return true;
    };
    const walk = async (dir: string): Promise<boolean> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw new DuckHouseError('io', `listing ${dir}: ${error.message}`, { cause: error });
      });
      if (!entries) return false;
      let empty = true;
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (await walk(full)) await rmdir(full).catch(() => undefined);
          else empty = false;
          continue;
        }
        if (!(await remove(full))) empty = false;
      }
      return empty;
    };
    for (const dir of new Set(dirs)) if (this.isInside(dir)) await walk(dir);
    for (const file of candidates) await remove(file);
    return evicted;
  }

  private isInside(file: string): boolean {
    const relative = path.relative(this.cacheDir, file);
    return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
  }

  private checkInside(file: string): void {
    if (!this.isInside(file)) throw new DuckHouseError('internal', `refusing to write ${file}: it is outside the view cache ${this.cacheDir}`);
  }
}
