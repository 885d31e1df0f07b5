// The one DuckDB database file that holds the views (ARCHITECTURE.md decision 7). DuckDB lets one process write a
// database file at a time and dbt holds it for a whole run, so every writer (the view refresher, the dbt worker)
// takes this cross-process lock first: refreshes and dbt runs are serialized, whatever process they run in.
// Must never: open the file for writing without holding the lock.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { DuckHouseError } from '../shared/errors.js';

export interface DuckDBFileLockOptions {
  /** How long to wait for another writer (default 30 min: a dbt run may be long). */
  waitMs?: number;
  /** Called once if the lock is busy when first tried. */
  onWait?: () => void;
}

const lockPath = (file: string): string => `${file}.duckhouse-lock`;

/** Where the views refresher caches table files when not told otherwise: `cache/` beside the DuckDB file. */
export const defaultViewsCacheDir = (databaseFile: string): string => path.join(path.dirname(databaseFile), 'cache');

/** Runs `fn` while holding the writer lock of `file` (created with its folder if missing). */
export async function withDuckDBFile<T>(file: string, fn: () => Promise<T>, options: DuckDBFileLockOptions = {}): Promise<T> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 30 * 60_000);
  let release: (() => Promise<void>) | undefined;
  let told = false;
  for (let delay = 50; !release; delay = Math.min(1000, delay * 2)) {
    try {
      release = await lockfile.lock(file, { realpath: false, lockfilePath: lockPath(file), stale: 60_000, update: 10_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw new DuckHouseError('io', `locking DuckDB file ${file}: ${(error as Error).message}`, { cause: error });
      if (Date.now() > deadline) {
        throw new DuckHouseError('io', `DuckDB file ${file} stayed locked by another writer (a view refresh or dbt run) for ${Math.round((options.waitMs ?? 1_800_000) / 1000)} s`, { retriable: true });
      }
      if (!told) options.onWait?.();
      told = true;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
