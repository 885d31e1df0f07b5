// Shared by the sink's integration tests: their Kafka/registry/catalog/temp-folder context, a sink running in this
// process on a random group, waiting until a table has committed everything a topic holds, and reading a table back
// (position deletes applied).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { scanRows } from '../../src/catalog/read/scan-table.js';
import type { CommitEvent } from '../../src/compactor/queues.js';
import { topicEndOffsets, waitForTable } from '../../src/consumers/catch-up.js';
import type { SinkOptions } from '../../src/consumers/sink.js';
import { Sink } from '../../src/consumers/sink.js';
import { createLogger } from '../../src/shared/logger.js';
import { createKafka } from '../../src/producers/kafka/client.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import { createRegistry } from '../../src/schemas/registry.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { endpoints, uniqueName } from './helpers.js';

/** What every sink test file sets up once: clients of the stack, a SQL catalog (local warehouse), a temp folder. */
export interface SinkTestContext {
  kafka: Kafka;
  registry: SchemaRegistry;
  fixture: CatalogFixture;
  /** A fresh temporary folder for CSV and schema files. */
  dir: string;
}

export async function openSinkTestContext(tmpPrefix: string): Promise<SinkTestContext> {
  return {
    kafka: createKafka({ brokers: endpoints().kafka.brokers, quiet: true }),
    registry: createRegistry({ url: endpoints().schemaRegistry.url }),
    fixture: await catalogFixture('sql-local'),
    dir: await mkdtemp(path.join(tmpdir(), tmpPrefix)),
  };
}

export async function closeSinkTestContext(context: SinkTestContext): Promise<void> {
  await context.fixture.cleanup();
  await rm(context.dir, { recursive: true, force: true });
}

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
export const endOffsets = topicEndOffsets;

/** Waits until the table records, for every partition of `topic`, the topic's end offset. */
export const waitCaughtUp = waitForTable;

/** Every live row of a table. */
export async function readTable(catalog: Catalog, id: TableIdentifier): Promise<Record<string, unknown>[]> {
  const table = await catalog.loadTable(id);
  const rows: Record<string, unknown>[] = [];
  for await (const chunk of scanRows(table)) rows.push(...chunk);
  return rows;
}
