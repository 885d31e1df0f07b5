// The history of dbt builds: a capped Redis list of run records, newest first (key: dbtRunsKey(prefix) from
// ../queues.ts), and a one-line summary of a run for logs and the CLI.
// Must never: store row data or dbt's full output in Redis (records carry clipped messages; the log file has the rest).
import type { Redis } from 'ioredis';
import { DuckHouseError } from '../../shared/errors.js';
import type { DbtNodeResult, DbtRunRecord } from './dbt-results.js';

/** Prepends `record` to the list at `key` and trims the list to the newest `keep` runs, in one MULTI. */
export async function recordDbtRun(redis: Redis, key: string, record: DbtRunRecord, keep = 100): Promise<void> {
  if (!Number.isInteger(keep) || keep < 1) throw new DuckHouseError('config', `keep must be a positive integer, got ${keep}`);
  const replies = await redis.multi().lpush(key, JSON.stringify(record)).ltrim(key, 0, keep - 1).exec();
  const failed = replies?.find(([error]) => error);
  if (!replies || failed) {
    throw new DuckHouseError('io', `recording dbt run ${record.id} at ${key} failed: ${failed?.[0]?.message ?? 'transaction aborted'}`, {
      retriable: true,
      cause: failed?.[0],
    });
  }
}

/** The newest `count` recorded runs, newest first. Entries that are not JSON records are skipped. */
export async function recentDbtRuns(redis: Redis, key: string, count = 20): Promise<DbtRunRecord[]> {
  if (count < 1) return [];
  const entries = await redis.lrange(key, 0, count - 1);
  const runs: DbtRunRecord[] = [];
  for (const entry of entries) {
    try {
      const run = JSON.parse(entry) as DbtRunRecord;
      if (typeof run === 'object' && run !== null && typeof run.id === 'string') runs.push(run);
    } catch {
      // not ours (or truncated by hand): skip it rather than fail a status page
    }
  }
  return runs;
}

const MODEL_TYPES = new Set(['model', 'seed', 'snapshot']);
const TEST_TYPES = new Set(['test', 'unit_test']);
const typeOf = (node: DbtNodeResult): string => node.name.slice(0, node.name.indexOf('.'));

function counts(nodes: readonly DbtNodeResult[]): Map<string, number> {
  const byStatus = new Map<string, number>();
  for (const node of nodes) byStatus.set(node.status, (byStatus.get(node.status) ?? 0) + 1);
  return byStatus;
}

/** `12 passed, 1 failed` from a status count, in a fixed order, leaving zeros out (`none` when empty). */
function describeCounts(byStatus: Map<string, number>, words: Record<string, string>): string {
  const parts: string[] = [];
  for (const [status, word] of Object.entries(words)) {
    const n = byStatus.get(status);
    if (n) parts.push(`${n} ${word}`);
  }
  for (const [status, n] of byStatus) if (!(status in words)) parts.push(`${n} ${status}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * One line about a run, e.g.
 * `dbt dbt-20250102T030405678Z-a1b2c3 error in 4.2 s (demo.orders): models 3 ok, 1 failed; tests 12 passed, 2 skipped;
 * first failure: model.customer_revenue: Runtime Error in model customer_revenue …`.
 */
export function formatDbtRun(record: DbtRunRecord): string {
  const seconds = (record.durationMs / 1000).toFixed(1);
  const head = `dbt ${record.id} ${record.status} in ${seconds} s (${record.tables.join(', ') || 'no tables'})`;
  if (record.status === 'skipped') {
    return `${head}: nothing selected${record.selector ? ` by ${record.selector}` : ''}`;
  }
  const models = counts(record.models.filter((n) => MODEL_TYPES.has(typeOf(n))));
  const tests = counts(record.models.filter((n) => TEST_TYPES.has(typeOf(n))));
  let line = `${head}: models ${describeCounts(models, { success: 'ok', error: 'failed', skipped: 'skipped', 'no-op': 'no-op' })}`;
  line += `; tests ${describeCounts(tests, { pass: 'passed', warn: 'warned', fail: 'failed', error: 'errored', skipped: 'skipped' })}`;
  const first = record.failures[0];
  if (first) line += `; first failure: ${first.node}: ${oneLine(first.message, 240)}`;
  if (record.failures.length > 1) line += ` (+${record.failures.length - 1} more)`;
  return line;
}
