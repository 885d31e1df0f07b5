// The status page's reads of Kafka and Redis, each bounded in time: topic offsets (ONE admin client per report, one
// fetchTopicOffsets per topic with a concurrency cap, topics listed first so a missing topic is reported instead of
// auto-created), queue counts, and recent dbt runs summarised for a scope.
// Must never: write to Kafka or Redis, create a topic, or wait on a source without a deadline.
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { DbtNodeResult, DbtRunRecord } from '../../compactor/dbt/dbt-results.js';
import { recentDbtRuns } from '../../compactor/dbt/dbt-runs.js';
import { dbtRunsKey, queueNames } from '../../compactor/queues.js';
import { queueCounts } from '../../compactor/worker-status.js';
import { DuckHouseError, describeError } from '../../shared/errors.js';
import type { AccessScope } from '../../tenants/scope.js';
import { ownsNamespace } from '../../tenants/scope.js';
import type { DbtRunSummary, QueueStatus } from './status-types.js';

/** Resolves like `promise`, or rejects after `ms` with an error naming `what` (the promise keeps running). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DuckHouseError('io', `${what} did not answer within ${ms} ms`, { retriable: true })), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** `fn` over `items`, at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  return results;
}

/** One line for a page: the error's message, without a stack. */
export const errorText = (error: unknown): string => describeError(error).replace(/\s+/g, ' ').slice(0, 500);

export interface PartitionOffsets {
  readonly partition: number;
  /** The oldest offset still in the log. */
  readonly low: bigint;
  /** The next offset to be written. */
  readonly high: bigint;
}

/** Per topic: its partitions' offsets, or why they could not be read. */
export type TopicOffsetsResult = { readonly partitions: PartitionOffsets[] } | { readonly error: string; readonly missing: boolean };

/**
 * The offsets of `topics` with one admin client: topics are listed first (a missing topic is reported, never
 * auto-created by a metadata request), then one fetchTopicOffsets per existing topic, `concurrency` at a time.
 * Throws when Kafka cannot be reached at all.
 */
export async function fetchTopicOffsets(kafka: Kafka, topics: readonly string[], concurrency: number): Promise<Map<string, TopicOffsetsResult>> {
  const result = new Map<string, TopicOffsetsResult>();
  if (topics.length === 0) return result;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    await mapLimit([...new Set(topics)], concurrency, async (topic) => {
      if (!existing.has(topic)) {
        result.set(topic, { error: `topic ${topic} does not exist`, missing: true });
        return;
      }
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        const partitions = offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) })).sort((a, b) => a.partition - b.partition);
        result.set(topic, { partitions });
      } catch (error) {
        result.set(topic, { error: `reading the offsets of ${topic} failed: ${errorText(error)}`, missing: false });
      }
    });
    return result;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Fails fast when the Redis connection is down (BullMQ's connections queue commands while reconnecting, and its
 * queues print every connection error): a connection that is still connecting gets a PING, under the caller's deadline.
 */
export async function requireRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'reconnecting' || redis.status === 'close' || redis.status === 'end') {
    throw new DuckHouseError('io', `Redis is not reachable (connection ${redis.status})`, { retriable: true });
  }
  await redis.ping();
}

/** Job counts of every DuckHouse queue of `prefix`. */
export async function readQueues(redis: Redis, prefix: string): Promise<QueueStatus[]> {
  await requireRedis(redis);
  const names = queueNames(prefix);
  const counts = await queueCounts(redis, prefix);
  return (Object.keys(names) as (keyof typeof names)[]).map((role) => ({ role, name: names[role], counts: counts[role] }));
}

const MODEL_TYPES = new Set(['model', 'seed', 'snapshot']);
const TEST_TYPES = new Set(['test', 'unit_test']);
const typeOf = (node: DbtNodeResult): string => node.name.slice(0, node.name.indexOf('.'));

/** True when `table` (`ns.table`) lies in a namespace the scope owns. */
export function ownsTableName(scope: AccessScope, table: string): boolean {
  const parts = table.split('.');
  return parts.length >= 2 && ownsNamespace(scope, parts.slice(0, -1));
}

/** A run as the page shows it: counts of models and tests, the first failures (admins only). */
export function summarizeDbtRun(run: DbtRunRecord, scope: AccessScope): DbtRunSummary {
  const models = run.models.filter((n) => MODEL_TYPES.has(typeOf(n)));
  const tests = run.models.filter((n) => TEST_TYPES.has(typeOf(n)));
  return {
    id: run.id,
    status: run.status,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    // A tenant sees the run's tables that are its own; the rest belong to others.
    tables: scope.kind === 'admin' ? [...run.tables] : run.tables.filter((t) => ownsTableName(scope, t)),
    models: { ok: models.filter((n) => n.status === 'success').length, failed: models.filter((n) => n.status === 'error').length, total: models.length },
    tests: { passed: tests.filter((n) => n.status === 'pass').length, failed: tests.filter((n) => n.status === 'fail' || n.status === 'error').length, total: tests.length },
    // Failure messages name models and values of the shared dbt project: admins only.
    failures: scope.kind === 'admin' ? run.failures.slice(0, 3).map((f) => `${f.node}: ${f.message.replace(/\s+/g, ' ').slice(0, 300)}`) : [],
  };
}

/**
 * The newest `count` dbt runs the scope may see: every run for an admin; for a tenant, the runs that were for at
 * least one of its tables (looked for among the newest 100 recorded).
 */
export async function readDbtRuns(redis: Redis, prefix: string, scope: AccessScope, count: number): Promise<DbtRunSummary[]> {
  await requireRedis(redis);
  const runs = await recentDbtRuns(redis, dbtRunsKey(prefix), scope.kind === 'admin' ? count : 100);
  const visible = scope.kind === 'admin' ? runs : runs.filter((run) => run.tables.some((t) => ownsTableName(scope, t)));
  return visible.slice(0, count).map((run) => summarizeDbtRun(run, scope));
}
