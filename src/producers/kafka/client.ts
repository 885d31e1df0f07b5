// The one module that knows the Kafka client library (kafkajs, ARCHITECTURE.md decision 1): clients, producers,
// consumers and topic names are made here so a librdkafka-based client could replace it in one place.
import { Kafka, type KafkaConfig, logLevel, Partitioners, type Producer, type ProducerConfig } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId?: string;
  /** kafkajs logs at ERROR by default; tests and probes pass NOTHING. */
  quiet?: boolean;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId ?? 'duckhouse',
    brokers: options.brokers,
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 200 },
  };
  return new Kafka(config);
}

/** An idempotent producer (acks from all in-sync replicas, no duplicates on retry). */
export function createProducer(kafka: Kafka, options: Partial<ProducerConfig> = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...options,
  });
}

export interface TopicOptions {
  partitions?: number;
  /** Log compaction (state topics keyed by name). */
  compacted?: boolean;
}

/** Creates `topic` when it does not exist (no-op otherwise); returns its partition count. */
export async function ensureTopic(kafka: Kafka, topic: string, options: TopicOptions = {}): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const existing = await admin.fetchTopicMetadata({ topics: [topic] });
      return existing.topics[0]?.partitions.length ?? 1;
    }
    await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions ?? 1, ...(options.compacted ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}) }],
      waitForLeaders: true,
    });
    const created = await admin.fetchTopicMetadata({ topics: [topic] });
    return created.topics[0]?.partitions.length ?? options.partitions ?? 1;
  } finally {
    await admin.disconnect();
  }
}

/** Listing and deleting topics, for tools that remove what a tenant owns (tenants/lifecycle.ts). */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  /** Deletes the topics that still exist (a missing one is not an error). */
  deleteTopics(topics: readonly string[]): Promise<void>;
}

/** A TopicAdmin that connects a kafkajs admin client for each call. */
export function topicAdmin(kafka: Kafka): TopicAdmin {
  const withAdmin = async <T>(fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect();
    }
  };
  return {
    listTopics: () => withAdmin((admin) => admin.listTopics()),
    deleteTopics: (topics) => withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length === 0) return;
      try {
        await admin.deleteTopics({ topics: present, timeout: 30_000 });
      } catch (error) {
        // Deleted meanwhile by someone else: fine. Anything else is an error.
        const left = new Set(await admin.listTopics());
        if (present.some((t) => left.has(t))) throw error;
      }
    }),
  };
}

/** Topic of a table: `<prefix>.<namespace>.<table>` (ARCHITECTURE.md, the flow). */
export function tableTopic(prefix: string, namespace: string, table: string): string {
  for (const [what, value] of Object.entries({ prefix, namespace, table })) {
    if (!/^[A-Za-z0-9_-]+$/.test(value)) {
      throw new TypeError(`${what} "${value}" is not a valid topic name part: use letters, digits, _ and -`);
    }
  }
  return `${prefix}.${namespace}.${table}`;
}

/** The dead-letter topic of a prefix. */
export const dlqTopic = (prefix: string): string => `${prefix}.dlq`;

export type { Kafka, Producer };
