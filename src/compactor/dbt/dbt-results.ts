// What a dbt build did, as DuckHouse records it: the run record type, the selection built from the changed tables,
// and the pure readers of dbt's output (run_results.json, the "3 of 24 OK …" progress lines). The runner
// (dbt-runner.ts) does the IO; this module only turns text and JSON into values.
// Must never: touch the filesystem, spawn processes or read the clock.

/** One node dbt executed (a model, test, seed, snapshot). */
export interface DbtNodeResult {
  /** `<resource type>.<name>`: `model.customer_revenue`, `test.not_null_stg_orders_order_id` (no package, no hash). */
  name: string;
  /** dbt's status: models `success` | `error` | `skipped` | `no-op`; tests `pass` | `warn` | `fail` | `error` | `skipped`. */
  status: string;
  /** Seconds, as dbt reports it. */
  executionTime: number;
  /** dbt's message when the node did not simply succeed (error text, `Got 3 results, configured to fail if != 0`). */
  message?: string;
}

/** A node that failed (status `error` or `fail`), or `dbt` itself when the run broke before or outside any node. */
export interface DbtFailure {
  node: string;
  status: string;
  message: string;
}

/** One dbt build, as recorded (Redis, logs, CLI). */
export interface DbtRunRecord {
  id: string;
  /** `skipped`: nothing of the project is downstream of the changed tables (dbt was not needed or selected nothing). */
  status: 'success' | 'error' | 'skipped';
  /** ISO-8601; when dbt started (after the DuckDB file lock was taken). */
  startedAt: string;
  durationMs: number;
  /** The changed tables the run was for (`namespace.table`). */
  tables: string[];
  /** The `--select` arguments, space-separated (empty when dbt was not started). */
  selector: string;
  /** Every node dbt executed, in execution order (models and tests alike, see `DbtNodeResult.name`). */
  models: DbtNodeResult[];
  failures: DbtFailure[];
  /** dbt's exit code: 0 ok, 1 a node failed, 2 dbt itself failed; null when killed or not started. */
  exitCode: number | null;
  /** dbt's console output (stdout and stderr) for this run. */
  logFile?: string;
}

/** A changed table usable as a dbt source selector: `namespace.table`, each part a plain identifier. */
const TABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/**
 * The `--select` arguments for the changed tables: `@source:<ns>.<table>` for each, i.e. the table's source, every
 * node downstream of it, and every node those need (a mart joining two sources is rebuilt when one changes, and its
 * other parents are built too if they do not exist yet). Names that cannot be a source of the project (nested
 * namespaces, characters dbt's selector syntax gives meaning to) are returned in `ignored`. Duplicates are dropped.
 */
export function dbtSelection(tables: readonly string[]): { selectors: string[]; ignored: string[] } {
  const selectors: string[] = [];
  const ignored: string[] = [];
  for (const table of new Set(tables)) {
    if (TABLE_NAME.test(table)) selectors.push(`@source:${table}`);
    else ignored.push(table);
  }
  return { selectors, ignored };
}

/**
 * `model.duckhouse.customer_revenue` → `model.customer_revenue`; `test.duckhouse.not_null_x.3f2a9c1b0d` →
 * `test.not_null_x`; `unit_test.duckhouse.m.t` → `unit_test.m.t`.
 */
export function shortNodeName(uniqueId: string): string {
  const parts = uniqueId.split('.');
  if (parts.length < 3) return uniqueId;
  const [type, , ...rest] = parts;
  if (type === 'test' && rest.length > 1 && /^[0-9a-f]{10}$/.test(rest[rest.length - 1] ?? '')) rest.pop();
  return `${type}.${rest.join('.')}`;
}

const FAILED = new Set(['error', 'fail', 'runtime error']);
const QUIET = new Set(['success', 'pass', 'no-op']);
/** Longest node message kept in a record (compiled SQL errors can be long; the log file has all of it). */
export const MAX_MESSAGE_CHARS = 4000;

const clip = (text: string, max = MAX_MESSAGE_CHARS): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Reads dbt's run_results.json (artifact schema v5/v6) into node results and failures. Throws on malformed JSON. */
export function parseRunResults(json: string): { models: DbtNodeResult[]; failures: DbtFailure[] } {
  const parsed = JSON.parse(json) as { results?: unknown };
  if (!Array.isArray(parsed.results)) throw new TypeError('run_results.json has no `results` array');
  const models: DbtNodeResult[] = [];
  const failures: DbtFailure[] = [];
  for (const raw of parsed.results as Record<string, unknown>[]) {
    const name = shortNodeName(String(raw.unique_id ?? 'unknown'));
    const status = String(raw.status ?? 'unknown');
    const executionTime = typeof raw.execution_time === 'number' ? Math.round(raw.execution_time * 1000) / 1000 : 0;
    const message = typeof raw.message === 'string' && raw.message.trim() !== '' ? clip(raw.message.trim()) : undefined;
    const result: DbtNodeResult = { name, status, executionTime };
    if (message !== undefined && !QUIET.has(status)) result.message = message;
    models.push(result);
    if (FAILED.has(status)) failures.push({ node: name, status, message: message ?? `${name} ended with status ${status}` });
  }
  return { models, failures };
}

/** A progress line of dbt's console output: `12:00:01  3 of 24 OK created sql view model staging.stg_orders … [OK in 0.05s]`. */
export interface DbtProgressLine {
  done: number;
  total: number;
  /** OK, PASS, WARN, ERROR, FAIL, SKIP, NO-OP. */
  outcome: string;
  /** The rest of the line, dots and timing removed: `created sql view model staging.stg_orders`. */
  text: string;
}

const PROGRESS = /\b(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b\s*(.*)$/;

/** Parses a finished-node line of dbt's text output; START lines and everything else give null. */
export function parseProgressLine(line: string): DbtProgressLine | null {
  const match = PROGRESS.exec(line);
  if (!match) return null;
  const [, done, total, outcome, rest] = match as unknown as [string, string, string, string, string];
  const text = rest.replace(/\s*\.{2,}.*$/, '').replace(/\s*\[[^\]]*\]\s*$/, '').trim();
  return { done: Number(done), total: Number(total), outcome, text };
}

/** Whole percent of nodes finished, 0–100. */
export function progressPercent(line: DbtProgressLine): number {
  return line.total > 0 ? Math.min(100, Math.floor((line.done * 100) / line.total)) : 0;
}

/**
 * The status of a finished dbt process: `error` when it exited non-zero or a node failed, `skipped` when it ran
 * nothing, else `success` (warnings included).
 */
export function runStatus(exitCode: number | null, models: readonly DbtNodeResult[], failures: readonly DbtFailure[]): DbtRunRecord['status'] {
  if (exitCode !== 0 || failures.length > 0) return 'error';
  return models.length === 0 ? 'skipped' : 'success';
}

/** A run id that sorts by start time: `dbt-20250102T030405678Z-a1b2c3`. */
export function dbtRunId(startedAt: Date, randomHex: string): string {
  return `dbt-${startedAt.toISOString().replace(/[-:.]/g, '')}-${randomHex}`;
}

/** Matches run ids made by dbtRunId (and only them: pruning deletes nothing else). */
export const DBT_RUN_ID = /^dbt-\d{8}T\d{9}Z-[0-9a-f]{6}$/;
