// Which Kafka partition a key's records go to, for applying a truncate per partition: DuckHouse's producers key
// messages with the topic's registered Avro key record and partition with Kafka's default (murmur2) partitioner, so
// re-encoding a key from the table gives back its partition. A truncate copy on partition p then deletes exactly
// the rows whose keys live on p, and rows other partitions already changed after the truncate stay.
// Must never: guess. Without the topic's key schema (JSON topics from an external Debezium) it answers undefined.
import type { Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { KeyField } from '../schemas/row-key.js';
import { keyValuesOf } from '../schemas/row-key.js';
import { SchemaCache, keySubject, latestAvro } from '../schemas/registry.js';

/** Canonical key → partition number. */
export type KeyPartitioner = (key: string) => number;

export class KeyPartitions {
  private readonly cache: SchemaCache;
  private readonly known = new Map<string, Promise<KeyPartitioner | undefined>>();

  constructor(private readonly kafka: Kafka, private readonly registry: SchemaRegistry) {
    this.cache = new SchemaCache(registry);
  }

  /** The partitioner of a topic's keys (fields named as in the topic's key record), or undefined when unknown. */
  forTopic(topic: string, keyFields: readonly KeyField[]): Promise<KeyPartitioner | undefined> {
    let entry = this.known.get(topic);
    if (!entry) {
      entry = this.load(topic, keyFields);
      entry.catch(() => this.known.delete(topic));
      this.known.set(topic, entry);
    }
    return entry;
  }

  private async load(topic: string, keyFields: readonly KeyField[]): Promise<KeyPartitioner | undefined> {
    const registered = await latestAvro(this.registry, keySubject(topic));
    if (!registered) return undefined;
    const schema = await this.cache.get(registered.id);
    const admin = this.kafka.admin();
    await admin.connect();
    let partitions: number;
    try {
      partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
    if (partitions === 0) return undefined;
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const partitioner = Partitioners.DefaultPartitioner();
    return (key) => partitioner({ topic, partitionMetadata, message: { key: SchemaCache.encode(schema, keyValuesOf(key, keyFields)), value: null } });
  }
}
