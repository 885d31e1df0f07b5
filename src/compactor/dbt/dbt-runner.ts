// Runs one `dbt build` of the models downstream of the Iceberg tables that changed, against the views' DuckDB file,
// and says what happened as a DbtRunRecord (dbt-results.ts). The dbt worker calls it; it decides what to throw.
// Each run gets its own target and log folders (concurrent runs and tests never share dbt's files); dbt's parse cache
// is carried between runs of the same project. The whole run holds the DuckDB file's writer lock (duckdb-file.ts).
// Must never: start dbt without that lock, leave a dbt process running after it returns (timeout or abort kill the
// whole process group), or pass dbt a selector built from anything but a checked `namespace.table` name.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DuckHouseError } from '../../shared/errors.js';
import { dbtRunFinished } from '../../shared/metrics.js';
import type { Logger } from '../../shared/logger.js';
import { withDuckDBFile } from '../duckdb-file.js';
import type { DbtFailure, DbtNodeResult, DbtRunRecord } from './dbt-results.js';
import { DBT_RUN_ID, dbtRunId, dbtSelection, parseProgressLine, parseRunResults, progressPercent, runStatus } from './dbt-results.js';
import { formatDbtRun } from './dbt-runs.js';

export type { DbtFailure, DbtNodeResult, DbtRunRecord } from './dbt-results.js';

export interface DbtRunOptions {
  /** The dbt executable (`readEndpoints().python.dbt`). */
  dbt: string;
  /** The dbt project; also its profiles dir (profiles.yml reads DUCKHOUSE_DUCKDB_PATH). */
  projectDir: string;
  /** The views' DuckDB file; dbt reads the views and writes the models there. */
  databaseFile: string;
  /** The changed Iceberg tables, `namespace.table`. Tables that are no source of the project select nothing. */
  tables: readonly string[];
  logger: Logger;
  /** Where run folders go (`<targetDir>/<run id>/{target,logs,dbt-output.log}`); default `<os tmp>/duckhouse-dbt`. */
  targetDir?: string;
  /** Kill dbt after this long (default 20 min); the run is then an error. */
  timeoutMs?: number;
  /** Percent of nodes done (0–100) and what just finished. */
  onProgress?: (percent: number, message: string) => void;
  /** Aborting kills dbt; the run is then an error with a failure of status `aborted`. */
  signal?: AbortSignal;
  /** Run folders kept under targetDir, newest first (default 20); older ones are deleted after each run. */
  keepRuns?: number;
  /** How long to wait for the DuckDB file lock (default: withDuckDBFile's, 30 min). */
  lockWaitMs?: number;
}

export const DEFAULT_DBT_TIMEOUT_MS = 20 * 60_000;
export const DEFAULT_KEEP_DBT_RUNS = 20;
/** Time between SIGTERM and SIGKILL to the process group. */
const KILL_GRACE_MS = 5_000;
/** Console lines kept in memory for the message of a run that broke outside any node. */
const TAIL_LINES = 20;

interface ProcessOutcome {
  exitCode: number | null;
  /** Set when we killed dbt. */
  killed?: 'timeout' | 'aborted';
  spawnError?: Error;
  tail: string[];
}

/**
 * Runs `dbt build --select @source:<ns>.<table> …` for the changed tables and returns the record. Returns `skipped`
 * without starting dbt when no table can be a source; dbt failures, timeouts and aborts come back as `error`
 * records. Throws (DuckHouseError) only when the project or executable is missing or the lock stays busy.
 */
export async function runDbtBuild(options: DbtRunOptions): Promise<DbtRunRecord> {
  const { logger } = options;
  const projectDir = path.resolve(options.projectDir);
  const databaseFile = path.resolve(options.databaseFile);
  const baseDir = path.resolve(options.targetDir ?? path.join(tmpdir(), 'duckhouse-dbt'));
  await requireFile(path.join(projectDir, 'dbt_project.yml'), 'dbt project');
  await requireFile(path.join(projectDir, 'profiles.yml'), 'dbt profiles');

  const tables = [...new Set(options.tables)];
  const { selectors, ignored } = dbtSelection(tables);
  if (ignored.length > 0) logger.warn({ ignored }, 'tables that cannot be dbt sources (not `namespace.table`) are left out of the dbt selection');
  const selector = selectors.join(' ');
  const notRun = (status: DbtRunRecord['status'], failures: DbtFailure[]): DbtRunRecord => ({
    id: dbtRunId(new Date(), randomBytes(3).toString('hex')),
    status, startedAt: new Date().toISOString(), durationMs: 0, tables, selector, models: [], failures, exitCode: null,
  });
  if (selectors.length === 0) return finish(options, notRun('skipped', []));
  if (options.signal?.aborted) return finish(options, notRun('error', [{ node: 'dbt', status: 'aborted', message: 'aborted before dbt started' }]));

  const record = await withDuckDBFile(databaseFile, () => buildLocked(options, { projectDir, databaseFile, baseDir, tables, selectors }), {
    ...(options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs }),
    onWait: () => logger.info({ databaseFile }, 'waiting for the DuckDB file lock (a view refresh or another dbt run holds it)'),
  });
  await pruneRuns(baseDir, options.keepRuns ?? DEFAULT_KEEP_DBT_RUNS, record.id).catch((error: unknown) =>
    logger.warn({ err: error, baseDir }, 'could not delete old dbt run folders'),
  );
  return finish(options, record);
}

interface Resolved {
  projectDir: string;
  databaseFile: string;
  baseDir: string;
  tables: string[];
  selectors: string[];
}

async function buildLocked(options: DbtRunOptions, resolved: Resolved): Promise<DbtRunRecord> {
  const { projectDir, databaseFile, baseDir, tables, selectors } = resolved;
  const started = new Date();
  const id = dbtRunId(started, randomBytes(3).toString('hex'));
  const runDir = path.join(baseDir, id);
  const targetPath = path.join(runDir, 'target');
  const logPath = path.join(runDir, 'logs');
  const logFile = path.join(runDir, 'dbt-output.log');
  await mkdir(targetPath, { recursive: true });
  await mkdir(logPath, { recursive: true });
  const parseCache = path.join(baseDir, 'partial-parse', `${createHash('sha256').update(`${options.dbt}\n${projectDir}`).digest('hex').slice(0, 16)}.msgpack`);
  await copyFile(parseCache, path.join(targetPath, 'partial_parse.msgpack')).catch(() => undefined);

  const args = ['build', '--project-dir', projectDir, '--profiles-dir', projectDir, '--target-path', targetPath, '--log-path', logPath, '--select', ...selectors];
  const timeoutMs = options.timeoutMs ?? DEFAULT_DBT_TIMEOUT_MS;
  options.logger.info({ runId: id, tables, selector: selectors.join(' '), databaseFile, logFile }, 'dbt build started');
  progress(options, 0, `dbt build ${selectors.join(' ')}`);

  const outcome = await runProcess(options, args, { cwd: projectDir, env: dbtEnv(databaseFile), logFile, timeoutMs });
  const durationMs = Date.now() - started.getTime();

  let models: DbtNodeResult[] = [];
  let failures: DbtFailure[] = [];
  const resultsFile = path.join(targetPath, 'run_results.json');
  try {
    ({ models, failures } = parseRunResults(await readFile(resultsFile, 'utf8')));
  } catch (error) {
    // No results: dbt broke before running nodes (parse error, locked file) or was killed. Say why below.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') options.logger.warn({ err: error, resultsFile }, 'unreadable run_results.json');
  }
  const tail = outcome.tail.join('\n');
  if (outcome.spawnError) {
    throw new DuckHouseError('config', `could not start dbt (${options.dbt}): ${outcome.spawnError.message}`, { cause: outcome.spawnError, context: { logFile } });
  } else if (outcome.killed) {
    const why = outcome.killed === 'timeout' ? `did not finish within ${timeoutMs} ms and was killed` : 'was aborted and killed';
    failures = [...failures, { node: 'dbt', status: outcome.killed, message: `dbt build ${why}; last output:\n${tail}` }];
  } else if (outcome.exitCode !== 0 && failures.length === 0) {
    failures = [{ node: 'dbt', status: 'error', message: `dbt exited with code ${outcome.exitCode}:\n${tail}` }];
  } else {
    await saveParseCache(path.join(targetPath, 'partial_parse.msgpack'), parseCache, id);
  }
  const status = outcome.killed ? 'error' : runStatus(outcome.exitCode, models, failures);
  return {
    id, status, startedAt: started.toISOString(), durationMs, tables, selector: selectors.join(' '), models, failures,
    exitCode: outcome.exitCode, logFile,
  };
}

/** The child's environment: ours without DBT_* settings (they would change flags behind the runner's back), plus dbt's. */
function dbtEnv(databaseFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('DBT_')) env[name] = value;
  return {
    ...env,
    DUCKHOUSE_DUCKDB_PATH: databaseFile,
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_USE_COLORS: 'false',
    DBT_LOG_FORMAT: 'text',
    DBT_PRINTER_WIDTH: '100',
    DBT_VERSION_CHECK: 'false',
    // Progress lines as they happen, not when Python's pipe buffer fills.
    PYTHONUNBUFFERED: '1',
  };
}

interface SpawnSettings {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs: number;
}

/** Runs dbt in its own process group, console to `logFile`, progress to onProgress; kills the group on timeout/abort. */
async function runProcess(options: DbtRunOptions, args: string[], settings: SpawnSettings): Promise<ProcessOutcome> {
  const log = createWriteStream(settings.logFile, { flags: 'a' });
  const tail: string[] = [];
  const outcome: ProcessOutcome = { exitCode: null, tail };
  let child: ChildProcess;
  try {
    child = spawn(options.dbt, args, { cwd: settings.cwd, env: settings.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    await closeStream(log);
    return { ...outcome, spawnError: error as Error };
  }
  const onLine = (line: string): void => {
    log.write(`${line}\n`);
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const done = parseProgressLine(line);
    if (done) progress(options, progressPercent(done), `${done.done} of ${done.total} ${done.outcome} ${done.text}`);
  };
  const streams = [child.stdout, child.stderr].map((stream) => {
    if (!stream) return Promise.resolve();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', onLine);
    return new Promise<void>((resolve) => lines.once('close', resolve));
  });

  let killTimer: NodeJS.Timeout | undefined;
  const kill = (reason: 'timeout' | 'aborted'): void => {
    if (outcome.killed || child.exitCode !== null || child.signalCode !== null) return;
    outcome.killed = reason;
    options.logger.warn({ pid: child.pid, reason }, 'killing the dbt process group');
    signalGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => kill('timeout'), settings.timeoutMs);
  const onAbort = (): void => kill('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  await new Promise<void>((resolve) => {
    child.once('error', (error) => {
      outcome.spawnError = error;
      resolve();
    });
    child.once('close', (code) => {
      outcome.exitCode = code;
      resolve();
    });
  });
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  if (outcome.killed) {
    // dbt is gone; make sure nothing it started outlives it.
    signalGroup(child, 'SIGKILL');
  }
  clearTimeout(killTimer);
  if (!outcome.spawnError) await Promise.all(streams);
  await closeStream(log);
  return outcome;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

async function closeStream(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve) => stream.end(resolve));
}

function progress(options: DbtRunOptions, percent: number, message: string): void {
  if (!options.onProgress) return;
  try {
    options.onProgress(percent, message);
  } catch (error) {
    options.logger.warn({ err: error }, 'dbt onProgress callback threw');
  }
}

/** Logs the outcome in one line and reports 100 %. */
function finish(options: DbtRunOptions, record: DbtRunRecord): DbtRunRecord {
  const line = formatDbtRun(record);
  if (record.status === 'error') options.logger.warn({ runId: record.id, logFile: record.logFile, failures: record.failures.length }, line);
  else options.logger.info({ runId: record.id, logFile: record.logFile }, line);
  progress(options, 100, line);
  dbtRunFinished(record);
  return record;
}

async function requireFile(file: string, what: string): Promise<void> {
  try {
    await stat(file);
  } catch (cause) {
    throw new DuckHouseError('config', `${what}: expected ${file}, found nothing there`, { cause });
  }
}

/** Keeps dbt's partial-parse state for the next run of the same project (dbt re-parses whatever changed). */
async function saveParseCache(from: string, to: string, id: string): Promise<void> {
  try {
    await mkdir(path.dirname(to), { recursive: true });
    const tmp = `${to}.${id}.tmp`;
    await copyFile(from, tmp);
    await rename(tmp, to);
  } catch {
    // no cache: the next run parses the whole project (slower, same result)
  }
}

/** Deletes run folders under `baseDir` beyond the newest `keep` (only folders named like run ids; never `current`). */
async function pruneRuns(baseDir: string, keep: number, current: string): Promise<void> {
  const runs = (await readdir(baseDir)).filter((name) => DBT_RUN_ID.test(name) && name !== current).sort();
  const excess = runs.length - Math.max(0, keep - 1);
  for (const name of runs.slice(0, Math.max(0, excess))) await rm(path.join(baseDir, name), { recursive: true, force: true });
}
