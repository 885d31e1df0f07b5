// What the workers are doing, read from Redis: job counts per queue, the tables waiting for a dbt build, the recorded
// dbt runs; and waiting until everything requested so far has been done (the demo, tests, scripts).
// Must never: change a queue (read only).
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DuckHouseError } from '../shared/errors.js';
import type { DbtRunRecord } from './dbt/dbt-runner.js';
import { recentDbtRuns } from './dbt/dbt-runs.js';
import type { QueueNames } from './queues.js';
import { dbtPendingKey, dbtRunsKey, queueNames } from './queues.js';

export type JobCounts = Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed', number>;

export async function queueCounts(connection: Redis, prefix: string): Promise<Record<keyof QueueNames, JobCounts>> {
  const result: Partial<Record<keyof QueueNames, JobCounts>> = {};
  for (const [role, name] of Object.entries(queueNames(prefix)) as [keyof QueueNames, string][]) {
    const queue = new Queue(name, { connection });
    try {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      result[role] = { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, completed: counts.completed ?? 0, failed: counts.failed ?? 0 };
    } finally {
      await queue.close();
    }
  }
  return result as Record<keyof QueueNames, JobCounts>;
}

export interface WaitForWorkersOptions {
  /** Done once a dbt run started at or after this time (ms since the epoch) is recorded. Default: any run. */
  readonly since?: number;
  /** Ignore these queues (e.g. `compact`, whose jobs wait out a throttle delay). */
  readonly ignore?: readonly (keyof QueueNames)[];
  readonly timeoutMs?: number;
}

/** Waits until no job waits or runs (delayed ones included) and a dbt run started since `since`; returns the runs, newest first. */
export async function waitForWorkers(connection: Redis, prefix: string, options: WaitForWorkersOptions = {}): Promise<DbtRunRecord[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const counts = await queueCounts(connection, prefix);
    const busy = Object.entries(counts).filter(([role]) => !options.ignore?.includes(role as keyof QueueNames)).reduce((n, [, c]) => n + c.waiting + c.active + c.delayed, 0);
    const runs = await recentDbtRuns(connection, dbtRunsKey(prefix), 20);
    const built = runs[0] !== undefined && Date.parse(runs[0].startedAt) >= (options.since ?? 0);
    if (busy === 0 && built && (await connection.scard(dbtPendingKey(prefix))) === 0) return runs;
    if (Date.now() > deadline) throw new DuckHouseError('internal', `workers did not finish within ${options.timeoutMs ?? 120_000} ms: ${JSON.stringify(counts)}; ${runs.length} dbt runs recorded`, { retriable: true });
    await sleep(250);
  }
}
