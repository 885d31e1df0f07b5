// Private copies of the views DuckDB file for the SQL endpoint. Writers (the views refresher, dbt) hold the live file
// read-write for a while, and DuckDB's file lock would make them fail while a reader holds it open (and keep the
// reader out while they write); so queries read a copy, never the live file.
// Before a query: if the live file (or its .wal) changed since the last copy, take the writer lock briefly
// (duckdb-file.ts), copy the file (a reflink where the filesystem has them) and its .wal if one was left behind,
// fold that WAL into the copy, and check the copy opens. If a writer holds the lock, the previous copy is served and
// reported stale. Copies are generations with reference counts: one is deleted when it is no longer current and no
// query holds it. Each SnapshotCopy owns one folder (`<copyDir>/<pid>-<random>`); folders of dead processes are swept.
// Must never: open the live file with DuckDB, copy it without holding its writer lock, delete a copy a query still
// holds, or touch anything outside its own folder (except sweeping dead processes' folders under copyDir).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { withDuckDBFile } from '../../compactor/duckdb-file.js';
import { DuckHouseError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { SqlUnavailableError } from './sql-errors.js';

export interface SnapshotCopyOptions {
  /** The live views DuckDB file (written by the views refresher and dbt). */
  databaseFile: string;
  /** Where copies go (default `<folder of databaseFile>/.sql-copies`); this instance uses a folder of its own in it. */
  copyDir?: string;
  /** How long to wait for the writer lock when an earlier copy can be served instead (default 200 ms). */
  lockWaitMs?: number;
  logger?: Logger;
}

/** One use of a copy: its path, when it was taken, whether the live file has changed since. Release it once. */
export interface CopyLease {
  readonly path: string;
  readonly asOf: Date;
  /** True when the live file changed after this copy and could not be copied again (a writer held it). */
  readonly stale: boolean;
  release(): void;
}

interface Generation {
  readonly path: string;
  readonly asOf: Date;
  readonly signature: string;
  refs: number;
  retired: boolean;
}

const NAME = /^(\d+)-[0-9a-f]{8}$/;
/** After the lock was found busy, how long queries that have a copy to serve skip waiting for it (a dbt run is long). */
const BUSY_BACKOFF_MS = 2_000;
const walOf = (file: string): string => `${file}.wal`;

/** What identifies a version of the live file: inode, size and times of the file and of its WAL (or undefined if gone). */
async function signatureOf(file: string): Promise<string | undefined> {
  const describe = (s: Stats | undefined): string => (s ? `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}` : '-');
  const [main, wal] = await Promise.all([statOrUndefined(file), statOrUndefined(walOf(file))]);
  return main ? `${describe(main)}|${describe(wal)}` : undefined;
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DuckHouseError('io', `reading ${file}: ${(error as Error).message}`, { cause: error, retriable: true });
  }
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class SnapshotCopy {
  readonly databaseFile: string;
  readonly folder: string;
  private readonly copyDir: string;
  private readonly lockWaitMs: number;
  private readonly logger: Logger | undefined;
  private current: Generation | undefined;
  private refreshing: Promise<Generation> | undefined;
  private counter = 0;
  private prepared: Promise<void> | undefined;
  private closed = false;
  /** Until then a writer is taken to still hold the file: queries with a copy to serve do not wait for the lock. */
  private busyUntil = 0;

  constructor(options: SnapshotCopyOptions) {
    this.databaseFile = path.resolve(options.databaseFile);
    this.copyDir = path.resolve(options.copyDir ?? path.join(path.dirname(this.databaseFile), '.sql-copies'));
    this.folder = path.join(this.copyDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
    this.lockWaitMs = options.lockWaitMs ?? 200;
    this.logger = options.logger;
  }

  /**
   * A copy to query: the current one if the live file has not changed, else a fresh one, else (a writer holds the
   * file) the previous one, stale. With no copy yet, waits up to `firstWaitMs` for the writer lock.
   */
  async acquire(options: { firstWaitMs?: number } = {}): Promise<CopyLease> {
    if (this.closed) throw new DuckHouseError('internal', 'SnapshotCopy used after close()');
    const signature = await signatureOf(this.databaseFile);
    const held = this.current;
    if (held && held.signature === signature) return this.lease(held, false);
    if (signature === undefined) {
      if (held) return this.lease(held, true);
      throw new NotFoundError(`no views yet: start \`duckhouse workers\` and commit to a table (expected the views file ${this.databaseFile})`, { context: { file: this.databaseFile } });
    }
    try {
      const waitMs = held ? (Date.now() < this.busyUntil ? 0 : this.lockWaitMs) : Math.max(this.lockWaitMs, options.firstWaitMs ?? 0);
      this.refreshing ??= this.refresh(waitMs).finally(() => {
        this.refreshing = undefined;
      });
      return this.lease(await this.refreshing, false);
    } catch (error) {
      const now = this.current;
      if (!now) throw error;
      this.logger?.warn({ err: error, file: this.databaseFile, asOf: now.asOf.toISOString() }, 'sql: serving the previous copy of the views file');
      return this.lease(now, true);
    }
  }

  /** Deletes every copy no query holds; the rest go when released. Later acquire() calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing?.catch(() => undefined);
    if (this.current) await this.retire(this.current);
    this.current = undefined;
    await this.removeFolderIfEmpty();
  }

  private lease(generation: Generation, stale: boolean): CopyLease {
    generation.refs++;
    let released = false;
    return {
      path: generation.path,
      asOf: generation.asOf,
      stale,
      release: () => {
        if (released) return;
        released = true;
        generation.refs--;
        if (generation.retired && generation.refs === 0) {
          void this.remove(generation).then(() => (this.closed ? this.removeFolderIfEmpty() : undefined));
        }
      },
    };
  }

  /** Takes a new copy under the writer lock and makes it current. */
  private async refresh(waitMs: number): Promise<Generation> {
    await (this.prepared ??= this.prepare());
    let copying = false;
    let generation: Generation;
    try {
      generation = await withDuckDBFile(this.databaseFile, () => {
        copying = true;
        return this.copy();
      }, { waitMs });
    } catch (error) {
      if (!copying && error instanceof DuckHouseError && error.retriable) {
        this.busyUntil = Date.now() + BUSY_BACKOFF_MS;
        throw new SqlUnavailableError(`the views file ${this.databaseFile} is being written (a view refresh or a dbt run) and no earlier copy can be served; retry in a few seconds`, { cause: error });
      }
      throw error;
    }
    const previous = this.current;
    this.current = generation;
    if (previous) await this.retire(previous);
    return generation;
  }

  /** Copies the file (and a left-behind WAL, folded in) while the lock is held; checks the copy opens. */
  private async copy(): Promise<Generation> {
    const signature = await signatureOf(this.databaseFile);
    if (signature === undefined) throw new NotFoundError(`no views yet: start \`duckhouse workers\` and commit to a table (expected the views file ${this.databaseFile})`);
    const target = path.join(this.folder, `views-${++this.counter}.duckdb`);
    const asOf = new Date();
    const hasWal = !signature.endsWith('|-');
    try {
      await copyFile(this.databaseFile, target, constants.COPYFILE_FICLONE);
      if (hasWal) await copyFile(walOf(this.databaseFile), walOf(target), constants.COPYFILE_FICLONE);
      if ((await signatureOf(this.databaseFile)) !== signature) {
        throw new DuckHouseError('io', `the views file ${this.databaseFile} changed while it was copied, though its writer lock was held (a process that does not take the DuckHouse lock writes it)`, { retriable: true });
      }
      await this.check(target, hasWal);
    } catch (error) {
      await Promise.all([rm(target, { force: true }), rm(walOf(target), { force: true })]).catch(() => undefined);
      if (error instanceof DuckHouseError) throw error;
      throw new SqlUnavailableError(`copying the views file ${this.databaseFile} for the SQL endpoint: ${(error as Error).message}`, { cause: error });
    }
    this.logger?.debug({ file: this.databaseFile, copy: target, wal: hasWal }, 'sql: copied the views file');
    return { path: target, asOf, signature, refs: 0, retired: false };
  }

  /**
   * Opens the copy once: read-write when a WAL came with it (DuckDB replays it; CHECKPOINT folds it into the file so
   * read-only attaches see the same state), else read-only. A torn or corrupt copy fails here, not in a query.
   */
  private async check(copy: string, hasWal: boolean): Promise<void> {
    const instance = await DuckDBInstance.create(copy, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      ...(hasWal ? {} : { access_mode: 'READ_ONLY' }),
    });
    try {
      const connection = await instance.connect();
      try {
        if (hasWal) await connection.run('CHECKPOINT');
        await connection.run('SELECT count(*) FROM duckdb_schemas()');
      } finally {
        connection.closeSync();
      }
    } finally {
      instance.closeSync();
    }
    if (hasWal && (await statOrUndefined(walOf(copy)))) {
      throw new DuckHouseError('io', `the copy ${copy} of the views file still has a WAL after CHECKPOINT`, { retriable: true });
    }
  }

  private async retire(generation: Generation): Promise<void> {
    generation.retired = true;
    if (generation.refs === 0) await this.remove(generation);
  }

  private async remove(generation: Generation): Promise<void> {
    await Promise.all([rm(generation.path, { force: true }), rm(walOf(generation.path), { force: true })]).catch((error: unknown) => {
      this.logger?.warn({ err: error, copy: generation.path }, 'sql: could not delete an old copy of the views file');
    });
  }

  private async removeFolderIfEmpty(): Promise<void> {
    const entries = await readdir(this.folder).catch(() => undefined);
    if (entries && entries.length === 0) await rm(this.folder, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Creates this instance's folder and removes the folders that processes no longer running left in copyDir. */
  private async prepare(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    for (const name of await readdir(this.copyDir).catch(() => [] as string[])) {
      const pid = NAME.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue;
      await rm(path.join(this.copyDir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
