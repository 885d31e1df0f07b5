// Shared by the sink's integration tests: a sink running in this process on a random group, waiting until a table
// has committed everything a topic holds, and reading a table back (position deletes applied).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { scanRows } from '../../src/catalog/read/scan-table.js';
import type { CommitEvent } from '../../src/compactor/queues.js';
import { partitionKeyOf, tableProgress } from '../../src/consumers/offsets.js';
import type { SinkOptions } from '../../src/consumers/sink.js';
import { Sink } from '../../src/consumers/sink.js';
import { createLogger } from '../../src/shared/logger.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import { uniqueName } from './helpers.js';

export interface TestSink {
  readonly sink: Sink;
  readonly commits: CommitEvent[];
  stop(): Promise<void>;
}

export async function startTestSink(kafka: Kafka, registry: SchemaRegistry, catalog: Catalog, options: Partial<SinkOptions> & { prefix: string }): Promise<TestSink> {
  const commits: CommitEvent[] = [];
  const { prefix, ...rest } = options;
  const sink = new Sink({
    kafka,
    registry,
    catalog,
    group: uniqueName('sink-group'),
    routing: { prefix },
    deadLetters: { topic: `${prefix}.dlq`, table: { namespace: [prefix.replaceAll('-', '_')], name: 'dead_letters' } },
    logger: createLogger('sink-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn'),
    flush: { intervalMs: 500 },
    onCommit: (event) => commits.push(event),
    ...rest,
  });
  await sink.start();
  return { sink, commits, stop: () => sink.stop() };
}

/** The next offset of every partition of `topic` (where a caught-up table stands). */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [partitionKeyOf(topic, o.partition), BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the table records, for every partition of `topic`, the topic's end offset. */
export async function waitCaughtUp(kafka: Kafka, catalog: Catalog, id: TableIdentifier, topic: string, timeoutMs = 60_000): Promise<void> {
  const end = await endOffsets(kafka, topic);
  const deadline = Date.now() + timeoutMs;
  let last = 'table missing';
  while (Date.now() < deadline) {
    if (await catalog.tableExists(id)) {
      const offsets = tableProgress((await catalog.loadTable(id)).metadata).offsets;
      const behind = [...end].filter(([tp, high]) => high > 0n && offsets.get(tp) !== high);
      if (behind.length === 0) return;
      last = behind.map(([tp, high]) => `${tp} at ${offsets.get(tp) ?? 'none'} of ${high}`).join(', ');
    }
    await sleep(200);
  }
  throw new Error(`table ${id.namespace.join('.')}.${id.name} did not catch up with ${topic} in ${timeoutMs} ms: ${last}`);
}

/** Every live row of a table. */
export async function readTable(catalog: Catalog, id: TableIdentifier): Promise<Record<string, unknown>[]> {
  const table = await catalog.loadTable(id);
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of scanRows(table)) rows.push(...chunk);
  return rows;
}
