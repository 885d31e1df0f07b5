// The read-only SQL engine behind `POST /api/v1/sql`: one SELECT over the DuckDB views, for an admin or a tenant
// token, with per-query limits on time and rows. Per query: take a slot (at most `maxConcurrent` queries run at once)
// → lease a private copy of the views file (snapshot-copy.ts; never the live file) → open a fresh sandbox DuckDB
// attached to it (sandbox.ts) → read what the copy holds → lock the sandbox down (files readable only below the
// scope's own view files) → check the SQL (sql-guard.ts) → run it, interrupted at the time limit, reading at most
// maxRows + 1 rows → close the sandbox, release the copy and the slot.
// Must never: run SQL the guard has not passed, return rows from a schema the scope does not own, or keep a sandbox
// open after its query (a query DuckDB cannot interrupt keeps its slot until it ends, but the caller gets its answer).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cacheDirOf } from '../../compactor/views/file-cache.js';
import { localPathOf, locationScheme } from '../../catalog/io/location.js';
import { DuckHouseError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { AccessScope } from '../../tenants/scope.js';
import type { SqlColumn } from './sandbox.js';
import { Sandbox } from './sandbox.js';
import { fromDuckDBError, SqlQueryError, SqlRefusedError, SqlTimeoutError, SqlUnavailableError } from './sql-errors.js';
import type { Builtins, GuardCatalog, SchemaObjects } from './sql-guard.js';
import { guardSql } from './sql-guard.js';
import { SnapshotCopy } from './snapshot-copy.js';

export type { SqlColumn } from './sandbox.js';

export interface SqlEngineOptions {
  /** The live views DuckDB file (the views refresher's `databaseFile`). Never opened: queries read copies of it. */
  databaseFile: string;
  /** The views refresher's file cache (views read Parquet files below it). */
  cacheDir: string;
  /** The catalog's warehouse; when local (file:// or a path), views read table files in place there. */
  warehouse?: string;
  /** Where copies of the views file go (default `<folder of databaseFile>/.sql-copies`). */
  copyDir?: string;
  /** DuckDB threads per query (default 2). */
  threads?: number;
  /** DuckDB memory_limit per query (default '512MB'); nothing spills to disk. */
  memoryLimit?: string;
  /** Time limit of a query that asks for none (default 10 s). */
  defaultTimeoutMs?: number;
  /** The longest time limit a query may ask for (default 60 s). */
  maxTimeoutMs?: number;
  /** Rows returned when a query asks for no cap (default 1,000). */
  defaultMaxRows?: number;
  /** The most rows a query may ask for (default 10,000). */
  maxRows?: number;
  /** The longest SQL text accepted, in characters (default 100,000). */
  maxSqlLength?: number;
  /** Queries run at once (default 4); more wait for a slot, within their time limit. */
  maxConcurrent?: number;
  /** How long a query waits for the views file's writer lock when an earlier copy can be served (default 200 ms). */
  lockWaitMs?: number;
  logger?: Logger;
}

export interface SqlRequest {
  scope: AccessScope;
  /** Row cap of this query (default and maximum from the options). */
  maxRows?: number;
  /** Time limit of this query in ms (default and maximum from the options). */
  timeoutMs?: number;
  /** Aborts the query (for example when the HTTP client goes away). */
  signal?: AbortSignal;
}

export interface SqlResult {
  columns: SqlColumn[];
  rows: unknown[][];
  rowCount: number;
  /** The query had more rows than `limits.maxRows`; only those were returned. */
  truncated: boolean;
  elapsedMs: number;
  /** The copy of the views file the query read: when it was taken, and whether the live file has changed since. */
  snapshot: { asOf: string; stale: boolean };
  /** The limits this query ran with. */
  limits: { maxRows: number; timeoutMs: number };
}

/** The catalog name the copy of the views file is attached under (`duckhouse.acme.orders` works as `acme.orders`). */
export const VIEWS_CATALOG = 'duckhouse';
/** How long past its time limit a query that DuckDB does not interrupt may keep the caller waiting. */
const GRACE_MS = 2_000;
/** Copies whose schemas are remembered (the current one, and the previous ones queries may still hold). */
const SCHEMA_CACHE_SIZE = 4;

const positive = (value: number | undefined, name: string, fallback: number): number => {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1) throw new DuckHouseError('config', `SQL engine option ${name}: expected a positive integer, found ${String(value)}`);
  return chosen;
};

export class SqlEngine {
  private readonly copies: SnapshotCopy;
  private readonly cacheDir: string;
  private readonly warehouseDir: string | undefined;
  private readonly options: Required<Pick<SqlEngineOptions, 'threads' | 'memoryLimit' | 'defaultTimeoutMs' | 'maxTimeoutMs' | 'defaultMaxRows' | 'maxRows' | 'maxSqlLength' | 'maxConcurrent'>>;
  private readonly logger: Logger | undefined;
  private builtins: Promise<Builtins> | undefined;
  /** The schemas of recent copies by path (a copy never changes; reading them costs more than the query itself). */
  private readonly schemaCache = new Map<string, Promise<Map<string, SchemaObjects>>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(options: SqlEngineOptions) {
    const maxTimeoutMs = positive(options.maxTimeoutMs, 'maxTimeoutMs', 60_000);
    const maxRows = positive(options.maxRows, 'maxRows', 10_000);
    this.options = {
      threads: positive(options.threads, 'threads', 2),
      memoryLimit: options.memoryLimit ?? '512MB',
      defaultTimeoutMs: Math.min(positive(options.defaultTimeoutMs, 'defaultTimeoutMs', 10_000), maxTimeoutMs),
      maxTimeoutMs,
      defaultMaxRows: Math.min(positive(options.defaultMaxRows, 'defaultMaxRows', 1_000), maxRows),
      maxRows,
      maxSqlLength: positive(options.maxSqlLength, 'maxSqlLength', 100_000),
      maxConcurrent: positive(options.maxConcurrent, 'maxConcurrent', 4),
    };
    this.cacheDir = path.resolve(options.cacheDir);
    this.warehouseDir = options.warehouse !== undefined && locationScheme(options.warehouse) === 'file' ? localPathOf(options.warehouse) : undefined;
    this.logger = options.logger;
    this.copies = new SnapshotCopy({
      databaseFile: options.databaseFile,
      ...(options.copyDir === undefined ? {} : { copyDir: options.copyDir }),
      ...(options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /** Runs one read-only SELECT for `request.scope`; throws the errors of sql-errors.ts (or NotFoundError: no views yet). */
  async query(sql: string, request: SqlRequest): Promise<SqlResult> {
    if (this.closed) throw new DuckHouseError('internal', 'SqlEngine used after close()');
    const started = performance.now();
    const limits = this.limitsOf(sql, request);
    const control = new QueryControl(limits.timeoutMs, request.signal);
    try {
      await this.takeSlot(control);
      const work = this.execute(sql, request.scope, limits, control).finally(() => this.releaseSlot());
      const result = await control.race(work);
      const elapsedMs = Math.round(performance.now() - started);
      this.logger?.debug({ token: request.scope.tokenId, rows: result.rows.length, truncated: result.truncated, elapsedMs, stale: result.snapshot.stale }, 'sql query');
      return { ...result, rowCount: result.rows.length, elapsedMs, limits };
    } catch (error) {
      const mapped = control.explain(error, this.options.maxTimeoutMs) ?? fromDuckDBError(error, request.scope.kind === 'tenant');
      this.logger?.debug({ token: request.scope.tokenId, err: mapped, elapsedMs: Math.round(performance.now() - started) }, 'sql query refused or failed');
      throw mapped;
    } finally {
      control.dispose();
    }
  }

  /** Deletes the copies no query holds (the rest when their queries end); later queries fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.copies.close();
  }

  private limitsOf(sql: string, request: SqlRequest): SqlResult['limits'] {
    if (sql.trim() === '') throw new SqlRefusedError('request', 'found no SQL; send one SELECT');
    if (sql.length > this.options.maxSqlLength) {
      throw new SqlRefusedError('request', `the SQL is ${sql.length} characters long; at most ${this.options.maxSqlLength} are accepted`);
    }
    if (sql.includes('\0')) throw new SqlRefusedError('request', 'the SQL contains a NUL character');
    const pick = (value: number | undefined, name: string, fallback: number, max: number, min: number): number => {
      if (value === undefined) return fallback;
      if (!Number.isInteger(value) || value < min) throw new SqlRefusedError('request', `${name}: expected a whole number from ${min} to ${max}, found ${value}`);
      return Math.min(value, max);
    };
    return {
      maxRows: pick(request.maxRows, 'maxRows', this.options.defaultMaxRows, this.options.maxRows, 0),
      timeoutMs: pick(request.timeoutMs, 'timeoutMs', this.options.defaultTimeoutMs, this.options.maxTimeoutMs, 1),
    };
  }

  private async execute(sql: string, scope: AccessScope, limits: SqlResult['limits'], control: QueryControl): Promise<Omit<SqlResult, 'rowCount' | 'elapsedMs' | 'limits'>> {
    const lease = await this.copies.acquire({ firstWaitMs: control.remainingMs() });
    try {
      control.check();
      const sandbox = await Sandbox.open({ copyPath: lease.path, alias: VIEWS_CATALOG, threads: this.options.threads, memoryLimit: this.options.memoryLimit }).catch((error: unknown) => {
        throw new DuckHouseError('io', `opening the copy ${lease.path} of the views file: ${(error as Error).message}`, { cause: error, retriable: true });
      });
      const unwatch = control.onStop(() => sandbox.interrupt());
      try {
        this.builtins ??= sandbox.builtins().catch((error: unknown) => {
          this.builtins = undefined;
          throw error;
        });
        const schemas = await this.schemasOf(lease.path, sandbox);
        const own = schemas.get((scope.kind === 'tenant' ? scope.tenant.duckdbSchema : 'main').toLowerCase());
        const catalog: GuardCatalog = { alias: VIEWS_CATALOG, defaultSchema: own?.name, schemas, builtins: await this.builtins };
        await sandbox.lockDown(catalog.defaultSchema, this.readableDirs(scope));
        control.check();
        await guardSql(sandbox.connection, sql, scope, catalog);
        control.check();
        const { columns, rows, truncated } = await sandbox.run(sql, limits.maxRows);
        return { columns, rows, truncated, snapshot: { asOf: lease.asOf.toISOString(), stale: lease.stale } };
      } catch (error) {
        throw control.explain(error, this.options.maxTimeoutMs) ?? fromDuckDBError(error, scope.kind === 'tenant');
      } finally {
        unwatch();
        sandbox.close();
      }
    } finally {
      lease.release();
    }
  }

  private schemasOf(copyPath: string, sandbox: Sandbox): Promise<Map<string, SchemaObjects>> {
    let schemas = this.schemaCache.get(copyPath);
    if (!schemas) {
      schemas = sandbox.schemas();
      schemas.catch(() => this.schemaCache.delete(copyPath));
      this.schemaCache.set(copyPath, schemas);
      for (const old of [...this.schemaCache.keys()].slice(0, -SCHEMA_CACHE_SIZE)) this.schemaCache.delete(old);
    }
    return schemas;
  }

  /** Where the scope's views read files: a tenant's part of the cache (and of a local warehouse), else all of them. */
  private readableDirs(scope: AccessScope): string[] {
    if (scope.kind === 'admin') return [this.cacheDir, ...(this.warehouseDir ? [this.warehouseDir] : [])];
    const prefix = scope.tenant.warehousePrefix;
    const dirs = [cacheDirOf(this.cacheDir, prefix)];
    if (locationScheme(prefix) === 'file') dirs.push(localPathOf(prefix));
    return dirs;
  }

  private async takeSlot(control: QueryControl): Promise<void> {
    if (this.running < this.options.maxConcurrent) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        unwatch();
        resolve();
      };
      this.waiting.push(grant);
      const unwatch = control.onStop((why) => {
        const at = this.waiting.indexOf(grant);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(why === 'timeout'
          ? new SqlUnavailableError(`all ${this.options.maxConcurrent} SQL query slots stayed busy for the whole time limit; retry shortly`, { context: { reason: 'busy' } })
          : new SqlQueryError('Interrupt', 'cancelled while waiting for a query slot'));
      });
    });
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

type StopReason = 'timeout' | 'aborted';

/** A query's time limit and abort signal: stop callbacks (interrupt DuckDB), and what a failure after a stop means. */
class QueryControl {
  private stopped: StopReason | undefined;
  private readonly listeners = new Set<(why: StopReason) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly deadline: number;
  private readonly abort = (): void => this.stop('aborted');

  constructor(private readonly timeoutMs: number, private readonly signal: AbortSignal | undefined) {
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(() => this.stop('timeout'), timeoutMs);
    signal?.addEventListener('abort', this.abort, { once: true });
    if (signal?.aborted) this.stop('aborted');
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  onStop(listener: (why: StopReason) => void): () => void {
    if (this.stopped) listener(this.stopped);
    else this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Throws when the query was stopped (between steps that DuckDB cannot interrupt). */
  check(): void {
    if (this.stopped) throw new SqlQueryError('Interrupt', 'stopped');
  }

  /**
   * The error to report for `error` once the query was stopped (a timeout, or a cancelled request), else undefined.
   * DuckHouse errors other than an interruption are reported as they are: a refusal or a missing views file is the
   * real answer even if the clock ran out meanwhile.
   */
  explain(error: unknown, maxTimeoutMs: number): DuckHouseError | undefined {
    if (!this.stopped) return undefined;
    if (error instanceof DuckHouseError && !(error instanceof SqlQueryError && /^interrupt$/i.test(error.duckdbType))) return error;
    if (this.stopped === 'timeout') return new SqlTimeoutError(this.timeoutMs, maxTimeoutMs, { cause: error });
    return new SqlQueryError('Interrupt', 'the query was cancelled: its request was aborted', { cause: error });
  }

  /** The work's result, or a timeout GRACE_MS after the limit if DuckDB has not stopped by then (the work goes on). */
  race<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SqlQueryError('Interrupt', 'not stopped in time')), this.remainingMs() + GRACE_MS);
    });
    work.catch(() => undefined);
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.abort);
  }

  private stop(why: StopReason): void {
    if (this.stopped) return;
    this.stopped = why;
    for (const listener of this.listeners) listener(why);
    this.listeners.clear();
  }
}
