// `duckhouse sink --topics … | --topic-pattern …`: consumes table topics into Iceberg tables until SIGINT/SIGTERM,
// which flushes and commits what it holds and exits 0; a second signal exits at once (130) without committing more.
// Reads the running stack's endpoints unless told otherwise; never prints credentials.
import { Command, InvalidArgumentError } from 'commander';
import { tableIdentifier } from '../catalog/catalogs/catalog.js';
import { CommitEventPublisher } from '../compactor/queues.js';
import { partitionSpecsByTable } from '../consumers/routing.js';
import { DEFAULT_FLUSH, Sink } from '../consumers/sink.js';
import { createKafka, dlqTopic } from '../producers/kafka/client.js';
import { createRegistry } from '../schemas/registry.js';
import { DuckHouseError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { connectRedis } from '../shared/redis.js';
import { readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import type { MetricsFlags } from './common-options.js';
import { addConnectionOptions, addMetricsOptions, addPrefixOption, brokerList, metricsServerFor, positiveInt, registryUrl } from './common-options.js';
import { stopOnSignal } from './signals.js';

interface SinkFlags extends CatalogFlags, MetricsFlags {
  topics?: string;
  topicPattern?: string;
  prefix: string;
  group: string;
  tableMap: string[];
  partitionBy: string[];
  flushInterval: number;
  flushRows: number;
  flushBytes: number;
  maxBuffered: number;
  dlqTopic?: string;
  dlqTable: string;
  commitEvents: boolean;
  sessionTimeout: number;
  brokers?: string;
  registry?: string;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `128MiB`, `64m`, `1048576` → bytes. */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError(`expected a size like 128MiB, 64m or 1048576, found ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1) throw new InvalidArgumentError(`expected at least 1 byte, found ${JSON.stringify(text)}`);
  return bytes;
}

/** `5s`, `500ms`, `2m`, `5000` (ms) → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 5s, 500ms or 2m, found ${JSON.stringify(text)}`);
  const factor = match[2] === 's' ? 1000 : match[2] === 'm' ? 60_000 : 1;
  return Math.round(Number(match[1]) * factor);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function sinkCommand(): Command {
  const command = new Command('sink')
    .description('consume table topics into Iceberg tables: micro-batched, upserts and deletes as position deletes, exactly once')
    .option('--topics <list>', 'comma-separated topics to consume')
    .option('--topic-pattern <regex>', 'consume every topic matching this regular expression (topics existing at start)')
    .option('--group <id>', 'Kafka consumer group (sinks sharing it share the partitions)', 'duckhouse-sink')
    .option('--table-map <topic=ns.table>', 'route a topic to a table explicitly (repeatable)', collect, [])
    .option('--partition-by <ns.table=spec>', 'partition spec of a table the sink creates, e.g. sales.orders=day(created_at),bucket(16,id) (repeatable)', collect, [])
    .option('--flush-interval <duration>', 'commit a batch this old', parseDuration, DEFAULT_FLUSH.intervalMs)
    .option('--flush-rows <n>', 'commit a batch holding this many rows', positiveInt, DEFAULT_FLUSH.rows)
    .option('--flush-bytes <size>', 'commit a batch holding this many bytes of records', parseBytes, DEFAULT_FLUSH.bytes)
    .option('--max-buffered <size>', 'pause consumption while batches hold this much', parseBytes, 512 * 1024 * 1024)
    .option('--dlq-topic <topic>', 'dead-letter topic (default <prefix>.dlq)')
    .option('--dlq-table <ns.table>', 'Iceberg table of dead letters', 'duckhouse.dead_letters')
    .option('--session-timeout <duration>', 'how long the group waits for a silent sink before moving its partitions (min 6s)', parseDuration, 30_000)
    .option('--no-commit-events', 'do not publish commit events to BullMQ (Redis of the stack)');
  addPrefixOption(command);
  addConnectionOptions(command);
  addMetricsOptions(command);
  return addCatalogOptions(command).action(async (flags: SinkFlags) => {
    if (!flags.topics === !flags.topicPattern) throw new DuckHouseError('config', 'sink: give exactly one of --topics or --topic-pattern');
    const stack = readEndpoints();
    const logger = createLogger('sink');
    const tables: Record<string, string> = {};
    for (const item of flags.tableMap) {
      const [topic, table] = item.split('=');
      if (!topic || !table) throw new DuckHouseError('config', `--table-map ${item}: expected <topic>=<namespace>.<table>`);
      tableIdentifier(table);
      tables[topic] = table;
    }
    let topicPattern: RegExp | undefined;
    try {
      topicPattern = flags.topicPattern ? new RegExp(`^(?:${flags.topicPattern})$`) : undefined;
    } catch (error) {
      throw new DuckHouseError('config', `--topic-pattern ${flags.topicPattern}: not a regular expression (${(error as Error).message})`);
    }
    const catalog = openCatalog(flags, stack);
    const redis = flags.commitEvents ? connectRedis(stack.redis) : undefined;
    const commitEvents = redis ? new CommitEventPublisher(redis, flags.prefix) : undefined;
    const sink = new Sink({
      kafka: createKafka({ brokers: brokerList(flags, stack), clientId: 'duckhouse-sink' }),
      registry: createRegistry({ url: registryUrl(flags, stack) }),
      catalog,
      group: flags.group,
      ...(flags.topics ? { topics: flags.topics.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
      ...(topicPattern ? { topicPattern } : {}),
      routing: { prefix: flags.prefix, tables },
      partitionBy: partitionSpecsByTable(flags.partitionBy),
      flush: { intervalMs: flags.flushInterval, rows: flags.flushRows, bytes: flags.flushBytes },
      maxBufferedBytes: flags.maxBuffered,
      sessionTimeoutMs: flags.sessionTimeout,
      deadLetters: { topic: flags.dlqTopic ?? dlqTopic(flags.prefix), table: tableIdentifier(flags.dlqTable) },
      ...(commitEvents ? { commitEvents } : {}),
      logger,
    });
    const metrics = await metricsServerFor(flags);
    const closeAll = async (): Promise<void> => {
      await metrics?.close().catch(() => undefined);
      await commitEvents?.close().catch(() => undefined);
      await redis?.quit().catch(() => undefined);
      await catalog.close().catch(() => undefined);
    };
    const started = sink.start().then(() => {
      const what = flags.topics ? `topics ${flags.topics}` : `topics matching ${flags.topicPattern}`;
      process.stderr.write(`sink running: ${what} as group ${flags.group}; SIGTERM or Ctrl-C commits and stops\n`);
    });
    await stopOnSignal(logger, () => sink.stop(), {
      stopping: 'stopping: committing the batches in flight',
      abort: 'second signal: exiting without committing (uncommitted batches are read again on the next start)',
    }, started);
    await closeAll();
    process.stdout.write(`sink stopped: ${JSON.stringify(sink.stats)}\n`);
  });
}
